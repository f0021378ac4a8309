"""LangChain's retriever and loader with the v1.2 search options, over the emulator:
`search_type="BY_AUDIO"` puts the words heard into each Document, and `unique_id` (the
namespace) is sent on every request they make."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from langchain_mavi import MaviTranscriptLoader, MaviVideoRetriever
from mavi_core.emulator import MaviEmulator
from tests.support.v12 import HARBOR, V12, namespaces, v12_options

pytestmark = pytest.mark.usefixtures("empty_transcript_cache")


def test_by_audio_documents_hold_the_words_heard(emulator: MaviEmulator) -> None:
    retriever = MaviVideoRetriever(
        k=2, search_type="BY_AUDIO", with_transcript=False, **v12_options(emulator)
    )
    docs = retriever.invoke("harbor breakwater color")
    assert docs and all("\nsaid " in doc.page_content for doc in docs)
    assert "first color" in " ".join(doc.page_content for doc in docs)
    (request,) = emulator.requests
    assert request.body == {"search_param": "harbor breakwater color", "search_type": "BY_AUDIO",
                            "top_k": 2}  # fmt: skip
    assert asyncio.run(retriever.ainvoke("harbor breakwater color")) == docs


def test_the_retriever_sends_its_unique_id_on_every_request(emulator: MaviEmulator) -> None:
    retriever = MaviVideoRetriever(
        video_nos=[HARBOR], k=2, unique_id="alice", with_transcript=True, **v12_options(emulator)
    )
    docs = retriever.invoke("harbor breakwater color")
    assert docs and "first color" in " ".join(doc.page_content for doc in docs)
    assert f"{V12}/get_audio_transcription" in [request.path for request in emulator.requests]
    assert namespaces(emulator) == ["alice"] * len(emulator.requests)


def test_the_loader_sends_its_unique_id_on_every_request(emulator: MaviEmulator) -> None:
    loader = MaviTranscriptLoader([HARBOR], unique_id="bob", **v12_options(emulator))
    assert len(asyncio.run(loader.aload())) == 7 + 9
    assert namespaces(emulator) == ["bob"] * 3


def test_a_bad_search_type_is_refused_when_the_retriever_is_built() -> None:
    with pytest.raises(ValidationError, match="search_type must be one of"):
        MaviVideoRetriever(search_type="BY_SMELL", api_key="sk-x")
