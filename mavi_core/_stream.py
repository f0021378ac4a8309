"""Decoding chat replies: bytes in, answer deltas out. Pure and incremental, no I/O.

One decoder serves streamed and non-streamed replies alike, since MAVI frames both as `data:`
events. It is tolerant of every variant seen in the wild: `data:` with or without a space,
CRLF or CR line ends, several `data:` lines in one event (one JSON split over lines, or one
envelope a line), `:` comments, `data:"Done"` / `data:[DONE]` end markers, a plain JSON envelope
instead of events, a missing content type, and cumulative pieces (each repeating all text so far).
"""

from __future__ import annotations

import json
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any, Final

from ._envelope import envelope_data, error_for_code, is_success_code, normalize_code
from ._exceptions import (
    MaviAPIError,
    MaviError,
    MaviServerError,
    MaviStreamError,
    MaviStreamTimeoutError,
    MaviTimeoutError,
)

__all__ = [
    "ChatStreamDecoder",
    "DeltaTracker",
    "EventDecoder",
    "broken_stream_error",
    "parse_json_reply",
    "pieces_from_event",
]

_END_MARKERS: Final = frozenset({"[DONE]", "Done", '"Done"', '"[DONE]"', "DONE"})
_FIELDS_TO_IGNORE: Final = (b"event", b"id", b"retry")


class _End:
    """The end-of-answer marker."""


END: Final = _End()


