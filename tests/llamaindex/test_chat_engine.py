"""MaviChatEngine over the emulator: earlier turns go out as `history`, answers come back in."""

from __future__ import annotations

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage, ImageBlock, MessageRole, TextBlock
from llama_index.core.chat_engine.types import AgentChatResponse, StreamingAgentChatResponse
from llama_index.core.memory import ChatMemoryBuffer

from llamaindex_mavi import MaviChatEngine
from mavi_core import AsyncMaviClient, MaviClient, MaviInvalidRequestError

MODES = ["chat", "achat", "stream_chat", "astream_chat"]
FIRST = "Who is in the video?"
SECOND = "What do they do next?"


async def say(engine: MaviChatEngine, message: str, mode: str) -> str:
    """Send one turn through `mode` and return the answer text, reading any stream to its end."""
    if mode == "chat":
        return engine.chat(message).response
    if mode == "achat":
        return (await engine.achat(message)).response
    if mode == "stream_chat":
        return "".join(engine.stream_chat(message).response_gen)
    response = await engine.astream_chat(message)
    return "".join([delta async for delta in response.async_response_gen()])


@pytest.mark.parametrize("mode", MODES)
async def test_the_second_turn_sends_the_first_as_history(mode, make_chat_engine, emulator, videos):
    chat = make_chat_engine()

    first_answer = await say(chat, FIRST, mode)
    await say(chat, SECOND, mode)

    assert emulator.requests[-1].body == {
        "videoNos": videos[:1],
        "message": SECOND,
        "history": [{"user": FIRST, "robot": first_answer}],
        "stream": mode in ("stream_chat", "astream_chat"),
    }


@pytest.mark.parametrize("mode", MODES)
async def test_the_system_prompt_goes_in_front_of_every_message(mode, make_chat_engine, emulator):
    chat = make_chat_engine(system_prompt="Answer in one sentence.")

    await say(chat, FIRST, mode)
    await say(chat, SECOND, mode)

    assert emulator.requests[-1].body["message"] == f"Answer in one sentence.\n\n{SECOND}"
    assert emulator.requests[-1].body["history"][0]["user"] == FIRST


@pytest.mark.parametrize("mode", MODES)
async def test_each_exchange_enters_the_memory(mode, make_chat_engine, expected_answer, videos):
    chat = make_chat_engine()

    await say(chat, FIRST, mode)

    assert [(m.role, m.content) for m in chat.chat_history] == [
        (MessageRole.USER, FIRST),
        (MessageRole.ASSISTANT, expected_answer(videos[:1], FIRST)),
    ]


@pytest.mark.parametrize(
    ("mode", "response_type"),
    [
        ("chat", AgentChatResponse),
        ("achat", AgentChatResponse),
        ("stream_chat", StreamingAgentChatResponse),
        ("astream_chat", StreamingAgentChatResponse),
    ],
)
async def test_each_method_returns_its_llamaindex_response_type(
    mode, response_type, make_chat_engine
):
    chat = make_chat_engine()

    response = getattr(chat, mode)(FIRST)
    if mode.startswith("a"):
        response = await response

    assert isinstance(response, response_type)  # a streaming response may be a subclass
    if isinstance(response, StreamingAgentChatResponse):
        if mode == "stream_chat":
            list(response.response_gen)
        else:
            [_ async for _ in response.async_response_gen()]


def test_a_streamed_answer_arrives_in_several_deltas(make_chat_engine, expected_answer, videos):
    deltas = list(make_chat_engine().stream_chat(FIRST).response_gen)

    assert len(deltas) > 1
    assert "".join(deltas) == expected_answer(videos[:1], FIRST)


async def test_the_memory_takes_the_streamed_answer_only_when_the_stream_ends(make_chat_engine):
    chat = make_chat_engine()

    response = await chat.astream_chat(FIRST)
    during = [m.role for m in chat.chat_history]
    answer = "".join([delta async for delta in response.async_response_gen()])

    assert during == []  # the question enters with the answer: a turn is stored whole
    assert chat.chat_history[-1].content == answer


