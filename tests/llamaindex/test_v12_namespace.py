"""LlamaIndex's chat components in a v1.2 namespace (`unique_id`), over the emulator, which keeps
videos and sessions per key and namespace: a video uploaded under "user-42" is answered when the
component names that namespace and is "Video does not exist" without it; a session opened there
is restored and continued there; every v1.2 request the components make carries the namespace."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core.llms import ChatMessage

from llamaindex_mavi import (
    MaviChatEngine,
    MaviLLM,
    MaviQueryEngine,
    MaviTranscriptReader,
    MaviVideoRetriever,
)
from mavi_core import MaviInvalidRequestError, MaviValidationError
from mavi_core.emulator import MaviEmulator
from tests.support.v12 import namespaces, upload_parsed, v12_options

pytestmark = pytest.mark.integration

USER = "user-42"
ASKED = "What is at the pier?"
V10_REFUSAL = "unique_id belongs to the v1.2 API"
LLM_CALLS = ["chat", "achat", "stream_chat", "astream_chat",
             "complete", "acomplete", "stream_complete", "astream_complete"]  # fmt: skip


@pytest.fixture
def mine(emulator: MaviEmulator) -> str:
    """A video of the namespace USER only."""
    return upload_parsed(emulator, USER)


def ask_llm(llm: MaviLLM, how: str, **call: Any) -> str:
    """The LLM's answer to ASKED through its method `how`, streams read to the end."""
    given: Any = [ChatMessage(role="user", content=ASKED)] if "chat" in how else ASKED

    async def run() -> Any:
        result = await getattr(llm, how)(given, **call)
        if not how.startswith("astream"):
            return result
        return [item async for item in result][-1]

    last = asyncio.run(run()) if how.startswith("a") else getattr(llm, how)(given, **call)
    if how.startswith("stream"):
        last = list(last)[-1]
    return str(last.message.content if "chat" in how else last.text)


@pytest.mark.parametrize("how", LLM_CALLS)
def test_the_llm_answers_about_a_video_of_its_namespace(
    emulator: MaviEmulator, mine: str, how: str
) -> None:
    assert ask_llm(MaviLLM(video_nos=[mine], unique_id=USER, **v12_options(emulator)), how)
    assert namespaces(emulator) == [USER]
    with pytest.raises(MaviInvalidRequestError, match=f"Video does not exist: {mine}"):
        ask_llm(MaviLLM(video_nos=[mine], **v12_options(emulator)), how)


@pytest.mark.parametrize("how", LLM_CALLS)
def test_a_call_names_its_own_namespace(emulator: MaviEmulator, mine: str, how: str) -> None:
    assert ask_llm(MaviLLM(**v12_options(emulator)), how, video_nos=[mine], unique_id=USER)
    other = MaviLLM(unique_id="user-7", **v12_options(emulator))
    assert ask_llm(other, how, video_nos=[mine], unique_id=USER)  # the call's over the LLM's
    assert namespaces(emulator) == [USER, USER]


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("asynchronous", [False, True])
def test_the_query_engine_asks_in_its_namespace(
    emulator: MaviEmulator, mine: str, streaming: bool, asynchronous: bool
) -> None:
    def answer(engine: MaviQueryEngine) -> str:
        if not asynchronous:
            response: Any = engine.query(ASKED)
            return "".join(response.response_gen) if streaming else str(response)

        async def run() -> str:
            response: Any = await engine.aquery(ASKED)
            if streaming:
                return "".join([text async for text in response.async_response_gen()])
            return str(response)

        return asyncio.run(run())

    options = {"streaming": streaming, **v12_options(emulator)}
    engine = MaviQueryEngine([mine], unique_id=USER, **options)
    assert engine.unique_id == USER
    assert answer(engine)
    llm = MaviLLM(unique_id=USER, **v12_options(emulator))
    assert answer(MaviQueryEngine([mine], streaming=streaming, llm=llm))
    assert namespaces(emulator) == [USER, USER]
    with pytest.raises(MaviInvalidRequestError, match=f"Video does not exist: {mine}"):
        answer(MaviQueryEngine([mine], **options))


