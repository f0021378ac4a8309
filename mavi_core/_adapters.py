"""What the adapters share, and only they: one pair of clients over one settings object, and the
helpers both map with. Not public API: the names users rely on are exported by `mavi_core`.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeAlias, TypeVar

from ._exceptions import MaviValidationError
from ._extras import missing_extra
from ._history import ChatPrompt, Role, conversation_to_chat
from ._models import rank_score
from ._request import normalize_video_nos
from ._secret import given
from ._settings import (
    MaviSettings,
    check_api_version,
    check_default_headers,
    check_timeout,
)
from ._watch import WaitWatcher, wait_watcher, watching_waits

if TYPE_CHECKING:
    import httpx

    from ._client import AsyncMaviClient, MaviClient
    from ._videos import check_search_type, describe_moment, moment_metadata, moment_scores

__all__ = [
    "AsyncWatched",
    "ChatPrompt",
    "ClientPair",
    "ClosedAfter",
    "Role",
    "SessionMessage",
    "WaitWatcher",
    "Watched",
    "call_video_nos",
    "check_client",
    "check_search_type",
    "continue_conversation",
    "conversation_to_chat",
    "describe_moment",
    "latest_session",
    "missing_extra",
    "moment_metadata",
    "moment_scores",
    "normalize_video_nos",
    "rank_score",
    "resolve_video_nos",
    "transcript_options",
    "wait_watcher",
    "watching_waits",
]

_T = TypeVar("_T")

SessionMessage: TypeAlias = tuple[Role, str, "str | None"]
"""One message as the v1.2 session rule reads it: role, text, and the session id an assistant
message carries (None for every other message)."""


def check_client(client: object, name: str, *, asynchronous: bool) -> None:
    """`MaviValidationError` unless an adapter's injected `client` / `async_client` is None or
    a `MaviClient` / `AsyncMaviClient` as `asynchronous` says."""
    if client is None:
        return
    from ._client import AsyncMaviClient, MaviClient

    expected: type = AsyncMaviClient if asynchronous else MaviClient
    if isinstance(client, expected):
        return
    advice = f"pass mavi_core.{expected.__name__}(...) or leave {name} out"
    import httpx

    if isinstance(client, httpx.Client | httpx.AsyncClient):
        advice = (
            f"wrap it: {name}=mavi_core.{expected.__name__}(http_client=...), with an "
            f"httpx.{'AsyncClient' if asynchronous else 'Client'}"
        )
    raise MaviValidationError(
        f"{name} must be a mavi_core.{expected.__name__}, got {given(client)}: {advice}."
    )


def call_video_nos(video_nos: object) -> list[str] | None:
    """A call's `video_nos=` as both adapters take it: None (not given: the component's), [] (the
    adapter says there is no video), else the list checked as every entry point checks it, so
    `video_nos=5` or `"VI1"` is a `MaviValidationError` before any request."""
    if video_nos is None:
        return None
    if isinstance(video_nos, list | tuple) and not video_nos:
        return []
    return normalize_video_nos(video_nos)


def resolve_video_nos(
    video_nos: object, default: Sequence[str], from_blocks: Sequence[str], *, empty: str
) -> list[str]:
    """Both adapters' rule: the call's videos if given (`call_video_nos`), else the component's,
    plus those named by video blocks; in order, without repeats. Raises `MaviValidationError`
    (a `ValueError`) with the adapter's message `empty` (how to name a video) when none is
    left."""
    given = call_video_nos(video_nos)
    videos = list(dict.fromkeys([*(default if given is None else given), *from_blocks]))
    if not videos:
        raise MaviValidationError(empty)
    return videos


def latest_session(sessions: Sequence[str | None]) -> tuple[str | None, int]:
    """The session a v1.2 request continues and where the messages it sends start.

    `sessions` holds each message's session id (None where it carries none). The latest message
    carrying one wins: the service holds the conversation up to it, so the request sends that
    id and only what follows it. With none, `(None, 0)`: everything is sent, no session."""
    for index in range(len(sessions) - 1, -1, -1):
        if sessions[index]:
            return sessions[index], index + 1
    return None, 0


def continue_conversation(conversation: Sequence[SessionMessage]) -> tuple[ChatPrompt, str | None]:
    """The v1.2 request for a conversation, by the one session rule both adapters keep
    (docs/v1.2.md, "Sessions"): the latest assistant message carrying a session is continued
    and only what follows it is sent (turns answered elsewhere folded into the prompt); with
    none, the whole conversation goes and a new session starts.

    Returns the prompt and the session id. Raises `ValueError` as `conversation_to_chat` does,
    e.g. when the conversation ends with an assistant message."""
    session_id, start = latest_session([session for _, _, session in conversation])
    if session_id is None:
        return conversation_to_chat((role, text) for role, text, _ in conversation), None
    if start == len(conversation):  # the session's answer is the last message: no question
        conversation_to_chat([("assistant", "")])  # raises the usual error
    prompt = conversation_to_chat((role, text) for role, text, _ in conversation[start:])
    from ._v12 import fold_history  # with the v1.2 code that folds history without a session

    turns = [{"user": turn.user, "robot": turn.robot} for turn in prompt.history]
    return ChatPrompt(message=fold_history(turns, prompt.message), history=[]), session_id


class Watched(Iterator[_T], Generic[_T]):
    """An iterator whose steps run under `watching_waits(watcher)` until the first item: a
    stream sends its request (and waits for its turn) when iteration starts, after the call that
    made it has returned. The watcher is set for the step only, never across the caller's code.
    Once an item has arrived no request is sent again (a stream is never retried after it has
    delivered), so no wait can follow: later steps go straight to the stream."""

    __slots__ = ("_items", "_watcher")

    def __init__(self, items: Iterator[_T], watcher: WaitWatcher | None) -> None:
        self._items = items
        self._watcher = watcher

    def __iter__(self) -> Watched[_T]:
        return self

    def __next__(self) -> _T:
        watcher = self._watcher
        if watcher is None:
            return next(self._items)
        with watching_waits(watcher):
            item = next(self._items)
        self._watcher = None
        return item

    def close(self) -> None:
        """Close the iterator wrapped (a generator, a stream), as a generator's `close()`."""
        close = getattr(self._items, "close", None)
        if close is not None:
            close()