def test_a_memory_passed_in_supplies_the_history(make_chat_engine, emulator):
    memory = ChatMemoryBuffer.from_defaults(
        chat_history=[
            ChatMessage(role="user", content="Earlier question"),
            ChatMessage(role="assistant", content="Earlier answer"),
        ]
    )
    chat = make_chat_engine(memory=memory)

    chat.chat(FIRST)

    assert emulator.requests[-1].body["history"] == [
        {"user": "Earlier question", "robot": "Earlier answer"}
    ]
    assert chat.memory is memory
    assert len(memory.get_all()) == 4


def test_a_chat_history_argument_replaces_the_conversation(make_chat_engine, emulator):
    chat = make_chat_engine()
    chat.chat("Forgotten question")

    chat.chat(
        SECOND,
        chat_history=[
            ChatMessage(role="system", content="Be brief."),
            ChatMessage(role="user", content="Q1"),
            ChatMessage(role="assistant", content="A1"),
        ],
    )

    assert emulator.requests[-1].body["history"] == [{"user": "Q1", "robot": "A1"}]
    assert emulator.requests[-1].body["message"] == f"Be brief.\n\n{SECOND}"


def test_reset_forgets_the_conversation(make_chat_engine, emulator):
    chat = make_chat_engine()
    chat.chat(FIRST)

    chat.reset()
    chat.chat(SECOND)

    assert chat.chat_history[0].content == SECOND
    assert emulator.requests[-1].body["history"] == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_failed_request_leaves_the_memory_unchanged(mode, make_chat_engine, emulator):
    chat = make_chat_engine(max_retries=0)
    await say(chat, FIRST, "chat")
    before = chat.chat_history
    emulator.faults.error_envelope("0003", "video not parsed")

    with pytest.raises(MaviInvalidRequestError):
        await say(chat, SECOND, mode)

    assert chat.chat_history == before


def test_tool_messages_in_the_history_are_refused_before_sending(make_chat_engine, emulator):
    chat = make_chat_engine()

    with pytest.raises(ValueError, match="'tool'"):
        chat.chat(SECOND, chat_history=[ChatMessage(role="tool", content="42")])
    assert emulator.requests == []


def test_an_engine_without_videos_says_to_pass_them(make_chat_engine, emulator):
    # Said "video_nos must be a non-empty list of video numbers ..., got NoneType".
    with pytest.raises(ValueError, match="none were given") as caught:
        make_chat_engine(video_nos=None).chat(SECOND)
    assert "NoneType" not in str(caught.value)
    assert emulator.requests == []


def test_image_blocks_in_the_history_are_refused_before_sending(make_chat_engine, emulator):
    chat = make_chat_engine()
    picture = ChatMessage(
        role="user", blocks=[TextBlock(text="Look"), ImageBlock(url="http://x.test/a.png")]
    )

    with pytest.raises(ValueError, match="ImageBlock"):
        chat.chat(SECOND, chat_history=[picture, ChatMessage(role="assistant", content="ok")])
    assert emulator.requests == []


@pytest.mark.parametrize("mode", ["stream_chat", "astream_chat"])
async def test_an_empty_streamed_answer_still_closes_the_turn_in_memory(mode, videos):
    # The emulator always answers something; an event with empty text needs a scripted reply.
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'data:{"code":"0000","data":{"msg":""}}\n\n')

    transport = httpx.MockTransport(reply)
    chat = MaviChatEngine(
        video_nos=videos[:1],
        client=MaviClient("sk-test", http_client=httpx.Client(transport=transport)),
        async_client=AsyncMaviClient("sk-test", http_client=httpx.AsyncClient(transport=transport)),
    )

    answer = await say(chat, FIRST, mode)

    assert answer == ""
    assert [(m.role, m.content) for m in chat.chat_history] == [
        (MessageRole.USER, FIRST),
        (MessageRole.ASSISTANT, ""),
    ]


def test_the_key_is_not_in_the_chat_engines_repr(make_chat_engine, videos, emulator):
    chat = make_chat_engine(api_key="sk-secret-in-repr-check")

    assert "sk-secret" not in repr(chat)
    assert repr(chat) == (
        f"MaviChatEngine(video_nos={videos[:1]!r}, base_url={emulator.base_url!r})"
    )


def test_memory_and_chat_history_together_are_refused(make_chat_engine):
    with pytest.raises(ValueError, match="either memory or chat_history"):
        make_chat_engine(memory=ChatMemoryBuffer.from_defaults(), chat_history=[])
