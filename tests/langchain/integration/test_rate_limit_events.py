"""A wait for a turn in the key's budget is a LangChain custom event, `mavi_rate_limit_wait`,
of the run that waits: callback handlers' `on_custom_event` and `astream_events` see it
(langchain_mavi._events). Over real HTTP, against the emulator; the client's own limit is
tight enough that the second call of a test must wait."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableConfig, RunnableLambda

from langchain_mavi import (
    RATE_LIMIT_WAIT_EVENT,
    ChatMavi,
    MaviRateLimiter,
    MaviTranscriptLoader,
    MaviVideoChatTool,
    MaviVideoRetriever,
)
from mavi_core import Budget, RateLimit
from mavi_core.emulator import MaviEmulator

pytestmark = pytest.mark.integration

WINDOW = 1.0
"""One call per window: the second call waits about this long (a slow first call under load
stays well inside it)."""


class Recorder(BaseCallbackHandler):
    """The custom events a run reports, and the ids of the runs that started."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any, UUID]] = []
        self.runs: dict[str, UUID] = {}
        self.parents: dict[UUID, UUID | None] = {}

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.events.append((name, data, run_id))

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **_: Any,
    ) -> None:
        self.runs["chat_model"] = run_id
        self.parents[run_id] = parent_run_id

    def on_tool_start(self, serialized: Any, input_str: str, *, run_id: UUID, **_: Any) -> None:
        self.runs["tool"] = run_id

    def on_retriever_start(self, serialized: Any, query: str, *, run_id: UUID, **_: Any) -> None:
        self.runs["retriever"] = run_id


def tight(endpoint: str = "chat") -> RateLimit:
    return RateLimit(budgets={endpoint: Budget(1, WINDOW)})


def assert_one_wait(recorder: Recorder, endpoint: str, run: str) -> None:
    [(name, data, run_id)] = recorder.events
    assert name == RATE_LIMIT_WAIT_EVENT
    assert data["endpoint"] == endpoint and data["reason"] == "budget"
    assert 0 < data["seconds"] <= WINDOW + 0.1
    assert run_id == recorder.runs[run]


@pytest.fixture
def chat_model(emulator: MaviEmulator) -> Callable[..., ChatMavi]:
    def build(**kwargs: Any) -> ChatMavi:
        return ChatMavi(
            video_nos=emulator.video_nos[:1],
            api_key=emulator.api_key,
            base_url=emulator.base_url,
            **kwargs,
        )

    return build


async def call(llm: ChatMavi, how: str, config: RunnableConfig) -> None:
    if how == "invoke":
        llm.invoke("What happens?", config)
    elif how == "ainvoke":
        await llm.ainvoke("What happens?", config)
    elif how == "stream":
        list(llm.stream("What happens?", config))
    elif how == "astream":
        [chunk async for chunk in llm.astream("What happens?", config)]
    elif how == "invoke_streaming":
        llm.invoke("What happens?", config, stream=True)
    else:
        await llm.ainvoke("What happens?", config, stream=True)


HOWS = ["invoke", "ainvoke", "stream", "astream", "invoke_streaming", "ainvoke_streaming"]


@pytest.mark.parametrize("how", HOWS)
async def test_chat_mavi_reports_a_wait_as_a_custom_event_of_its_run(
    chat_model: Callable[..., ChatMavi], how: str
) -> None:
    llm = chat_model(rate_limit=tight())
    first, second = Recorder(), Recorder()

    await call(llm, how, {"callbacks": [first]})
    await call(llm, how, {"callbacks": [second]})

    assert first.events == []  # no wait, no event
    assert_one_wait(second, "chat", "chat_model")


async def test_astream_events_of_chat_mavi_sees_the_wait(
    chat_model: Callable[..., ChatMavi],
) -> None:
    llm = chat_model(rate_limit=tight())
    await llm.ainvoke("What happens?")

    events = [event async for event in llm.astream_events("What happens?", version="v2")]

    [custom] = [event for event in events if event["event"] == "on_custom_event"]
    [start] = [event for event in events if event["event"] == "on_chat_model_start"]
    assert custom["name"] == RATE_LIMIT_WAIT_EVENT and custom["data"]["endpoint"] == "chat"
    assert custom["run_id"] == start["run_id"]
    assert events.index(custom) < min(
        i for i, event in enumerate(events) if event["event"] == "on_chat_model_stream"
    )


