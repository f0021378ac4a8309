"""`ChatMaviVLM`: Memories.ai's video-understanding chat completions as a LangChain chat model.

A vision-language model of the caller's choice (`gemini:`, `qwen:` or `nova:` prefixed) answers
about videos given by URL, with sampling options, token usage, structured output and thinking
budgets: stateless, unlike `ChatMavi`, which chats about the indexed library. Requests, replies
and the stream are `mavi_core`'s (`mavi_core._vlm`); this module maps LangChain messages and
blocks to them and the reply back, and translates errors at one boundary.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any, Final, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import ToolCall as LangChainToolCall
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from langchain_core.utils.utils import get_pydantic_field_names
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mavi_core import MaviValidationError
from mavi_core._vlm import (
    MediaPart,
    Part,
    TextPart,
    ToolCall,
    ToolResult,
    VlmMessage,
    VlmOptions,
    VlmReply,
    call_options,
    check_vlm_model,
    check_vlm_options,
    closest_option,
    media_part,
)

from ._chat_common import MaviChatModelCommon
from ._connection import MaviConnection
from .errors import translate_errors

__all__ = ["ChatMaviVLM"]

PROVIDER: Final = "mavi-vlm"
"""`response_metadata["model_provider"]`: not ChatMavi's "mavi", whose content translator reads
refs and thinking; these messages are plain text and tool calls, which langchain-core reads."""

_NO_TOOLS: Final = (
    "Tool calling is not offered by the video-understanding API for {provider}: models (it "
    "documents Nova's toolConfig only: use a nova: model for tools). Use "
    "with_structured_output(schema) for a typed answer, or give ChatMavi / MaviVideoChatTool "
    "to an agent driven by a tool-calling model."
)
_FIELD_OPTIONS: Final = ("temperature", "max_tokens", "top_p", "stop", "thinking_budget")
"""The model's fields a call's options default to (`mavi_core._vlm.call_options`)."""


def _tool_spec(name: str, description: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of Nova's `toolConfig.tools`, as the API documents it."""
    spec = {"name": name, "description": description, "inputSchema": {"json": dict(parameters)}}
    return {"toolSpec": spec}


def _media(block: Mapping[str, Any], where: str) -> MediaPart:
    kind = block.get("type")
    if kind == "image_url":  # the OpenAI chat-completions form
        value = block.get("image_url")
        url = value.get("url") if isinstance(value, Mapping) else value
        block = {"type": "image", "url": url}
        kind = "image"
    if kind == "file" and isinstance(block.get("file"), Mapping):
        raise MaviValidationError(
            f"{where} is an uploaded file reference: the video-understanding API takes files by "
            "URL. Pass {'type': 'video', 'url': 'https://...'}."
        )
    assert kind in ("image", "video", "file")
    if block.get("file_id") is not None or block.get("source_type") == "id":
        raise MaviValidationError(
            f"{where} names a file id ({block.get('file_id') or block.get('id')!r}): "
            "ChatMaviVLM takes videos by URL, not MAVI videoNos. Ask about indexed videos with "
            "ChatMavi, or pass {'type': 'video', 'url': 'https://...'}."
        )
    mime = block.get("mime_type")
    url = block.get("url")
    if isinstance(url, str):
        return media_part(kind, url, mime)
    data = block.get("base64") or block.get("data")
    if isinstance(data, str):
        return MediaPart(kind, data=data, mime_type=mime)
    raise MaviValidationError(
        f"{where} is a {kind} block without a url or base64 data: pass "
        f"{{'type': '{kind}', 'url': 'https://...'}}."
    )


def _parts(content: str | list[Any], where: str) -> tuple[TextPart | MediaPart, ...]:
    if isinstance(content, str):
        return (TextPart(content),) if content else ()
    parts: list[TextPart | MediaPart] = []
    for index, block in enumerate(content):
        place = f"{where}.content[{index}]"
        if isinstance(block, str):
            parts.append(TextPart(block))
        elif isinstance(block, Mapping) and block.get("type") == "text":
            parts.append(TextPart(str(block.get("text", ""))))
        elif isinstance(block, Mapping) and block.get("type") in (
            "image",
            "video",
            "file",
            "image_url",
        ):
            parts.append(_media(block, place))
        elif isinstance(block, Mapping) and block.get("type") in (
            "reasoning",
            "thinking",
            "tool_use",
            "tool_call",
        ):
            continue  # reasoning is not sent back; tool calls go from the message's tool_calls
        else:
            kind = block.get("type") if isinstance(block, Mapping) else type(block).__name__
            raise MaviValidationError(
                f"{place} is a {kind!r} block, which the video-understanding API cannot take: "
                "use text, and video, image or file blocks with a url."
            )
    return tuple(parts)


