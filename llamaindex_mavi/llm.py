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
from itertools import chain
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar, Unpack, cast

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CitationBlock,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
    TextBlock,
    ThinkingBlock,
)
from llama_index.core.callbacks import CallbackManager
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUTS
from llama_index.core.instrumentation.events.exception import ExceptionEvent
from llama_index.core.llms import LLM
from llama_index_instrumentation import get_dispatcher
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_serializer,
    field_validator,
)

from mavi_core import ChatAnswer, ChatDelta, MaviValidationError, SessionDetail, Thinking
from mavi_core._adapters import (
    ClosedAfter,
    continue_conversation,
    normalize_video_nos,
    resolve_video_nos,
)
from mavi_core._options import refuse_unknown
from mavi_core._settings import check_default_headers
from mavi_core._watch import watching_waits
from mavi_core.constants import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT

from ._callbacks import chat_callback, completion_callback
from ._clients import (
    CONNECTION_OPTIONS,
    DEFAULTS,
    ConnectionOptions,
    MaviClients,
    api_key_of,
    connection_options,
    namespaced_clients,
)
from ._messages import NO_VIDEO, SESSION_KEY, conversation_of
from ._refs import citation_block, thinking_block
from ._spans import presigned
from .events import report_wait

if TYPE_CHECKING:
    import httpx

    from mavi_core import AsyncChatStream, ChatStream

__all__ = [
    "MAVI_CONTEXT_WINDOW",
    "MAVI_MODEL_NAME",
    "MaviLLM",
    "afirst",
    "aread_ahead",
    "read_ahead",
]

dispatcher = get_dispatcher(__name__)

MAVI_MODEL_NAME = "mavi"
MAVI_CONTEXT_WINDOW = DEFAULT_CONTEXT_WINDOW
"""MAVI publishes no context window (in tokens) for its chat. Until it does, `MaviLLM` reports
LlamaIndex's conservative default (3,900), so prompt helpers and chat memories keep requests
small; pass `context_window=` if you know better."""

_Item = TypeVar("_Item")
_Sent = TypeVar("_Sent")
_NOTHING: Any = object()


_CONNECTION: Final = frozenset(
    {"api_key", "base_url", "timeout", "max_retries", "api_version", "default_headers"}
)
"""MaviLLM's fields its clients are built from."""


class MaviLLMOptions(ConnectionOptions, total=False):
    """`MaviLLM`'s keyword options: the connection, `context_window`, and LlamaIndex's LLM
    fields (prompt hooks and program mode, as every LlamaIndex LLM takes them)."""

    context_window: int
    system_prompt: str | None
    messages_to_prompt: Any
    completion_to_prompt: Any
    output_parser: Any
    pydantic_program_mode: Any
    query_wrapper_prompt: Any
    rate_limiter: Any


