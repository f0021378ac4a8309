"""The v1.2 chat's server-held conversations: session ids and the turns of each session.

Session ids are 19-digit integers, like the service's, which exceed the 53 bits a JSON number
keeps exactly in JavaScript. Memory stays bounded: at most ``max_sessions`` sessions are kept
(the least recently used goes first), each with its last ``max_turns`` turns.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict

from ._answers import Turn

# Nineteen digits and below 2**63 (a signed 64-bit integer, as the service's ids are).
_LOWEST_ID = 10**18
_ID_SPAN = 2**63 - _LOWEST_ID
DEFAULT_MAX_SESSIONS = 1000
DEFAULT_MAX_TURNS = 50
TITLE_CHARS = 200


def new_session_id() -> int:
    return _LOWEST_ID + secrets.randbelow(_ID_SPAN)


class SessionStore:
    """Thread-safe conversations by session id."""

    def __init__(
        self, max_sessions: int = DEFAULT_MAX_SESSIONS, max_turns: int = DEFAULT_MAX_TURNS
    ) -> None:
        self._lock = threading.Lock()
        self._sessions: OrderedDict[int, list[Turn]] = OrderedDict()
        self._titles: dict[int, str] = {}
        self._owners: dict[int, str] = {}
        self.max_sessions = max_sessions
        self.max_turns = max_turns

    def start(self, title: str = "", owner: str = "") -> int:
        """A new, empty session; `title`: what the session list calls it (its first prompt);
        `owner`: whose it is (only they may continue or list it)."""
        with self._lock:
            session_id = new_session_id()
            while session_id in self._sessions:
                session_id = new_session_id()
            self._sessions[session_id] = []
            self._titles[session_id] = " ".join(title.split())[:TITLE_CHARS]
            self._owners[session_id] = owner
            while len(self._sessions) > self.max_sessions:
                forgotten, _ = self._sessions.popitem(last=False)
                del self._titles[forgotten]
                del self._owners[forgotten]
            return session_id

    def listing(self, owner: str = "") -> list[tuple[int, str]]:
        """`owner`'s sessions kept, newest first, with their titles (the v1.2 session list)."""
        with self._lock:
            return [
                (session_id, self._titles[session_id])
                for session_id in reversed(self._titles)
                if self._owners[session_id] == owner
            ]

    def owns(self, session_id: int, owner: str = "") -> bool:
        """Whether `session_id` is kept and `owner`'s: another user's is as good as unknown."""
        with self._lock:
            return self._owners.get(session_id) == owner and session_id in self._sessions

    def history(self, session_id: int, owner: str = "") -> list[Turn] | None:
        """The turns of `owner`'s session so far, or None if it does not exist (or was
        forgotten, or is another user's)."""
        with self._lock:
            turns = self._sessions.get(session_id)
            if turns is None or self._owners.get(session_id) != owner:
                return None
            self._sessions.move_to_end(session_id)
            return list(turns)

    def add_turn(self, session_id: int, turn: Turn) -> None:
        """Keep a finished turn; a session forgotten meanwhile stays forgotten."""
        with self._lock:
            turns = self._sessions.get(session_id)
            if turns is not None:
                turns.append(turn)
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
