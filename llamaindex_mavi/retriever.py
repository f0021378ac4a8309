"""`MaviVideoRetriever`: the moments of videos that match a query, as LlamaIndex nodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Unpack

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from mavi_core import MaviError, Moment, SearchType, VideoTranscript
from mavi_core._adapters import normalize_video_nos
from mavi_core._videos import check_search_type, moment_metadata, moment_scores
from mavi_core._watch import watching_waits
from mavi_core.transcripts import moment_text, moment_transcripts_request, without_transcripts

from ._clients import ConnectionOptions, MaviConnection
from ._spans import presigned
from .events import report_wait

__all__ = ["MaviVideoRetriever"]


@presigned
class MaviVideoRetriever(MaviConnection, BaseRetriever):
    """Find the video moments that match a query, as scored nodes, best first
    (docs/llamaindex-retriever.md).

    >>> retriever = MaviVideoRetriever(similarity_top_k=5)       # or video_nos=["VI..."]
    >>> for hit in retriever.retrieve("a boat leaves the harbor"):  # doctest: +SKIP
    ...     hit.score, hit.node.metadata  # video_no, video_name, start, end (seconds), score

    A node's text is the moment's line and, when transcripts are available (`with_transcript`),
    what is shown and said in it; the score is the service's, else the rank score. Both are one
    rule with LangChain's retriever (docs/client.md, "Moments with content"). A
    `MaviQueryBundle(query, video_nos=[...])` searches other videos for one query.
    With v1.2, `search_type="BY_AUDIO"` finds what is said (the text then holds the words
    heard) and `unique_id` names the namespace the search and transcripts read (docs/v1.2.md).
    """

    def __init__(
        self,
        video_nos: Sequence[str] | None = None,
        *,
        similarity_top_k: int | None = 4,
        callback_manager: CallbackManager | None = None,
        with_transcript: bool | None = None,
        transcript_timeout: float = 30.0,
        search_type: SearchType = "BY_CLIP",
        **connection: Unpack[ConnectionOptions],
    ) -> None:
        super().__init__(callback_manager=callback_manager)
        self.search_type = check_search_type(search_type)
        self.video_nos = normalize_video_nos(video_nos) if video_nos else None
        self.similarity_top_k = similarity_top_k
        self.with_transcript = with_transcript
        self.transcript_timeout = transcript_timeout
        self._connect(connection)

    def _videos(self, query_bundle: QueryBundle) -> list[str] | None:
        video_nos = getattr(query_bundle, "video_nos", None)
        return normalize_video_nos(video_nos) if video_nos else self.video_nos

    def _nodes(
        self, query: str, moments: list[Moment], transcripts: list[VideoTranscript]
    ) -> list[NodeWithScore]:
        return [
            NodeWithScore(
                node=TextNode(
                    text=moment_text(moment, transcripts, query),
                    metadata=moment_metadata(moment, score),
                ),
                score=score,
            )
            for moment, score in zip(moments, moment_scores(moments), strict=True)
        ]

    def _transcripts_request(self, moments: list[Moment]) -> dict[str, Any] | None:
        timeout = self.transcript_timeout
        return moment_transcripts_request(moments, self.with_transcript, timeout, self.unique_id)

    def _search(self, query_bundle: QueryBundle) -> dict[str, Any]:
        """The `find_moments` options of one query."""
        return {
            "video_nos": self._videos(query_bundle),
            "limit": self.similarity_top_k,
            "unique_id": self.unique_id,
            "search_type": self.search_type,
        }

    def _transcripts(self, moments: list[Moment]) -> list[VideoTranscript]:
        request = self._transcripts_request(moments)
        try:
            return [] if request is None else self._clients.sync().get_transcripts(**request)
        except MaviError as error:
            return without_transcripts(error, self.with_transcript)

    async def _atranscripts(self, moments: list[Moment]) -> list[VideoTranscript]:
        request = self._transcripts_request(moments)
        try:
            client = self._clients.async_()
            return [] if request is None else await client.get_transcripts(**request)
        except MaviError as error:
            return without_transcripts(error, self.with_transcript)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        query = query_bundle.query_str
        client = self._clients.sync()
        with watching_waits(report_wait):  # a rate-limit wait: a MaviRateLimitWaitEvent
            moments = client.find_moments(query, **self._search(query_bundle))
            return self._nodes(query, moments, self._transcripts(moments))

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        query = query_bundle.query_str
        client = self._clients.async_()
        with watching_waits(report_wait):
            moments = await client.find_moments(query, **self._search(query_bundle))
            return self._nodes(query, moments, await self._atranscripts(moments))
