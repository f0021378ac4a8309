"""`MaviVideoRetriever`: the moments of videos that match a query, as LangChain Documents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.messages import HumanMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from pydantic import Field, field_validator

from mavi_core import MaviError, MaviValidationError, Moment, SearchType, VideoTranscript
from mavi_core._videos import check_search_type, moment_metadata, moment_scores
from mavi_core._watch import watching_waits
from mavi_core.transcripts import moment_text, moment_transcripts_request, without_transcripts

from ._connection import MaviNamespaced, check_video_nos
from ._events import run_watcher
from .errors import translate_errors

__all__ = ["MaviVideoRetriever", "format_video_context", "video_context_message"]


class MaviVideoRetriever(MaviNamespaced, BaseRetriever):
    """Find the video moments that match a query, as Documents, best first
    (docs/langchain-retriever.md).

    ```python
    retriever = MaviVideoRetriever(k=5)                     # or video_nos=["VI..."]
    for doc in retriever.invoke("a boat leaves the harbor"):
        doc.metadata  # {"video_no", "video_name", "start", "end", "score"}, times in seconds
    ```

    A document's text is the moment's line and, when transcripts are available
    (`with_transcript`), what is shown and said in it; `score` is the service's, else the rank
    score. Both are one rule with LlamaIndex's retriever (docs/client.md, "Moments with content").
    With v1.2, `search_type="BY_AUDIO"` finds what is said (the text then holds the words
    heard) and `unique_id` names the namespace the search and transcripts read (docs/v1.2.md).
    """

    video_nos: list[str] | None = None
    """Search only these videos; None searches the library for matching videos first."""
    k: int | None = Field(default=4, ge=1)
    """At most this many moments, best first; None returns all."""

    with_transcript: bool | None = None
    """Fill each moment's text with the transcript lines overlapping it: None tries and falls
    back to the moment's line, True raises when transcripts fail, False never fetches them."""
    transcript_timeout: float = Field(default=30.0, gt=0)
    """Seconds to wait for transcripts not fetched yet (the tasks go on after a timeout)."""

    search_type: SearchType = "BY_CLIP"
    """v1.2: BY_CLIP (what is seen; the default), BY_AUDIO (what is said), BY_VIDEO,
    BY_IMAGE or BY_CAPTION."""

    _check_video_nos = field_validator("video_nos", mode="before")(check_video_nos)
    _check_search_type = field_validator("search_type", mode="before")(check_search_type)

    def _documents(
        self, query: str, moments: list[Moment], transcripts: list[VideoTranscript]
    ) -> list[Document]:
        return [
            Document(
                page_content=moment_text(moment, transcripts, query),
                metadata=moment_metadata(moment, score),
            )
            for moment, score in zip(moments, moment_scores(moments), strict=True)
        ]

    def _transcripts_request(self, moments: list[Moment]) -> dict[str, Any] | None:
        timeout = self.transcript_timeout
        return moment_transcripts_request(moments, self.with_transcript, timeout, self.unique_id)

    def _search(self, k: int | None, video_nos: list[str] | None) -> dict[str, Any]:
        """The `find_moments` options of one call (its overrides, else the retriever's)."""
        return {
            "video_nos": video_nos or self.video_nos,
            "limit": k or self.k,
            "unique_id": self.unique_id,
            "search_type": self.search_type,
        }

    def _transcripts(self, moments: list[Moment]) -> list[VideoTranscript]:
        request = self._transcripts_request(moments)
        try:
            return [] if request is None else self._get_client().get_transcripts(**request)
        except MaviError as error:
            return without_transcripts(error, self.with_transcript)

    async def _atranscripts(self, moments: list[Moment]) -> list[VideoTranscript]:
        request = self._transcripts_request(moments)
        try:
            client = self._get_async_client()
            return [] if request is None else await client.get_transcripts(**request)
        except MaviError as error:
            return without_transcripts(error, self.with_transcript)

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        video_nos: list[str] | None = None,
    ) -> list[Document]:
        with translate_errors(), watching_waits(run_watcher(run_manager, asynchronous=False)):
            moments = self._get_client().find_moments(query, **self._search(k, video_nos))
            transcripts = self._transcripts(moments)
        return self._documents(query, moments, transcripts)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        video_nos: list[str] | None = None,
    ) -> list[Document]:
        with translate_errors(), watching_waits(run_watcher(run_manager, asynchronous=True)):
            client = self._get_async_client()
            moments = await client.find_moments(query, **self._search(k, video_nos))
            transcripts = await self._atranscripts(moments)
        return self._documents(query, moments, transcripts)


def video_context_message(documents: Sequence[Document]) -> list[HumanMessage]:
    """The retrieved moments as one human message for `ChatMavi`: their text, then a video
    block `{"type": "video", "file_id": <video_no>}` per video they come from (in order, each
    once), so the model asks MAVI about exactly those videos. Documents without a
    `metadata["video_no"]` add their text only; no documents give no message."""
    if isinstance(documents, str | dict) or not all(isinstance(d, Document) for d in documents):
        raise MaviValidationError(
            f"format_video_context takes the retriever's Documents, got {type(documents).__name__}"
            ": put it after the retriever, {'context': retriever | format_video_context, ...}."
        )
    if not documents:
        return []
    videos = dict.fromkeys(
        str(doc.metadata["video_no"]) for doc in documents if doc.metadata.get("video_no")
    )
    text = "The moments found:\n" + "\n\n".join(doc.page_content for doc in documents)
    content: list[str | dict[str, Any]] = [{"type": "text", "text": text}]
    content += [{"type": "video", "file_id": video_no} for video_no in videos]
    return [HumanMessage(content=content)]


format_video_context: RunnableLambda[Sequence[Document], list[HumanMessage]] = RunnableLambda(
    video_context_message, name="format_video_context"
)
"""The step between a retriever and a prompt in the usual RAG chain, as `format_docs` is for
text: `{"context": retriever | format_video_context, "question": RunnablePassthrough()}`, with
`MessagesPlaceholder("context")` in the prompt, so `ChatMavi` asks about the retrieved videos
(a string `{context}` would keep the text and lose the videos)."""
