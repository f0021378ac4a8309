"""`MaviTranscriptLoader` over the emulator, and `MaviVideoRetriever` moments with content:
lazy and native async loading, metadata, ids stable across runs, errors as LangChain's."""

from __future__ import annotations

import inspect
import logging

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.exceptions import ModelAuthenticationError, ModelInvalidRequestError
from langchain_core.vectorstores import InMemoryVectorStore

from langchain_mavi import MaviTranscriptLoader, MaviVideoRetriever
from mavi_core.emulator import MaviEmulator
from mavi_core.transcripts import TranscriptCache

HARBOR = "VI634021587219364352"
SUBMIT = "/api/serve/video/subTranscription"


pytestmark = pytest.mark.usefixtures("empty_transcript_cache")


def loader(emulator: MaviEmulator, *args: object, **kwargs: object) -> MaviTranscriptLoader:
    kwargs.setdefault("poll_interval", 0.1)
    return MaviTranscriptLoader(
        *args,  # type: ignore[arg-type]
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        **kwargs,
    )


def test_lazy_load_yields_one_document_per_segment(emulator: MaviEmulator) -> None:
    documents = loader(emulator, [HARBOR]).lazy_load()

    assert inspect.isgenerator(documents)
    docs = list(documents)
    assert len(docs) == 7 + 9  # seven spoken lines, nine scenes
    first = docs[0]
    assert first.page_content == "It is five in the morning and the harbor is still asleep."
    assert first.metadata == {
        "video_no": HARBOR,
        "video_name": "harbor_sunrise_timelapse.mp4",
        "start": 2.0,
        "end": 9.0,
        "kind": "audio",
    }
    assert {doc.metadata["kind"] for doc in docs} == {"audio", "visual"}


async def test_alazy_load_is_native_and_matches_lazy_load(emulator: MaviEmulator) -> None:
    documents = loader(emulator, [HARBOR], kinds=["visual"]).alazy_load()

    assert inspect.isasyncgen(documents)
    docs = [doc async for doc in documents]
    assert docs == loader(emulator, [HARBOR], kinds=["visual"]).load()
    assert [doc.id for doc in docs] == [
        doc.id for doc in loader(emulator, [HARBOR], kinds="VIDEO").load()
    ]


def test_windows_merge_whole_segments(emulator: MaviEmulator) -> None:
    docs = loader(emulator, [HARBOR], kinds="audio", window_seconds=30).load()

    assert [(doc.metadata["start"], doc.metadata["end"]) for doc in docs] == [
        (2, 27),
        (45, 73),
        (92, 121),
        (160, 166),
    ]
    assert docs[0].page_content == (
        "It is five in the morning and the harbor is still asleep.\n"
        "Watch the breakwater, the first color always appears there."
    )


def test_ids_are_stable_across_runs_and_unique(emulator: MaviEmulator) -> None:
    first = loader(emulator, [HARBOR]).load()
    TranscriptCache.shared().clear()  # a new run asks MAVI again
    emulator.clear_requests()

    second = loader(emulator, [HARBOR]).load()

    assert SUBMIT in [request.path for request in emulator.requests]
    assert [doc.id for doc in second] == [doc.id for doc in first]
    assert len({doc.id for doc in first}) == len(first)


def test_ingesting_again_updates_instead_of_duplicating(emulator: MaviEmulator) -> None:
    store = InMemoryVectorStore(DeterministicFakeEmbedding(size=8))
    docs = loader(emulator, [HARBOR]).load()

    store.add_documents(docs)
    store.add_documents(loader(emulator, [HARBOR]).load())

    assert len(store.store) == len(docs)


def test_no_videos_loads_the_whole_library(emulator: MaviEmulator) -> None:
    docs = loader(emulator, kinds="audio").load()

    assert {doc.metadata["video_no"] for doc in docs} == set(emulator.video_nos)


def test_errors_are_langchain_errors(emulator: MaviEmulator) -> None:
    bad = MaviTranscriptLoader([HARBOR], api_key="sk-wrong", base_url=emulator.base_url)  # type: ignore[call-arg]
    with pytest.raises(ModelAuthenticationError):
        bad.load()
    with pytest.raises(ValueError, match="transcript kind"):
        loader(emulator, [HARBOR], kinds=["subtitles"])


# MaviVideoRetriever: moments with content.


def retriever(emulator: MaviEmulator, **kwargs: object) -> MaviVideoRetriever:
    return MaviVideoRetriever(api_key=emulator.api_key, base_url=emulator.base_url, **kwargs)  # type: ignore[arg-type]


def test_moments_say_what_is_shown_and_said_in_them(emulator: MaviEmulator) -> None:
    docs = retriever(emulator, k=2).invoke("How do people deal with rain?")

    assert docs[0].page_content == (
        "rainy_bike_commute.mp4 00:00-00:20\n"
        "shown 00:00-00:20: Handlebar camera view: a cyclist in a green rain jacket sets off "
        "from an apartment courtyard in light rain.\n"
        "said 00:03-00:10: Eight kilometers to work today, and the forecast says rain all "
        "morning."
    )
    assert [doc.metadata["score"] for doc in docs] == [1.0, 0.5]


async def test_async_moments_have_the_same_content(emulator: MaviEmulator) -> None:
    search = retriever(emulator, k=3)
    assert await search.ainvoke("onion") == search.invoke("onion")


def test_without_transcripts_the_moment_is_described(
    emulator: MaviEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.faults.error_envelope("0001", "transcription is off", path=SUBMIT)

    with caplog.at_level(logging.DEBUG, logger="mavi_core"):
        docs = retriever(emulator, k=1, video_nos=[HARBOR]).invoke("tugboat")

    assert (
        docs[0].page_content
        == "harbor_sunrise_timelapse.mp4 00:41-01:03: moment matching 'tugboat'"
    )
    assert "no transcripts for the moments" in caplog.text


def test_with_transcript_true_raises_when_transcripts_fail(emulator: MaviEmulator) -> None:
    emulator.faults.error_envelope("0001", "transcription is off", path=SUBMIT)

    with pytest.raises(ModelInvalidRequestError, match="transcription is off"):
        retriever(emulator, k=1, video_nos=[HARBOR], with_transcript=True).invoke("tugboat")


def test_with_transcript_false_asks_for_no_transcript(emulator: MaviEmulator) -> None:
    retriever(emulator, k=1, with_transcript=False).invoke("tugboat")

    assert SUBMIT not in [request.path for request in emulator.requests]


@pytest.mark.parametrize("api_version", ["v1.0", "v1.2"])
def test_milliseconds_in_the_reply_are_loaded_as_seconds(
    emulator: MaviEmulator, api_version: str
) -> None:
    """docs/client.md, "Seconds, always": the service's replies in milliseconds give the same
    documents (metadata in seconds, ids) as replies in seconds, in both dialects."""
    seconds = loader(emulator, [HARBOR], kinds="audio", api_version=api_version).load()
    TranscriptCache.shared().clear()
    emulator.transcript_millis = True
    try:
        millis = loader(emulator, [HARBOR], kinds="audio", api_version=api_version).load()
    finally:
        emulator.transcript_millis = False

    assert [(d.id, d.metadata) for d in millis] == [(d.id, d.metadata) for d in seconds]
    assert (millis[0].metadata["start"], millis[0].metadata["end"]) == (2.0, 9.0)
