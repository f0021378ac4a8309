"""`ChatMavi`: MAVI video chat as a LangChain chat model.

The model turns messages into one MAVI request (`_messages.py`), calls a `mavi_core` client, and
turns the answer into LangChain outputs. HTTP, retries, stream decoding and error codes belong to
`mavi_core`; its errors become LangChain errors at one boundary (`_errors.translate_errors`).
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import (
    BaseChatModel,
    LangSmithParams,
    LanguageModelInput,
    ModelProfile,
)
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.utils import _build_model_kwargs, get_pydantic_field_names
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mavi_core import API_KEY_ENV

from ._connection import MaviConnection, check_video_nos
from ._errors import translate_errors
from ._messages import MaviChatRequest, messages_to_request
from ._stop import StopSequences
from .rate_limiters import MaviRateLimiter

__all__ = ["DEFAULT_MODEL_NAME", "ChatMavi"]

DEFAULT_MODEL_NAME: Final = "mavi-video-chat"

# Per-call arguments ChatMavi understands; `temperature` / `max_tokens` are accepted and unused.
_CALL_OPTIONS: Final = frozenset({"video_nos", "model", "stream", "temperature", "max_tokens"})

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
    reasoning_output=False,
    temperature=False,
)


@dataclass(slots=True)
class _Call:
    """One request being answered: what is sent, and how the answer becomes chunks."""

    request: MaviChatRequest
    model_name: str
    stops: StopSequences

    def response_metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "model_name": self.model_name,
            "model_provider": "mavi",
            "video_nos": list(self.request.video_nos),
            "finish_reason": "stop",
        }
        if self.stops.matched is not None:
            metadata["stop_sequence"] = self.stops.matched
        return metadata

    def chunk(self, text: str) -> ChatGenerationChunk:
        return ChatGenerationChunk(message=AIMessageChunk(content=text))

    def last_chunk(self) -> ChatGenerationChunk:
        """The held-back text (if any) with the metadata; closes the message."""
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content=self.stops.finish(),
                chunk_position="last",
                response_metadata=self.response_metadata(),
            )
        )

    def result(self, answer: str) -> ChatResult:
        text = self.stops.feed(answer) + self.stops.finish()
        message = AIMessage(content=text, response_metadata=self.response_metadata())
        return ChatResult(generations=[ChatGeneration(message=message)])


class ChatMavi(MaviConnection, BaseChatModel):
    """Memories.ai MAVI video chat: ask questions about uploaded videos.

    Setup: install with the `langchain` extra (`pip install -e ".[langchain]"` from a checkout
    until the package is published) and set `MAVI_API_KEY` (or pass `api_key=`; None means the
    environment). The key is only needed when a request is sent.

    ```python
    from langchain_mavi import ChatMavi

    llm = ChatMavi(video_nos=["VI634021587219364352"])
    llm.invoke("What happens in the video?").text
    for chunk in llm.stream("Describe the first minute."):
        print(chunk.text, end="")
    llm.invoke("And in this one?", video_nos=["VI..."])  # per-call videos
    ```

    Messages map to MAVI's `message` and `history` (system text goes in front of the question,
    consecutive messages of one side merge into one turn), and a content block
    `{"type": "video", "file_id": "<videoNo>"}` adds a video to the request.

    MAVI has no tool calling, structured output, sampling parameters or usage reporting:
    `bind_tools` and `with_structured_output` raise `NotImplementedError` (use
    `MaviVideoChatTool` in an agent driven by another model); `temperature` and `max_tokens`
    are accepted for compatibility and not sent; stop sequences are applied on the client.
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
    """Unknown constructor arguments land here with a warning; MAVI takes no extra parameters,
    so they are kept for inspection and not sent."""
    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    def _client_options(self) -> dict[str, Any]:
        # A MaviRateLimiter's budget is the one the requests draw on: each call counted once.
        options = super()._client_options()
        if isinstance(self.rate_limiter, MaviRateLimiter):
            options["rate_limit"] = self.rate_limiter.rate_limit
        return options

    @model_validator(mode="before")
    @classmethod
    def _collect_model_kwargs(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return _build_model_kwargs(values, get_pydantic_field_names(cls))
        return values

    @field_validator("video_nos", mode="before")
    @classmethod
    def _check_video_nos(cls, value: Any) -> Any:
        return [] if value is None else check_video_nos(value)

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
        }

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": API_KEY_ENV}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_mavi", "chat_models"]

    def _resolve_model_profile(self) -> ModelProfile | None:
        return ModelProfile(**_PROFILE)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="mavi",
            ls_model_name=kwargs.get("model") or self.model_name,
            ls_model_type="chat",
        )
        if (temperature := kwargs.get("temperature", self.temperature)) is not None:
            params["ls_temperature"] = temperature
        if (max_tokens := kwargs.get("max_tokens", self.max_tokens)) is not None:
            params["ls_max_tokens"] = max_tokens
        if stops := (stop if stop is not None else self.stop):
            params["ls_stop"] = stops
        return params

    # --- requests --------------------------------------------------------------------------

    def _prepare(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> _Call:
        unknown = sorted(set(kwargs) - _CALL_OPTIONS)
        if unknown:
            warnings.warn(
                f"ChatMavi ignores the argument(s) {', '.join(unknown)}: a MAVI chat call takes "
                "only video_nos= (and stop=).",
                stacklevel=4,
            )
        request = messages_to_request(messages, kwargs.get("video_nos"), self.video_nos)
        return _Call(
            request=request,
            model_name=kwargs.get("model") or self.model_name,
            stops=StopSequences(stop if stop is not None else self.stop),
        )

    def _wants_stream(self, kwargs: dict[str, Any]) -> bool:
        stream = kwargs.pop("stream", None)
        return self.streaming if stream is None else bool(stream)

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
        call = self._prepare(messages, stop, kwargs)
        request = call.request
        with translate_errors():
            answer = self._get_client().chat(request.video_nos, request.message, request.history)
        return call.result(answer.text)

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
        call = self._prepare(messages, stop, kwargs)
        request = call.request
        with translate_errors():
            answer = await self._get_async_client().chat(
                request.video_nos, request.message, request.history
            )
        return call.result(answer.text)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        kwargs.pop("stream", None)
        call = self._prepare(messages, stop, kwargs)
        request = call.request
        with (
            translate_errors(),
            self._get_client().stream_chat(
                request.video_nos, request.message, request.history
            ) as deltas,
        ):
            for delta in deltas:
                if text := call.stops.feed(delta.text):
                    chunk = call.chunk(text)
                    if run_manager:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk
                if call.stops.stopped:
                    break  # leaving the block closes the HTTP response
        chunk = call.last_chunk()
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
        call = self._prepare(messages, stop, kwargs)
        request = call.request
        with translate_errors():
            async with self._get_async_client().stream_chat(
                request.video_nos, request.message, request.history
            ) as deltas:
                async for delta in deltas:
                    if text := call.stops.feed(delta.text):
                        chunk = call.chunk(text)
                        if run_manager:
                            await run_manager.on_llm_new_token(text, chunk=chunk)
                        yield chunk
                    if call.stops.stopped:
                        break  # leaving the block closes the HTTP response
        chunk = call.last_chunk()
        if run_manager:
            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk
