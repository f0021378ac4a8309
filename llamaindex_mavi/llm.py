"""`MaviLLM`: MAVI's video chat as a LlamaIndex LLM; both engines ask through it."""

from __future__ import annotations

from collections.abc import (
    AsyncGenerator,
    Callable,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.callbacks import CallbackManager
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUTS
from llama_index.core.instrumentation.events.exception import ExceptionEvent
from llama_index.core.llms import LLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index_instrumentation import get_dispatcher
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, field_serializer, field_validator

from mavi_core import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, ChatPrompt, normalize_video_nos

from ._clients import MaviClients, resolve_api_key
from ._messages import messages_to_request, resolve_video_nos

if TYPE_CHECKING:
    import httpx

    from mavi_core import AsyncChatStream, AsyncMaviClient, ChatStream, MaviClient, RateLimit

__all__ = ["MAVI_CONTEXT_WINDOW", "MAVI_MODEL_NAME", "MaviLLM", "aread_ahead", "read_ahead"]

dispatcher = get_dispatcher(__name__)

MAVI_MODEL_NAME = "mavi"
MAVI_CONTEXT_WINDOW = DEFAULT_CONTEXT_WINDOW
"""MAVI publishes no context window (in tokens) for its chat. Until it does, `MaviLLM` reports
LlamaIndex's conservative default (3,900), so prompt helpers and chat memories keep requests
small; pass `context_window=` if you know better."""

_Item = TypeVar("_Item")
_NOTHING: Any = object()


class MaviLLM(LLM):
    """MAVI's video chat (`POST /api/serve/video/chat`) as a LlamaIndex chat LLM.

    >>> llm = MaviLLM(video_nos=["VI123"])                  # MAVI_API_KEY from the environment
    >>> llm.complete("What happens in the video?").text     # doctest: +SKIP
    >>> for item in llm.stream_chat([ChatMessage(role="user", content="Who speaks?")]):
    ...     print(item.delta, end="")                        # doctest: +SKIP

    Every answer is about videos. They are the per-call `video_nos=[...]` keyword if given, else
    the LLM's `video_nos`, plus any video a message names with `VideoBlock(url="mavi://<videoNo>")`
    (`llamaindex_mavi.video_block(video_no)` builds one). No video at all raises
    `MaviValidationError` (a `ValueError`) before any request.

    `chat` / `stream_chat` map the messages to MAVI's `message` and `history` (`{user, robot}`
    turns): system texts go in front of the last user text; tool messages and image, audio or
    document blocks raise `ValueError` naming what to change. `complete` sends the prompt as the
    message, with no history. Other keyword arguments are accepted and not sent: MAVI has no
    sampling options. Streams yield items holding the text so far (`.text` / `.message.content`)
    and the new piece (`.delta`); the request is sent when iteration starts.

    Args:
        video_nos: The videos asked about by default.
        api_key: Defaults to `MAVI_API_KEY`; a `SecretStr`, left out of `repr()` and of every
            dump (`model_dump`, `to_dict`, `to_json`) and event payload. A missing key fails at
            the first request with `MaviAuthenticationError`.
        base_url: Defaults to `MAVI_BASE_URL`, then `https://mavi-backend.memories.ai`.
        timeout: Seconds (or an `httpx.Timeout`) per request and per silent gap in a stream.
        max_retries: Retries on connection errors, timeouts, 429 and 5xx, before any delta.
        default_headers: Extra HTTP headers for every request (left out of dumps: they may hold
            credentials).
        context_window: What `metadata` reports; see `MAVI_CONTEXT_WINDOW`.
        rate_limit: The key's shared budget, as for `MaviQueryEngine`.
        client / async_client: `mavi_core` clients to use instead of building them (then the
            connection options are theirs); never closed here.

    Errors are `mavi_core`'s, unchanged (`MaviAuthenticationError`, `MaviRateLimitError`,
    `MaviServerError`, ...; a stream that breaks after its first delta raises `MaviStreamError`).
    LlamaIndex's `llm_chat_callback` / `llm_completion_callback` report every call to callback
    handlers and the instrumentation dispatcher.
    """

    model_config = ConfigDict(validate_assignment=True)

    video_nos: list[str] = Field(
        default_factory=list, description="The MAVI videos (videoNos) asked about by default."
    )
    context_window: int = Field(default=MAVI_CONTEXT_WINDOW, gt=0)
    # The connection is fixed once the clients exist: frozen, so that what is shown is what is used.
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False, frozen=True)
    base_url: str | None = Field(
        default=None, description="None: MAVI_BASE_URL, then MAVI's.", frozen=True
    )
    timeout: Any = Field(
        default=DEFAULT_TIMEOUT,
        description="Seconds or an httpx.Timeout; None: no timeout.",
        frozen=True,
    )
    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, ge=0, frozen=True)
    default_headers: dict[str, str] | None = Field(
        default=None, exclude=True, repr=False, frozen=True
    )

    _clients: MaviClients = PrivateAttr()

    def __init__(
        self,
        video_nos: Sequence[str] | None = None,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        callback_manager: CallbackManager | None = None,
        client: MaviClient | None = None,
        async_client: AsyncMaviClient | None = None,
        rate_limit: RateLimit | str | None = "auto",
        **kwargs: Any,
    ) -> None:
        if callback_manager is not None:
            kwargs["callback_manager"] = callback_manager
        super().__init__(
            video_nos=normalize_video_nos(video_nos) if video_nos else [],  # raised as is
            api_key=resolve_api_key(api_key),
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=dict(default_headers) if default_headers is not None else None,
            **kwargs,
        )
        self._clients = MaviClients(
            api_key=self.api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=self.default_headers,
            client=client,
            async_client=async_client,
            rate_limit=rate_limit,
        )

    @classmethod
    def class_name(cls) -> str:
        return "MaviLLM"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=DEFAULT_NUM_OUTPUTS,
            is_chat_model=True,
            is_function_calling_model=False,
            model_name=MAVI_MODEL_NAME,
        )

    def to_payload(self) -> dict[str, Any]:
        """What tracing sees of this LLM: its metadata, base URL and videos, never credentials."""
        return {**super().to_payload(), "base_url": self.base_url, "video_nos": self.video_nos}

    @field_validator("video_nos", mode="before")
    @classmethod
    def _checked_video_nos(cls, video_nos: Any) -> Any:
        return normalize_video_nos(video_nos) if video_nos else []

    @field_serializer("timeout")
    def _timeout_as_data(self, timeout: Any) -> Any:
        return timeout.as_dict() if hasattr(timeout, "as_dict") else timeout

    def close(self) -> None:
        """Close the sync HTTP client built here (shared with copies), if any."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close the async HTTP client built for the running event loop, if any."""
        await self._clients.aclose()

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        with _reported():
            video_nos, prompt = self._request(messages, kwargs)
            answer = self._clients.sync().chat(video_nos, prompt.message, prompt.history)
        return _chat_response(answer.text, None)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        with _reported():
            video_nos, prompt = self._request(messages, kwargs)
            answer = await self._clients.async_().chat(video_nos, prompt.message, prompt.history)
        return _chat_response(answer.text, None)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        with _reported():
            video_nos, prompt = self._request(messages, kwargs)
            stream = self._clients.sync().stream_chat(video_nos, prompt.message, prompt.history)
        return _responses(stream, _chat_response)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        with _reported():
            video_nos, prompt = self._request(messages, kwargs)
            stream = self._clients.async_().stream_chat(video_nos, prompt.message, prompt.history)
        return _aresponses(stream, _chat_response)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        with _reported():
            answer = self._clients.sync().chat(self._videos(kwargs), prompt)
        return CompletionResponse(text=answer.text)

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        with _reported():
            answer = await self._clients.async_().chat(self._videos(kwargs), prompt)
        return CompletionResponse(text=answer.text)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        with _reported():
            stream = self._clients.sync().stream_chat(self._videos(kwargs), prompt)
        return _responses(stream, _completion)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        with _reported():
            stream = self._clients.async_().stream_chat(self._videos(kwargs), prompt)
        return _aresponses(stream, _completion)

    def _videos(self, kwargs: Mapping[str, Any], from_blocks: Sequence[str] = ()) -> list[str]:
        return resolve_video_nos(kwargs.get("video_nos"), self.video_nos, from_blocks)

    def _request(
        self, messages: Sequence[ChatMessage], kwargs: Mapping[str, Any]
    ) -> tuple[list[str], ChatPrompt]:
        prompt, from_blocks = messages_to_request(messages)
        return self._videos(kwargs, from_blocks), prompt