class AsyncWatched(AsyncIterator[_T], Generic[_T]):
    """The async twin of `Watched`."""

    __slots__ = ("_items", "_watcher")

    def __init__(self, items: AsyncIterator[_T], watcher: WaitWatcher | None) -> None:
        self._items = items
        self._watcher = watcher

    def __aiter__(self) -> AsyncWatched[_T]:
        return self

    async def __anext__(self) -> _T:
        watcher = self._watcher
        if watcher is None:
            return await anext(self._items)
        with watching_waits(watcher):
            item = await anext(self._items)
        self._watcher = None
        return item

    async def aclose(self) -> None:
        """Close the iterator wrapped, as an async generator's `aclose()`."""
        aclose = getattr(self._items, "aclose", None)
        if aclose is not None:
            await aclose()


class _AsyncClosable(Protocol):
    def aclose(self) -> Awaitable[None]: ...


class ClosedAfter:
    """`async with ClosedAfter(items):` in an async generator closes `items` (an async
    generator or a stream it reads) when the block ends, except when the generator itself is
    being closed early (`GeneratorExit`: its reader dropped it, or its event loop is ending).

    Then `items` is left to close itself once freed, as asyncio closes every async generator
    it finalizes. Awaiting its close here would close it twice at once when a loop ends:
    `asyncio.run` closes all the async generators still open together, the outer one's close
    would close the inner one while asyncio's own close of it runs, and one of the two fails
    ("aclose(): asynchronous generator is already running", logged by asyncio)."""

    __slots__ = ("_items",)

    def __init__(self, items: _AsyncClosable) -> None:
        self._items = items

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None or not issubclass(kind, GeneratorExit):
            await self._items.aclose()


_FROM_VIDEOS = frozenset(
    {"check_search_type", "describe_moment", "moment_metadata", "moment_scores"}
)


