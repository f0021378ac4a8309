"""The documented session detail (tests/data/wire_samples/v1.2/session_detail.json): (a) read by
both clients (`get_session_detail`) and restored by each adapter (`MaviChatMessageHistory`,
`MaviLLM.session_messages`, `MaviChatEngine.from_session`), served byte for byte; (b) the
emulator's reply to the same request has its shape."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from mavi_core import (
    AsyncMaviClient,
    MaviClient,
    SessionDetail,
    StoredMessage,
    Thinking,
    VideoRef,
)
from mavi_core.emulator import MaviEmulator

from .samples import SESSION, VIDEO, options, sample, serving
from .shape import check_conforms, optional_keys, shape

pytestmark = pytest.mark.integration

DETAIL = "session_detail.json"
QUESTION = "what happens at the harbor?"
ANSWER = "A red tugboat leaves the pier at 0:41."
STEP = Thinking("Information Retrieval", "I need the detailed content of the selected video.")
MOMENT = VideoRef(
    VIDEO,
    "harbor_sunrise",
    41.0,
    63.0,
    "visual_ts",
    "A red tugboat pulls away from the pier.",
    63.0,
)
EXPECTED = SessionDetail(
    session_id=SESSION,
    title=QUESTION,
    messages=(
        StoredMessage("user", QUESTION, session_id=SESSION),
        StoredMessage("assistant", ANSWER, (STEP,), (MOMENT,), SESSION),
    ),
)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_both_clients_read_the_session_detail(mode: str) -> None:
    with serving(sample(DETAIL)) as server:
        if mode == "sync":
            with MaviClient(**options(server.base_url)) as client:
                detail = client.get_session_detail(SESSION)
        else:

            async def go() -> SessionDetail:
                async with AsyncMaviClient(**options(server.base_url)) as client:
                    return await client.get_session_detail(int(SESSION))

            detail = asyncio.run(go())
    assert detail == EXPECTED
    [request] = server.requests
    assert request.head.startswith(f"GET /serve/api/v1/get_session_detail?sessionId={SESSION} ")


def test_the_langchain_history_restores_the_answer_as_chatmavi_returns_it() -> None:
    from langchain_core.messages import AIMessage, HumanMessage

    from langchain_mavi import MaviChatMessageHistory
    from langchain_mavi.chat_models import answer_message

    with serving(sample(DETAIL)) as server:
        history = MaviChatMessageHistory(SESSION, video_nos=[VIDEO], **options(server.base_url))
        messages = history.messages
        assert asyncio.run(history.aget_messages()) == messages
    question, answer = messages
    assert question == HumanMessage(QUESTION)
    assert isinstance(answer, AIMessage)
    assert answer == answer_message(EXPECTED.messages[1].as_answer([VIDEO]))
    assert answer.text == ANSWER
    assert answer.response_metadata["session_id"] == SESSION
    assert answer.response_metadata["refs"] == [MOMENT.to_dict()]
    assert answer.additional_kwargs["reasoning_content"] == f"**{STEP.title}**\n\n{STEP.content}"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_llamaindex_chat_engine_restores_the_session(mode: str) -> None:
    from llama_index.core.base.llms.types import CitationBlock, MessageRole, ThinkingBlock

    from llamaindex_mavi import MaviChatEngine

    with serving(sample(DETAIL)) as server:
        if mode == "sync":
            engine = MaviChatEngine.from_session(SESSION, [VIDEO], **options(server.base_url))
        else:
            restoring = MaviChatEngine.afrom_session(SESSION, [VIDEO], **options(server.base_url))
            engine = asyncio.run(restoring)
    question, answer = engine.chat_history
    assert (question.role, question.content) == (MessageRole.USER, QUESTION)
    assert answer.role == MessageRole.ASSISTANT and answer.content == ANSWER
    [thinking] = [block for block in answer.blocks if isinstance(block, ThinkingBlock)]
    assert thinking.additional_information == {"title": STEP.title}
    [citation] = [block for block in answer.blocks if isinstance(block, CitationBlock)]
    assert citation.source == f"mavi://{VIDEO}"
    assert citation.additional_location_info == {"start_ms": 41000, "end_ms": 63000}
    assert engine.session_id == SESSION


def test_the_emulators_session_detail_has_the_samples_shape() -> None:
    with MaviEmulator(rate_limit=None) as emu:
        headers = {"Authorization": emu.api_key}
        body = {"video_nos": [emu.video_nos[0]], "prompt": QUESTION}
        with httpx.Client(base_url=emu.base_url, headers=headers) as http:
            session_id = http.post("/serve/api/v1/chat", json=body).json()["data"]["session_id"]
            reply = http.get("/serve/api/v1/get_session_detail", params={"sessionId": session_id})
    data: Any = reply.json()
    # The refs are the chat's: a keyframe item has no endTime and no text (chat.json shows one).
    keyframe = optional_keys(shape(json.loads(sample("chat.json"))))
    check_conforms(data, json.loads(sample(DETAIL)), optional=keyframe)
    assert data["data"]["session_id"] == session_id
    assert [message["role"] for message in data["data"]["messages"]] == ["user", "assistant"]