@contextmanager
def _reported() -> Iterator[None]:
    # The framework's decorators report a failed stream with an `ExceptionEvent` but a failed
    # call only to callbacks: report both alike.
    try:
        yield
    except Exception as error:
        dispatcher.event(ExceptionEvent(exception=error))
        raise


def _chat_response(text: str, delta: str | None) -> ChatResponse:
    return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta)


def _completion(text: str, delta: str) -> CompletionResponse:
    return CompletionResponse(text=text, delta=delta)


def _responses(
    stream: ChatStream, make: Callable[[str, str], _Item]
) -> Generator[_Item, None, None]:
    """LlamaIndex stream items (text so far and delta) from MAVI deltas; at least one item."""
    text = ""
    delta = None
    with stream:  # closing the generator early closes the HTTP response
        for delta in stream:
            text += delta.text
            yield make(text, delta.text)
    if delta is None:
        yield make("", "")  # an empty answer still ends as an answer, e.g. in a chat memory


async def _aresponses(
    stream: AsyncChatStream, make: Callable[[str, str], _Item]
) -> AsyncGenerator[_Item, None]:
    text = ""
    delta = None
    async with stream:
        async for delta in stream:
            text += delta.text
            yield make(text, delta.text)
    if delta is None:
        yield make("", "")


