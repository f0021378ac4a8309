"""LlamaIndex's retriever and transcript reader with `api_version="v1.2"`, over the emulator:
the same nodes and Documents as with v1.0, from the v1.2 endpoints (docs/v1.2.md,
"Videos and sessions")."""

from __future__ import annotations

import asyncio

import pytest

from llamaindex_mavi import MaviTranscriptReader, MaviVideoRetriever
from mavi_core.emulator import MaviEmulator
from tests.support.v12 import HARBOR, V12, same_in_both_dialects, v12_options

pytestmark = pytest.mark.usefixtures("empty_transcript_cache")


def test_the_retriever_searches_and_reads_transcripts_over_v12(emulator: MaviEmulator) -> None:
    options = v12_options(emulator)
    retriever = MaviVideoRetriever([HARBOR], similarity_top_k=2, with_transcript=True, **options)
    nodes = retriever.retrieve("harbor breakwater color")
    assert 1 <= len(nodes) <= 2
    assert {node.node.metadata["video_no"] for node in nodes} == {HARBOR}
    scores = [node.score for node in nodes]
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert "first color" in " ".join(node.node.get_content() for node in nodes)
    paths = [request.path for request in emulator.requests]
    assert paths[0] == f"{V12}/search"
    assert emulator.requests[0].body == {
        "search_param": "harbor breakwater color",
        "search_type": "BY_CLIP",
        "top_k": 2,
        "video_nos": [HARBOR],
    }
    assert f"{V12}/get_audio_transcription" in paths
    assert not [path for path in paths if path.startswith("/api/serve/")]
    again = asyncio.run(retriever.aretrieve("harbor breakwater color"))
    assert [(n.node.get_content(), n.score) for n in again] == [
        (n.node.get_content(), n.score) for n in nodes
    ]


def test_the_reader_gives_the_same_documents_in_both_dialects(emulator: MaviEmulator) -> None:
    def load(version: str) -> list[tuple[str, str, dict[str, object]]]:
        reader = MaviTranscriptReader(
            [HARBOR],
            api_key=emulator.api_key,
            base_url=emulator.base_url,
            api_version=version,
            poll_interval=0.1,
        )
        return [(doc.id_, doc.text, doc.metadata) for doc in reader.load_data()]

    same_in_both_dialects(emulator, load)
