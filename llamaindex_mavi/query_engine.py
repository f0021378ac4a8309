"""`MaviQueryEngine`: ask MAVI about videos from anywhere LlamaIndex takes a query engine."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Unpack

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.llms.types import CompletionResponse
from llama_index.core.base.response.schema import (
    RESPONSE_TYPE,
    AsyncStreamingResponse,
    Response,
    StreamingResponse,
)
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload
from llama_index.core.prompts.mixin import PromptMixinType
from llama_index.core.schema import QueryBundle
from llama_index.core.settings import Settings
from llama_index.core.tools import QueryEngineTool
from llama_index_instrumentation import get_dispatcher

from mavi_core import ChatAnswer
from mavi_core._adapters import normalize_video_nos

from ._clients import ConnectionOptions
from ._messages import SESSION_KEY
from ._refs import Sources, ref_nodes
from ._spans import presigned
from .llm import LLMConnection, MaviLLM, afirst, read_ahead

if TYPE_CHECKING:
    pass

__all__ = ["DEFAULT_TOOL_DESCRIPTION", "DEFAULT_TOOL_NAME", "MaviQueryBundle", "MaviQueryEngine"]

dispatcher = get_dispatcher(__name__)

DEFAULT_TOOL_NAME = "mavi_video_chat"
DEFAULT_TOOL_DESCRIPTION = (
    "Answers questions about what happens in a set of videos (events, people, objects, speech) "
    "by asking the MAVI video model. Input: one self-contained question in plain English."
)


@dataclass
class MaviQueryBundle(QueryBundle):
    """A `QueryBundle` that also names the videos to ask about, replacing the engine's.

    >>> engine.query(MaviQueryBundle("Who speaks first?", video_nos=["VI2"]))  # doctest: +SKIP

    Any `QueryBundle` with a `video_nos` attribute works the same way; the bundle passes
    unchanged through `RouterQueryEngine` to the engine it selects.
    """

    video_nos: list[str] | None = None


@presigned
class MaviQueryEngine(LLMConnection, BaseQueryEngine):
    """A LlamaIndex query engine answered by MAVI's video chat, through `MaviLLM`
    (docs/llamaindex-query-engine.md).

    >>> engine = MaviQueryEngine(video_nos=["VI123"])          # MAVI_API_KEY from the env
    >>> print(engine.query("What happens in the video?"))      # doctest: +SKIP

    A thin delegate: `query()` calls `llm.complete` (`stream_complete` with `streaming=True`),
    `aquery()` the async twins, so the LLM events come from LlamaIndex itself. Per-query videos:
    a `MaviQueryBundle` or `with_videos(...)`; `as_tool()` always answers whole, since
    `QueryEngineTool.acall` would deadlock on an `AsyncStreamingResponse`. With v1.2 the cited
    moments are `source_nodes`. `llm=` asks through a given `MaviLLM` (then no connection
    options); the others are those of every component. Errors are `mavi_core`'s, unchanged.
    """

    def __init__(
        self,
        video_nos: Sequence[str] | None = None,
        *,
        streaming: bool = False,
        callback_manager: CallbackManager | None = None,
        llm: MaviLLM | None = None,
        **connection: Unpack[ConnectionOptions],
    ) -> None:
        callback_manager = callback_manager or Settings.callback_manager
        super().__init__(callback_manager=callback_manager)
        self._use_llm(
            llm,
            callback_manager,
            connection,
        )
        if video_nos:
            self.video_nos: list[str] = normalize_video_nos(video_nos)
        else:
            self.video_nos = list(llm.video_nos) if llm is not None else []
        self.streaming = streaming

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(video_nos={self.video_nos!r}, base_url={self.base_url!r}, "
            f"streaming={self.streaming!r})"
        )

    def _get_prompt_modules(self) -> PromptMixinType:
        return {}

    def with_videos(self, video_nos: Sequence[str]) -> MaviQueryEngine:
        """A copy of this engine that asks about `video_nos`; it shares clients and callbacks."""
        return self._replace(video_nos=normalize_video_nos(video_nos))

    def as_tool(
        self,
        name: str = DEFAULT_TOOL_NAME,
        description: str = DEFAULT_TOOL_DESCRIPTION,
        *,
        return_direct: bool = False,
    ) -> QueryEngineTool:
        """A `QueryEngineTool` for agents, routers and sub-question engines.

        The tool wraps a non-streaming copy of this engine, so it always hands back the whole
        answer: `QueryEngineTool.acall` turns the response into text with `str()`, which on an
        `AsyncStreamingResponse` would block the running event loop (a deadlock), and
        `SubQuestionQueryEngine` / `RouterQueryEngine` need the full text too.
        """
        engine = self._replace(streaming=False) if self.streaming else self
        return QueryEngineTool.from_defaults(
            query_engine=engine, name=name, description=description, return_direct=return_direct
        )

    @dispatcher.span
    def _query(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        video_nos = self._video_nos_for(query_bundle)
        question = query_bundle.query_str
        with self.callback_manager.event(
            CBEventType.QUERY, payload={EventPayload.QUERY_STR: question}
        ) as query_event:
            response: RESPONSE_TYPE
            if self.streaming:
                stream = read_ahead(self._llm.stream_complete(question, video_nos=video_nos))
                sources = Sources(self._metadata(video_nos))
                response = StreamingResponse(
                    response_gen=sources.through(stream, _text),
                    source_nodes=sources.nodes,
                    metadata=sources.metadata,
                )
            else:
                answer = self._llm.complete(question, video_nos=video_nos)
                response = _response(answer, self._metadata(video_nos))
            query_event.on_end(payload={EventPayload.RESPONSE: response})
        return response

    @dispatcher.span
    async def _aquery(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        video_nos = self._video_nos_for(query_bundle)
        question = query_bundle.query_str
        with self.callback_manager.event(
            CBEventType.QUERY, payload={EventPayload.QUERY_STR: question}
        ) as query_event:
            response: RESPONSE_TYPE
            if self.streaming:
                items = await self._llm.astream_complete(question, video_nos=video_nos)
                sources = Sources(self._metadata(video_nos))
                response = AsyncStreamingResponse(
                    response_gen=sources.athrough(items, _text, ahead=await afirst(items)),
                    source_nodes=sources.nodes,
                    metadata=sources.metadata,
                )
            else:
                answer = await self._llm.acomplete(question, video_nos=video_nos)
                response = _response(answer, self._metadata(video_nos))
            query_event.on_end(payload={EventPayload.RESPONSE: response})
        return response

    def _video_nos_for(self, query_bundle: QueryBundle) -> list[str]:
        chosen = getattr(query_bundle, "video_nos", None)
        return normalize_video_nos(self.video_nos if chosen is None else chosen)

    @staticmethod
    def _metadata(video_nos: list[str]) -> dict[str, Any]:
        return {"video_nos": list(video_nos)}

    def _replace(self, **changes: Any) -> MaviQueryEngine:
        engine = copy.copy(self)
        for name, value in changes.items():
            setattr(engine, name, value)
        return engine


def _response(answer: CompletionResponse, metadata: dict[str, Any]) -> Response:
    """A whole answer as a `Response`; a v1.2 one with its cited moments and session."""
    raw = answer.raw
    if not isinstance(raw, ChatAnswer) or raw.session_id is None:
        return Response(answer.text, metadata=metadata)
    metadata[SESSION_KEY] = raw.session_id
    return Response(answer.text, source_nodes=ref_nodes(raw.refs), metadata=metadata)


def _text(item: CompletionResponse, silent: bool) -> str | None:
    """The new text a streaming response hands on; None for a thinking or ref event."""
    return None if silent else item.delta or ""
