"""`MaviTranscriptReader` over the emulator, and `MaviVideoRetriever` moments with content:
load_data, lazy_load_data, native aload_data, metadata, ids stable across runs."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.storage.docstore import SimpleDocumentStore

from llamaindex_mavi import MaviTranscriptReader, MaviVideoRetriever
from mavi_core import MaviAuthenticationError, MaviInvalidRequestError, MaviValidationError
from mavi_core.emulator import MaviEmulator
from mavi_core.transcripts import TranscriptCache

KITCHEN = "VI634021601844219905"
SUBMIT = "/api/serve/video/subTranscription"


pytestmark = pytest.mark.usefixtures("empty_transcript_cache")


def reader(emulator: MaviEmulator, *args: object, **kwargs: object) -> MaviTranscriptReader:
    kwargs.setdefault("poll_interval", 0.1)
    return MaviTranscriptReader(
        *args,  # type: ignore[arg-type]
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        **kwargs,  # type: ignore[arg-type]
    )


def test_load_data_gives_one_document_per_segment(emulator: MaviEmulator) -> None:
    docs = reader(emulator, [KITCHEN], kinds="audio").load_data()

    assert docs[0].text == "Today we cover the only three knives most home cooks need."
    assert docs[0].metadata == {
        "video_no": KITCHEN,
        "video_name": "kitchen_knife_skills_demo.mp4",
        "start": 5.0,
        "end": 14.0,
        "kind": "audio",
    }
    assert {doc.metadata["kind"] for doc in docs} == {"audio"}


def test_lazy_load_data_is_lazy_and_aload_data_matches(emulator: MaviEmulator) -> None:
    source = reader(emulator, [KITCHEN], window_seconds=60)

    lazy = source.lazy_load_data()
    assert inspect.isgenerator(lazy)
    docs = list(lazy)
    again = asyncio.run(source.aload_data())

    assert [(d.id_, d.text, d.metadata) for d in again] == [
        (d.id_, d.text, d.metadata) for d in docs
    ]
    assert {doc.metadata["kind"] for doc in docs} == {"audio", "visual"}
    assert all(d.metadata["end"] - d.metadata["start"] <= 60 for d in docs)


def test_load_data_reads_the_videos_the_call_names(emulator: MaviEmulator) -> None:
    """load_data(video_nos=[...]), as LlamaIndex readers take their inputs, was ignored: the
    whole library was read instead."""
    source = reader(emulator, kinds="audio")  # no videos of its own: the library
    for docs in (
        source.load_data(video_nos=[KITCHEN]),
        source.load_data([KITCHEN]),
        list(source.lazy_load_data(video_nos=[KITCHEN])),
        asyncio.run(source.aload_data(video_nos=[KITCHEN])),
    ):
        assert docs
        assert {doc.metadata["video_no"] for doc in docs} == {KITCHEN}


def test_load_data_refuses_what_it_cannot_use_before_any_request(emulator: MaviEmulator) -> None:
    source = reader(emulator, [KITCHEN])
    with pytest.raises(MaviValidationError, match="video_nos must be a list"):
        source.load_data(video_nos=KITCHEN)
    with pytest.raises(MaviValidationError, match=r"load_data\(\) takes only video_nos"):
        source.load_data(kinds="audio")
    with pytest.raises(MaviValidationError, match=r"load_data\(\) takes only video_nos"):
        asyncio.run(source.aload_data([KITCHEN], ["VI2"]))
    assert emulator.requests == []


def test_ids_are_stable_across_runs_and_match_langchains(emulator: MaviEmulator) -> None:
    first = reader(emulator, [KITCHEN]).load_data()
    TranscriptCache.shared().clear()

    second = reader(emulator, [KITCHEN]).load_data()

    assert [doc.id_ for doc in second] == [doc.id_ for doc in first]
    assert len({doc.id_ for doc in first}) == len(first)


def test_ingesting_again_adds_nothing(emulator: MaviEmulator) -> None:
    pipeline = IngestionPipeline(
        transformations=[],
        docstore=SimpleDocumentStore(),
        docstore_strategy=DocstoreStrategy.DUPLICATES_ONLY,  # by id and content hash
    )
    docs = reader(emulator, [KITCHEN]).load_data()

    assert len(pipeline.run(documents=docs)) == len(docs)
    assert pipeline.run(documents=reader(emulator, [KITCHEN]).load_data()) == []


def test_errors_are_mavi_core_errors(emulator: MaviEmulator) -> None:
    bad = MaviTranscriptReader([KITCHEN], api_key="sk-wrong", base_url=emulator.base_url)
    with pytest.raises(MaviAuthenticationError):
        bad.load_data()
    with pytest.raises(ValueError, match="window_seconds"):
        reader(emulator, [KITCHEN], window_seconds=0)


def retriever(emulator: MaviEmulator, **kwargs: object) -> MaviVideoRetriever:
    return MaviVideoRetriever(api_key=emulator.api_key, base_url=emulator.base_url, **kwargs)  # type: ignore[arg-type]


def test_moments_say_what_is_shown_and_said_in_them(emulator: MaviEmulator) -> None:
    hits = retriever(emulator, video_nos=[KITCHEN], similarity_top_k=1).retrieve("onion")

    assert hits[0].node.get_content() == (
        "kitchen_knife_skills_demo.mp4 01:02-01:45\n"
        "shown 01:02-01:45: She halves an onion, keeps the root end on, and makes horizontal "
        "and vertical cuts to dice it.\n"
        "said 01:10-01:19: Leave the root on the onion, it holds everything together while "
        "you dice."
    )
    assert hits[0].score == 1.0


def test_async_moments_have_the_same_content(emulator: MaviEmulator) -> None:
    search = retriever(emulator, similarity_top_k=3)
    hits = asyncio.run(search.aretrieve("onion"))
    assert [h.node.get_content() for h in hits] == [
        h.node.get_content() for h in search.retrieve("onion")
    ]


def test_failed_transcripts_fall_back_or_raise(emulator: MaviEmulator) -> None:
    emulator.faults.error_envelope("0001", "transcription is off", path=SUBMIT, times=2)

    hits = retriever(emulator, video_nos=[KITCHEN], similarity_top_k=1).retrieve("onion")
    assert hits[0].node.get_content().endswith("moment matching 'onion'")
    with pytest.raises(MaviInvalidRequestError, match="transcription is off"):
        retriever(emulator, video_nos=[KITCHEN], with_transcript=True).retrieve("onion")


@pytest.mark.parametrize("api_version", ["v1.0", "v1.2"])
def test_milliseconds_in_the_reply_are_read_as_seconds(
    emulator: MaviEmulator, api_version: str
) -> None:
    """docs/client.md, "Seconds, always": replies in milliseconds give the same nodes (metadata in
    seconds, ids) as replies in seconds, in both dialects."""
    seconds = reader(emulator, [KITCHEN], kinds="audio", api_version=api_version).load_data()
    TranscriptCache.shared().clear()
    emulator.transcript_millis = True
    try:
        millis = reader(emulator, [KITCHEN], kinds="audio", api_version=api_version).load_data()
    finally:
        emulator.transcript_millis = False

    assert [(d.id_, d.metadata) for d in millis] == [(d.id_, d.metadata) for d in seconds]
    assert (millis[0].metadata["start"], millis[0].metadata["end"]) == (5.0, 14.0)


def test_the_reader_takes_every_connection_option_of_the_other_components(
    emulator: MaviEmulator,
) -> None:
    """`default_headers` and `rate_limit`, as `MaviLLM`, the engines and the retriever take them."""
    source = reader(
        emulator, [KITCHEN], kinds="audio", default_headers={"X-Team": "ingest"}, rate_limit=None
    )
    assert source.load_data()
    submitted = [r for r in emulator.requests if r.path == SUBMIT]
    assert submitted and all(r.headers["x-team"] == "ingest" for r in submitted)