@presigned
class MaviLLM(LLM):
    """MAVI's video chat as a LlamaIndex chat LLM over the videos it holds (docs/llamaindex-llm.md).

    >>> llm = MaviLLM(video_nos=["VI123"])                  # MAVI_API_KEY from the environment
    >>> llm.complete("What happens in the video?").text     # doctest: +SKIP

    Every answer is about videos: the per-call `video_nos=[...]`, else the LLM's, plus any
    `VideoBlock(url="mavi://<videoNo>")` (`video_block(video_no)`); none is a
    `MaviValidationError` before any request. `chat` maps the messages by the one rule both
    adapters keep (docs/errors-and-wire.md, "Conversations"); `complete` sends the prompt alone.
    With v1.2 an answer carries its session id, `ThinkingBlock`s and `CitationBlock`s, and
    `chat` continues the latest session in the messages (docs/v1.2.md, "Sessions"), in the
    namespace `unique_id` (per call: `unique_id=`, as `video_nos=`). Connection
    options are those of every component (docs/client.md); errors are `mavi_core`'s, unchanged.
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
    api_version: str | None = Field(
        default=None, description='"v1.0" or "v1.2"; None: MAVI_API_VERSION.', frozen=True
    )
    default_headers: dict[str, str] | None = Field(
        default=None, exclude=True, repr=False, frozen=True
    )
    unique_id: str | None = Field(
        default=None,
        description='v1.2: the namespace every request names; None: "default".',
        frozen=True,
    )

    _clients: MaviClients = PrivateAttr()

    def __init__(
        self,
        video_nos: Sequence[str] | None = None,
        *,
        callback_manager: CallbackManager | None = None,
        **options: Unpack[MaviLLMOptions],
    ) -> None:
        # Anything beyond the connection and the LLM's fields is refused, naming the closest.
        rest: dict[str, Any] = dict(options)
        if callback_manager is not None:
            rest["callback_manager"] = callback_manager
        given = {name: rest.pop(name) for name in CONNECTION_OPTIONS & set(rest)}
        valid = set(type(self).model_fields) | CONNECTION_OPTIONS
        refuse_unknown(type(self).__name__, rest, valid)
        connection = connection_options(self, cast("ConnectionOptions", given))
        # A dict (a list of pairs is refused as by the clients), checked before it is kept.
        headers = connection["default_headers"]
        connection["default_headers"] = None if headers is None else check_default_headers(headers)
        clients, unique_id = namespaced_clients(connection)
        super().__init__(
            video_nos=normalize_video_nos(video_nos) if video_nos else [],  # raised as is
            api_key=api_key_of(clients),
            unique_id=unique_id,
            **{name: connection[name] for name in _CONNECTION - {"api_key"}},
            **rest,
        )
        self._clients = clients

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
        """Close the async HTTP client built here, if any: its pools of every event loop."""
        await self._clients.aclose()

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; one given other connection fields (`base_url`, `api_key`, ...) gets clients
        of its own that use them, as LangChain components do: what is shown is what is used."""
        copied = super().model_copy(update=update, deep=deep)
        changed = {name: value for name, value in (update or {}).items() if name in _CONNECTION}
        if changed:
            copied._clients = self._clients.replaced(**changed)
            copied.__dict__["api_key"] = api_key_of(copied._clients)
        return copied

    def __getstate__(self) -> dict[Any, Any]:
        # Pickled without the key (docs/client.md, "Secrets"); the clients pickle as their options
        # (mavi_core._adapters.ClientPair), so nothing is dropped with a warning.
        self._clients.__getstate__()  # injected clients: a TypeError saying why, not dropped
        state = super().__getstate__()
        return {**state, "__dict__": {**state["__dict__"], "api_key": None}}

    def __setstate__(self, state: dict[Any, Any]) -> None:
        BaseModel.__setstate__(self, state)  # not LlamaIndex's __init__ path: clients kept
        self.__dict__["api_key"] = api_key_of(self._clients)  # MAVI_API_KEY where unpickled

    @chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        with _reported():
            client = self._clients.sync()
            answer = self._send(client.chat, messages, kwargs, client.api_version)
        return _chat_answer(answer)

    @chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        with _reported():
            client = self._clients.async_()
            answer = await self._send(client.chat, messages, kwargs, client.api_version)
        return _chat_answer(answer)

    @chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        with _reported():
            client = self._clients.sync()
            stream = self._send(client.stream_chat, messages, kwargs, client.api_version)
        return _responses(stream, _chat_item)

    @chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        with _reported():
            client = self._clients.async_()
            stream = self._send(client.stream_chat, messages, kwargs, client.api_version)
        return _aresponses(stream, _chat_item)

    def session_messages(
        self, session_id: str | int, *, unique_id: str | None = None
    ) -> list[ChatMessage]:
        """The messages of a v1.2 session the service keeps, oldest first: the user's as
        user messages, each answer as the assistant message `chat` returned for it (thinking,
        text and citation blocks; the session in `additional_kwargs["session_id"]`), so that
        `chat(messages + [question])` continues the session. `unique_id`: the namespace the
        session was opened in (None: the LLM's)."""
        with _reported():
            detail = self._clients.sync().get_session_detail(
                session_id, unique_id=self._namespace(unique_id)
            )
        return restored_messages(detail)

    async def asession_messages(
        self, session_id: str | int, *, unique_id: str | None = None
    ) -> list[ChatMessage]:
        """The async twin of `session_messages`."""
        with _reported():
            client = self._clients.async_()
            detail = await client.get_session_detail(
                session_id, unique_id=self._namespace(unique_id)
            )
        return restored_messages(detail)

    @completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        with _reported():
            answer = self._clients.sync().chat(
                self._videos(kwargs), prompt, unique_id=self._namespace(kwargs.get("unique_id"))
            )
        return _completion_answer(answer)

    @completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        with _reported():
            client = self._clients.async_()
            answer = await client.chat(
                self._videos(kwargs), prompt, unique_id=self._namespace(kwargs.get("unique_id"))
            )
        return _completion_answer(answer)

    @completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        with _reported():
            client = self._clients.sync()
            stream = client.stream_chat(
                self._videos(kwargs), prompt, unique_id=self._namespace(kwargs.get("unique_id"))
            )
        return _responses(stream, _completion_item)

    @completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        with _reported():
            client = self._clients.async_()
            stream = client.stream_chat(
                self._videos(kwargs), prompt, unique_id=self._namespace(kwargs.get("unique_id"))
            )
        return _aresponses(stream, _completion_item)

    def _namespace(self, given: str | None) -> str | None:
        """The namespace a request names: the call's `unique_id=`, else the LLM's."""
        return given or self.unique_id

    def _videos(self, kwargs: Mapping[str, Any], from_blocks: Sequence[str] = ()) -> list[str]:
        videos = kwargs.get("video_nos")
        return resolve_video_nos(videos, self.video_nos, from_blocks, empty=NO_VIDEO)

    def _send(
        self,
        method: Callable[..., _Sent],
        messages: Sequence[ChatMessage],
        kwargs: Mapping[str, Any],
        api_version: str,
    ) -> _Sent:
        """`method` (a client's `chat` or `stream_chat`) called with the videos, the prompt, the
        v1.2 session to continue (`continue_conversation`) and the namespace."""
        conversation, from_blocks = conversation_of(messages)
        if api_version != "v1.2":
            conversation = [(role, text, None) for role, text, _ in conversation]
        prompt, session = continue_conversation(conversation)
        return method(
            self._videos(kwargs, from_blocks),
            prompt.message,
            prompt.history,
            session_id=session,
            unique_id=self._namespace(kwargs.get("unique_id")),
        )


