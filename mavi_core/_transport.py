"""The clients' connections: the async client's pools (docs/client.md#connections), closed
however their user leaves them, and the sync client's reads bounded by the call's deadline."""

from __future__ import annotations

import contextlib
import gc
import logging
import socket
import ssl
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, partial
from typing import TYPE_CHECKING, Any, Final

import httpcore
import httpx

from ._constants import MAX_CONNECTIONS, MAX_KEEPALIVE_CONNECTIONS

if TYPE_CHECKING:
    import asyncio


SHARDS: Final = 16
OTHER_LOOP_CLOSE_WAIT: Final = 5.0

logger = logging.getLogger("mavi_core")

_SEND_ENDS: ContextVar[float | None] = ContextVar("mavi_send_ends", default=None)
"""When the request the calling thread sends must have its reply's head (`time.monotonic()`)."""


@contextmanager
def sending_within(seconds: float | None) -> Iterator[None]:
    """The sync client's reads and writes in this block end within `seconds` (None: unbounded)."""
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
        return _BoundedStream(
            self._stream.start_tls(ssl_context, server_hostname, _within(timeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _BoundedBackend(httpcore.SyncBackend):
    """Opens `_BoundedStream` TCP connections (the client opens no other kind)."""

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, *args: Any, **kwargs: Any
    ) -> httpcore.NetworkStream:
        return _BoundedStream(super().connect_tcp(host, port, _within(timeout), *args, **kwargs))


def bounded_by_deadline(client: httpx.Client) -> httpx.Client:
    """`client`, its transports' connections (proxies' too) bounded by `sending_within`."""
    for transport in [client._transport, *client._mounts.values()]:
        pool = getattr(transport, "_pool", None)
        if isinstance(getattr(pool, "_network_backend", None), httpcore.SyncBackend):
            pool._network_backend = _BoundedBackend()  # type: ignore[union-attr]
    return client


@cache
def shared_ssl_context() -> ssl.SSLContext:
    """One verifying context for every pool: loading the CA bundle costs tens of ms each time."""
    return httpx.create_ssl_context()


class _CountedStream(httpx.AsyncByteStream):
    """A response body that tells its pool when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, in_flight: list[int], shard: int) -> None:
        self._stream = stream
        self._in_flight = in_flight
        self._shard: int | None = shard

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()  # no layer of our own per chunk

    async def aclose(self) -> None:
        if self._shard is not None:
            self._in_flight[self._shard] -= 1
            self._shard = None
        await self._stream.aclose()


class ShardedAsyncTransport(httpx.AsyncBaseTransport):
    """`SHARDS` pools sharing the client's limits, the least loaded (the first on a tie) first:
    one pool is quadratic (encode/httpcore#1035, docs/client.md#connections)."""

    def __init__(self, shards: Sequence[httpx.AsyncBaseTransport] | None = None) -> None:
        limits = httpx.Limits(
            max_connections=MAX_CONNECTIONS // SHARDS,
            max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS // SHARDS,
        )
        shard = partial(httpx.AsyncHTTPTransport, verify=shared_ssl_context(), limits=limits)
        self._shards = list(shards or [shard() for _ in range(SHARDS)])
        self.in_flight = [0] * len(self._shards)
        """Requests sent through each pool whose response is not closed yet."""
        self._sockets: set[Any] = set()
        """The sockets of the connections opened: what `abandon` closes."""

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
        sock = None if stream is None else stream.get_extra_info("socket")
        if sock is not None:
            if len(self._sockets) >= 2 * MAX_CONNECTIONS:  # forget the sockets closed already
                self._sockets = {s for s in self._sockets if s.fileno() != -1}
            self._sockets.add(sock)
        return response

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()

    def abandon(self) -> None:
        """Close every connection's socket, its event loop having ended (never while it runs)."""
        sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close_socket(sock)


def _close_socket(sock: Any) -> None:
    """Close `sock` without its event loop (one whose loop has ended)."""
    raw = getattr(sock, "_sock", sock)  # asyncio lends a TransportSocket without close()
    with contextlib.suppress(OSError, AttributeError):  # closed already, or no socket (None)
        raw.shutdown(socket.SHUT_RDWR)  # OSError too when the peer went away first
    with contextlib.suppress(OSError, AttributeError):
        raw.close()


class LoopPools:
    """The async client's pools, one per event loop (docs/client.md#connections). An injected
    client serves every loop, and stays open."""

    def __init__(
        self,
        timeout: httpx.Timeout,
        headers: Mapping[str, str],
        injected: httpx.AsyncClient | None = None,
    ) -> None:
        self._open = partial(httpx.AsyncClient, timeout=timeout, headers=headers)
        self._injected = injected
        # An ended loop's pool stays until the next loop opens one or `aclose()`: both close it.
        self._pools: dict[
            asyncio.AbstractEventLoop, tuple[httpx.AsyncClient, ShardedAsyncTransport]
        ] = {}
        self._lock = threading.Lock()  # loops in several threads may share the client
        self.closed = False  # by aclose(): no pool is opened again

    def current(self) -> httpx.AsyncClient:
        """The running loop's client, opened on first use."""
        if self._injected is not None:
            return self._injected
        import asyncio  # loaded by the first async request, not by `import mavi_core`

        loop = asyncio.get_running_loop()
        if (pool := self._pools.get(loop)) is not None:
            return pool[0]
        # httpx mounts the environment's proxies only when given no transport: ours replaces
        # its default one after, so a `NO_PROXY` URL goes through ours, a proxied one through its.
        http = self._open(verify=shared_ssl_context())
        http._transport = transport = ShardedAsyncTransport()
        with self._lock:
            gone = [self._pools.pop(old)[1] for old in list(self._pools) if old.is_closed()]
            self._pools[loop] = (http, transport)
        for left in gone:  # `asyncio.run` ended without aclose(): its sockets are open
            left.abandon()
        return http

    async def aclose(self) -> None:
        """Close every pool, each on its own loop, an ended loop's by its sockets."""
        import asyncio

        with self._lock:
            self.closed = True
            mine = self._pools.pop(asyncio.get_running_loop(), None)
            others, self._pools = self._pools, {}
        waiting = []
        for loop, (http, transport) in others.items():
            closing = http.aclose()
            try:  # on its own loop, the only one that can
                future = asyncio.run_coroutine_threadsafe(closing, loop)
            except RuntimeError:  # that loop has ended: its sockets are closed here
                closing.close()
                transport.abandon()
            else:
                if loop.is_running():  # a stopped loop closes it when it runs again
                    waiting.append(asyncio.wrap_future(future))
        if mine is not None:
            await mine[0].aclose()
        if waiting:
            await asyncio.wait(waiting, timeout=OTHER_LOOP_CLOSE_WAIT)


async def aclose_responses(responses: list[httpx.Response]) -> None:
    """Close the responses still open. An interrupted close (`asyncio.run` ending cancels, then
    drops, the task closing a stream its reader abandoned) drops the rest without awaiting."""
    for index, response in enumerate(responses):
        try:  # a closed response closes again at once
            await response.aclose()
        except BaseException:
            for left in responses[index:]:
                _drop(left)
            raise


def _drop(response: httpx.Response) -> None:
    """Close `response`'s connection without awaiting (docs/ARCHITECTURE.md#flows-and-drivers)."""
    stream = response.extensions.get("network_stream")
    closing = getattr(stream, "aclose", lambda: None)()
    if not isinstance(closing, Coroutine):
        return  # not httpcore's network stream: nothing known to close
    try:
        closing.send(None)
    except StopIteration:
        return
    except Exception:  # the loop has ended: its transports can no longer close
        with contextlib.suppress(AttributeError):
            _close_socket(stream.get_extra_info("socket"))  # type: ignore[union-attr]
    finally:
        closing.close()


# A finalizer run by the cyclic garbage collector may interrupt httpcore inside its pool lock;
# closing a response or a client there would wait on that lock forever.
_collecting_thread: int | None = None


def _track_collection(phase: str, info: dict[str, int]) -> None:
    global _collecting_thread
    _collecting_thread = threading.get_ident() if phase == "start" else None


gc.callbacks.append(_track_collection)


def close_outside_collection(close: Callable[[], None]) -> None:
    """Run `close` now, or in another thread when the cyclic collector runs in this one (not at
    interpreter exit: a thread started then never runs, and `start()` hangs)."""
    if _collecting_thread != threading.get_ident():
        close()
    elif not sys.is_finalizing():
        threading.Thread(target=close, daemon=True).start()


def close_responses(responses: list[httpx.Response]) -> None:
    """Close the sync responses still open; a failed close is logged, not raised."""
    if left := [response for response in responses if not response.is_closed]:
        close_outside_collection(partial(_close_logged, left))


def _close_logged(responses: list[httpx.Response]) -> None:
    for response in responses:
        try:
            response.close()
        except Exception:
            logger.debug("MAVI: closing a response failed", exc_info=True)
