"""LlamaIndex's callback decorators, with the decorated method's type kept.

`llm_chat_callback()`, `llm_completion_callback()` and `trace_method()` are annotated as
returning a bare `Callable`, so to a caller's type checker every method they wrap returns
`Any` (`mypy --strict` then refuses `return llm.complete(prompt)` from a typed function). Their
wrappers call the method with its own arguments and return what it returns, so its type holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from llama_index.core.callbacks import trace_method
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback

__all__ = ["chat_callback", "completion_callback", "traced"]

_F = TypeVar("_F", bound=Callable[..., Any])


def chat_callback() -> Callable[[_F], _F]:
    """`llm_chat_callback()`: LLM events around a chat method."""
    return cast("Callable[[_F], _F]", llm_chat_callback())


def completion_callback() -> Callable[[_F], _F]:
    """`llm_completion_callback()`: LLM events around a completion method."""
    return cast("Callable[[_F], _F]", llm_completion_callback())


def traced(trace_id: str) -> Callable[[_F], _F]:
    """`trace_method(trace_id)`: the method's events under one trace."""
    return cast("Callable[[_F], _F]", trace_method(trace_id))
