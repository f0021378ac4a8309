"""`get_audio_transcription` answering success with `data: null` (tests/data/wire_samples/v1.2/
transcription_not_ready.json: not ready yet, or a video without sound) is no transcript yet:
`transcribe` and `get_transcripts` read again until their timeout, and neither a null nor an
empty transcript is ever cached as final, in memory or in `cache_dir`. Both clients, against a
loopback server writing the sample's exact bytes and against the emulator."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mavi_core import MaviTimeoutError, Video
from mavi_core.emulator import MaviEmulator
from mavi_core.transcripts import TranscriptCache
from tests.support.rawserver import Request, raw_server, reply
from tests.support.v12 import on_loopback

from .test_v12_videos import V12, V12Http, _clip

SAMPLES = Path(__file__).parents[1] / "data" / "wire_samples" / "v1.2"
NOT_READY = (SAMPLES / "transcription_not_ready.json").read_bytes()
TRANSCRIPT = json.dumps(
    {
        "code": "0000",
        "msg": "success",
        "success": True,
        "failed": False,
        "data": {
            "videoNo": "VI9",
            "transcriptions": [
                {"index": 0, "content": " Hello there.", "startTime": "0", "endTime": "7"}
            ],
        },
    }
).encode()
EMPTY = json.dumps(
    {
        "code": "0000",
        "msg": "success",
        "success": True,
        "failed": False,
        "data": {"videoNo": "VI9", "transcriptions": []},
    }
).encode()
VIDEO = Video("VI9", "a.mp4", "PARSE", duration=60.0)
MODES = pytest.mark.parametrize("mode", ["sync", "async"])


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    TranscriptCache.shared().clear()
    yield
    TranscriptCache.shared().clear()


def answers(*bodies: bytes) -> object:
    """A script answering the requests with `bodies` in turn, the last one from then on."""
    replies = list(bodies)

    def script(conn: socket.socket, request: Request) -> None:
        body = replies.pop(0) if len(replies) > 1 else replies[0]
        reply(conn, body, "Content-Type: application/json")

    return script


@pytest.mark.integration
@MODES
def test_transcribe_reads_again_while_the_reply_is_null(mode: str) -> None:
    with raw_server(answers(NOT_READY, NOT_READY, TRANSCRIPT)) as server:  # type: ignore[arg-type]
        transcript = on_loopback(
            mode, server.base_url, lambda c: c.transcribe("VI9", poll_interval=0.01)
        )
    assert transcript.text == " Hello there."
    assert [request.path for request in server.requests] == [
        f"{V12}/get_audio_transcription?video_no=VI9"
    ] * 3


@pytest.mark.integration
@MODES
def test_a_transcript_that_stays_null_times_out_saying_so(mode: str) -> None:
    with raw_server(answers(NOT_READY)) as server:  # type: ignore[arg-type]
        with pytest.raises(MaviTimeoutError, match=r"data: null.*without sound"):
            on_loopback(
                mode,
                server.base_url,
                lambda c: c.transcribe("VI9", timeout=0.2, poll_interval=0.02),
            )
    assert len(server.requests) >= 2


@pytest.mark.integration
@MODES
def test_get_transcripts_waits_for_a_null_transcript_within_its_timeout(
    mode: str, tmp_path: Path
) -> None:
    def read(c: object) -> object:
        return c.get_transcripts(  # type: ignore[attr-defined]
            ["VI9"], "audio", videos=[VIDEO], poll_interval=0.01, cache_dir=tmp_path
        )

    with raw_server(answers(NOT_READY, TRANSCRIPT)) as server:  # type: ignore[arg-type]
        (transcript,) = on_loopback(mode, server.base_url, read)  # type: ignore[misc]
        assert transcript.text == "Hello there."
        assert len(server.requests) == 2
        assert len(list(tmp_path.iterdir())) == 1  # the finished one is kept
        on_loopback(mode, server.base_url, read)
        assert len(server.requests) == 2  # and served from the cache


@pytest.mark.integration
@MODES
@pytest.mark.parametrize("body", [NOT_READY, EMPTY], ids=["null", "empty"])
def test_a_null_or_empty_transcript_is_never_cached(mode: str, body: bytes, tmp_path: Path) -> None:
    def read(c: object) -> object:
        return c.get_transcripts(  # type: ignore[attr-defined]
            ["VI9"], "audio", videos=[VIDEO], timeout=0.1, poll_interval=0.02, cache_dir=tmp_path
        )

    with raw_server(answers(body)) as server:  # type: ignore[arg-type]
        if body is NOT_READY:
            with pytest.raises(MaviTimeoutError, match="data: null"):
                on_loopback(mode, server.base_url, read)
        else:
            (empty,) = on_loopback(mode, server.base_url, read)  # type: ignore[misc]
            assert empty.segments == ()
        asked = len(server.requests)
    assert list(tmp_path.iterdir()) == []
    with raw_server(answers(TRANSCRIPT)) as server:  # type: ignore[arg-type]
        (transcript,) = on_loopback(mode, server.base_url, read)  # type: ignore[misc]
    assert asked >= 1 and len(server.requests) == 1  # asked again: nothing was kept
    assert transcript.text == "Hello there."


# Against the emulator: a video without sound has no audio transcript.


@pytest.mark.integration
def test_a_video_without_sound_has_no_audio_transcript_but_a_visual_one(
    v12: V12Http, tmp_path: Path
) -> None:
    v12.emu.parse_delay = 0
    video = v12.run(lambda c: c.upload_video(_clip(tmp_path, "silent_walk.mp4")))
    shown = v12.run(lambda c: c.transcribe(video.video_no, "VIDEO"))
    assert shown.segments
    with pytest.raises(MaviTimeoutError, match="data: null"):
        v12.run(lambda c: c.transcribe(video.video_no, timeout=0.2, poll_interval=0.05))
    TranscriptCache.shared().clear()
    with pytest.raises(MaviTimeoutError):
        v12.run(lambda c: c.get_transcripts([video.video_no], timeout=0.2, poll_interval=0.05))


@pytest.fixture(params=["sync", "async"])
def v12(
    request: pytest.FixtureRequest, emu: MaviEmulator, sleeps: list[float]
) -> Iterator[V12Http]:
    delay = emu.parse_delay
    yield V12Http(request.param, emu, sleeps)
    emu.parse_delay = delay