async def test_a_wait_inside_a_chain_is_reported_to_its_handlers(
    chat_model: Callable[..., ChatMavi],
) -> None:
    llm = chat_model(rate_limit=tight())
    chain = RunnableLambda(lambda question: question) | llm
    recorder = Recorder()
    await chain.ainvoke("What happens?")

    events = [e async for e in chain.astream_events("What happens?", {"callbacks": [recorder]})]

    assert [e["name"] for e in events if e["event"] == "on_custom_event"] == [RATE_LIMIT_WAIT_EVENT]
    assert_one_wait(recorder, "chat", "chat_model")


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
async def test_a_wait_of_a_mavi_rate_limiter_is_reported_to_the_models_run(
    emulator: MaviEmulator, chat_model: Callable[..., ChatMavi], how: str
) -> None:
    limiter = MaviRateLimiter(tight(), api_key=emulator.api_key)
    llm = chat_model(rate_limiter=limiter)  # LangChain acquires it before the model's code
    recorder = Recorder()

    for _ in range(2):
        if how == "invoke":
            llm.invoke("What happens?", {"callbacks": [recorder]})
        else:
            await llm.ainvoke("What happens?", {"callbacks": [recorder]})

    assert_one_wait(recorder, "chat", "chat_model")


@pytest.mark.parametrize("how", ["invoke", "ainvoke", "astream_events"])
async def test_the_tool_reports_a_wait_inside_its_run(emulator: MaviEmulator, how: str) -> None:
    tool = MaviVideoChatTool(
        video_nos=emulator.video_nos[:1],
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        rate_limit=tight(),
    )
    args = {"question": "What happens?"}
    tool.invoke(args)
    recorder = Recorder()
    config: RunnableConfig = {"callbacks": [recorder]}

    if how == "invoke":
        tool.invoke(args, config)
    elif how == "ainvoke":
        await tool.ainvoke(args, config)
    else:
        events = [event async for event in tool.astream_events(args, config)]
        [custom] = [e for e in events if e["event"] == "on_custom_event"]
        assert custom["name"] == RATE_LIMIT_WAIT_EVENT
        assert str(recorder.runs["tool"]) in custom["parent_ids"]

    # The wait belongs to the tool's ChatMavi run, a child of the tool run.
    assert_one_wait(recorder, "chat", "chat_model")
    assert recorder.parents[recorder.runs["chat_model"]] == recorder.runs["tool"]


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
async def test_the_retriever_reports_a_wait_of_its_search(emulator: MaviEmulator, how: str) -> None:
    retriever = MaviVideoRetriever(
        video_nos=emulator.video_nos[:1],
        with_transcript=False,
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        rate_limit=tight("moments"),
    )
    first, second = Recorder(), Recorder()

    for recorder in (first, second):
        if how == "invoke":
            retriever.invoke("a boat", {"callbacks": [recorder]})
        else:
            await retriever.ainvoke("a boat", {"callbacks": [recorder]})

    assert first.events == []
    assert_one_wait(second, "moments", "retriever")


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
async def test_the_transcript_loader_reports_a_wait_to_the_run_it_is_called_in(
    emulator: MaviEmulator, how: str, empty_transcript_cache: None
) -> None:
    # Both kinds of one video: two transcriptions submitted, the second waits for its turn.
    loader = MaviTranscriptLoader(
        emulator.video_nos[:1],
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        rate_limit=tight("transcription"),
        poll_interval=0.05,
    )
    recorder = Recorder()
    config: RunnableConfig = {"callbacks": [recorder]}

    if how == "invoke":
        docs = RunnableLambda(lambda _: loader.load()).invoke(None, config)
    else:

        async def load(_: object) -> list[Any]:
            return [doc async for doc in loader.alazy_load()]

        docs = await RunnableLambda(load).ainvoke(None, config)

    assert docs
    [(name, data, _)] = recorder.events
    assert name == RATE_LIMIT_WAIT_EVENT
    assert (data["endpoint"], data["reason"]) == ("transcription", "budget")