@contextmanager
def _reported() -> Iterator[None]:
    # The framework's decorators report a failed stream with an `ExceptionEvent` but a failed
    # call only to callbacks: report both alike. A rate-limit wait is an instrumentation event
    # (`MaviRateLimitWaitEvent`; a stream's wait is reported by `_responses`).
    try:
        with watching_waits(report_wait):
            yield
    except Exception as error:
        dispatcher.event(ExceptionEvent(exception=error))
        raise


class _Reply:
    """What a stream has said so far: text, thinking and citation blocks (each built once, when
    its event arrives), and the session."""

    __slots__ = ("citations", "session_id", "text", "thinking")

    def __init__(self) -> None:
        self.text = ""
        self.thinking: list[ThinkingBlock] = []
        self.citations: list[CitationBlock] = []
        self.session_id: str | None = None

    def add(self, delta: ChatDelta) -> None:
        self.text += delta.text
        if delta.thinking is not None:
            self.thinking.append(thinking_block(delta.thinking))
        if delta.refs:
            self.citations.extend(map(citation_block, delta.refs))
        if delta.session_id is not None:
            self.session_id = delta.session_id

    def message(self) -> ChatMessage:
        return _message(self.text, self.thinking, self.citations, self.session_id)


def _message(
    text: str,
    thinking: Sequence[ThinkingBlock],
    citations: Sequence[CitationBlock],
    session_id: str | None,
) -> ChatMessage:
    """The assistant message: thinking blocks, the text, citation blocks; the session id in
    `additional_kwargs`. A v1.0 answer is a plain text message."""
    if not thinking and not citations and session_id is None:
        return ChatMessage(role=MessageRole.ASSISTANT, content=text)
    return ChatMessage(
        role=MessageRole.ASSISTANT,
        blocks=[*thinking, TextBlock(text=text), *citations],
        additional_kwargs={SESSION_KEY: session_id} if session_id is not None else {},
    )


def _extra(session_id: str | None, thinking: Thinking | None = None) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if session_id is not None:
        extra[SESSION_KEY] = session_id
    if thinking is not None:
        extra["thinking_delta"] = thinking.content
    return extra


def _chat_answer(answer: ChatAnswer) -> ChatResponse:
    message = _message(
        answer.text,
        list(map(thinking_block, answer.thinking)),
        list(map(citation_block, answer.refs)),
        answer.session_id,
    )
    return ChatResponse(message=message, raw=answer)


def restored_messages(detail: SessionDetail) -> list[ChatMessage]:
    """A session's messages as LlamaIndex messages: an answer exactly as `MaviLLM.chat`
    returns it, any other message as text with its role."""
    return [
        _chat_answer(message.as_answer()).message
        if message.role == "assistant"
        else ChatMessage(role=_ROLES.get(message.role, MessageRole.USER), content=message.content)
        for message in detail.messages
    ]


_ROLES: Final = {"user": MessageRole.USER, "system": MessageRole.SYSTEM}


def _completion_answer(answer: ChatAnswer) -> CompletionResponse:
    return CompletionResponse(
        text=answer.text, raw=answer, additional_kwargs=_extra(answer.session_id)
    )


