"""`MaviClient` and `AsyncMaviClient`: two small drivers for the operations of `_flow`.

The operations become methods of both clients once, in `_ClientBase`; each client only performs
the effects they yield (`_iterate`). Transport exceptions become `MaviError`s in one place,
`transport_error`.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from concurrent.futures import CancelledError as FutureCancelledError
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import lru_cache
from types import MethodType
from typing import (
    Any,
    Concatenate,
    Final,
    Generic,
    ParamSpec,
    Self,
    TypeVar,
    overload,
)

import httpx

from ._auth import MaviTokenAuth, RefreshAbandoned
from ._bulk import Batch, BulkAnswer
from ._constants import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    MAX_CONNECTIONS,
    MAX_KEEPALIVE_CONNECTIONS,
)
from ._exceptions import (
    MaviConnectionError,
    MaviError,
    MaviStreamError,
    MaviTimeoutError,
    MaviValidationError,
)
from ._flow import (
    Acquire,
    Close,
    Effect,
    Flow,
    Items,
    Operations,
    Pump,
    Result,
    Send,
    Sleep,
    Streaming,
    VlmStreaming,
    Wait,
    returning,
)
from ._models import ChatDelta, Thinking, VideoRef
from ._options import keyword_names, strict_options
from ._progress import CountingReader
from ._quota import AUTO, RateLimitOption, resolve_rate_limit
from ._secret import SecretLike
from ._settings import MaviSettings, ensure, is_loopback
from ._stream import StreamProgress
from ._transport import (
    LoopPools,
    aclose_responses,
    bounded_by_deadline,
    close_outside_collection,
    close_responses,
    sending_within,
    shared_ssl_context,
)
from ._vlm import VlmReply

__all__ = ["AsyncChatStream", "AsyncMaviClient", "ChatStream", "MaviClient", "transport_error"]

logger = logging.getLogger("mavi_core")

_T = TypeVar("_T")
_P = ParamSpec("_P")
_F = TypeVar("_F", bound=Callable[..., Any])
_Sync = TypeVar("_Sync")
_Async = TypeVar("_Async")
_Started = TypeVar("_Started", bound=Streaming)
_Http = TypeVar("_Http", httpx.Client, httpx.AsyncClient)


def _refused(exc: BaseException) -> bool:
    """Whether the connection was refused: the async transport says only "All connection
    attempts failed", with the `ConnectionRefusedError` further down its chain."""
    for _ in range(8):
        if isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower():
            return True
        if (cause := exc.__cause__ or exc.__context__) is None:
            return False
        exc = cause
    return False


def connect_error_message(exc: httpx.ConnectError) -> str:
    """Where the connection failed (`host:port`) and what to do next: a refused connection on
    this machine is most often the local emulator not running."""
    try:
        url = exc.request.url
    except RuntimeError:  # raised without a request: nothing to name
        return f"Could not connect to MAVI ({exc}). Check base_url and the network."
    port = url.port or (443 if url.scheme == "https" else 80)
    where = f"[{url.host}]:{port}" if ":" in url.host else f"{url.host}:{port}"
    if is_loopback(url.host) and _refused(exc):
        return (
            f"Could not connect to MAVI at {where} ({exc}): nothing is listening there. Start "
            f"the local emulator (`make emulator`, or `python -m mavi_core.emulator --port "
            f"{port}`), or set base_url to the service."
        )
    return f"Could not connect to MAVI at {where} ({exc}). Check base_url and the network."


def transport_error(exc: Exception) -> MaviError:
    """The one place where a transport exception becomes a `MaviError`."""
    if isinstance(exc, MaviError):
        return exc
    if isinstance(exc, httpx.TimeoutException | FutureTimeoutError | TimeoutError):
        kind = type(exc).__name__.replace("Timeout", " timeout").lower().strip()
        error: MaviError = MaviTimeoutError(
            f"MAVI did not answer in time ({kind}). Try again, or raise `timeout` if the "
            "service is slow."
        )
    elif isinstance(exc, httpx.ConnectError):
        error = MaviConnectionError(connect_error_message(exc))
    elif isinstance(exc, httpx.HTTPError | httpx.InvalidURL | httpx.StreamError):
        error = MaviConnectionError(
            f"The connection to MAVI broke ({type(exc).__name__}: {exc}). Try again."
        )
    else:
        raise exc
    error.__cause__ = exc
    return error


