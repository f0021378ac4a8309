"""`unique_id` on the v1.2 video methods of both clients (docs/v1.2.md,
"Videos and sessions"): sent only when given, where each endpoint takes it; checked
before any request as the chat's is; refused with v1.0; accepted by the emulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from mavi_core import MaviValidationError
from mavi_core.emulator import MaviEmulator
from mavi_core.transcripts import TranscriptCache

from .conftest import Api, Server
from .test_v12_videos import V12, V12Http, _clip, _reply, _run


@pytest.fixture(params=["sync", "async"])
def v12(request: pytest.FixtureRequest, emu: MaviEmulator, sleeps: list[float]) -> V12Http:
    return V12Http(request.param, emu, sleeps)


USER = "user-42"
HARBOR = "VI634021587219364352"
VIDEO = {"videoNo": "VI9", "videoName": "a.mp4", "videoStatus": "UNPARSE", "uploadTime": "1"}
LISTED = {"videos": [{"video_no": "VI9", "video_name": "a.mp4", "status": "PARSE",
                      "duration": "60", "create_time": "1"}], "total_count": "1"}  # fmt: skip
CLIPS = [{"videoNo": "VI9", "videoName": "a.mp4", "startTime": "1", "endTime": "5", "score": 1}]
LINES = {"videoNo": "VI9", "transcriptions": [{"startTime": "1", "endTime": "5", "content": "x"}]}


def _answer(request: httpx.Request) -> httpx.Response:
    """What the v1.2 service answers each path with."""
    path = request.url.path.removeprefix(V12)
    data = {"/upload": VIDEO, "/upload_url": VIDEO, "/list_videos": LISTED, "/search": CLIPS,
            "/delete_videos": None}.get(path, LINES)  # fmt: skip
    return _reply(data)


def _where(request: httpx.Request) -> dict[str, Any]:
    """Where a request carried `unique_id`: its query, JSON body, or form / multipart field."""
    found: dict[str, Any] = {}
    query = parse_qs(request.url.query.decode())
    if "unique_id" in query:
        found["query"] = query["unique_id"]
    content = request.content
    type_ = request.headers.get("content-type", "")
    if type_.startswith("application/json"):
        body = httpx.Response(200, content=content).json()
        if isinstance(body, dict) and "unique_id" in body:
            found["json"] = body["unique_id"]
    elif type_.startswith("application/x-www-form-urlencoded"):
        form = parse_qs(content.decode())
        if "unique_id" in form:
            found["form"] = form["unique_id"]
    elif b'name="unique_id"' in content:
        found["multipart"] = content.split(b'name="unique_id"\r\n\r\n')[1].split(b"\r\n")[0]
    return found


WHERE = {
    "/upload_url": {"form": [USER]},  # with `url` and `callback`, as the examples send them
    "/list_videos": {"json": USER},
    "/search": {"json": USER},
    "/delete_videos": {"query": [USER]},  # the body is a bare array
    "/get_audio_transcription": {"query": [USER]},
    "/get_video_transcription": {"query": [USER]},
}
"""Where each v1.2 video endpoint is sent `unique_id` (the file upload: a multipart field)."""

CALLS: list[tuple[str, Callable[..., Any], list[str]]] = [
    ("upload_url", lambda c, **k: c.upload_video("https://e.example/a.mp4", **k),
     ["/upload_url"]),
    ("list_videos", lambda c, **k: c.list_videos(**k), ["/list_videos"]),
    ("wait_until_parsed", lambda c, **k: c.wait_until_parsed(["VI9"], **k), ["/list_videos"]),
    ("search_videos", lambda c, **k: c.search_videos("boat", **k), ["/search"]),
    ("search_moments", lambda c, **k: c.search_moments("boat", ["VI9"], **k), ["/search"]),
    ("find_moments", lambda c, **k: c.find_moments("boat", limit=3, **k), ["/search"]),
    ("find_moments_in", lambda c, **k: c.find_moments("boat", ["VI9"], **k), ["/search"]),
    ("delete_videos", lambda c, **k: c.delete_videos(["VI9"], **k), ["/delete_videos"]),
    ("transcribe", lambda c, **k: c.transcribe("VI9", "VIDEO", **k),
     ["/get_video_transcription"]),
    ("get_transcripts", lambda c, **k: c.get_transcripts(["VI9"], "audio", refresh=True, **k),
     ["/list_videos", "/get_audio_transcription"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "call", "paths"), CALLS, ids=[c[0] for c in CALLS])
def test_unique_id_is_sent_where_each_endpoint_takes_it_and_only_when_given(
    api: Api, server: Server, name: str, call: Callable[..., Any], paths: list[str]
) -> None:
    server.default = _answer
    _run(api, lambda c: call(c, unique_id=USER))
    sent = [(r.url.path.removeprefix(V12), _where(r)) for r in server.requests]
    assert sent == [(path, WHERE[path]) for path in paths]
    server.requests.clear()
    TranscriptCache.shared().clear()
    _run(api, lambda c: call(c))
    assert server.requests and all(_where(r) == {} for r in server.requests)


def test_an_upload_of_a_file_carries_unique_id_as_a_multipart_field(
    api: Api, server: Server, tmp_path: Path
) -> None:
    server.default = _answer
    _run(api, lambda c: c.upload_video(_clip(tmp_path), unique_id=USER))
    (request,) = server.requests
    assert _where(request) == {"multipart": USER.encode()}
    assert b'name="file"' in request.content


@pytest.mark.parametrize("unique_id", ["", "  ", 5, ["u"], b"u"])
@pytest.mark.parametrize(("name", "call", "paths"), CALLS, ids=[c[0] for c in CALLS])
def test_a_bad_unique_id_is_refused_before_any_request(
    api: Api, server: Server, name: str, call: Callable[..., Any], paths: Any, unique_id: Any
) -> None:
    """The chat's rule (`_v12.check_unique_id`): a non-empty string a request can carry."""
    with pytest.raises(MaviValidationError, match="unique_id"):
        _run(api, lambda c: call(c, unique_id=unique_id))
    assert server.requests == []


