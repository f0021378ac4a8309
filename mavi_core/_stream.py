"""Decoding chat replies, streamed or whole (MAVI frames both as `data:` events): bytes in,
answer deltas out, incremental, no I/O. Variants: docs/errors-and-wire.md#the-stream-decoder."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any, Final, Protocol

from ._constants import DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_RESPONSE_BYTES
from ._content import ContentDecoder
from ._envelope import envelope_data, error_for_message, kind_of, malformed
from ._exceptions import (
    STREAM_ERRORS,
    MaviError,
    MaviServerError,
    MaviStreamError,
    MaviStreamTimeoutError,
    MaviTimeoutError,
)
from ._models import ChatDelta, Thinking, VideoRef


class Deadline(Protocol):  # what a reader needs of `_flow.Deadline` (no import cycle)
    at: float | None
    clock: Callable[[], float]

    def check(self) -> None: ...


def is_end_marker(text: str) -> bool:
    """`data:"Done"`, `data:[DONE]`, `data:done`...: compared without quotes and case."""
    return text.strip().strip('"').upper() in ("DONE", "[DONE]")


class _End:
    """The end-of-answer marker."""


END: Final = _End()
_BOM: Final = b"\xef\xbb\xbf"


@dataclass(slots=True)
class EventDecoder:
    """Splits a byte stream into the `data` of its server-sent events, bounded and linear; a
    body opening with `{`, `[` or `<` (JSON, an HTML error page) is kept whole for `finish()`."""

    max_event: int = DEFAULT_MAX_EVENT_BYTES
    max_body: int = DEFAULT_MAX_RESPONSE_BYTES
    _partial: bytearray = field(default_factory=bytearray, init=False)  # the unfinished last line
    _data: list[bytes] = field(default_factory=list, init=False)
    _size: int = field(default=0, init=False)  # of `_data`
    _raw: bytearray | None = field(default=None, init=False)
    _started: bool = field(default=False, init=False)
    _lf_pending: bool = field(default=False, init=False)  # the last chunk ended with CR

    def feed(self, chunk: bytes) -> list[str]:
        if self._raw is not None:
            self._raw += chunk
            if len(self._raw) > self.max_body:
                raise too_large("reply", self.max_body, "max_response_bytes")
            return []
        if not self._started:
            chunk = (bytes(self._partial) + chunk).lstrip()
            self._partial.clear()
            if chunk and _BOM.startswith(chunk):  # the start of a byte order mark, held
                self._partial += chunk
                return []
            chunk = chunk.removeprefix(_BOM).lstrip()
            if not chunk:
                return []  # blank lines before the first event carry nothing
            self._started = True
            if chunk[:1] in (b"{", b"[", b"<"):
                self._raw = bytearray()
                return self.feed(chunk)
        if self._lf_pending and chunk:
            # A LF after the CR that ended the last chunk (and its line, at once) ends no line.
            self._lf_pending = False
            chunk = chunk.removeprefix(b"\n")
        if chunk[-1:] == b"\r":
            self._lf_pending = True
        cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        partial = self._partial
        if cut < 0:
            partial += chunk
            if len(partial) + self._size > self.max_event:
                raise too_large("event", self.max_event, "max_event_bytes")
            return []
        head = chunk[: cut + 1]
        lines = (bytes(partial) + head if partial else head).splitlines()
        partial[:] = chunk[cut + 1 :]
        return self._lines(lines)

    @property
    def idle(self) -> bool:
        """Between events: nothing buffered, and the body is known to be events."""
        return (
            self._started
            and self._raw is None
            and not (self._partial or self._data or self._lf_pending)
        )

    def finish(self) -> list[str]:
        if self._raw is not None:
            raw, self._raw = bytes(self._raw), None
            return [raw.decode("utf-8", "replace")] if raw.strip() else []
        lines = bytes(self._partial).splitlines()
        self._partial.clear()
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
                    self._size = 0
                continue
            if line.startswith(b"data"):
                value = line[4:]
                if value[:1] == b":":
                    value = value[2:] if value[1:2] == b" " else value[1:]
                elif value:
                    continue  # a field named e.g. "database", not "data"
            elif line[:1] in (b"{", b"["):
                value = line  # JSON without its `data:` prefix: taken rather than lost
            else:
                continue  # `:` comments and the event / id / retry fields carry nothing for us
            self._size += len(value) + 1
            if self._size > self.max_event:
                raise too_large("event", self.max_event, "max_event_bytes")
            data.append(value)
        return events


def too_large(what: str, limit: int, option: str) -> MaviServerError:
    """The error for a reply that exceeds one of the client's bounds."""
    return MaviServerError(
        f"MAVI sent {'an' if what[0] in 'aeiou' else 'a'} {what} larger than {limit} bytes, the "
        f"client's {option} bound; it was not read further. Check base_url; raise {option} if "
        "such replies are expected."
    )


