"""`MaviVideoRetriever`: the moments of videos that match a query, as LlamaIndex nodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from mavi_core import MaviError, Moment, VideoTranscript
from mavi_core._adapters import (
    moment_metadata,
    moment_scores,
    normalize_video_nos,
    watching_waits,
)
from mavi_core._transcripts import moment_text, moment_transcripts_request, without_transcripts

from ._clients import ConnectionOptions, MaviConnection
from ._spans import presigned
from .events import report_wait

__all__ = ["MaviVideoRetriever"]


@presigned
class MaviVideoRetriever(MaviConnection, BaseRetriever):
    """Find the video moments that match a query (MAVI searchAI + searchVideoFragment).

    >>> retriever = MaviVideoRetriever(similarity_top_k=5)       # search the whole library
    >>> retriever = MaviVideoRetriever(video_nos=["VI..."])      # or only these videos
    >>> for hit in retriever.retrieve("a boat leaves the harbor"):  # doctest: +SKIP
    ...     hit.score, hit.node.metadata  # video_no, video_name, start, end (seconds), score

    Each node's text says what happens in the moment: its line (`harbor.mp4 01:12-01:30`),
    then the transcript lines that overlap it, marked `shown` (visual) or `said` (audio).
    `with_transcript`: None (the default) fetches the moments' transcripts, waiting at most
    `transcript_timeout` seconds, and when that fails falls back silently, with a debug log on
    the `mavi_core` logger, to the line alone (`...: moment matching '...'`); True raises
    instead; False never asks. A transcript is requested once per process.

    A `MaviQueryBundle(query, video_nos=[...])` searches other videos for one query. Hand the
    hits' `video_no`s to `MaviQueryEngine.with_videos(...)` to ask about exactly those moments.
    Errors are `mavi_core`'s, unchanged.

    Hits come best first, in the service's order, and always have a score (also in the node's
    metadata): the service's when every moment carries one; the live service sends none, and
    then it is the reciprocal rank `1 / (1 + rank)`: 1.0 for the first hit, 0.5 for the second,
    and so on (`mavi_core._adapters.rank_score`), so it only says how the service ordered them.

    `api_version` ("v1.0" / "v1.2"; None: `MAVI_API_VERSION`) is accepted as by every component;
    with v1.2 the search and the transcripts speak the v1.2 wire (one search of the library or
    of `video_nos`, transcripts read without a task), with the same nodes as a result.
    """

    def __init__(
        self,
        video_nos: Sequence[str] | None = None,
        *,
        similarity_top_k: int | None = 4,
        callback_manager: CallbackManager | None = None,
        with_transcript: bool | None = None,
        transcript_timeout: float = 30.0,
        **connection: Unpack[ConnectionOptions],
    ) -> None:
        super().__init__(callback_manager=callback_manager)
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

    def _transcripts(self, moments: list[Moment]) -> list[VideoTranscript]:
        request = moment_transcripts_request(moments, self.with_transcript, self.transcript_timeout)
        try:
            return [] if request is None else self._clients.sync().get_transcripts(**request)
        except MaviError as error:
            return without_transcripts(error, self.with_transcript)

    async def _atranscripts(self, moments: list[Moment]) -> list[VideoTranscript]:
        request = moment_transcripts_request(moments, self.with_transcript, self.transcript_timeout)
        try:
            client = self._clients.async_()
            return [] if request is None else await client.get_transcripts(**request)
        except MaviError as error:
            return without_transcripts(error, self.with_transcript)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        query = query_bundle.query_str
        client = self._clients.sync()
        with watching_waits(report_wait):  # a rate-limit wait: a MaviRateLimitWaitEvent
            moments = client.find_moments(
                query, self._videos(query_bundle), limit=self.similarity_top_k
            )
            return self._nodes(query, moments, self._transcripts(moments))

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        query = query_bundle.query_str
        client = self._clients.async_()
        with watching_waits(report_wait):
            moments = await client.find_moments(
                query, self._videos(query_bundle), limit=self.similarity_top_k
            )
            return self._nodes(query, moments, await self._atranscripts(moments))