def read_ahead(stream: Generator[_Item, None, None]) -> Generator[_Item, None, None]:
    """Read the first item now (sending the request, so early failures raise here) and return
    a generator that yields it and then the rest; closing the result closes `stream`."""
    first = next(stream, _NOTHING)

    def items() -> Generator[_Item, None, None]:
        if first is not _NOTHING:
            yield first
        yield from stream

    return items()


async def aread_ahead(stream: AsyncGenerator[_Item, None]) -> AsyncGenerator[_Item, None]:
    """The async twin of `read_ahead`; closing the result closes `stream`."""
    first = await anext(stream, _NOTHING)

    async def items() -> AsyncGenerator[_Item, None]:
        try:
            if first is not _NOTHING:
                yield first
            async for item in stream:
                yield item
        finally:
            await stream.aclose()

    return items()


class LLMConnection:
    """What an engine asking through a `MaviLLM` shows of it: the LLM and its connection."""

    _llm: MaviLLM

    def _use_llm(
        self,
        llm: MaviLLM | None,
        callback_manager: CallbackManager,
        *,
        api_key: str | SecretStr | None,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        client: MaviClient | None,
        async_client: AsyncMaviClient | None,
        rate_limit: RateLimit | str | None = "auto",
    ) -> None:
        """Ask through `llm`, or through a new `MaviLLM` built from the connection options."""
        options: dict[str, Any] = {
            "api_key": api_key,
            "base_url": base_url,
            "default_headers": default_headers,
            "client": client,
            "async_client": async_client,
        }
        if llm is not None:
            given = [name for name, value in options.items() if value is not None]
            given += ["timeout"] * (timeout != DEFAULT_TIMEOUT)
            given += ["max_retries"] * (max_retries != DEFAULT_MAX_RETRIES)
            given += ["rate_limit"] * (rate_limit != "auto")
            if given:
                raise ValueError(
                    f"Pass either llm=MaviLLM(...) or connection options, not both (got "
                    f"{', '.join(given)}): the LLM's own connection is used."
                )
            self._llm = llm
            return
        self._llm = MaviLLM(
            timeout=timeout,
            max_retries=max_retries,
            callback_manager=callback_manager,
            rate_limit=rate_limit,
            **options,
        )

    @property
    def llm(self) -> MaviLLM:
        """The `MaviLLM` this engine asks through."""
        return self._llm

    @property
    def api_key(self) -> SecretStr | None:
        """The MAVI key in use (a `SecretStr`), or None if none was given or found."""
        return self._llm.api_key

    @property
    def base_url(self) -> str | None:
        """The base URL given (None: `MAVI_BASE_URL`, then the default)."""
        return self._llm.base_url

    @property
    def timeout(self) -> float | httpx.Timeout | None:
        return self._llm.timeout  # type: ignore[no-any-return]

    @property
    def max_retries(self) -> int:
        return self._llm.max_retries

    def close(self) -> None:
        """Close the sync HTTP client built here (shared with copies), if any."""
        self._llm.close()

    async def aclose(self) -> None:
        """Close the async HTTP client built for the running event loop, if any."""
        await self._llm.aclose()
