"""`MaviTranscriptReader`: what was said and shown in videos, as LlamaIndex Documents."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any, Unpack

from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import Document

from mavi_core import MaviValidationError
from mavi_core._adapters import normalize_video_nos, transcript_options
from mavi_core._watch import watching_waits
from mavi_core.transcripts import KINDS, Passage, normalize_kinds, passages

from ._clients import ConnectionOptions, MaviConnection
from .events import report_wait

__all__ = ["MaviTranscriptReader"]


class MaviTranscriptReader(MaviConnection, BaseReader):
    """Read what is said (audio transcript) and shown (visual transcript) in videos, one Document
    per segment or per `window_seconds` window (docs/llamaindex-reader.md).

    >>> reader = MaviTranscriptReader(["VI..."])          # or no videos: the whole library
    >>> for doc in reader.lazy_load_data():               # doctest: +SKIP
    ...     doc.id_, doc.text, doc.metadata  # video_no, video_name, start, end (s), kind

    `doc.id_` is stable across runs, so a docstore updates instead of adding copies; transcripts
    are asked once per process. One rule with LangChain's loader (docs/client.md,
    "Transcripts"). Errors are `mavi_core`'s, unchanged.
    With v1.2, `unique_id` names the namespace (the end user's library) read; None: "default".
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

    def _options(self, args: tuple[Any, ...], load_kwargs: dict[str, Any]) -> dict[str, Any]:
        """The reader's options, with the videos a call names (`load_data(video_nos=[...])` or
        `load_data([...])`, as LlamaIndex readers take their inputs) over its own."""
        given = dict(load_kwargs)
        if len(args) == 1 and "video_nos" not in given:
            given["video_nos"] = args[0]
        elif args:
            given["*args"] = args
        if set(given) - {"video_nos"}:
            raise MaviValidationError(
                "load_data() takes only video_nos (a list of video numbers), got "
                f"{', '.join(sorted(set(given) - {'video_nos'}))}: give kinds, window_seconds "
                "and the other options to MaviTranscriptReader(...)."
            )
        options = transcript_options(self)
        if given.get("video_nos") is not None:
            options["video_nos"] = normalize_video_nos(given["video_nos"])
        return options

    def lazy_load_data(self, *args: Any, **load_kwargs: Any) -> Iterator[Document]:
        options = self._options(args, load_kwargs)  # checked now, not at the first next()
        return self._documents(options)

    def _documents(self, options: dict[str, Any]) -> Iterator[Document]:
        with watching_waits(report_wait):  # a rate-limit wait: a MaviRateLimitWaitEvent
            transcripts = self._clients.sync().get_transcripts(**options)
        for passage in passages(transcripts, self.window_seconds):
            yield passage_document(passage)

    async def alazy_load_data(self, *args: Any, **load_kwargs: Any) -> list[Document]:
        options = self._options(args, load_kwargs)
        with watching_waits(report_wait):
            transcripts = await self._clients.async_().get_transcripts(**options)
        return [passage_document(passage) for passage in passages(transcripts, self.window_seconds)]

    async def aload_data(self, *args: Any, **load_kwargs: Any) -> list[Document]:
        return await self.alazy_load_data(*args, **load_kwargs)


def passage_document(passage: Passage) -> Document:
    return Document(
        id_=passage.id,
        text=passage.text,
        metadata=passage.metadata,
        # Embedders and BM25 read the text and the video's name, not numbers and ids.
        excluded_embed_metadata_keys=["video_no", "start", "end", "kind"],
        excluded_llm_metadata_keys=["video_no"],
    )
