"""`MaviVLM`: Memories.ai's video-understanding chat completions as a LlamaIndex LLM.

A vision-language model of the caller's choice (`gemini:`, `qwen:` or `nova:` prefixed) answers
about videos given by URL (`VideoBlock(url=...)`, `ImageBlock(url=...)`), with sampling options,
token usage, structured output and thinking budgets. Requests, replies and the stream are
`mavi_core`'s (`mavi_core._vlm`); errors are `mavi_core`'s, unchanged.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    ImageBlock,
    LLMMetadata,
    MessageRole,
    TextBlock,
    VideoBlock,
)
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUTS
from llama_index.core.llms import LLM
from llama_index.core.prompts.base import BasePromptTemplate
from pydantic import BaseModel, Field, PrivateAttr, SecretStr, field_serializer, field_validator

from mavi_core import MaviServerError, MaviValidationError
from mavi_core._adapters import ClosedAfter
from mavi_core._vlm import (
    MediaPart,
    TextPart,
    VlmMessage,
    VlmOptions,
    VlmReply,
    call_options,
    check_vlm_model,
    check_vlm_options,
    closest_option,
    media_part,
)
from mavi_core.constants import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT

from ._callbacks import chat_callback, completion_callback
from ._clients import MaviClients, api_key_of
from ._spans import presigned

if TYPE_CHECKING:
    import httpx

    from mavi_core import AsyncMaviClient, MaviClient, RateLimit
    from mavi_core._client import AsyncVlmChatStream, VlmChatStream

__all__ = ["MaviVLM"]

_Model = TypeVar("_Model", bound=BaseModel)

_FIELD_OPTIONS: Final = ("temperature", "max_tokens", "top_p", "stop", "thinking_budget")
"""The LLM's fields a call's options default to (`mavi_core._vlm.call_options`)."""
_ROLES: Final = {
    MessageRole.SYSTEM: "system",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
}


def _media(block: VideoBlock | ImageBlock, where: str) -> MediaPart:
    kind: Literal["video", "image"] = "video" if isinstance(block, VideoBlock) else "image"
    mime = block.video_mimetype if isinstance(block, VideoBlock) else block.image_mimetype
    url = str(block.url) if block.url is not None else None
    if url is not None and url.startswith("mavi://"):
        raise MaviValidationError(
            f"{where} names a MAVI videoNo ({url}): MaviVLM takes videos by URL. Ask about "
            "indexed videos with MaviLLM, or pass VideoBlock(url='https://...')."
        )
    if url is not None:
        return media_part(kind, url, mime)
    data = block.video if isinstance(block, VideoBlock) else block.image
    if data is None and block.path is not None:
        raise MaviValidationError(
            f"{where} is a local file ({block.path}): the video-understanding API fetches "
            "media by URL. Host the file and pass url='https://...'."
        )
    if data is None:
        raise MaviValidationError(f"{where} has no url: pass {type(block).__name__}(url=...).")
    text = data.decode() if isinstance(data, bytes) else str(data)
    try:  # LlamaIndex keeps block data base64-encoded; raw bytes are encoded here
        base64.b64decode(text, validate=True)
    except ValueError:
        text = base64.b64encode(data if isinstance(data, bytes) else text.encode()).decode()
    return MediaPart(kind, data=text, mime_type=mime)


def to_vlm_messages(messages: Sequence[ChatMessage]) -> list[VlmMessage]:
    """LlamaIndex messages as the API's turns; checked before any request."""
    turns = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        role = _ROLES.get(message.role)
        if role is None:
            raise MaviValidationError(
                f"{where} has the role {message.role.value!r}: the video-understanding API "
                "takes system, user and assistant messages only."
            )
        parts: list[TextPart | MediaPart] = []
        for number, block in enumerate(message.blocks):
            place = f"{where}.blocks[{number}]"
            if isinstance(block, TextBlock):
                if block.text:
                    parts.append(TextPart(block.text))
            elif isinstance(block, VideoBlock | ImageBlock):
                parts.append(_media(block, place))
            else:
                raise MaviValidationError(
                    f"{place} is a {type(block).__name__}, which the video-understanding API "
                    "cannot take: use TextBlock, VideoBlock(url=...) or ImageBlock(url=...)."
                )
        if parts:
            turns.append(VlmMessage(role, tuple(parts)))  # type: ignore[arg-type]
    return turns


