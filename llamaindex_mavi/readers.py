"""`MaviTranscriptReader`: what was said and shown in videos, as LlamaIndex Documents."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any, Unpack

from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import Document

from mavi_core import MaviValidationError, Passage
from mavi_core._adapters import normalize_video_nos, transcript_options, watching_waits
from mavi_core._transcripts import KINDS, normalize_kinds, passages

from ._clients import ConnectionOptions, MaviConnection
from .events import report_wait

__all__ = ["MaviTranscriptReader"]


class MaviTranscriptReader(MaviConnection, BaseReader):
    """Read the audio transcript (what is said) and the visual transcript (what is shown) of
    videos, one Document per segment, or per time window with `window_seconds`.

    >>> reader = MaviTranscriptReader(["VI..."])          # or no videos: the whole library
    >>> for doc in reader.lazy_load_data():               # doctest: +SKIP
    ...     doc.id_, doc.text, doc.metadata  # video_no, video_name, start, end (s), kind

    `kind` is "audio" or "visual". `window_seconds=60` merges consecutive whole segments of one
    transcript while they fit in a minute from the first one's start (a segment is never cut).
    `doc.id_` is a UUID derived from `video_no`, `kind`, `start` and `end`: the same in every
    run, so an ingestion pipeline with a docstore updates instead of adding copies.
    `load_data`, `lazy_load_data`, and natively async `aload_data`. Transcripts are requested
    from MAVI once per process (and kept in `cache_dir` if given, across processes);
    `transcription_timeout` bounds the wait. Errors are `mavi_core`'s, unchanged.
    `api_version="v1.2"` (or `MAVI_API_VERSION=v1.2`) reads them from the v1.2 endpoints.
    """

    def __init__(
        self,
        video_nos: Sequence[str] | None = None,
        *,
        kinds: str | Sequence[str] = KINDS,
        window_seconds: float | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        transcription_timeout: float = 600.0,
        poll_interval: float = 2.0,
        progress: bool | None = None,
        **connection: Unpack[ConnectionOptions],
    ) -> None:
        if window_seconds is not None and (
            isinstance(window_seconds, bool)
            or not isinstance(window_seconds, int | float)
            or not window_seconds > 0
        ):
            raise MaviValidationError(
                f"window_seconds must be positive seconds (e.g. 60) or None, got "
                f"{window_seconds!r}."
            )
        self.video_nos = None if video_nos is None else normalize_video_nos(video_nos)
        self.kinds = normalize_kinds(kinds)
        self.window_seconds = window_seconds
        self.cache_dir = cache_dir
        self.transcription_timeout = transcription_timeout
        self.poll_interval = poll_interval
        self.progress = progress
        self._connect(connection)

    def _options(self) -> dict[str, Any]:
        return transcript_options(self)

    def lazy_load_data(self, *args: Any, **load_kwargs: Any) -> Iterator[Document]:
        with watching_waits(report_wait):  # a rate-limit wait: a MaviRateLimitWaitEvent
            transcripts = self._clients.sync().get_transcripts(**self._options())
        for passage in passages(transcripts, self.window_seconds):
            yield passage_document(passage)

    async def alazy_load_data(self, *args: Any, **load_kwargs: Any) -> list[Document]:
        with watching_waits(report_wait):
            transcripts = await self._clients.async_().get_transcripts(**self._options())
        return [passage_document(passage) for passage in passages(transcripts, self.window_seconds)]

    async def aload_data(self, *args: Any, **load_kwargs: Any) -> list[Document]:
        return await self.alazy_load_data()


def passage_document(passage: Passage) -> Document:
    return Document(
        id_=passage.id,
        text=passage.text,
        metadata=passage.metadata,
        # Embedders and BM25 read the text and the video's name, not numbers and ids.
        excluded_embed_metadata_keys=["video_no", "start", "end", "kind"],
        excluded_llm_metadata_keys=["video_no"],
    )
