"""What goes over the wire and what comes back, as typed values."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

__all__ = ["ChatAnswer", "ChatDelta", "ChatTurn"]


class ChatTurn(BaseModel):
    """One earlier exchange: what the user said and what the assistant ("robot") answered."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str
    robot: str


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