_FENCE: Final = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def json_from_answer(text: str) -> Any:
    """The JSON value of a structured answer, bare or inside a ```json code fence (as models
    sometimes send it); a `MaviServerError` quoting the start of anything else."""
    candidates = [match.group(1) for match in _FENCE.finditer(text)] + [text]
    for candidate in filter(None, map(str.strip, candidates)):
        try:
            return json.loads(candidate, strict=False)
        except (ValueError, RecursionError):  # nested deeper than Python reads: not the JSON
            continue
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start >= 0:
        try:
            return json.JSONDecoder(strict=False).raw_decode(text, start)[0]
        except (ValueError, RecursionError):
            pass
    raise MaviServerError(
        f"The model's answer is not the JSON the schema asked for: {text[:200]!r}. Ask again, "
        "or describe the fields in the prompt."
    )


def _extra(reply: VlmReply, model: str) -> dict[str, Any]:
    """What LlamaIndex callers (and its token counter) read besides the text."""
    extra = reply.described(model)
    if reply.usage is not None:
        usage = reply.usage
        extra["prompt_tokens"] = usage.input_tokens
        extra["completion_tokens"] = usage.output_tokens
        extra["total_tokens"] = usage.total_tokens
    return extra


@presigned
class MaviVLM(LLM):
    """Memories.ai video-understanding chat completions as a LlamaIndex LLM.

    >>> llm = MaviVLM(model="gemini:gemini-2.5-flash")        # MAVI_API_KEY from the environment
    >>> message = ChatMessage(role="user", blocks=[
    ...     VideoBlock(url="https://example.com/clip.mp4"), TextBlock(text="What happens?")])
    >>> llm.chat([message]).message.content                    # doctest: +SKIP

    `model` carries its provider prefix (`gemini:`, `qwen:`, `nova:`). Replies carry `raw` (the
    service's JSON) and in `additional_kwargs` the model, provider model, finish reason, id and
    token counts (`prompt_tokens`, `completion_tokens`, `total_tokens`). `structured_predict`
    and `as_structured_llm` send the output class's schema in the provider's own form. The
    stream format is not published: streams are read tolerantly, and end with an item (delta
    "") that carries the usage.
    """

    model: str = Field(description='Provider-prefixed, e.g. "gemini:gemini-2.5-flash".')
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, gt=0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    stop: list[str] | None = None
    thinking_budget: int | None = Field(
        default=None,
        description="Gemini thinking_config.thinking_budget; Qwen thinking_budget (0: off).",
    )
    context_window: int = Field(default=DEFAULT_CONTEXT_WINDOW, gt=0)
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False, frozen=True)
    base_url: str | None = Field(default=None, frozen=True)
    timeout: Any = Field(default=DEFAULT_TIMEOUT, frozen=True)
    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, ge=0, frozen=True)

    _clients: MaviClients = PrivateAttr()

    def __init__(
        self,
        model: str,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        rate_limit: RateLimit | str | None = "auto",
        client: MaviClient | None = None,
        async_client: AsyncMaviClient | None = None,
        **kwargs: Any,
    ) -> None:
        check_vlm_model(model)  # raised as is, before pydantic wraps it
        known = set(type(self).model_fields) | {"rate_limit", "client", "async_client"}
        for name in kwargs:
            if name not in known:
                raise MaviValidationError(
                    f"MaviVLM has no option {name!r}." + closest_option(name, sorted(known))
                )
        clients = MaviClients(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            client=client,
            async_client=async_client,
            api_version="v1.0",  # the video-understanding API lives on the v1.0 host
            rate_limit=rate_limit,
        )
        super().__init__(
            model=model,
            api_key=api_key_of(clients),
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            **kwargs,
        )
        check_vlm_options(model, self._options({}))  # each request's rules, now
        self._clients = clients

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: Any) -> Any:
        check_vlm_model(value)
        return value

    @field_serializer("timeout")
    def _timeout_as_data(self, timeout: Any) -> Any:
        return timeout.as_dict() if hasattr(timeout, "as_dict") else timeout

    @classmethod
    def class_name(cls) -> str:
        return "MaviVLM"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_tokens or DEFAULT_NUM_OUTPUTS,
            is_chat_model=True,
            is_function_calling_model=False,
            model_name=self.model,
        )

    def close(self) -> None:
        """Close the sync HTTP client built here, if any."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close the async HTTP client built here, if any."""
        await self._clients.aclose()

    def _options(self, kwargs: Mapping[str, Any]) -> VlmOptions:
        defaults = {name: getattr(self, name) for name in _FIELD_OPTIONS}
        return call_options("MaviVLM", kwargs, defaults)

    def _response(self, reply: VlmReply) -> ChatResponse:
        return ChatResponse(
            message=ChatMessage(role=MessageRole.ASSISTANT, content=reply.text),
            raw=reply.raw,
            additional_kwargs=_extra(reply, self.model),
        )

    # --- chat ------------------------------------------------------------------------------

    @chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        options, turns = self._options(kwargs), to_vlm_messages(messages)
        return self._response(self._clients.sync().vlm_chat(self.model, turns, options))

    @chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        options, turns = self._options(kwargs), to_vlm_messages(messages)
        reply = await self._clients.async_().vlm_chat(self.model, turns, options)
        return self._response(reply)

    @chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        options, turns = self._options(kwargs), to_vlm_messages(messages)
        return self._chat_items(self._clients.sync().stream_vlm_chat(self.model, turns, options))

    @chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        options, turns = self._options(kwargs), to_vlm_messages(messages)
        stream = self._clients.async_().stream_vlm_chat(self.model, turns, options)
        return self._achat_items(stream)

    def _item(self, text: str, delta: str, reply: VlmReply | None = None) -> ChatResponse:
        message = ChatMessage(role=MessageRole.ASSISTANT, content=text)
        if reply is None:
            return ChatResponse(message=message, delta=delta)
        return ChatResponse(
            message=message, delta=delta, raw=reply.raw, additional_kwargs=_extra(reply, self.model)
        )

    def _chat_items(self, stream: VlmChatStream) -> Generator[ChatResponse, None, None]:
        text = ""
        with stream:  # closing the generator early closes the HTTP response
            for delta in stream:
                text += delta.text
                yield self._item(text, delta.text)
        yield self._item(text, "", stream.reply)

    async def _achat_items(self, stream: AsyncVlmChatStream) -> AsyncGenerator[ChatResponse, None]:
        text = ""
        async with ClosedAfter(stream):
            async for delta in stream:
                text += delta.text
                yield self._item(text, delta.text)
        yield self._item(text, "", stream.reply)

    # --- complete: the prompt as one user message ----------------------------------------------

    @staticmethod
    def _prompt(prompt: str) -> list[ChatMessage]:
        return [ChatMessage(role=MessageRole.USER, content=prompt)]

    @staticmethod
    def _completion(item: ChatResponse) -> CompletionResponse:
        return CompletionResponse(
            text=item.message.content or "",
            delta=item.delta,
            raw=item.raw,
            additional_kwargs=item.additional_kwargs,
        )

    @completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return self._completion(self.chat(self._prompt(prompt), **kwargs))

    @completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return self._completion(await self.achat(self._prompt(prompt), **kwargs))

    @completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        items = self.stream_chat(self._prompt(prompt), **kwargs)
        return (self._completion(item) for item in items)

    @completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        items = await self.astream_chat(self._prompt(prompt), **kwargs)

        async def completions() -> AsyncGenerator[CompletionResponse, None]:
            async for item in items:
                yield self._completion(item)

        return completions()

    # --- structured output: the schema in the provider's own form ---------------------------

    def _structured(
        self, output_cls: type[_Model], prompt: BasePromptTemplate, prompt_args: Any
    ) -> tuple[list[ChatMessage], dict[str, Any]]:
        messages = prompt.format_messages(llm=self, **prompt_args)
        schema = {"response_schema": output_cls.model_json_schema()}
        return messages, {**schema, "schema_name": output_cls.__name__}

    def structured_predict(
        self,
        output_cls: type[_Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> _Model:
        """An `output_cls` from the model's answer; the class's JSON schema is sent in the
        provider's own form (Gemini's `responseSchema`, Qwen's `response_format`)."""
        messages, schema = self._structured(output_cls, prompt, prompt_args)
        answer = self.chat(messages, **(llm_kwargs or {}), **schema)
        return output_cls.model_validate(json_from_answer(answer.message.content or ""))

    async def astructured_predict(
        self,
        output_cls: type[_Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> _Model:
        """The async form of `structured_predict`."""
        messages, schema = self._structured(output_cls, prompt, prompt_args)
        answer = await self.achat(messages, **(llm_kwargs or {}), **schema)
        return output_cls.model_validate(json_from_answer(answer.message.content or ""))
