"""The v1.2 chat's server-held conversations: session ids and the turns of each session.

Session ids are 19-digit integers, like the service's, which exceed the 53 bits a JSON number
keeps exactly in JavaScript. A session belongs to the key that opened it and to the namespace
(``unique_id``) it was opened in: only they list, read or continue it. Memory stays bounded
however large the prompts: at most ``max_sessions`` sessions are kept (the least recently used
goes first), at most ``max_per_owner`` of them a key's (in every namespace together), each
with its last ``max_turns`` turns, and every text of a turn (the prompt, the answer, each
thinking step) cut to ``TURN_CHARS`` characters.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

from ._answers import Turn
from ._library import DEFAULT_NAMESPACE
from ._v12 import Thinking, V12Answer

# Nineteen digits and below 2**63 (a signed 64-bit integer, as the service's ids are).
_LOWEST_ID = 10**18
_ID_SPAN = 2**63 - _LOWEST_ID
DEFAULT_MAX_SESSIONS = 1000
DEFAULT_MAX_PER_OWNER = 200
DEFAULT_MAX_TURNS = 50
TITLE_CHARS = 200
TURN_CHARS = 16_384
"""What a session keeps of each text of a turn: a 1.25 MiB prompt is not kept whole."""


def new_session_id() -> int:
    return _LOWEST_ID + secrets.randbelow(_ID_SPAN)


@dataclass(frozen=True, slots=True)
class StoredTurn:
    """A finished turn as a session keeps it: the question and the whole answer (for
    ``get_session_detail``), every text cut to ``TURN_CHARS``."""

    prompt: str
    answer: V12Answer

    @property
    def turn(self) -> Turn:
        return Turn(self.prompt, self.answer.content)


def stored_turn(prompt: str, answer: V12Answer) -> StoredTurn:
    steps = tuple(
        Thinking(step.title[:TURN_CHARS], step.content[:TURN_CHARS]) for step in answer.thinking
    )
    kept = replace(answer, content=answer.content[:TURN_CHARS], thinking=steps)
    return StoredTurn(prompt[:TURN_CHARS], kept)


class SessionStore:
    """Thread-safe conversations by session id."""

    def __init__(
        self,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        max_turns: int = DEFAULT_MAX_TURNS,
        max_per_owner: int = DEFAULT_MAX_PER_OWNER,
    ) -> None:
        self._lock = threading.Lock()
        self._sessions: OrderedDict[int, list[StoredTurn]] = OrderedDict()
        self._titles: dict[int, str] = {}
        self._owners: dict[int, tuple[str, str]] = {}  # the key's owner and the namespace
        self._owned: dict[str, OrderedDict[int, None]] = {}  # each owner's, oldest first
        self.max_sessions = max_sessions
        self.max_turns = max_turns
        self.max_per_owner = max_per_owner

    def start(self, title: str = "", owner: str = "", namespace: str = DEFAULT_NAMESPACE) -> int:
        """A new, empty session; `title`: what the session list calls it (its first prompt);
        `owner` and `namespace`: whose it is (only they may continue or list it; the bounds
        count an owner's sessions in every namespace)."""
        with self._lock:
            session_id = new_session_id()
            while session_id in self._sessions:
                session_id = new_session_id()
            self._sessions[session_id] = []
            self._titles[session_id] = " ".join(title[: TITLE_CHARS * 4].split())[:TITLE_CHARS]
            self._owners[session_id] = (owner, namespace)
            owned = self._owned.setdefault(owner, OrderedDict())
            owned[session_id] = None
            if len(owned) > self.max_per_owner:
                self._forget(next(iter(owned)))
            while len(self._sessions) > self.max_sessions:
                self._forget(next(iter(self._sessions)))
            return session_id

    def _forget(self, session_id: int) -> None:
        del self._sessions[session_id]
        del self._titles[session_id]
        owner, _ = self._owners.pop(session_id)
        owned = self._owned[owner]
        del owned[session_id]
        if not owned:
            del self._owned[owner]

    def listing(self, owner: str = "", namespace: str = DEFAULT_NAMESPACE) -> list[tuple[int, str]]:
        """`owner`'s sessions kept in `namespace`, newest first, with their titles (the v1.2
        session list)."""
        with self._lock:
            return [
                (session_id, self._titles[session_id])
                for session_id in reversed(self._owned.get(owner, {}))
                if self._owners[session_id] == (owner, namespace)
            ]

    def owns(self, session_id: int, owner: str = "", namespace: str = DEFAULT_NAMESPACE) -> bool:
        """Whether `session_id` is kept and `owner`'s in `namespace`: another user's, or one of
        another namespace, is as good as unknown."""
        with self._lock:
            return self._owners.get(session_id) == (owner, namespace)

    def history(
        self, session_id: int, owner: str = "", namespace: str = DEFAULT_NAMESPACE
    ) -> list[Turn] | None:
        """The turns of `owner`'s session in `namespace` so far, or None if it does not exist
        (or was forgotten, or is another user's or another namespace's)."""
        turns = self.detail(session_id, owner, namespace)
        return None if turns is None else [stored.turn for stored in turns[1]]

    def detail(
        self, session_id: int, owner: str = "", namespace: str = DEFAULT_NAMESPACE
    ) -> tuple[str, list[StoredTurn]] | None:
        """The title and the turns of `owner`'s session in `namespace`, or None as for
        `history`."""
        with self._lock:
            turns = self._sessions.get(session_id)
            if turns is None or self._owners.get(session_id) != (owner, namespace):
                return None
            self._sessions.move_to_end(session_id)
            return self._titles[session_id], list(turns)

    def add_turn(self, session_id: int, prompt: str, answer: V12Answer) -> None:
        """Keep a finished turn; a session forgotten meanwhile stays forgotten."""
        stored = stored_turn(prompt, answer)
        with self._lock:
            turns = self._sessions.get(session_id)
            if turns is not None:
                turns.append(stored)
                del turns[: -self.max_turns]

    def __contains__(self, session_id: object) -> bool:
        with self._lock:
            return session_id in self._sessions

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()
            self._titles.clear()
            self._owners.clear()
            self._owned.clear()
