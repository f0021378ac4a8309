"""An async transport that spreads requests over several small connection pools.

httpcore's pool rescans every connection for every queued request each time a request starts or
ends, so its cost grows with the square of the concurrency: 200 concurrent calls on one pool spend
most of their time there (encode/httpcore#1035). Several small pools keep each scan short. A
request goes to the pool with the fewest requests in flight (the first one on a tie), so
sequential use stays on one pool and reuses one connection.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any, Final

import httpcore
import httpx

from ._constants import MAX_CONNECTIONS, MAX_KEEPALIVE_CONNECTIONS

__all__ = ["ShardedAsyncTransport", "bounded_by_deadline", "sending_within", "shared_ssl_context"]

SHARDS: Final = 16

logger = logging.getLogger("mavi_core")


_SEND_ENDS: ContextVar[float | None] = ContextVar("mavi_send_ends", default=None)
"""When the request the calling thread sends must have its reply's head (`time.monotonic()`)."""


@contextmanager
def sending_within(seconds: float | None) -> Iterator[None]:
    """Reads and writes of the sync client's connections in this block end within `seconds`
    (None: each as long as its own timeout): a server that trickles a reply's head a byte at a
    time cannot hold a call past its deadline (docs/errors-and-wire.md, "Bounds")."""
    token = _SEND_ENDS.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _SEND_ENDS.reset(token)


def _within(timeout: float | None) -> float | None:
    ends = _SEND_ENDS.get()
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the call's deadline passed while MAVI sent its reply")
    return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the time `sending_within` set."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if _SEND_ENDS.get() is None:  # a body being read (every delta): no bound but its own
            return self._stream.read(max_bytes, timeout)
        return self._stream.read(max_bytes, _within(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, _within(timeout))
        return _BoundedStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    """Opens `_BoundedStream` connections."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _within(timeout), local_address, socket_options
        )
        return _BoundedStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, _within(timeout), socket_options)
        return _BoundedStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def bounded_by_deadline(client: httpx.Client) -> httpx.Client:
    """`client`, the connections of its transports (the proxies' from the environment too)
    bounded by `sending_within` (httpx offers no total timeout; its per-read timeout restarts
    with every byte). A transport of another layout is left as it is."""
    mounts = getattr(client, "_mounts", {})
    for transport in [getattr(client, "_transport", None), *mounts.values()]:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend):
            pool._network_backend = _BoundedBackend(backend)  # type: ignore[union-attr]
    return client


def environment_proxy_mounts() -> dict[str, httpx.AsyncBaseTransport | None]:
    """The async client's mounts for the proxies the environment names (`HTTP_PROXY`,
    `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`), read as httpx reads them for a client without a
    transport of its own: httpx ignores them once a transport is given, and the async client
    gives its sharded one. A proxied URL goes through httpx's own transport to that proxy; a
    `NO_PROXY` host (a None mount) through the sharded pools."""
    from httpx._utils import get_environment_proxies  # the environment as httpx reads it

    return {
        pattern: None
        if url is None
        else httpx.AsyncHTTPTransport(proxy=url, verify=shared_ssl_context())
        for pattern, url in get_environment_proxies().items()
    }


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
        self._sockets: dict[int, Any] = {}
        """The sockets of the connections opened, by id: what `abandon` closes."""

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
        stream = response.extensions.get("network_stream")
        if stream is not None:
            self._remember(stream.get_extra_info("socket"))
        return response

    def _remember(self, sock: Any) -> None:
        if sock is None or id(sock) in self._sockets:
            return
        if len(self._sockets) >= 2 * MAX_CONNECTIONS:  # forget the sockets closed already
            self._sockets = {key: s for key, s in self._sockets.items() if s.fileno() != -1}
        self._sockets[id(sock)] = sock

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()

    def abandon(self) -> int:
        """Close the sockets of every connection opened, without the event loop they belong
        to: for pools whose loop has ended (a closed loop can no longer close its transports,
        so their connections would stay open until the garbage collector finds them). Returns
        how many were open. Never use it on a pool whose loop still runs."""
        sockets, self._sockets = list(self._sockets.values()), {}
        closed = 0
        for sock in sockets:
            raw = getattr(sock, "_sock", sock)  # asyncio lends a TransportSocket without close()
            if raw.fileno() == -1:
                continue
            with contextlib.suppress(OSError):  # the peer went away first
                raw.shutdown(socket.SHUT_RDWR)
            try:
                raw.close()
                closed += 1
            except OSError:
                logger.debug("MAVI: closing a connection of an ended loop failed", exc_info=True)
        return closed