def check_http_client(http_client: object, *, asynchronous: bool) -> None:
    """`http_client` is None or the httpx client the client of that kind drives."""
    kinds = [(httpx.Client, "MaviClient"), (httpx.AsyncClient, "AsyncMaviClient")]
    (expected, ours), (other, theirs) = kinds[::-1] if asynchronous else kinds
    advice = f"pass an httpx.{expected.__name__} or leave http_client out"
    if isinstance(http_client, other):
        advice += f", or give this httpx.{other.__name__} to {theirs}"
    must = f"http_client of {ours} must be an httpx.{expected.__name__}"
    ensure(http_client is None or isinstance(http_client, expected), http_client, must, advice)


@lru_cache(maxsize=64)
def _parsed_url(url: str) -> httpx.URL:
    """`url` parsed once: httpx parses a string URL on every request (about a fifth of what
    building one costs); a client asks the same few endpoints again and again."""
    return httpx.URL(url)


@dataclass(slots=True)
class _Run(Iterator[Any]):
    """One flow run by a driver, as the iterator of what it yields: the flow is sent what the
    last effect gave (or has its error thrown in), and errors leave it with the credentials
    masked."""

    flow: Flow[Any]
    redact: Callable[[MaviError], object]
    opened: list[httpx.Response] = field(default_factory=list)
    sent: Any = None

    def __next__(self) -> Any:
        sent, self.sent = self.sent, None
        try:
            flow = self.flow
            return flow.throw(sent) if isinstance(sent, BaseException) else flow.send(sent)
        except MaviError as failed:
            self.redact(failed)
            raise

    def close(self) -> list[httpx.Response]:
        """Close the flow; the responses it opened, for the driver to close."""
        self.flow.close()
        return self.opened


class _Stream:
    """What both stream classes hold: the driver's generator, and how much it handed out."""

    __slots__ = ("_deltas", "_progress")

    def __init__(self, deltas: Any, streaming: Streaming) -> None:
        # The driver's generator never refers back to this object, so dropping it frees both.
        self._deltas = deltas
        self._progress = streaming.progress

    @property
    def delivered(self) -> int:
        """How many characters of the answer were handed out so far."""
        return self._progress.delivered

    @property
    def session_id(self) -> str | None:
        """v1.2: the service's session, once an event named it; send it back to continue."""
        return self._progress.session_id

    @property
    def refs(self) -> tuple[VideoRef, ...]:
        """v1.2: the moments the answer rests on, as far as they arrived."""
        return tuple(self._progress.refs)

    @property
    def thinking(self) -> tuple[Thinking, ...]:
        """v1.2: the reasoning steps that arrived so far."""
        return tuple(self._progress.thinking)


class ChatStream(_Stream, Iterator[ChatDelta]):
    """The deltas of one streamed answer; closing it (or leaving a `with` block) closes the reply.

    The request is sent when iteration starts. Failures before the first delta are retried;
    after it, a failure raises `MaviStreamError` and nothing delivered is repeated. A stream
    dropped without closing (`break` out of a `for` loop) closes its reply at once.
    """

    __slots__ = ()
    _deltas: Generator[ChatDelta, None, None]

    def __next__(self) -> ChatDelta:
        return next(self._deltas)

    def close(self) -> None:
        self._deltas.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncChatStream(_Stream, AsyncIterator[ChatDelta]):
    """The async form of `ChatStream`: `async for`, `aclose()`, `async with`."""

    __slots__ = ()
    _deltas: AsyncGenerator[ChatDelta, None]

    def __anext__(self) -> Awaitable[ChatDelta]:
        if self._deltas.ag_frame is None and not self._progress.ended:  # type: ignore[attr-defined]
            # Closed before its end, not by the caller: the event loop it was started on ended
            # (asyncio closes a loop's async generators), so what is left would be lost.
            return _cut_short(self._progress)
        return self._deltas.__anext__()  # no coroutine frame of our own per delta

    async def aclose(self) -> None:
        self._progress.closed = True
        await self._deltas.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _VlmStream(_Stream):
    __slots__ = ("reply",)

    def __init__(self, deltas: Any, streaming: VlmStreaming) -> None:
        super().__init__(deltas, streaming)
        self.reply: VlmReply = streaming.reply


