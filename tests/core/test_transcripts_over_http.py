"""`get_transcripts` over HTTP against the emulator, through both clients: submitted together,
polled, in seconds whatever the reply's unit, requested once per process."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from mavi_core import (
    AsyncMaviClient,
    MaviAuthenticationError,
    MaviClient,
    MaviInvalidRequestError,
    MaviTimeoutError,
    MaviVideoError,
    VideoTranscript,
)
from mavi_core.emulator import MaviEmulator
from mavi_core.transcripts import TranscriptCache

HARBOR = "VI634021587219364352"
SUBMIT = "/api/serve/video/subTranscription"
POLL = "/api/serve/video/getTranscription"


pytestmark = pytest.mark.usefixtures("empty_transcript_cache")


@pytest.fixture(params=["sync", "async"])
def transcripts(request: pytest.FixtureRequest, emu: MaviEmulator) -> Any:
    """`get_transcripts` through the sync or the async client."""

    def call(*args: Any, **kwargs: Any) -> list[VideoTranscript]:
        kwargs.setdefault("poll_interval", 0.1)
        if request.param == "sync":
            with MaviClient(emu.api_key, base_url=emu.base_url) as client:
                return client.get_transcripts(*args, **kwargs)

        async def go() -> list[VideoTranscript]:
            async with AsyncMaviClient(emu.api_key, base_url=emu.base_url) as client:
                return await client.get_transcripts(*args, **kwargs)

        return asyncio.run(go())

    return call


def paths(emu: MaviEmulator) -> list[str]:
    return [request.path for request in emu.requests]


def test_both_kinds_are_submitted_together_then_polled(transcripts: Any, emu: MaviEmulator) -> None:
    audio, visual = transcripts([HARBOR])

    assert (audio.kind, visual.kind) == ("audio", "visual")
    assert audio.video_name == "harbor_sunrise_timelapse.mp4"
    assert audio.duration == 193
    assert audio.segments[0].text == "It is five in the morning and the harbor is still asleep."
    assert (audio.segments[0].start, audio.segments[0].end) == (2.0, 9.0)
    assert visual.segments[0].text.startswith("Pre-dawn blue light")
    assert paths(emu)[:3] == ["/api/serve/video/searchDB", SUBMIT, SUBMIT]
    assert set(paths(emu)[3:]) == {POLL}
    assert [r.body for r in emu.requests if r.path == SUBMIT] == [
        {"videoNo": HARBOR, "type": "AUDIO"},
        {"videoNo": HARBOR, "type": "VIDEO"},
    ]


def test_milliseconds_in_the_reply_become_seconds(transcripts: Any, emu: MaviEmulator) -> None:
    emu.transcript_millis = True
    try:
        (audio,) = transcripts([HARBOR], "audio")
    finally:
        emu.transcript_millis = False

    assert audio.unit == "ms"
    assert (audio.segments[0].start, audio.segments[0].end) == (2.0, 9.0)


def test_a_transcript_is_requested_once_per_process(transcripts: Any, emu: MaviEmulator) -> None:
    first = transcripts([HARBOR], "visual")
    emu.clear_requests()

    again = transcripts([HARBOR], ["visual"])

    assert again == first
    assert emu.requests == []


def test_refresh_asks_again(transcripts: Any, emu: MaviEmulator) -> None:
    transcripts([HARBOR], "audio")
    emu.clear_requests()

    transcripts([HARBOR], "audio", refresh=True)

    assert SUBMIT in paths(emu)


def test_known_videos_need_no_library_lookup(transcripts: Any, emu: MaviEmulator) -> None:
    from mavi_core import Video

    (audio,) = transcripts([HARBOR], "audio", videos=[Video(HARBOR, "my_name.mp4", duration=193)])

    assert audio.video_name == "my_name.mp4"
    assert "/api/serve/video/searchDB" not in paths(emu)


def test_no_videos_means_the_whole_library(transcripts: Any, emu: MaviEmulator) -> None:
    found = transcripts(None, "audio")

    assert sorted(t.video_no for t in found) == sorted(emu.video_nos)


def test_a_timeout_leaves_the_task_to_the_next_call(transcripts: Any, emu: MaviEmulator) -> None:
    emu.parse_delay = 1.0
    try:
        with pytest.raises(MaviTimeoutError, match="transcripts"):
            transcripts([HARBOR], "audio", timeout=0.2)
        (audio,) = transcripts([HARBOR], "audio", timeout=10)
    finally:
        emu.parse_delay = 0.2

    assert audio.segments
    assert paths(emu).count(SUBMIT) == 1


def test_an_unknown_video_is_the_services_error(transcripts: Any, emu: MaviEmulator) -> None:
    with pytest.raises(MaviInvalidRequestError, match="does not exist"):
        transcripts(["VI-nope"], "audio")


def test_a_failed_transcription_raises_and_is_not_cached() -> None:
    replies = {
        "/api/serve/video/searchDB": {"videoData": [], "total": 0},
        SUBMIT: {"taskNo": "TK1"},
        POLL: {"status": "FAIL", "taskNo": "TK1", "transcriptions": []},
    }

    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"code": "0000", "data": replies[request.url.path]})

    http = httpx.Client(transport=httpx.MockTransport(server))
    client = MaviClient("sk-test", base_url="https://mavi.test", http_client=http)

    with pytest.raises(MaviVideoError, match="could not transcribe VI1"):
        client.get_transcripts(["VI1"], "audio")
    key = ("https://mavi.test", client.settings.fingerprint(), "VI1", "audio")
    assert key not in TranscriptCache.shared()


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("on_disk", [False, True])
def test_another_key_does_not_get_the_first_keys_transcripts(
    emu: MaviEmulator, tmp_path: Any, mode: str, on_disk: bool
) -> None:
    """The cache is keyed by host and a hash of the credentials: a client with another key (here
    one the service refuses) asks the service instead of reading the first key's transcript,
    from memory or from `cache_dir`, whose files never hold a key."""
    cache_dir = tmp_path if on_disk else None
    other_key = "sk-another-account-key-456"

    def get(key: str) -> list[VideoTranscript]:
        if mode == "sync":
            with MaviClient(key, base_url=emu.base_url, max_retries=0) as client:
                return client.get_transcripts([HARBOR], "audio", cache_dir=cache_dir)

        async def go() -> list[VideoTranscript]:
            async with AsyncMaviClient(key, base_url=emu.base_url, max_retries=0) as client:
                return await client.get_transcripts([HARBOR], "audio", cache_dir=cache_dir)

        return asyncio.run(go())

    assert get(emu.api_key)[0].segments
    if on_disk:
        TranscriptCache.shared().clear()  # a new process: only the files are left
    emu.clear_requests()
    assert get(emu.api_key)[0].segments  # the same key: from the cache
    assert emu.requests == []

    with pytest.raises(MaviAuthenticationError):
        get(other_key)
    assert emu.requests, "the second key was served the first key's cached transcript"
    for path in tmp_path.rglob("*"):
        text = path.name + (path.read_text() if path.is_file() else "")
        assert emu.api_key not in text and other_key not in text


@pytest.mark.parametrize("api_version", ["v1.0", "v1.2"])
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("millis", [False, True])
def test_transcribe_reads_seconds_or_milliseconds_as_seconds(
    emu: MaviEmulator, api_version: str, mode: str, millis: bool
) -> None:
    """docs/client.md, "Seconds, always": `transcribe` follows the rule of `get_transcripts` (here
    without the video's duration: the reply alone decides), in both clients and dialects."""
    delay, emu.parse_delay = emu.parse_delay, 0
    emu.transcript_millis = millis
    options: dict[str, Any] = {"base_url": emu.base_url, "api_version": api_version}

    async def go() -> Any:
        async with AsyncMaviClient(emu.api_key, **options) as client:
            return await client.transcribe(HARBOR, "AUDIO", poll_interval=0.05)

    try:
        if mode == "sync":
            with MaviClient(emu.api_key, **options) as client:
                transcript = client.transcribe(HARBOR, "AUDIO", poll_interval=0.05)
        else:
            transcript = asyncio.run(go())
    finally:
        emu.transcript_millis = False
        emu.parse_delay = delay

    assert transcript.unit == ("ms" if millis else "s")
    assert (transcript.segments[0].start, transcript.segments[0].end) == (2.0, 9.0)
    assert max(segment.end for segment in transcript.segments) <= 193
