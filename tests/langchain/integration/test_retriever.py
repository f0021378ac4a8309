"""`MaviVideoRetriever` over the emulator: moments as Documents, sync and async, in LCEL."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.exceptions import ModelAuthenticationError
from langchain_core.runnables import RunnableLambda

from langchain_mavi import ChatMavi, MaviVideoRetriever
from mavi_core.emulator import MaviEmulator

KITCHEN = "VI634021601844219905"


def retriever(emulator: MaviEmulator, **kwargs: object) -> MaviVideoRetriever:
    return MaviVideoRetriever(api_key=emulator.api_key, base_url=emulator.base_url, **kwargs)  # type: ignore[arg-type]


def test_library_search_returns_moments_with_metadata(emulator: MaviEmulator) -> None:
    docs = retriever(emulator, k=3, with_transcript=False).invoke("dice the onion")
    assert 1 <= len(docs) <= 3
    first = docs[0]
    assert set(first.metadata) >= {"video_no", "video_name", "start", "end"}
    assert first.metadata["video_no"] in emulator.video_nos
    assert first.metadata["end"] >= first.metadata["start"]
    assert first.metadata["video_name"] in first.page_content
    assert [r.path for r in emulator.requests] == [
        "/api/serve/video/searchAI",
        "/api/serve/video/searchVideoFragment",
    ]


def test_fixed_videos_skip_the_library_search(emulator: MaviEmulator) -> None:
    docs = retriever(emulator, video_nos=[KITCHEN], k=None, with_transcript=False).invoke("onion")
    assert docs
    assert {doc.metadata["video_no"] for doc in docs} == {KITCHEN}
    assert [r.path for r in emulator.requests] == ["/api/serve/video/searchVideoFragment"]
    assert emulator.requests[0].body == {"videoNos": [KITCHEN], "searchValue": "onion"}


def test_scores_come_best_first(emulator: MaviEmulator) -> None:
    docs = retriever(emulator, video_nos=emulator.video_nos, k=None).invoke("onion knife")
    scores = [doc.metadata["score"] for doc in docs if "score" in doc.metadata]
    assert scores == sorted(scores, reverse=True)


def test_async_matches_sync(emulator: MaviEmulator) -> None:
    search = retriever(emulator, k=2)
    assert asyncio.run(search.ainvoke("harbor sunrise")) == search.invoke("harbor sunrise")


def test_errors_are_langchain_errors(emulator: MaviEmulator) -> None:
    bad = MaviVideoRetriever(api_key="sk-wrong", base_url=emulator.base_url)  # type: ignore[arg-type]
    with pytest.raises(ModelAuthenticationError):
        bad.invoke("onion")


def test_retrieve_then_ask_about_exactly_those_videos(emulator: MaviEmulator) -> None:
    llm = ChatMavi(api_key=emulator.api_key, base_url=emulator.base_url)  # type: ignore[arg-type]
    search = retriever(emulator, k=2)
    chain = search | RunnableLambda(
        lambda docs: llm.invoke(
            "What happens with the onion?",
            video_nos=sorted({doc.metadata["video_no"] for doc in docs}),
        )
    )
    answer = chain.invoke("onion")
    assert "onion" in answer.text.lower()
    assert emulator.requests[-1].body["videoNos"] == [KITCHEN]
