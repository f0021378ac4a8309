"""Stop sequences applied on the client: pure and incremental, no I/O.

MAVI has no stop parameter, so the answer is cut before the first stop sequence it contains (the
first to be completed, as a server generating the text would stop). While streaming, only text
that could still become a stop sequence is held back.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["StopSequences"]


class StopSequences:
    """Feed deltas in, get the text that is safe to hand out; `stopped` once a sequence hit.

    >>> stops = StopSequences(["\\nUser:"])
    >>> stops.feed("Hello\\nUs"), stops.feed("er: hi"), stops.stopped
    ('Hello', '', True)
    """

    __slots__ = ("_held", "_longest", "_stops", "matched", "stopped")

    def __init__(self, stop: Iterable[str] | None) -> None:
        self._stops = tuple(dict.fromkeys(s for s in (stop or ()) if s))
        self._longest = max(map(len, self._stops), default=0)
        self._held = ""
        self.stopped = False
        self.matched: str | None = None

    def feed(self, delta: str) -> str:
        """The part of the text so far that can be handed out now."""
        if self.stopped:
            return ""
        if not self._stops:
            return delta
        text = self._held + delta
        # The stop sequence completed first wins (then the one starting first), as if the text
        # arrived one character at a time: that keeps the cut independent of how it was split.
        first: tuple[int, int, str] | None = None
        for stop in self._stops:
            start = text.find(stop)
            if start >= 0 and (first is None or (start + len(stop), start) < first[:2]):
                first = (start + len(stop), start, stop)
        if first is not None:
            self.stopped, self.matched, self._held = True, first[2], ""
            return text[: first[1]]
        keep = self._partial_match_length(text)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def finish(self) -> str:
        """The held-back text, once the answer has ended without completing a stop sequence."""
        held, self._held = self._held, ""
        return "" if self.stopped else held

    def _partial_match_length(self, text: str) -> int:
        """The length of the longest end of `text` that begins some stop sequence."""
        for length in range(min(len(text), self._longest - 1), 0, -1):
            tail = text[-length:]
            if any(stop.startswith(tail) for stop in self._stops):
                return length
        return 0
