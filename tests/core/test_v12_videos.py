"""The video endpoints and the session list with `api_version="v1.2"` (docs/v1.2.md,
"Videos and sessions"): through both clients against the emulator over loopback HTTP; the exact
requests sent and the tolerant reading of the replies' variants on a scripted transport; and
input checked before any request, in both dialects."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from mavi_core import (
    ChatSession,
    MaviClient,
    MaviConflictError,
    MaviInvalidRequestError,
    MaviServerError,
    MaviValidationError,
    Moment,
    Video,
)
from mavi_core._budgets import DEFAULT_BUDGETS, Budget, endpoint_of
from mavi_core.emulator import MaviEmulator

from .conftest import Api, Server
from .test_over_http import Http

V12 = "/serve/api/v1"
KITCHEN = "VI634021601844219905"  # kitchen_knife_skills_demo.mp4 in the sample library
HARBOR = "VI634021587219364352"


class V12Http(Http):
    """`Http` with clients of the v1.2 dialect."""

    def kwargs(self, options: dict[str, Any]) -> dict[str, Any]:
        options.setdefault("api_version", "v1.2")
        return super().kwargs(options)

    def paths(self) -> list[str]:
        return [request.path for request in self.emu.requests]


@pytest.fixture(params=["sync", "async"])
def v12(request: pytest.FixtureRequest, emu: MaviEmulator, sleeps: list[float]) -> V12Http:
    return V12Http(request.param, emu, sleeps)


def _clip(tmp_path: Path, name: str = "v12_clip.mp4") -> Path:
    clip = tmp_path / name
    clip.write_bytes(b"\x00" * 2048)
    return clip


# Against the emulator, sync and async.


@pytest.mark.integration
def test_upload_a_file_list_it_in_both_dialects_and_wait_until_parsed(
    v12: V12Http, tmp_path: Path
) -> None:
    uploaded = v12.run(lambda c: c.upload_video(_clip(tmp_path)))
    assert isinstance(uploaded, Video)
    assert (uploaded.video_name, uploaded.status) == ("v12_clip.mp4", "UNPARSE")
    assert uploaded.upload_time is not None
    assert v12.paths() == [f"{V12}/upload"]
    v10 = v12.run(lambda c: c.list_videos(), api_version="v1.0")
    assert uploaded.video_no in {video.video_no for video in v10}
    ready = v12.run(lambda c: c.wait_until_parsed([uploaded.video_no], poll_interval=0.1))
    assert ready[0].is_parsed
    assert ready[0].duration is not None
    assert set(v12.paths()[2:]) == {f"{V12}/list_videos"}


@pytest.mark.integration
def test_upload_from_a_url_sends_the_url_and_the_callback_as_a_form(v12: V12Http) -> None:
    url = "https://example.com/clips/pier_walk.mp4"
    video = v12.run(lambda c: c.upload_video(url, callback_uri="https://cb.example/done"))
    assert video.video_name == "pier_walk.mp4"
    (request,) = v12.emu.requests
    assert request.path == f"{V12}/upload_url"
    assert request.query == {}
    assert parse_qs(request.body.decode()) == {  # type: ignore[union-attr]
        "url": [url], "callback": ["https://cb.example/done"]
    }  # fmt: skip


@pytest.mark.integration
def test_list_videos_reads_every_page_and_filters(v12: V12Http) -> None:
    listed = v12.run(lambda c: c.list_videos(page_size=2))
    assert sorted(video.video_no for video in listed) == sorted(v12.emu.video_nos)
    assert all(video.is_parsed and video.duration and video.upload_time for video in listed)
    pages = len(v12.emu.video_nos) // 2 + 1
    assert v12.paths() == [f"{V12}/list_videos"] * pages
    assert [r.body["page"] for r in v12.emu.requests] == list(range(1, pages + 1))  # type: ignore[index]
    named = v12.run(lambda c: c.list_videos(name="knife", status="parse"))
    assert [video.video_no for video in named] == [KITCHEN]
    assert v12.emu.requests[-1].body == {"page": 1, "size": 200, "video_name": "knife",
                                         "status": "PARSE"}  # fmt: skip


@pytest.mark.integration
def test_list_videos_time_filters_are_applied_to_the_upload_times(v12: V12Http) -> None:
    everything = v12.run(lambda c: c.list_videos())
    newest = max(video.upload_time for video in everything)
    since = v12.run(lambda c: c.list_videos(start_time=newest - timedelta(seconds=1)))
    assert [video.upload_time for video in since] == [newest]
    until = v12.run(lambda c: c.list_videos(end_time=newest.timestamp() - 1))
    assert len(until) == len(everything) - 1
    future = datetime.now(UTC) + timedelta(days=1)
    assert v12.run(lambda c: c.list_videos(start_time=future)) == []


@pytest.mark.integration
def test_search_videos_are_the_videos_of_the_clips_found(v12: V12Http) -> None:
    found = v12.run(lambda c: c.search_videos("onion"))
    assert found and found[0].video_no == KITCHEN
    assert len({video.video_no for video in found}) == len(found)
    assert v12.emu.requests[0].path == f"{V12}/search"
    assert v12.emu.requests[0].body == {"search_param": "onion", "search_type": "BY_CLIP"}


@pytest.mark.integration
def test_search_moments_keeps_the_clips_of_the_videos_asked(v12: V12Http) -> None:
    everywhere = v12.run(lambda c: c.search_moments("harbor onion", v12.emu.video_nos))
    assert {moment.video_no for moment in everywhere} >= {KITCHEN, HARBOR}
    harbor = v12.run(lambda c: c.search_moments("harbor onion", [HARBOR]))
    assert harbor and {moment.video_no for moment in harbor} == {HARBOR}
    assert all(isinstance(m, Moment) and m.end >= m.start and m.score for m in harbor)


@pytest.mark.integration
def test_find_moments_asks_one_search_for_the_whole_library_best_first(v12: V12Http) -> None:
    moments = v12.run(lambda c: c.find_moments("onion", limit=3))
    assert 0 < len(moments) <= 3
    scores = [moment.score for moment in moments]
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    (request,) = v12.emu.requests
    assert request.body == {"search_param": "onion", "search_type": "BY_CLIP", "top_k": 3}


@pytest.mark.integration
def test_delete_videos_then_a_second_delete_conflicts(v12: V12Http, tmp_path: Path) -> None:
    video = v12.run(lambda c: c.upload_video(_clip(tmp_path)))
    v12.run(lambda c: c.delete_videos([video.video_no]))
    assert v12.emu.requests[-1].path == f"{V12}/delete_videos"
    assert v12.emu.requests[-1].body == [video.video_no]
    with pytest.raises(MaviConflictError):
        v12.run(lambda c: c.delete_videos([video.video_no]))
    v10 = v12.run(lambda c: c.list_videos(), api_version="v1.0")
    assert video.video_no not in {listed.video_no for listed in v10}


@pytest.mark.integration
@pytest.mark.parametrize(("kind", "path"), [("AUDIO", "audio"), ("VIDEO", "video")])
def test_transcribe_reads_the_transcript_without_a_task(v12: V12Http, kind: str, path: str) -> None:
    transcript = v12.run(lambda c: c.transcribe(HARBOR, kind))
    assert transcript.kind == kind and transcript.video_no == HARBOR
    assert transcript.task_no == ""
    assert transcript.segments and transcript.text
    assert all(s.end > s.start for s in transcript.segments)
    (request,) = v12.emu.requests
    assert (request.method, request.path) == ("GET", f"{V12}/get_{path}_transcription")
    assert request.query == {"video_no": HARBOR}


@pytest.mark.integration
def test_transcribe_an_unparsed_video_is_an_invalid_request(v12: V12Http, tmp_path: Path) -> None:
    v12.emu.parse_delay = 30.0
    try:
        video = v12.run(lambda c: c.upload_video(_clip(tmp_path)))
        with pytest.raises(MaviInvalidRequestError, match="not parsed"):
            v12.run(lambda c: c.transcribe(video.video_no))
    finally:
        v12.emu.parse_delay = 0.2


@pytest.mark.integration
@pytest.mark.usefixtures("empty_transcript_cache")
def test_get_transcripts_reads_every_kind_and_submits_nothing(v12: V12Http) -> None:
    transcripts = v12.run(lambda c: c.get_transcripts([HARBOR]))
    assert [(t.video_no, t.kind) for t in transcripts] == [(HARBOR, "audio"), (HARBOR, "visual")]
    assert all(t.segments and t.video_name for t in transcripts)
    assert v12.paths() == [
        f"{V12}/list_videos",
        f"{V12}/get_audio_transcription",
        f"{V12}/get_video_transcription",
    ]


@pytest.mark.integration
def test_list_sessions_lists_the_chats_of_the_key(v12: V12Http) -> None:
    assert v12.run(lambda c: c.list_sessions()) == []
    first = v12.run(lambda c: c.chat([KITCHEN], "How does the chef dice the onion?"))
    second = v12.run(lambda c: c.chat([KITCHEN], "What is on the board?"))
    sessions = v12.run(lambda c: c.list_sessions())
    assert all(isinstance(session, ChatSession) for session in sessions)
    assert [s.session_id for s in sessions] == [second.session_id, first.session_id]
    assert sessions[1].title == "How does the chef dice the onion?"
    request = v12.emu.requests[-1]
    assert (request.method, request.path) == ("GET", f"{V12}/list_sessions")
    assert request.query == {"page": "1", "unique_id": "default"}
    v12.run(lambda c: c.list_sessions(unique_id="team-a"))
    assert v12.emu.requests[-1].query == {"page": "1", "unique_id": "team-a"}


@pytest.mark.integration
def test_list_sessions_reads_every_page(v12: V12Http) -> None:
    for _ in range(21):
        v12.run(lambda c: c.chat([KITCHEN], "Onion?"))
    sessions = v12.run(lambda c: c.list_sessions())
    assert len({session.session_id for session in sessions}) == 21
    assert [r.query.get("page") for r in v12.emu.requests[-2:]] == ["1", "2"]


# The exact requests, and the variants of the replies, on a scripted transport.


def _run(api: Api, call: Callable[[Any], Any], **kwargs: Any) -> Any:
    kwargs.setdefault("api_version", "v1.2")
    if api.mode == "sync":
        result = call(api.sync_client(**kwargs))
        return list(result) if hasattr(result, "__next__") else result

    async def go() -> Any:
        result = call(api.async_client(**kwargs))
        if hasattr(result, "__aiter__"):
            return [item async for item in result]
        return await result

    return asyncio.run(go())


def _reply(data: Any, **extra: Any) -> httpx.Response:
    return httpx.Response(200, json={"code": "0000", "msg": "success", "data": data, **extra})


def test_delete_sends_batches_of_100_as_bare_arrays(api: Api, server: Server) -> None:
    server.default = lambda request: _reply(None, success=True, failed=False)
    videos = [f"VI{n}" for n in range(150)]
    _run(api, lambda c: c.delete_videos(videos))
    assert [(r.method, r.url.path) for r in server.requests] == [
        ("POST", f"{V12}/delete_videos")
    ] * 2
    assert server.bodies() == [videos[:100], videos[100:]]
    assert all(not r.url.query for r in server.requests)


def test_upload_file_is_multipart_with_the_callback_as_a_form_field(
    api: Api, server: Server, tmp_path: Path
) -> None:
    uploaded = {"videoNo": "VI9", "videoName": "a.mp4", "videoStatus": "UNPARSE",
                "uploadTime": "1744905509814"}  # fmt: skip
    server.replies = [_reply(uploaded), _reply(uploaded)]
    clip = _clip(tmp_path, "a.mp4")
    video = _run(api, lambda c: c.upload_video(clip, callback_uri="https://cb.example/x"))
    assert video == Video("VI9", "a.mp4", "UNPARSE", datetime.fromtimestamp(1744905509.814, UTC))
    request = server.requests[0]
    assert request.url.path == f"{V12}/upload" and not request.url.query
    body = request.content
    assert b'name="callback"\r\n\r\nhttps://cb.example/x' in body
    assert b'name="file"; filename="a.mp4"' in body
    _run(api, lambda c: c.upload_video(clip))
    assert b'name="callback"' not in server.requests[1].content


def test_list_videos_sends_a_json_body_and_reads_both_spellings(api: Api, server: Server) -> None:
    server.replies = [
        _reply({"videos": [{"video_no": "VI1", "video_name": "a.mp4", "status": "PARSE",
                            "duration": "12", "size": "99", "cause": "null",
                            "create_time": "1754037217992"}],
                "current_page": 1, "page_size": 1, "total_count": "2"}),
        _reply({"videos": [{"videoNo": "VI2", "videoName": "b.mp4", "videoStatus": "FAIL",
                            "duration": 7, "uploadTime": 1754037217000}],
                "current_page": 2, "page_size": 1, "total_count": 2}),
    ]  # fmt: skip
    listed = _run(api, lambda c: c.list_videos(page_size=1))
    assert listed == [
        Video("VI1", "a.mp4", "PARSE", datetime.fromtimestamp(1754037217.992, UTC), 12.0),
        Video("VI2", "b.mp4", "FAIL", datetime.fromtimestamp(1754037217.0, UTC), 7.0),
    ]
    assert listed[1].is_failed
    assert server.bodies() == [{"page": 1, "size": 1}, {"page": 2, "size": 1}]
    assert server.paths() == [f"{V12}/list_videos"] * 2


@pytest.mark.parametrize(
    "data",
    [
        [{"videoNo": "VI1", "videoName": "a.mp4", "startTime": "13", "endTime": "18",
          "score": 0.52}],
        {"items": [{"video_no": "VI1", "video_name": "a.mp4", "start_time": 13, "end_time": 18.0,
                    "score": "0.52"}]},
        {"videos": [{"videoNo": "VI1", "videoName": "a.mp4", "fragmentStartTime": "13",
                     "fragmentEndTime": "18", "score": 0.52}]},
    ],
)  # fmt: skip
def test_search_replies_are_read_in_every_spelling(api: Api, server: Server, data: Any) -> None:
    server.default = lambda request: _reply(data)
    moments = _run(api, lambda c: c.search_moments("boat", ["VI1", "VI2"]))
    assert moments == [Moment("VI1", "a.mp4", 13.0, 18.0, None, 0.52)]
    assert server.bodies() == [
        {"search_param": "boat", "search_type": "BY_CLIP", "video_nos": ["VI1", "VI2"]}
    ]


def test_search_videos_lists_each_video_once_in_the_order_of_its_best_clip(
    api: Api, server: Server
) -> None:
    hits = (("VI2", 0.9), ("VI1", 0.8), ("VI2", 0.7))
    clips = [
        {"videoNo": no, "videoName": f"{no}.mp4", "startTime": "1", "endTime": "2", "score": score}
        for no, score in hits
    ]
    server.default = lambda request: _reply(clips)
    found = _run(api, lambda c: c.search_videos("boat"))
    assert [video.video_no for video in found] == ["VI2", "VI1"]
    moments = _run(api, lambda c: c.find_moments("boat", ["VI2"]))
    assert [moment.score for moment in moments] == [0.9, 0.8, 0.7]  # the service's cut
    assert server.bodies()[-1] == {"search_param": "boat", "search_type": "BY_CLIP",
                                   "video_nos": ["VI2"]}  # fmt: skip


@pytest.mark.parametrize(
    "data",
    [
        {"videoNo": "VI1", "transcriptions": [
            {"index": 0, "content": "Hello.", "startTime": "0", "endTime": "7"}]},
        {"video_no": "VI1", "transcription": [{"start": 0.0, "end": 7, "text": "Hello."}]},
        {"videoNo": "VI1", "status": "FINISH", "transcriptions": [
            {"content": "Hello.", "startTime": 0, "endTime": 7}]},
    ],
)  # fmt: skip
def test_transcription_replies_are_read_in_every_spelling(
    api: Api, server: Server, data: Any
) -> None:
    server.default = lambda request: _reply(data, success=True, failed=False)
    transcript = _run(api, lambda c: c.transcribe("VI1", "VIDEO"))
    assert [(s.start, s.end, s.text) for s in transcript.segments] == [(0.0, 7.0, "Hello.")]
    request = server.requests[0]
    assert (request.method, request.url.path) == ("GET", f"{V12}/get_video_transcription")
    assert dict(request.url.params) == {"video_no": "VI1"}


def test_a_transcription_said_to_be_unfinished_is_read_again(
    api: Api, server: Server, sleeps: list[float]
) -> None:
    server.replies = [
        _reply({"videoNo": "VI1", "status": "UNFINISHED", "transcriptions": []}),
        _reply({"videoNo": "VI1", "transcriptions": [{"content": "Hi", "startTime": "1",
                                                     "endTime": "2"}]}),
    ]  # fmt: skip
    transcript = _run(api, lambda c: c.transcribe("VI1", poll_interval=0.25))
    assert transcript.text == "Hi"
    assert sleeps == [0.25]
    assert server.paths() == [f"{V12}/get_audio_transcription"] * 2


@pytest.mark.parametrize(
    "sessions",
    [
        [{"sessionId": "601308802842759168", "title": "Objects?"}],
        [{"session_id": 601308802842759168, "title": "Objects?", "video_no": "VI1",
          "created_time": "1754037217992"}],
    ],
)  # fmt: skip
def test_sessions_are_read_in_every_spelling(api: Api, server: Server, sessions: list[Any]) -> None:
    page = {"sessions": sessions, "current_page": 1, "page_size": 20, "total_count": "1"}
    server.default = lambda request: _reply(page, success=True, failed=False)
    (session,) = _run(api, lambda c: c.list_sessions())
    assert (session.session_id, session.title) == ("601308802842759168", "Objects?")
    if "video_no" in sessions[0]:
        assert session.video_nos == ("VI1",)
        assert session.created_time == datetime.fromtimestamp(1754037217.992, UTC)
    assert len(server.requests) == 1


def test_a_session_without_an_id_is_a_server_error(api: Api, server: Server) -> None:
    server.default = lambda request: _reply({"sessions": [{"title": "x"}]})
    with pytest.raises(MaviServerError, match="sessionId"):
        _run(api, lambda c: c.list_sessions())


def test_list_sessions_stops_at_a_short_page(api: Api, server: Server) -> None:
    full = [{"sessionId": str(n), "title": ""} for n in range(20)]
    server.replies = [
        _reply({"sessions": full, "page_size": 20}),
        _reply({"sessions": full[:3], "page_size": 20}),
    ]
    assert len(_run(api, lambda c: c.list_sessions())) == 23
    assert [dict(r.url.params)["page"] for r in server.requests] == ["1", "2"]


# Input checked before any request (the scripted server has no reply to give).


def test_list_sessions_with_v10_says_to_use_v12(api: Api, server: Server) -> None:
    with pytest.raises(MaviValidationError, match=r"api_version='v1\.2'"):
        _run(api, lambda c: c.list_sessions(), api_version="v1.0")
    assert server.requests == []


@pytest.mark.parametrize("unique_id", ["", 5, "  "])
def test_a_bad_unique_id_is_refused(api: Api, server: Server, unique_id: Any) -> None:
    with pytest.raises(MaviValidationError, match="unique_id"):
        _run(api, lambda c: c.list_sessions(unique_id=unique_id))


def test_transcribe_with_a_callback_is_refused_with_v12(api: Api, server: Server) -> None:
    with pytest.raises(MaviValidationError, match="callback_uri"):
        _run(api, lambda c: c.transcribe("VI1", callback_uri="https://cb.example"))
    assert server.requests == []


@pytest.mark.parametrize("version", ["v1.0", "v1.2"])
@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"start_time": "yesterday"}, r"start_time must be a datetime or Unix seconds"),
        ({"end_time": [1]}, r"end_time must be a datetime or Unix seconds"),
        ({"start_time": float("nan")}, r"start_time"),
        ({"start_time": True}, r"start_time"),
        ({"status": 5}, r"status must be one of .*PARSE"),
        ({"status": "parsed"}, r"status must be one of"),
        ({"name": 7}, r"name must be a non-empty string"),
        ({"page_size": "20"}, r"page_size must be from 1 to 200"),
        ({"start_time": 200.0, "end_time": 100.0}, r"start_time is after end_time"),
    ],
)
def test_bad_list_videos_filters_are_refused_before_any_request(
    api: Api, server: Server, version: str, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(MaviValidationError, match=match):
        _run(api, lambda c: c.list_videos(**options), api_version=version)
    assert server.requests == []


@pytest.mark.parametrize("version", ["v1.0", "v1.2"])
@pytest.mark.parametrize(
    ("source", "match"),
    [
        (None, r"source must be the path of a video file .* got NoneType"),
        (b"clip.mp4", r"got bytes"),
        ("", r"source is empty"),
        ("no/such/file.mp4", r"No file at"),
    ],
)
def test_a_bad_upload_source_is_refused_before_any_request(
    api: Api, server: Server, version: str, source: Any, match: str
) -> None:
    with pytest.raises(MaviValidationError, match=match):
        _run(api, lambda c: c.upload_video(source), api_version=version)
    assert server.requests == []


@pytest.mark.parametrize("version", ["v1.0", "v1.2"])
def test_a_callback_that_is_not_a_string_is_refused(api: Api, server: Server, version: str) -> None:
    url = "https://example.com/clip.mp4"
    with pytest.raises(MaviValidationError, match="callback_uri must be a URL string"):
        _run(api, lambda c: c.upload_video(url, callback_uri=5), api_version=version)
    assert server.requests == []


def test_validation_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="status"):
        MaviClient("k", base_url="https://mavi.test").list_videos(status=5)


# Budgets.


@pytest.mark.parametrize(
    ("path", "endpoint", "budget"),
    [
        (f"{V12}/chat", "chat_v12", Budget(2, 60.0)),
        (f"{V12}/chat_stream", "chat_v12", Budget(2, 60.0)),
        (f"{V12}/upload", "upload_v12", Budget(1, 60.0)),
        (f"{V12}/upload_url", "upload_v12", Budget(1, 60.0)),
        (f"{V12}/search", "search_v12", Budget(1, 1.0)),
        (f"{V12}/list_videos", "list_v12", Budget(5, 1.0)),
        (f"{V12}/list_sessions", "sessions_v12", Budget(5, 1.0)),
        (f"{V12}/delete_videos", "delete_v12", Budget(5, 1.0)),
        (f"{V12}/get_video_transcription", "transcription_v12", Budget(1, 1.0)),
        (f"{V12}/get_audio_transcription", "transcription_v12", Budget(1, 1.0)),
    ],
)
def test_v12_endpoints_draw_on_their_documented_budgets(
    path: str, endpoint: str, budget: Budget
) -> None:
    """The published table (tests/data/wire_samples/rate-limits.md)."""
    assert endpoint_of(path) == endpoint
    assert DEFAULT_BUDGETS[endpoint] == (budget,)


@pytest.mark.integration
def test_a_v12_call_waits_for_its_turn_in_the_budget(emu: MaviEmulator) -> None:
    from mavi_core import RateLimit

    limit = RateLimit(budgets={"list_v12": Budget(1, 0.5)})
    client = MaviClient(emu.api_key, base_url=emu.base_url, api_version="v1.2", rate_limit=limit)
    started = time.monotonic()
    with client:
        for _ in range(3):
            list(client.list_videos())
    assert time.monotonic() - started >= 0.9
    assert json.dumps(emu.requests[0].body)  # the emulator saw the calls
