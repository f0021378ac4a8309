"""`MaviVideoRetriever`: moments as scored nodes, sync and async, over the emulator and over a
scripted reply without scores (as the live service sends)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from llama_index.core.schema import QueryBundle

from llamaindex_mavi import MaviQueryBundle, MaviQueryEngine, MaviVideoRetriever
from mavi_core import AsyncMaviClient, MaviAuthenticationError, MaviClient
from mavi_core.emulator import MaviEmulator

KITCHEN = "VI634021601844219905"


def retriever(emulator: MaviEmulator, **kwargs: object) -> MaviVideoRetriever:
    return MaviVideoRetriever(api_key=emulator.api_key, base_url=emulator.base_url, **kwargs)  # type: ignore[arg-type]


def test_library_search_returns_scored_moments(emulator: MaviEmulator) -> None:
    hits = retriever(emulator, similarity_top_k=3, with_transcript=False).retrieve("water")
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


# A searchVideoFragment reply shaped like one captured from the live service: no score.
UNSCORED = [("VI2", "kitchen.mp4", "62", "105"), ("VI1", "harbor.mp4", "0", "18")]


def search_without_scores(request: httpx.Request) -> httpx.Response:
    assert request.url.path == "/api/serve/video/searchVideoFragment"
    videos = [
        {
            "videoNo": video_no,
            "videoName": name,
            "videoStatus": "PARSE",
            "fragmentStartTime": start,
            "fragmentEndTime": end,
            "duration": "193",
        }
        for video_no, name, start, end in UNSCORED
    ]
    body = {"code": "0000", "msg": "success", "data": {"videos": videos}}
    return httpx.Response(200, content=json.dumps(body).encode())


@pytest.mark.parametrize("how", ["retrieve", "aretrieve"])
def test_unscored_moments_are_scored_by_rank_in_the_services_order(how: str) -> None:
    transport = httpx.MockTransport(search_without_scores)
    options: dict[str, Any] = {"api_key": "sk-test", "base_url": "https://mavi.test"}
    search = MaviVideoRetriever(
        video_nos=["VI1", "VI2"],
        client=MaviClient(http_client=httpx.Client(transport=transport), **options),
        async_client=AsyncMaviClient(http_client=httpx.AsyncClient(transport=transport), **options),
        with_transcript=False,  # the search alone: see test_transcripts.py
    )

    query = QueryBundle("onion")
    hits = search.retrieve(query) if how == "retrieve" else asyncio.run(search.aretrieve(query))

    assert [hit.node.metadata["video_no"] for hit in hits] == ["VI2", "VI1"]
    assert [hit.score for hit in hits] == [1.0, 0.5]
    assert [hit.node.metadata["score"] for hit in hits] == [1.0, 0.5]
    assert hits[0].node.get_content() == "kitchen.mp4 01:02-01:45: moment matching 'onion'"


def test_api_key_none_reads_the_key_from_the_environment(
    emulator: MaviEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAVI_API_KEY", emulator.api_key)

    search = MaviVideoRetriever(api_key=None, base_url=emulator.base_url, video_nos=[KITCHEN])

    assert search.retrieve("onion")
    assert emulator.requests[0].headers["authorization"]
