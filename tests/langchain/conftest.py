"""Fixtures for the LangChain adapter's tests.

`mavi` is a scripted MAVI server on `httpx.MockTransport` (no sockets) that records what it
received and whether each reply body was read to the end and closed; `emulator` is the real
local MAVI server on loopback, one per test session, with the chat rate limit off.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from langchain_mavi import ChatMavi
from mavi_core import AsyncMaviClient, MaviClient
from mavi_core.emulator import MaviEmulator
from tests.support.wire import Body, error_event, event

KEY = "sk-langchain-test-secret-0123456789"
VIDEO = "VI100"


@dataclass
class FakeMavi:
    """Answers every chat with `pieces` (or the next scripted reply) and records requests."""

    key: str = KEY
    video: str = VIDEO
    event = staticmethod(event)
    error_event = staticmethod(error_event)
    pieces: list[str] = field(default_factory=lambda: ["The harbor ", "wakes ", "at dawn."])
    replies: list[httpx.Response] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    bodies_sent: list[Body] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if self.replies:
            return self.replies.pop(0)
        body = Body([event(piece) for piece in self.pieces])
        self.bodies_sent.append(body)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)

    def reply_with(self, status: int = 200, *chunks: bytes) -> None:
        """Script the next reply: `chunks` as the body with HTTP `status`."""
        self.replies.append(httpx.Response(status, stream=Body(list(chunks))))

    @property
    def sent(self) -> list[dict[str, Any]]:
        """The JSON bodies received, in order."""
        return [json.loads(request.content) for request in self.requests]

    def clients(self, **kwargs: Any) -> dict[str, Any]:
        """`client=` and `async_client=` for a ChatMavi, both talking to this fake."""
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("base_url", "https://mavi.test")
        kwargs.setdefault("max_retries", 0)
        transport = httpx.MockTransport(self)
        return {
            "client": MaviClient(http_client=httpx.Client(transport=transport), **kwargs),
            "async_client": AsyncMaviClient(
                http_client=httpx.AsyncClient(transport=transport), **kwargs
            ),
        }

    def chat_model(self, **kwargs: Any) -> ChatMavi:
        kwargs.setdefault("video_nos", [VIDEO])
        return ChatMavi(**self.clients(), **kwargs)


@pytest.fixture
def mavi() -> FakeMavi:
    return FakeMavi()


@pytest.fixture(scope="session")
def new_mavi() -> type[FakeMavi]:
    """Builds a fresh `FakeMavi` (for property tests, which run many examples per test)."""
    return FakeMavi


@pytest.fixture
def llm(mavi: FakeMavi) -> ChatMavi:
    return mavi.chat_model()


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limit=None) as emu:
        yield emu


@pytest.fixture
def emulator(emulator_session: MaviEmulator) -> MaviEmulator:
    """The session's emulator, with faults and the request log cleared for this test."""
    emulator_session.reset()
    return emulator_session


@pytest.fixture
def emulator_llm(emulator: MaviEmulator) -> Callable[..., ChatMavi]:
    def build(**kwargs: Any) -> ChatMavi:
        kwargs.setdefault("video_nos", emulator.video_nos[:1])
        kwargs.setdefault("api_key", emulator.api_key)
        return ChatMavi(base_url=emulator.base_url, **kwargs)

    return build
