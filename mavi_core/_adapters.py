"""What the adapters share, and only they: one pair of clients over one settings object, and the
helpers both map with (docs/ARCHITECTURE.md, "One adapter contract")."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol, TypeAlias

from ._exceptions import MaviValidationError
from ._models import ChatTurn
from ._request import normalize_video_nos as normalize_video_nos
from ._settings import MaviSettings, check_api_version, check_default_headers, check_timeout, ensure

if TYPE_CHECKING:
    import httpx

    from ._client import AsyncMaviClient, MaviClient

Role: TypeAlias = Literal["system", "user", "assistant"]
SessionMessage: TypeAlias = tuple[Role, str, "str | None"]  # role, text, an answer's session id


def check_client(client: object, name: str, *, asynchronous: bool) -> None:
    """An adapter's injected `client` / `async_client` is None or a client of that kind."""
    if client is None:
        return
    import httpx

    from ._client import AsyncMaviClient, MaviClient

    expected = AsyncMaviClient if asynchronous else MaviClient
    shown = f"mavi_core.{expected.__name__}"
    advice = f"pass {shown}(...) or leave {name} out"
    if isinstance(client, httpx.Client | httpx.AsyncClient):
        http = "httpx.AsyncClient" if asynchronous else "httpx.Client"
        advice = f"wrap it: {name}={shown}(http_client=...), with an {http}"
    ensure(isinstance(client, expected), client, f"{name} must be a {shown}", advice)


class ChatPrompt(NamedTuple):
    """What one chat request sends: the outgoing `message` and the earlier turns."""

    message: str
    history: list[ChatTurn]


def _join(texts: list[str]) -> str:
    """Texts joined by a blank line; empty ones (a message holding only a video) add nothing."""
    return "\n\n".join(text for text in texts if text)


def conversation_to_chat(conversation: Iterable[tuple[Role, str]]) -> ChatPrompt:
    """(role, text) pairs as the v1.0 chat's `message` and `history`, or a `ValueError` saying what
    to change (docs/errors-and-wire.md#conversations-messages-to-message--history)."""
    texts: dict[Role, list[str]] = {"system": [], "user": [], "assistant": []}
    history: list[ChatTurn] = []
    for role, text in conversation:
        if role not in texts:
            raise MaviValidationError(
                f"unknown role {role!r}: use 'system', 'user' or 'assistant'."
            )
        if role == "user" and texts["assistant"]:  # a user text after assistant text: a turn
            history.append(ChatTurn(user=_join(texts["user"]), robot=_join(texts["assistant"])))
            texts["user"], texts["assistant"] = [], []
        texts[role].append(text)
    if texts["assistant"]:
        raise MaviValidationError(
            "The conversation ends with an assistant message, so there is no question to send. "
            "End it with a user (human) message."
        )
    if not texts["user"]:
        raise MaviValidationError(
            "The conversation has no user (human) message to send as the question."
        )
    message = _join(texts["user"])
    if not message.strip():
        raise MaviValidationError("The last user (human) message is empty: put the question in it.")
    return ChatPrompt(message=_join([_join(texts["system"]), message]), history=history)


def resolve_video_nos(
    video_nos: object, default: Sequence[str], from_blocks: Sequence[str], *, empty: str
) -> list[str]:
    """A call's `video_nos` (`[]`: none) else the component's, then those of video blocks, without
    repeats; `MaviValidationError(empty)` when none is left (docs/errors-and-wire.md)."""
    if video_nos is None:
        videos = list(default)
    elif isinstance(video_nos, list | tuple) and not video_nos:
        videos = []
    else:
        videos = normalize_video_nos(video_nos)
    videos = list(dict.fromkeys([*videos, *from_blocks]))
    if not videos:
        raise MaviValidationError(empty)
    return videos


def latest_session(sessions: Sequence[str | None]) -> tuple[str | None, int]:
    """The session a v1.2 request continues and where its messages start (docs/v1.2.md)."""
    start = next((index + 1 for index in reversed(range(len(sessions))) if sessions[index]), 0)
    return (sessions[start - 1] if start else None), start


def continue_conversation(conversation: Sequence[SessionMessage]) -> tuple[ChatPrompt, str | None]:
    """The v1.2 prompt and session id for a conversation, by the one session rule (docs/v1.2.md)."""
    session_id, start = latest_session([session for _, _, session in conversation])
    # Nothing after the session's answer: the usual "ends with an assistant message" error.
    rest = conversation[start:] or conversation[-1:]
    prompt = conversation_to_chat((role, text) for role, text, _ in rest)
    if session_id is None:
        return prompt, None
    from ._v12 import fold_history  # with the v1.2 code that folds history without a session

    turns = [turn.to_dict() for turn in prompt.history]
    return ChatPrompt(message=fold_history(turns, prompt.message), history=[]), session_id


