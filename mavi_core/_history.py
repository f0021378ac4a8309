"""A conversation as (role, text) pairs to the v1.0 chat's `message` and `history`: pure.

Both adapters convert their framework's messages to pairs and call `conversation_to_chat`, so the
rule lives here once; it is written out in docs/errors-and-wire.md, "Conversations"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from ._exceptions import MaviValidationError
from ._models import ChatTurn

__all__ = ["ChatPrompt", "Role", "conversation_to_chat"]

Role: TypeAlias = Literal["system", "user", "assistant"]
_SEPARATOR = "\n\n"


@dataclass(frozen=True, slots=True)
class ChatPrompt:
    """What one chat request sends: the outgoing `message` and the earlier turns."""

    message: str
    history: list[ChatTurn]


def _join(texts: list[str]) -> str:
    """Texts joined by a blank line; empty ones (a message holding only a video) add nothing."""
    return _SEPARATOR.join(text for text in texts if text)


def conversation_to_chat(conversation: Iterable[tuple[Role, str]]) -> ChatPrompt:
    """Map (role, text) pairs to `ChatPrompt`; raises `ValueError` saying what to change."""
    system: list[str] = []
    history: list[ChatTurn] = []
    users: list[str] = []
    robots: list[str] = []
    for role, text in conversation:
        if role == "system":
            system.append(text)
        elif role == "user":
            if robots:  # a user text after assistant text closes the turn
                history.append(ChatTurn(user=_join(users), robot=_join(robots)))
                users, robots = [], []
            users.append(text)
        elif role == "assistant":
            robots.append(text)
        else:
            raise MaviValidationError(
                f"unknown role {role!r}: use 'system', 'user' or 'assistant'."
            )
    if robots:
        raise MaviValidationError(
            "The conversation ends with an assistant message, so there is no question to send. "
            "End it with a user (human) message."
        )
    if not users:
        raise MaviValidationError(
            "The conversation has no user (human) message to send as the question."
        )
    message = _join(users)
    if not message.strip():
        raise MaviValidationError("The last user (human) message is empty: put the question in it.")
    instructions = _join(system)
    if instructions:
        message = instructions + _SEPARATOR + message
    return ChatPrompt(message=message, history=history)
