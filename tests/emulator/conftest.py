"""Fixtures for the emulator tests: one shared emulator, reset and restored around each test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from mavi_core.emulator import MaviEmulator

CHAT = "/api/serve/video/chat"
KITCHEN = "VI634021601844219905"  # kitchen_knife_skills_demo.mp4 in the sample library
HARBOR = "VI634021587219364352"  # harbor_sunrise_timelapse.mp4

_SETTINGS = (
    "latency",
    "delta_delay",
    "delta_size",
    "rate_limit",
    "rate_window",
    "rate_limits",
    "parse_delay",
    "token_ttl",
    "answer_words",
    "fragment_scores",
    "transcript_millis",
    "max_body_bytes",
    "max_upload_bytes",
    "api_versions",
)


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limit=None, parse_delay=0.3) as emulator:
        yield emulator


@pytest.fixture
def emu(shared_emulator: MaviEmulator) -> Iterator[MaviEmulator]:
    """The shared emulator, reset before the test and with its settings restored after."""
    saved = {name: getattr(shared_emulator, name) for name in _SETTINGS}
    shared_emulator.reset()
    yield shared_emulator
    for name, value in saved.items():
        setattr(shared_emulator, name, value)
    shared_emulator.reset()


@pytest.fixture(scope="session")
def _authorized_client(shared_emulator: MaviEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": shared_emulator.api_key}
    with httpx.Client(base_url=shared_emulator.base_url, headers=headers, timeout=5.0) as http:
        yield http


@pytest.fixture(scope="session")
def _anonymous_client(shared_emulator: MaviEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_emulator.base_url, timeout=5.0) as http:
        yield http


@pytest.fixture
def client(emu: MaviEmulator, _authorized_client: httpx.Client) -> httpx.Client:
    """An httpx client for the shared emulator that sends the API key (clients are reused:
    creating one costs tens of milliseconds)."""
    return _authorized_client


@pytest.fixture
def anon(emu: MaviEmulator, _anonymous_client: httpx.Client) -> httpx.Client:
    """An httpx client for the shared emulator without an Authorization header."""
    return _anonymous_client


@pytest.fixture
def chat_body() -> Callable[..., dict[str, Any]]:
    """Build a chat request body; defaults ask the kitchen video about the onion, streamed."""

    def build(**overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "videoNos": [KITCHEN],
            "message": "How does the chef dice the onion?",
            "history": [],
            "stream": True,
        }
        body.update(overrides)
        return body

    return build


def _decode_events(raw: bytes) -> list[Any]:
    """The JSON payload of every ``data:`` event in a standard (LF, one-line) event stream."""
    events = []
    for block in raw.decode().split("\n\n"):
        if block:
            assert block.startswith("data:"), block
            events.append(json.loads(block[len("data:") :]))
    return events


@pytest.fixture
def decode_events() -> Callable[[bytes], list[Any]]:
    return _decode_events
