"""MaviQueryEngine over the emulator: what it sends, what it returns, sync and async alike."""

from __future__ import annotations

import asyncio
import time

import pytest
from llama_index.core.base.response.schema import (
    RESPONSE_TYPE,
    AsyncStreamingResponse,
    Response,
    StreamingResponse,
)
from llama_index.core.schema import QueryBundle
from pydantic import SecretStr

from llamaindex_mavi import MaviQueryBundle, MaviQueryEngine
from mavi_core import (
    MaviAuthenticationError,
    MaviClient,
    MaviInvalidRequestError,
    MaviServerError,
    MaviStreamError,
    MaviValidationError,
)
from mavi_core.emulator import MaviEmulator

MODES = ["sync", "async"]
QUESTION = "How does the chef dice the onion?"


async def send(engine: MaviQueryEngine, mode: str) -> RESPONSE_TYPE:
    """`query` or `aquery` the question, without reading a stream."""
    return engine.query(QUESTION) if mode == "sync" else await engine.aquery(QUESTION)


@pytest.mark.parametrize("mode", MODES)
async def test_query_returns_a_response_with_the_whole_answer(
    mode, make_engine, ask_engine, expected_answer, videos
):
    response, pieces = await ask_engine(make_engine(), QUESTION, mode)

    assert type(response) is Response
    assert pieces == [expected_answer(videos[:1], QUESTION)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streaming", [False, True])
async def test_request_body_holds_exactly_videos_message_history_and_stream_flag(
    mode, streaming, make_engine, ask_engine, emulator, videos
):
    await ask_engine(make_engine(streaming=streaming), QUESTION, mode)

    [request] = emulator.requests
    assert (request.method, request.path) == ("POST", "/api/serve/video/chat")
    assert request.body == {
        "videoNos": videos[:1],
        "message": QUESTION,
        "history": [],
        "stream": streaming,
    }


@pytest.mark.parametrize(
    ("mode", "response_type"), [("sync", StreamingResponse), ("async", AsyncStreamingResponse)]
)
async def test_streaming_query_yields_the_answer_as_ordered_deltas(
    mode, response_type, make_engine, ask_engine, expected_answer, videos
):
    response, deltas = await ask_engine(make_engine(streaming=True), QUESTION, mode)

    assert type(response) is response_type
    assert len(deltas) > 1
    assert "".join(deltas) == expected_answer(videos[:1], QUESTION)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streaming", [False, True])
async def test_metadata_is_a_mutable_dict_naming_the_videos_asked(
    mode, streaming, make_engine, ask_engine, videos
):
    response, _ = await ask_engine(make_engine(streaming=streaming), QUESTION, mode)

    assert response.metadata == {"video_nos": videos[:1]}
    response.metadata["selector_result"] = "routers write here"


@pytest.mark.parametrize("mode", MODES)
async def test_mavi_query_bundle_replaces_the_engines_videos_for_one_query(
    mode, make_engine, ask_engine, emulator, videos
):
    engine = make_engine(video_nos=videos[:1])

    response, _ = await ask_engine(engine, MaviQueryBundle(QUESTION, video_nos=videos[2:4]), mode)

    assert emulator.requests[-1].body["videoNos"] == videos[2:4]
    assert response.metadata["video_nos"] == videos[2:4]
    assert engine.video_nos == videos[:1]


async def test_any_query_bundle_with_a_video_nos_attribute_chooses_the_videos(
    make_engine, ask_engine, emulator, videos
):
    bundle = QueryBundle(QUESTION)
    bundle.video_nos = videos[1:2]  # type: ignore[attr-defined]

    await ask_engine(make_engine(), bundle, "sync")

    assert emulator.requests[-1].body["videoNos"] == videos[1:2]


def test_with_videos_returns_a_copy_asking_about_other_videos(make_engine, emulator, videos):
    engine = make_engine(video_nos=videos[:1], streaming=True)

    other = engine.with_videos(videos[3:5])
    str(other.query(QUESTION))

    assert emulator.requests[-1].body["videoNos"] == videos[3:5]
    assert other.streaming is True
    assert engine.video_nos == videos[:1]


def test_an_engine_without_videos_rejects_a_query_before_sending(make_engine, emulator):
    engine = make_engine(video_nos=None)

    with pytest.raises(MaviValidationError, match="video_nos is empty"):
        engine.query(QUESTION)
    assert emulator.requests == []


def test_a_single_string_is_not_accepted_as_video_nos(make_engine):
    with pytest.raises(MaviValidationError, match="not a single string"):
        make_engine(video_nos="VI123")


def test_api_key_defaults_to_the_environment(monkeypatch, make_engine, emulator):
    monkeypatch.setenv("MAVI_API_KEY", emulator.api_key)
    engine = make_engine(api_key=None)

    assert str(engine.query(QUESTION))
    assert isinstance(engine.api_key, SecretStr)


@pytest.mark.parametrize("mode", MODES)
async def test_without_a_key_construction_succeeds_and_the_first_query_fails(
    mode, make_engine, ask_engine, emulator
):
    engine = make_engine(api_key=None)

    with pytest.raises(MaviAuthenticationError, match="MAVI_API_KEY"):
        await ask_engine(engine, QUESTION, mode)
    assert emulator.requests == []


def test_the_key_appears_in_neither_repr_nor_errors(make_engine):
    secret = "sk-wrong-but-secret-4242"
    engine = make_engine(api_key=secret)

    with pytest.raises(MaviAuthenticationError) as caught:
        engine.query(QUESTION)

    assert secret not in repr(engine)
    assert secret not in str(caught.value)
    assert secret not in repr(engine.api_key)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streaming", [False, True])
async def test_service_errors_surface_unchanged_from_the_query_call(
    mode, streaming, make_engine, emulator
):
    emulator.faults.error_envelope("0003", "video not parsed")
    engine = make_engine(streaming=streaming, max_retries=0)

    with pytest.raises(MaviInvalidRequestError) as caught:
        await send(engine, mode)
    assert caught.value.code == "0003"


async def read_into(response: StreamingResponse | AsyncStreamingResponse, into: list[str]) -> None:
    if isinstance(response, StreamingResponse):
        into.extend(response.response_gen)
    else:
        async for delta in response.async_response_gen():
            into.append(delta)


@pytest.mark.parametrize("mode", MODES)
async def test_a_stream_that_breaks_midway_raises_stream_error_after_the_delivered_deltas(
    mode, make_engine, emulator
):
    emulator.faults.disconnect_after(3)
    engine = make_engine(streaming=True, max_retries=0)
    response = await send(engine, mode)
    received: list[str] = []

    with pytest.raises(MaviStreamError):
        await read_into(response, received)
    assert len(received) == 3


async def test_parallel_aqueries_overlap_on_the_wire(make_engine, emulator: MaviEmulator):
    emulator.latency = 0.3
    engine = make_engine()
    await engine.aquery("warm up")  # the first query on a loop builds its HTTP client
    emulator.clear_requests()

    requests_seen_at_answer: list[int] = []

    async def ask(question: str) -> str:
        answer = str(await engine.aquery(question))
        requests_seen_at_answer.append(len(emulator.requests))
        return answer

    started = time.monotonic()
    answers = await asyncio.gather(*(ask(f"question {n}") for n in range(5)))
    elapsed = time.monotonic() - started

    assert all(answers)
    assert requests_seen_at_answer[0] == 5  # all five reached the server before any answer
    assert elapsed < 1.2  # one after another would take at least 5 x 0.3 = 1.5 s


def test_one_engine_serves_queries_from_successive_event_loops(make_engine):
    engine = make_engine()

    async def ask() -> str:
        return str(await engine.aquery(QUESTION))

    first = asyncio.run(ask())
    second = asyncio.run(ask())  # a client bound to the first (closed) loop would fail here

    assert first == second


def test_repr_shows_the_configuration(make_engine, videos, emulator):
    engine = make_engine(streaming=True)

    assert repr(engine) == (
        f"MaviQueryEngine(video_nos={videos[:1]!r}, base_url={emulator.base_url!r}, streaming=True)"
    )


def test_injected_clients_are_used_as_given(emulator, videos):
    client = MaviClient(emulator.api_key, base_url=emulator.base_url)
    engine = MaviQueryEngine(video_nos=videos[:1], client=client)

    assert str(engine.query(QUESTION))
    engine.close()  # must not close a client it did not build
    assert client.chat(videos[:1], QUESTION).text
    client.close()


def test_prompt_modules_are_empty(make_engine):
    assert make_engine().get_prompts() == {}


@pytest.mark.parametrize("mode", MODES)
async def test_max_retries_is_passed_to_the_client(mode, make_engine, emulator):
    emulator.faults.http_error(503, retry_after=0)

    response = await send(make_engine(max_retries=1), mode)

    assert str(response)
    assert len(emulator.requests) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_without_retries_a_server_error_surfaces(mode, make_engine, emulator):
    emulator.faults.http_error(503, retry_after=0)

    with pytest.raises(MaviServerError) as caught:
        await send(make_engine(max_retries=0), mode)
    assert caught.value.status_code == 503
