"""What a v1.2 answer rests on, as LlamaIndex values: pure, no I/O.

- A `VideoRef` (one cited moment) becomes a `NodeWithScore` for `source_nodes` and a
  `CitationBlock` for an assistant message; a `Thinking` step becomes a `ThinkingBlock`.
- Node text is the ref's text (what was seen or heard there), else a description of the moment
  ("harbor.mp4 01:02-01:45 (visual_ts)"). Node metadata: `video_no`, `video_name`, `start`,
  `end` (seconds; `end` None for a keyframe), `kind`. Node ids are stable, so the same answer
  gives the same ids: `<video_no>:<kind>:<start>-<end>` (`<video_no>:keyframe:<start>`).
- Scores come from the rank, as the retrievers' do when the service sends none:
  `1 / (1 + rank)` in the order the service cited the moments (`mavi_core._models.rank_score`).
  MAVI sends no relevance figure for refs, so a score only says which was cited first.
- A `CitationBlock`: `source` is `mavi://<video_no>` (what `video_block` names),
  `title` the video's name (else its number), `cited_content` the node text, and
  `additional_location_info` `{"start_ms": ..., "end_ms": ...}` in whole milliseconds (LlamaIndex
  takes integers there; no `end_ms` for a keyframe).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from typing import Any, TypeVar

from llama_index.core.base.llms.types import (
    ChatResponse,
    CitationBlock,
    CompletionResponse,
    TextBlock,
    ThinkingBlock,
)
from llama_index.core.schema import NodeWithScore, TextNode

from mavi_core import ChatDelta, Thinking, VideoRef
from mavi_core._adapters import ClosedAfter
from mavi_core._models import rank_score

from ._messages import SESSION_KEY, VIDEO_URL_SCHEME

__all__ = ["Sources", "citation_block", "describe_ref", "ref_nodes", "thinking_block"]

_Item = TypeVar("_Item", ChatResponse, CompletionResponse)
_Out = TypeVar("_Out")


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def describe_ref(ref: VideoRef) -> str:
    """Which video and when, for a moment cited without text."""
    when = _clock(ref.start) if ref.end is None else f"{_clock(ref.start)}-{_clock(ref.end)}"
    return f"{ref.video_name or ref.video_no} {when} ({ref.kind})"


def _text(ref: VideoRef) -> str:
    return ref.text or describe_ref(ref)


def _node_id(ref: VideoRef) -> str:
    when = f"{ref.start:g}" if ref.end is None else f"{ref.start:g}-{ref.end:g}"
    return f"{ref.video_no}:{ref.kind}:{when}"


def ref_nodes(refs: Iterable[VideoRef]) -> list[NodeWithScore]:
    """One scored node per cited moment, in the order cited (scores `1 / (1 + rank)`)."""
    return [
        NodeWithScore(
            node=TextNode(
                id_=_node_id(ref),
                text=_text(ref),
                metadata=ref.metadata,
            ),
            score=rank_score(rank),
        )
        for rank, ref in enumerate(refs)
    ]


def citation_block(ref: VideoRef) -> CitationBlock:
    """The moment as a `CitationBlock` in an assistant message."""
    location = {"start_ms": round(ref.start * 1000)}
    if ref.end is not None:
        location["end_ms"] = round(ref.end * 1000)
    return CitationBlock(
        cited_content=TextBlock(text=_text(ref)),
        source=VIDEO_URL_SCHEME + ref.video_no,
        title=ref.video_name or ref.video_no,
        additional_location_info=location,
    )


def thinking_block(step: Thinking) -> ThinkingBlock:
    """A reasoning step as a `ThinkingBlock`; its title in `additional_information`."""
    return ThinkingBlock(content=step.content, additional_information={"title": step.title})


class Sources:
    """What a streamed v1.2 answer cites, gathered from its items' `raw` (`mavi_core.ChatDelta`)
    and written once the stream has ended: the nodes into `nodes` (a response's
    `source_nodes`), the session id into `metadata` (when given)."""

    __slots__ = ("metadata", "nodes", "refs", "session_id")

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self.nodes: list[NodeWithScore] = []
        self.refs: list[VideoRef] = []
        self.session_id: str | None = None

    def see(self, raw: object) -> bool:
        """Gather what `raw` says; True when it is a thinking or ref event with no text."""
        if not isinstance(raw, ChatDelta):
            return False
        if raw.session_id is not None:
            self.session_id = raw.session_id
        if raw.refs:
            self.refs.extend(raw.refs)
        return not raw.text and (raw.thinking is not None or bool(raw.refs))

    def finish(self) -> None:
        if self.metadata is not None and self.session_id is not None:
            self.metadata[SESSION_KEY] = self.session_id
        self.nodes.extend(ref_nodes(self.refs))

    def through(
        self, items: Iterable[_Item], emit: Callable[[_Item, bool], _Out | None]
    ) -> Generator[_Out, None, None]:
        """`emit(item, silent)` for each item (None: nothing handed on), then `finish()`."""
        for item in items:
            out = emit(item, self.see(item.raw))
            if out is not None:
                yield out
        self.finish()

    async def athrough(
        self,
        items: AsyncGenerator[_Item, None],
        emit: Callable[[_Item, bool], _Out | None],
        ahead: Iterable[_Item] = (),
    ) -> AsyncGenerator[_Out, None]:
        """The async twin of `through`, after the items read `ahead` of `items` (no async
        generator of its own per item for them); closing the result closes `items`."""
        async with ClosedAfter(items):  # closes the HTTP response when the reader stops early
            for item in ahead:
                out = emit(item, self.see(item.raw))
                if out is not None:
                    yield out
            async for item in items:
                out = emit(item, self.see(item.raw))
                if out is not None:
                    yield out
            self.finish()