def _chat_item(reply: _Reply, delta: ChatDelta | None) -> ChatResponse:
    if delta is None:
        return ChatResponse(message=reply.message(), delta="")
    return ChatResponse(
        message=reply.message(),
        delta=delta.text,
        raw=delta,
        additional_kwargs=_extra(None, delta.thinking) if delta.thinking is not None else {},
    )


def _completion_item(reply: _Reply, delta: ChatDelta | None) -> CompletionResponse:
    if delta is None:
        return CompletionResponse(text="", delta="")
    if reply.session_id is None and delta.thinking is None:  # every v1.0 delta
        return CompletionResponse(text=reply.text, delta=delta.text, raw=delta)
    return CompletionResponse(
        text=reply.text,
        delta=delta.text,
        raw=delta,
        additional_kwargs=_extra(reply.session_id, delta.thinking),
    )


def _responses(
    stream: ChatStream, make: Callable[[_Reply, ChatDelta | None], _Item]
) -> Generator[_Item, None, None]:
    """LlamaIndex stream items (what was said so far and the delta) from MAVI deltas; at least
    one item."""
    reply = _Reply()
    with stream:  # closing the generator early closes the HTTP response
        with watching_waits(report_wait):  # the request goes out (and may wait) here, once
            first = next(stream, None)
        if first is None:
            yield make(reply, None)  # an empty answer still ends as an answer (a chat memory)
            return
        for delta in chain((first,), stream):  # no step of ours between the deltas
            reply.add(delta)
            yield make(reply, delta)


async def _aresponses(
    stream: AsyncChatStream, make: Callable[[_Reply, ChatDelta | None], _Item]
) -> AsyncGenerator[_Item, None]:
    reply = _Reply()
    async with ClosedAfter(stream):
        with watching_waits(report_wait):
            first = await anext(stream, None)
        if first is None:
            yield make(reply, None)
            return
        reply.add(first)
        yield make(reply, first)
        async for delta in stream:
            reply.add(delta)
            yield make(reply, delta)


def read_ahead(stream: Generator[_Item, None, None]) -> Generator[_Item, None, None]:
    """Read the first item now (sending the request, so early failures raise here) and return
    a generator that yields it and then the rest; closing the result closes `stream`."""
    first = next(stream, _NOTHING)

    def items() -> Generator[_Item, None, None]:
        if first is not _NOTHING:
            yield first
        yield from stream

    return items()


async def afirst(stream: AsyncGenerator[_Item, None]) -> list[_Item]:
    """The first item of `stream`, read now (sending the request, so early failures raise
    here), in a list: empty when the stream ended without one."""
    first = await anext(stream, _NOTHING)
    return [] if first is _NOTHING else [first]


async def aread_ahead(stream: AsyncGenerator[_Item, None]) -> AsyncGenerator[_Item, None]:
    """The async twin of `read_ahead`; closing the result closes `stream`."""
    ahead = await afirst(stream)

    async def items() -> AsyncGenerator[_Item, None]:
        async with ClosedAfter(stream):
            for item in ahead:
                yield item
            async for item in stream:
                yield item

    return items()


class LLMConnection:
    """What an engine asking through a `MaviLLM` shows of it: the LLM and its connection."""

    _llm: MaviLLM

    def _use_llm(
        self, llm: MaviLLM | None, callback_manager: CallbackManager, connection: ConnectionOptions
    ) -> None:
        """Ask through `llm`, or through a new `MaviLLM` built from the connection options."""
        options = connection_options(self, connection)
        if llm is not None:
            if given := [name for name, value in options.items() if value != DEFAULTS.get(name)]:
                raise MaviValidationError(
                    f"Pass either llm=MaviLLM(...) or connection options, not both (got "
                    f"{', '.join(given)}): the LLM's own connection is used."
                )
            self._llm = llm
            return
        self._llm = MaviLLM(callback_manager=callback_manager, **options)

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

    @property
    def api_version(self) -> str | None:
        """The dialect given (None: `MAVI_API_VERSION`, then "v1.0")."""
        return self._llm.api_version

    @property
    def unique_id(self) -> str | None:
        """v1.2: the namespace every request names (the LLM's); None: "default"."""
        return self._llm.unique_id

    def close(self) -> None:
        """Close the sync HTTP client built here (shared with copies), if any."""
        self._llm.close()

    async def aclose(self) -> None:
        """Close the async HTTP client built here, if any: its pools of every event loop."""
        await self._llm.aclose()
