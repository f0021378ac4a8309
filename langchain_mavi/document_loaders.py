"""`MaviTranscriptLoader`: what was said and shown in videos, as LangChain Documents."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.document_loaders import BaseLoader
from langchain_core.documents import Document
from pydantic import Field, field_validator

from mavi_core._adapters import normalize_video_nos, transcript_options
from mavi_core._watch import watching_waits
from mavi_core.transcripts import KINDS, Passage, TranscriptKind, normalize_kinds, passages

from ._connection import MaviNamespaced
from ._events import run_watcher
from .errors import translate_errors

__all__ = ["MaviTranscriptLoader"]


class MaviTranscriptLoader(MaviNamespaced, BaseLoader):
    """Load what is said (audio transcript) and shown (visual transcript) in videos, one Document
    per segment or per `window_seconds` window (docs/langchain-document-loader.md).

    ```python
    loader = MaviTranscriptLoader(["VI..."])             # or no videos: the whole library
    for doc in loader.lazy_load():                        # or `async for` over alazy_load()
        doc.metadata  # {"video_no", "video_name", "start", "end", "kind"}: in seconds
    ```

    `Document.id` is stable across runs, so ingesting again updates a vector store; transcripts
    are asked once per process. One rule with LlamaIndex's reader (docs/client.md,
    "Transcripts"). Errors are both the `mavi_core` and the `langchain_core.exceptions` class.
    With v1.2, `unique_id` names the namespace read; its transcripts are cached apart.
    """

    video_nos: list[str] | None = None
    """The videos to load; None loads every parsed video of the library."""
    kinds: list[TranscriptKind] = Field(default_factory=lambda: list(KINDS))
    """"audio" (what is said), "visual" (what is shown), or both (the default)."""
    window_seconds: float | None = Field(default=None, gt=0)
    """None: one document per segment; else whole segments merged into windows this long."""
    cache_dir: Path | None = None
    """Keep finished transcripts as JSON files here, across processes."""
    transcription_timeout: float = Field(default=600.0, gt=0)
    """Seconds to wait for MAVI to finish the transcriptions."""
    poll_interval: float = Field(default=2.0, gt=0)
    """The longest pause between two polls of a running transcription."""
    progress: bool | None = None
    """A progress bar on stderr while waiting (None: only on a terminal)."""

    def __init__(self, video_nos: Sequence[str] | None = None, /, **kwargs: Any) -> None:
        if video_nos is not None:
            kwargs["video_nos"] = video_nos
        super().__init__(**kwargs)

    @field_validator("video_nos", mode="before")
    @classmethod
    def _check_video_nos(cls, value: Any) -> Any:
        return None if value is None else normalize_video_nos(value)

    @field_validator("kinds", mode="before")
    @classmethod
    def _check_kinds(cls, value: Any) -> Any:
        return list(normalize_kinds(value))

    def _options(self) -> dict[str, Any]:
        return transcript_options(self)

    # A loader has no run of its own: a rate-limit wait is reported to the run it is called in
    # (a tool's, a chain's), as `mavi_rate_limit_wait` (langchain_mavi._events).

    def lazy_load(self) -> Iterator[Document]:
        with translate_errors(), watching_waits(run_watcher(None, asynchronous=False)):
            transcripts = self._get_client().get_transcripts(**self._options())
        for passage in passages(transcripts, self.window_seconds):
            yield passage_document(passage)

    async def alazy_load(self) -> AsyncIterator[Document]:
        with translate_errors(), watching_waits(run_watcher(None, asynchronous=True)):
            transcripts = await self._get_async_client().get_transcripts(**self._options())
        for passage in passages(transcripts, self.window_seconds):
            yield passage_document(passage)


def passage_document(passage: Passage) -> Document:
    return Document(id=passage.id, page_content=passage.text, metadata=passage.metadata)
