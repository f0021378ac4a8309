"""What the adapters' v1.2 tests share: the requests a v1.2 transcript read makes, and the
check that a loader gives the same documents in both dialects."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from mavi_core import AsyncMaviClient, MaviClient
from mavi_core.emulator import MaviEmulator
from mavi_core.transcripts import TranscriptCache

HARBOR = "VI634021587219364352"  # harbor_sunrise_timelapse.mp4: 7 spoken lines, 9 scenes
V12 = "/serve/api/v1"
TRANSCRIPT_READS = [
    f"{V12}/list_videos",  # the video's name and duration
    f"{V12}/get_audio_transcription",
    f"{V12}/get_video_transcription",
]
"""The requests a v1.2 client makes for both transcripts of HARBOR: no task is submitted."""


def v12_options(emulator: MaviEmulator) -> dict[str, Any]:
    """The connection options of an adapter component speaking v1.2 to `emulator`."""
    return {"api_key": emulator.api_key, "base_url": emulator.base_url, "api_version": "v1.2"}


def same_in_both_dialects(emulator: MaviEmulator, load: Callable[[str], Sequence[Any]]) -> None:
    """`load(api_version)` gives the same documents with v1.0 and v1.2 (each from an empty
    transcript cache), and with v1.2 reads them from the v1.2 endpoints only."""
    TranscriptCache.shared().clear()
    v10 = list(load("v1.0"))
    emulator.reset()
    TranscriptCache.shared().clear()
    v12 = list(load("v1.2"))
    assert v12 == v10
    assert len(v12) == 7 + 9
    assert [request.path for request in emulator.requests] == TRANSCRIPT_READS


def upload_parsed(emulator: MaviEmulator, unique_id: str) -> str:
    """A video uploaded to `emulator` under the namespace `unique_id` and parsed at once: it is
    in that library only. The emulator's request log is cleared after."""
    delay, emulator.parse_delay = emulator.parse_delay, 0.0
    try:
        with MaviClient(**v12_options(emulator), rate_limit=None) as client:
            video = client.upload_video("https://e.example/pier.mp4", unique_id=unique_id)
    finally:
        emulator.parse_delay = delay
    emulator.clear_requests()
    return video.video_no


def namespaces(emulator: MaviEmulator) -> list[object]:
    """The `unique_id` each request to `emulator` carried (JSON body, else query), in order."""
    found = []
    for request in emulator.requests:
        body = request.body if isinstance(request.body, dict) else {}
        found.append(body.get("unique_id", request.query.get("unique_id")))
    return found


def on_loopback(mode: str, base_url: str, call: Callable[[Any], Any]) -> Any:
    """`call(client)` with the sync or the async v1.2 client of a loopback server at
    `base_url` (a coroutine is awaited), no rate limit."""
    options: dict[str, Any] = {"api_key": "sk-loopback", "base_url": base_url,
                               "api_version": "v1.2", "rate_limit": None}  # fmt: skip
    if mode == "sync":
        with MaviClient(**options) as client:
            return call(client)

    async def go() -> Any:
        async with AsyncMaviClient(**options) as client:
            return await call(client)

    return asyncio.run(go())
