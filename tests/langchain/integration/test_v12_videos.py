"""LangChain's retriever and transcript loader with `api_version="v1.2"`, over the emulator:
the same Documents as with v1.0, from the v1.2 endpoints (docs/v1.2.md, "Videos
and sessions")."""

from __future__ import annotations

import asyncio

import pytest

from langchain_mavi import MaviTranscriptLoader, MaviVideoRetriever
from mavi_core.emulator import MaviEmulator
from tests.support.v12 import HARBOR, V12, same_in_both_dialects, v12_options

pytestmark = pytest.mark.usefixtures("empty_transcript_cache")


def test_the_retriever_searches_and_reads_transcripts_over_v12(emulator: MaviEmulator) -> None:
    retriever = MaviVideoRetriever(k=3, with_transcript=True, **v12_options(emulator))
    docs = retriever.invoke("harbor breakwater color")
    assert 1 <= len(docs) <= 3
    assert docs[0].metadata["video_no"] == HARBOR
    scores = [doc.metadata["score"] for doc in docs]
    assert scores == sorted(scores, reverse=True)
    assert "first color" in " ".join(doc.page_content for doc in docs)  # a transcript line
    paths = [request.path for request in emulator.requests]
    assert paths[0] == f"{V12}/search"
    assert set(paths[1:]) <= {
        f"{V12}/list_videos",
        f"{V12}/get_audio_transcription",
        f"{V12}/get_video_transcription",
    }
    assert f"{V12}/get_audio_transcription" in paths
    assert asyncio.run(retriever.ainvoke("harbor breakwater color")) == docs


def test_the_loader_gives_the_same_documents_in_both_dialects(emulator: MaviEmulator) -> None:
    def load(version: str) -> list[tuple[str | None, str, dict[str, object]]]:
        loader = MaviTranscriptLoader(
            [HARBOR],
            api_key=emulator.api_key,  # type: ignore[arg-type]
            base_url=emulator.base_url,
            api_version=version,
            poll_interval=0.1,
        )
        return [(doc.id, doc.page_content, doc.metadata) for doc in loader.lazy_load()]

    same_in_both_dialects(emulator, load)