@pytest.mark.parametrize(("name", "call", "paths"), CALLS, ids=[c[0] for c in CALLS])
def test_unique_id_with_v10_is_refused_before_any_request(
    api: Api, server: Server, name: str, call: Callable[..., Any], paths: Any
) -> None:
    with pytest.raises(MaviValidationError, match=r"unique_id belongs to the v1\.2 API"):
        _run(api, lambda c: call(c, unique_id=USER), api_version="v1.0")
    assert server.requests == []


def test_transcripts_of_one_end_user_are_cached_apart(api: Api, server: Server) -> None:
    server.default = _answer
    TranscriptCache.shared().clear()
    _run(api, lambda c: c.get_transcripts(["VI9"], "audio", unique_id=USER))
    _run(api, lambda c: c.get_transcripts(["VI9"], "audio", unique_id=USER))
    first = len(server.requests)
    _run(api, lambda c: c.get_transcripts(["VI9"], "audio"))
    _run(api, lambda c: c.get_transcripts(["VI9"], "audio", unique_id="user-43"))
    asked = [r for r in server.requests[first:] if "transcription" in r.url.path]
    assert [_where(r) for r in asked] == [{}, {"query": ["user-43"]}]
    TranscriptCache.shared().clear()


@pytest.mark.integration
def test_the_emulator_accepts_unique_id_on_every_v12_video_path(
    v12: V12Http, tmp_path: Path
) -> None:
    emu: MaviEmulator = v12.emu
    delay, emu.parse_delay = emu.parse_delay, 0
    try:
        video = v12.run(lambda c: c.upload_video(_clip(tmp_path), unique_id=USER))
        v12.run(lambda c: c.upload_video("https://e.example/b.mp4", unique_id=USER))
        assert v12.run(lambda c: c.wait_until_parsed([video.video_no], unique_id=USER))
        assert v12.run(lambda c: c.find_moments("tugboat", limit=2, unique_id=USER))
        assert v12.run(lambda c: c.transcribe(HARBOR, unique_id=USER)).segments
        v12.run(lambda c: c.delete_videos([video.video_no], unique_id=USER))
    finally:
        emu.parse_delay = delay
    assert all(request.path.startswith(V12) for request in emu.requests)


@pytest.mark.parametrize("path", ["search", "list_videos", "upload_url"])
def test_the_emulator_refuses_a_unique_id_that_is_no_string(emu: MaviEmulator, path: str) -> None:
    body = {"search_param": "boat", "search_type": "BY_VIDEO", "url": "https://e.example/c.mp4"}
    reply = httpx.post(
        f"{emu.base_url}{V12}/{path}",
        json={**body, "unique_id": ["u"]},
        headers={"Authorization": emu.api_key},
    )
    assert reply.json() == {"code": "0001", "msg": "unique_id must be a string."}
