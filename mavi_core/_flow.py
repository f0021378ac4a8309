"""Every client operation, written once, as a generator yielding the *effects* (I/O) it needs,
as httpx's `Auth.auth_flow` does; both clients (`_client`) perform them, and hand anything else
it yields (a `ChatDelta`, a `Video`) to the caller (docs/ARCHITECTURE.md, "Flows and drivers").
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import random
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, TypeVar

from ._auth import MaviTokenAuth, MaviTokens, RefreshAbandoned
from ._budgets import endpoint_of
from ._constants import MAX_RETRY_AFTER, WAIT_WARNING
from ._content import ContentDecoder, content_decoder
from ._dialect import Dialect, dialect_of
from ._envelope import (
    error_for_http_status,
    long_retry_words,
    retry_after_from_headers,
    token_advice,
    unwaited,
    with_retry_after,
)
from ._exceptions import (
    MaviAuthenticationError,
    MaviError,
    MaviInvalidRequestError,
    MaviRateLimitError,
    MaviStreamError,
    MaviTimeoutError,
    MaviValidationError,
)
from ._models import ChatAnswer, ChatSession, SessionDetail
from ._progress import ProgressBar, ProgressCallback, check_progress, progress_bar, upload_bar
from ._quota import RateLimit
from ._request import ApiCall, HistoryInput
from ._retry import REFRESH, RetryState, may_retry
from ._settings import MaviSettings
from ._stream import (
    AnswerReader,
    BodyReader,
    ChatStreamDecoder,
    StreamProgress,
    broken_stream_error,
    parse_json_reply,
)
from ._videos import (
    MAX_PAGE_SIZE,
    PARSED,
    Moment,
    Pages,
    ParseWatch,
    SearchType,
    Transcript,
    Video,
    check_limit,
    parse_moments,
    parse_task_no,
    parse_video,
    parse_videos,
    rank_moments,
)
from ._vlm import (
    NO_OPTIONS,
    VlmMessage,
    VlmOptions,
    VlmReply,
    VlmStreamDecoder,
    parse_vlm_reply,
    vlm_call,
)
from .transcripts import KINDS, WIRE_KIND, TranscriptCache, TranscriptJob, VideoTranscript

if TYPE_CHECKING:
    import os

    import httpx

logger = logging.getLogger("mavi_core")

_T = TypeVar("_T")


class Effect:
    """Something an operation needs done: the drivers know how, each in its own world."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Send(Effect):
    """Send a request; the result is the response, its headers read and its body not."""

    call: ApiCall
    url: str
    headers: dict[str, str]
    timeout: httpx.Timeout
    within: float | None = None
    """The deadline left, for the reply's head (`timeout` restarts with every byte trickled)."""


@dataclass(frozen=True, slots=True)
class Pump(Effect):
    """Hand every raw chunk of a response's body (then None) to `reader`, handing out what it
    returns, until it has `ended`: the hot loop, in the driver; errors are thrown into the flow."""

    response: httpx.Response
    reader: AnswerReader | BodyReader


@dataclass(frozen=True, slots=True)
class Close(Effect):
    """Close a response (never fails)."""

    response: httpx.Response


@dataclass(frozen=True, slots=True)
class Sleep(Effect):
    seconds: float


@dataclass(frozen=True, slots=True)
class Wait(Effect):
    """Wait for a refresh led by another caller; the result is its tokens, or its error raised."""

    future: Future[MaviTokens]
    timeout: float | None


@dataclass(frozen=True, slots=True)
class Acquire(Effect):
    """Wait for a turn in the key's budget at `endpoint`: `RateLimit.acquire` with `options`
    (`pause`: the service asked every caller to wait this long first); gives the seconds waited."""

    limit: RateLimit
    endpoint: str
    options: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Result:
    """The value an operation returned, handed to the driver as its last item."""

    value: Any


