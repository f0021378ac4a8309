"""The LangChain components speaking v1.2 to the local emulator over real HTTP: a conversation
held by the service across turns (invoked and streamed), reasoning and citations as LangChain
reports them, and the tool's refs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)

from langchain_mavi import ChatMavi, MaviVideoChatTool
from langchain_mavi.errors import ChatMaviInvalidRequestError
from mavi_core.emulator import MaviEmulator

pytestmark = pytest.mark.integration

Build = Callable[..., ChatMavi]
V12_PATHS = ("/serve/api/v1/chat", "/serve/api/v1/chat_stream")


def sent(emu: MaviEmulator) -> list[Any]:
    return [r.body for r in emu.requests if r.path in V12_PATHS]


async def reply(llm: ChatMavi, how: str, messages: Any) -> BaseMessage:
    if how == "invoke":
        return llm.invoke(messages)
    if how == "ainvoke":
        return await llm.ainvoke(messages)
    total = AIMessageChunk(content="" if llm.output_version != "v1" else [])
    if how == "stream":
        for chunk in llm.stream(messages):
            total += chunk
    else:
        async for chunk in llm.astream(messages):
            total += chunk
    return total


@pytest.mark.parametrize("output_version", [None, "v1"])
@pytest.mark.parametrize("how", ["invoke", "ainvoke", "stream", "astream"])
async def test_a_conversation_continues_the_session_the_service_holds(
    emulator: MaviEmulator, emulator_llm: Build, how: str, output_version: str | None
) -> None:
    llm = emulator_llm(api_version="v1.2", output_version=output_version)
    conversation: list[BaseMessage] = [
        SystemMessage("Answer briefly."),
        HumanMessage("How does the tugboat leave?"),
    ]
    first = await reply(llm, how, conversation)
    session_id = first.response_metadata["session_id"]
    conversation += [first, HumanMessage("What happens next?")]
    second = await reply(llm, how, conversation)

    assert session_id.isdigit() and len(session_id) == 19
    assert second.response_metadata["session_id"] == session_id
    videos = emulator.video_nos[:1]
    assert sent(emulator) == [
        {"video_nos": videos, "prompt": "Answer briefly.\n\nHow does the tugboat leave?"},
        {"video_nos": videos, "prompt": "What happens next?", "session_id": int(session_id)},
    ]
    for message in (first, second):
        refs = message.response_metadata["refs"]
        assert refs and all(ref["video_no"] == emulator.video_nos[0] for ref in refs)
        assert {ref["kind"] for ref in refs} <= {"keyframe", "visual_ts", "audio_ts"}
        blocks = message.content_blocks
        assert [block["type"] for block in blocks] == ["reasoning", "text"]
        assert blocks[0]["reasoning"].startswith("**")
        assert [c["cited_text"] for c in blocks[1]["annotations"]] == [r["text"] for r in refs]
        assert blocks[1]["text"] == message.text and message.text


@pytest.mark.parametrize("how", ["invoke", "ainvoke", "stream", "astream"])
async def test_the_latest_answer_with_a_session_continues_and_later_turns_are_folded(
    emulator: MaviEmulator, emulator_llm: Build, how: str
) -> None:
    # The rule MaviLLM keeps too (mavi_core._adapters.continue_conversation).
    llm = emulator_llm(api_version="v1.2")
    conversation: list[BaseMessage] = [
        SystemMessage("Answer briefly."),
        HumanMessage("How does the tugboat leave?"),
    ]
    first = await reply(llm, how, conversation)
    session_id = first.response_metadata["session_id"]
    conversation += [
        first,
        HumanMessage("Where to?"),
        AIMessage("It leaves its berth."),  # answered elsewhere: the session never saw it
        HumanMessage("And then?"),
        HumanMessage("Briefly."),
    ]
    await reply(llm, how, conversation)

    assert sent(emulator)[-1] == {
        "video_nos": emulator.video_nos[:1],
        "prompt": "Conversation so far:\nUser: Where to?\nAssistant: It leaves its berth."
        "\n\nAnd then?\n\nBriefly.",
        "session_id": int(session_id),
    }


async def test_streamed_and_invoked_answers_report_the_same_reasoning_and_refs(
    emulator_llm: Build,
) -> None:
    llm = emulator_llm(api_version="v1.2")
    invoked = await llm.ainvoke("How does the tugboat leave?")
    streamed = await reply(llm, "astream", "How does the tugboat leave?")

    assert streamed.text == invoked.text
    assert streamed.additional_kwargs == invoked.additional_kwargs
    assert streamed.response_metadata["refs"] == invoked.response_metadata["refs"]


async def test_a_forgotten_session_is_an_invalid_request(
    emulator: MaviEmulator, emulator_llm: Build
) -> None:
    llm = emulator_llm(api_version="v1.2")
    first = await llm.ainvoke("What happens?")
    emulator.faults.expire_sessions()
    with pytest.raises(ChatMaviInvalidRequestError, match="Session does not exist"):
        await llm.ainvoke([HumanMessage("What happens?"), first, HumanMessage("Then?")])


def test_the_default_dialect_stays_v1_0(emulator: MaviEmulator, emulator_llm: Build) -> None:
    message = emulator_llm().invoke("What happens?")
    assert "session_id" not in message.response_metadata
    assert "refs" not in message.response_metadata
    assert "reasoning_content" not in message.additional_kwargs
    assert [r.path for r in emulator.requests] == ["/api/serve/video/chat"]


async def test_the_tool_returns_the_refs_in_its_artifact(emulator: MaviEmulator) -> None:
    tool = MaviVideoChatTool(
        video_nos=emulator.video_nos[:1],
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        api_version="v1.2",
    )
    call = {"name": "mavi_video_chat", "id": "call-1", "type": "tool_call"}
    result = await tool.ainvoke({**call, "args": {"question": "How does the tugboat leave?"}})

    assert result.content == result.artifact["answer"]
    assert result.artifact["refs"]
    assert result.artifact["session_id"].isdigit()
    assert all("session_id" not in body for body in sent(emulator))
