"""ChatMavi over real HTTP against the local emulator: the request MAVI receives, streaming, and
what its failures become (retries and stream handling are `mavi_core`'s; these tests check that
ChatMavi hands its settings to the client and translates what comes back)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.exceptions import ModelTimeoutError
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langchain_mavi import ChatMavi
from langchain_mavi.errors import (
    ChatMaviAuthenticationError,
    ChatMaviRateLimitError,
    ChatMaviServerError,
    ChatMaviStreamError,
    ChatMaviStreamTimeoutError,
)
from mavi_core.emulator import MaviEmulator

pytestmark = pytest.mark.integration

Build = Callable[..., ChatMavi]


def chats(emu: MaviEmulator) -> list[Any]:
    return [r.body for r in emu.requests if r.path == "/api/serve/video/chat"]


async def collect(llm: ChatMavi, how: str, prompt: Any = "What happens?") -> list[str]:
    if how == "stream":
        return [chunk.text for chunk in llm.stream(prompt)]
    return [chunk.text async for chunk in llm.astream(prompt)]


async def test_a_conversation_reaches_mavi_as_message_and_history(
    emulator: MaviEmulator, emulator_llm: Build
) -> None:
    llm = emulator_llm()
    other = emulator.video_nos[1]

    answer = await llm.ainvoke(
        [
            SystemMessage("Answer in one sentence."),
            HumanMessage("Where is this?"),
            AIMessage("A harbor at sunrise."),
            HumanMessage(["Which boat leaves first?", {"type": "video", "file_id": other}]),
        ]
    )

    assert answer.text
    assert chats(emulator) == [
        {
            "videoNos": [emulator.video_nos[0], other],
            "message": "Answer in one sentence.\n\nWhich boat leaves first?",
            "history": [{"user": "Where is this?", "robot": "A harbor at sunrise."}],
            "stream": False,
        }
    ]


@pytest.mark.parametrize("how", ["stream", "astream"])
async def test_the_answer_streams_in_pieces_that_join_to_the_whole_answer(
    emulator_llm: Build, how: str
) -> None:
    llm = emulator_llm()

    pieces = await collect(llm, how)

    assert len(pieces) > 3
    assert "".join(pieces) == llm.invoke("What happens?").text


async def test_max_retries_reaches_the_client(emulator: MaviEmulator, emulator_llm: Build) -> None:
    emulator.faults.error_envelope("0429", times=1)

    answer = await emulator_llm(max_retries=1).ainvoke("What happens?")

    assert answer.text
    assert len(chats(emulator)) == 2


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
async def test_a_rate_limit_without_retries_left_is_a_rate_limit_error(
    emulator: MaviEmulator, emulator_llm: Build, how: str
) -> None:
    emulator.faults.error_envelope("0429", times=1)
    llm = emulator_llm(max_retries=0)

    with pytest.raises(ChatMaviRateLimitError, match="0429"):
        llm.invoke("q") if how == "invoke" else await llm.ainvoke("q")


@pytest.mark.parametrize("how", ["stream", "astream"])
async def test_an_http_503_before_the_stream_is_a_server_error(
    emulator: MaviEmulator, emulator_llm: Build, how: str
) -> None:
    emulator.faults.http_error(503, html=True)

    with pytest.raises(ChatMaviServerError):
        await collect(emulator_llm(max_retries=0), how)


@pytest.mark.parametrize("how", ["stream", "astream"])
@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(lambda faults: faults.disconnect_after(2), id="dropped connection"),
        pytest.param(lambda faults: faults.error_after(2, code="0500"), id="error event"),
    ],
)
async def test_a_stream_that_breaks_midway_is_a_stream_error(
    emulator: MaviEmulator, emulator_llm: Build, how: str, fault: Callable[[Any], None]
) -> None:
    fault(emulator.faults)

    with pytest.raises(ChatMaviStreamError):
        await collect(emulator_llm(), how)

    assert len(chats(emulator)) == 1  # never retried once text was delivered


async def test_a_silent_stream_times_out_with_the_models_timeout(
    emulator: MaviEmulator, emulator_llm: Build
) -> None:
    emulator.faults.stall_after(1, seconds=3)

    with pytest.raises(ChatMaviStreamTimeoutError) as caught:
        await collect(emulator_llm(timeout=0.3), "astream")

    assert isinstance(caught.value, ModelTimeoutError)


def test_a_wrong_key_is_an_authentication_error_without_the_key(emulator_llm: Build) -> None:
    wrong = "sk-wrong-key-0123456789"
    llm = emulator_llm(api_key=wrong)

    with pytest.raises(ChatMaviAuthenticationError) as caught:
        llm.invoke("q")

    assert wrong not in str(caught.value)