Flow: TypeAlias = Generator[Any, Any, _T]
Items: TypeAlias = Generator[_T | Effect, Any, None]
"""An operation handing out `_T` items (a listing) rather than returning a value."""


@dataclass(frozen=True, slots=True)
class Streaming:
    """A streamed answer not started yet: the operation, and what it tells as it goes."""

    flow: Flow[Any]
    progress: StreamProgress


@dataclass(frozen=True, slots=True)
class VlmStreaming(Streaming):
    reply: VlmReply
    """What else the events tell (usage, model, finish reason), whole once the stream ended."""


def returning(flow: Flow[_T]) -> Flow[None]:
    """`flow`, ending with its return value as a `Result` item (async generators cannot
    return values, so both drivers receive results this way)."""
    yield Result((yield from flow))


_REQUEST_ID_HEADERS: Final = ("x-request-id", "request-id", "x-trace-id", "trace-id")
_ERROR_BODY_PREFIX: Final = 64 * 1024  # of an HTTP error reply: an envelope, a page's start
_GET_ACCESS_TOKEN_PATH: Final = "/auth/api/token/getAccessToken"
_REFRESH_ACCESS_TOKEN_PATH: Final = "/auth/api/token/refreshAccessToken"


def _from_reply(error: MaviError, response: httpx.Response) -> MaviError:
    """`error` with what the reply's headers tell: the service's request id, and the wait a
    rate limit sent as an envelope with HTTP 200 asks for."""
    headers = response.headers
    if error.request_id is None:
        ids = (headers.get(name) for name in _REQUEST_ID_HEADERS)
        error.request_id = next((id_[:128] for id_ in ids if id_ and id_.isprintable()), None)
    if isinstance(error, MaviRateLimitError) and error.retry_after is None:
        with_retry_after(error, retry_after_from_headers(headers))
    return error


def _decoder_for(response: httpx.Response) -> ContentDecoder | None:
    return None if response.is_stream_consumed else content_decoder(response.headers)


class Deadline:
    """The end of one call's time, retries included (None: no deadline); or, given `what` it
    waits for, of a poll: a look every `interval` seconds, `seconds` 0 being one look."""

    __slots__ = ("at", "clock", "interval", "seconds", "what")

    def __init__(
        self, seconds: float | None, clock: Callable[[], float], interval: float = 0, what: str = ""
    ) -> None:
        if what:  # a poll: its caller's `timeout` and `poll_interval`, checked
            for name, value, least in (("timeout", seconds, 0), ("poll_interval", interval, 1e-9)):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise MaviValidationError(
                        f"{name} must be seconds (a number), got {value!r}; e.g. {name}=30."
                    )
                if not math.isfinite(value) or value < least:
                    words = "seconds from 0 (0: look once)" if least == 0 else "positive seconds"
                    raise MaviValidationError(f"{name} must be {words}, got {value!r}.")
        self.clock, self.seconds, self.interval, self.what = clock, seconds, interval, what
        self.at = None if seconds is None else clock() + seconds

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - self.clock()

    def check(self) -> None:
        """Past the end, its `MaviTimeoutError`; but a poll's one look (`seconds` 0) is whole."""
        if self.at is not None and self.clock() > self.at and self.seconds:
            raise self._error()

    def next_delay(self) -> float:
        """The wait before a poll's next look; past the end, its `MaviTimeoutError`."""
        left = math.inf if self.at is None else self.at - self.clock()
        if left <= 0:
            raise self._error()
        return min(self.interval, left)

    def _error(self) -> MaviTimeoutError:
        if self.what:
            return MaviTimeoutError(
                f"Timed out after {self.seconds:g} s waiting for {self.what}. "
                "Call again with a larger timeout, or check the videos' status."
            )
        return MaviTimeoutError(
            f"The call took longer than its deadline of {self.seconds:g} s (retries "
            "included). Try again, or raise the client's `deadline` for long answers."
        )

    def passed(self, error: MaviError) -> MaviError:
        """`error`, or, for a timeout once the deadline has passed (the driver stopped a reply
        trickled past it), the deadline's own error."""
        if (
            isinstance(error, MaviTimeoutError)
            and not isinstance(error, MaviStreamError)
            and self.at is not None
            and self.clock() >= self.at - 0.05  # 50 ms off: the driver's clock ran the bound
        ):
            passed = self._error()
            passed.__cause__ = error
            return passed
        return error

    def allows(self, wait: float) -> bool:
        return self.at is None or self.clock() + wait < self.at

    def clamp(self, timeout: httpx.Timeout) -> httpx.Timeout:
        """`timeout` with no part longer than the time left."""
        left = self.remaining()
        if left is None:
            return timeout
        self.check()
        import httpx

        parts = timeout.as_dict().items()
        return httpx.Timeout(**{k: left if v is None else min(v, left) for k, v in parts})


