"""Video endpoints: search, list (all pages), upload, wait for parsing, delete, transcription."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from mavi_core import (
    MaviConflictError,
    MaviServerError,
    MaviTimeoutError,
    MaviValidationError,
    MaviVideoError,
    Moment,
    Video,
)
from mavi_core._progress import progress_bar
from mavi_core._videos import VideoPager, describe_moment, moment_metadata

from .conftest import Api

T = TypeVar("T")


def ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"code": "0000", "msg": "success", "data": data})


def video(no: str, status: str = "PARSE") -> dict[str, str]:
    return {
        "videoNo": no,
        "videoName": f"{no}.mp4",
        "videoStatus": status,
        "uploadTime": "1744424280079",
        "duration": "193",
    }


def run(api: Api, call: Callable[[Any], Any]) -> Any:
    """Call a client method through the sync or the async client."""
    if api.mode == "sync":
        return call(api.sync_client())

    async def go() -> Any:
        result = call(api.async_client())
        if hasattr(result, "__aiter__"):
            return [item async for item in result]
        return await result

    return asyncio.run(go())


def test_search_videos_reads_numbers_sent_as_strings(api: Api) -> None:
    api.server.replies = [ok({"videos": [video("VI1")]})]
    (found,) = run(api, lambda c: c.search_videos("harbor at dawn"))
    assert found == Video(
        video_no="VI1",
        video_name="VI1.mp4",
        status="PARSE",
        upload_time=datetime.fromtimestamp(1744424280.079, tz=UTC),
        duration=193.0,
    )
    assert found.is_parsed
    assert api.server.paths() == ["/api/serve/video/searchAI"]
    assert api.server.bodies() == [{"searchValue": "harbor at dawn"}]


def test_search_moments_in_seconds(api: Api) -> None:
    fragment = {
        "videoNo": "VI1",
        "videoName": "a.mp4",
        "fragmentStartTime": "12",
        "fragmentEndTime": "30.5",
        "duration": "193",
        "score": "0.82",
    }
    api.server.replies = [ok({"videos": [fragment, {**fragment, "score": None}]})]
    moments = run(api, lambda c: c.search_moments("boat", ["VI1"]))
    assert moments[0] == Moment("VI1", "a.mp4", 12.0, 30.5, 193.0, 0.82)
    assert moments[1].score is None
    assert api.server.bodies() == [{"videoNos": ["VI1"], "searchValue": "boat"}]


def test_search_moments_without_scores_keep_the_service_order(api: Api) -> None:
    # The live reply: no score; the order is the service's ranking, best first.
    def fragment(start: str, end: str) -> dict[str, str]:
        times = {"fragmentStartTime": start, "fragmentEndTime": end}
        return {**video("mavi_video_566084575235805184"), **times}

    reply = [fragment("40", "52"), fragment("3", "9"), fragment("120", "130")]
    api.server.replies = [
        ok({"videos": reply}),
        ok({"videos": [video("VI1")]}),
        ok({"videos": reply}),
    ]
    moments = run(api, lambda c: c.search_moments("boat", ["mavi_video_566084575235805184"]))
    assert [(m.start, m.end) for m in moments] == [(40.0, 52.0), (3.0, 9.0), (120.0, 130.0)]
    assert all(m.score is None and m.duration == 193.0 for m in moments)
    found = run(api, lambda c: c.find_moments("boat", limit=2))
    assert [(m.start, m.score) for m in found] == [(40.0, None), (3.0, None)]


def test_transcription_reads_the_live_reply_shape(api: Api) -> None:
    common = {"type": "AUDIO", "videoNo": "VI1", "taskNo": "TK1"}
    line = {"startTime": 2, "endTime": 9, "content": "Good morning."}
    api.server.replies = [
        ok({"taskNo": "TK1"}),
        ok({"status": "UNFINISHED", **common, "transcriptions": []}),
        ok({"status": "FINISH", **common, "transcriptions": [line]}),
    ]
    transcript = run(api, lambda c: c.transcribe("VI1", "AUDIO", poll_interval=0.01))
    assert (transcript.task_no, transcript.kind, transcript.text) == (
        "TK1",
        "AUDIO",
        "Good morning.",
    )
    assert (transcript.segments[0].start, transcript.segments[0].end) == (2.0, 9.0)


def test_list_videos_walks_every_page(api: Api) -> None:
    api.server.replies = [
        ok({"page": 1, "total": "3", "pageSize": 2, "videoData": [video("VI1"), video("VI2")]}),
        ok({"page": 2, "total": "3", "pageSize": 2, "videoData": [video("VI3")]}),
    ]
    videos = run(api, lambda c: c.list_videos(page_size=2, status="PARSE"))
    assert [v.video_no for v in videos] == ["VI1", "VI2", "VI3"]
    queries = [dict(r.url.params) for r in api.server.requests]
    assert queries == [
        {"page": "1", "pageSize": "2", "videoStatus": "PARSE"},
        {"page": "2", "pageSize": "2", "videoStatus": "PARSE"},
    ]
    assert all(r.method == "GET" for r in api.server.requests)


def test_list_videos_sends_times_in_milliseconds() -> None:
    pager = VideoPager(start_time=1744424280.5, end_time=datetime(2026, 1, 1, tzinfo=UTC))
    call = pager.call()
    assert not pager.done and call.params is not None
    assert call.params["startTime"] == 1744424280500
    assert call.params["endTime"] == 1767225600000


def test_page_size_is_checked() -> None:
    with pytest.raises(MaviValidationError, match="page_size must be from 1 to 200"):
        VideoPager(page_size=500)


def test_upload_file_sends_multipart_and_a_callback(api: Api, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00fake video bytes" * 100)
    api.server.replies = [ok(video("VI9", "UNPARSE"))]
    uploaded = run(api, lambda c: c.upload_video(clip, callback_uri="https://me/cb"))
    assert uploaded.video_no == "VI9" and uploaded.status == "UNPARSE"
    (request,) = api.server.requests
    assert request.url.path == "/api/serve/video/upload"
    assert request.url.params["callBackUri"] == "https://me/cb"
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="file"; filename="clip.mp4"' in request.content
    assert b"fake video bytes" in request.content


def test_upload_is_retried_with_the_whole_file(api: Api, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"0123456789" * 1000)
    api.server.replies = [httpx.Response(503), ok(video("VI9", "UNPARSE"))]
    run(api, lambda c: c.upload_video(clip, progress=True))
    assert [r.content.count(b"0123456789") for r in api.server.requests] == [1000, 1000]


def test_upload_from_url(api: Api) -> None:
    api.server.replies = [ok(video("VI9", "UNPARSE"))]
    run(api, lambda c: c.upload_video("https://example.test/v.mp4"))
    assert api.server.paths() == ["/api/serve/video/uploadUrl"]
    assert api.server.bodies() == [{"url": "https://example.test/v.mp4"}]


def test_upload_of_a_missing_file_fails_before_sending(api: Api, tmp_path: Path) -> None:
    with pytest.raises(MaviValidationError, match="No file at"):
        run(api, lambda c: c.upload_video(tmp_path / "nope.mp4"))
    assert api.server.requests == []


def test_wait_until_parsed_polls_until_ready(api: Api) -> None:
    api.server.replies = [
        ok({"videoData": [video("VI1", "UNPARSE"), video("VI2")]}),
        ok({"videoData": [video("VI1"), video("VI2")]}),
    ]
    videos = run(api, lambda c: c.wait_until_parsed(["VI1", "VI2"], poll_interval=0.25))
    assert [v.is_parsed for v in videos] == [True, True]
    assert api.sleeps == [0.25]


def test_wait_until_parsed_raises_on_failure(api: Api) -> None:
    api.server.replies = [ok({"videoData": [video("VI1", "PARSE_ERROR")]})]
    with pytest.raises(MaviVideoError, match=r"could not parse VI1 \(PARSE_ERROR\)") as caught:
        run(api, lambda c: c.wait_until_parsed(["VI1"]))
    assert caught.value.video_nos == ["VI1"]


def test_wait_until_parsed_raises_for_unknown_videos(api: Api) -> None:
    api.server.replies = [ok({"videoData": [video("VI1")]})]
    with pytest.raises(MaviVideoError, match="No such video in the library: VI404"):
        run(api, lambda c: c.wait_until_parsed(["VI1", "VI404"]))


def test_wait_until_parsed_times_out(api: Api) -> None:
    api.server.default = lambda request: ok({"videoData": [video("VI1", "UNPARSE")]})
    with pytest.raises(MaviTimeoutError, match="waiting for the videos to parse"):
        run(api, lambda c: c.wait_until_parsed(["VI1"], timeout=0.0))


def test_delete_sends_bare_arrays_in_batches_of_500(api: Api) -> None:
    api.server.default = lambda request: ok(None)
    numbers = [f"VI{i}" for i in range(1201)]
    run(api, lambda c: c.delete_videos(numbers))
    bodies = api.server.bodies()
    assert [len(b) for b in bodies] == [500, 500, 201]
    assert [number for body in bodies for number in body] == numbers
    assert {r.method for r in api.server.requests} == {"DELETE"}


def test_deleting_twice_is_a_conflict(api: Api) -> None:
    api.server.replies = [httpx.Response(200, json={"code": "0409", "msg": "already deleted"})]
    with pytest.raises(MaviConflictError):
        run(api, lambda c: c.delete_videos(["VI1"]))


def test_transcribe_submits_then_polls(api: Api) -> None:
    segment = {"startTime": "0", "endTime": "4.5", "content": "Good morning."}
    api.server.replies = [
        ok({"taskNo": "T1"}),
        ok({"status": "UNFINISHED", "transcriptions": []}),
        ok({"status": "FINISH", "transcriptions": [segment]}),
    ]
    transcript = run(api, lambda c: c.transcribe("VI1", "AUDIO", poll_interval=0.5))
    assert transcript.text == "Good morning."
    assert transcript.segments[0].end == 4.5
    assert api.server.paths() == [
        "/api/serve/video/subTranscription",
        "/api/serve/video/getTranscription",
        "/api/serve/video/getTranscription",
    ]
    assert json.loads(api.server.requests[0].content) == {"videoNo": "VI1", "type": "AUDIO"}
    assert api.server.requests[1].url.params["taskNo"] == "T1"


def test_transcription_kind_is_checked(api: Api) -> None:
    with pytest.raises(MaviValidationError, match="kind must be 'AUDIO' or 'VIDEO'"):
        run(api, lambda c: c.transcribe("VI1", "TEXT"))


def test_progress_is_silent_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    bar = progress_bar("Uploading", 10)
    bar.update(5)
    bar.finish()
    assert capsys.readouterr().err == ""


def test_progress_draws_a_tqdm_bar_when_enabled(capsys: pytest.CaptureFixture[str]) -> None:
    bar = progress_bar("Parsing videos", 10, enabled=True)
    bar.update(5)
    bar.finish()
    err = capsys.readouterr().err
    assert "Parsing videos" in err and "100%" in err and "10/10" in err


def test_upload_reports_bytes_sent_to_on_progress_and_closes_the_file(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x" * 100_000)
    opened: list[Any] = []
    real_open = Path.open

    def tracking_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        handle = real_open(self, *args, **kwargs)
        opened.append(handle)
        return handle

    monkeypatch.setattr(Path, "open", tracking_open)
    reports: list[tuple[int, int]] = []
    api.server.replies = [ok(video("VI9", status="UNPARSE"))]
    run(
        api,
        lambda c: c.upload_video(
            clip, on_progress=lambda sent, total: reports.append((sent, total))
        ),
    )
    assert reports[-1] == (100_000, 100_000)
    assert all(total == 100_000 for _, total in reports)
    assert [sent for sent, _ in reports] == sorted(sent for sent, _ in reports)
    assert opened and all(handle.closed for handle in opened)


def test_find_moments_searches_videos_then_moments_best_first(api: Api) -> None:
    fragment = {"videoNo": "VI1", "videoName": "a.mp4", "fragmentStartTime": "0"}
    api.server.replies = [
        ok({"videos": [video("VI1"), video("VI2")]}),
        ok(
            {
                "videos": [
                    {**fragment, "fragmentEndTime": "5", "score": "0.2"},
                    {**fragment, "fragmentEndTime": "6"},
                    {**fragment, "fragmentEndTime": "7", "score": "0.9"},
                ]
            }
        ),
    ]
    moments = run(api, lambda c: c.find_moments("boat", limit=2))
    assert [m.end for m in moments] == [7.0, 5.0]
    assert api.server.bodies()[1] == {"videoNos": ["VI1", "VI2"], "searchValue": "boat"}


def test_find_moments_with_nothing_found_asks_no_further(api: Api) -> None:
    api.server.replies = [ok({"videos": []})]
    assert run(api, lambda c: c.find_moments("nothing")) == []
    assert len(api.server.requests) == 1


def test_moment_description_and_metadata() -> None:
    moment = Moment("VI1", "kitchen.mp4", 72.0, 90.5, 300.0, 0.5)
    assert describe_moment(moment, "onion") == "kitchen.mp4 01:12-01:30: moment matching 'onion'"
    assert moment_metadata(moment) == {
        "video_no": "VI1",
        "video_name": "kitchen.mp4",
        "start": 72.0,
        "end": 90.5,
        "score": 0.5,
    }
    assert "score" not in moment_metadata(Moment("VI1", "k.mp4", 0.0, 1.0))


def test_pages_end_on_a_repeat_on_the_total_or_a_short_page_without_one() -> None:
    """`_videos.Pages`, the rules both listings keep (docs/errors-and-wire.md, "Listings")."""
    from mavi_core._videos import MAX_PAGES, Pages

    repeat = Pages()
    assert repeat.turn(["VI1", "VI2"], None, 2) and not repeat.done
    assert not repeat.turn(["VI1", "VI2"], None, 2) and repeat.done  # not handed out twice
    assert repeat.seen == 2
    capped = Pages()  # a service that caps pages at 1: the total says more
    assert capped.turn(["VI1"], 3, 2) and not capped.done
    assert capped.turn(["VI2"], 3, 2) and not capped.done
    assert capped.turn(["VI3"], 3, 2) and capped.done
    short = Pages()
    assert short.turn(["VI1"], None, 2) and short.done
    endless = Pages(page=MAX_PAGES)
    with pytest.raises(MaviServerError, match="more than 100000 pages"):
        endless.turn(["VI1"], None, None)


def test_list_videos_and_the_library_walk_end_when_the_server_ignores_page(api: Api) -> None:
    full = ok({"videoData": [video("VI1"), video("VI2")]})
    api.server.replies = [full, full]
    videos = run(api, lambda c: c.list_videos(page_size=2))
    assert [v.video_no for v in videos] == ["VI1", "VI2"]
    assert len(api.server.requests) == 2


def test_a_poll_deadline_is_checked_between_pages_except_for_one_look() -> None:
    from mavi_core._flow import Deadline

    def poll(timeout: float, checked_at: float) -> Deadline:  # started at 0.0
        return Deadline(timeout, iter([0.0, checked_at]).__next__, 2.0, "the videos")

    poll(0, 5.0).check()  # timeout 0: the one look is whole
    poll(1.0, 0.5).check()
    with pytest.raises(MaviTimeoutError, match=r"after 0\.5 s"):
        poll(0.5, 0.6).check()


@pytest.mark.parametrize("millis", ["NaN", "Infinity", "1e300", "-1e20", 1e400])
def test_absurd_times_read_as_no_time(millis: Any) -> None:
    from mavi_core._videos import _millis_to_datetime, _number

    if millis in ("NaN", "Infinity", 1e400):
        assert _number(millis) is None  # only finite numbers are numbers
    assert _millis_to_datetime(millis) is None  # out of datetime's range: no time
