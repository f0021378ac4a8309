"""LangChain's chat components in a v1.2 namespace (`unique_id`), over the emulator, which keeps
videos and sessions per key and namespace: a video uploaded under "user-42" is answered when the
component names that namespace and is "Video does not exist" without it; a session opened there
is restored and continued there; every v1.2 request the components make carries the namespace."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from pydantic import ValidationError

from langchain_mavi import (
    ChatMavi,
    MaviChatMessageHistory,
    MaviTranscriptLoader,
    MaviVideoChatTool,
    MaviVideoRetriever,
)
from mavi_core import MaviInvalidRequestError
from mavi_core.emulator import MaviEmulator
from tests.support.v12 import namespaces, upload_parsed, v12_options

pytestmark = pytest.mark.integration

USER = "user-42"
ASKED = "What is at the pier?"
V10_REFUSAL = "unique_id belongs to the v1.2 API"


@pytest.fixture
def mine(emulator: MaviEmulator) -> str:
    """A video of the namespace USER only."""
    return upload_parsed(emulator, USER)


def ask(model: ChatMavi, how: str, **call: Any) -> str:
    """The model's answer to ASKED, by `how`: invoke, ainvoke, stream or astream."""
    if how == "invoke":
        return model.invoke(ASKED, **call).text
    if how == "ainvoke":
        return asyncio.run(model.ainvoke(ASKED, **call)).text
    if how == "stream":
        return "".join(chunk.text for chunk in model.stream(ASKED, **call))

    async def collect() -> str:
        return "".join([chunk.text async for chunk in model.astream(ASKED, **call)])

    return asyncio.run(collect())


@pytest.mark.parametrize("how", ["invoke", "ainvoke", "stream", "astream"])
def test_chat_mavi_answers_about_a_video_of_its_namespace(
    emulator: MaviEmulator, mine: str, how: str
) -> None:
    assert ask(ChatMavi(video_nos=[mine], unique_id=USER, **v12_options(emulator)), how)
    assert namespaces(emulator) == [USER]
    with pytest.raises(MaviInvalidRequestError, match=f"Video does not exist: {mine}"):
        ask(ChatMavi(video_nos=[mine], **v12_options(emulator)), how)


@pytest.mark.parametrize("how", ["invoke", "ainvoke", "stream", "astream"])
def test_a_call_names_its_own_namespace(emulator: MaviEmulator, mine: str, how: str) -> None:
    model = ChatMavi(**v12_options(emulator))
    assert ask(model, how, video_nos=[mine], unique_id=USER)
    assert namespaces(emulator) == [USER]
    other = ChatMavi(unique_id="user-7", **v12_options(emulator))
    assert ask(other, how, video_nos=[mine], unique_id=USER)  # the call's over the model's
    assert namespaces(emulator) == [USER, USER]


@pytest.mark.parametrize("asynchronous", [False, True])
def test_the_tool_asks_in_its_namespace(
    emulator: MaviEmulator, mine: str, asynchronous: bool
) -> None:
    def run(tool: MaviVideoChatTool) -> Any:
        call = {"type": "tool_call", "id": "call-1", "name": tool.name,
                "args": {"question": ASKED, "video_nos": [mine]}}  # fmt: skip
        return asyncio.run(tool.ainvoke(call)) if asynchronous else tool.invoke(call)

    answered = run(MaviVideoChatTool(unique_id=USER, **v12_options(emulator)))
    assert isinstance(answered, ToolMessage) and answered.status == "success"
    assert answered.artifact["answer"] and answered.artifact["session_id"]
    # A given model: the tool's namespace, else the model's.
    llm = ChatMavi(unique_id=USER, **v12_options(emulator))
    assert run(MaviVideoChatTool(llm=llm)).status == "success"
    assert run(MaviVideoChatTool(llm=llm.model_copy(update={"unique_id": None}), unique_id=USER))
    assert namespaces(emulator) == [USER] * 3

    refused = run(MaviVideoChatTool(**v12_options(emulator)))
    assert refused.status == "error"
    assert f"Video does not exist: {mine}" in refused.content


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_session_of_a_namespace_is_restored_and_continued_there(
    emulator: MaviEmulator, mine: str, asynchronous: bool
) -> None:
    question = HumanMessage(ASKED)
    model = ChatMavi(video_nos=[mine], unique_id=USER, **v12_options(emulator))
    first = model.invoke([question])
    session_id = first.response_metadata["session_id"]

    restored = MaviChatMessageHistory(
        session_id, video_nos=[mine], unique_id=USER, **v12_options(emulator)
    )
    messages = await restored.aget_messages() if asynchronous else restored.messages
    assert [m.text for m in messages] == [ASKED, first.text]
    assert messages[1].response_metadata["session_id"] == session_id

    follow_up = HumanMessage("And then?")
    later = ChatMavi(video_nos=[mine], unique_id=USER, **v12_options(emulator))
    second = (
        await later.ainvoke([*messages, follow_up])
        if asynchronous
        else later.invoke([*messages, follow_up])
    )
    assert second.response_metadata["session_id"] == session_id
    assert [m.text for m in restored.messages] == [ASKED, first.text, "And then?", second.text]
    assert namespaces(emulator) == [USER] * 4  # chat, detail, chat, detail

    elsewhere = MaviChatMessageHistory(session_id, **v12_options(emulator))
    with pytest.raises(MaviInvalidRequestError, match=f"Session does not exist: {session_id}"):
        _ = await elsewhere.aget_messages() if asynchronous else elsewhere.messages


@pytest.mark.parametrize(
    "build",
    [
        lambda: ChatMavi(unique_id=USER, api_key="sk-x"),
        lambda: MaviVideoChatTool(unique_id=USER, api_key="sk-x"),
        lambda: MaviVideoChatTool(unique_id=USER, llm=ChatMavi(api_key="sk-x")),
        lambda: MaviChatMessageHistory("1", unique_id=USER, api_key="sk-x", api_version="v1.0"),
        lambda: MaviVideoRetriever(unique_id=USER, api_key="sk-x"),
        lambda: MaviTranscriptLoader(["VI1"], unique_id=USER, api_key="sk-x"),
    ],
    ids=["chat-model", "tool", "tool-with-model", "history", "retriever", "loader"],
)
def test_a_namespace_is_refused_with_v1_0_when_the_component_is_built(
    build: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAVI_API_VERSION", raising=False)
    with pytest.raises(ValidationError, match=V10_REFUSAL):
        build()


def test_a_tool_with_a_v1_2_model_takes_a_namespace(emulator: MaviEmulator) -> None:
    llm = ChatMavi(**v12_options(emulator))
    assert MaviVideoChatTool(llm=llm, unique_id=USER).unique_id == USER  # the model's dialect


def test_an_empty_namespace_is_refused_when_built() -> None:
    with pytest.raises(ValidationError, match="unique_id must be a non-empty string"):
        ChatMavi(unique_id=" ", api_key="sk-x", api_version="v1.2")