class EventDecoder:
    """Splits a byte stream into the `data` of its server-sent events.

    A body that starts with `{`, `[` or `<` instead of an SSE field is not events at all (a plain
    JSON envelope, or an HTML error page): it is collected whole and handed out by `finish()`.
    """

    __slots__ = ("_buffer", "_data", "_raw", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []
        self._raw: bytearray | None = None
        self._started = False

    def feed(self, chunk: bytes) -> list[str]:
        if self._raw is not None:
            self._raw += chunk
            return []
        buffer = self._buffer + chunk if self._buffer else chunk
        if not self._started:
            start = buffer.lstrip()[:1]
            if not start:
                self._buffer = buffer
                return []
            self._started = True
            if start in (b"{", b"[", b"<"):
                self._raw = bytearray(buffer)
                self._buffer = b""
                return []
        # A trailing CR may be the first half of a CRLF split across chunks: keep it for later.
        cut = max(buffer.rfind(b"\n"), buffer.rfind(b"\r", 0, len(buffer) - 1))
        if cut < 0:
            self._buffer = buffer
            return []
        self._buffer = buffer[cut + 1 :]
        return self._lines(buffer[: cut + 1].splitlines())

    @property
    def idle(self) -> bool:
        """Between events: nothing buffered, and the body is known to be events."""
        return self._started and self._raw is None and not self._buffer and not self._data

    def finish(self) -> list[str]:
        if self._raw is not None:
            raw, self._raw = bytes(self._raw), None
            return [raw.decode("utf-8", "replace")] if raw.strip() else []
        lines = self._buffer.splitlines()
        self._buffer = b""
        lines.append(b"")  # a last event without its blank line still counts
        return self._lines(lines)

    def _lines(self, lines: list[bytes]) -> list[str]:
        events: list[str] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(b"\n".join(data).decode("utf-8", "replace"))
                    data.clear()
            elif line.startswith(b"data"):
                value = line[4:]
                if value[:1] == b":":
                    value = value[1:]
                    data.append(value[1:] if value[:1] == b" " else value)
                elif not value:
                    data.append(b"")
            elif line[:1] in (b"{", b"["):
                data.append(line)  # JSON without its `data:` prefix: take it rather than lose it
            # `:` comments and the event / id / retry fields carry nothing for us.
        return events


def _piece_of(value: Any) -> str | _End | None:
    """The answer text carried by one decoded JSON value, the end marker, or nothing."""
    if isinstance(value, str):
        if value.strip() in _END_MARKERS:
            return END
        # The newer API sends its errors as bare strings ("Video is not parsed").
        raise MaviServerError(f"MAVI sent an error in the stream: {value}", msg=value)
    if not isinstance(value, dict):
        return None
    if "code" in value:
        code = value["code"]
        if not is_success_code(code):
            msg = value.get("msg")
            raise error_for_code(normalize_code(code), None if msg is None else str(msg))
        data = value.get("data")
        if isinstance(data, str):
            return data
        if isinstance(data, dict):
            for key in ("msg", "content", "text"):
                text = data.get(key)
                if isinstance(text, str):
                    return text
        return None
    if value.get("type") == "content" and isinstance(value.get("content"), str):
        return str(value["content"])  # the newer API's content events
    return None


def pieces_from_event(data: str) -> list[str | _End]:
    """The answer pieces in one event's data; raises the mapped error for an error envelope."""
    stripped = data.strip()
    if not stripped:
        return []
    if stripped in _END_MARKERS:
        return [END]
    try:
        values = [json.loads(stripped)]
    except ValueError:
        # Several envelopes in one event, one per `data:` line.
        try:
            values = [json.loads(line) for line in stripped.splitlines() if line.strip()]
        except ValueError:
            values = None
    if values is None:
        if stripped.startswith("<"):
            raise MaviServerError(
                "MAVI answered with an HTML page instead of an answer (a proxy or gateway "
                "error page). Try again later; check base_url if it persists."
            )
        raise MaviStreamError(
            f"MAVI sent an event that is not JSON: {stripped[:120]!r}. "
            "Check base_url points to the MAVI API."
        )
    pieces: list[str | _End] = []
    for value in values:
        piece = _piece_of(value)
        if piece is not None:
            pieces.append(piece)
    return pieces


class DeltaTracker:
    """Turns pieces into deltas, detecting a cumulative body (each piece repeats all so far).

    Keeps no more text than detection needs: the first piece until the second one decides the
    kind of body, then nothing for deltas, or the latest piece for a cumulative body.
    """

    __slots__ = ("_cumulative", "_latest")

    def __init__(self) -> None:
        self._latest: str | None = None  # the first piece, then the whole text if cumulative
        self._cumulative: bool | None = None  # None until the second piece

    def push(self, piece: str) -> str:
        """The new text that `piece` adds ('' when none)."""
        if not piece:
            return ""
        if self._cumulative is False:
            return piece
        latest = self._latest
        if latest is None:
            self._latest = piece
            return piece
        if piece.startswith(latest):
            if self._cumulative is None and len(piece) == len(latest):
                self._cumulative = False  # "\n" then "\n": two pieces of text, not a repeat
                self._latest = None
                return piece
            self._cumulative = True
            self._latest = piece
            return piece[len(latest) :]
        if self._cumulative and latest.startswith(piece):
            return ""  # a repeat of text already delivered
        # Not an extension of what came before: plain deltas from here on.
        self._cumulative = False
        self._latest = None
        return piece


_FAST_HEAD: Final = b'data:{"code":"0000","msg":"success","data":{"msg":"'
_FAST_TAIL: Final = b'"}}\n\n'


def _fast_piece(chunk: bytes) -> str | None:
    """The piece of a chunk that is exactly one compact success event, the shape MAVI streams
    one network chunk at a time; None for anything else, which takes the general path."""
    text = chunk.decode("utf-8", "replace")
    try:
        piece, end = scanstring(text, len(_FAST_HEAD))
    except ValueError:
        return None
    return piece if end == len(text) - len(_FAST_TAIL) + 1 else None


class ChatStreamDecoder:
    """Bytes of a chat reply in, answer deltas out.

    `feed()` and `finish()` return the new deltas; an error envelope raises the matching
    `MaviError`. After an end marker, everything else is ignored and `done` is True.
    """

    __slots__ = ("_events", "_tracker", "done", "events_seen")

    def __init__(self) -> None:
        self._events = EventDecoder()
        self._tracker = DeltaTracker()
        self.done = False
        self.events_seen = 0

    def feed(self, chunk: bytes) -> list[str]:
        if self.done:
            return []
        if chunk.startswith(_FAST_HEAD) and chunk.endswith(_FAST_TAIL) and self._events.idle:
            piece = _fast_piece(chunk)
            if piece is not None:
                self.events_seen += 1
                delta = self._tracker.push(piece)
                return [delta] if delta else []
        return self._deltas(self._events.feed(chunk))

    def finish(self) -> list[str]:
        if self.done:
            return []
        deltas = self._deltas(self._events.finish())
        if not self.events_seen:
            raise MaviStreamError(
                "MAVI closed the reply without sending any event. Try again; if it persists, "
                "check base_url."
            )
        self.done = True
        return deltas

    def _deltas(self, events: list[str]) -> list[str]:
        deltas: list[str] = []
        push = self._tracker.push
        for event in events:
            self.events_seen += 1
            for piece in pieces_from_event(event):
                if piece is END:
                    self.done = True
                    return deltas
                delta = push(piece)  # type: ignore[arg-type]
                if delta:
                    deltas.append(delta)
        return deltas


def parse_json_reply(body: bytes) -> Any:
    """The `data` of a non-chat reply: a JSON envelope, bare or framed as a `data:` event."""
    events = EventDecoder()
    texts = events.feed(body) + events.finish()
    if not texts:
        raise MaviServerError("MAVI answered with an empty body. Try again later.")
    try:
        envelope = json.loads(texts[0])
    except ValueError:
        if texts[0].lstrip().startswith("<"):
            raise MaviServerError(
                "MAVI answered with an HTML page instead of JSON (a proxy or gateway error "
                "page). Try again later; check base_url if it persists."
            ) from None
        raise MaviServerError(
            f"MAVI answered with something that is not JSON: {texts[0][:120]!r}. "
            "Check base_url points to the MAVI API."
        ) from None
    if not isinstance(envelope, dict):
        raise MaviServerError("MAVI answered JSON that is not an envelope object.")
    return envelope_data(envelope)


def broken_stream_error(error: MaviError, delivered: int) -> MaviStreamError:
    """The error for a stream that failed after `delivered` characters reached the caller."""
    if isinstance(error, MaviStreamError):
        return error
    kept = (
        f"after {delivered} characters of the answer had been delivered; they are kept and "
        "will not be repeated. Ask again for a complete answer."
    )
    if isinstance(error, MaviTimeoutError):
        return MaviStreamTimeoutError(f"The stream went silent {kept} ({error})")
    if isinstance(error, MaviAPIError):
        return MaviStreamError(
            f"MAVI ended the stream with error code {error.code} ({error.msg}) {kept}",
            code=error.code,
            msg=error.msg,
            status_code=error.status_code,
        )
    return MaviStreamError(f"The stream broke {kept} ({error})")
