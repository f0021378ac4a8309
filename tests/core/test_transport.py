"""The sharded async transport: least-loaded pool first, counts kept across errors and closes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from mavi_core._transport import ShardedAsyncTransport


class Body(httpx.AsyncByteStream):
    """A body streamed from the network, as a real transport returns it (not pre-read)."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"ok"


def shards(count: int, used: list[int], fail: bool = False) -> list[httpx.AsyncBaseTransport]:
    def handler_for(index: int) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            used.append(index)
            if fail:
                raise httpx.ConnectError("refused")
            return httpx.Response(200, stream=Body())

        return httpx.MockTransport(handle)

    return [handler_for(i) for i in range(count)]


def test_sequential_requests_stay_on_the_first_pool() -> None:
    used: list[int] = []
    transport = ShardedAsyncTransport(shards(4, used))

    async def run() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in range(5):
                await client.get("https://mavi.test/")

    asyncio.run(run())
    assert used == [0, 0, 0, 0, 0]
    assert transport.in_flight == [0, 0, 0, 0]


def test_open_responses_spread_requests_over_the_pools() -> None:
    used: list[int] = []
    transport = ShardedAsyncTransport(shards(3, used))

    async def run() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            requests = [client.build_request("GET", "https://mavi.test/") for _ in range(4)]
            responses = [await client.send(r, stream=True) for r in requests]
            assert transport.in_flight == [2, 1, 1]
            for response in responses:
                await response.aclose()
            assert transport.in_flight == [0, 0, 0]

    asyncio.run(run())
    assert used == [0, 1, 2, 0]


def test_a_failed_request_frees_its_place() -> None:
    used: list[int] = []
    transport = ShardedAsyncTransport(shards(2, used, fail=True))

    async def run() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("https://mavi.test/")

    asyncio.run(run())
    assert transport.in_flight == [0, 0]
