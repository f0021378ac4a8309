"""An async transport that spreads requests over several small connection pools.

httpcore's pool rescans every connection for every queued request each time a request starts or
ends, so its cost grows with the square of the concurrency: 200 concurrent calls on one pool spend
most of their time there (encode/httpcore#1035). Several small pools keep each scan short. A
request goes to the pool with the fewest requests in flight (the first one on a tie), so
sequential use stays on one pool and reuses one connection.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Sequence
from functools import cache
from typing import Final

import httpx

from ._constants import MAX_CONNECTIONS, MAX_KEEPALIVE_CONNECTIONS

__all__ = ["ShardedAsyncTransport", "shared_ssl_context"]

SHARDS: Final = 16


@cache
def shared_ssl_context() -> ssl.SSLContext:
    """One verifying context for every pool: loading the CA bundle costs tens of ms each time."""
    return httpx.create_ssl_context()


class _CountedStream(httpx.AsyncByteStream):
    """A response body that tells its pool when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, in_flight: list[int], shard: int) -> None:
        self._stream = stream
        self._in_flight = in_flight
        self._shard = shard
        self._open = True

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()  # no layer of our own per chunk

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._in_flight[self._shard] -= 1
        await self._stream.aclose()


class ShardedAsyncTransport(httpx.AsyncBaseTransport):
    """`SHARDS` connection pools sharing the client's limits; least-loaded pool first."""

    def __init__(self, shards: Sequence[httpx.AsyncBaseTransport] | None = None) -> None:
        if shards is None:
            limits = httpx.Limits(
                max_connections=max(MAX_CONNECTIONS // SHARDS, 1),
                max_keepalive_connections=max(MAX_KEEPALIVE_CONNECTIONS // SHARDS, 1),
            )
            context = shared_ssl_context()
            shards = [
                httpx.AsyncHTTPTransport(verify=context, limits=limits) for _ in range(SHARDS)
            ]
        self._shards = list(shards)
        self.in_flight = [0] * len(self._shards)
        """Requests sent through each pool whose response is not closed yet."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        in_flight = self.in_flight
        shard = in_flight.index(min(in_flight))
        in_flight[shard] += 1
        try:
            response = await self._shards[shard].handle_async_request(request)
        except BaseException:
            in_flight[shard] -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _CountedStream(response.stream, in_flight, shard)
        return response

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()