class VlmChatStream(_VlmStream, ChatStream):
    """The text deltas of a video-understanding answer; `reply` gathers the rest (usage, model,
    finish reason, id) as the events tell it, whole once the stream ended."""

    __slots__ = ()


class AsyncVlmChatStream(_VlmStream, AsyncChatStream):
    """The async form of `VlmChatStream`."""

    __slots__ = ()


# The operations as methods of both clients, run by each client's driver to their result
# (`_run`), their items (`_iterate`) or a stream of them.


def _like(op: Callable[..., Any], method: _F, returns: str = "{}") -> _F:
    """`method` under `op`'s name, docstring and signature (`help()`), returning `returns`
    with what `op`'s flow gives (X of `Flow[X]`) in place of `{}`."""
    method.__name__ = method.__qualname__ = op.__name__
    method.__doc__ = op.__doc__
    flow = op.__annotations__["return"]
    returns = returns.format(flow[flow.find("[") + 1 : -1])
    signature = inspect.signature(op).replace(return_annotation=returns)
    method.__signature__ = signature  # type: ignore[attr-defined]
    return method


class _Method(Generic[_Sync, _Async]):
    """An operation as a method: `blocking` in `MaviClient`, `awaiting` in `AsyncMaviClient`
    (the overloads tell mypy which type each client sees)."""

    __slots__ = ("awaiting", "blocking")

    def __init__(self, blocking: Callable[..., Any], awaiting: Callable[..., Any]) -> None:
        self.blocking, self.awaiting = blocking, awaiting

    @overload
    def __get__(self, client: MaviClient, owner: type[Any]) -> _Sync: ...

    @overload
    def __get__(self, client: AsyncMaviClient, owner: type[Any]) -> _Async: ...

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Callable[..., Any]: ...

    def __get__(self, client: object, owner: type[Any]) -> Any:
        function = self.awaiting if owner._asynchronous else self.blocking
        return function if client is None else MethodType(function, client)