@pytest.mark.parametrize("how", ["chat", "achat", "stream_chat", "astream_chat"])
def test_the_chat_engine_asks_in_its_namespace(emulator: MaviEmulator, mine: str, how: str) -> None:
    def answer(engine: MaviChatEngine) -> str:
        if how == "chat":
            return str(engine.chat(ASKED))
        if how == "stream_chat":
            return "".join(engine.stream_chat(ASKED).response_gen)

        async def run() -> str:
            if how == "achat":
                return str(await engine.achat(ASKED))
            response = await engine.astream_chat(ASKED)
            return "".join([text async for text in response.async_response_gen()])

        return asyncio.run(run())

    engine = MaviChatEngine([mine], unique_id=USER, **v12_options(emulator))
    assert answer(engine)
    assert engine.session_id is not None
    assert answer(engine)  # the second turn continues the session, in the namespace
    assert namespaces(emulator) == [USER, USER]
    with pytest.raises(MaviInvalidRequestError, match=f"Video does not exist: {mine}"):
        answer(MaviChatEngine([mine], **v12_options(emulator)))


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_session_of_a_namespace_is_restored_and_continued_there(
    emulator: MaviEmulator, mine: str, asynchronous: bool
) -> None:
    llm = MaviLLM(video_nos=[mine], unique_id=USER, **v12_options(emulator))
    question = ChatMessage(role="user", content=ASKED)
    first = llm.chat([question])
    session_id = first.message.additional_kwargs["session_id"]
    connection = {"api_key": emulator.api_key, "base_url": emulator.base_url}

    # A restart: an engine that knows the session id and its namespace (v1.2 implied).
    if asynchronous:
        engine = await MaviChatEngine.afrom_session(session_id, [mine], unique_id=USER,
                                                    **connection)  # fmt: skip
    else:
        engine = MaviChatEngine.from_session(session_id, [mine], unique_id=USER, **connection)
    assert engine.chat_history == [question, first.message]
    second = await engine.achat("And then?") if asynchronous else engine.chat("And then?")
    assert second.metadata["session_id"] == session_id

    # The LLM of another namespace reads it with the namespace named per call.
    other = MaviLLM(unique_id="user-7", **v12_options(emulator))
    restored = (
        await other.asession_messages(session_id, unique_id=USER)
        if asynchronous
        else other.session_messages(session_id, unique_id=USER)
    )
    assert restored[2:] == engine.chat_history[2:]
    assert namespaces(emulator) == [USER] * 4  # chat, detail, chat, detail

    for elsewhere in ({}, {"unique_id": "user-7"}):
        with pytest.raises(MaviInvalidRequestError, match=f"Session does not exist: {session_id}"):
            if asynchronous:
                await MaviChatEngine.afrom_session(session_id, [mine], **elsewhere, **connection)
            else:
                MaviChatEngine.from_session(session_id, [mine], **elsewhere, **connection)
    with pytest.raises(MaviInvalidRequestError, match=f"Session does not exist: {session_id}"):
        MaviLLM(**v12_options(emulator)).session_messages(session_id)


@pytest.mark.parametrize(
    "build",
    [
        lambda: MaviLLM(["VI1"], unique_id=USER, api_key="sk-x"),
        lambda: MaviQueryEngine(["VI1"], unique_id=USER, api_key="sk-x"),
        lambda: MaviChatEngine(["VI1"], unique_id=USER, api_key="sk-x"),
        lambda: MaviChatEngine.from_session("1", ["VI1"], unique_id=USER, api_version="v1.0"),
        lambda: MaviVideoRetriever(unique_id=USER, api_key="sk-x"),
        lambda: MaviTranscriptReader(["VI1"], unique_id=USER, api_key="sk-x"),
    ],
    ids=["llm", "query-engine", "chat-engine", "from-session", "retriever", "reader"],
)
def test_a_namespace_is_refused_with_v1_0_when_the_component_is_built(
    build: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAVI_API_VERSION", raising=False)
    with pytest.raises(MaviValidationError, match=V10_REFUSAL):
        build()


def test_a_namespace_and_a_given_llm_are_refused_together() -> None:
    llm = MaviLLM(["VI1"], api_key="sk-x", api_version="v1.2")
    with pytest.raises(MaviValidationError, match=r"either llm=MaviLLM\(...\) or connection"):
        MaviChatEngine(llm=llm, unique_id=USER)


def test_an_empty_namespace_is_refused_when_built() -> None:
    with pytest.raises(MaviValidationError, match="unique_id must be a non-empty string"):
        MaviLLM(["VI1"], unique_id="", api_key="sk-x", api_version="v1.2")
