"""The spans LlamaIndex opens around our components see each call's arguments as given.

Each method under a span carries its signature (`llamaindex_mavi._spans.presigned`), so the
framework does not rebuild it on every call; span handlers must still get the arguments bound
exactly as the caller passed them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from llama_index.core.instrumentation.span.simple import SimpleSpan
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from llama_index.core.schema import QueryBundle
from llama_index_instrumentation import get_dispatcher
from pydantic import PrivateAttr

from llamaindex_mavi import MaviChatEngine, MaviLLM, MaviQueryEngine, MaviVideoRetriever
from mavi_core.emulator import MaviEmulator


class BoundArguments(BaseSpanHandler[SimpleSpan]):
    """Each span's id and the arguments it was opened with."""

    _opened: list[tuple[str, dict[str, Any]]] = PrivateAttr(default_factory=list)

    def new_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        parent_span_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> SimpleSpan:
        self._opened.append((id_, dict(bound_args.arguments)))
        return SimpleSpan(id_=id_, parent_id=parent_span_id)

    def prepare_to_exit_span(self, id_: str, *args: Any, **kwargs: Any) -> SimpleSpan | None:
        return None

    def prepare_to_drop_span(self, id_: str, *args: Any, **kwargs: Any) -> SimpleSpan | None:
        return None

    def of(self, method: str) -> list[dict[str, Any]]:
        """The arguments of each span of `method` ("Class.method")."""
        return [arguments for id_, arguments in self._opened if id_.startswith(f"{method}-")]


@pytest.fixture
def bound() -> Iterator[BoundArguments]:
    root = get_dispatcher()
    handler = BoundArguments()
    root.add_span_handler(handler)
    yield handler
    root.span_handlers.remove(handler)


def _layers(value: Any) -> Iterator[Any]:
    while value is not None:
        yield value
        value = getattr(value, "__wrapped__", None)


@pytest.mark.parametrize("cls", [MaviLLM, MaviQueryEngine, MaviChatEngine, MaviVideoRetriever])
def test_every_method_carries_the_signature_inspect_would_build(cls: type) -> None:
    functions = [f for value in vars(cls).values() for f in _layers(value) if inspect.isfunction(f)]
    assert functions
    for function in functions:
        given = vars(function)["__signature__"]
        del function.__signature__
        try:
            assert given == inspect.signature(function), function.__qualname__
        finally:
            function.__signature__ = given


def test_llm_spans_bind_the_callers_arguments(
    make_llm: Callable[..., MaviLLM], bound: BoundArguments
) -> None:
    llm = make_llm()
    llm.complete("What happens?", video_nos=llm.video_nos)
    "".join(response.delta or "" for response in llm.stream_complete("And then?"))
    (arguments,) = bound.of("MaviLLM.complete")
    # LlamaIndex binds an LLM call to its callback wrapper's (*args, **kwargs), for every LLM.
    assert arguments == {"args": ("What happens?",), "kwargs": {"video_nos": llm.video_nos}}
    (arguments,) = bound.of("MaviLLM.stream_complete")
    assert arguments == {"args": ("And then?",)}


def test_engine_and_retriever_spans_bind_the_callers_arguments(
    make_engine: Callable[..., MaviQueryEngine],
    make_chat_engine: Callable[..., MaviChatEngine],
    emulator: MaviEmulator,
    bound: BoundArguments,
) -> None:
    make_engine().query("What happens?")
    (arguments,) = bound.of("MaviQueryEngine._query")
    assert isinstance(arguments["query_bundle"], QueryBundle)
    assert arguments["query_bundle"].query_str == "What happens?"

    chat_engine = make_chat_engine()
    chat_engine.chat("Who is there?")
    (arguments,) = bound.of("MaviChatEngine.chat")
    assert arguments["message"] == "Who is there?"

    retriever = MaviVideoRetriever(
        emulator.video_nos, api_key=emulator.api_key, base_url=emulator.base_url
    )
    retriever.retrieve("harbor")
    (arguments,) = bound.of("MaviVideoRetriever._retrieve")
    assert arguments["query_bundle"].query_str == "harbor"
