"""Checking and building request bodies: pure, no I/O, shared by the sync and async clients."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from ._exceptions import MaviValidationError
from ._models import ChatTurn

HistoryInput: TypeAlias = Iterable[ChatTurn | Mapping[str, Any]] | None


@dataclass(frozen=True, slots=True)
class UploadFile:
    """A local file to upload; the client opens it per attempt and closes it after."""

    path: Path
    mime: str
    size: int


@dataclass(frozen=True)
class ApiCall:
    """One JSON endpoint call, described without doing it; the clients send it. `upload` is a
    file sent as the multipart part `file`, opened afresh for each attempt, with `form` as its
    other fields (without `upload`, `form` is an urlencoded body); `on_sent` is told the bytes
    of it sent so far. `deadline`: whether the client's `deadline` bounds the call (uploads are
    bounded by their size); `accept`: the `Accept` header when the call needs its own."""

    method: str
    path: str
    json: Any = None
    params: Mapping[str, Any] | None = None
    form: Mapping[str, str] | None = None
    upload: UploadFile | None = None
    on_sent: Callable[[float], None] | None = None
    authenticate: bool = True
    retry: bool = True
    deadline: bool = True
    accept: str | None = None


def check_text(text: str, name: str) -> str:
    """`text`, if it can be sent as UTF-8 (a lone surrogate, e.g. from a bad decode, cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MaviValidationError(
            f"{name} holds a character that cannot be sent as UTF-8 (a lone surrogate at "
            f"position {exc.start}); fix the text's decoding, e.g. with errors='replace'."
        ) from None
    return text


def check_not_swapped(video_nos: object, text: object, call: str, text_name: str) -> None:
    """Raise a `MaviValidationError` when the videos and the text came in the wrong order."""
    if not isinstance(video_nos, str) or not isinstance(text, list | tuple) or not text:
        return
    if all(isinstance(item, str) for item in text):
        raise MaviValidationError(
            f"The arguments of {call} look swapped: a string where video_nos goes and a list "
            f"where {text_name} goes. Pass video_nos={list(text)!r} and {text_name} as a "
            f"string, or name them: {call.split('(')[0]}(video_nos=[...], {text_name}=...)."
        )


def normalize_video_nos(video_nos: object, *, name: str = "video_nos") -> list[str]:
    """Return `video_nos` as a list of non-empty strings, or raise a `MaviValidationError`."""
    if isinstance(video_nos, str | bytes):
        raise MaviValidationError(
            f"{name} must be a list of video numbers, not a single string; "
            f"write {name}=[{video_nos!r}]."
        )
    where = "the videoNo returned by upload or listed by searchDB"
    if isinstance(video_nos, Mapping) or not isinstance(video_nos, Iterable):  # None too
        given = type(video_nos).__name__
        got = f"; none were given: pass {where}" if video_nos is None else f", got {given}"
        raise MaviValidationError(
            f"{name} must be a non-empty list of video numbers (e.g. ['VI123...']){got}."
        )
    result = list(video_nos)
    if not result:
        raise MaviValidationError(f"{name} is empty: pass at least one video number ({where}).")
    for index, video_no in enumerate(result):
        if not isinstance(video_no, str) or not video_no.strip():
            raise MaviValidationError(
                f"{name}[{index}] must be a non-empty string video number, got {video_no!r}."
            )
        check_text(video_no, f"{name}[{index}]")
    return result


def normalize_history(history: HistoryInput) -> list[dict[str, str]]:
    """Return earlier turns as `[{"user": ..., "robot": ...}]`, or raise a `MaviValidationError`."""
    if history is None:
        return []
    if isinstance(history, str | bytes | Mapping) or not isinstance(history, Iterable):
        raise MaviValidationError(
            "history must be a list of turns such as [{'user': '...', 'robot': '...'}], "
            f"got {type(history).__name__}."
        )
    turns: list[dict[str, str]] = []
    for index, turn in enumerate(history):
        if isinstance(turn, ChatTurn):
            turn = turn.to_dict()
        elif not isinstance(turn, Mapping):
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
            check_text(turn[key], f"history[{index}].{key}")
        turns.append({"user": turn["user"], "robot": turn["robot"]})
    return turns


def check_message(message: object) -> str:
    """The question to ask, or a `MaviValidationError` saying what is wrong with it."""
    if not isinstance(message, str):
        raise MaviValidationError(f"message must be a string, got {type(message).__name__}.")
    if not message.strip():
        raise MaviValidationError("message is empty: pass the question to ask about the videos.")
    return check_text(message, "message")


def build_chat_body(
    video_nos: object, message: object, history: HistoryInput, *, stream: bool
) -> dict[str, Any]:
    """The JSON body of `POST /api/serve/video/chat`, exactly its four fields."""
    check_not_swapped(video_nos, message, "chat(video_nos, message)", "message")
    return {
        "videoNos": normalize_video_nos(video_nos),
        "message": check_message(message),
        "history": normalize_history(history),
        "stream": stream,
    }