@dataclass
class Operations:
    """The MAVI operations over one `MaviSettings`, as flows for a driver to run. Each public
    one is a method of both clients, with this signature and docstring (docs/client.md)."""

    settings: MaviSettings
    clock: Callable[[], float] = field(default=time.monotonic)
    random: Callable[[], float] = field(default=random.random)
    progress_bar: Callable[[str, float, bool | None], ProgressBar] = field(default=progress_bar)
    """Draws the bars of polling operations (injected: the only output a flow makes)."""
    rate_limit: RateLimit | None = None
    """The key's shared budget, or None: requests go out without waiting their turn."""

    # Chat.

    def chat(
        self,
        video_nos: list[str],
        message: str,
        history: HistoryInput = None,
        *,
        session_id: str | int | None = None,
        unique_id: str | None = None,
    ) -> Flow[ChatAnswer]:
        """Ask about the videos and return the whole answer. With v1.2, `session_id` continues
        a conversation the service holds (the answer's own `session_id`)."""
        dialect = self.dialect
        call = dialect.chat_call(video_nos, message, history, session_id, unique_id, stream=False)
        parse = dialect.whole_answer(call, self.settings.max_event_bytes)
        if parse is not None:
            return (yield from self._request_json(call, parse))  # type: ignore[no-any-return]
        text = yield from self._answered(call, StreamProgress(), dialect.stream_decoder, True)
        return ChatAnswer(text=text, video_nos=dialect.chat_videos(call))

    def stream_chat(
        self,
        video_nos: list[str],
        message: str,
        history: HistoryInput = None,
        *,
        session_id: str | int | None = None,
        unique_id: str | None = None,
    ) -> Streaming:
        """Ask about the videos and iterate over the answer's deltas."""
        dialect = self.dialect
        call = dialect.chat_call(video_nos, message, history, session_id, unique_id, stream=True)
        progress = StreamProgress()
        return Streaming(self._answered(call, progress, dialect.stream_decoder), progress)

    def vlm_chat(
        self, model: str, messages: Sequence[VlmMessage], options: VlmOptions = NO_OPTIONS
    ) -> Flow[VlmReply]:
        """Ask a video-understanding model (`model` with its provider prefix, e.g.
        "gemini:gemini-2.5-flash") about videos given by URL; the whole answer."""
        call = vlm_call(model, messages, options)
        limit = self.settings.max_event_bytes
        return self._request_json(call, lambda data: parse_vlm_reply(data, limit))

    def stream_vlm_chat(
        self, model: str, messages: Sequence[VlmMessage], options: VlmOptions = NO_OPTIONS
    ) -> VlmStreaming:
        """`vlm_chat`, streamed: iterate over the answer's deltas; `reply` gathers the rest."""
        call = vlm_call(model, messages, options, stream=True)
        progress, reply = StreamProgress(), VlmReply()
        decoder = functools.partial(VlmStreamDecoder, reply=reply)
        return VlmStreaming(self._answered(call, progress, decoder), progress, reply)

    def _answered(
        self,
        call: ApiCall,
        progress: StreamProgress,
        decoder: Callable[[int, int], ChatStreamDecoder],
        collect: bool = False,
    ) -> Flow[str]:
        """The answer's text (when `collect`), its deltas handed out as they come (if not)."""
        attempt = functools.partial(self._answer, call, progress, collect, decoder)
        try:
            text = yield from self._retrying(call, attempt)
        except MaviError:
            progress.ended = True  # ended by its error: read again, the stream is exhausted
            raise
        progress.ended = True
        return text

    def _answer(
        self,
        call: ApiCall,
        progress: StreamProgress,
        collect: bool,
        decoder_class: Callable[[int, int], ChatStreamDecoder],
        deadline: Deadline,
    ) -> Flow[str]:
        response = yield self._send(call, deadline)
        try:
            yield from self._raise_for_status(response, deadline)
            decoder = decoder_class(self.settings.max_event_bytes, self.settings.max_response_bytes)
            reader = AnswerReader(decoder, _decoder_for(response), progress, deadline, collect)
            yield Pump(response, reader)
            reader.raise_error()
        except MaviError as error:
            yield Close(response)
            _from_reply(error, response)
            # Once text arrived, or anything was handed out that a retry would repeat, the
            # error is a MaviStreamError (never retried); else it keeps its own class.
            if progress.delivered or (progress.items and may_retry(error)):
                partial = reader.text() if collect else None
                broken = broken_stream_error(error, progress.delivered, partial)
                raise _from_reply(broken, response) from error
            raise
        yield Close(response)
        return reader.text()

    # Every other endpoint: a JSON reply.

    def _request_json(
        self, call: ApiCall, parse: Callable[[bytes], Any] = parse_json_reply
    ) -> Flow[Any]:
        def attempt(deadline: Deadline) -> Flow[Any]:
            response = yield self._send(call, deadline)
            try:
                yield from self._raise_for_status(response, deadline)
                body = yield from self._read(response, self.settings.max_response_bytes, deadline)
                data = parse(body)
            except MaviError as error:
                yield Close(response)  # not in `finally`: a closed flow may not yield
                _from_reply(error, response)
                raise
            yield Close(response)
            return data

        return (yield from self._retrying(call, attempt))

    # The steps every call shares.

    def _send(self, call: ApiCall, deadline: Deadline) -> Send:
        settings = self.settings
        return Send(
            call,
            settings.base_url + call.path,
            settings.headers(call.authenticate, call.accept),
            deadline.clamp(settings.timeout),
            deadline.remaining(),
        )

    def _retrying(self, call: ApiCall, attempt: Callable[[Deadline], Flow[_T]]) -> Flow[_T]:
        """Runs `attempt` until it succeeds or the retry rules give up; refreshes the token
        before it is due and once when the service rejects it."""
        settings = self.settings
        auth = settings.auth if call.authenticate else None
        can_refresh = auth is not None and auth.can_refresh
        state = RetryState(
            settings.max_retries if call.retry else 0, can_refresh=can_refresh, random=self.random
        )
        deadline = Deadline(settings.deadline if call.deadline else None, self.clock)
        limit = self.rate_limit
        endpoint = None if limit is None else endpoint_of(call.path)
        turn = {} if endpoint is None else {"account": settings.fingerprint(), "pause": 0.0}
        while True:
            generation = 0
            if auth is not None:
                if auth.needs_refresh():
                    yield from self._refresh(auth, auth.generation, deadline, early=True)
                generation = auth.generation
            if limit is not None and endpoint is not None:
                yield Acquire(limit, endpoint, {**turn, "timeout": deadline.remaining()})
            try:
                return (yield from attempt(deadline))
            except MaviError as caught:
                error = deadline.passed(caught)
            if error.request_url is None:
                error.request_method = call.method
                error.request_url = settings.base_url + call.path
            action = state.next_action(error)
            if action is REFRESH:
                logger.debug("MAVI rejected the access token; refreshing it and retrying")
                assert auth is not None
                yield from self._refresh(auth, generation, deadline, early=False)
                continue
            if action is None:
                if auth is not None and isinstance(error, MaviAuthenticationError):
                    raise token_advice(error, "refreshed" if state.refreshed else "expired")
                raise self._unwaited(error, deadline) if state.refused_wait else error
            assert isinstance(action, float)
            if not deadline.allows(action):
                if error.retry_after is not None and action <= error.retry_after:
                    raise self._unwaited(error, deadline)
                raise error  # the same error (or the deadline's, from it)
            if action > WAIT_WARNING:
                logger.warning("%s", settings.redact_text(long_retry_words(error, action)))
            elif logger.isEnabledFor(logging.DEBUG):
                reason = settings.redact_text(str(error))
                logger.debug("MAVI request failed (%s); retrying in %.2f s", reason, action)
            if endpoint is not None and isinstance(error, MaviRateLimitError):
                turn["pause"] = action  # the next Acquire holds every holder of the budget
                continue
            yield Sleep(action)

    def _unwaited(self, error: MaviError, deadline: Deadline) -> MaviError:
        """`error`, whose `Retry-After` is longer than the client waits, saying so."""
        left = deadline.remaining()
        longest = MAX_RETRY_AFTER if left is None else min(MAX_RETRY_AFTER, left)
        return unwaited(error, longest, deadline.seconds)

    def _refresh(
        self, auth: MaviTokenAuth, generation: int, deadline: Deadline, *, early: bool
    ) -> Flow[None]:
        """One refresh for every caller that needs it; `early`: the token is still valid, so
        a failure leaves it in use."""
        while True:
            ticket = auth.claim_refresh(generation)
            if ticket is None:
                return  # another caller refreshed already
            if ticket.leader:
                break
            try:
                yield Wait(ticket.future, deadline.remaining())
                return
            except RefreshAbandoned:
                continue
            except MaviError as error:
                if early and auth.is_valid():
                    return self._keep_token(error)
                raise
        logger.debug("MAVI: refreshing the access token")
        try:
            body = auth.refresh_body()
            call = ApiCall("POST", _REFRESH_ACCESS_TOKEN_PATH, json=body, authenticate=False)
            data = yield from self._request_json(call)
        except MaviError as error:
            if isinstance(error, MaviAuthenticationError | MaviInvalidRequestError):
                token_advice(error, "refresh")  # shared with every waiter
            auth.finish_refresh(ticket, error=error)
            if early and auth.is_valid():
                return self._keep_token(error)
            raise
        except BaseException:
            auth.finish_refresh(ticket, error=RefreshAbandoned())
            raise
        auth.finish_refresh(ticket, data)

    def _keep_token(self, error: MaviError) -> None:
        logger.warning(
            "MAVI: refreshing the access token early failed (%s); the current token is still "
            "valid and stays in use",
            self.settings.redact_text(str(error)),
        )

    def _raise_for_status(self, response: httpx.Response, deadline: Deadline) -> Flow[None]:
        status = response.status_code
        if 200 <= status < 300:
            return
        body: bytes | None
        try:
            body = yield from self._read(response, _ERROR_BODY_PREFIX, deadline, truncate=True)
        except MaviError:
            # An error page that cannot be read (a proxy's brotli, corrupt gzip, a connection
            # cut): the status still decides the class and whether to retry.
            body = None
        headers = response.headers
        raise error_for_http_status(
            status,
            body,
            retry_after=retry_after_from_headers(headers),
            location=headers.get("location"),
        )

    def _read(
        self, response: httpx.Response, limit: int, deadline: Deadline, *, truncate: bool = False
    ) -> Flow[bytes]:
        """The body, decompressed, up to `limit` bytes: beyond it, the first `limit` bytes
        (`truncate`) or an error."""
        reader = BodyReader(_decoder_for(response), limit, deadline.check, truncate)
        yield Pump(response, reader)
        return reader.body

    # Tokens and videos.

    def exchange_code(
        self, client_id: str, code: str, *, on_refresh: Callable[[MaviTokens], Any] | None = None
    ) -> Flow[MaviTokenAuth]:
        """Trade the `code` sent to your callback URL for tokens (getAccessToken; not retried,
        since a code is single-use). Returns credentials to pass as `auth=`."""
        body = {"clientId": client_id, "code": code}
        call = ApiCall("POST", _GET_ACCESS_TOKEN_PATH, json=body, authenticate=False, retry=False)
        try:
            data = yield from self._request_json(call)
        except (MaviAuthenticationError, MaviInvalidRequestError) as error:
            token_advice(error, "exchange")
            raise
        return MaviTokenAuth.from_tokens(MaviTokens.from_reply(data, now=time.time()), on_refresh)

    @property
    def dialect(self) -> Dialect:
        """The dialect this client speaks: the calls it sends and how it reads the replies."""
        return dialect_of(self.settings.api_version)

    def search_videos(
        self, query: str, *, unique_id: str | None = None, search_type: SearchType = "BY_CLIP"
    ) -> Flow[list[Video]]:
        """Whole videos matching `query` (searchAI; v1.2: of the clips found, best first).
        `unique_id` (v1.2): whose library (None: "default"); `search_type`: see `find_moments`."""
        (call,) = self.dialect.search_calls(query, None, unique_id, search_type, videos=True)
        return self._parsed(call, parse_videos)

    def search_moments(
        self,
        query: str,
        video_nos: list[str],
        *,
        unique_id: str | None = None,
        search_type: SearchType = "BY_CLIP",
    ) -> Flow[list[Moment]]:
        """Moments of `video_nos` matching `query` (searchVideoFragment; v1.2: search, scored),
        start/end in seconds; `unique_id` and `search_type` as for `find_moments`."""
        calls = self.dialect.search_calls(query, video_nos, unique_id, search_type)
        return self._searched(calls, None, rank=self.dialect.searches_library)

    def find_moments(
        self,
        query: str,
        video_nos: list[str] | None = None,
        *,
        limit: int | None = None,
        unique_id: str | None = None,
        search_type: SearchType = "BY_CLIP",
    ) -> Flow[list[Moment]]:
        """The moments that match `query`, best first, at most `limit`: within `video_nos`, or
        else within the videos searchAI finds for it (what both frameworks' retrievers return).
        `search_type` (v1.2): BY_CLIP (what is seen), BY_AUDIO (what is said), BY_VIDEO,
        BY_IMAGE or BY_CAPTION; `unique_id` as for `search_videos`. See docs/v1.2.md."""
        check_limit(limit)
        dialect = self.dialect
        if video_nos is None and not dialect.searches_library:  # v1.0: in the videos found
            found = self.search_videos(query, unique_id=unique_id, search_type=search_type)
            video_nos = [video.video_no for video in (yield from found)]
            if not video_nos:
                return []
        calls = dialect.search_calls(query, video_nos, unique_id, search_type, top_k=limit)
        return (yield from self._searched(calls, limit))

    def _searched(
        self, calls: list[ApiCall], limit: int | None, *, rank: bool = True
    ) -> Flow[list[Moment]]:
        """The hits of all the calls of one search, best score first (`rank`), at most `limit`."""
        moments: list[Moment] = []
        for call in calls:
            moments += parse_moments((yield from self._request_json(call)))
        return rank_moments(moments, limit) if rank else moments

    def _parsed(self, call: ApiCall, parse: Callable[[Any], _T]) -> Flow[_T]:
        return parse((yield from self._request_json(call)))

    def list_videos(
        self,
        *,
        status: str | None = None,
        name: str | None = None,
        start_time: datetime | float | None = None,
        end_time: datetime | float | None = None,
        page_size: int = MAX_PAGE_SIZE,
        unique_id: str | None = None,
    ) -> Items[Video]:
        """Every video of the library matching the filters (searchDB, all pages; v1.2:
        list_videos, with the time filters applied here). `unique_id` as for `search_videos`."""
        scope = self.dialect.scope(unique_id)
        pager = self.dialect.pager(status, name, start_time, end_time, page_size, scope)
        return self._walk(pager, hand_out=True)

    def list_sessions(self, *, unique_id: str | None = None) -> Items[ChatSession]:
        """Every chat session of the key, all pages (v1.2 only); `unique_id`: the namespace the
        chats named ("default" when they named none)."""
        return self._walk(self.dialect.session_pager(unique_id), hand_out=True)

    def get_session_detail(
        self, session_id: str | int, *, unique_id: str | None = None
    ) -> Flow[SessionDetail]:
        """A v1.2 chat session restored, to show or continue (docs/v1.2.md#restoring-a-session);
        `unique_id`: the namespace the chat named."""
        return self._parsed(*self.dialect.session_detail(session_id, unique_id))

    def _walk(
        self,
        pager: Pages,
        poll: Deadline | None = None,
        *,
        hand_out: bool = False,
        more: Callable[[], object] = lambda: True,
        each: Callable[[list[Any]], object] = lambda page: None,
    ) -> Flow[Any]:
        """A listing's items, page by page while `more()`, handed out or gathered; before each
        page after the first, the client's `deadline` (one walk is one call) and the `poll`'s."""
        walk = Deadline(self.settings.deadline, self.clock)
        listed: list[Any] = []
        while more() and not pager.done:
            if pager.page > 1:
                walk.check()
                if poll is not None:
                    poll.check()
            page = pager.read((yield from self._request_json(pager.call())))
            each(page)
            if hand_out:
                yield from page
            else:
                listed += page
        return listed

    def upload_video(
        self,
        source: str | os.PathLike[str],
        *,
        callback_uri: str | None = None,
        progress: bool | None = None,
        on_progress: ProgressCallback | None = None,
        unique_id: str | None = None,
    ) -> Flow[Video]:
        """Upload a local file, or a video at an http(s) URL; it starts UNPARSE. `progress`: a bar
        (default: on a terminal or notebook); `on_progress(sent, total)`: your own report."""
        check_progress(progress, on_progress)
        call = self.dialect.upload_call(source, callback_uri, self.dialect.scope(unique_id))
        if (upload := call.upload) is not None:
            bar = upload_bar(upload.path.name, upload.size, progress, on_progress)
            # An upload is bounded by its size and the per-operation timeout, not the deadline.
            call = dataclasses.replace(call, on_sent=bar.update, deadline=False)
        video = parse_video((yield from self._request_json(call)))
        if upload is not None:
            bar.finish()
        return video

    def wait_until_parsed(
        self,
        video_nos: list[str],
        timeout: float = 600.0,
        *,
        poll_interval: float = 2.0,
        progress: bool | None = None,
        unique_id: str | None = None,
    ) -> Flow[list[Video]]:
        """Poll until every video is PARSE; raises `MaviVideoError` if one failed, and
        `MaviTimeoutError` after `timeout` seconds. `unique_id` as for `search_videos`."""
        scope = self.dialect.scope(unique_id)
        watch = ParseWatch(video_nos)
        deadline = Deadline(timeout, self.clock, poll_interval, "the videos to parse")
        check_progress(progress)
        bar = self.progress_bar("Parsing videos", len(watch.video_nos), progress)
        while True:
            watch.update((yield from self._walk(self.dialect.pager(unique_id=scope), deadline)))
            bar.update(watch.parsed)
            if watch.done:
                bar.finish()
                return watch.result()
            yield Sleep(deadline.next_delay())

    def delete_videos(self, video_nos: list[str], *, unique_id: str | None = None) -> Flow[None]:
        """Delete videos, 500 per request (v1.2: 100); deleting one twice raises
        `MaviConflictError`. `unique_id` as for `search_videos`."""
        for call in self.dialect.delete_calls(video_nos, unique_id):
            yield from self._request_json(call)

    def transcribe(
        self,
        video_no: str,
        kind: Literal["AUDIO", "VIDEO"] = "AUDIO",
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        callback_uri: str | None = None,
        unique_id: str | None = None,
    ) -> Flow[Transcript]:
        """Submit a transcription (AUDIO: speech, VIDEO: what is seen) and wait for it (v1.2: no
        task, the transcript is read until it is made; `callback_uri` is refused). Times in
        seconds (`Transcript.unit`: the reply's). `unique_id` as for `search_videos`."""
        dialect = self.dialect
        scope = dialect.scope(unique_id)
        what = f"the transcript of {video_no}" if dialect.not_ready else "the transcription"
        deadline = Deadline(timeout, self.clock, poll_interval, what + dialect.not_ready)
        submit = dialect.submit_call(video_no, kind, callback_uri)
        task_no = "" if submit is None else parse_task_no((yield from self._request_json(submit)))
        call = dialect.transcript_call(video_no, kind, task_no, scope)
        read = functools.partial(dialect.read_transcript, video_no, task_no, kind)
        while (transcript := (yield from self._parsed(call, read))) is None:
            yield Sleep(deadline.next_delay())
        return transcript

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
    ) -> Flow[list[VideoTranscript]]:
        """The transcripts of `video_nos` (None: every parsed video), each of `kinds` ("audio",
        "visual"), as segments in seconds; polled together for at most `timeout`, cached
        (`cache_dir`: on disk too; `refresh`: ask again). See docs/client.md#transcripts."""
        settings, dialect = self.settings, self.dialect
        job = TranscriptJob(
            settings.base_url,
            video_nos,
            kinds,
            videos,
            TranscriptCache.shared(),
            cache_dir,
            refresh,
            account=settings.fingerprint(),
            unique_id=dialect.scope(unique_id),
        )
        # Cached ones as they are; for the others, the videos' names and durations looked up
        # (until all are found), every transcription submitted, then all polled together.
        what = f"the transcripts{dialect.not_ready}"
        deadline = Deadline(timeout, self.clock, poll_interval, what)
        deadline.interval = min(0.5, poll_interval)
        check_progress(progress)
        if video_nos is None:
            library = dialect.pager(status=PARSED, unique_id=job.unique_id)
            job.use_library((yield from self._walk(library, deadline)))
        if not job.waiting():  # all cached
            return job.result()
        pager = dialect.pager(unique_id=job.unique_id)
        yield from self._walk(pager, deadline, more=lambda: job.unknown_videos, each=job.learn)
        for item in job.to_submit():  # v1.2 starts no task: no call
            if (call := dialect.submit_call(item.video_no, WIRE_KIND[item.kind], None)) is not None:
                job.submitted(item, parse_task_no((yield from self._request_json(call))))
        bar = self.progress_bar("Transcribing videos", len(job.wanted), progress)
        read_once = not dialect.transcription_tasks
        while True:
            for item in job.waiting():
                kind, task_no = WIRE_KIND[item.kind], item.task_no or ""
                call = dialect.transcript_call(item.video_no, kind, task_no, job.unique_id)
                job.read(item, (yield from self._request_json(call)), v12=read_once)
            waiting = len(job.waiting())
            bar.update(len(job.wanted) - waiting)
            if not waiting:
                bar.finish()
                return job.result()
            yield Sleep(deadline.next_delay())
            deadline.interval = min(deadline.interval * 2, poll_interval)
