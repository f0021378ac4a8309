"""The v1.2 chat's answer parts: thinking steps, refs and content (pure functions, no I/O).

The content is the same grounded answer v1.0 gives; the refs are exactly the moments it cites
(a scene is a ``visual_ts`` item, a transcript line an ``audio_ts`` item, and the first cited
scene of each video also a ``keyframe`` at its middle, with no end); the thinking steps say
what was asked and which moments were found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._answers import Turn, cited_moments, compose_answer
from ._library import Moment, Video
from ._text import mmss

# The service's words for the chats it refuses (a bare string event on the stream).
VIDEO_NOT_PARSED = "Video is not parsed"
VIDEO_MISSING = "Video does not exist"
SESSION_MISSING = "Session does not exist"
KEYFRAME = "keyframe"
VISUAL = "visual_ts"
AUDIO = "audio_ts"


@dataclass(frozen=True, slots=True)
class Thinking:
    title: str
    content: str


@dataclass(frozen=True, slots=True)
class V12Answer:
    content: str
    thinking: tuple[Thinking, ...]
    refs: tuple[dict[str, Any], ...]  # one per video, in their wire form


def _ref_item(video: Video, moment: Moment, kind: str) -> dict[str, Any]:
    """One of a video's ``refItems``; a keyframe is an instant, with no end and no text."""
    if kind == KEYFRAME:
        return {"videoNo": video.video_no, "startTime": (moment.start + moment.end) // 2,
                "type": kind}  # fmt: skip
    return {"videoNo": video.video_no, "startTime": moment.start, "type": kind,
            "endTime": moment.end, "text": moment.text}  # fmt: skip


def video_refs(cited: Sequence[tuple[Video, Moment]]) -> list[dict[str, Any]]:
    """The ``ref`` list of an answer, nested as the service sends it: one entry per cited
    video, ``{"video": {duration, video_no, video_name}, "refItems": [...]}`` (numbers in
    ``video`` as strings, as the service writes them)."""
    items: dict[str, list[dict[str, Any]]] = {}
    videos: dict[str, Video] = {}
    for video, moment in cited:
        videos[video.video_no] = video
        video_items = items.setdefault(video.video_no, [])
        if moment.speaker is not None:
            video_items.append(_ref_item(video, moment, AUDIO))
            continue
        if not any(item["type"] == KEYFRAME for item in video_items):
            video_items.append(_ref_item(video, moment, KEYFRAME))
        video_items.append(_ref_item(video, moment, VISUAL))
    return [
        {
            "video": {
                "duration": str(videos[video_no].duration),
                "video_no": video_no,
                "video_name": videos[video_no].name,
            },
            "refItems": sorted(video_items, key=lambda item: item["startTime"]),
        }
        for video_no, video_items in items.items()
    ]


def _thinking(
    videos: Sequence[Video], prompt: str, history: Sequence[Turn], cited: Sequence[Any]
) -> tuple[Thinking, ...]:
    names = ", ".join(video.name for video in videos)
    asked = f'The question is "{prompt.strip()}", about {len(videos)} video(s): {names}.'
    if history:
        asked += f" It continues a conversation of {len(history)} earlier turn(s)."
    if cited:
        where = "; ".join(
            f"{video.name} at {mmss(moment.start)}–{mmss(moment.end)}" for video, moment in cited
        )
        found = f"{len(cited)} moment(s) support the answer: {where}."
    else:
        found = "No moment matches directly."
    return (Thinking("Understanding the question", asked), Thinking("Finding the moments", found))


def compose_v12(videos: Sequence[Video], prompt: str, history: Sequence[Turn]) -> V12Answer:
    """The whole v1.2 answer to `prompt`, with the session's earlier turns as `history`."""
    content = compose_answer(videos, prompt, history)
    cited = cited_moments(videos, content)
    return V12Answer(content, _thinking(videos, prompt, history, cited), tuple(video_refs(cited)))
