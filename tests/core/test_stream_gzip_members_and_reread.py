"""The streaming hot path (docs/errors-and-wire.md: nothing lost, nothing
repeated, every read bounded; gzip or deflate accepted)."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from typing import Any

import pytest

from mavi_core import AsyncMaviClient, MaviClient, MaviError
from tests.support.rawserver import Request, head, raw_server
from tests.support.servers import KEY

pytestmark = pytest.mark.integration


def v10_event(piece: str) -> bytes:
    payload = {"code": "0000", "msg": "success", "data": {"msg": piece}}
    return b"data:" + json.dumps(payload).encode() + b"\n\n"


def _collect(base_url: str, asynchronous: bool, **options: Any) -> list[str]:
    received: list[str] = []
    if not asynchronous:
        with MaviClient(KEY, base_url=base_url, **options) as client:
            for delta in client.stream_chat(["VI1"], "What happens?"):
                received.append(delta.text)
        return received

    async def go() -> None:
        async with AsyncMaviClient(KEY, base_url=base_url, **options) as client:
            async for delta in client.stream_chat(["VI1"], "What happens?"):
                received.append(delta.text)

    asyncio.run(go())
    return received


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_gzip_body_of_several_members_loses_no_text(asynchronous: bool) -> None:
    """A server (or proxy) that compresses each flushed event as its own gzip member sends a
    valid multi-member gzip body (RFC 1952 2.2; urllib3 and `gzip.decompress` read it whole).
    Today everything after the first member is dropped silently and the v1.0 stream ends as
    if complete: text lost with no error."""
    pieces = ["The harbor ", "wakes ", "at dawn."]
    body = b"".join(gzip.compress(v10_event(piece)) for piece in pieces)
    assert gzip.decompress(body) == b"".join(v10_event(p) for p in pieces)

    def script(conn: socket.socket, request: Request) -> None:
        conn.sendall(head("200 OK", "Content-Type: text/event-stream",
                          "Content-Encoding: gzip") + body)  # fmt: skip
        conn.shutdown(socket.SHUT_WR)

    with raw_server(script) as server:
        try:
            received = _collect(server.base_url, asynchronous)
        except MaviError:
            return  # a typed error is acceptable; silent loss is not
    assert "".join(received) == "".join(pieces)


def test_an_async_stream_read_again_after_its_error_is_exhausted() -> None:
    """After an async stream raised its error, reading it again must behave as an exhausted
    iterator (StopAsyncIteration, as the sync ChatStream's StopIteration), not raise a new
    MaviStreamError claiming 'the event loop it started on has ended' (it has not)."""
    body = (
        b'data:{"code":"0000","msg":"success","data":{"msg":"Hi "}}\n\n'
        b'data:{"code":"0001","msg":"bad"}\n\n'
    )

    def script(conn: socket.socket, request: Request) -> None:
        conn.sendall(head("200 OK", "Content-Type: text/event-stream") + body)
        conn.shutdown(socket.SHUT_WR)

    async def go(base_url: str) -> None:
        async with AsyncMaviClient(KEY, base_url=base_url) as client:
            stream = client.stream_chat(["VI1"], "What happens?")
            with pytest.raises(MaviError):
                async for _ in stream:
                    pass
            with pytest.raises(StopAsyncIteration):
                await stream.__anext__()

    with raw_server(script) as server:
        asyncio.run(go(server.base_url))
