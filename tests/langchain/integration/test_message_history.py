"""`MaviChatMessageHistory` over the local emulator: a conversation the service keeps continues
after a restart (fresh objects, as a new process builds them), its messages exactly those
`ChatMavi` returned; what `add_messages` takes and refuses; `RunnableWithMessageHistory`."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables.history import RunnableWithMessageHistory

from langchain_mavi import ChatMavi, MaviChatMessageHistory
from mavi_core import MaviInvalidRequestError, MaviValidationError
from mavi_core.emulator import MaviEmulator

pytestmark = pytest.mark.integration

V12_CHAT = ("/serve/api/v1/chat", "/serve/api/v1/chat_stream")


def connection(emu: MaviEmulator) -> dict[str, Any]:
    return {"api_key": emu.api_key, "base_url": emu.base_url}


def model(emu: MaviEmulator, **options: Any) -> ChatMavi:
    return ChatMavi(video_nos=emu.video_nos[:1], api_version="v1.2", **connection(emu), **options)


def history(emu: MaviEmulator, session_id: str | None, **options: Any) -> MaviChatMessageHistory:
    return MaviChatMessageHistory(
        session_id, video_nos=emu.video_nos[:1], **connection(emu), **options
    )


def without_ids(messages: list[BaseMessage]) -> list[BaseMessage]:
    """The messages without the run ids LangChain gives each answer."""
    return [message.model_copy(update={"id": None}) for message in messages]


@pytest.mark.parametrize("output_version", [None, "v1"])
@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_conversation_continues_after_a_restart(
    emulator: MaviEmulator, asynchronous: bool, output_version: str | None
) -> None:
    question = HumanMessage("How does the tugboat leave?")
    first = model(emulator, output_version=output_version).invoke([question])
    session_id = first.response_metadata["session_id"]

    # A restart: new objects that know nothing but the session id.
    restored = history(emulator, session_id, output_version=output_version or "v0")
    messages = await restored.aget_messages() if asynchronous else restored.messages
    assert without_ids(messages) == without_ids([question, first])

    later = model(emulator, output_version=output_version)
    follow_up = HumanMessage("What happens next?")
    second = (
        await later.ainvoke([*messages, follow_up])
        if asynchronous
        else later.invoke([*messages, follow_up])
    )
    assert second.response_metadata["session_id"] == session_id
    assert "After that" in second.text
    bodies = [r.body for r in emulator.requests if r.path in V12_CHAT]
    assert bodies[-1]["session_id"] == int(session_id)
    assert bodies[-1]["prompt"] == "What happens next?"  # the service holds the rest
    assert without_ids(restored.messages) == without_ids([question, first, follow_up, second])


def test_an_unknown_session_is_an_invalid_request(emulator: MaviEmulator) -> None:
    with pytest.raises(MaviInvalidRequestError, match="Session does not exist"):
        _ = history(emulator, "1234567890123456789").messages


def test_add_messages_takes_the_turn_the_service_answered_and_refuses_others(
    emulator: MaviEmulator,
) -> None:
    fresh = history(emulator, None)
    assert fresh.messages == []
    assert emulator.requests == []  # no session yet: nothing to ask
    question = HumanMessage("How does the tugboat leave?")
    answer = model(emulator).invoke([question])
    fresh.add_messages([question, answer])  # stored by the service already: the session adopted
    assert fresh.session_id == answer.response_metadata["session_id"]
    assert without_ids(fresh.messages) == without_ids([question, answer])

    other = model(emulator).invoke("Where is the lighthouse?")  # another session
    for refused in ([HumanMessage("Remember this")], [AIMessage("made up")], [other]):
        with pytest.raises(MaviValidationError, match="keeps a session's turns itself"):
            fresh.add_messages(refused)
    assert fresh.session_id == answer.response_metadata["session_id"]

    fresh.clear()  # forgotten here, kept by the service
    assert (fresh.session_id, fresh.messages) == (None, [])


@pytest.mark.filterwarnings("ignore:RunnableWithMessageHistory is deprecated")
@pytest.mark.parametrize("streamed", [False, True])
def test_runnable_with_message_history_keeps_one_session(
    emulator: MaviEmulator, streamed: bool
) -> None:
    # A streamed answer reaches the history as an AIMessageChunk (type "AIMessageChunk").
    histories: dict[str, MaviChatMessageHistory] = {}

    def history_of(conversation: str) -> MaviChatMessageHistory:
        return histories.setdefault(conversation, history(emulator, None))

    chain = RunnableWithMessageHistory(model(emulator), history_of)
    config: Any = {"configurable": {"session_id": "harbor"}}
    question = "How does the tugboat leave?"
    if streamed:
        first = list(chain.stream(question, config=config))[-1]
    else:
        first = chain.invoke(question, config=config)
    assert histories["harbor"].session_id == first.response_metadata["session_id"]
    second = chain.invoke("What happens next?", config=config)
    assert second.response_metadata["session_id"] == first.response_metadata["session_id"]
    assert histories["harbor"].session_id == first.response_metadata["session_id"]
    assert len(histories["harbor"].messages) == 4
    assert [m.type for m in histories["harbor"].messages] == ["human", "ai", "human", "ai"]


def test_add_messages_takes_a_streamed_answer(emulator: MaviEmulator) -> None:
    question = HumanMessage("How does the tugboat leave?")
    chunks = list(model(emulator).stream([question]))
    answer = chunks[0]
    for chunk in chunks[1:]:
        answer += chunk
    fresh = history(emulator, None)
    fresh.add_messages([question, answer])
    assert fresh.session_id == answer.response_metadata["session_id"]
