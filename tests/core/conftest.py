"""A scripted MAVI server on `httpx.MockTransport`, driving the sync and async clients alike.

`api` runs every scenario twice, once through `MaviClient` and once through `AsyncMaviClient`,
so one test specifies both twins. Retries sleep nowhere: the delays are recorded instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from mavi_core import AsyncMaviClient, ChatAnswer, MaviClient
from tests.support.wire import Body, event

KEY = "sk-test-secret-key-123"


def stream_reply(
    pieces: list[str], fail: Exception | None = None, **headers: str
) -> httpx.Response:
    body = Body([event(p) for p in pieces], fail)
    return httpx.Response(
        200, headers={"content-type": "text/event-stream", **headers}, stream=body
    )


Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class Server:
    """Hands out scripted replies in order and records what it received."""

    replies: list[Reply] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    default: Callable[[httpx.Request], httpx.Response] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        reply: Reply
        if self.replies:
            reply = self.replies.pop(0)
        elif self.default is not None:
            reply = self.default
        else:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


@dataclass
class Api:
    """Runs the same scenario through the sync or the async client."""

    mode: str
    server: Server
    sleeps: list[float]

    def client_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("base_url", "https://mavi.test")
        if "auth" not in kwargs:
            kwargs.setdefault("api_key", KEY)
        return kwargs

    def sync_client(self, **kwargs: Any) -> MaviClient:
        http = httpx.Client(transport=httpx.MockTransport(self.server))
        client = MaviClient(http_client=http, **self.client_kwargs(**kwargs))
        client._sleep = self.sleeps.append
        return client

    def async_client(self, **kwargs: Any) -> AsyncMaviClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.server))
        client = AsyncMaviClient(http_client=http, **self.client_kwargs(**kwargs))

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        client._sleep = sleep
        return client

    def chat(self, message: str = "What happens?", **kwargs: Any) -> ChatAnswer:
        video_nos = kwargs.pop("video_nos", ["VI1"])
        history = kwargs.pop("history", None)
        if self.mode == "sync":
            return self.sync_client(**kwargs).chat(video_nos, message, history)

        async def run() -> ChatAnswer:
            return await self.async_client(**kwargs).chat(video_nos, message, history)

        return asyncio.run(run())

    def stream(
        self, message: str = "What happens?", *, into: list[str] | None = None, **kwargs: Any
    ) -> list[str]:
        """The deltas of a streamed answer; `into` receives them as they come (kept on error)."""
        video_nos = kwargs.pop("video_nos", ["VI1"])
        received = [] if into is None else into
        if self.mode == "sync":
            for delta in self.sync_client(**kwargs).stream_chat(video_nos, message):
                received.append(delta.text)
            return received

        async def run() -> list[str]:
            async for delta in self.async_client(**kwargs).stream_chat(video_nos, message):
                received.append(delta.text)
            return received

        return asyncio.run(run())

    def first_delta_then_close(self, **kwargs: Any) -> str:
        """Read one delta, then close the stream early."""
        if self.mode == "sync":
            stream = self.sync_client(**kwargs).stream_chat(["VI1"], "q")
            first = next(stream).text
            stream.close()
            return first

        async def run() -> str:
            stream = self.async_client(**kwargs).stream_chat(["VI1"], "q")
            first = (await anext(stream)).text
            await stream.aclose()
            return first

        return asyncio.run(run())


@pytest.fixture
def sleeps() -> list[float]:
    """The delays the `api` clients slept, recorded instead of slept."""
    return []


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, server: Server, sleeps: list[float]) -> Api:
    return Api(request.param, server, sleeps)


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[Any]:
    from mavi_core.emulator import MaviEmulator

    with MaviEmulator(rate_limit=None, parse_delay=0.2) as emulator:
        yield emulator


@pytest.fixture
def emu(shared_emulator: Any) -> Iterator[Any]:
    """The shared emulator, cleared of faults, log and counters before and after the test."""
    shared_emulator.reset()
    yield shared_emulator
    shared_emulator.reset()
    shared_emulator.rate_limit = None
