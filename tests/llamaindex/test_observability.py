"""What tracing sees of the engines: callback events (LlamaDebugHandler), dispatcher events and
spans. The fixtures `collector`, `spans` and `debug` are in conftest.py."""

from __future__ import annotations

import pytest
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload
from llama_index.core.instrumentation.events.chat_engine import StreamChatDeltaReceivedEvent
from llama_index.core.instrumentation.events.exception import ExceptionEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionInProgressEvent,
    LLMCompletionStartEvent,
)
from llama_index.core.instrumentation.events.query import QueryEndEvent, QueryStartEvent

from mavi_core import MaviInvalidRequestError

MODES = ["sync", "async"]
QUESTION = "What does the chef cut first?"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streaming", [False, True])
async def test_llama_debug_handler_sees_a_query_event_with_the_question(
    mode, streaming, make_engine, ask_engine, debug
):
    engine = make_engine(streaming=streaming, callback_manager=CallbackManager([debug]))

    await ask_engine(engine, QUESTION, mode)

    [(start, _end)] = debug.get_event_pairs(CBEventType.QUERY)
    assert start.payload[EventPayload.QUERY_STR] == QUESTION


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streaming", [False, True])
async def test_llama_debug_handler_sees_an_llm_event_with_prompt_and_completion(
    mode, streaming, make_engine, ask_engine, debug
):
    engine = make_engine(streaming=streaming, callback_manager=CallbackManager([debug]))

    _, pieces = await ask_engine(engine, QUESTION, mode)

    [(start, end)] = debug.get_llm_inputs_outputs()
    assert start.payload[EventPayload.PROMPT] == QUESTION
    assert end.payload[EventPayload.COMPLETION].text == "".join(pieces)


@pytest.mark.parametrize("mode", MODES)
async def test_dispatcher_sees_query_and_llm_events_in_order(
    mode, make_engine, ask_engine, collector
):
    _, [answer] = await ask_engine(make_engine(), QUESTION, mode)

    kinds = (QueryStartEvent, LLMCompletionStartEvent, LLMCompletionEndEvent, QueryEndEvent)
    events = collector.of(*kinds)
    assert [type(event) for event in events] == list(kinds)
    assert events[1].prompt == QUESTION
    assert events[2].response.text == answer


@pytest.mark.parametrize("mode", MODES)
async def test_dispatcher_sees_one_in_progress_event_per_streamed_delta(
    mode, make_engine, ask_engine, collector
):
    _, deltas = await ask_engine(make_engine(streaming=True), QUESTION, mode)

    progress = collector.of(LLMCompletionInProgressEvent)
    assert [event.response.delta for event in progress] == deltas
    assert progress[-1].response.text == "".join(deltas)


@pytest.mark.parametrize("mode", MODES)
async def test_a_streamed_llm_end_event_fires_when_the_stream_is_exhausted(
    mode, make_engine, collector, debug
):
    engine = make_engine(streaming=True, callback_manager=CallbackManager([debug]))
    if mode == "sync":
        response = engine.query(QUESTION)
        ended_before_reading = collector.of(LLMCompletionEndEvent)
        text = "".join(response.response_gen)
    else:
        response = await engine.aquery(QUESTION)
        ended_before_reading = collector.of(LLMCompletionEndEvent)
        text = "".join([delta async for delta in response.async_response_gen()])

    assert ended_before_reading == []
    [end] = collector.of(LLMCompletionEndEvent)
    assert end.response.text == text
    [(_, callback_end)] = debug.get_llm_inputs_outputs()
    assert callback_end.payload[EventPayload.COMPLETION].text == text


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streaming", [False, True])
async def test_llm_events_belong_to_the_llms_span_inside_the_engines_query_span(
    mode, streaming, make_engine, ask_engine, collector, spans
):
    await ask_engine(make_engine(streaming=streaming), QUESTION, mode)

    method = "_query" if mode == "sync" else "_aquery"
    llm_method = ("a" if mode == "async" else "") + ("stream_complete" if streaming else "complete")
    completed = {span.id_: span for span in spans.completed_spans}
    llm_events = collector.of(
        LLMCompletionStartEvent, LLMCompletionInProgressEvent, LLMCompletionEndEvent
    )
    [llm_span_id] = {event.span_id for event in llm_events}
    assert llm_span_id.split("-")[0] == f"MaviLLM.{llm_method}"
    parent_id = completed[llm_span_id].parent_id
    assert parent_id is not None
    assert parent_id.split("-")[0] == f"MaviQueryEngine.{method}"
    assert parent_id in completed


@pytest.mark.parametrize("mode", MODES)
async def test_a_failed_request_is_reported_to_callbacks_and_dispatcher(
    mode, make_engine, ask_engine, emulator, collector, debug
):
    emulator.faults.error_envelope("0003", "video not parsed")
    engine = make_engine(max_retries=0, callback_manager=CallbackManager([debug]))

    with pytest.raises(MaviInvalidRequestError) as caught:
        await ask_engine(engine, QUESTION, mode)

    [(_, end)] = debug.get_llm_inputs_outputs()
    assert end.payload[EventPayload.EXCEPTION] is caught.value
    assert [event.exception for event in collector.of(ExceptionEvent)] == [caught.value]


@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_the_chat_engine_reports_chat_llm_events_with_messages_and_response(
    mode, make_chat_engine, collector, debug
):
    chat = make_chat_engine(callback_manager=CallbackManager([debug]))

    answer = chat.chat(QUESTION) if mode == "chat" else await chat.achat(QUESTION)

    [start] = collector.of(LLMChatStartEvent)
    [end] = collector.of(LLMChatEndEvent)
    assert [m.content for m in start.messages] == [QUESTION]
    assert end.response.message.content == answer.response
    [(callback_start, callback_end)] = debug.get_llm_inputs_outputs()
    assert callback_start.payload[EventPayload.MESSAGES] == start.messages
    assert callback_end.payload[EventPayload.RESPONSE].message.content == answer.response


@pytest.mark.parametrize("mode", ["stream_chat", "astream_chat"])
async def test_the_streaming_chat_engine_reports_every_delta(mode, make_chat_engine, collector):
    chat = make_chat_engine()

    if mode == "stream_chat":
        deltas = list(chat.stream_chat(QUESTION).response_gen)
    else:
        response = await chat.astream_chat(QUESTION)
        deltas = [delta async for delta in response.async_response_gen()]

    assert [e.delta for e in collector.of(StreamChatDeltaReceivedEvent)] == deltas
    [end] = collector.of(LLMChatEndEvent)
    assert end.response.message.content == "".join(deltas)


@pytest.mark.parametrize("streaming", [False, True])
async def test_no_callback_or_dispatcher_event_carries_the_api_key(
    streaming, make_engine, ask_engine, emulator, collector, debug
):
    engine = make_engine(streaming=streaming, callback_manager=CallbackManager([debug]))

    await ask_engine(engine, QUESTION, "async")

    dumped = [repr(event) for event in collector.events]
    dumped += [repr(event.payload) for event in debug.get_events()]
    assert dumped
    assert not [text for text in dumped if emulator.api_key in text]