def _json(text: str) -> Any:
    """The JSON value of `text`, or the error saying what came instead."""
    try:
        # strict=False: a raw tab or newline in a string (a piece split over lines) is text.
        return json.loads(text, strict=False)
    except RecursionError:
        raise malformed("JSON nested too deeply to read") from None
    except ValueError:
        if text.lstrip().startswith("<"):
            raise MaviServerError(
                "MAVI answered with an HTML page instead of JSON (a proxy or gateway error "
                "page). Try again later; check base_url if it persists."
            ) from None
        raise malformed(f"something that is not JSON: {text[:120]!r}") from None


def event_values(data: str) -> list[Any]:
    """The JSON values of one event's data (`END` for an end marker)."""
    stripped = data.strip()
    if not stripped:
        return []
    if is_end_marker(stripped):
        return [END]
    try:
        return [_json(stripped)]
    except MaviServerError:  # several envelopes in one event, one per `data:` line
        return [_json(line) for line in stripped.splitlines() if line.strip()]


@dataclass(slots=True)
class DeltaTracker:
    """Turns pieces into deltas, detecting a cumulative body (each piece repeats all so far)."""

    _latest: str = ""  # the text so far, while it may be cumulative
    _cumulative: bool | None = None  # None until the second piece

    def push(self, piece: str) -> str:
        """The new text that `piece` adds ('' when none)."""
        if not piece:
            return ""
        if not piece.isascii():
            # A lone surrogate (`\ud800`) becomes U+FFFD: the answer prints, goes back as history.
            piece = piece.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        if self._cumulative is False:
            return piece
        latest = self._latest
        if piece.startswith(latest) and (self._cumulative or len(piece) > len(latest)):
            self._latest = piece
            if self._cumulative is None and not any(char.isalnum() for char in latest):
                return piece  # the first piece; "**" then "**Summary": markdown decides nothing
            self._cumulative = True
            return piece[len(latest) :]
        if self._cumulative and latest.startswith(piece):
            return ""  # a repeat of text already delivered
        # Not an extension of what came before ("\n" then "\n" too): plain deltas.
        self._cumulative = False
        self._latest = ""
        return piece


_TEXT_KEYS: Final = {key: f"an envelope whose 'data.{key}'" for key in ("msg", "content", "text")}


