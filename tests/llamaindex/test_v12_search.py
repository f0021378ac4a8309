"""LlamaIndex's retriever and reader with the v1.2 search options, over the emulator:
`search_type="BY_AUDIO"` puts the words heard into each node, and `unique_id` (the namespace)
is sent on every request they make."""

from __future__ import annotations

import asyncio

import pytest

from llamaindex_mavi import MaviTranscriptReader, MaviVideoRetriever
from mavi_core import MaviValidationError
from mavi_core.emulator import MaviEmulator
from tests.support.v12 import HARBOR, V12, namespaces, v12_options

pytestmark = pytest.mark.usefixtures("empty_transcript_cache")


def test_by_audio_nodes_hold_the_words_heard(emulator: MaviEmulator) -> None:
    retriever = MaviVideoRetriever(
        similarity_top_k=2, search_type="BY_AUDIO", with_transcript=False, **v12_options(emulator)
    )
    hits = retriever.retrieve("harbor breakwater color")
    texts = [hit.node.get_content() for hit in hits]
    assert texts and all("\nsaid " in text for text in texts)
    assert "first color" in " ".join(texts)
    (request,) = emulator.requests
    assert request.body == {"search_param": "harbor breakwater color", "search_type": "BY_AUDIO",
                            "top_k": 2}  # fmt: skip
    again = asyncio.run(retriever.aretrieve("harbor breakwater color"))
    assert [hit.node.get_content() for hit in again] == texts


def test_the_retriever_sends_its_unique_id_on_every_request(emulator: MaviEmulator) -> None:
    retriever = MaviVideoRetriever(
        [HARBOR], similarity_top_k=2, unique_id="alice", with_transcript=True,
        **v12_options(emulator),
    )  # fmt: skip
    hits = retriever.retrieve("harbor breakwater color")
    assert hits and "first color" in " ".join(hit.node.get_content() for hit in hits)
    assert f"{V12}/get_audio_transcription" in [request.path for request in emulator.requests]
    assert namespaces(emulator) == ["alice"] * len(emulator.requests)


def test_the_reader_sends_its_unique_id_on_every_request(emulator: MaviEmulator) -> None:
    reader = MaviTranscriptReader([HARBOR], unique_id="bob", **v12_options(emulator))
    assert len(asyncio.run(reader.aload_data())) == 7 + 9
    assert namespaces(emulator) == ["bob"] * 3


def test_a_bad_search_type_is_refused_when_the_retriever_is_built() -> None:
    with pytest.raises(MaviValidationError, match="search_type must be one of"):
        MaviVideoRetriever(search_type="BY_SMELL", api_key="sk-x")  # type: ignore[arg-type]