def to_vlm_messages(messages: Sequence[BaseMessage]) -> list[VlmMessage]:
    """LangChain messages as the API's turns; checked before any request."""
    turns: list[VlmMessage] = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        role: Literal["system", "user", "assistant"]
        if isinstance(message, SystemMessage):
            role = "system"
        elif isinstance(message, HumanMessage):
            role = "user"
        elif isinstance(message, AIMessage):
            role = "assistant"
        elif isinstance(message, ToolMessage):  # a tool's answer: a user turn (Nova only)
            result = ToolResult(message.tool_call_id, message.text)
            turns.append(VlmMessage("user", (result,)))
            continue
        else:
            raise MaviValidationError(
                f"{where} is a {type(message).__name__}: the video-understanding API takes "
                "system, human, AI and (for nova: models) tool messages."
            )
        parts: tuple[Part, ...] = _parts(message.content, where)
        if isinstance(message, AIMessage) and message.tool_calls:
            calls = (ToolCall(c["id"] or "", c["name"], c["args"]) for c in message.tool_calls)
            parts = (*parts, *calls)
        if parts:
            turns.append(VlmMessage(role, parts))
    return turns


def _tool_calls(reply: VlmReply) -> list[LangChainToolCall]:
    return [
        LangChainToolCall(name=call.name, args=call.arguments, id=call.id, type="tool_call")
        for call in reply.tool_calls
    ]


def _usage(reply: VlmReply) -> UsageMetadata | None:
    if reply.usage is None:
        return None
    return UsageMetadata(
        input_tokens=reply.usage.input_tokens,
        output_tokens=reply.usage.output_tokens,
        total_tokens=reply.usage.total_tokens,
    )