class _AsyncClosable(Protocol):
    def aclose(self) -> Awaitable[None]: ...


class ClosedAfter:
    """`async with ClosedAfter(items):` in an async generator closes `items` when the block ends,
    unless on `GeneratorExit` (docs/ARCHITECTURE.md, "Async streams dropped without `aclose()`")."""

    __slots__ = ("_items",)

    def __init__(self, items: _AsyncClosable) -> None:
        self._items = items

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None or not issubclass(kind, GeneratorExit):
            await self._items.aclose()


def transcript_options(source: Any) -> dict[str, Any]:
    """The `get_transcripts` arguments of a transcript loader or reader (their options match)."""
    names = ("video_nos", "kinds", "poll_interval", "progress", "cache_dir", "unique_id")
    return {"timeout": source.transcription_timeout} | {n: getattr(source, n) for n in names}


class ClientPair:
    """A `MaviClient` and an `AsyncMaviClient` over one `MaviSettings`, built on first use; injected
    clients are used as given, never closed. Every adapter component reaches MAVI through one."""

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
        check_default_headers(default_headers)
        check_timeout(timeout)
        if api_version is not None:  # else MAVI_API_VERSION (checked with the settings)
            api_version = check_api_version(api_version, None)
        optional = {"api_version": api_version, "timeout": timeout, "max_retries": max_retries}
        self._options: dict[str, Any] = {"base_url": base_url, "default_headers": default_headers}
        self._options |= {name: value for name, value in optional.items() if value is not None}
        self._api_key = api_key
        from ._quota import resolve_rate_limit  # with the first component, not at import

        self._rate_limit_option = rate_limit  # a URL is pickled as the URL
        self._rate_limit = resolve_rate_limit(rate_limit)  # a backend URL opens its store here
        self._given: dict[str, Any] = {"client": client, "async_client": async_client}
        self._client = client
        self._async_client = async_client
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Its options, never its key or clients (docs/client.md, "Secrets, copies and pickles")."""
        if any(client is not None for client in self._given.values()):
            raise TypeError(
                "A MAVI component given client= or async_client= cannot be pickled (an HTTP "
                "client cannot): build it with its connection options (base_url=, timeout=, ...) "
                "instead, and set MAVI_API_KEY where it is unpickled."
            )
        return {"options": self._options, "rate_limit": self._rate_limit_option}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(rate_limit=state["rate_limit"], **state["options"])  # type: ignore[misc]

    def replaced(self, **changes: Any) -> ClientPair:
        """A pair with some connection options changed; the quota and injected clients kept."""
        kept = {"api_key": self._api_key, "rate_limit": self._rate_limit_option, **self._given}
        return ClientPair(**{**kept, **self._options, **changes})

    def __deepcopy__(self, memo: object = None) -> ClientPair:
        return self  # copies of a component share its clients (they are closed once)

    __copy__ = __deepcopy__

    @cached_property
    def settings(self) -> MaviSettings:
        """The resolved settings (the environment is read here, once)."""
        return MaviSettings.resolve(self._api_key, **self._options)

    def scope(self, unique_id: object) -> str | None:
        """`unique_id` checked for the dialect of an injected client, else of the settings."""
        if unique_id is None:
            return None
        from ._dialect import dialect_of  # with the v1.2 code, when a namespace is named

        client = self._client or self._async_client
        version = self.settings.api_version if client is None else client.api_version
        return dialect_of(version).scope(unique_id)

    def sync(self) -> MaviClient:
        """The sync client (created on first use)."""
        with self._lock:
            if self._client is None:
                from ._client import MaviClient  # loads httpx on first use, not at import

                self._client = MaviClient(settings=self.settings, rate_limit=self._rate_limit)
            return self._client

    def async_(self) -> AsyncMaviClient:
        """The async client (created on first use)."""
        with self._lock:
            if self._async_client is None:
                from ._client import AsyncMaviClient

                self._async_client = AsyncMaviClient(
                    settings=self.settings, rate_limit=self._rate_limit
                )
            return self._async_client

    def close(self) -> None:
        """Close the sync client if it was created here (an injected one is its owner's)."""
        with self._lock:  # a closed client refuses requests: the next call makes a new one
            client, self._client = self._client, self._given["client"]
        if client is not None and client is not self._client:
            client.close()

    async def aclose(self) -> None:
        """Close the async client's pools (every event loop's), if the client was created here."""
        with self._lock:
            client, self._async_client = self._async_client, self._given["async_client"]
        if client is not None and client is not self._async_client:
            await client.aclose()
