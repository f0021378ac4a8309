"""`AsyncMaviClient` keeps a connection pool per event loop (docs/ARCHITECTURE.md, "Flows and
drivers"); `aclose()` closes all of them: the running loop's directly, a loop running in
another thread on that loop, and a loop that has ended by closing its sockets. Checked against a
loopback server that counts the connections still open."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Iterator

import pytest

from mavi_core import AsyncMaviClient
from tests.support.rawserver import RawServer, Request, head, raw_server

REPLY = json.dumps({"code": "0000", "msg": "success", "data": {"videos": []}}).encode()


def keep_alive(conn: socket.socket, request: Request) -> None:
    """A searchAI envelope; the connection stays open for the next request."""
    conn.sendall(head("200 OK", "Content-Type: application/json", length=len(REPLY)) + REPLY)


@pytest.fixture
def server() -> Iterator[RawServer]:
    with raw_server(keep_alive) as server:
        yield server


@contextlib.contextmanager
def loop_in_a_thread() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_aclose_closes_the_pools_of_every_loop(server: RawServer) -> None:
    client = AsyncMaviClient("sk-test", base_url=server.base_url)

    async def main() -> None:
        await client.search_videos("boats")
        with loop_in_a_thread() as first, loop_in_a_thread() as second:
            for loop in (first, second):  # a connection kept open on each loop running elsewhere
                call = asyncio.run_coroutine_threadsafe(client.search_videos("boats"), loop)
                await asyncio.wrap_future(call)
            ended = threading.Thread(target=asyncio.run, args=(client.search_videos("boats"),))
            ended.start()  # and one on a loop that has ended since
            ended.join()
            assert server.wait_open(4) == 4

            await client.aclose()

            # Every one closed, while the other loops still run: none left to the collector.
            assert server.wait_open(0) == 0
            assert server.connections == 4
            assert len(client._pools._pools) == 0

    asyncio.run(main())


def test_a_new_loop_closes_the_connections_an_ended_loop_left_open(
    server: RawServer,
) -> None:
    client = AsyncMaviClient("sk-test", base_url=server.base_url)
    for _ in range(3):  # `asyncio.run` again and again, never aclose()
        asyncio.run(client.search_videos("boats"))
    assert server.wait_open(1) == 1  # only the last loop's connection is left
    assert server.connections == 3
    asyncio.run(client.aclose())
    assert server.wait_open(0) == 0


def test_aclose_from_a_loop_in_another_thread_closes_the_main_loops_pool(
    server: RawServer,
) -> None:
    client = AsyncMaviClient("sk-test", base_url=server.base_url)

    async def main() -> None:
        await client.search_videos("boats")
        with loop_in_a_thread() as other:
            future = asyncio.run_coroutine_threadsafe(client.aclose(), other)
            await asyncio.wrap_future(future)  # this loop keeps running meanwhile
        assert server.wait_open(0, timeout=5) == 0

    asyncio.run(main())
