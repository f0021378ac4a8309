"""Fixtures for the LlamaIndex adapter: one emulator for the run, reset before every test.

Nothing here reaches beyond loopback: `Settings.llm` / `Settings.embed_model` are mocks for the
duration of each test, so no LlamaIndex default ever resolves to OpenAI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from llama_index.core import Settings
from llama_index.core.base.response.schema import (
    AsyncStreamingResponse,
    Response,
    StreamingResponse,
)
from llama_index.core.callbacks import LlamaDebugHandler
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.span_handlers import SimpleSpanHandler
from llama_index.core.llms import MockLLM
from llama_index.core.schema import QueryBundle
from llama_index_instrumentation import get_dispatcher
from pydantic import Field

from llamaindex_mavi import MaviChatEngine, MaviLLM, MaviQueryEngine
from mavi_core import MaviClient
from mavi_core.emulator import MaviEmulator

MODES = ["sync", "async"]


@pytest.fixture(scope="session")
def _emulator_server() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limit=None) as emu:
        yield emu


@pytest.fixture
def emulator(_emulator_server: MaviEmulator) -> Iterator[MaviEmulator]:
    """The running emulator with no faults, an empty request log and no latency."""
    _emulator_server.reset()
    _emulator_server.latency = 0.0
    _emulator_server.delta_delay = 0.0
    yield _emulator_server
    _emulator_server.reset()
    _emulator_server.latency = 0.0


@pytest.fixture(autouse=True)
def _offline_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Mocks for LlamaIndex's global LLM and embeddings; no MAVI credentials from the host."""
    monkeypatch.delenv("MAVI_API_KEY", raising=False)
    monkeypatch.delenv("MAVI_BASE_URL", raising=False)
    saved = (Settings._llm, Settings._embed_model, Settings._callback_manager)
    Settings.llm = MockLLM()
    Settings.embed_model = MockEmbedding(embed_dim=8)
    yield
    Settings._llm, Settings._embed_model, Settings._callback_manager = saved


@pytest.fixture
def videos(emulator: MaviEmulator) -> list[str]:
    return emulator.video_nos


@pytest.fixture
def make_engine(emulator: MaviEmulator) -> Callable[..., MaviQueryEngine]:
    def make(**kwargs: Any) -> MaviQueryEngine:
        kwargs.setdefault("video_nos", emulator.video_nos[:1])
        kwargs.setdefault("api_key", emulator.api_key)
        kwargs.setdefault("base_url", emulator.base_url)
        return MaviQueryEngine(**kwargs)

    return make


@pytest.fixture
def make_llm(emulator: MaviEmulator) -> Callable[..., MaviLLM]:
    def make(**kwargs: Any) -> MaviLLM:
        kwargs.setdefault("video_nos", emulator.video_nos[:1])
        kwargs.setdefault("api_key", emulator.api_key)
        kwargs.setdefault("base_url", emulator.base_url)
        return MaviLLM(**kwargs)

    return make


@pytest.fixture
def make_chat_engine(emulator: MaviEmulator) -> Callable[..., MaviChatEngine]:
    def make(**kwargs: Any) -> MaviChatEngine:
        kwargs.setdefault("video_nos", emulator.video_nos[:1])
        kwargs.setdefault("api_key", emulator.api_key)
        kwargs.setdefault("base_url", emulator.base_url)
        return MaviChatEngine(**kwargs)

    return make


@pytest.fixture
def expected_answer(emulator: MaviEmulator) -> Callable[[list[str], str], str]:
    """What MAVI answers, asked directly through mavi_core (the oracle for the adapter)."""

    def answer(video_nos: list[str], question: str) -> str:
        with MaviClient(emulator.api_key, base_url=emulator.base_url) as client:
            return client.chat(video_nos, question).text

    return answer


async def ask(
    engine: MaviQueryEngine, question: str | QueryBundle, mode: str
) -> tuple[Response | StreamingResponse | AsyncStreamingResponse, list[str]]:
    """Query in `mode` ("sync" / "async"); returns the response and the pieces read from it
    (the deltas when streaming, else the one whole text)."""
    if mode == "sync":
        response = engine.query(question)
    else:
        response = await engine.aquery(question)
    if isinstance(response, StreamingResponse):
        return response, list(response.response_gen)
    if isinstance(response, AsyncStreamingResponse):
        return response, [delta async for delta in response.async_response_gen()]
    assert isinstance(response, Response)
    return response, [str(response)]


Ask = Callable[..., Awaitable[tuple[Any, list[str]]]]


@pytest.fixture
def ask_engine() -> Ask:
    return ask


class EventCollector(BaseEventHandler):
    """A real dispatcher event handler that keeps every event it is given."""

    events: list[BaseEvent] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "EventCollector"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)

    def of(self, *types: type[BaseEvent]) -> list[Any]:
        return [event for event in self.events if isinstance(event, types)]


@pytest.fixture
def collector() -> Iterator[EventCollector]:
    root = get_dispatcher()
    handler = EventCollector()
    root.add_event_handler(handler)
    yield handler
    root.event_handlers.remove(handler)


@pytest.fixture
def spans() -> Iterator[SimpleSpanHandler]:
    root = get_dispatcher()
    handler = SimpleSpanHandler()
    root.add_span_handler(handler)
    yield handler
    root.span_handlers.remove(handler)


@pytest.fixture
def debug() -> LlamaDebugHandler:
    return LlamaDebugHandler(print_trace_on_end=False)
