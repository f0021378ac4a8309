"""`MaviClient` and `AsyncMaviClient`: two small drivers for the operations of `_flow`.

Every operation is written once in `_flow.Operations`; a client only performs the effects an
operation yields (send, read a chunk, close, sleep, wait) and hands out the rest. The two
drivers, `_iterate` here and in the async client, are the only code that differs between the
worlds. Transport exceptions become `MaviError`s in one place, `transport_error`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from concurrent.futures import CancelledError as FutureCancelledError
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from contextlib import ExitStack
from datetime import datetime
from functools import lru_cache
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, Self, TypeVar

import httpx

from ._auth import MaviTokenAuth, MaviTokens, RefreshAbandoned
from ._bulk import Batch, BulkAnswer, questions_of
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
    Chunks,
    Close,
    Effect,
    Flow,
    Next,
    Operations,
    Pump,
    Result,
    Send,
    Sleep,
    StreamProgress,
    Wait,
    returning,
)
from ._models import ChatAnswer, ChatDelta, ChatSession, SessionDetail, Thinking, VideoRef
from ._options import strict_options
from ._progress import CountingReader, ProgressCallback
from ._quota import AUTO, RateLimitOption, resolve_rate_limit
from ._request import HistoryInput
from ._secret import SecretLike, given
from ._settings import MaviSettings, check_http_client
from ._transcripts import KINDS, TranscriptCache, TranscriptJob, VideoTranscript
from ._transport import (
    LoopPools,
    aclose_responses,
    bounded_by_deadline,
    close_outside_collection,
    close_responses,
    sending_within,
    shared_ssl_context,
)
from ._videos import MAX_PAGE_SIZE, Moment, SearchType, Transcript, Video
from ._vlm import NO_OPTIONS, VlmMessage, VlmOptions, VlmReply, build_vlm_body

if TYPE_CHECKING:
    import asyncio

__all__ = ["AsyncChatStream", "AsyncMaviClient", "ChatStream", "MaviClient", "transport_error"]

logger = logging.getLogger("mavi_core")

_T = TypeVar("_T")
_Http = TypeVar("_Http", httpx.Client, httpx.AsyncClient)

_LIMITS: Final = httpx.Limits(
    max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS
)


_LOCAL_HOSTS: Final = frozenset({"localhost", "::1"})


def _refused(exc: BaseException) -> bool:
    """Whether the connection was refused: the async transport says only "All connection
    attempts failed", with the `ConnectionRefusedError` further down its chain."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
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
    local = url.host in _LOCAL_HOSTS or url.host.startswith("127.")
    if local and _refused(exc):
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


@lru_cache(maxsize=64)
def _parsed_url(url: str) -> httpx.URL:
    """`url` parsed once: httpx parses a string URL on every request (about a fifth of what
    building one costs); a client asks the same few endpoints again and again."""
    return httpx.URL(url)


def _request(
    http: httpx.Client | httpx.AsyncClient,
    send: Send,
    stack: ExitStack,
    client_headers: Mapping[str, str],
) -> httpx.Request:
    """The request `send` describes; an upload's file is opened for this attempt only and
    closed by `stack` once it is sent. Headers the httpx client already adds with the same
    value (`client_headers`, those of a client built here) are left to it: httpx merges each
    request's headers into its own one by one, and that is most of what building one costs."""
    call = send.call
    headers = send.headers
    if client_headers:
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


