"""What goes over the wire and what comes back, as typed values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ._exceptions import MaviValidationError


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """One earlier exchange: what the user said and what the assistant ("robot") answered."""

    user: str
    robot: str

    def __post_init__(self) -> None:
        for side, value in (("user", self.user), ("robot", self.robot)):
            if not isinstance(value, str):
                raise MaviValidationError(
                    f"ChatTurn.{side} must be a string (use '' for an empty side), "
                    f"got {type(value).__name__}."
                )

    def to_dict(self) -> dict[str, str]:  # the API's shape
        return {"user": self.user, "robot": self.robot}


@dataclass(frozen=True, slots=True)
class ChatSession:
    """A v1.2 chat session of the key (`list_sessions()`): pass `session_id` to `chat()` to
    continue it. `title` is its first question."""

    session_id: str  # digits (the service's ids exceed 53 bits: never a float)
    title: str = ""
    video_nos: tuple[str, ...] = ()
    created_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class VideoRef:
    """A moment an answer rests on (v1.2), in seconds: a "keyframe" (an instant: `end` None),
    what is shown ("visual_ts") or said ("audio_ts"); `duration` is the whole video's."""

    video_no: str
    video_name: str = ""
    start: float = 0.0
    end: float | None = None
    kind: str = "visual_ts"
    text: str = ""
    duration: float | None = None

    @property
    def metadata(self) -> dict[str, object]:  # without the text: a source node's
        fields = ("video_no", "video_name", "start", "end", "kind")
        return {name: getattr(self, name) for name in fields}

    def to_dict(self) -> dict[str, object]:
        return {**self.metadata, "text": self.text}


@dataclass(frozen=True, slots=True)
class Thinking:
    """One step of the model's reasoning (v1.2), shown before the answer."""

    title: str = ""
    content: str = ""


@dataclass(slots=True)  # not frozen: a frozen dataclass costs a microsecond per delta to build
class ChatDelta:
    """New answer text, in order: the deltas' `text` joined is the whole answer. A v1.2 delta may
    carry a step of `thinking` or the `refs` the answer rests on instead. Treat it as read-only."""

    text: str
    thinking: Thinking | None = None
    refs: tuple[VideoRef, ...] = ()
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChatAnswer:
    """A whole answer from the video chat. v1.2 adds the `session_id` that continues the
    conversation, the moments (`refs`) the answer rests on and the reasoning (`thinking`)."""

    text: str
    video_nos: list[str] = field(default_factory=list)
    session_id: str | None = None
    refs: tuple[VideoRef, ...] = ()
    thinking: tuple[Thinking, ...] = ()

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message of a v1.2 session as the service keeps it (`get_session_detail()`)."""

    role: str  # "user" or "assistant"
    content: str
    thinking: tuple[Thinking, ...] = ()
    refs: tuple[VideoRef, ...] = ()
    session_id: str | None = None

    def as_answer(self, video_nos: list[str] | None = None) -> ChatAnswer:
        """As the `ChatAnswer` `chat()` returned (the service keeps no `video_nos`: pass them)."""
        return ChatAnswer(
            self.content, list(video_nos or []), self.session_id, self.refs, self.thinking
        )


@dataclass(frozen=True, slots=True)
class SessionDetail:
    """A v1.2 chat session restored (`get_session_detail()`): its title and its messages in
    order; pass `session_id` to `chat()` to continue it."""

    session_id: str
    title: str = ""
    messages: tuple[StoredMessage, ...] = ()


def rank_score(rank: int) -> float:
    """The score of the moment at `rank` (0 = best) when the service sends none: 1 / (1 + rank)."""
    return 1.0 / (1 + rank)
