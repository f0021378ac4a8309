"""Reply bytes and bodies for scripted MAVI servers on `httpx.MockTransport`, shared by the
core and adapter tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

__all__ = ["Body", "error_event", "event", "read_stream"]


def event(piece: str, code: str = "0000") -> bytes:
    """One v1.0 chat event carrying `piece`."""
    envelope = {"code": code, "msg": "success", "data": {"msg": piece}}
    return b"data:" + json.dumps(envelope).encode() + b"\n\n"


def error_event(code: str, msg: str = "failed") -> bytes:
    return b"data:" + json.dumps({"code": code, "msg": msg}).encode() + b"\n\n"


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A reply body sent chunk by chunk; `fail` is raised after the chunks; records how many
    chunks were read and whether it was closed."""

    def __init__(self, chunks: list[bytes], fail: Exception | None = None) -> None:
        self.chunks = chunks
        self.fail = fail
        self.sent = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.sent += 1
            yield chunk
        if self.fail is not None:
            raise self.fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.sent += 1
            yield chunk
        if self.fail is not None:
            raise self.fail

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def read_stream(client: Any, into: list[str], timeout: float | None = None) -> None:
    """Reads one streamed answer of `client` (a `MaviClient` or an `AsyncMaviClient`, closed
    afterwards) into `into`, as it comes; raises what the stream raises (an async one fails
    after `timeout` seconds rather than hanging)."""
    if not hasattr(client, "aclose"):
        with client:
            for delta in client.stream_chat(["VI1"], "What happens?"):
                into.append(delta.text)
        return

    async def read() -> None:
        async with client:
            async for delta in client.stream_chat(["VI1"], "What happens?"):
                into.append(delta.text)

    asyncio.run(asyncio.wait_for(read(), timeout))