class ChatMaviVLM(MaviConnection, MaviChatModelCommon, BaseChatModel):
    """Memories.ai video-understanding chat completions: a Gemini, Qwen or Nova vision-language
    model answers about videos given by URL.

    ```python
    from langchain_mavi import ChatMaviVLM

    llm = ChatMaviVLM(model="gemini:gemini-2.5-flash", temperature=0.2)
    message = {
        "role": "user",
        "content": [
            {"type": "video", "url": "https://example.com/clip.mp4"},
            {"type": "text", "text": "What happens in this clip?"},
        ],
    }
    answer = llm.invoke([message])
    answer.text, answer.usage_metadata, answer.response_metadata["finish_reason"]
    ```

    `model` carries its provider prefix (`gemini:`, `qwen:`, `nova:`), checked when the model
    is built. `with_structured_output` sends the schema in the provider's own form (Gemini's
    `responseSchema`, Qwen's `response_format`); `bind_tools` sends Nova's `toolConfig` (other
    providers have no tools). The stream format of the service is not published: streams are
    read tolerantly (see docs/langchain-vlm-chat-model.md).
    """

    # A default only so that type checkers accept `model=`; an empty model is refused.
    model_name: str = Field(default="", alias="model", validate_default=True)
    """The provider-prefixed model, e.g. "gemini:gemini-2.5-flash", "qwen:qwen3-vl-plus" or
    "nova:us.amazon.nova-lite-v1:0"."""
    temperature: float | None = None
    """Sampling temperature, 0 to 2 (the provider's default when None)."""
    max_tokens: int | None = None
    """The longest answer, in tokens (the provider's default when None)."""
    top_p: float | None = None
    """Nucleus sampling, 0 to 1."""
    stop: list[str] | None = None
    """Stop sequences, sent to the model."""
    thinking_budget: int | None = None
    """Tokens the model may think with: Gemini `thinking_config.thinking_budget` (-1: dynamic,
    0: off); Qwen `thinking_budget` with `enable_thinking` (0: off). Nova has none."""
    streaming: bool = False
    """Stream the answer even for `invoke()`, reporting tokens to callbacks."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown(cls, values: Any) -> Any:
        if isinstance(values, dict):
            known = get_pydantic_field_names(cls)
            for name in values:
                if name not in known:
                    raise MaviValidationError(
                        f"ChatMaviVLM has no option {name!r}."
                        + closest_option(name, sorted(n for n in known if not n.startswith("_")))
                    )
        return values

    @field_validator("model_name")
    @classmethod
    def _check_model(cls, value: Any) -> Any:
        check_vlm_model(value)
        return value

    @model_validator(mode="after")
    def _check_options(self) -> Any:
        # The rules each request applies, now: a bad option fails where it was written.
        check_vlm_options(self.model_name, self._options(None, {}))
        return self

    def _client_options(self) -> dict[str, Any]:
        # The video-understanding API lives on the v1.0 host, whatever MAVI_API_VERSION says.
        return {**super()._client_options(), "api_version": "v1.0"}

    @property
    def provider(self) -> str:
        return check_vlm_model(self.model_name)[0]

    # --- LangChain metadata --------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "mavi-vlm-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "base_url": self.base_url,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "stop": self.stop,
            "thinking_budget": self.thinking_budget,
        }

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_mavi", "vlm"]

    # --- tools and structured output -----------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Nova models: `tools` sent as Nova's `toolConfig`, the documented form; the form of a
        reply that calls a tool is not published, so both OpenAI's `tool_calls` and Bedrock's
        `toolUse` parts are read (unverified against the live service). `tool_choice` ("auto",
        "any" or "required", or a tool's name) is sent as Bedrock's `toolConfig.toolChoice`,
        which the API does not document. Other providers: `NotImplementedError` naming what
        to use instead."""
        if self.provider != "nova":
            raise NotImplementedError(_NO_TOOLS.format(provider=self.provider))
        if tool_choice is not None:
            kwargs["tool_choice"] = (
                {"auto": {}}
                if tool_choice == "auto"
                else {"any": {}}
                if tool_choice in ("any", "required")
                else {"tool": {"name": tool_choice}}
            )
        specs = []
        for tool in tools:
            function = convert_to_openai_tool(tool)["function"]
            parameters = function.get("parameters") or {"type": "object", "properties": {}}
            specs.append(_tool_spec(function["name"], function.get("description", ""), parameters))
        return self.bind(tools=specs, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: Literal["json_schema", "function_calling", "json_mode"] = "json_schema",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """The answer as `schema` (a pydantic class, a TypedDict or a JSON schema), which is
        sent in the provider's own form: Gemini's `responseSchema` dialect, Qwen's
        `response_format`. Nova has none: a `MaviValidationError` says so when called.
        `strict` is accepted for compatibility: the provider holds the answer to the schema."""
        if method not in ("json_schema", "function_calling", "json_mode"):
            raise ValueError(
                f"method={method!r} is not a method: use 'json_schema' (every method sends the "
                "schema in the provider's own form; there is no tool calling to use)."
            )
        if kwargs:
            raise ValueError(f"Unexpected arguments: {sorted(kwargs)}.")
        json_schema = convert_to_json_schema(schema)
        name = str(json_schema.get("title") or "answer")
        llm = self.bind(
            response_schema=json_schema,
            schema_name=name,
            ls_structured_output_format={"kwargs": {"method": method}, "schema": json_schema},
        )
        parser: Runnable[Any, Any]
        if isinstance(schema, type) and is_basemodel_subclass(schema):  # pydantic v2 or v1
            parser = PydanticOutputParser(pydantic_object=schema)
        else:
            parser = JsonOutputParser()
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parsed.with_fallbacks(
            [fallback], exception_key="parsing_error"
        )

    # --- requests ------------------------------------------------------------------------

    def _options(self, stop: list[str] | None, kwargs: dict[str, Any]) -> VlmOptions:
        kwargs.pop("stream", None)
        kwargs.pop("model", None)  # taken by the caller
        defaults = {name: getattr(self, name) for name in _FIELD_OPTIONS}
        if stop is not None:
            defaults["stop"] = stop
        return call_options("ChatMaviVLM", kwargs, defaults)

    def _metadata(self, reply: VlmReply, model: str) -> dict[str, Any]:
        """The requested (prefixed) model as `model_name`; the provider's own name for it."""
        described = reply.described(model)
        return {"model_name": described.pop("model"), "model_provider": PROVIDER, **described}

    def _result(self, reply: VlmReply, model: str) -> ChatResult:
        message = AIMessage(
            content=reply.text,
            tool_calls=_tool_calls(reply),
            usage_metadata=_usage(reply),
            response_metadata=self._metadata(reply, model),
            id=reply.id,
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _last_chunk(self, reply: VlmReply, model: str) -> ChatGenerationChunk:
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                tool_call_chunks=[
                    tool_call_chunk(
                        name=call.name, args=json.dumps(call.arguments), id=call.id, index=index
                    )
                    for index, call in enumerate(reply.tool_calls)
                ],
                usage_metadata=_usage(reply),
                response_metadata=self._metadata(reply, model),
                chunk_position="last",
            )
        )

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[str, list[VlmMessage], VlmOptions]:
        """The model, turns and options of one call, as every path sends them."""
        model = kwargs.get("model") or self.model_name
        options = self._options(stop, kwargs)  # takes "model" out of kwargs
        return model, to_vlm_messages(messages), options

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._wants_stream(kwargs):
            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        with translate_errors():
            model, turns, options = self._request(messages, stop, kwargs)
            reply = self._get_client().vlm_chat(model, turns, options)
        return self._result(reply, model)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._wants_stream(kwargs):
            chunks = self._astream(messages, stop, run_manager, **kwargs)
            return generate_from_stream(iter([chunk async for chunk in chunks]))
        with translate_errors():
            model, turns, options = self._request(messages, stop, kwargs)
            reply = await self._get_async_client().vlm_chat(model, turns, options)
        return self._result(reply, model)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with translate_errors():
            model, turns, options = self._request(messages, stop, kwargs)
            deltas = self._get_client().stream_vlm_chat(model, turns, options)
        with translate_errors(), deltas:
            for delta in deltas:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta.text))
                if run_manager:
                    run_manager.on_llm_new_token(delta.text, chunk=chunk)
                yield chunk
        yield self._last_chunk(deltas.reply, model)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        with translate_errors():
            model, turns, options = self._request(messages, stop, kwargs)
            deltas = self._get_async_client().stream_vlm_chat(model, turns, options)
        with translate_errors():
            async with deltas:
                async for delta in deltas:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta.text))
                    if run_manager:
                        await run_manager.on_llm_new_token(delta.text, chunk=chunk)
                    yield chunk
        yield self._last_chunk(deltas.reply, model)
