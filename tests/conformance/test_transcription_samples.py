"""tests/data/wire_samples/v1.2/transcription_not_ready.json, the documented reply of
`get_audio_transcription` for a video without sound or whose transcript is not ready: (a)
served byte for byte from a loopback server, both clients read it as "no transcript yet" (they
read again until their timeout, never a transcript, never an error of their own); (b) the
emulator answers the same request, for a video without sound, in the same shape: same keys,
nesting and value types at every level."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mavi_core import MaviTimeoutError, Video
from mavi_core._videos import parse_transcription
from mavi_core.emulator import MaviEmulator
from mavi_core.transcripts import TranscriptCache
from tests.support.rawserver import Request, raw_server, reply
from tests.support.v12 import on_loopback

SAMPLES = Path(__file__).parents[1] / "data" / "wire_samples" / "v1.2"
SAMPLE = SAMPLES / "transcription_not_ready.json"
PATH = "/serve/api/v1/get_audio_transcription"
VIDEO = Video("VI9", "a.mp4", "PARSE", duration=60.0)
"""What the caller knows of the video: get_transcripts need not list the library."""


def shape(value: Any) -> Any:
    """The structure of a JSON value: objects by key, lists by their items' shapes, and the
    JSON type of every other value."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(shape(item), sort_keys=True) for item in value})
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else type(value).__name__


def _sample(conn: socket.socket, request: Request) -> None:
    reply(conn, SAMPLE.read_bytes(), "Content-Type: application/json")


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    TranscriptCache.shared().clear()
    yield
    TranscriptCache.shared().clear()


def test_the_sample_decodes_as_no_transcript_yet() -> None:
    data = json.loads(SAMPLE.read_bytes())["data"]
    assert parse_transcription(data, video_no="VI9", task_no="", kind="AUDIO", v12=True) is None


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    "read",
    [
        lambda c: c.transcribe("VI9", timeout=0.2, poll_interval=0.02),
        lambda c: c.get_transcripts(
            ["VI9"], "audio", timeout=0.2, poll_interval=0.02, videos=[VIDEO]
        ),
    ],
    ids=["transcribe", "get_transcripts"],
)
def test_both_clients_read_the_sample_as_not_ready(mode: str, read: Callable[[Any], Any]) -> None:
    with raw_server(_sample) as server:
        with pytest.raises(MaviTimeoutError, match=r"data: null"):
            on_loopback(mode, server.base_url, read)
    assert len(server.requests) >= 2  # read again, not taken as final
    assert {request.path for request in server.requests} == {f"{PATH}?video_no=VI9"}


@pytest.mark.integration
def test_the_emulator_answers_the_same_request_in_the_same_shape() -> None:
    with MaviEmulator(rate_limit=None, parse_delay=0) as emu:
        headers = {"Authorization": emu.api_key}
        with httpx.Client(base_url=emu.base_url, headers=headers, timeout=5.0) as http:
            files = {"file": ("silent_clip.mp4", b"\x00" * 1024, "video/mp4")}
            video_no = http.post("/serve/api/v1/upload", files=files).json()["data"]["videoNo"]
            answer = http.get(PATH, params={"video_no": video_no, "unique_id": "default"})
    assert answer.status_code == 200
    sample = json.loads(SAMPLE.read_bytes())
    assert shape(answer.json()) == shape(sample)
    assert answer.json() == sample