@strict_options
class _ClientBase(Generic[_Http]):
    """What both clients hold: the settings and the operations over them (no I/O). The one
    constructor of both; each client only connects its own kind of httpx client."""

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
        if settings is not None and not isinstance(settings, MaviSettings):
            raise MaviValidationError(
                f"settings must be a MaviSettings (from MaviSettings.resolve(...)) or None, got "
                f"{given(settings)}."
            )
        check_http_client(http_client, asynchronous=self._asynchronous)
        self.settings = settings or MaviSettings.resolve(
            api_key,
            base_url=base_url,
            auth=auth,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            deadline=deadline,
            max_response_bytes=max_response_bytes,
            max_event_bytes=max_event_bytes,
            api_version=api_version,
        )
        self._ops = Operations(
            self.settings, rate_limit=resolve_rate_limit(rate_limit, self.settings.base_url)
        )
        # What an httpx client built here sends on every request by itself.
        self._client_headers = {} if http_client else self.settings.headers(authenticate=False)
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

    def _transcript_job(
        self,
        video_nos: list[str] | None,
        kinds: str | Sequence[str],
        videos: Iterable[Video],
        cache_dir: str | os.PathLike[str] | None,
        refresh: bool,
        unique_id: str | None = None,
    ) -> TranscriptJob:
        return TranscriptJob(
            self.base_url,
            video_nos,
            kinds,
            videos,
            TranscriptCache.shared(),
            cache_dir,
            refresh,
            account=self.settings.fingerprint(),
            unique_id=self._ops.scope(unique_id),
        )

    def __repr__(self) -> str:
        credential = "token" if self.auth else ("api_key" if self.settings.api_key else None)
        return f"{type(self).__name__}(base_url={self.base_url!r}, credentials={credential!r})"


class _Stream:
    """What both stream classes hold: the driver's generator, and how much it handed out."""

    __slots__ = ("_deltas", "_progress")

    def __init__(self, deltas: Any, progress: StreamProgress) -> None:
        # The driver's generator never refers back to this object, so dropping it frees both.
        self._deltas = deltas
        self._progress = progress

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

    def __iter__(self) -> Self:
        return self

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

    def __aiter__(self) -> Self:
        return self

    async def aclose(self) -> None:
        self._progress.closed = True
        await self._deltas.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class VlmChatStream(ChatStream):
    """The text deltas of a video-understanding answer; `reply` gathers the rest (usage, model,
    finish reason, id) as the events tell it, whole once the stream ended."""

    __slots__ = ("reply",)

    def __init__(self, deltas: Any, progress: StreamProgress, reply: VlmReply) -> None:
        super().__init__(deltas, progress)
        self.reply = reply


class AsyncVlmChatStream(AsyncChatStream):
    """The async form of `VlmChatStream`."""

    __slots__ = ("reply",)

    def __init__(self, deltas: Any, progress: StreamProgress, reply: VlmReply) -> None:
        super().__init__(deltas, progress)
        self.reply = reply


