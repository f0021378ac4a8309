"""Checking and building request bodies: pure, no I/O, shared by the sync and async clients."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from ._exceptions import MaviValidationError
from ._models import ChatTurn

__all__ = [
    "ApiCall",
    "HistoryInput",
    "build_chat_body",
    "normalize_history",
    "normalize_video_nos",
]

HistoryInput: TypeAlias = Iterable[ChatTurn | Mapping[str, Any]] | None


@dataclass(frozen=True)
class ApiCall:
    """One JSON endpoint call, described without doing it; the clients send it."""

    method: str
    path: str
    json: Any = None
    params: Mapping[str, Any] | None = None
    files: Callable[[], Mapping[str, Any]] | None = None
    """Makes the multipart files afresh for each attempt (a retry re-reads them)."""
    authenticate: bool = True
    retry: bool = True


def normalize_video_nos(video_nos: object, *, name: str = "video_nos") -> list[str]:
    """Return `video_nos` as a list of non-empty strings, or raise a `MaviValidationError`."""
    if isinstance(video_nos, str | bytes):
        raise MaviValidationError(
            f"{name} must be a list of video numbers, not a single string; "
            f"write {name}=[{video_nos!r}]."
        )
    if video_nos is None or not isinstance(video_nos, Iterable):
        raise MaviValidationError(
            f"{name} must be a non-empty list of video numbers (e.g. ['VI123...']), "
            f"got {type(video_nos).__name__}."
        )
    result = list(video_nos)
    if not result:
        raise MaviValidationError(
            f"{name} is empty: pass at least one video number (the videoNo returned by upload "
            "or listed by searchDB)."
        )
    for index, video_no in enumerate(result):
        if not isinstance(video_no, str) or not video_no.strip():
            raise MaviValidationError(
                f"{name}[{index}] must be a non-empty string video number, got {video_no!r}."
            )
    return result


def normalize_history(history: HistoryInput) -> list[dict[str, str]]:
    """Return earlier turns as `[{"user": ..., "robot": ...}]`, or raise a `MaviValidationError`."""
    if history is None:
        return []
    if isinstance(history, str | bytes | Mapping):
        raise MaviValidationError(
            "history must be a list of turns such as [{'user': '...', 'robot': '...'}], "
            f"got a single {type(history).__name__}."
        )
    turns: list[dict[str, str]] = []
    for index, turn in enumerate(history):
        if isinstance(turn, ChatTurn):
            turns.append(turn.to_dict())
            continue
        if not isinstance(turn, Mapping):
            raise MaviValidationError(
                f"history[{index}] must be a ChatTurn or a dict with 'user' and 'robot' strings, "
                f"got {type(turn).__name__}."
            )
        for key in ("user", "robot"):
            if not isinstance(turn.get(key), str):
                raise MaviValidationError(
                    f"history[{index}] needs a {key!r} string (use '' for an empty side), "
                    f"got {turn.get(key)!r}."
                )
        turns.append({"user": turn["user"], "robot": turn["robot"]})
    return turns


def build_chat_body(
    video_nos: object, message: object, history: HistoryInput, *, stream: bool
) -> dict[str, Any]:
    """The JSON body of `POST /api/serve/video/chat`, exactly its four fields."""
    videos = normalize_video_nos(video_nos)
    if not isinstance(message, str):
        raise MaviValidationError(f"message must be a string, got {type(message).__name__}.")
    if not message.strip():
        raise MaviValidationError("message is empty: pass the question to ask about the videos.")
    return {
        "videoNos": videos,
        "message": message,
        "history": normalize_history(history),
        "stream": stream,
    }
