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

from mavi_core import MaviError, Moment, VideoTranscript
from mavi_core._adapters import moment_metadata, moment_scores, watching_waits
from mavi_core._transcripts import moment_text, moment_transcripts_request, without_transcripts

from ._connection import MaviConnection, check_video_nos
from ._errors import translate_errors
from ._events import run_watcher

__all__ = ["MaviVideoRetriever", "format_video_context", "video_context_message"]


class MaviVideoRetriever(MaviConnection, BaseRetriever):
    """Find the video moments that match a query (MAVI searchAI + searchVideoFragment).

    ```python
    from langchain_mavi import MaviVideoRetriever

    retriever = MaviVideoRetriever(k=5)                     # search the whole library
    retriever = MaviVideoRetriever(video_nos=["VI..."])     # or only these videos
    retriever.invoke("a boat leaves", k=2, video_nos=["VI..."])  # per-call overrides
    for doc in retriever.invoke("a boat leaves the harbor"):
        doc.metadata  # {"video_no", "video_name", "start", "end", "score"}, times in seconds
    ```

    Each Document's text says what happens in the moment: its line (`harbor.mp4 01:12-01:30`),
    then the transcript lines that overlap it, each marked `shown` (visual transcript) or
    `said` (audio transcript). `with_transcript`: None (the default) fetches the transcripts
    of the moments' videos, waiting at most `transcript_timeout` seconds, and when that fails
    (no transcript, a timeout, an error) falls back silently, with a debug log on the
    `mavi_core` logger, to the line alone (`harbor.mp4 01:12-01:30: moment matching '...'`);
    True raises instead; False never asks for transcripts. A transcript is requested once per
    process. Feed the `video_no`s to `ChatMavi` or `MaviVideoChatTool` to ask about exactly
    those moments.

    Documents come best first, in the service's order. `metadata["score"]` is the service's
    score when every moment carries one; the live service sends none, and then it is the
    reciprocal rank `1 / (1 + rank)`: 1.0 for the first document, 0.5 for the second, and so on
    (`mavi_core.rank_score`), so it only says how the service ordered them.
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

    _check_video_nos = field_validator("video_nos", mode="before")(check_video_nos)

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

    def _transcripts(self, moments: list[Moment]) -> list[VideoTranscript]:
        request = moment_transcripts_request(moments, self.with_transcript, self.transcript_timeout)
        try:
            return [] if request is None else self._get_client().get_transcripts(**request)
        except MaviError as error:
            return without_transcripts(error, self.with_transcript)

    async def _atranscripts(self, moments: list[Moment]) -> list[VideoTranscript]:
        request = moment_transcripts_request(moments, self.with_transcript, self.transcript_timeout)
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
            moments = self._get_client().find_moments(
                query, video_nos or self.video_nos, limit=k or self.k
            )
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
            moments = await self._get_async_client().find_moments(
                query, video_nos or self.video_nos, limit=k or self.k
            )
            transcripts = await self._atranscripts(moments)
        return self._documents(query, moments, transcripts)


def video_context_message(documents: Sequence[Document]) -> list[HumanMessage]:
    """The retrieved moments as one human message for `ChatMavi`: their text, then a video
    block `{"type": "video", "file_id": <video_no>}` per video they come from (in order, each
    once), so the model asks MAVI about exactly those videos. Documents without a
    `metadata["video_no"]` add their text only; no documents give no message."""
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
