"""What goes over the wire and what comes back, as typed values."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._exceptions import MaviValidationError

__all__ = ["ChatAnswer", "ChatDelta", "ChatTurn"]


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """One earlier exchange: what the user said and what the assistant ("robot") answered."""

    user: str
    robot: str

    def __post_init__(self) -> None:
        for side in ("user", "robot"):
            if not isinstance(getattr(self, side), str):
                raise MaviValidationError(
                    f"ChatTurn.{side} must be a string (use '' for an empty side), "
                    f"got {type(getattr(self, side)).__name__}."
                )

    def to_dict(self) -> dict[str, str]:
        """The turn as the API's `{"user": ..., "robot": ...}`."""
        return {"user": self.user, "robot": self.robot}


@dataclass(frozen=True, slots=True)
class ChatDelta:
    """New answer text, in order; joining every delta's `text` gives the whole answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ChatAnswer:
    """A whole answer from the video chat endpoint."""

    text: str
    video_nos: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.text