def _returning(
    op: Callable[Concatenate[Operations, _P], Flow[_T]],
) -> _Method[Callable[_P, _T], Callable[_P, Coroutine[Any, Any, _T]]]:
    def blocking(client: MaviClient, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        return client._run(op(client._ops, *args, **kwargs))

    async def awaiting(client: AsyncMaviClient, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        return await client._run(op(client._ops, *args, **kwargs))

    return _Method(_like(op, blocking), _like(op, awaiting))


def _handing_out(op: Callable[..., Any], stream: Any, returns: str = "") -> Callable[..., Any]:
    """A method handing out what `op`'s flow yields: the driver's iterator, or `stream` over it."""

    def method(client: Any, /, *args: Any, **kwargs: Any) -> Any:
        started = op(client._ops, *args, **kwargs)
        if stream is None:
            return client._iterate(started)
        return stream(client._iterate(started.flow), started)

    return _like(op, method, returns or stream.__name__)


def _yielding(
    op: Callable[Concatenate[Operations, _P], Items[_T]],
) -> _Method[Callable[_P, Iterator[_T]], Callable[_P, AsyncIterator[_T]]]:
    iterator, async_iterator = "Iterator[{}]", "AsyncIterator[{}]"
    return _Method(_handing_out(op, None, iterator), _handing_out(op, None, async_iterator))


def _streaming(
    op: Callable[Concatenate[Operations, _P], _Started],
    stream: type[_Sync],
    async_stream: type[_Async],
) -> _Method[Callable[_P, _Sync], Callable[_P, _Async]]:
    return _Method(_handing_out(op, stream), _handing_out(op, async_stream))


# The constructor's options that are `MaviSettings.resolve`'s, passed on to it by name.
_SETTINGS_OPTIONS: Final = keyword_names(MaviSettings.resolve) - {"environ"}


@strict_options
class _ClientBase(Generic[_Http]):
    """The settings, the constructor and the methods of both clients; each connects its own
    kind of httpx client and drives the operations its own way."""

    def __init__(
        self,
        api_key: str | SecretLike | None = None,
        *,
        base_url: str | None = None,
        auth: MaviTokenAuth | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: _Http | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        api_version: str | None = None,
        settings: MaviSettings | None = None,
        rate_limit: RateLimitOption = AUTO,
    ) -> None:
        must = "settings must be a MaviSettings (from MaviSettings.resolve(...)) or None"
        ensure(settings is None or isinstance(settings, MaviSettings), settings, must)
        check_http_client(http_client, asynchronous=self._asynchronous)
        options = {name: value for name, value in locals().items() if name in _SETTINGS_OPTIONS}
        self.settings = settings or MaviSettings.resolve(**options)
        self._ops = Operations(
            self.settings, rate_limit=resolve_rate_limit(rate_limit, self.settings.base_url)
        )
        # What an httpx client built here sends on every request by itself.
        self._client_headers = {} if http_client else self.settings.headers(authenticate=False)
        self._owns_http = http_client is None  # an injected client is its owner's to close
        self._connect(http_client)

    _asynchronous = False
    """Which httpx client this client drives: `httpx.AsyncClient` when True."""

    def _connect(self, http_client: _Http | None) -> None:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def auth(self) -> MaviTokenAuth | None:
        return self.settings.auth

    @property
    def timeout(self) -> httpx.Timeout:
        return self.settings.timeout

    @property
    def max_retries(self) -> int:
        return self.settings.max_retries

    @property
    def api_version(self) -> str:
        """The chat dialect this client speaks: "v1.0" or "v1.2"."""
        return self.settings.api_version

    chat = _returning(Operations.chat)
    stream_chat = _streaming(Operations.stream_chat, ChatStream, AsyncChatStream)
    vlm_chat = _returning(Operations.vlm_chat)
    stream_vlm_chat = _streaming(Operations.stream_vlm_chat, VlmChatStream, AsyncVlmChatStream)
    exchange_code = _returning(Operations.exchange_code)
    search_videos = _returning(Operations.search_videos)
    search_moments = _returning(Operations.search_moments)
    find_moments = _returning(Operations.find_moments)
    list_videos = _yielding(Operations.list_videos)
    list_sessions = _yielding(Operations.list_sessions)
    get_session_detail = _returning(Operations.get_session_detail)
    upload_video = _returning(Operations.upload_video)
    wait_until_parsed = _returning(Operations.wait_until_parsed)
    delete_videos = _returning(Operations.delete_videos)
    transcribe = _returning(Operations.transcribe)
    get_transcripts = _returning(Operations.get_transcripts)

    def __repr__(self) -> str:
        credential = "token" if self.auth else ("api_key" if self.settings.api_key else None)
        return f"{type(self).__name__}(base_url={self.base_url!r}, credentials={credential!r})"

    def _request(
        self, http: httpx.Client | httpx.AsyncClient, send: Send, stack: ExitStack
    ) -> httpx.Request:
        """The request `send` describes (an upload's file open for this attempt only: `stack`),
        without the headers the httpx client adds itself: merging them costs the most."""
        call = send.call
        headers = send.headers
        if client_headers := self._client_headers:
            headers = {k: v for k, v in headers.items() if client_headers.get(k) != v}
        files = None
        if call.upload is not None:
            handle: Any = stack.enter_context(call.upload.path.open("rb"))
            if call.on_sent is not None:
                handle = CountingReader(handle, call.on_sent)
            files = {"file": (call.upload.path.name, handle, call.upload.mime)}
        return http.build_request(
            call.method,
            _parsed_url(send.url),
            json=call.json,
            data=call.form,
            params=call.params,
            files=files,
            headers=headers,
            timeout=send.timeout,
        )

    def _sending(self, send: Send, closed: bool) -> None:
        """Log `send`; on a `closed` client, a MaviError before anything is sent (httpx's is a
        bare RuntimeError)."""
        if closed:
            name, asynchronous = type(self).__name__, self._asynchronous
            if not self._owns_http:
                http_kind = "httpx.AsyncClient" if asynchronous else "httpx.Client"
                raise MaviValidationError(
                    f"The http_client given to this {name} is closed, so nothing was sent: pass "
                    f"an open {http_kind}."
                )
            close, block = ("aclose()", "async with") if asynchronous else ("close()", "with")
            raise MaviValidationError(
                f"This {name} is closed ({close} or the end of its `{block}` block), so nothing "
                f"was sent: create a new {name}, or ask inside the block."
            )
        logger.debug("MAVI request: %s %s", send.call.method, send.url)


class MaviClient(_ClientBase[httpx.Client]):
    """Synchronous client for the MAVI video chat API (docs/client.md).

    >>> with MaviClient(api_key="sk-...") as client:  # doctest: +SKIP
    ...     print(client.chat(video_nos=["VI..."], message="What happens?").text)
    """

    def _connect(self, http_client: httpx.Client | None) -> None:
        self._http = http_client or bounded_by_deadline(
            httpx.Client(
                timeout=self.timeout,
                headers=self._client_headers,
                limits=httpx.Limits(
                    max_connections=MAX_CONNECTIONS,
                    max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS,
                ),
                verify=shared_ssl_context(),
            )
        )
        self._sleep: Callable[[float], None] = time.sleep

    def ask_many(
        self,
        questions: str | Sequence[str],
        video_nos: Sequence[str],
        *,
        checkpoint: str | os.PathLike[str] | None = None,
        progress: bool | None = None,
        concurrency: int = 4,
    ) -> list[BulkAnswer]:
        """Ask one question of each video in `video_nos` (or each of many questions of all of
        them), `concurrency` chats at a time, each waiting its turn in the key's budget; a
        `BulkAnswer` per question, in order (docs/rate-limits-and-bulk.md#bulk-questions).
        `checkpoint`: a JSONL file of the answers, to resume; `progress`: a bar on stderr."""
        return Batch(
            questions, video_nos, checkpoint=checkpoint, progress=progress, concurrency=concurrency
        ).run(self.chat)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __del__(self) -> None:
        # Dropped without close(): its connections are closed now, as openai's client does, not
        # left to a ResourceWarning at exit (docs/ARCHITECTURE.md, "Flows and drivers").
        http = self.__dict__.get("_http")
        if http is None or not self.__dict__.get("_owns_http") or http.is_closed:
            return
        with contextlib.suppress(Exception):  # at interpreter exit, modules may be gone already
            close_outside_collection(http.close)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # The driver: the only blocking I/O of the client.

    def _run(self, flow: Flow[_T]) -> _T:
        with contextlib.closing(self._iterate(returning(flow))) as items:
            result: Result = next(items)
        return result.value  # type: ignore[no-any-return]

    def _iterate(self, flow: Flow[Any]) -> Generator[Any, None, None]:
        """Performs the effects `flow` yields and hands out everything else it yields."""
        run = _Run(flow, self.settings.redact)
        try:
            for item in run:
                try:
                    if type(item) is Pump:
                        reader, step, chunks = item.reader, item.reader.step, _chunks(item.response)
                        while not reader.ended:
                            yield from step(next(chunks, None))
                    elif isinstance(item, Effect):
                        run.sent = self._perform(item, run.opened)
                    else:
                        yield item
                except Exception as exc:
                    run.sent = transport_error(exc)
        finally:
            close_responses(run.close())

    def _perform(self, effect: Effect, opened: list[httpx.Response]) -> Any:
        if isinstance(effect, Send):
            self._sending(effect, self._http.is_closed)
            with ExitStack() as stack, sending_within(effect.within):
                request = self._request(self._http, effect, stack)
                response = self._http.send(request, stream=True)
            opened.append(response)
            return response
        if isinstance(effect, Close):
            return close_responses([effect.response])
        if isinstance(effect, Sleep):
            return self._sleep(effect.seconds)
        if isinstance(effect, Acquire):
            return effect.limit.acquire(effect.endpoint, **effect.options, sleep=self._sleep)
        assert isinstance(effect, Wait)
        try:
            return effect.future.result(effect.timeout)
        except FutureCancelledError:
            raise RefreshAbandoned from None


class AsyncMaviClient(_ClientBase[httpx.AsyncClient]):
    """Asynchronous client for the MAVI video chat API; the same names as `MaviClient`.

    >>> async with AsyncMaviClient(api_key="sk-...") as client:  # doctest: +SKIP
    ...     async for delta in client.stream_chat(video_nos=["VI..."], message="What happens?"):
    ...         print(delta.text, end="")
    """

    _asynchronous = True

    def _connect(self, http_client: httpx.AsyncClient | None) -> None:
        self._pools = LoopPools(self.timeout, self._client_headers, http_client)
        import asyncio

        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def ask_many(
        self,
        questions: str | Sequence[str],
        video_nos: Sequence[str],
        *,
        checkpoint: str | os.PathLike[str] | None = None,
        progress: bool | None = None,
        concurrency: int = 4,
    ) -> list[BulkAnswer]:
        """`MaviClient.ask_many`, as a coroutine: `concurrency` chats in flight at a time."""
        return await Batch(
            questions, video_nos, checkpoint=checkpoint, progress=progress, concurrency=concurrency
        ).arun(self.chat)

    @property
    def _http(self) -> httpx.AsyncClient:
        return self._pools.current()

    async def aclose(self) -> None:
        """Close every connection pool the client opened, each on its own event loop
        (docs/client.md#connections); an injected `http_client` stays open: it is yours."""
        await self._pools.aclose()

    async def close(self) -> None:
        """Alias of `aclose()`."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # The driver: the only awaiting I/O of the client.

    async def _run(self, flow: Flow[_T]) -> _T:
        async with contextlib.aclosing(self._iterate(returning(flow))) as items:
            result: Result = await anext(items)
        return result.value  # type: ignore[no-any-return]

    async def _iterate(self, flow: Flow[Any]) -> AsyncGenerator[Any, None]:
        """Performs the effects `flow` yields and hands out everything else it yields."""
        run = _Run(flow, self.settings.redact)
        try:
            for item in run:
                try:
                    if type(item) is Pump:
                        reader, step = item.reader, item.reader.step
                        chunks = _async_chunks(item.response)
                        while not reader.ended:
                            for delta in step(await anext(chunks, None)):
                                yield delta
                    elif isinstance(item, Effect):
                        run.sent = await self._perform(item, run.opened)
                    else:
                        yield item
                except Exception as exc:
                    run.sent = transport_error(exc)
        finally:
            await aclose_responses(run.close())

    async def _perform(self, effect: Effect, opened: list[httpx.Response]) -> Any:
        if isinstance(effect, Send):
            # After aclose() a call would open a new pool that nobody closes.
            self._sending(effect, self._pools.closed if self._owns_http else self._http.is_closed)
            import asyncio

            http = self._http
            with ExitStack() as stack:
                request = self._request(http, effect, stack)
                # A reply's head trickled a byte at a time is cut at the deadline.
                async with asyncio.timeout(effect.within):
                    response = await http.send(request, stream=True)
            opened.append(response)
            return response
        if isinstance(effect, Close):
            return await effect.response.aclose()
        if isinstance(effect, Sleep):
            return await self._sleep(effect.seconds)
        if isinstance(effect, Acquire):
            return await effect.limit.aacquire(effect.endpoint, **effect.options, sleep=self._sleep)
        assert isinstance(effect, Wait)
        return await _wait_shared(effect.future, effect.timeout)


async def _cut_short(progress: StreamProgress) -> ChatDelta:
    if progress.closed:
        raise StopAsyncIteration
    raise MaviStreamError(
        f"The stream was closed after {progress.delivered} characters of the answer, before its "
        "end: the event loop it started on has ended (asyncio closes a loop's async generators "
        "when it ends). Read a stream to its end within one event loop."
    )


async def _wait_shared(future: Future[Any], timeout: float | None) -> Any:
    """The result of a future other callers wait for too: a waiter that is cancelled or times
    out stops waiting without cancelling it for the others (`asyncio.wrap_future` would)."""
    import asyncio

    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def done(_: object) -> None:
        if not waiter.done():
            waiter.set_result(None)

    def wake(_: Future[Any]) -> None:
        with contextlib.suppress(RuntimeError):  # that waiter's loop ended: nobody to wake
            loop.call_soon_threadsafe(done, None)

    future.add_done_callback(wake)
    await asyncio.wait_for(asyncio.shield(waiter), timeout)
    if future.cancelled():
        raise RefreshAbandoned
    return future.result()


def _chunks(response: httpx.Response) -> Iterator[bytes]:
    """The raw body; a body read already (a test transport's) whole."""
    return response.iter_bytes() if response.is_stream_consumed else response.iter_raw()


def _async_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    return response.aiter_bytes() if response.is_stream_consumed else response.aiter_raw()
