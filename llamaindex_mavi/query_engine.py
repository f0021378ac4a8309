"""`MaviQueryEngine`: ask MAVI about videos from anywhere LlamaIndex takes a query engine."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
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
from pydantic import SecretStr

from mavi_core import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, normalize_video_nos

from ._clients import MaviConnection
from ._observe import MaviCall

if TYPE_CHECKING:
    import httpx

    from mavi_core import AsyncMaviClient, MaviClient

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


class MaviQueryEngine(MaviConnection, BaseQueryEngine):
    """A LlamaIndex query engine answered by MAVI's video chat (`POST /api/serve/video/chat`).

    >>> engine = MaviQueryEngine(video_nos=["VI123"])          # MAVI_API_KEY from the env
    >>> print(engine.query("What happens in the video?"))      # doctest: +SKIP

    Args:
        video_nos: The videos every query asks about. May be empty if each query names its own.
        api_key: The MAVI key; defaults to `MAVI_API_KEY`. Kept as a `SecretStr`, never shown in
            `repr()`. A missing key does not fail here: the first request raises
            `mavi_core.MaviAuthenticationError`.
        base_url: Defaults to `MAVI_BASE_URL`, then `https://mavi-backend.memories.ai`.
        timeout: Seconds (or an `httpx.Timeout`) per request and per silent gap in a stream.
        max_retries: Retries on connection errors, timeouts, 429 and 5xx, before any delta.
        streaming: `query()` returns a `StreamingResponse` (iterate `response_gen`) and
            `aquery()` an `AsyncStreamingResponse` (iterate `async_response_gen()`); each item
            is new text. Otherwise a `Response`.
        callback_manager: Defaults to `Settings.callback_manager`.
        client / async_client: `mavi_core` clients to use instead of building them (then
            `api_key`, `base_url`, `timeout` and `max_retries` are theirs); never closed here.

    Per-query videos: pass a `MaviQueryBundle(query, video_nos=[...])`, or use
    `engine.with_videos([...])`, a copy of the engine that asks about other videos.

    Every response's `metadata` is a mutable dict holding `video_nos`, the videos asked.

    Errors are `mavi_core`'s, unchanged: `MaviValidationError` (also a `ValueError`: no
    videos, empty question) before any request; `MaviAuthenticationError`,
    `MaviPermissionDeniedError`, `MaviInvalidRequestError`, `MaviRateLimitError`,
    `MaviServerError`, `MaviConnectionError`, `MaviTimeoutError` from `query()` / `aquery()`
    (when streaming, failures before the first delta are raised there too); a stream that
    breaks later raises `MaviStreamError` while iterating, after the text already delivered.
    All subclass `mavi_core.MaviError`.
    """

    def __init__(
        self,
        video_nos: Sequence[str] | None = None,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        streaming: bool = False,
        callback_manager: CallbackManager | None = None,
        client: MaviClient | None = None,
        async_client: AsyncMaviClient | None = None,
    ) -> None:
        super().__init__(callback_manager=callback_manager or Settings.callback_manager)
        self.video_nos: list[str] = normalize_video_nos(video_nos) if video_nos else []
        self.streaming = streaming
        self._connect(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            client=client,
            async_client=async_client,
        )

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
            client = self._clients.sync()
            call = self._call(question, video_nos)
            response: RESPONSE_TYPE
            if self.streaming:
                stream = client.stream_chat(video_nos, question)
                with call.starting():
                    first = next(stream, None)  # sends the request; early failures raise here
                response = StreamingResponse(
                    response_gen=call.stream(first, stream), metadata=self._metadata(video_nos)
                )
            else:
                with call.starting():
                    answer = client.chat(video_nos, question)
                call.end(answer.text)
                response = Response(answer.text, metadata=self._metadata(video_nos))
            query_event.on_end(payload={EventPayload.RESPONSE: response})
        return response

    @dispatcher.span
    async def _aquery(self, query_bundle: QueryBundle) -> RESPONSE_TYPE:
        video_nos = self._video_nos_for(query_bundle)
        question = query_bundle.query_str
        with self.callback_manager.event(
            CBEventType.QUERY, payload={EventPayload.QUERY_STR: question}
        ) as query_event:
            client = self._clients.async_()
            call = self._call(question, video_nos)
            response: RESPONSE_TYPE
            if self.streaming:
                stream = client.stream_chat(video_nos, question)
                with call.starting():
                    first = await anext(stream, None)  # sends the request; early failures raise
                response = AsyncStreamingResponse(
                    response_gen=call.astream(first, stream), metadata=self._metadata(video_nos)
                )
            else:
                with call.starting():
                    answer = await client.chat(video_nos, question)
                call.end(answer.text)
                response = Response(answer.text, metadata=self._metadata(video_nos))
            query_event.on_end(payload={EventPayload.RESPONSE: response})
        return response

    def _video_nos_for(self, query_bundle: QueryBundle) -> list[str]:
        chosen = getattr(query_bundle, "video_nos", None)
        return normalize_video_nos(self.video_nos if chosen is None else chosen)

    def _call(self, question: str, video_nos: list[str]) -> MaviCall:
        return MaviCall(
            self.callback_manager,
            prompt=question,
            model_dict=self._model_dict(),
            additional_kwargs={"video_nos": video_nos},
        )

    def _model_dict(self) -> dict[str, Any]:
        return {
            "class_name": type(self).__name__,
            "base_url": self.base_url,
            "video_nos": self.video_nos,
            "streaming": self.streaming,
        }

    @staticmethod
    def _metadata(video_nos: list[str]) -> dict[str, Any]:
        return {"video_nos": list(video_nos)}

    def _replace(self, **changes: Any) -> MaviQueryEngine:
        engine = copy.copy(self)
        for name, value in changes.items():
            setattr(engine, name, value)
        return engine
