"""Reply bytes and bodies for scripted MAVI servers on `httpx.MockTransport`, shared by the
core and adapter tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx

__all__ = ["Body", "error_event", "event"]


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