def __getattr__(name: str) -> Any:
    # The moment helpers load with the retrievers that use them, not with every adapter.
    if name in _FROM_VIDEOS:
        from . import _videos

        return getattr(_videos, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def transcript_options(source: Any) -> dict[str, Any]:
    """The `get_transcripts` arguments of a transcript loader (LangChain) or reader (LlamaIndex),
    which name their options alike."""
    return {
        "video_nos": source.video_nos,
        "kinds": source.kinds,
        "timeout": source.transcription_timeout,
        "poll_interval": source.poll_interval,
        "progress": source.progress,
        "cache_dir": source.cache_dir,
        "unique_id": source.unique_id,
    }


class ClientPair:
    """One `MaviClient` and one `AsyncMaviClient` over one `MaviSettings`, built on first use.

    Every component of both adapters reaches MAVI through one of these, so every option (key,
    base URL, timeout as seconds or `httpx.Timeout`, retries, default headers, bounds) reaches
    both clients through one place, and the environment is read once, when the settings are
    resolved. LlamaIndex runs coroutines on fresh loops; `AsyncMaviClient` keeps a pool per loop,
    so one client serves them all. Injected clients are used as given and never closed here.
    """

    def __init__(
        self,
        *,
        api_key: Any = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
        client: MaviClient | None = None,
        async_client: AsyncMaviClient | None = None,
        api_version: str | None = None,
        rate_limit: Any = "auto",
    ) -> None:
        # Wrong types fail here, when the component is built, not at its first request.
        check_client(client, "client", asynchronous=False)
        check_client(async_client, "async_client", asynchronous=True)
        if timeout is not None:
            check_timeout(timeout)
        check_default_headers(default_headers)
        options: dict[str, Any] = {"base_url": base_url, "default_headers": default_headers}
        if api_version is not None:  # else MAVI_API_VERSION (checked with the settings)
            options["api_version"] = check_api_version(api_version, None)
        if timeout is not None:
            options["timeout"] = timeout
        if max_retries is not None:
            options["max_retries"] = max_retries
        self._api_key = api_key
        self._options = options
        # A backend URL opens its store here ("auto" waits for the base URL, with the settings).
        from ._quota import check_rate_limit  # with the first component, not at import

        self._rate_limit_option = rate_limit  # a URL is pickled as the URL
        self._rate_limit = check_rate_limit(rate_limit)
        self._settings: MaviSettings | None = None
        self._client = client
        self._owns_client = client is None
        self._async_client = async_client
        self._owns_async_client = async_client is None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """What a pickled component carries: its options, never its key, clients or locks.

        The copy reads `MAVI_API_KEY` where it is unpickled, as LangChain's `loads` reads
        secrets from the environment (docs/client.md, "Secrets, copies and pickles")."""
        if not (self._owns_client and self._owns_async_client):
            raise TypeError(
                "A MAVI component given client= or async_client= cannot be pickled (an HTTP "
                "client cannot): build it with its connection options (base_url=, timeout=, ...) "
                "instead, and set MAVI_API_KEY where it is unpickled."
            )
        return {"options": self._options, "rate_limit": self._rate_limit_option}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            api_key=None, rate_limit=state["rate_limit"], **state["options"]
        )

    def replaced(self, **changes: Any) -> ClientPair:
        """A pair with some connection options changed (a component's copy given another
        `base_url` or key); the quota and injected clients are kept."""
        options = {**self._options, **changes}
        return ClientPair(
            api_key=options.pop("api_key", self._api_key),
            client=None if self._owns_client else self._client,
            async_client=None if self._owns_async_client else self._async_client,
            rate_limit=self._rate_limit_option,
            **options,
        )

    def __copy__(self) -> ClientPair:
        return self  # copies of a component share its clients (they are closed once)

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientPair:
        return self

    @property
    def settings(self) -> MaviSettings:
        """The resolved settings (the environment is read here, once)."""
        if self._settings is None:
            self._settings = MaviSettings.resolve(self._api_key, **self._options)
        return self._settings

    def scope(self, unique_id: object) -> str | None:
        """`unique_id` (the namespace) checked for these clients' dialect when a component is
        built, by the rule the clients apply at each call: v1.0 refuses one, v1.2 takes a
        non-empty string. An injected client's dialect is the one its requests speak."""
        if unique_id is None:
            return None
        from ._dialect import dialect_of  # with the v1.2 code, when a namespace is named

        client = self._client or self._async_client
        version = self.settings.api_version if client is None else client.api_version
        return dialect_of(version).scope(unique_id)

    def sync(self) -> MaviClient:
        """The sync client (created on first use)."""
        if self._client is not None:
            return self._client
        with self._lock:
            if self._client is None:
                from ._client import MaviClient  # loads httpx on first use, not at import

                self._client = MaviClient(settings=self.settings, rate_limit=self._rate_limit)
            return self._client

    def async_(self) -> AsyncMaviClient:
        """The async client (created on first use)."""
        if self._async_client is not None:
            return self._async_client
        with self._lock:
            if self._async_client is None:
                from ._client import AsyncMaviClient

                self._async_client = AsyncMaviClient(
                    settings=self.settings, rate_limit=self._rate_limit
                )
            return self._async_client

    def close(self) -> None:
        """Close the sync client if it was created here."""
        if not self._owns_client:
            return
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the async client's pools (every event loop's), if the client was created here."""
        if not self._owns_async_client:
            return
        with self._lock:  # a closed client refuses requests: the next call makes a new one
            client, self._async_client = self._async_client, None
        if client is not None:
            await client.aclose()
