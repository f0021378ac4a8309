"""`ChatMavi`: MAVI video chat as a LangChain chat model.

The model turns messages into one MAVI request (`_messages.py`), calls a `mavi_core` client, and
turns the answer into LangChain outputs. HTTP, retries, stream decoding and error codes belong to
`mavi_core`; its errors become LangChain errors at one boundary (`_errors.translate_errors`).

With the v1.2 dialect an answer also carries the service's `session_id`, the moments it rests on
(`refs`) and thinking steps. They become LangChain's own forms: `response_metadata["session_id"]`
and `["refs"]`; reasoning (`additional_kwargs["reasoning_content"]`, or a standard reasoning block
with `output_version="v1"`); and with `output_version="v1"` a `Citation` annotation per ref on the
text block. A translator registered for the provider "mavi" gives the same standard blocks from
`content_blocks` of a message in the default format. In a stream, thinking arrives as chunks with
reasoning and no text, and the refs and session come once, on the last chunk, so that merging the
chunks neither repeats nor concatenates them.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import (
    BaseChatModel,
    LanguageModelInput,
    ModelProfile,
)
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages import content as types
from langchain_core.messages.block_translators import register_translator
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mavi_core import ChatAnswer, ChatDelta, ChatTurn, MaviValidationError, Thinking, VideoRef
from mavi_core._adapters import ClosedAfter
from mavi_core._settings import chat_endpoint, check_api_version
from mavi_core._watch import current_watcher, watching_waits

from ._chat_common import MaviChatModelCommon
from ._connection import MaviNamespaced, check_video_nos
from ._events import Watched, model_run, run_watcher
from ._messages import MaviChatRequest, messages_to_request
from ._stop import StopSequences
from .errors import translate_errors

if TYPE_CHECKING:
    from mavi_core import AsyncMaviClient, MaviClient

__all__ = ["DEFAULT_MODEL_NAME", "ChatMavi"]

DEFAULT_MODEL_NAME: Final = "mavi-video-chat"

PROVIDER: Final = "mavi"
"""`response_metadata["model_provider"]`; its content translator is registered below."""
# Per-call arguments ChatMavi understands; `temperature` / `max_tokens` are accepted and unused.
_CALL_OPTIONS: Final = frozenset(
    {"video_nos", "unique_id", "model", "stream", "temperature", "max_tokens"}
)

_NO_TOOL_CALLING: Final = (
    "MAVI has no tool calling or structured output: ChatMavi answers questions about videos "
    "in text. To use MAVI in an agent, give MaviVideoChatTool(video_nos=[...]) (from "
    "langchain_mavi) as a tool to an agent driven by another, tool-calling chat model."
)

_PROFILE: Final = ModelProfile(
    name="MAVI video chat",
    text_inputs=True,
    video_inputs=True,
    image_inputs=False,
    image_url_inputs=False,
    audio_inputs=False,
    pdf_inputs=False,
    text_outputs=True,
    image_outputs=False,
    audio_outputs=False,
    video_outputs=False,
    tool_calling=False,
    tool_choice=False,
    structured_output=False,
    temperature=False,
)


def _step_text(step: Thinking) -> str:
    """One thinking step as reasoning text: its title in bold, then its content."""
    return "\n\n".join(part for part in (step.title and f"**{step.title}**", step.content) if part)


def _citation(ref: Mapping[str, Any]) -> types.Citation:
    """A ref (`VideoRef.to_dict()`) as a standard citation; there is no URL to give."""
    return types.Citation(
        type="citation",
        title=str(ref.get("video_name") or ref.get("video_no") or ""),
        cited_text=str(ref.get("text") or ""),
        extras={key: ref.get(key) for key in ("video_no", "start", "end", "kind")},
    )


def _blocks(
    text: str, reasoning: str, refs: Iterable[Mapping[str, Any]], *, indexed: bool = False
) -> list[types.ContentBlock]:
    """Standard content: reasoning, then the text with a citation per ref. `indexed` numbers
    the blocks of a chunk, so that a stream's chunks merge into one reasoning and one text."""
    blocks: list[types.ContentBlock] = []
    if reasoning:
        blocks.append(types.ReasoningContentBlock(type="reasoning", reasoning=reasoning))
    citations: list[types.Annotation] = [_citation(ref) for ref in refs]
    if text or citations:
        block = types.TextContentBlock(type="text", text=text)
        if citations:
            block["annotations"] = citations
        blocks.append(block)
    if indexed:
        for block_ in blocks:
            block_["index"] = 0 if block_["type"] == "reasoning" else 1
    return blocks


