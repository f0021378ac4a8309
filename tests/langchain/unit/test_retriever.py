"""MaviVideoRetriever against a scripted MAVI whose moment search, like the live service's,
carries no score: Documents keep the service's order and are scored by rank."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from langchain_mavi import MaviVideoRetriever
from mavi_core import AsyncMaviClient, MaviClient

# A searchVideoFragment reply shaped like one captured from the live service: no score.
MOMENTS = [
    ("VI2", "kitchen.mp4", "62", "105"),
    ("VI1", "harbor.mp4", "0", "18"),
    ("VI2", "kitchen.mp4", "10", "19"),
]


def search_without_scores(request: httpx.Request) -> httpx.Response:
    assert request.url.path == "/api/serve/video/searchVideoFragment"
    videos = [
        {
            "videoNo": video_no,
            "videoName": name,
            "videoStatus": "PARSE",
            "uploadTime": "1744424280079",
            "fragmentStartTime": start,
            "fragmentEndTime": end,
            "duration": "193",
        }
        for video_no, name, start, end in MOMENTS
    ]
    body = {"code": "0000", "msg": "success", "data": {"videos": videos}}
    return httpx.Response(200, content=json.dumps(body).encode())


def retriever(**kwargs: Any) -> MaviVideoRetriever:
    transport = httpx.MockTransport(search_without_scores)
    options: dict[str, Any] = {"api_key": "sk-test", "base_url": "https://mavi.test"}
    kwargs.setdefault("with_transcript", False)  # the search alone: see test_transcripts.py
    return MaviVideoRetriever(
        video_nos=["VI1", "VI2"],
        client=MaviClient(http_client=httpx.Client(transport=transport), **options),
        async_client=AsyncMaviClient(http_client=httpx.AsyncClient(transport=transport), **options),
        **kwargs,
    )


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
async def test_unscored_moments_are_scored_by_rank_in_the_services_order(how: str) -> None:
    search = retriever(k=None)

    docs = search.invoke("onion") if how == "invoke" else await search.ainvoke("onion")

    assert [(d.metadata["video_no"], d.metadata["start"]) for d in docs] == [
        ("VI2", 62.0),
        ("VI1", 0.0),
        ("VI2", 10.0),
    ]
    assert [d.metadata["score"] for d in docs] == pytest.approx([1.0, 0.5, 1 / 3])
    assert docs[0].page_content == "kitchen.mp4 01:02-01:45: moment matching 'onion'"


def test_k_keeps_the_best_ranked_moments() -> None:
    docs = retriever(k=2).invoke("onion")

    assert [d.metadata["score"] for d in docs] == [1.0, 0.5]
    assert [d.metadata["video_no"] for d in docs] == ["VI2", "VI1"]
