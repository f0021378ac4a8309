"""A conversation as (role, text) pairs to the v1.0 chat's `message` and `history`, the one rule
both adapters use (docs/errors-and-wire.md#conversations-messages-to-message--history)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from ._exceptions import MaviValidationError
from ._models import ChatTurn

Role: TypeAlias = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatPrompt:
    """What one chat request sends: the outgoing `message` and the earlier turns."""

    message: str
    history: list[ChatTurn]


def _join(texts: list[str]) -> str:
    """Texts joined by a blank line; empty ones (a message holding only a video) add nothing."""
    return "\n\n".join(text for text in texts if text)


def conversation_to_chat(conversation: Iterable[tuple[Role, str]]) -> ChatPrompt:
    """Map (role, text) pairs to `ChatPrompt`; raises `ValueError` saying what to change."""
    texts: dict[Role, list[str]] = {"system": [], "user": [], "assistant": []}
    history: list[ChatTurn] = []
    for role, text in conversation:
        if role not in texts:
            raise MaviValidationError(
                f"unknown role {role!r}: use 'system', 'user' or 'assistant'."
            )
        if role == "user" and texts["assistant"]:  # a user text after assistant text: a turn
            history.append(ChatTurn(user=_join(texts["user"]), robot=_join(texts["assistant"])))
            texts["user"], texts["assistant"] = [], []
        texts[role].append(text)
    if texts["assistant"]:
        raise MaviValidationError(
            "The conversation ends with an assistant message, so there is no question to send. "
            "End it with a user (human) message."
        )
    if not texts["user"]:
        raise MaviValidationError(
            "The conversation has no user (human) message to send as the question."
        )
    message = _join(texts["user"])
    if not message.strip():
        raise MaviValidationError("The last user (human) message is empty: put the question in it.")
    return ChatPrompt(message=_join([_join(texts["system"]), message]), history=history)
