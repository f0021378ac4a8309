"""The usual LCEL RAG chain over the emulator: `MaviVideoRetriever` finds moments, and
`format_video_context` hands their text and their videos to `ChatMavi`, which asks about them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.exceptions import LangChainException
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import RunnablePassthrough

from langchain_mavi import ChatMavi, MaviVideoRetriever, format_video_context
from langchain_mavi.retrievers import video_context_message
from mavi_core import MaviValidationError
from mavi_core.emulator import MaviEmulator

KITCHEN = "VI634021601844219905"

PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", "Answer from the videos; say when something happens."),
        MessagesPlaceholder("context"),
        ("human", "{question}"),
    ]
)


def _chain(emulator: MaviEmulator):  # type: ignore[no-untyped-def]
    connection = {"api_key": emulator.api_key, "base_url": emulator.base_url}
    retriever = MaviVideoRetriever(k=2, with_transcript=False, **connection)  # type: ignore[arg-type]
    llm = ChatMavi(**connection)  # type: ignore[arg-type]
    return (
        {
            "context": retriever | format_video_context,
            "question": RunnablePassthrough(),
        }
        | PROMPT
        | llm
    )


def test_the_standard_rag_chain_asks_about_the_retrieved_videos(emulator: MaviEmulator) -> None:
    answer = _chain(emulator).invoke("What happens with the onion?")

    assert "onion" in answer.text.lower()
    chat = emulator.requests[-1]
    assert chat.path == "/api/serve/video/chat"
    assert chat.body["videoNos"] == [KITCHEN]
    # The moments' text goes with the question, after the system text, in one message.
    assert "The moments found:" in chat.body["message"]
    assert chat.body["message"].rstrip().endswith("What happens with the onion?")


def test_the_chain_streams_and_runs_async(emulator: MaviEmulator) -> None:
    chain = _chain(emulator)
    streamed = "".join(chunk.text for chunk in chain.stream("What happens with the onion?"))
    awaited = asyncio.run(chain.ainvoke("What happens with the onion?"))
    assert streamed == awaited.text
    assert emulator.requests[-1].body["videoNos"] == [KITCHEN]


def test_a_string_context_loses_the_videos_and_the_error_says_what_to_use(
    emulator: MaviEmulator,
) -> None:
    connection = {"api_key": emulator.api_key, "base_url": emulator.base_url}
    retriever = MaviVideoRetriever(k=2, with_transcript=False, **connection)  # type: ignore[arg-type]
    prompt = ChatPromptTemplate.from_template("Context: {context}\n\nQuestion: {question}")
    chain = (
        {"context": retriever, "question": RunnablePassthrough()}
        | prompt
        | ChatMavi(
            **connection  # type: ignore[arg-type]
        )
    )
    with pytest.raises(LangChainException, match="format_video_context"):
        chain.invoke("What happens with the onion?")


def test_each_video_is_named_once_in_the_order_found() -> None:
    docs = [
        Document("a", metadata={"video_no": "VI2"}),
        Document("b", metadata={"video_no": "VI1"}),
        Document("c", metadata={"video_no": "VI2"}),
        Document("d"),
    ]
    (message,) = video_context_message(docs)
    assert message.content[1:] == [
        {"type": "video", "file_id": "VI2"},
        {"type": "video", "file_id": "VI1"},
    ]
    assert message.content[0]["text"].endswith("a\n\nb\n\nc\n\nd")  # type: ignore[index]
    assert video_context_message([]) == []


@pytest.mark.parametrize("given", ["What happens with the onion?", ["a moment"], {"k": 2}])
def test_format_video_context_given_no_documents_says_where_it_goes(given: Any) -> None:
    # Put first in the chain, it receives the question: an AttributeError on 'metadata' before.
    with pytest.raises(MaviValidationError, match=r"retriever \| format_video_context"):
        format_video_context.invoke(given)
