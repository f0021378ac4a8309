"""`MaviChatEngine.from_session` over the local emulator: a conversation the service keeps
continues after a restart (fresh objects that know only the session id); its memory holds
the answers exactly as `MaviLLM.chat` returned them."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.llms import ChatMessage

from llamaindex_mavi import MaviChatEngine, MaviLLM
from mavi_core import MaviInvalidRequestError, MaviValidationError
from mavi_core.emulator import MaviEmulator

pytestmark = pytest.mark.integration

V12_CHAT = ("/serve/api/v1/chat", "/serve/api/v1/chat_stream")


def connection(emu: MaviEmulator) -> dict[str, Any]:
    return {"api_key": emu.api_key, "base_url": emu.base_url}


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_conversation_continues_after_a_restart(
    emulator: MaviEmulator, asynchronous: bool
) -> None:
    videos = emulator.video_nos[:1]
    llm = MaviLLM(video_nos=videos, api_version="v1.2", **connection(emulator))
    question = ChatMessage(role="user", content="How does the tugboat leave?")
    first = llm.chat([question])
    session_id = first.message.additional_kwargs["session_id"]

    # A restart: an engine that knows nothing but the session id (api_version: v1.2 implied).
    if asynchronous:
        engine = await MaviChatEngine.afrom_session(session_id, videos, **connection(emulator))
    else:
        engine = MaviChatEngine.from_session(session_id, videos, **connection(emulator))
    assert engine.chat_history == [question, first.message]
    assert engine.session_id == session_id

    second = (
        await engine.achat("What happens next?")
        if asynchronous
        else engine.chat("What happens next?")
    )
    assert second.metadata["session_id"] == session_id
    assert str(second).startswith("After that")
    assert second.source_nodes
    bodies = [r.body for r in emulator.requests if r.path in V12_CHAT]
    assert bodies[-1]["session_id"] == int(session_id)
    assert bodies[-1]["prompt"] == "What happens next?"  # the service holds the rest
    assert llm.session_messages(session_id)[2:] == engine.chat_history[2:]


def test_an_unknown_session_is_an_invalid_request(emulator: MaviEmulator) -> None:
    with pytest.raises(MaviInvalidRequestError, match="Session does not exist"):
        MaviChatEngine.from_session(
            "1234567890123456789", emulator.video_nos[:1], **connection(emulator)
        )


def test_from_session_refuses_a_memory_of_its_own(emulator: MaviEmulator) -> None:
    with pytest.raises(MaviValidationError, match="restores the memory from the session"):
        MaviChatEngine.from_session("1", ["VI1"], chat_history=[], **connection(emulator))
    assert emulator.requests == []


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_from_session_with_swapped_arguments_names_the_session_id(
    emulator: MaviEmulator, asynchronous: bool
) -> None:
    # from_session(video_nos, session_id): the list is named as the bad session id, never
    # the session id offered as a video number.
    videos = emulator.video_nos[:1]
    with pytest.raises(MaviValidationError, match=r"session_id must be .* got \['VI") as error:
        if asynchronous:
            await MaviChatEngine.afrom_session(videos, "606120397607260160", **connection(emulator))  # type: ignore[arg-type]
        else:
            MaviChatEngine.from_session(videos, "606120397607260160", **connection(emulator))  # type: ignore[arg-type]
    assert "video_nos=['606120397607260160']" not in str(error.value)
    assert emulator.requests == []
