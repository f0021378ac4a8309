"""`MaviClient` and `AsyncMaviClient`: the I/O around the pure core.

Both clients decide everything by calling the same functions (request building, the reply
decoder, the retry state); they differ only in how they send, read and sleep. Transport
exceptions become `MaviError`s in one place, `_translate_transport_errors`.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Iterator,
    Mapping,
)
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar

import httpx

from ._auth import MaviTokenAuth, MaviTokens
from ._constants import (
    API_KEY_ENV,
    BASE_URL_ENV,
    CHAT_PATH,
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    GET_ACCESS_TOKEN_PATH,
    MAX_CONNECTIONS,
    MAX_KEEPALIVE_CONNECTIONS,
    REFRESH_ACCESS_TOKEN_PATH,
)
from ._envelope import error_for_http_status, retry_after_from_headers
from ._exceptions import (
    MaviAuthenticationError,
    MaviConnectionError,
    MaviError,
    MaviTimeoutError,
    MaviValidationError,
)
from ._models import ChatAnswer, ChatDelta
from ._request import ApiCall, HistoryInput, build_chat_body
from ._retry import REFRESH, RetryState
from ._secret import Secret, SecretLike, reveal
from ._stream import ChatStreamDecoder, broken_stream_error, parse_json_reply
from ._transport import ShardedAsyncTransport, shared_ssl_context
from ._version import __version__
from ._videos import (
    MAX_PAGE_SIZE,
    Moment,
    ParseWatch,
    PollDeadline,
    Progress,
    Transcript,
    Video,
    VideoPager,
    delete_calls,
    parse_moments,
    parse_task_no,
    parse_transcription,
    parse_video,
    parse_videos,
    rank_moments,
    search_moments_call,
    search_videos_call,
    transcription_poll_call,
    transcription_submit_call,
    upload_call,
    upload_progress,
)

if TYPE_CHECKING:
    import asyncio

__all__ = ["AsyncChatStream", "AsyncMaviClient", "ChatStream", "MaviClient"]

logger = logging.getLogger("mavi_core")

_T = TypeVar("_T")
# Looked up at call time so tests can make retries instant.
_sleep = time.sleep


async def _async_sleep(seconds: float) -> None:
    import asyncio  # imported by the first async retry, not by `import mavi_core`

    await asyncio.sleep(seconds)


def _running_loop() -> asyncio.AbstractEventLoop:
    import asyncio

    return asyncio.get_running_loop()


_CHAT = ApiCall("POST", CHAT_PATH)


def _chat_call(body: dict[str, Any]) -> ApiCall:
    return ApiCall("POST", CHAT_PATH, json=body)


def exchange_code_call(client_id: str, code: str) -> ApiCall:
    # A code is single-use: never sent twice.
    body = {"clientId": client_id, "code": code}
    return ApiCall("POST", GET_ACCESS_TOKEN_PATH, json=body, authenticate=False, retry=False)


def refresh_call(auth: MaviTokenAuth) -> ApiCall:
    return ApiCall("POST", REFRESH_ACCESS_TOKEN_PATH, json=auth.refresh_body(), authenticate=False)


_LIMITS = httpx.Limits(
    max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS
)


@contextmanager
def _translate_transport_errors() -> Iterator[None]:
    """The one boundary where httpx exceptions become `MaviError`s."""
    try:
        yield
    except httpx.TimeoutException as exc:
        kind = type(exc).__name__.replace("Timeout", " timeout").lower()
        raise MaviTimeoutError(
            f"MAVI did not answer in time ({kind}). Try again, or raise `timeout` if the "
            "service is slow."
        ) from exc
    except httpx.ConnectError as exc:
        raise MaviConnectionError(
            f"Could not connect to MAVI ({exc}). Check base_url and the network."
        ) from exc
    except httpx.UnsupportedProtocol as exc:
        raise MaviConnectionError(
            f"base_url is not an http(s) URL ({exc}). Use e.g. https://mavi-backend.memories.ai."
        ) from exc
    except httpx.HTTPError as exc:
        raise MaviConnectionError(
            f"The connection to MAVI broke ({type(exc).__name__}: {exc}). Try again."
        ) from exc


def _resolve_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return httpx.Timeout(None, connect=DEFAULT_CONNECT_TIMEOUT)
    if timeout <= 0:
        raise MaviValidationError(f"timeout must be positive seconds, got {timeout!r}.")
    return httpx.Timeout(timeout, connect=min(DEFAULT_CONNECT_TIMEOUT, timeout))


class _BaseClient:
    """Configuration and request building shared by both clients (no I/O)."""

    def __init__(
        self,
        api_key: str | SecretLike | None,
        *,
        base_url: str | None,
        auth: MaviTokenAuth | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
    ) -> None:
        if api_key is not None and auth is not None:
            raise MaviValidationError("Pass either api_key or auth=MaviTokenAuth(...), not both.")
        plain = reveal(api_key)
        key = plain if plain is not None else os.environ.get(API_KEY_ENV)
        self._api_key = Secret(key) if key else None
        self.auth = auth
        url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        if not str(url).startswith(("http://", "https://")):
            raise MaviValidationError(f"base_url must start with http:// or https://, got {url!r}.")
        self.base_url = str(url).rstrip("/")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise MaviValidationError(f"max_retries must be an integer >= 0, got {max_retries!r}.")
        self.max_retries = max_retries
        self.timeout = _resolve_timeout(timeout)
        self.default_headers: dict[str, str] = {
            "User-Agent": f"mavi-integrations/{__version__}",
            "Accept": "text/event-stream, application/json",
            **(default_headers or {}),
        }

    def _credential(self) -> str:
        if self.auth is not None:
            return self.auth.header_value()
        if self._api_key is not None:
            return self._api_key.get_secret_value()
        raise MaviAuthenticationError(
            "No MAVI credentials: pass api_key=..., set the MAVI_API_KEY environment variable, "
            "or pass auth=MaviTokenAuth(...)."
        )

    def _build_request(
        self, http: httpx.Client | httpx.AsyncClient, call: ApiCall
    ) -> httpx.Request:
        headers = dict(self.default_headers)
        if call.authenticate:
            headers["Authorization"] = self._credential()  # raw value, no "Bearer"
        return http.build_request(
            call.method,
            self.base_url + call.path,
            json=call.json,
            params=call.params,
            files=call.files() if call.files is not None else None,
            headers=headers,
            timeout=self.timeout,
        )

    def _retry_state(self, call: ApiCall) -> RetryState:
        can_refresh = call.authenticate and self.auth is not None and self.auth.can_refresh
        return RetryState(self.max_retries if call.retry else 0, can_refresh=can_refresh)

    @staticmethod
    def _error_for(response: httpx.Response, body: bytes) -> MaviError:
        return error_for_http_status(
            response.status_code, body, retry_after=retry_after_from_headers(response.headers)
        )

    @staticmethod
    def _log_retry(action: object, error: MaviError) -> None:
        if action is REFRESH:
            logger.debug("MAVI rejected the access token; refreshing it and retrying")
        else:
            logger.debug("MAVI request failed (%s); retrying in %.2f s", error, action)

    def __repr__(self) -> str:
        credential = "token" if self.auth else ("api_key" if self._api_key else None)
        return f"{type(self).__name__}(base_url={self.base_url!r}, credentials={credential!r})"


class ChatStream(Iterator[ChatDelta]):
    """The deltas of one streamed answer; closing it (or leaving a `with` block) closes the reply.

    The request is sent when iteration starts. Failures before the first delta are retried;
    after it, a failure raises `MaviStreamError` and nothing delivered is repeated.
    """

    def __init__(self, client: MaviClient, body: dict[str, Any]) -> None:
        self._client = client
        self._body = body
        self.delivered = 0
        """How many characters of the answer were handed out so far."""
        self._deltas = self._run()

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

    def _open(self) -> tuple[httpx.Response, Iterator[str], str | None]:
        response, deltas = self._client._open_chat(self._body)
        try:
            first = next(deltas, None)
        except BaseException:
            response.close()
            raise
        return response, deltas, first

    def _run(self) -> Generator[ChatDelta, None, None]:
        response, deltas, first = self._client._call(self._open)
        try:
            if first is None:
                return
            self.delivered = len(first)
            yield ChatDelta(first)
            try:
                for delta in deltas:
                    self.delivered += len(delta)
                    yield ChatDelta(delta)
            except MaviError as error:
                raise broken_stream_error(error, self.delivered) from error
        finally:
            response.close()


class AsyncChatStream(AsyncIterator[ChatDelta]):
    """The async twin of `ChatStream`: `async for`, `aclose()`, `async with`; awaitable too."""

    def __init__(self, client: AsyncMaviClient, body: dict[str, Any]) -> None:
        self._client = client
        self._body = body
        self.delivered = 0
        """How many characters of the answer were handed out so far."""
        self._deltas = self._run()

    def __anext__(self) -> Awaitable[ChatDelta]:
        return self._deltas.__anext__()  # no coroutine frame of our own per delta

    def __aiter__(self) -> Self:
        return self

    def __await__(self) -> Generator[Any, None, Self]:
        async def itself() -> Self:
            return self

        return itself().__await__()

    async def aclose(self) -> None:
        await self._deltas.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _open(self) -> tuple[httpx.Response, AsyncIterator[str], str | None]:
        response, deltas = await self._client._open_chat(self._body)
        try:
            first = await anext(deltas, None)
        except BaseException:
            await response.aclose()
            raise
        return response, deltas, first

    async def _run(self) -> AsyncGenerator[ChatDelta, None]:
        response, deltas, first = await self._client._call(self._open)
        try:
            if first is None:
                return
            self.delivered = len(first)
            yield ChatDelta(first)
            try:
                async for delta in deltas:
                    self.delivered += len(delta)
                    yield ChatDelta(delta)
            except MaviError as error:
                raise broken_stream_error(error, self.delivered) from error
        finally:
            await response.aclose()


class MaviClient(_BaseClient):
    """Synchronous client for the MAVI video chat API.

    >>> with MaviClient(api_key="sk-...") as client:  # doctest: +SKIP
    ...     print(client.chat(video_nos=["VI..."], message="What happens?").text)
    """

    def __init__(
        self,
        api_key: str | SecretLike | None = None,
        *,
        base_url: str | None = None,
        auth: MaviTokenAuth | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            auth=auth,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=self.timeout, limits=_LIMITS, verify=shared_ssl_context()
        )

    def chat(self, video_nos: list[str], message: str, history: HistoryInput = None) -> ChatAnswer:
        """Ask about the videos and return the whole answer (`"stream": false`)."""
        body = build_chat_body(video_nos, message, history, stream=False)

        def attempt() -> str:
            response, deltas = self._open_chat(body)
            try:
                return "".join(deltas)
            finally:
                response.close()

        return ChatAnswer(text=self._call(attempt), video_nos=body["videoNos"])

    def stream_chat(
        self, video_nos: list[str], message: str, history: HistoryInput = None
    ) -> ChatStream:
        """Ask about the videos and iterate over the answer's deltas (`"stream": true`)."""
        return ChatStream(self, build_chat_body(video_nos, message, history, stream=True))

    def exchange_code(
        self, client_id: str, code: str, *, on_refresh: Callable[[MaviTokens], Any] | None = None
    ) -> MaviTokenAuth:
        """Trade the `code` sent to your callback URL for tokens (getAccessToken; not retried,
        since a code is single-use). Returns credentials to pass as `auth=`."""
        data = self._request_json(exchange_code_call(client_id, code))
        tokens = MaviTokens.from_reply(data, now=time.time())
        return MaviTokenAuth(
            tokens.access_token, tokens.refresh_token, tokens.expires_at, on_refresh
        )

    def search_videos(self, query: str) -> list[Video]:
        """Whole videos matching `query` (searchAI; unranked)."""
        return parse_videos(self._request_json(search_videos_call(query)))

    def search_moments(self, query: str, video_nos: list[str]) -> list[Moment]:
        """Moments of `video_nos` matching `query` (searchVideoFragment), start/end in seconds."""
        return parse_moments(self._request_json(search_moments_call(query, video_nos)))

    def find_moments(
        self, query: str, video_nos: list[str] | None = None, *, limit: int | None = None
    ) -> list[Moment]:
        """The moments that match `query`, best first: within `video_nos`, or else within the
        videos that searchAI finds for it. What both frameworks' retrievers return."""
        if video_nos is None:
            video_nos = [video.video_no for video in self.search_videos(query)]
            if not video_nos:
                return []
        return rank_moments(self.search_moments(query, video_nos), limit)

    def list_videos(
        self,
        *,
        status: str | None = None,
        name: str | None = None,
        start_time: datetime | float | None = None,
        end_time: datetime | float | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[Video]:
        """Every video of the library matching the filters (searchDB, all pages)."""
        pager = VideoPager(status, name, start_time, end_time, page_size)
        while (call := pager.next_call()) is not None:
            yield from pager.read(self._request_json(call))

    def upload_video(
        self,
        source: str | os.PathLike[str],
        *,
        callback_uri: str | None = None,
        progress: bool | None = None,
    ) -> Video:
        """Upload a local file, or a video at an http(s) URL; it starts UNPARSE.

        `progress`: a progress bar on stderr (default: only when stderr is a terminal)."""
        bar = upload_progress(source, progress)
        video = parse_video(self._request_json(upload_call(source, callback_uri, bar)))
        bar.finish()
        return video

    def wait_until_parsed(
        self,
        video_nos: list[str],
        timeout: float = 600.0,
        *,
        poll_interval: float = 2.0,
        progress: bool | None = None,
    ) -> list[Video]:
        """Poll until every video is PARSE; raises `MaviVideoError` if one failed, and
        `MaviTimeoutError` after `timeout` seconds."""
        watch = ParseWatch(video_nos)
        deadline = PollDeadline(timeout, time.monotonic(), poll_interval, "the videos to parse")
        bar = Progress("Parsing videos", len(watch.video_nos), progress)
        while True:
            watch.update(self.list_videos())
            bar.update(watch.parsed)
            if watch.done:
                bar.finish()
                return watch.result()
            _sleep(deadline.next_delay(time.monotonic()))

    def delete_videos(self, video_nos: list[str]) -> None:
        """Delete videos, 500 per request; deleting one twice raises `MaviConflictError`."""
        for call in delete_calls(video_nos):
            self._request_json(call)

    def transcribe(
        self,
        video_no: str,
        kind: Literal["AUDIO", "VIDEO"] = "AUDIO",
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        callback_uri: str | None = None,
    ) -> Transcript:
        """Submit a transcription (AUDIO: speech, VIDEO: what is seen) and wait for it."""
        task_no = parse_task_no(
            self._request_json(transcription_submit_call(video_no, kind, callback_uri))
        )
        deadline = PollDeadline(timeout, time.monotonic(), poll_interval, "the transcription")
        while True:
            data = self._request_json(transcription_poll_call(task_no))
            transcript = parse_transcription(data, video_no=video_no, task_no=task_no, kind=kind)
            if transcript is not None:
                return transcript
            _sleep(deadline.next_delay(time.monotonic()))

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # I/O below; every decision is made by the shared pure functions.

    def _call(self, attempt: Callable[[], _T], call: ApiCall = _CHAT) -> _T:
        state = self._retry_state(call)
        auth = self.auth if call.authenticate else None
        while True:
            generation = 0
            if auth is not None:
                if auth.needs_refresh():
                    self._refresh(auth, auth.generation)
                generation = auth.generation
            try:
                return attempt()
            except MaviError as error:
                action = state.next_action(error)
                if action is None:
                    raise
                self._log_retry(action, error)
                if action is REFRESH:
                    assert auth is not None
                    self._refresh(auth, generation)
                else:
                    _sleep(action)  # type: ignore[arg-type]

    def _send(self, request: httpx.Request) -> httpx.Response:
        logger.debug("MAVI request: %s %s", request.method, request.url)
        with _translate_transport_errors():
            response = self._http.send(request, stream=True)
            if response.status_code >= 400:
                try:
                    body = response.read()
                finally:
                    response.close()
                raise self._error_for(response, body)
        return response

    def _open_chat(self, body: dict[str, Any]) -> tuple[httpx.Response, Iterator[str]]:
        response = self._send(self._build_request(self._http, _chat_call(body)))
        return response, self._deltas(response)

    @staticmethod
    def _deltas(response: httpx.Response) -> Iterator[str]:
        decoder = ChatStreamDecoder()
        with _translate_transport_errors():
            for chunk in response.iter_bytes():
                yield from decoder.feed(chunk)
                if decoder.done:
                    return
        yield from decoder.finish()

    def _request_json(self, call: ApiCall) -> Any:
        def attempt() -> Any:
            response = self._send(self._build_request(self._http, call))
            try:
                with _translate_transport_errors():
                    content = response.read()
            finally:
                response.close()
            return parse_json_reply(content)

        return self._call(attempt, call)

    def _refresh(self, auth: MaviTokenAuth, generation: int) -> None:
        with auth.lock:
            if auth.generation != generation:
                return  # another request refreshed while this one waited
            logger.debug("MAVI: refreshing the access token")
            auth.apply_refresh(self._request_json(refresh_call(auth)))


class AsyncMaviClient(_BaseClient):
    """Asynchronous client for the MAVI video chat API; the same names as `MaviClient`.

    >>> async with AsyncMaviClient(api_key="sk-...") as client:  # doctest: +SKIP
    ...     async for delta in client.stream_chat(video_nos=["VI..."], message="What happens?"):
    ...         print(delta.text, end="")
    """

    def __init__(
        self,
        api_key: str | SecretLike | None = None,
        *,
        base_url: str | None = None,
        auth: MaviTokenAuth | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            auth=auth,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        self._injected_http = http_client
        # An httpx pool only works on the event loop that opened its connections: an owned
        # client keeps one pool per loop, so it survives `asyncio.run` being called again.
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    async def chat(
        self, video_nos: list[str], message: str, history: HistoryInput = None
    ) -> ChatAnswer:
        """Ask about the videos and return the whole answer (`"stream": false`)."""
        body = build_chat_body(video_nos, message, history, stream=False)

        async def attempt() -> str:
            response, deltas = await self._open_chat(body)
            try:
                return "".join([delta async for delta in deltas])
            finally:
                await response.aclose()

        return ChatAnswer(text=await self._call(attempt), video_nos=body["videoNos"])

    def stream_chat(
        self, video_nos: list[str], message: str, history: HistoryInput = None
    ) -> AsyncChatStream:
        """Ask about the videos; `async for` over the answer's deltas (`"stream": true`)."""
        return AsyncChatStream(self, build_chat_body(video_nos, message, history, stream=True))

    async def exchange_code(
        self, client_id: str, code: str, *, on_refresh: Callable[[MaviTokens], Any] | None = None
    ) -> MaviTokenAuth:
        """Trade the `code` sent to your callback URL for tokens (getAccessToken; not retried,
        since a code is single-use). Returns credentials to pass as `auth=`."""
        data = await self._request_json(exchange_code_call(client_id, code))
        tokens = MaviTokens.from_reply(data, now=time.time())
        return MaviTokenAuth(
            tokens.access_token, tokens.refresh_token, tokens.expires_at, on_refresh
        )

    async def search_videos(self, query: str) -> list[Video]:
        """Whole videos matching `query` (searchAI; unranked)."""
        return parse_videos(await self._request_json(search_videos_call(query)))

    async def search_moments(self, query: str, video_nos: list[str]) -> list[Moment]:
        """Moments of `video_nos` matching `query` (searchVideoFragment), start/end in seconds."""
        return parse_moments(await self._request_json(search_moments_call(query, video_nos)))

    async def find_moments(
        self, query: str, video_nos: list[str] | None = None, *, limit: int | None = None
    ) -> list[Moment]:
        """The moments that match `query`, best first: within `video_nos`, or else within the
        videos that searchAI finds for it. What both frameworks' retrievers return."""
        if video_nos is None:
            video_nos = [video.video_no for video in await self.search_videos(query)]
            if not video_nos:
                return []
        return rank_moments(await self.search_moments(query, video_nos), limit)

    async def list_videos(
        self,
        *,
        status: str | None = None,
        name: str | None = None,
        start_time: datetime | float | None = None,
        end_time: datetime | float | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Video]:
        """Every video of the library matching the filters (searchDB, all pages)."""
        pager = VideoPager(status, name, start_time, end_time, page_size)
        while (call := pager.next_call()) is not None:
            for video in pager.read(await self._request_json(call)):
                yield video

    async def upload_video(
        self,
        source: str | os.PathLike[str],
        *,
        callback_uri: str | None = None,
        progress: bool | None = None,
    ) -> Video:
        """Upload a local file, or a video at an http(s) URL; it starts UNPARSE.

        `progress`: a progress bar on stderr (default: only when stderr is a terminal)."""
        bar = upload_progress(source, progress)
        video = parse_video(await self._request_json(upload_call(source, callback_uri, bar)))
        bar.finish()
        return video

    async def wait_until_parsed(
        self,
        video_nos: list[str],
        timeout: float = 600.0,
        *,
        poll_interval: float = 2.0,
        progress: bool | None = None,
    ) -> list[Video]:
        """Poll until every video is PARSE; raises `MaviVideoError` if one failed, and
        `MaviTimeoutError` after `timeout` seconds."""
        watch = ParseWatch(video_nos)
        deadline = PollDeadline(timeout, time.monotonic(), poll_interval, "the videos to parse")
        bar = Progress("Parsing videos", len(watch.video_nos), progress)
        while True:
            watch.update([video async for video in self.list_videos()])
            bar.update(watch.parsed)
            if watch.done:
                bar.finish()
                return watch.result()
            await _async_sleep(deadline.next_delay(time.monotonic()))

    async def delete_videos(self, video_nos: list[str]) -> None:
        """Delete videos, 500 per request; deleting one twice raises `MaviConflictError`."""
        for call in delete_calls(video_nos):
            await self._request_json(call)

    async def transcribe(
        self,
        video_no: str,
        kind: Literal["AUDIO", "VIDEO"] = "AUDIO",
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        callback_uri: str | None = None,
    ) -> Transcript:
        """Submit a transcription (AUDIO: speech, VIDEO: what is seen) and wait for it."""
        task_no = parse_task_no(
            await self._request_json(transcription_submit_call(video_no, kind, callback_uri))
        )
        deadline = PollDeadline(timeout, time.monotonic(), poll_interval, "the transcription")
        while True:
            data = await self._request_json(transcription_poll_call(task_no))
            transcript = parse_transcription(data, video_no=video_no, task_no=task_no, kind=kind)
            if transcript is not None:
                return transcript
            await _async_sleep(deadline.next_delay(time.monotonic()))

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._injected_http is not None:
            return self._injected_http
        loop = _running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = httpx.AsyncClient(
                timeout=self.timeout, transport=ShardedAsyncTransport()
            )
        return pool

    async def aclose(self) -> None:
        """Close the connection pool of the running loop (pools of ended loops died with them)."""
        pool = self._pools.pop(_running_loop(), None)
        self._pools.clear()
        if pool is not None:
            await pool.aclose()

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

    # I/O below; every decision is made by the shared pure functions.

    async def _call(
        self, attempt: Callable[[], Coroutine[Any, Any, _T]], call: ApiCall = _CHAT
    ) -> _T:
        state = self._retry_state(call)
        auth = self.auth if call.authenticate else None
        while True:
            generation = 0
            if auth is not None:
                if auth.needs_refresh():
                    await self._refresh(auth, auth.generation)
                generation = auth.generation
            try:
                return await attempt()
            except MaviError as error:
                action = state.next_action(error)
                if action is None:
                    raise
                self._log_retry(action, error)
                if action is REFRESH:
                    assert auth is not None
                    await self._refresh(auth, generation)
                else:
                    await _async_sleep(action)  # type: ignore[arg-type]

    async def _send(self, request: httpx.Request) -> httpx.Response:
        logger.debug("MAVI request: %s %s", request.method, request.url)
        with _translate_transport_errors():
            response = await self._http.send(request, stream=True)
            if response.status_code >= 400:
                try:
                    body = await response.aread()
                finally:
                    await response.aclose()
                raise self._error_for(response, body)
        return response

    async def _open_chat(self, body: dict[str, Any]) -> tuple[httpx.Response, AsyncIterator[str]]:
        response = await self._send(self._build_request(self._http, _chat_call(body)))
        return response, self._deltas(response)

    @staticmethod
    async def _deltas(response: httpx.Response) -> AsyncIterator[str]:
        decoder = ChatStreamDecoder()
        with _translate_transport_errors():
            async for chunk in response.aiter_bytes():
                for delta in decoder.feed(chunk):
                    yield delta
                if decoder.done:
                    return
        for delta in decoder.finish():
            yield delta

    async def _request_json(self, call: ApiCall) -> Any:
        async def attempt() -> Any:
            response = await self._send(self._build_request(self._http, call))
            try:
                with _translate_transport_errors():
                    content = await response.aread()
            finally:
                await response.aclose()
            return parse_json_reply(content)

        return await self._call(attempt, call)

    async def _refresh(self, auth: MaviTokenAuth, generation: int) -> None:
        async with auth.async_lock():
            if auth.generation != generation:
                return  # another task refreshed while this one waited
            logger.debug("MAVI: refreshing the access token")
            data = await self._request_json(refresh_call(auth))
            auth.apply_refresh(data)
