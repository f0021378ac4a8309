"""Decoding chat replies: bytes in, answer deltas out. Pure and incremental, no I/O.

One decoder serves streamed and non-streamed replies alike, since MAVI frames both as `data:`
events. It is tolerant of every variant seen in the wild: `data:` with or without a space,
CRLF or CR line ends, several `data:` lines in one event (one JSON split over lines, or one
envelope a line), `:` comments, `data:"Done"` / `data:[DONE]` end markers, a plain JSON envelope
instead of events, a missing content type, and cumulative pieces (each repeating all text so far).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import TYPE_CHECKING, Any, Final, Protocol

from ._constants import DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_RESPONSE_BYTES
from ._envelope import (
    envelope_data,
    error_for_code,
    error_for_message,
    is_success_code,
    normalize_code,
)
from ._exceptions import (
    STREAM_ERRORS,
    MaviAPIError,
    MaviError,
    MaviServerError,
    MaviStreamError,
    MaviStreamTimeoutError,
    MaviTimeoutError,
)
from ._models import ChatDelta, Thinking, VideoRef

if TYPE_CHECKING:
    from ._content import ContentDecoder


class Deadline(Protocol):
    """What a reader needs of a call's deadline (`_flow.Deadline`; a protocol here, so that
    this pure module imports nothing of the flows)."""

    at: float | None
    clock: Callable[[], float]

    def check(self) -> None: ...


__all__ = [
    "END",
    "FINISH",
    "AnswerReader",
    "BodyReader",
    "ChatStreamDecoder",
    "DeltaTracker",
    "EventDecoder",
    "StreamProgress",
    "broken_stream_error",
    "envelope_of",
    "event_values",
    "is_end_marker",
    "parse_json_reply",
    "pieces",
    "reply_payloads",
    "too_large",
]

_BOM: Final = b"\xef\xbb\xbf"
_END_MARKERS: Final = frozenset({"DONE", "[DONE]"})
"""Compared without quotes and case: `data:"Done"`, `data:[DONE]`, `data:done`..."""


def is_end_marker(text: str) -> bool:
    return text.strip().strip('"').upper() in _END_MARKERS


class _End:
    """The end-of-answer marker."""


END: Final = _End()


class EventDecoder:
    """Splits a byte stream into the `data` of its server-sent events.

    A body that starts with `{`, `[` or `<` instead of an SSE field is not events at all (a plain
    JSON envelope, or an HTML error page): it is collected whole and handed out by `finish()`.

    Bounded and linear: a line or event longer than `max_event_bytes`, or a whole non-event
    body longer than `max_body_bytes`, raises `MaviServerError`; each byte is copied a bounded
    number of times however the stream is cut; blank lines before the first event are dropped.
    """

    __slots__ = (
        "_data",
        "_data_size",
        "_lf_pending",
        "_partial",
        "_raw",
        "_started",
        "max_body",
        "max_event",
    )

    def __init__(
        self,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        max_body_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._partial = bytearray()  # the unfinished last line
        self._data: list[bytes] = []
        self._data_size = 0
        self._raw: bytearray | None = None
        self._started = False
        self._lf_pending = False  # the last chunk ended with CR: a LF opening the next is its pair
        self.max_event = max_event_bytes
        self.max_body = max_body_bytes

    def feed(self, chunk: bytes) -> list[str]:
        if self._raw is not None:
            self._raw += chunk
            if len(self._raw) > self.max_body:
                raise too_large("reply", self.max_body, "max_response_bytes")
            return []
        if not self._started:
            if self._partial:  # the start of a byte order mark, held
                chunk = bytes(self._partial) + chunk
                self._partial.clear()
            chunk = chunk.lstrip()
            # A body may open with a UTF-8 byte order mark (SSE allows it; some servers and
            # proxies write one): dropped, or held while it is cut across chunks.
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :].lstrip()
            elif chunk and _BOM.startswith(chunk):
                self._partial += chunk
                return []
            if not chunk:
                return []  # blank lines before the first event carry nothing
            self._started = True
            if chunk[:1] in (b"{", b"[", b"<"):
                self._raw = bytearray()
                return self.feed(chunk)
        if self._lf_pending and chunk:
            # A CR ended the last chunk and its line (at once: a CR-only stream must not wait
            # for the next chunk); a LF here is the rest of that CRLF, not a blank line.
            self._lf_pending = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if chunk[-1:] == b"\r":
            self._lf_pending = True
        cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        partial = self._partial
        if cut < 0:
            partial += chunk
            if len(partial) + self._data_size > self.max_event:
                raise too_large("event", self.max_event, "max_event_bytes")
            return []
        if partial:
            lines = (bytes(partial) + chunk[: cut + 1]).splitlines()
            partial.clear()
        else:
            lines = chunk[: cut + 1].splitlines()
        partial += chunk[cut + 1 :]
        return self._lines(lines)

    @property
    def idle(self) -> bool:
        """Between events: nothing buffered, and the body is known to be events."""
        return (
            self._started
            and self._raw is None
            and not self._partial
            and not self._data
            and not self._lf_pending
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
                    self._data_size = 0
                continue
            if line.startswith(b"data"):
                value = line[4:]
                if value[:1] == b":":
                    value = value[1:]
                    value = value[1:] if value[:1] == b" " else value
                elif value:
                    continue  # a field named e.g. "database", not "data"
            elif line[:1] in (b"{", b"["):
                value = line  # JSON without its `data:` prefix: take it rather than lose it
            else:
                continue  # `:` comments and the event / id / retry fields carry nothing for us
            self._data_size += len(value) + 1
            if self._data_size > self.max_event:
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


_TEXT_KEYS: Final = ("msg", "content", "text")


def _malformed(what: str) -> MaviServerError:
    return MaviServerError(
        f"MAVI sent {what}; that is not a reply the MAVI API gives. Check base_url points to "
        "the MAVI API."
    )


def _piece_of(value: Any) -> str | _End | None:
    """The answer text carried by one decoded JSON value, the end marker, or None for an
    event that carries no text (metadata); raises for an error or a value of the wrong shape."""
    if isinstance(value, str):
        if is_end_marker(value):
            return END
        # The newer API sends its errors as bare strings ("Video is not parsed").
        raise error_for_message(value)
    if not isinstance(value, dict):
        raise _malformed(f"a JSON {_kind(value)} where an envelope object belongs")
    if "code" in value:
        code = value["code"]
        if isinstance(code, bool) or not isinstance(code, str | int):
            raise _malformed(f"an envelope whose 'code' is a {_kind(code)}")
        if not is_success_code(code):
            msg = value.get("msg")
            raise error_for_code(normalize_code(code), None if msg is None else str(msg))
        data = value.get("data")
        if data is None or isinstance(data, str):
            return data
        if not isinstance(data, dict):
            raise _malformed(f"an envelope whose 'data' is a {_kind(data)}")
        for key in _TEXT_KEYS:
            if key in data:
                text = data[key]
                if not isinstance(text, str):
                    raise _malformed(f"an envelope whose 'data.{key}' is a {_kind(text)}")
                return text
        return None
    kind = value.get("type")
    if kind == "content":
        content = value.get("content")
        if not isinstance(content, str):
            raise _malformed(f"a content event whose 'content' is a {_kind(content)}")
        return content  # the newer API's content events
    if isinstance(kind, str):
        return None  # the newer API's thinking and ref events carry no answer text
    raise _malformed("a JSON object without a 'code' field")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {list: "array", dict: "object", bool: "boolean", str: "string"}.get(
        type(value), "number" if isinstance(value, int | float) else type(value).__name__
    )


def _load(text: str) -> Any:
    try:
        # strict=False: a raw tab or newline inside a string (a server that does not escape
        # them, or a piece split over `data:` lines) is text, not a reason to lose the answer.
        return json.loads(text, strict=False)
    except RecursionError:
        raise _malformed("JSON nested too deeply to read") from None


def event_values(data: str) -> list[Any]:
    """The JSON values of one event's data (`END` for an end marker); raises for data that is
    not JSON."""
    stripped = data.strip()
    if not stripped:
        return []
    if is_end_marker(stripped):
        return [END]
    try:
        return [_load(stripped)]
    except ValueError:
        pass
    try:  # several envelopes in one event, one per `data:` line
        return [_load(line) for line in stripped.splitlines() if line.strip()]
    except ValueError:
        pass
    if stripped.startswith("<"):
        raise MaviServerError(
            "MAVI answered with an HTML page instead of an answer (a proxy or gateway "
            "error page). Try again later; check base_url if it persists."
        )
    raise _malformed(f"an event that is not JSON: {stripped[:120]!r}")


def sendable(text: str) -> str:
    """`text` with any lone surrogate (a `\\ud800` escape in the reply's JSON) replaced by
    U+FFFD, so that the answer can be printed, encoded and sent back as history."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


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
        if not piece.isascii():
            piece = sendable(piece)
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
            if self._cumulative is None and not any(char.isalnum() for char in latest):
                # "**" then "**Summary": markdown opens many answers, so a first piece with no
                # letter or digit decides nothing; the next piece does (it repeats this one
                # only if the body is cumulative). Text is never dropped on a guess.
                self._latest = piece
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

    `feed()` and `finish()` return the new deltas (`ChatDelta` items, never empty ones). An
    error met in the stream (an error envelope, a malformed event, a bound exceeded) never costs
    the deltas before it: they are
    returned, the error is kept in `error`, and the next call raises it (a call with no delta
    to return raises at once). After an end marker, everything else is ignored and `done` is
    True. A reply that ends without any answer text is an error too.
    """

    __slots__ = ("_events", "_tracker", "done", "error", "events_seen", "texts_seen")
    needs_end_marker = False
    """v1.0 streams end when the server closes; the v1.2 dialect ends with `data:"Done"`."""
    tells_more = False
    """Whether a delta may carry more than text (v1.2: a session, refs, thinking)."""

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

    @property
    def max_body_bytes(self) -> int:
        return self._events.max_body

    def feed(self, chunk: bytes) -> list[ChatDelta]:
        if self.error is not None:
            raise self.error
        if self.done:
            return []
        if chunk.startswith(_FAST_HEAD) and chunk.endswith(_FAST_TAIL) and self._events.idle:
            piece = _fast_piece(chunk)
            if piece is not None:
                self.events_seen += 1
                self.texts_seen += 1
                text = self._tracker.push(piece)
                return [ChatDelta(text)] if text else []
        try:
            events = self._events.feed(chunk)
        except MaviError as error:
            return self._fail(error, [])
        return self._deltas(events)

    def finish(self) -> list[ChatDelta]:
        if self.error is not None:
            raise self.error
        if self.done:
            return []
        try:
            events = self._events.finish()
        except MaviError as error:
            return self._fail(error, [])
        deltas = self._deltas(events)
        if not self.done:
            self.done = True
            if self.needs_end_marker and self.events_seen:
                return self._fail(
                    MaviServerError(
                        'MAVI closed the stream without its end marker (data:"Done"): the '
                        "answer may be cut short. Ask again for a complete answer."
                    ),
                    deltas,
                )
            self._check_answered(deltas)
        return deltas

    def _deltas(self, events: list[str]) -> list[ChatDelta]:
        deltas: list[ChatDelta] = []
        for event in events:
            self.events_seen += 1
            try:
                for value in event_values(event):
                    delta = END if value is END else self._delta_of(value)
                    if delta is END:
                        self.done = True
                        self._check_answered(deltas)
                        return deltas
                    if isinstance(delta, tuple):  # a whole answer where events belong: the end
                        deltas += delta
                        self.done = True
                        return deltas
                    if delta is not None:
                        deltas.append(delta)  # type: ignore[arg-type]
            except MaviError as error:
                return self._fail(error, deltas)
        return deltas

    def _delta_of(self, value: Any) -> ChatDelta | tuple[ChatDelta, ...] | _End | None:
        """What one JSON value adds to the answer: a delta, None (nothing) or `END`; a dialect
        may read a whole answer (its deltas, in a tuple), which ends the reply."""
        piece = _piece_of(value)
        if piece is None:
            return None
        self.texts_seen += 1
        text = self._tracker.push(piece)  # type: ignore[arg-type]
        return ChatDelta(text) if text else None

    def _check_answered(self, deltas: list[ChatDelta]) -> None:
        if not self.events_seen:
            error: MaviError = MaviServerError(
                "MAVI closed the reply without sending any event. Try again; if it persists, "
                "check base_url."
            )
        elif not self.texts_seen:
            error = self._no_text()
        else:
            return
        self._fail(error, deltas)

    def _no_text(self) -> MaviServerError:
        return _malformed("a reply without any answer text")

    def _fail(self, error: MaviError, deltas: list[ChatDelta]) -> list[ChatDelta]:
        self.error = error
        self.done = True
        if not deltas:
            raise error
        return deltas


def reply_payloads(body: bytes, max_event_bytes: int | None = None) -> list[str]:
    """The `data` of each event of a reply read whole (the body itself when it is plain JSON),
    end markers left out."""
    limit = len(body) + 1
    events = EventDecoder(max_event_bytes or limit, limit)
    texts = events.feed(body) + events.finish()
    return [text for text in texts if not is_end_marker(text)]


def parse_json_reply(body: bytes) -> Any:
    """The `data` of a non-chat reply: a JSON envelope, bare or framed as a `data:` event (an
    end marker after it, as a server that frames every reply as a stream sends, ends it)."""
    return envelope_of(reply_payloads(body), body)


def envelope_of(texts: list[str], body: bytes) -> Any:
    """The `data` of the one envelope `texts` (`reply_payloads(body)`) must hold."""
    if not texts:
        if body.strip():
            raise _malformed(f"a reply without any JSON envelope: {body[:80]!r}")
        raise MaviServerError("MAVI answered with an empty body. Try again later.")
    if len(texts) > 1:
        raise _malformed(f"{len(texts)} events where one JSON reply belongs")
    try:
        envelope = _load(texts[0])
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
        raise _malformed(f"a JSON {_kind(envelope)} where an envelope object belongs")
    return envelope_data(envelope)


def broken_stream_error(
    error: MaviError, delivered: int, partial_text: str | None = None
) -> MaviStreamError:
    """The error for a reply that failed after `delivered` characters of its answer arrived.

    For a stream those characters reached the caller and are never repeated; for a whole
    answer (`chat()`) they travel in the error's `partial_text`. Never retried either way.
    """
    if isinstance(error, MaviStreamError):
        return error
    if partial_text is None:
        kept = (
            f"after {delivered} characters of the answer had been delivered; they are kept and "
            "will not be repeated. Ask again for a complete answer."
        )
    else:
        kept = (
            f"after {delivered} characters of the answer had arrived; they are in the error's "
            "`partial_text`. Ask again for a complete answer."
        )
    if isinstance(error, MaviTimeoutError):
        how = "reached its deadline" if "deadline" in error.message else "went silent"
        broken: MaviStreamError = MaviStreamTimeoutError(f"The stream {how} {kept} ({error})")
    elif isinstance(error, MaviAPIError):
        stream_class = next(
            (STREAM_ERRORS[kind] for kind in type(error).__mro__ if kind in STREAM_ERRORS),
            MaviStreamError,
        )
        if error.code is not None:
            what = f"MAVI ended the stream with error code {error.code} ({error.msg}) {kept}"
        else:
            what = f"The stream broke {kept} ({error})"
        broken = stream_class(
            what,
            code=error.code,
            msg=error.msg,
            status_code=error.status_code,
            retry_after=error.retry_after,
        )
    else:
        broken = MaviStreamError(f"The stream broke {kept} ({error})", msg=error.msg)
    broken.partial_text = partial_text
    return broken


@dataclass(slots=True)
class StreamProgress:
    """What of an answer reached the caller; shared by a stream and its operation only.

    `delivered` counts characters and `items` deltas (a v1.2 thinking or ref event has no text
    but was handed out all the same); `session_id`, `refs` and `thinking` gather what v1.2 events
    told so far."""

    delivered: int = 0
    items: int = 0
    ended: bool = False
    """The answer arrived whole (the operation returned)."""
    closed: bool = False
    """The caller closed the stream."""
    session_id: str | None = None
    refs: list[VideoRef] = field(default_factory=list)
    thinking: list[Thinking] = field(default_factory=list)

    def note(self, delta: ChatDelta) -> None:
        if delta.session_id is not None:
            self.session_id = delta.session_id
        if delta.refs:
            self.refs.extend(delta.refs)
        if delta.thinking is not None:
            self.thinking.append(delta.thinking)


class _Finish:
    """The end of a body, after any decompressed remainder."""


FINISH: Final = _Finish()


def pieces(raw: bytes | None, content: ContentDecoder | None) -> Iterable[bytes | _Finish]:
    """A raw chunk decompressed (`content`: the reply's encoding, None for none); None, the end
    of the body, gives what the decompressor held back, then `FINISH`."""
    if raw is None:
        return (*content.flush(), FINISH) if content is not None else (FINISH,)
    return (raw,) if content is None else content.decode(raw)


class BodyReader:
    """A reply read whole: raw chunks in (None at the end), up to `limit` bytes kept; beyond
    it, the first `limit` bytes (`truncate`) or an error. `ended` once it needs no more."""

    __slots__ = ("_body", "_check", "_content", "_limit", "_truncate", "ended")

    def __init__(
        self,
        content: ContentDecoder | None,
        limit: int,
        check: Callable[[], None],
        truncate: bool = False,
    ) -> None:
        self._body = bytearray()
        self._content, self._limit, self._check, self._truncate = content, limit, check, truncate
        self.ended = False

    def step(self, raw: bytes | None) -> list[Any]:
        body, limit = self._body, self._limit
        for piece in pieces(raw, self._content):
            if piece is FINISH:
                continue
            body += piece  # type: ignore[arg-type]
            if len(body) > limit:
                if not self._truncate:
                    raise too_large("reply", limit, "max_response_bytes")
                del body[limit:]
                self.ended = True
                return []
        if raw is None:
            self.ended = True
        else:
            self._check()  # the call's deadline, between chunks
        return []

    @property
    def body(self) -> bytes:
        return bytes(self._body)


class AnswerReader:
    """A chat reply's raw chunks in (None at the end), the deltas for the caller out: each
    chunk decompressed, decoded (`ChatStreamDecoder`), counted in `progress`, and either
    handed out or, for a whole answer (`collect`), held in `text()` and bounded as the
    decoder's body is (`max_body_bytes`).

    `step` returns every delta a chunk completes, even when an error follows them; the error
    stays in `decoder.error` (`raise_error`). `ended` once the reply needs no more reading."""

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
        self.collect, self._limit, self._size = collect, decoder.max_body_bytes, 0
        self._parts: list[str] = []
        self.tells_more = decoder.tells_more  # events may carry a session, refs
        self.ended = False

    def step(self, raw: bytes | None) -> list[ChatDelta]:
        decoder = self.decoder
        if raw is not None and self._due is not None and self._clock() > self._due:
            self._check()
        if raw is not None and self._content is None:
            # The common case: one event, as it came.
            deltas = self._feed(raw) if self.collect else decoder.feed(raw)
        else:
            deltas = []
            for piece in pieces(raw, self._content):
                deltas += decoder.finish() if piece is FINISH else self._feed(piece)  # type: ignore[arg-type]
                if decoder.error is not None or decoder.done:
                    break
        progress = self.progress
        for delta in deltas:
            progress.delivered += len(delta.text)
            if self.tells_more and (
                delta.session_id != progress.session_id or delta.refs or delta.thinking is not None
            ):  # a content event repeats the session it belongs to: nothing new
                progress.note(delta)
        progress.items += len(deltas)
        if raw is None or decoder.done or decoder.error is not None:
            self.ended = True
        if self.collect:
            self._parts.extend([delta.text for delta in deltas])
            return []
        return deltas

    def _feed(self, piece: bytes) -> list[ChatDelta]:
        if self.collect:  # chat(): the whole answer is held, so bound it
            self._size += len(piece)
            if self._size > self._limit:
                raise too_large("reply", self._limit, "max_response_bytes")
        return self.decoder.feed(piece)

    def raise_error(self) -> None:
        """Raises the error the reply ended with, once every delta before it was handed out."""
        if self.decoder.error is not None:
            raise self.decoder.error

    def text(self) -> str:
        """What a whole answer (`collect`) held so far."""
        return "".join(self._parts)
