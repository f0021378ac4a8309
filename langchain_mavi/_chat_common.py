"""What both MAVI chat models tell LangChain alike: their secrets, that they serialize, their
LangSmith parameters, how they count tokens, and whether a call streams."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import BaseMessage
from langchain_core.messages.utils import count_tokens_approximately

from mavi_core.constants import API_KEY_ENV

__all__ = ["MaviChatModelCommon"]


class _Sampling(Protocol):
    model_name: str
    temperature: float | None
    max_tokens: int | None
    stop: list[str] | None
    streaming: bool


class _Counting(Protocol):
    custom_get_token_ids: Callable[[str], list[int]] | None


class MaviChatModelCommon:
    """A mixin for `ChatMavi` and `ChatMaviVLM`, placed before `BaseChatModel`."""

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": API_KEY_ENV}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    def _get_ls_params(
        self: _Sampling, stop: list[str] | None = None, **kwargs: Any
    ) -> LangSmithParams:
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

    def get_num_tokens(self: _Counting, text: str) -> int:
        """An estimate: MAVI publishes no tokenizer, so about four characters a token (the rule
        of LangChain's `count_tokens_approximately`), not GPT-2's tokenizer (which needs
        `transformers`). `custom_get_token_ids=` counts with yours instead."""
        if self.custom_get_token_ids is not None:
            return len(self.custom_get_token_ids(text))
        return -(-len(text) // 4)

    def get_num_tokens_from_messages(
        self: _Counting, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """An estimate, as `get_num_tokens` (LangChain's `count_tokens_approximately`)."""
        if self.custom_get_token_ids is not None:
            model = cast("BaseChatModel", self)  # LangChain's count, over get_num_tokens
            return BaseChatModel.get_num_tokens_from_messages(model, messages, tools)
        return count_tokens_approximately(messages)

    def _wants_stream(self: _Sampling, kwargs: dict[str, Any]) -> bool:
        """`stream=` of the call if given, else the model's `streaming`."""
        stream = kwargs.pop("stream", None)
        return self.streaming if stream is None else bool(stream)
