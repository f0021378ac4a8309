"""A v1.2 upload from a file is checked as the service documents it (api-tools.memories.ai/
platform/upload-video-from-file): `.mp4 .avi .mkv .mov` in any case, sent with a `video/*`
content type, not empty, at most 3 GB; anything else a `MaviValidationError` before any
request. Both clients, on a scripted transport and against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from mavi_core import MaviValidationError
from mavi_core._dialect import V12_MAX_UPLOAD_BYTES
from mavi_core.emulator import MaviEmulator

from .conftest import Api, Server
from .test_v12_videos import V12Http, _clip, _reply, _run

VIDEO = {"videoNo": "VI9", "videoName": "a", "videoStatus": "UNPARSE", "uploadTime": "1"}


@pytest.fixture(params=["sync", "async"])
def v12(request: pytest.FixtureRequest, emu: MaviEmulator, sleeps: list[float]) -> V12Http:
    return V12Http(request.param, emu, sleeps)


@pytest.mark.parametrize("name", ["clip.webm", "clip.mp3", "clip", "clip.mp4.txt", "notes.txt"])
def test_a_file_of_another_type_is_refused_before_any_request(
    api: Api, server: Server, tmp_path: Path, name: str
) -> None:
    clip = _clip(tmp_path, name)
    with pytest.raises(MaviValidationError, match=r"\.mp4, \.avi, \.mkv, \.mov"):
        _run(api, lambda c: c.upload_video(clip))
    assert server.requests == []


@pytest.mark.parametrize(
    ("name", "size", "words"),
    [("empty.mp4", 0, "empty"), ("huge.mov", V12_MAX_UPLOAD_BYTES + 1, "at most 3 GB")],
)
def test_an_empty_file_or_one_over_3_gb_is_refused_before_any_request(
    api: Api, server: Server, tmp_path: Path, name: str, size: int, words: str
) -> None:
    clip = tmp_path / name
    with clip.open("wb") as file:
        file.truncate(size)  # sparse: no disk used
    with pytest.raises(MaviValidationError, match=words):
        _run(api, lambda c: c.upload_video(clip))
    assert server.requests == []


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("a.mp4", "video/mp4"), ("b.AVI", "video/x-msvideo"), ("c.mkv", "video/x-matroska"),
     ("d.Mov", "video/quicktime")],
)  # fmt: skip
def test_each_type_is_sent_with_its_video_content_type(
    api: Api, server: Server, tmp_path: Path, name: str, content_type: str
) -> None:
    server.default = lambda request: _reply(VIDEO)
    _run(api, lambda c: c.upload_video(_clip(tmp_path, name)))
    (request,) = server.requests
    part = request.content.split(b'name="file"', 1)[1].split(b"\r\n\r\n", 1)[0]
    assert f"Content-Type: {content_type}".encode() in part


def test_v10_uploads_are_not_held_to_the_v12_rules(
    api: Api, server: Server, tmp_path: Path
) -> None:
    server.default = lambda request: _reply(VIDEO)
    _run(api, lambda c: c.upload_video(_clip(tmp_path, "clip.webm")), api_version="v1.0")
    assert len(server.requests) == 1


@pytest.mark.integration
@pytest.mark.parametrize("name", ["pier.mkv", "pier.AVI", "pier.mov"])
def test_the_emulator_takes_every_documented_type(v12: V12Http, tmp_path: Path, name: str) -> None:
    video = v12.run(lambda c: c.upload_video(_clip(tmp_path, name)))
    assert video.video_name == name
