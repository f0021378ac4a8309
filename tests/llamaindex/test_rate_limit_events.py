"""A wait for a turn in the key's budget is a LlamaIndex instrumentation event,
`MaviRateLimitWaitEvent`, from `MaviLLM`, both engines and the retriever (llamaindex_mavi.events).
Over real HTTP, against the emulator; the client's own limit is tight enough that the second
call of a test must wait."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage

from llamaindex_mavi import (
    MaviChatEngine,
    MaviLLM,
    MaviQueryEngine,
    MaviRateLimitWaitEvent,
    MaviTranscriptReader,
    MaviVideoRetriever,
)
from mavi_core import Budget, RateLimit
from mavi_core.emulator import MaviEmulator
from tests.llamaindex.conftest import EventCollector

WINDOW = 1.0
"""One call per window: the second call waits about this long (a slow first call under load
stays well inside it)."""


def tight(endpoint: str = "chat") -> RateLimit:
    return RateLimit(budgets={endpoint: Budget(1, WINDOW)})


@pytest.fixture
def options(emulator: MaviEmulator) -> dict[str, Any]:
    return {"api_key": emulator.api_key, "base_url": emulator.base_url}


def waits(collector: EventCollector) -> list[MaviRateLimitWaitEvent]:
    return collector.of(MaviRateLimitWaitEvent)


def assert_one_wait(collector: EventCollector, endpoint: str) -> None:
    [event] = waits(collector)
    assert (event.endpoint, event.reason) == (endpoint, "budget")
    assert 0 < event.seconds <= WINDOW + 0.1


QUESTION = [ChatMessage(role="user", content="What happens?")]


async def _llm_call(llm: MaviLLM, how: str) -> None:
    if how == "chat":
        llm.chat(QUESTION)
    elif how == "achat":
        await llm.achat(QUESTION)
    elif how == "stream_chat":
        list(llm.stream_chat(QUESTION))
    elif how == "astream_chat":
        [item async for item in await llm.astream_chat(QUESTION)]
    elif how == "complete":
        llm.complete("What happens?")
    else:
        [item async for item in await llm.astream_complete("What happens?")]


@pytest.mark.parametrize(
    "how", ["chat", "achat", "stream_chat", "astream_chat", "complete", "astream_complete"]
)
async def test_the_llm_dispatches_a_wait_event_only_when_it_waits(
    how: str, options: dict[str, Any], videos: list[str], collector: EventCollector
) -> None:
    llm = MaviLLM(videos[:1], rate_limit=tight(), **options)

    await _llm_call(llm, how)
    assert waits(collector) == []
    await _llm_call(llm, how)

    assert_one_wait(collector, "chat")


async def _drain(response: Any, how: str) -> None:
    """Read a streamed answer to its end."""
    if how.startswith("a"):
        [piece async for piece in response.async_response_gen()]
    else:
        list(response.response_gen)


@pytest.mark.parametrize(
    ("engine_class", "how", "streaming"),
    [
        (MaviQueryEngine, "query", False),
        (MaviQueryEngine, "aquery", True),
        (MaviChatEngine, "chat", False),
        (MaviChatEngine, "stream_chat", True),
        (MaviChatEngine, "astream_chat", True),
    ],
)
async def test_the_engines_dispatch_the_wait_event(
    engine_class: Any,
    how: str,
    streaming: bool,
    options: dict[str, Any],
    videos: list[str],
    collector: EventCollector,
) -> None:
    extra = {"streaming": streaming} if engine_class is MaviQueryEngine else {}
    engine = engine_class(videos[:1], rate_limit=tight(), **extra, **options)

    for _ in range(2):
        response = getattr(engine, how)("What happens?")
        if how.startswith("a"):
            response = await response
        if streaming:
            await _drain(response, how)

    assert_one_wait(collector, "chat")


@pytest.mark.parametrize("how", ["retrieve", "aretrieve"])
async def test_the_retriever_dispatches_the_wait_event_of_its_search(
    how: str, options: dict[str, Any], videos: list[str], collector: EventCollector
) -> None:
    retriever = MaviVideoRetriever(
        videos[:1], with_transcript=False, rate_limit=tight("moments"), **options
    )

    for _ in range(2):
        if how == "retrieve":
            assert retriever.retrieve("a boat")
        else:
            assert await retriever.aretrieve("a boat")

    assert_one_wait(collector, "moments")


@pytest.mark.parametrize("how", ["load_data", "aload_data"])
async def test_the_transcript_reader_dispatches_a_wait_event(
    how: str,
    options: dict[str, Any],
    videos: list[str],
    collector: EventCollector,
    empty_transcript_cache: None,
) -> None:
    # Both kinds of one video: two transcriptions submitted, the second waits for its turn.
    reader = MaviTranscriptReader(
        videos[:1], rate_limit=tight("transcription"), poll_interval=0.05, **options
    )

    docs = reader.load_data() if how == "load_data" else await reader.aload_data()

    assert docs
    assert_one_wait(collector, "transcription")
