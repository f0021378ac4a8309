"""MaviLLM over the emulator: the eight LLM methods, what they send, yield, raise and report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    DocumentBlock,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
    VideoBlock,
)
from llama_index.core.callbacks import CallbackManager, EventPayload
from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.instrumentation.events.exception import ExceptionEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatInProgressEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionInProgressEvent,
    LLMCompletionStartEvent,
)
from llama_index.core.prompts import PromptTemplate

from llamaindex_mavi import (
    MAVI_CONTEXT_WINDOW,
    MaviChatEngine,
    MaviLLM,
    MaviQueryEngine,
    video_block,
)
from mavi_core import (
    AsyncMaviClient,
    MaviAuthenticationError,
    MaviClient,
    MaviInvalidRequestError,
    MaviServerError,
    MaviStreamError,
    MaviValidationError,
)

CHAT_MODES = ["chat", "achat", "stream_chat", "astream_chat"]
COMPLETE_MODES = ["complete", "acomplete", "stream_complete", "astream_complete"]
MODES = CHAT_MODES + COMPLETE_MODES
STREAM_MODES = [mode for mode in MODES if "stream" in mode]
ASYNC_MODES = [mode for mode in MODES if mode.startswith("a")]
QUESTION = "What does the chef cut first?"

Item = ChatResponse | CompletionResponse


def user(*blocks: Any) -> ChatMessage:
    if len(blocks) == 1 and isinstance(blocks[0], str):
        return ChatMessage(role="user", content=blocks[0])
    return ChatMessage(role="user", blocks=list(blocks))


async def call(
    llm: MaviLLM,
    mode: str,
    question: str | list[ChatMessage] = QUESTION,
    into: list[Item] | None = None,
    **kwargs: Any,
) -> list[Item]:
    """Call method `mode` and return what it gave: every item of a stream, else the one response.

    A chat method gets `[user(question)]` for a plain question; items are also appended to
    `into` as they arrive (to see what came before an error).
    """
    items: list[Item] = [] if into is None else into
    if mode in CHAT_MODES and isinstance(question, str):
        question = [user(question)]
    result = getattr(llm, mode)(question, **kwargs)
    if mode in ASYNC_MODES:
        result = await result
    if "stream" not in mode:
        items.append(result)
    elif mode in ASYNC_MODES:
        async for item in result:
            items.append(item)
    else:
        for item in result:
            items.append(item)
    return items


def text_of(item: Item) -> str:
    if isinstance(item, ChatResponse):
        return item.message.content or ""
    return item.text


# -- what is sent and what comes back ------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_each_method_sends_one_request_and_returns_the_answer(
    mode, make_llm, emulator, videos, expected_answer
):
    items = await call(make_llm(), mode)

    [request] = emulator.requests
    assert text_of(items[-1]) == expected_answer(videos[:1], QUESTION)
    assert (request.method, request.path) == ("POST", "/api/serve/video/chat")
    assert request.body == {
        "videoNos": videos[:1],
        "message": QUESTION,
        "history": [],
        "stream": "stream" in mode,
    }


@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_stream_items_carry_the_text_so_far_and_the_new_delta(mode, make_llm):
    items = await call(make_llm(), mode)

    deltas = [item.delta or "" for item in items]
    assert len(items) > 1
    assert all(deltas)
    assert [text_of(item) for item in items] == [
        "".join(deltas[: n + 1]) for n in range(len(deltas))
    ]


@pytest.mark.parametrize("mode", CHAT_MODES)
async def test_chat_answers_as_the_assistant(mode, make_llm):
    items = await call(make_llm(), mode)

    assert {item.message.role for item in items} == {"assistant"}  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", CHAT_MODES)
async def test_chat_sends_earlier_turns_as_history_and_system_text_in_front(
    mode, make_llm, emulator
):
    messages = [
        ChatMessage(role="system", content="Answer briefly."),
        user("Who is in the video?"),
        ChatMessage(role="assistant", content="A chef."),
        user(QUESTION),
    ]

    await call(make_llm(), mode, messages)

    assert emulator.requests[-1].body["message"] == f"Answer briefly.\n\n{QUESTION}"
    assert emulator.requests[-1].body["history"] == [
        {"user": "Who is in the video?", "robot": "A chef."}
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_video_nos_per_call_replace_the_llms_own(mode, make_llm, emulator, videos):
    llm = make_llm(video_nos=videos[:1])

    await call(llm, mode, video_nos=videos[2:4])

    assert emulator.requests[-1].body["videoNos"] == videos[2:4]
    assert llm.video_nos == videos[:1]


def test_other_keyword_arguments_are_accepted_and_not_sent(make_llm, emulator, videos):
    make_llm().complete(QUESTION, temperature=0.2, max_tokens=10)

    assert set(emulator.requests[-1].body) == {"videoNos", "message", "history", "stream"}


@pytest.mark.parametrize("mode", MODES)
async def test_without_any_video_the_call_fails_before_sending(mode, make_llm, emulator):
    with pytest.raises(MaviValidationError, match="video_nos is empty"):
        await call(make_llm(video_nos=None), mode)
    assert emulator.requests == []


def test_a_single_string_is_not_accepted_as_video_nos(make_llm, videos):
    with pytest.raises(MaviValidationError, match="not a single string"):
        make_llm(video_nos=videos[0])
    with pytest.raises(MaviValidationError, match="not a single string"):
        make_llm().complete(QUESTION, video_nos=videos[0])


# -- video blocks and other content ---------------------------------------------------------


@pytest.mark.parametrize("mode", CHAT_MODES)
async def test_a_mavi_video_block_adds_its_video_to_the_request(mode, make_llm, emulator, videos):
    messages = [user(video_block(videos[2]), TextBlock(text=QUESTION))]

    await call(make_llm(video_nos=videos[:1]), mode, messages)

    assert emulator.requests[-1].body["videoNos"] == [videos[0], videos[2]]
    assert emulator.requests[-1].body["message"] == QUESTION


def test_a_video_block_is_a_mavi_url(videos):
    assert video_block(videos[0]) == VideoBlock(url=f"mavi://{videos[0]}")


def test_video_blocks_alone_name_the_videos(make_llm, emulator, videos):
    messages = [user(VideoBlock(url=f"mavi://{videos[1]}")), user(QUESTION)]

    make_llm(video_nos=None).chat(messages)

    assert emulator.requests[-1].body["videoNos"] == [videos[1]]
    assert emulator.requests[-1].body["message"] == QUESTION  # the video-only message adds no text


def test_a_video_named_twice_is_sent_once(make_llm, emulator, videos):
    make_llm(video_nos=videos[:2]).chat([user(video_block(videos[1]), TextBlock(text=QUESTION))])

    assert emulator.requests[-1].body["videoNos"] == videos[:2]


@pytest.mark.parametrize(
    "make_block",
    [
        lambda tmp: VideoBlock(video=b"\x00\x00\x00\x18ftypmp42"),
        lambda tmp: VideoBlock(url="https://videos.example/kitchen.mp4"),
        lambda tmp: VideoBlock(path=tmp),
        lambda tmp: VideoBlock(url="mavi://"),
    ],
    ids=["bytes", "https-url", "path", "empty-video-no"],
)
def test_video_blocks_that_name_no_mavi_video_are_refused_before_sending(
    make_block, make_llm, emulator, tmp_path: Path
):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00")

    with pytest.raises(ValueError, match=r"mavi://<videoNo>.*upload the video to MAVI first"):
        make_llm().chat([user(make_block(clip), TextBlock(text=QUESTION))])
    assert emulator.requests == []


@pytest.mark.parametrize(
    "block",
    [
        ImageBlock(url="http://x.test/a.png"),
        AudioBlock(url="http://x.test/a.mp3"),
        DocumentBlock(url="http://x.test/a.pdf"),
    ],
    ids=lambda block: type(block).__name__,
)
def test_image_audio_and_document_blocks_are_refused_naming_the_type(block, make_llm, emulator):
    with pytest.raises(ValueError, match=f"cannot send a {type(block).__name__}"):
        make_llm().chat([user(TextBlock(text=QUESTION), block)])
    assert emulator.requests == []


def test_tool_messages_are_refused_before_sending(make_llm, emulator):
    with pytest.raises(ValueError, match="'tool'"):
        make_llm().chat([user(QUESTION), ChatMessage(role="tool", content="42"), user("So?")])
    assert emulator.requests == []


def test_thinking_in_an_earlier_answer_is_left_out_of_the_history(make_llm, emulator):
    earlier = ChatMessage(
        role="assistant",
        blocks=[ThinkingBlock(content="They asked about people."), TextBlock(text="A chef.")],
    )

    make_llm().chat([user("Who is there?"), earlier, user(QUESTION)])

    assert emulator.requests[-1].body["history"] == [{"user": "Who is there?", "robot": "A chef."}]


def test_a_conversation_ending_with_the_assistant_is_refused(make_llm, emulator):
    with pytest.raises(ValueError, match="ends with an assistant message"):
        make_llm().chat([user(QUESTION), ChatMessage(role="assistant", content="A chef.")])
    assert emulator.requests == []


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_service_errors_surface_as_mavi_core_errors(mode, make_llm, emulator):
    emulator.faults.error_envelope("0003", "video not parsed")

    with pytest.raises(MaviInvalidRequestError) as caught:
        await call(make_llm(max_retries=0), mode)
    assert caught.value.code == "0003"


@pytest.mark.parametrize("mode", MODES)
async def test_max_retries_reaches_the_client(mode, make_llm, emulator):
    emulator.faults.http_error(503, retry_after=0)

    with pytest.raises(MaviServerError):
        await call(make_llm(max_retries=0), mode)
    emulator.faults.http_error(503, retry_after=0)
    emulator.clear_requests()
    assert text_of((await call(make_llm(max_retries=1), mode))[-1])
    assert len(emulator.requests) == 2


@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_a_stream_that_breaks_midway_raises_after_the_delivered_items(
    mode, make_llm, emulator
):
    emulator.faults.disconnect_after(3)
    received: list[Item] = []

    with pytest.raises(MaviStreamError):
        await call(make_llm(max_retries=0), mode, into=received)
    assert len(received) == 3


@pytest.mark.parametrize("mode", MODES)
async def test_without_a_key_the_first_call_fails(mode, make_llm, emulator):
    with pytest.raises(MaviAuthenticationError, match="MAVI_API_KEY"):
        await call(make_llm(api_key=None), mode)
    assert emulator.requests == []


def test_the_key_defaults_to_the_environment(monkeypatch, make_llm, emulator):
    monkeypatch.setenv("MAVI_API_KEY", emulator.api_key)

    llm = make_llm(api_key=None)

    assert llm.complete(QUESTION).text
    assert llm.api_key is not None


# -- callbacks and instrumentation ------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_callbacks_see_one_llm_event_with_input_and_output(mode, make_llm, debug):
    llm = make_llm(callback_manager=CallbackManager([debug]))

    items = await call(llm, mode, video_nos=llm.video_nos)

    [(start, end)] = debug.get_llm_inputs_outputs()
    assert start.payload[EventPayload.ADDITIONAL_KWARGS] == {"video_nos": llm.video_nos}
    if mode in CHAT_MODES:
        assert [m.content for m in start.payload[EventPayload.MESSAGES]] == [QUESTION]
        assert text_of(end.payload[EventPayload.RESPONSE]) == text_of(items[-1])
    else:
        assert start.payload[EventPayload.PROMPT] == QUESTION
        assert text_of(end.payload[EventPayload.COMPLETION]) == text_of(items[-1])


@pytest.mark.parametrize("mode", MODES)
async def test_dispatcher_sees_one_start_one_end_and_a_progress_event_per_delta(
    mode, make_llm, collector
):
    items = await call(make_llm(), mode)

    if mode in CHAT_MODES:
        kinds = (LLMChatStartEvent, LLMChatInProgressEvent, LLMChatEndEvent)
    else:
        kinds = (LLMCompletionStartEvent, LLMCompletionInProgressEvent, LLMCompletionEndEvent)
    [start] = collector.of(kinds[0])
    progress = collector.of(kinds[1])
    [end] = collector.of(kinds[2])
    assert start.model_dict["class_name"] == "MaviLLM"
    assert start.model_dict["model_name"] == "mavi"
    assert [event.response.delta for event in progress] == (
        [item.delta for item in items] if "stream" in mode else []
    )
    assert text_of(end.response) == text_of(items[-1])


@pytest.mark.parametrize("mode", MODES)
async def test_a_failed_call_is_reported_once_to_callbacks_and_dispatcher(
    mode, make_llm, emulator, collector, debug
):
    emulator.faults.error_envelope("0003", "video not parsed")
    llm = make_llm(max_retries=0, callback_manager=CallbackManager([debug]))

    with pytest.raises(MaviInvalidRequestError) as caught:
        await call(llm, mode)

    [(_, end)] = debug.get_llm_inputs_outputs()
    assert end.payload[EventPayload.EXCEPTION] is caught.value
    assert [event.exception for event in collector.of(ExceptionEvent)] == [caught.value]


@pytest.mark.parametrize("mode", MODES)
async def test_no_callback_or_dispatcher_event_carries_the_key(
    mode, make_llm, emulator, collector, debug
):
    llm = make_llm(callback_manager=CallbackManager([debug]))

    await call(llm, mode)

    dumped = [repr(event) for event in collector.events]
    dumped += [repr(event.payload) for event in debug.get_events()]
    assert dumped
    assert not [text for text in dumped if emulator.api_key in text]


# -- configuration, repr and serialisation -------------------------------------------------


def test_metadata_describes_a_chat_model_named_mavi(make_llm):
    metadata = make_llm().metadata

    assert metadata.is_chat_model is True
    assert metadata.is_function_calling_model is False
    assert metadata.model_name == "mavi"
    assert metadata.context_window == MAVI_CONTEXT_WINDOW
    assert make_llm(context_window=32_000).metadata.context_window == 32_000


def test_the_key_and_headers_appear_in_no_repr_or_dump(make_llm):
    secret, header_secret = "sk-secret-in-dump-4242", "proxy-token-secret-77"
    llm = make_llm(
        api_key=secret,
        default_headers={"X-Proxy-Token": header_secret},
        timeout=httpx.Timeout(20.0, connect=3.0),
    )

    shown = [
        repr(llm),
        str(llm),
        str(llm.model_dump()),
        llm.model_dump_json(),
        str(llm.to_dict()),
        llm.to_json(),
        str(llm.to_payload()),
    ]

    assert not [text for text in shown if secret in text or header_secret in text]
    assert llm.to_dict()["timeout"]["connect"] == 3.0
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == secret


def test_a_dumped_llm_rebuilds_without_its_key(make_llm, videos, emulator):
    data = make_llm(timeout=12.5, max_retries=1).to_dict()

    rebuilt = MaviLLM.from_dict(data)

    assert (rebuilt.video_nos, rebuilt.base_url) == (videos[:1], emulator.base_url)
    assert (rebuilt.timeout, rebuilt.max_retries) == (12.5, 1)
    assert rebuilt.api_key is None


def test_default_headers_reach_the_server(make_llm, emulator):
    make_llm(default_headers={"X-Team": "video-lab"}).complete(QUESTION)

    assert emulator.requests[-1].headers["x-team"] == "video-lab"


def _refusing_sync_client() -> MaviClient:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the sync client was used by an async method")

    return MaviClient("sk-unused", http_client=httpx.Client(transport=httpx.MockTransport(refuse)))


@pytest.mark.parametrize("mode", ASYNC_MODES)
async def test_async_methods_use_the_async_client_not_a_thread(mode, emulator, videos):
    async_client = AsyncMaviClient(emulator.api_key, base_url=emulator.base_url)
    llm = MaviLLM(videos[:1], client=_refusing_sync_client(), async_client=async_client)

    items = await call(llm, mode)

    assert text_of(items[-1])
    await async_client.aclose()


def test_closing_a_stream_early_closes_the_http_response(videos):
    class Body(httpx.SyncByteStream):
        closed = False

        def __iter__(self) -> Iterator[bytes]:
            for piece in ("The ", "chef ", "cuts."):
                yield b'data:{"code":"0000","msg":"success","data":{"msg":"%s"}}\n\n' % (
                    piece.encode()
                )

        def close(self) -> None:
            Body.closed = True

    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=Body()))
    llm = MaviLLM(
        videos[:1], client=MaviClient("sk-test", http_client=httpx.Client(transport=transport))
    )

    stream = llm.stream_complete(QUESTION)
    first = next(stream)
    stream.close()

    assert first.delta == "The "
    assert Body.closed


# -- inside LlamaIndex ---------------------------------------------------------------------


def test_simple_chat_engine_over_mavi_llm_sends_the_conversation(make_llm, emulator):
    engine = SimpleChatEngine.from_defaults(llm=make_llm())

    first = engine.chat("Who is in the video?")
    engine.chat(QUESTION)

    assert emulator.requests[-1].body["history"] == [
        {"user": "Who is in the video?", "robot": str(first)}
    ]


def test_predict_fills_a_prompt_template_and_asks_mavi(make_llm, emulator, videos):
    answer = make_llm().predict(PromptTemplate("Describe {thing}."), thing="the kitchen")

    assert emulator.requests[-1].body["message"] == "Describe the kitchen."
    assert answer


def test_both_engines_can_ask_through_one_llm(make_llm, emulator, videos):
    llm = make_llm(video_nos=videos[1:2])

    query_engine = MaviQueryEngine(llm=llm)
    chat_engine = MaviChatEngine(llm=llm)
    query_engine.query(QUESTION)
    chat_engine.chat(QUESTION)

    assert query_engine.llm is llm
    assert chat_engine.llm is llm
    assert [request.body["videoNos"] for request in emulator.requests] == [videos[1:2]] * 2


@pytest.mark.parametrize("engine_class", [MaviQueryEngine, MaviChatEngine])
def test_an_llm_and_connection_options_together_are_refused(engine_class, make_llm, emulator):
    with pytest.raises(ValueError, match="either llm=MaviLLM"):
        engine_class(llm=make_llm(), base_url=emulator.base_url)


def test_the_default_videos_can_be_changed_and_are_checked(make_llm, emulator, videos):
    llm = make_llm()

    llm.video_nos = videos[2:3]
    llm.complete(QUESTION)

    assert emulator.requests[-1].body["videoNos"] == videos[2:3]
    with pytest.raises(ValueError, match="not a single string"):
        llm.video_nos = videos[0]


def test_the_connection_is_fixed_once_built(make_llm):
    llm = make_llm()

    with pytest.raises(ValueError, match="frozen"):
        llm.base_url = "http://elsewhere.test"