class MaviClient(_ClientBase[httpx.Client]):
    """Synchronous client for the MAVI video chat API.

    >>> with MaviClient(api_key="sk-...") as client:  # doctest: +SKIP
    ...     print(client.chat(video_nos=["VI..."], message="What happens?").text)
    """

    def _connect(self, http_client: httpx.Client | None) -> None:
        self._owns_http = http_client is None
        self._http = http_client or bounded_by_deadline(
            httpx.Client(
                timeout=self.timeout,
                headers=self._client_headers,
                limits=_LIMITS,
                verify=shared_ssl_context(),
            )
        )
        self._sleep: Callable[[float], None] = time.sleep

    def chat(
        self,
        video_nos: list[str],
        message: str,
        history: HistoryInput = None,
        *,
        session_id: str | int | None = None,
        unique_id: str | None = None,
    ) -> ChatAnswer:
        """Ask about the videos and return the whole answer. With v1.2, `session_id` continues
        a conversation the service holds (the answer's own `session_id`)."""
        return self._run(self._ops.ask(video_nos, message, history, session_id, unique_id))

    def stream_chat(
        self,
        video_nos: list[str],
        message: str,
        history: HistoryInput = None,
        *,
        session_id: str | int | None = None,
        unique_id: str | None = None,
    ) -> ChatStream:
        """Ask about the videos and iterate over the answer's deltas."""
        progress = StreamProgress()
        flow = self._ops.stream(video_nos, message, history, progress, session_id, unique_id)
        return ChatStream(self._iterate(flow), progress)

    def vlm_chat(
        self, model: str, messages: Sequence[VlmMessage], options: VlmOptions = NO_OPTIONS
    ) -> VlmReply:
        """Ask a video-understanding model (`model` with its provider prefix, e.g.
        "gemini:gemini-2.5-flash") about videos given by URL; the whole answer."""
        return self._run(self._ops.vlm_complete(build_vlm_body(model, messages, options)))

    def stream_vlm_chat(
        self, model: str, messages: Sequence[VlmMessage], options: VlmOptions = NO_OPTIONS
    ) -> VlmChatStream:
        """`vlm_chat`, streamed: iterate over the answer's deltas."""
        body = build_vlm_body(model, messages, options, stream=True)
        progress, reply = StreamProgress(), VlmReply()
        return VlmChatStream(
            self._iterate(self._ops.vlm_stream(body, progress, reply)), progress, reply
        )

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
        them), `concurrency` chats at a time, each waiting its turn in the key's budget.

        Returns a `BulkAnswer` per question, in order: `.text`, or `.error` for one that
        failed (the others go on). `checkpoint`: a JSONL file that gets every answer as it
        arrives; run again with it after an interruption and only the rest are asked.
        `progress`: a bar on stderr (default: only when stderr is a terminal)."""
        batch = Batch(
            questions_of(questions, video_nos),
            checkpoint=checkpoint,
            progress=progress,
            concurrency=concurrency,
        )

        def ask(index: int) -> None:
            video_nos, message = batch.job(index)
            try:
                batch.record(index, self.chat(video_nos, message).text, None)
            except MaviError as error:
                batch.record(index, None, error)

        pool = ThreadPoolExecutor(batch.concurrency, thread_name_prefix="mavi-ask-many")
        try:
            list(pool.map(ask, batch.pending()))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C: nothing more is asked
            batch.close()
        return batch.finish()

    def exchange_code(
        self, client_id: str, code: str, *, on_refresh: Callable[[MaviTokens], Any] | None = None
    ) -> MaviTokenAuth:
        """Trade the `code` sent to your callback URL for tokens (getAccessToken; not retried,
        since a code is single-use). Returns credentials to pass as `auth=`."""
        tokens = self._run(self._ops.exchange_code(client_id, code))
        return MaviTokenAuth.from_tokens(tokens, on_refresh)

    def search_videos(
        self, query: str, *, unique_id: str | None = None, search_type: SearchType = "BY_CLIP"
    ) -> list[Video]:
        """Whole videos matching `query` (searchAI; unranked. v1.2: the videos of the clips its
        search finds, in the order of their best clip). `unique_id` (v1.2 only): the end
        user whose library it is (docs/v1.2.md); None: the service's "default".
        `search_type` as for `find_moments`."""
        return self._run(self._ops.search_videos(query, unique_id, search_type))

    def search_moments(
        self,
        query: str,
        video_nos: list[str],
        *,
        unique_id: str | None = None,
        search_type: SearchType = "BY_CLIP",
    ) -> list[Moment]:
        """Moments of `video_nos` matching `query` (searchVideoFragment; v1.2: search, scored,
        the videos sent as for `find_moments`), start/end in seconds; `unique_id` and
        `search_type` as for `find_moments`."""
        return self._run(self._ops.search_moments(query, video_nos, unique_id, search_type))

    def find_moments(
        self,
        query: str,
        video_nos: list[str] | None = None,
        *,
        limit: int | None = None,
        unique_id: str | None = None,
        search_type: SearchType = "BY_CLIP",
    ) -> list[Moment]:
        """The moments that match `query`, best first, at most `limit`: within `video_nos`, or
        else within the videos that searchAI finds for it. What both frameworks' retrievers
        return. v1.2: one search sending `video_nos` (100 a request; more are merged by score)
        and `limit` as `top_k` (at most 1000; 200 for BY_CAPTION); `search_type` BY_CLIP (the
        default: what is seen), BY_AUDIO (what is said: `Moment.text`), BY_VIDEO, BY_IMAGE or
        BY_CAPTION, v1.2 only. `unique_id` as for `search_videos`."""
        flow = self._ops.find_moments(query, video_nos, limit, unique_id, search_type)
        return self._run(flow)

    def list_videos(
        self,
        *,
        status: str | None = None,
        name: str | None = None,
        start_time: datetime | float | None = None,
        end_time: datetime | float | None = None,
        page_size: int = MAX_PAGE_SIZE,
        unique_id: str | None = None,
    ) -> Iterator[Video]:
        """Every video of the library matching the filters (searchDB, all pages; v1.2:
        list_videos, with the time filters applied here). `unique_id` as for `search_videos`."""
        flow = self._ops.list_videos(status, name, start_time, end_time, page_size, unique_id)
        return self._iterate(flow)

    def list_sessions(self, *, unique_id: str | None = None) -> Iterator[ChatSession]:
        """Every chat session of the key, all pages (v1.2 only: `MaviValidationError` with
        v1.0); `unique_id`: the namespace the chats named ("default" when they named none)."""
        return self._iterate(self._ops.list_sessions(unique_id))

    def get_session_detail(self, session_id: str | int) -> SessionDetail:
        """A v1.2 chat session restored: its title and its messages in order (user and
        assistant; an assistant message with its thinking and refs, as `chat()` returned
        them), to show a conversation again or continue it with `chat(session_id=...)`.
        v1.2 only (`MaviValidationError` with v1.0); an unknown session is a
        `MaviInvalidRequestError`."""
        return self._run(self._ops.session_detail(session_id))

    def upload_video(
        self,
        source: str | os.PathLike[str],
        *,
        callback_uri: str | None = None,
        progress: bool | None = None,
        on_progress: ProgressCallback | None = None,
        unique_id: str | None = None,
    ) -> Video:
        """Upload a local file, or a video at an http(s) URL; it starts UNPARSE.

        `progress`: a tqdm bar (default: when stderr is a terminal or in a notebook);
        `on_progress(sent, total)`: your own report of the bytes sent, instead of the bar;
        `unique_id` as for `search_videos`."""
        flow = self._ops.upload_video(source, callback_uri, progress, on_progress, unique_id)
        return self._run(flow)

    def wait_until_parsed(
        self,
        video_nos: list[str],
        timeout: float = 600.0,
        *,
        poll_interval: float = 2.0,
        progress: bool | None = None,
        unique_id: str | None = None,
    ) -> list[Video]:
        """Poll until every video is PARSE; raises `MaviVideoError` if one failed, and
        `MaviTimeoutError` after `timeout` seconds. `unique_id` as for `search_videos`."""
        flow = self._ops.wait_until_parsed(video_nos, timeout, poll_interval, progress, unique_id)
        return self._run(flow)

    def delete_videos(self, video_nos: list[str], *, unique_id: str | None = None) -> None:
        """Delete videos, 500 per request (v1.2: 100); deleting one twice raises
        `MaviConflictError`. `unique_id` as for `search_videos`."""
        self._run(self._ops.delete_videos(video_nos, unique_id))

    def transcribe(
        self,
        video_no: str,
        kind: Literal["AUDIO", "VIDEO"] = "AUDIO",
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        callback_uri: str | None = None,
        unique_id: str | None = None,
    ) -> Transcript:
        """Submit a transcription (AUDIO: speech, VIDEO: what is seen) and wait for it (v1.2: no
        task; the transcript is read at once, and `callback_uri` is refused). Times in seconds
        (`Transcript.unit`: the reply's unit). `unique_id` as for `search_videos`."""
        flow = self._ops.transcribe(video_no, kind, timeout, poll_interval, callback_uri, unique_id)
        return self._run(flow)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __del__(self) -> None:
        # Dropped without close(): its pooled connections are closed now, as openai's client
        # does, not left to a ResourceWarning at exit. In a cyclic collection httpcore's pool
        # lock may be held by this very thread, so the close then runs in another (see
        # docs/ARCHITECTURE.md, "Flows and drivers").
        http = self.__dict__.get("_http")
        if http is None or not self.__dict__.get("_owns_http") or http.is_closed:
            return
        with contextlib.suppress(Exception):  # at interpreter exit, modules may be gone already
            close_outside_collection(http.close)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # The driver: the only blocking I/O of the client.

    def _run(self, flow: Flow[_T]) -> _T:
        items = self._iterate(returning(flow))
        try:
            result = next(items)
        finally:
            items.close()
        assert isinstance(result, Result)
        return result.value  # type: ignore[no-any-return]

    def _iterate(self, flow: Flow[Any]) -> Generator[Any, None, None]:
        """Performs the effects `flow` yields and hands out everything else it yields."""
        opened: list[httpx.Response] = []
        value: Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    item = flow.send(value) if error is None else flow.throw(error)
                except StopIteration:
                    return
                value = error = None
                if not isinstance(item, Effect):
                    yield item
                    continue
                try:
                    if type(item) is Pump:
                        step, chunks = item.step, item.chunks
                        while not item.ended:
                            yield from step(next(chunks, None))
                    elif type(item) is Next:
                        value = next(item.chunks, None)
                    else:
                        value = self._perform(item, opened)
                except Exception as exc:
                    error = transport_error(exc)
        finally:
            flow.close()
            close_responses(opened)

    def _perform(self, effect: Effect, opened: list[httpx.Response]) -> Any:
        if isinstance(effect, Send):
            if self._http.is_closed:  # httpx's bare RuntimeError is no MaviError
                raise MaviValidationError(
                    "This MaviClient is closed (close() or the end of its `with` block), so "
                    "nothing was sent: create a new MaviClient, or ask inside the block."
                    if self._owns_http
                    else "The http_client given to this MaviClient is closed, so nothing was "
                    "sent: pass an open httpx.Client."
                )
            logger.debug("MAVI request: %s %s", effect.call.method, effect.url)
            with ExitStack() as stack, sending_within(effect.within):
                request = _request(self._http, effect, stack, self._client_headers)
                response = self._http.send(request, stream=True)
            opened.append(response)
            return response
        if isinstance(effect, Chunks):
            response = effect.response
            return iter((response.content,)) if response.is_stream_consumed else response.iter_raw()
        if isinstance(effect, Close):
            close_responses([effect.response])
            return None
        if isinstance(effect, Sleep):
            self._sleep(effect.seconds)
            return None
        if isinstance(effect, Acquire):
            return effect.limit.acquire(
                effect.endpoint,
                account=effect.account,
                timeout=effect.timeout,
                pause=effect.pause,
                sleep=self._sleep,
            )
        assert isinstance(effect, Wait)
        try:
            return effect.future.result(effect.timeout)
        except FutureCancelledError:
            raise RefreshAbandoned from None

    def get_transcripts(
        self,
        video_nos: list[str] | None = None,
        kinds: str | Sequence[str] = KINDS,
        *,
        videos: Iterable[Video] = (),
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        progress: bool | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        refresh: bool = False,
        unique_id: str | None = None,
    ) -> list[VideoTranscript]:
        """The transcripts of `video_nos` (None: every parsed video of the library), each
        video's `kinds` in turn ("audio": what is said, "visual": what is shown), as
        time-stamped segments in seconds.

        Transcriptions not cached are all submitted, then polled together for at most
        `timeout` seconds (`progress`: a bar on stderr, by default only on a terminal); the
        videos' names and durations come from `videos` (any `Video` you hold) or else from
        the library (searchDB). A transcript is requested once per process, host and
        credentials (keyed by a hash of them, never the key): later calls get it from
        memory, and with `cache_dir` from JSON files there, across processes; `refresh=True`
        asks again; `unique_id` as for `search_videos` (its transcripts are cached apart).
        Raises `MaviVideoError` if a transcription
        failed, `MaviTimeoutError` after `timeout` (the tasks keep running: the next call
        polls them instead of submitting new ones)."""
        job = self._transcript_job(video_nos, kinds, videos, cache_dir, refresh, unique_id)
        return self._run(self._ops.transcripts(job, timeout, poll_interval, progress))


class AsyncMaviClient(_ClientBase[httpx.AsyncClient]):
    """Asynchronous client for the MAVI video chat API; the same names as `MaviClient`.

    >>> async with AsyncMaviClient(api_key="sk-...") as client:  # doctest: +SKIP
    ...     async for delta in client.stream_chat(video_nos=["VI..."], message="What happens?"):
    ...         print(delta.text, end="")
    """

    _asynchronous = True

    def _connect(self, http_client: httpx.AsyncClient | None) -> None:
        self._pools = LoopPools(self.timeout, self._client_headers, http_client)
        self._sleep: Callable[[float], Awaitable[None]] = _asyncio_sleep

    async def chat(
        self,
        video_nos: list[str],
        message: str,
        history: HistoryInput = None,
        *,
        session_id: str | int | None = None,
        unique_id: str | None = None,
    ) -> ChatAnswer:
        """Ask about the videos and return the whole answer. With v1.2, `session_id` continues
        a conversation the service holds (the answer's own `session_id`)."""
        flow = self._ops.ask(video_nos, message, history, session_id, unique_id)
        return await self._run(flow)

    def stream_chat(
        self,
        video_nos: list[str],
        message: str,
        history: HistoryInput = None,
        *,
        session_id: str | int | None = None,
        unique_id: str | None = None,
    ) -> AsyncChatStream:
        """Ask about the videos; `async for` over the answer's deltas."""
        progress = StreamProgress()
        flow = self._ops.stream(video_nos, message, history, progress, session_id, unique_id)
        return AsyncChatStream(self._iterate(flow), progress)

    async def vlm_chat(
        self, model: str, messages: Sequence[VlmMessage], options: VlmOptions = NO_OPTIONS
    ) -> VlmReply:
        """The async form of `MaviClient.vlm_chat`."""
        return await self._run(self._ops.vlm_complete(build_vlm_body(model, messages, options)))

    def stream_vlm_chat(
        self, model: str, messages: Sequence[VlmMessage], options: VlmOptions = NO_OPTIONS
    ) -> AsyncVlmChatStream:
        """The async form of `MaviClient.stream_vlm_chat`: `async for` over the deltas."""
        body = build_vlm_body(model, messages, options, stream=True)
        progress, reply = StreamProgress(), VlmReply()
        flow = self._ops.vlm_stream(body, progress, reply)
        return AsyncVlmChatStream(self._iterate(flow), progress, reply)

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
        import asyncio

        batch = Batch(
            questions_of(questions, video_nos),
            checkpoint=checkpoint,
            progress=progress,
            concurrency=concurrency,
        )
        slots = asyncio.Semaphore(batch.concurrency)

        async def ask(index: int) -> None:
            video_nos, message = batch.job(index)
            async with slots:
                try:
                    batch.record(index, (await self.chat(video_nos, message)).text, None)
                except MaviError as error:
                    batch.record(index, None, error)

        try:
            await asyncio.gather(*(ask(index) for index in batch.pending()))
        finally:
            batch.close()
        return batch.finish()

    async def exchange_code(
        self, client_id: str, code: str, *, on_refresh: Callable[[MaviTokens], Any] | None = None
    ) -> MaviTokenAuth:
        """Trade the `code` sent to your callback URL for tokens (getAccessToken; not retried,
        since a code is single-use). Returns credentials to pass as `auth=`."""
        tokens = await self._run(self._ops.exchange_code(client_id, code))
        return MaviTokenAuth.from_tokens(tokens, on_refresh)

    async def search_videos(
        self, query: str, *, unique_id: str | None = None, search_type: SearchType = "BY_CLIP"
    ) -> list[Video]:
        """Whole videos matching `query` (searchAI; unranked. v1.2: the videos of the clips its
        search finds, in the order of their best clip). `unique_id` (v1.2 only): the end
        user whose library it is (docs/v1.2.md); None: the service's "default".
        `search_type` as for `find_moments`."""
        return await self._run(self._ops.search_videos(query, unique_id, search_type))

    async def search_moments(
        self,
        query: str,
        video_nos: list[str],
        *,
        unique_id: str | None = None,
        search_type: SearchType = "BY_CLIP",
    ) -> list[Moment]:
        """Moments of `video_nos` matching `query` (searchVideoFragment; v1.2: search, scored,
        the videos sent as for `find_moments`), start/end in seconds; `unique_id` and
        `search_type` as for `find_moments`."""
        return await self._run(self._ops.search_moments(query, video_nos, unique_id, search_type))

    async def find_moments(
        self,
        query: str,
        video_nos: list[str] | None = None,
        *,
        limit: int | None = None,
        unique_id: str | None = None,
        search_type: SearchType = "BY_CLIP",
    ) -> list[Moment]:
        """The moments that match `query`, best first: see `MaviClient.find_moments`."""
        flow = self._ops.find_moments(query, video_nos, limit, unique_id, search_type)
        return await self._run(flow)

    def list_videos(
        self,
        *,
        status: str | None = None,
        name: str | None = None,
        start_time: datetime | float | None = None,
        end_time: datetime | float | None = None,
        page_size: int = MAX_PAGE_SIZE,
        unique_id: str | None = None,
    ) -> AsyncIterator[Video]:
        """Every video of the library matching the filters (searchDB, all pages; v1.2:
        list_videos, with the time filters applied here). `unique_id` as for `search_videos`."""
        flow = self._ops.list_videos(status, name, start_time, end_time, page_size, unique_id)
        return self._iterate(flow)

    def list_sessions(self, *, unique_id: str | None = None) -> AsyncIterator[ChatSession]:
        """Every chat session of the key, all pages: see `MaviClient.list_sessions`."""
        return self._iterate(self._ops.list_sessions(unique_id))

    async def get_session_detail(self, session_id: str | int) -> SessionDetail:
        """A v1.2 chat session restored: see `MaviClient.get_session_detail`."""
        return await self._run(self._ops.session_detail(session_id))

    async def upload_video(
        self,
        source: str | os.PathLike[str],
        *,
        callback_uri: str | None = None,
        progress: bool | None = None,
        on_progress: ProgressCallback | None = None,
        unique_id: str | None = None,
    ) -> Video:
        """Upload a local file, or a video at an http(s) URL; it starts UNPARSE.

        `progress`: a tqdm bar (default: when stderr is a terminal or in a notebook);
        `on_progress(sent, total)`: your own report of the bytes sent, instead of the bar;
        `unique_id` as for `search_videos`."""
        flow = self._ops.upload_video(source, callback_uri, progress, on_progress, unique_id)
        return await self._run(flow)

    async def wait_until_parsed(
        self,
        video_nos: list[str],
        timeout: float = 600.0,
        *,
        poll_interval: float = 2.0,
        progress: bool | None = None,
        unique_id: str | None = None,
    ) -> list[Video]:
        """Poll until every video is PARSE; raises `MaviVideoError` if one failed, and
        `MaviTimeoutError` after `timeout` seconds. `unique_id` as for `search_videos`."""
        flow = self._ops.wait_until_parsed(video_nos, timeout, poll_interval, progress, unique_id)
        return await self._run(flow)

    async def delete_videos(self, video_nos: list[str], *, unique_id: str | None = None) -> None:
        """Delete videos, 500 per request (v1.2: 100); deleting one twice raises
        `MaviConflictError`. `unique_id` as for `search_videos`."""
        await self._run(self._ops.delete_videos(video_nos, unique_id))

    async def transcribe(
        self,
        video_no: str,
        kind: Literal["AUDIO", "VIDEO"] = "AUDIO",
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        callback_uri: str | None = None,
        unique_id: str | None = None,
    ) -> Transcript:
        """Submit a transcription (AUDIO: speech, VIDEO: what is seen) and wait for it (v1.2: no
        task; the transcript is read at once, and `callback_uri` is refused). Times in seconds
        (`Transcript.unit`: the reply's unit). `unique_id` as for `search_videos`."""
        flow = self._ops.transcribe(video_no, kind, timeout, poll_interval, callback_uri, unique_id)
        return await self._run(flow)

    @property
    def _http(self) -> httpx.AsyncClient:
        return self._pools.current()

    async def aclose(self) -> None:
        """Close every connection pool the client opened: the running loop's here, and each
        other loop's on that loop (scheduled when it runs in another thread; waited for up to
        five seconds), or, when that loop has ended, by closing its sockets. An injected
        `http_client` stays open: it is yours."""
        await self._pools.aclose()

    async def close(self) -> None:
        """Alias of `aclose()`."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # The driver: the only awaiting I/O of the client.

    async def _run(self, flow: Flow[_T]) -> _T:
        items = self._iterate(returning(flow))
        try:
            result = await anext(items)
        finally:
            await items.aclose()
        assert isinstance(result, Result)
        return result.value  # type: ignore[no-any-return]

    async def _iterate(self, flow: Flow[Any]) -> AsyncGenerator[Any, None]:
        """Performs the effects `flow` yields and hands out everything else it yields."""
        opened: list[httpx.Response] = []
        value: Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    item = flow.send(value) if error is None else flow.throw(error)
                except StopIteration:
                    return
                value = error = None
                if not isinstance(item, Effect):
                    yield item
                    continue
                try:
                    if type(item) is Pump:
                        step, chunks = item.step, item.chunks
                        while not item.ended:
                            for delta in step(await anext(chunks, None)):
                                yield delta
                    elif type(item) is Next:
                        value = await anext(item.chunks, None)
                    else:
                        value = await self._perform(item, opened)
                except Exception as exc:
                    error = transport_error(exc)
        finally:
            flow.close()
            await aclose_responses(opened)

    async def _perform(self, effect: Effect, opened: list[httpx.Response]) -> Any:
        if isinstance(effect, Send):
            logger.debug("MAVI request: %s %s", effect.call.method, effect.url)
            http = self._http
            with ExitStack() as stack:
                request = _request(http, effect, stack, self._client_headers)
                if effect.within is None:
                    response = await http.send(request, stream=True)
                else:  # a reply's head trickled a byte at a time is cut at the deadline
                    async with _asyncio_timeout(effect.within):
                        response = await http.send(request, stream=True)
            opened.append(response)
            return response
        if isinstance(effect, Chunks):
            response = effect.response
            if response.is_stream_consumed:
                return _one(response.content)
            return response.aiter_raw()
        if isinstance(effect, Close):
            await effect.response.aclose()
            return None
        if isinstance(effect, Sleep):
            await self._sleep(effect.seconds)
            return None
        if isinstance(effect, Acquire):
            return await effect.limit.aacquire(
                effect.endpoint,
                account=effect.account,
                timeout=effect.timeout,
                pause=effect.pause,
                sleep=self._sleep,
            )
        assert isinstance(effect, Wait)
        return await _wait_shared(effect.future, effect.timeout)

    async def get_transcripts(
        self,
        video_nos: list[str] | None = None,
        kinds: str | Sequence[str] = KINDS,
        *,
        videos: Iterable[Video] = (),
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        progress: bool | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        refresh: bool = False,
        unique_id: str | None = None,
    ) -> list[VideoTranscript]:
        """The transcripts of `video_nos`, in seconds: see `MaviClient.get_transcripts`."""
        job = self._transcript_job(video_nos, kinds, videos, cache_dir, refresh, unique_id)
        return await self._run(self._ops.transcripts(job, timeout, poll_interval, progress))


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


async def _one(content: bytes) -> AsyncIterator[bytes]:
    yield content


def _asyncio_timeout(seconds: float) -> Any:
    import asyncio

    return asyncio.timeout(seconds)


async def _asyncio_sleep(seconds: float) -> None:
    import asyncio  # imported by the first async retry, not by `import mavi_core`

    await asyncio.sleep(seconds)
