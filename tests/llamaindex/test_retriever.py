"""`MaviVideoRetriever` over the emulator: moments as scored nodes, sync and async."""

from __future__ import annotations

import asyncio

import pytest
from llama_index.core.schema import QueryBundle

from llamaindex_mavi import MaviQueryBundle, MaviQueryEngine, MaviVideoRetriever
from mavi_core import MaviAuthenticationError
from mavi_core.emulator import MaviEmulator

KITCHEN = "VI634021601844219905"


def retriever(emulator: MaviEmulator, **kwargs: object) -> MaviVideoRetriever:
    return MaviVideoRetriever(api_key=emulator.api_key, base_url=emulator.base_url, **kwargs)  # type: ignore[arg-type]


def test_library_search_returns_scored_moments(emulator: MaviEmulator) -> None:
    hits = retriever(emulator, similarity_top_k=3).retrieve("water")
    assert len(hits) == 3
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    metadata = hits[0].node.metadata
    assert set(metadata) >= {"video_no", "video_name", "start", "end", "score"}
    assert metadata["score"] == hits[0].score
    assert metadata["video_name"] in hits[0].node.get_content()
    assert [r.path for r in emulator.requests] == [
        "/api/serve/video/searchAI",
        "/api/serve/video/searchVideoFragment",
    ]


def test_fixed_videos_skip_the_library_search(emulator: MaviEmulator) -> None:
    hits = retriever(emulator, video_nos=[KITCHEN], similarity_top_k=None).retrieve("onion")
    assert {hit.node.metadata["video_no"] for hit in hits} == {KITCHEN}
    assert emulator.requests[0].body == {"videoNos": [KITCHEN], "searchValue": "onion"}


def test_query_bundle_can_name_other_videos(emulator: MaviEmulator) -> None:
    search = retriever(emulator, video_nos=emulator.video_nos)
    search.retrieve(MaviQueryBundle("onion", video_nos=[KITCHEN]))
    assert emulator.requests[0].body["videoNos"] == [KITCHEN]


def test_async_matches_sync(emulator: MaviEmulator) -> None:
    search = retriever(emulator, similarity_top_k=2)
    sync_hits = search.retrieve("harbor sunrise")
    async_hits = asyncio.run(search.aretrieve(QueryBundle("harbor sunrise")))
    assert [h.node.metadata for h in async_hits] == [h.node.metadata for h in sync_hits]


def test_errors_are_mavi_core_errors(emulator: MaviEmulator) -> None:
    bad = MaviVideoRetriever(api_key="sk-wrong", base_url=emulator.base_url)
    with pytest.raises(MaviAuthenticationError):
        bad.retrieve("onion")


def test_retrieve_then_ask_about_exactly_those_videos(emulator: MaviEmulator) -> None:
    hits = retriever(emulator, similarity_top_k=2).retrieve("onion")
    engine = MaviQueryEngine(api_key=emulator.api_key, base_url=emulator.base_url)
    videos = sorted({hit.node.metadata["video_no"] for hit in hits})
    answer = engine.with_videos(videos).query("How is the onion cut?")
    assert "onion" in str(answer).lower()
    assert emulator.requests[-1].body["videoNos"] == [KITCHEN]