def _translate(message: AIMessage) -> list[types.ContentBlock]:
    """`content_blocks` of a ChatMavi message in the default format (text content, reasoning in
    `additional_kwargs`, refs in `response_metadata`); lists are left to langchain-core."""
    if not isinstance(message.content, str):
        raise NotImplementedError  # already content blocks (output_version="v1")
    reasoning = message.additional_kwargs.get("reasoning_content")
    refs = message.response_metadata.get("refs")
    return _blocks(
        message.content,
        reasoning if isinstance(reasoning, str) else "",
        [ref for ref in refs if isinstance(ref, Mapping)] if isinstance(refs, list) else [],
    )


register_translator(PROVIDER, _translate, _translate)


@dataclass(slots=True)
class _Call:
    """One request being answered: what is sent, and how the answer becomes chunks."""

    request: MaviChatRequest
    model_name: str
    stops: StopSequences
    v12: bool = False
    """The v1.2 dialect: metadata holds the session and the refs."""
    blocks: bool = False
    """output_version="v1": content is standard content blocks."""
    unique_id: str | None = None
    """The v1.2 namespace the request names (the call's, else the model's)."""
    reasoned: bool = False
    """A thinking step was streamed already (the next one is set apart by a blank line)."""

    @property
    def chat_args(self) -> tuple[list[str], str, list[ChatTurn]]:
        return (self.request.video_nos, self.request.message, self.request.history)

    @property
    def chat_kwargs(self) -> dict[str, Any]:
        return {"session_id": self.request.session_id, "unique_id": self.unique_id}

    def response_metadata(
        self, session_id: str | None = None, refs: Sequence[VideoRef] = ()
    ) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "model_name": self.model_name,
            "model_provider": PROVIDER,
            "video_nos": list(self.request.video_nos),
            "finish_reason": "stop",
        }
        if self.stops.matched is not None:
            metadata["stop_sequence"] = self.stops.matched
        if self.v12:
            if session_id is not None:
                metadata["session_id"] = session_id
            metadata["refs"] = [ref.to_dict() for ref in refs]
        return metadata

    def _fields(
        self, text: str, reasoning: str = "", refs: Sequence[VideoRef] = (), *, chunk: bool
    ) -> dict[str, Any]:
        """`content` and `additional_kwargs` in the model's output format."""
        if self.blocks:
            dicts = [ref.to_dict() for ref in refs]
            return {"content": _blocks(text, reasoning, dicts, indexed=chunk)}
        extra = {"reasoning_content": reasoning} if reasoning else {}
        return {"content": text, "additional_kwargs": extra}

    def chunks(self, delta: ChatDelta) -> list[ChatGenerationChunk]:
        """The chunks one delta makes: its thinking step as reasoning, then its new text."""
        if delta.thinking is None and not self.blocks:  # text only, as every v1.0 delta
            text = self.stops.feed(delta.text)
            return [ChatGenerationChunk(message=AIMessageChunk(content=text))] if text else []
        made = []
        if delta.thinking is not None:
            piece = ("\n\n" if self.reasoned else "") + _step_text(delta.thinking)
            self.reasoned = True
            fields = self._fields("", piece, chunk=True)
            made.append(ChatGenerationChunk(message=AIMessageChunk(**fields)))
        if text := self.stops.feed(delta.text):
            made.append(
                ChatGenerationChunk(message=AIMessageChunk(**self._fields(text, chunk=True)))
            )
        return made

    def last_chunk(
        self, session_id: str | None = None, refs: Sequence[VideoRef] = ()
    ) -> ChatGenerationChunk:
        """The held-back text (if any) with the metadata, the refs and the session (once, so
        that merging the chunks does not repeat them); closes the message."""
        fields = self._fields(self.stops.finish(), refs=refs, chunk=True)
        return ChatGenerationChunk(
            message=AIMessageChunk(
                **fields,
                chunk_position="last",
                response_metadata=self.response_metadata(session_id, refs),
            )
        )

    def result(self, answer: ChatAnswer) -> ChatResult:
        text = self.stops.feed(answer.text) + self.stops.finish()
        reasoning = "\n\n".join(_step_text(step) for step in answer.thinking)
        message = AIMessage(
            **self._fields(text, reasoning, answer.refs, chunk=False),
            response_metadata=self.response_metadata(answer.session_id, answer.refs),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def answer_message(
    answer: ChatAnswer, *, model_name: str = DEFAULT_MODEL_NAME, output_version: str = "v0"
) -> AIMessage:
    """The `AIMessage` `ChatMavi` returns for a v1.2 `answer` (without stop sequences):
    `session_id` and `refs` in `response_metadata`, reasoning and citations in the model's
    output format. The one mapping, shared by `MaviChatMessageHistory`."""
    call = _Call(
        request=MaviChatRequest(list(answer.video_nos), "", []),
        model_name=model_name,
        stops=StopSequences(None),
        v12=True,
        blocks=output_version == "v1",
    )
    message = call.result(answer).generations[0].message
    assert isinstance(message, AIMessage)
    if call.blocks:  # what BaseChatModel adds to the answers of output_version="v1"
        message.response_metadata["output_version"] = "v1"
    return message


class ChatMavi(MaviNamespaced, MaviChatModelCommon, BaseChatModel):
    """Memories.ai MAVI video chat: ask questions about uploaded videos
    (docs/langchain-chat-model.md).

    ```python
    llm = ChatMavi(video_nos=["VI634021587219364352"])  # MAVI_API_KEY, needed at the request
    llm.invoke("What happens in the video?").text
    llm.invoke("And in this one?", video_nos=["VI..."])  # per-call videos (and unique_id=)
    ```

    Messages map to MAVI's `message` and `history` by the rule both adapters keep
    (docs/errors-and-wire.md, "Conversations"); a `{"type": "video", "file_id": ...}` block
    adds a video. With `api_version="v1.2"` the answer carries `session_id`, `refs` and
    reasoning, and a conversation continues its latest session (docs/v1.2.md, "Sessions").
    MAVI has no tool calling, structured output, sampling parameters or usage: `bind_tools`
    and `with_structured_output` raise (use `MaviVideoChatTool`), `temperature` and
    `max_tokens` are not sent, stop sequences are applied here.
    After a restart, `MaviChatMessageHistory(session_id).messages` gives a session's messages
    back as this model returned them (docs/langchain-message-history.md).
    """

    model_name: str = Field(default=DEFAULT_MODEL_NAME, alias="model")
    """Reported in metadata and traces; the MAVI v1.0 chat has a single model."""
    video_nos: list[str] = Field(default_factory=list)
    """The videos to ask about unless a call passes `video_nos=` (MAVI `videoNo`s)."""
    streaming: bool = False
    """Stream the answer from MAVI even for `invoke()`, reporting tokens to callbacks."""
    stop: list[str] | None = None
    """Stop sequences, applied on the client: the answer ends before the first one."""
    temperature: float | None = None
    """Accepted for compatibility; MAVI has no temperature and it is not sent."""
    max_tokens: int | None = None
    """Accepted for compatibility; MAVI has no length limit and it is not sent."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Always empty: MAVI takes no extra model parameters. Kept (LangChain's chat models have
    it) so that `model_kwargs={}` is accepted; any entry, and any unknown constructor argument,
    is refused when the model is built."""
    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    def _client_options(self) -> dict[str, Any]:
        # A MaviRateLimiter's budget is the one the requests draw on: each call counted once.
        options = super()._client_options()
        if self.rate_limiter is not None:
            from .rate_limiters import MaviRateLimiter  # with the budget it names, on first use

            if isinstance(self.rate_limiter, MaviRateLimiter):
                options["rate_limit"] = self.rate_limiter.rate_limit
        return options

    @field_validator("model_kwargs")
    @classmethod
    def _refuse_model_kwargs(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value:
            raise TypeError(
                f"ChatMavi got model_kwargs {sorted(value)}: MAVI takes no extra model "
                "parameters, so none would be sent. Leave model_kwargs out."
            )
        return value

    @field_validator("video_nos", mode="before")
    @classmethod
    def _check_video_nos(cls, value: Any) -> Any:
        return [] if value is None else check_video_nos(value)

    @model_validator(mode="after")
    def _check_rate_limiter(self) -> ChatMavi:
        # A MaviRateLimiter's turn is used by the request that follows: it must be a turn of
        # the budget that request draws on, or each call would be counted twice.
        if self.rate_limiter is None:
            return self
        from .rate_limiters import MaviRateLimiter

        if isinstance(self.rate_limiter, MaviRateLimiter):
            expected = chat_endpoint(check_api_version(self.api_version, None))
            if self.rate_limiter.endpoint != expected:
                raise MaviValidationError(
                    f"rate_limiter draws on the {self.rate_limiter.endpoint!r} budget, but this "
                    f"model's chats draw on {expected!r}: pass MaviRateLimiter(..., "
                    f"api_version={self.api_version or 'v1.0'!r})."
                )
        return self

    # --- what MAVI cannot do -----------------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Not supported: raises `NotImplementedError` pointing to `MaviVideoChatTool`."""
        raise NotImplementedError(_NO_TOOL_CALLING)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Not supported: raises `NotImplementedError` pointing to `MaviVideoChatTool`."""
        raise NotImplementedError(_NO_TOOL_CALLING)

    # --- LangChain metadata --------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "mavi-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "video_nos": self.video_nos,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "streaming": self.streaming,
            "stop": self.stop,
            "api_version": self.api_version,
            "unique_id": self.unique_id,
        }

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_mavi", "chat_models"]

    def _resolve_model_profile(self) -> ModelProfile | None:
        version = str(self.api_version or "").strip().lower().lstrip("v")
        return ModelProfile(**_PROFILE, reasoning_output=version == "1.2")

    # --- requests --------------------------------------------------------------------------

    def _prepare(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        client: MaviClient | AsyncMaviClient,
    ) -> _Call:
        unknown = sorted(set(kwargs) - _CALL_OPTIONS)
        if unknown:
            warnings.warn(
                f"ChatMavi ignores the argument(s) {', '.join(unknown)}: a MAVI chat call takes "
                "only video_nos= and unique_id= (and stop=).",
                stacklevel=4,
            )
        v12 = client.api_version == "v1.2"  # the client's: an injected one decides
        with translate_errors():  # bad messages or videos: ChatMaviValidationError
            request = messages_to_request(
                messages, kwargs.get("video_nos"), self.video_nos, continue_session=v12
            )
        return _Call(
            request=request,
            model_name=kwargs.get("model") or self.model_name,
            stops=StopSequences(stop if stop is not None else self.stop),
            v12=v12,
            blocks=self.output_version == "v1",
            unique_id=kwargs.get("unique_id") or self.unique_id,
        )

    # LangChain hands `_stream` no run manager when it streams (`stream`, `streaming=True`,
    # `astream_events`), and acquires `rate_limiter` outside `_generate`: each entry point
    # names its run, so that a rate-limit wait is reported to that run (langchain_mavi._events).

    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        config, watcher = model_run(config, self, asynchronous=False)
        with watching_waits(watcher):
            return super().invoke(input, config, stop=stop, **kwargs)

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        config, watcher = model_run(config, self, asynchronous=True)
        with watching_waits(watcher):
            return await super().ainvoke(input, config, stop=stop, **kwargs)

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        config, watcher = model_run(config, self, asynchronous=False)
        return Watched(super().stream(input, config, stop=stop, **kwargs), watcher)

    def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        config, watcher = model_run(config, self, asynchronous=True)
        return Watched(super().astream(input, config, stop=stop, **kwargs), watcher)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._wants_stream(kwargs):
            return generate_from_stream(
                self._stream(messages, stop=stop, run_manager=run_manager, **kwargs)
            )
        with translate_errors():
            client = self._get_client()
        call = self._prepare(messages, stop, kwargs, client)
        with translate_errors(), watching_waits(run_watcher(run_manager, asynchronous=False)):
            return call.result(client.chat(*call.chat_args, **call.chat_kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._wants_stream(kwargs):
            # Chunks are merged here, not through agenerate_from_stream's worker thread.
            chunks = self._astream(messages, stop=stop, run_manager=run_manager, **kwargs)
            return generate_from_stream(iter([chunk async for chunk in chunks]))
        with translate_errors():
            client = self._get_async_client()
        call = self._prepare(messages, stop, kwargs, client)
        with translate_errors(), watching_waits(run_watcher(run_manager, asynchronous=True)):
            return call.result(await client.chat(*call.chat_args, **call.chat_kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        kwargs.pop("stream", None)
        with translate_errors():
            client = self._get_client()
        call = self._prepare(messages, stop, kwargs, client)
        with (
            translate_errors(),
            client.stream_chat(*call.chat_args, **call.chat_kwargs) as deltas,
        ):
            watcher = run_watcher(run_manager, asynchronous=False)  # `stream`'s, if it set one
            for delta in deltas if watcher is current_watcher.get() else Watched(deltas, watcher):
                for chunk in call.chunks(delta):
                    if run_manager:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
                if call.stops.stopped:
                    break  # leaving the block closes the HTTP response
        chunk = call.last_chunk(deltas.session_id, deltas.refs)
        if run_manager:
            run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        kwargs.pop("stream", None)
        with translate_errors():
            client = self._get_async_client()
        call = self._prepare(messages, stop, kwargs, client)
        with translate_errors():
            deltas = client.stream_chat(*call.chat_args, **call.chat_kwargs)
            async with ClosedAfter(deltas):
                watcher = run_watcher(run_manager, asynchronous=True)
                async for delta in (
                    deltas if watcher is current_watcher.get() else Watched(deltas, watcher)
                ):
                    for chunk in call.chunks(delta):
                        if run_manager:
                            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                        yield chunk
                    if call.stops.stopped:
                        break  # leaving the block closes the HTTP response
        chunk = call.last_chunk(deltas.session_id, deltas.refs)
        if run_manager:
            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk
