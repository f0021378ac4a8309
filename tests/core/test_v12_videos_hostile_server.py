"""The v1.2 video endpoints against a hostile server (docs/v1.2.md, "Videos and
sessions"; docs/errors-and-wire.md: every reply is an answer or a typed error, every read
bounded)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from mavi_core import MaviClient, MaviError
from tests.support.rawserver import Request, raw_server
from tests.support.servers import KEY, json_server, ok

pytestmark = pytest.mark.integration


def _video(number: int, **extra: Any) -> dict[str, Any]:
    return {"video_no": f"VI{number}", "video_name": f"v{number}.mp4", "status": "PARSE",
            "duration": "10", "create_time": "1744424280079", **extra}  # fmt: skip


def _in_thread(work: Any, seconds: float) -> tuple[bool, Any]:
    """Run `work` in a daemon thread; (finished within `seconds`, its result or error)."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(work())
        except BaseException as error:
            box.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return (not thread.is_alive()), (box[0] if box else None)


def test_wait_until_parsed_stops_when_the_server_ignores_page() -> None:
    """A server that ignores `page` and always sends the same full page (no total) must not
    make wait_until_parsed walk pages forever: the awaited video is on page 1, parsed; the
    call is bounded by its `timeout` (here 1 s) whatever the server does."""
    page = ok({"videos": [_video(n) for n in range(200)]})  # always a full page

    def answer(request: Request) -> Any:
        return page if len(server.requests) < 150 else ok({"videos": []})

    with raw_server(json_server(answer)) as server:
        client = MaviClient(KEY, base_url=server.base_url, api_version="v1.2")
        started = time.monotonic()
        finished, _result = _in_thread(
            lambda: client.wait_until_parsed(["VI1"], timeout=1.0, poll_interval=0.1), 4.0
        )
        elapsed = time.monotonic() - started
        assert finished
        assert elapsed < 2.0, f"walked {len(server.requests)} identical pages in {elapsed:.1f} s"
        assert len(server.requests) <= 5


def test_list_sessions_ends_when_the_server_ignores_page() -> None:
    """list_sessions against a server that sends no page_size / total_count and ignores
    `page`: the same sessions again and again. It must end (or raise) rather than repeat
    the same sessions without end."""

    def answer(request: Request) -> Any:
        if len(server.requests) > 200:
            return ok({"sessions": []})
        return ok({"sessions": [{"sessionId": 1234567890123456789, "title": "t"}]})

    with raw_server(json_server(answer)) as server:
        client = MaviClient(KEY, base_url=server.base_url, api_version="v1.2")
        seen: list[str] = []
        try:
            for session in client.list_sessions():
                seen.append(session.session_id)
        except MaviError:
            pass
    assert seen.count("1234567890123456789") == 1, f"the same session {len(seen)} times"


def test_list_videos_reads_every_page_when_the_service_caps_the_page_size() -> None:
    """The client asks for pages of 200; a service that caps pages at 100 (MAVI-style caps
    exist for v1.0's pageSize) and says total_count=250 must still be read to the end:
    a page short of the size asked is not the last page when total_count says more."""
    library = [_video(n) for n in range(250)]

    def answer(request: Request) -> Any:
        import json

        page = json.loads(request.body)["page"]
        items = library[(page - 1) * 100 : page * 100]
        return ok({"videos": items, "total_count": 250})

    with raw_server(json_server(answer)) as server:
        with MaviClient(KEY, base_url=server.base_url, api_version="v1.2") as client:
            videos = list(client.list_videos())
    assert len(videos) == 250, f"only {len(videos)} of the 250 videos total_count announced"


@pytest.mark.parametrize("create_time", ["NaN", "1e300", "99999999999999999999", "-1e20"])
def test_a_video_with_an_absurd_create_time_is_a_typed_error_or_no_time(create_time: str) -> None:
    """Numbers arrive as strings; an absurd one must not crash list_videos with a bare
    ValueError/OverflowError/OSError from datetime: a MaviServerError or upload_time None."""
    body = ok({"videos": [_video(1, create_time=create_time)], "total_count": 1})
    with raw_server(json_server(lambda request: body)) as server:
        with MaviClient(KEY, base_url=server.base_url, api_version="v1.2") as client:
            try:
                videos = list(client.list_videos())
            except MaviError:
                return
    assert videos[0].upload_time is None


def test_a_session_with_an_absurd_created_time_is_a_typed_error_or_no_time() -> None:
    body = ok({"sessions": [{"sessionId": 1, "title": "t", "created_time": "1e300"}],
               "total_count": 1, "page_size": 10})  # fmt: skip
    with raw_server(json_server(lambda request: body)) as server:
        with MaviClient(KEY, base_url=server.base_url, api_version="v1.2") as client:
            try:
                sessions = list(client.list_sessions())
            except MaviError:
                return
    assert sessions[0].created_time is None


@pytest.mark.parametrize("start", ["NaN", "Infinity", 1e400])
def test_a_moment_with_a_non_finite_time_is_not_handed_out(start: Any) -> None:
    """find_moments must not hand out a Moment whose start is NaN or infinite: every helper
    that formats it (describe_moment, the retrievers' page content) then crashes with a bare
    ValueError / OverflowError. A typed error, or the moment dropped, is expected."""
    import json
    import math

    raw = json.dumps(
        ok(
            [
                {
                    "videoNo": "VI1",
                    "videoName": "a.mp4",
                    "startTime": "__S__",
                    "endTime": 5,
                    "score": 0.9,
                }
            ]
        )
    ).replace(
        '"__S__"',
        json.dumps(start) if isinstance(start, str) else "1e400",
    )
    with raw_server(json_server(lambda request: raw.encode())) as server:
        with MaviClient(KEY, base_url=server.base_url, api_version="v1.2") as client:
            try:
                moments = client.find_moments("boat", limit=3)
            except MaviError:
                return
    assert all(math.isfinite(m.start) and math.isfinite(m.end) for m in moments), moments


def test_a_v12_transcript_reply_whose_data_is_no_object_is_an_error_not_a_poll() -> None:
    """v1.2 has no task: a reply whose `data` is not an object (a list) is unreadable, not
    'unfinished'. (`data: null` is the documented "no transcript yet", read again until the
    timeout: tests/core/test_v12_transcripts_not_ready.py.)"""
    with raw_server(json_server(lambda request: ok([]))) as server:
        with MaviClient(KEY, base_url=server.base_url, api_version="v1.2") as client:
            client._sleep = lambda seconds: None  # type: ignore[attr-defined]
            with pytest.raises(MaviError) as caught:
                client.transcribe("VI1", "AUDIO", timeout=0.5, poll_interval=0.1)
    assert "timed out" not in str(caught.value).lower(), str(caught.value)
    assert len(server.requests) == 1


def test_a_clip_without_a_video_number_is_not_a_moment_of_no_video() -> None:
    """parse_video refuses an item without videoNo (a MaviServerError), but parse_moments makes
    it a Moment(video_no=''): retrievers then hand out a document about no video."""
    body = ok([{"videoName": "a.mp4", "startTime": 1, "endTime": 5, "score": 0.9}])
    with raw_server(json_server(lambda request: body)) as server:
        with MaviClient(KEY, base_url=server.base_url, api_version="v1.2") as client:
            try:
                moments = client.find_moments("boat", limit=3)
            except MaviError:
                return
    assert all(moment.video_no for moment in moments), moments


def test_a_poll_timeout_message_names_the_timeout_given() -> None:
    """transcribe(timeout=0.5) ends with 'Timed out after 0 s' (the timeout rounded with
    :.0f); the message should say 0.5 s."""
    body = ok({"status": "UNFINISHED"})
    with raw_server(json_server(lambda request: body)) as server:
        with MaviClient(KEY, base_url=server.base_url, api_version="v1.2") as client:
            client._sleep = lambda seconds: time.sleep(0.05)  # type: ignore[attr-defined]
            with pytest.raises(MaviError) as caught:
                client.transcribe("VI1", "AUDIO", timeout=0.5, poll_interval=0.1)
    assert "after 0 s" not in str(caught.value), str(caught.value)


def test_hits_sent_again_for_every_batch_of_videos_are_returned_once() -> None:
    """A server that ignores `video_nos` answers each request of 100 videos with the same
    hits: each moment was returned three times for 250 videos, and `limit=2` gave one moment
    twice."""
    hits = [
        {"videoNo": "VI1", "videoName": "a", "startTime": "1", "endTime": "2", "score": "0.9"},
        {"videoNo": "VI2", "videoName": "b", "startTime": 3, "endTime": 4, "score": 0.5},
    ]
    with raw_server(json_server(lambda request: ok(hits))) as server:
        client = MaviClient(KEY, base_url=server.base_url, api_version="v1.2")
        videos = [f"VI{number}" for number in range(1, 251)]
        found = client.find_moments("tugboat", videos)
        best = client.find_moments("tugboat", videos, limit=2)
    assert [(m.video_no, m.score) for m in found] == [("VI1", 0.9), ("VI2", 0.5)]
    assert [m.video_no for m in best] == ["VI1", "VI2"]
    assert len(server.requests) == 6


def test_a_hit_whose_video_number_is_no_string_is_skipped_and_a_video_refused() -> None:
    """A videoNo that is a list or an object became its Python repr ("['VI1']"), a video
    number no call can use."""
    hits = [
        {"videoNo": ["VI1"], "startTime": 1, "endTime": 2, "score": 0.9},
        {"videoNo": {"id": "VI1"}, "startTime": 1, "endTime": 2, "score": 0.8},
        {"videoNo": "VI2", "startTime": 3, "endTime": 4, "score": 0.5},
    ]
    with raw_server(json_server(lambda request: ok(hits))) as server:
        client = MaviClient(KEY, base_url=server.base_url, api_version="v1.2")
        found = client.find_moments("tugboat", ["VI1", "VI2"])
    assert [m.video_no for m in found] == ["VI2"]
    listing = ok({"videos": [{"video_no": ["VI1"], "status": "PARSE"}]})
    with raw_server(json_server(lambda request: listing)) as server:
        client = MaviClient(KEY, base_url=server.base_url, api_version="v1.2")
        with pytest.raises(MaviError, match="without a videoNo"):
            list(client.list_videos())