class ChatStreamDecoder:
    """Bytes of a chat reply in, `ChatDelta` items out (never empty ones). The deltas before an
    error are returned; the error waits in `error` for the next call (raised at once if no delta
    came). `done` after an end marker; a reply without answer text is an error too."""

    __slots__ = ("_events", "_tracker", "done", "error", "events_seen", "texts_seen")
    needs_end_marker = False  # v1.2 streams end with `data:"Done"`, v1.0 ones when closed
    tells_more = False  # whether a delta may carry more than text (v1.2: session, refs, thinking)
    empty_is_text = True  # whether an empty piece counts as answer text (v1.2: it does not)
    # The fast path's event, one per chunk as the service streams it: head, the text, then the
    # session key and id when there is one (v1.2), tail. v1.0: a compact success envelope.
    _fast: tuple[bytes, bytes, bytes] = (
        b'data:{"code":"0000","msg":"success","data":{"msg":"',
        b"",
        b'"}}\n\n',
    )

    def __init__(
        self,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        max_body_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._events = EventDecoder(max_event_bytes, max_body_bytes)
        self._tracker = DeltaTracker()
        self.done = False
        self.error: MaviError | None = None
        self.events_seen = 0
        self.texts_seen = 0

    def feed(self, chunk: bytes) -> list[ChatDelta]:
        # A chunk of exactly one `_fast` event in a clean state is read at once, as `_deltas`
        # would read it; anything else takes the general path.
        head, key, tail = self._fast
        if chunk.startswith(head) and chunk.endswith(tail) and not self.done and self._events.idle:
            rest, session = len(tail), None  # what follows the text, from its closing quote
            if key:  # a service's session id: up to 19 digits, the first not "0" (0x30)
                digits = chunk[chunk.rfind(key) + len(key) : -len(tail)]
                if not (digits.isdigit() and digits[0] != 0x30 and len(digits) < 20):
                    return self._deltas(chunk)
                session, rest = digits.decode(), rest + len(key) + len(digits)
            text = chunk.decode("utf-8", "replace")
            try:
                piece, end = scanstring(text, len(head))
            except ValueError:
                end = 0
            if end == len(text) - rest + 1:  # the text ends exactly where the rest begins
                self.events_seen += 1
                delta = self._text_delta(piece, session)
                return [delta] if delta else []
        return self._deltas(chunk)

    def _text_delta(self, piece: str, session: str | None = None) -> ChatDelta | None:
        """The delta of what a piece of answer text adds; None when it adds nothing."""
        if piece or self.empty_is_text:
            self.texts_seen += 1
        text = self._tracker.push(piece)
        return ChatDelta(text, None, (), session) if text else None

    def finish(self) -> list[ChatDelta]:
        return self._deltas(None)

    def _deltas(self, chunk: bytes | None) -> list[ChatDelta]:
        """The deltas of a chunk's events (None: the body's end)."""
        if self.error is not None:
            raise self.error
        if self.done:
            return []
        deltas: list[ChatDelta] = []
        try:
            for event in self._events.finish() if chunk is None else self._events.feed(chunk):
                self.events_seen += 1
                for value in event_values(event):
                    delta = END if value is END else self._delta_of(value)
                    if isinstance(delta, ChatDelta):
                        deltas.append(delta)
                    elif delta is not None:  # the end marker, or a whole answer where events belong
                        deltas += () if isinstance(delta, _End) else delta
                        self.done = True
                        self._check_answered(deltas)
                        return deltas
            if chunk is None:
                if self.needs_end_marker and self.events_seen:
                    raise MaviServerError(
                        'MAVI closed the stream without its end marker (data:"Done"): the '
                        "answer may be cut short. Ask again for a complete answer."
                    )
                self.done = True
                self._check_answered(deltas)
        except MaviError as error:
            return self._fail(error, deltas)
        return deltas

    def _delta_of(self, value: Any) -> ChatDelta | tuple[ChatDelta, ...] | _End | None:
        """What one JSON value adds: a delta, None (metadata), `END`, or a whole answer's deltas
        (a tuple, which ends the reply); raises for an error or a value of the wrong shape."""
        if isinstance(value, str):
            if is_end_marker(value):
                return END
            raise error_for_message(value)  # the newer API's errors are bare strings
        if not isinstance(value, dict):
            raise malformed(f"a JSON {kind_of(value)} where an envelope object belongs")
        if "code" in value:
            piece, where = envelope_data(value), "an envelope whose 'data'"
            if isinstance(piece, dict):
                for key in _TEXT_KEYS:
                    if key in piece:
                        piece, where = piece[key], _TEXT_KEYS[key]
                        break
                else:
                    return None
            elif piece is None:
                return None
        elif (kind := value.get("type")) == "content":  # the newer API's content events
            piece, where = value.get("content"), "a content event whose 'content'"
        elif isinstance(kind, str):
            return None  # the newer API's thinking and ref events carry no answer text
        else:
            raise malformed("a JSON object without a 'code' field")
        if not isinstance(piece, str):
            raise malformed(f"{where} is a {kind_of(piece)}")
        return self._text_delta(piece)

    def _check_answered(self, deltas: list[ChatDelta]) -> None:
        """Raises when the reply ended without events or answer text (`deltas`: those before)."""
        if not self.events_seen:
            raise MaviServerError(
                "MAVI closed the reply without sending any event. Try again; if it persists, "
                "check base_url."
            )
        if not self.texts_seen:
            raise self._no_text()

    def _no_text(self) -> MaviServerError:
        return malformed("a reply without any answer text")

    def _fail(self, error: MaviError, deltas: list[ChatDelta]) -> list[ChatDelta]:
        self.error = error
        self.done = True
        if not deltas:
            raise error
        return deltas


def parse_json_reply(body: bytes) -> Any:
    """The `data` of a non-chat reply: a JSON envelope, bare or framed as one `data:` event."""
    events = EventDecoder(len(body) + 1, len(body) + 1)
    texts = [text for text in events.feed(body) + events.finish() if not is_end_marker(text)]
    if not texts:
        if body.strip():
            raise malformed(f"a reply without any JSON envelope: {body[:80]!r}")
        raise MaviServerError("MAVI answered with an empty body. Try again later.")
    if len(texts) > 1:
        raise malformed(f"{len(texts)} events where one JSON reply belongs")
    envelope = _json(texts[0])
    if not isinstance(envelope, dict):
        raise malformed(f"a JSON {kind_of(envelope)} where an envelope object belongs")
    return envelope_data(envelope)


def broken_stream_error(
    error: MaviError, delivered: int, partial_text: str | None = None
) -> MaviStreamError:
    """The error for a reply that failed after `delivered` characters of its answer: those
    reached a stream's caller, or travel in `partial_text` (`chat()`). Never retried."""
    if isinstance(error, MaviStreamError):
        return error
    kept = f"after {delivered} characters of the answer had " + (
        "been delivered; they are kept and will not be repeated."
        if partial_text is None
        else "arrived; they are in the error's `partial_text`."
    )
    kept += " Ask again for a complete answer."
    if isinstance(error, MaviTimeoutError):
        how = "reached its deadline" if "deadline" in error.message else "went silent"
        broken: MaviStreamError = MaviStreamTimeoutError(f"The stream {how} {kept} ({error})")
    else:
        stream_class = next(
            (STREAM_ERRORS[kind] for kind in type(error).__mro__ if kind in STREAM_ERRORS),
            MaviStreamError,
        )
        if error.code is None:
            what = f"The stream broke {kept} ({error})"
        else:
            what = f"MAVI ended the stream with error code {error.code} ({error.msg}) {kept}"
        broken = stream_class(
            what,
            code=error.code,
            msg=error.msg,
            status_code=error.status_code,
            retry_after=error.retry_after,
        )
    broken.partial_text = partial_text
    return broken


@dataclass(slots=True)
class StreamProgress:
    """What of an answer reached the caller (characters, deltas) and what v1.2 events told."""

    delivered: int = 0
    items: int = 0
    ended: bool = False  # the answer arrived whole (the operation returned)
    closed: bool = False  # the caller closed the stream
    session_id: str | None = None
    refs: list[VideoRef] = field(default_factory=list)
    thinking: list[Thinking] = field(default_factory=list)


def pieces(raw: bytes | None, content: ContentDecoder | None) -> Iterable[bytes]:
    """`raw` decompressed by `content` (None: not compressed); `raw` None: what it held back."""
    if content is None:
        return () if raw is None else (raw,)
    return content.flush() if raw is None else content.decode(raw)


@dataclass(slots=True)
class BodyReader:
    """A reply read whole, up to `limit` bytes; beyond, an error or (`truncate`) cut there."""

    content: ContentDecoder | None
    limit: int
    check: Callable[[], None]  # the call's deadline, checked between chunks
    truncate: bool = False
    ended: bool = field(default=False, init=False)
    _body: bytearray = field(default_factory=bytearray, init=False)

    def step(self, raw: bytes | None) -> list[Any]:
        body, limit = self._body, self.limit
        for piece in pieces(raw, self.content):
            body += piece
            if len(body) > limit:
                if not self.truncate:
                    raise too_large("reply", limit, "max_response_bytes")
                del body[limit:]
                self.ended = True
                return []
        self.ended = raw is None
        if not self.ended:
            self.check()
        return []

    @property
    def body(self) -> bytes:
        return bytes(self._body)


class AnswerReader:
    """A chat reply's raw chunks in (None at the end), deltas out and counted in `progress`, or
    held in `text()` (`collect`); an error waits for `raise_error`, after the deltas before it."""

    def __init__(
        self,
        decoder: ChatStreamDecoder,
        content: ContentDecoder | None,
        progress: StreamProgress,
        deadline: Deadline,
        collect: bool,
    ) -> None:
        self.decoder, self._content, self.progress = decoder, content, progress
        self._due, self._clock, self._check = deadline.at, deadline.clock, deadline.check
        self.collect, self._limit, self._size = collect, decoder._events.max_body, 0
        self._parts: list[str] = []
        self.tells_more = decoder.tells_more  # events may carry a session, refs
        self.ended = False

    def step(self, raw: bytes | None) -> list[ChatDelta]:
        decoder = self.decoder
        if raw is not None and self._due is not None and self._clock() > self._due:
            self._check()
        if raw is not None and self._content is None and not self.collect:
            deltas = decoder.feed(raw)  # the common case: one event, as it came
        else:
            deltas = []
            for piece in pieces(raw, self._content):
                self._size += len(piece)
                if self.collect and self._size > self._limit:  # chat() holds it all: bounded
                    raise too_large("reply", self._limit, "max_response_bytes")
                deltas += decoder.feed(piece)
                if decoder.done:
                    break
            else:
                if raw is None:
                    deltas += decoder.finish()
        progress = self.progress
        for delta in deltas:
            progress.delivered += len(delta.text)
            if self.tells_more:  # v1.2: what a delta tells beyond its text
                if delta.session_id is not None:
                    progress.session_id = delta.session_id
                if delta.refs:
                    progress.refs.extend(delta.refs)
                if delta.thinking is not None:
                    progress.thinking.append(delta.thinking)
        progress.items += len(deltas)
        self.ended = raw is None or decoder.done
        if self.collect:
            self._parts.extend([delta.text for delta in deltas])
            return []
        return deltas

    def raise_error(self) -> None:
        """Raises the error the reply ended with, once every delta before it was handed out."""
        if self.decoder.error is not None:
            raise self.decoder.error

    def text(self) -> str:
        """What a whole answer (`collect`) held so far."""
        return "".join(self._parts)
