"""The v1.2 chat API: request bodies, session ids, replies, stream events and sessions. Pure,
no I/O. The shapes (tests/data/wire_samples/v1.2/ holds a reply of each) and the rules:
docs/v1.2.md#the-chat-on-the-wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ._envelope import envelope_data, error_for_message, kind_of
from ._exceptions import MaviError, MaviInvalidRequestError, MaviServerError, MaviValidationError
from ._models import (
    ChatAnswer,
    ChatDelta,
    ChatSession,
    SessionDetail,
    StoredMessage,
    Thinking,
    VideoRef,
)
from ._request import ApiCall, HistoryInput, build_chat_body, check_text
from ._stream import END, ChatStreamDecoder, _End, broken_stream_error, is_end_marker
from ._videos import Pages, _field, _items, _millis_to_datetime, _number, given, is_whole, span

HISTORY_HEADER: Final = "Conversation so far:"
_KINDS: Final = frozenset({"keyframe", "visual_ts", "audio_ts"})
_ANSWER_KEYS: Final = frozenset({"content", "thinkings", "refs", "role"})  # a `/chat` answer's
DEFAULT_UNIQUE_ID: Final = "default"  # the namespace of a request that names none
_MAX_SESSION_DIGITS: Final = 40  # ids have 19; int() could not send back one of 4300+
_TOO_LONG: Final = 10**_MAX_SESSION_DIGITS


def normalize_session_id(value: object) -> str | None:
    """A session id as a string of digits (it exceeds 53 bits: never a float), or None."""
    if value is None:
        return None
    if is_whole(value, 0, _TOO_LONG - 1):
        return str(value)
    digits = value.strip() if isinstance(value, str) else ""
    if digits.isascii() and digits.isdigit() and len(digits) <= _MAX_SESSION_DIGITS:
        return digits
    too_long = isinstance(value, int) and abs(value) >= _TOO_LONG
    shown = "a longer number" if too_long else repr(value)[:60]
    raise MaviValidationError(
        "session_id must be the session id a v1.2 answer returned (digits, at most "
        f"{_MAX_SESSION_DIGITS}), got {shown}."
    )


def fold_history(turns: list[dict[str, str]], message: str) -> str:
    """`message` after the earlier turns, for a v1.2 request without a session (docs/v1.2.md)."""
    speakers = (("User", "user"), ("Assistant", "robot"))
    lines = [f"{who}: {turn[key]}" for turn in turns for who, key in speakers if turn[key]]
    return "\n".join([HISTORY_HEADER, *lines, "", message]) if turns else message


def build_v12_body(
    video_nos: object,
    message: object,
    history: HistoryInput,
    session_id: object = None,
    unique_id: object = None,
) -> dict[str, Any]:
    """`{video_nos, prompt}`, plus `session_id` (a JSON integer) and `unique_id` when given;
    without a session the earlier turns are folded into `prompt`."""
    body = build_chat_body(video_nos, message, history, stream=False)  # v1.0's checks
    prompt, session = body["message"], normalize_session_id(session_id)
    return given(
        video_nos=body["videoNos"],
        prompt=prompt if session is not None else fold_history(body["history"], prompt),
        session_id=None if session is None else int(session),
        unique_id=None if unique_id is None else check_unique_id(unique_id),
    )


def _malformed(what: str) -> MaviServerError:
    return MaviServerError(
        f"MAVI sent {what}; that is not a reply the v1.2 chat API gives. Check base_url and "
        "api_version."
    )


def _text(value: object, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _malformed(f"{what} that is a {type(value).__name__}, not a string")
    return value


def _objects(value: object, what: str) -> list[Mapping[str, Any]]:
    items = value or []
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise _malformed(f"{what} that is not a list of objects")
    return items


def _session_of(value: Mapping[str, Any]) -> str | None:
    raw = value.get("sessionId", value.get("session_id"))
    try:
        return normalize_session_id(raw)  # a float or a bool is no session id
    except MaviValidationError:
        raise _malformed(f"a session id {str(raw)[:40]!r}") from None


MAX_MOMENT_SECONDS: Final = 1e9  # 31 years; the adapters' citations need its milliseconds finite


def moment_time(value: object) -> float | None:
    """Seconds of a ref time that points at a moment: a finite number (or a string of one)
    from 0 to `MAX_MOMENT_SECONDS`; None for anything else ("NaN", 1e400, 1.7e308, -5)."""
    number = _number(value)
    return number if number is not None and 0 <= number <= MAX_MOMENT_SECONDS else None


def _ref_list(value: object, what: str) -> list[VideoRef]:
    """The moments of a `ref` / `refs` list: a `VideoRef` per item with a moment (`moment_time`)."""
    refs = []
    for ref in _objects(value, what):
        video = ref.get("video")
        if not isinstance(video, Mapping):
            raise _malformed("a ref without its 'video' object")
        video_no = _text(video.get("video_no"), "a ref's video_no")
        name = _text(video.get("video_name"), "a ref's video_name")
        duration = _number(video.get("duration"))
        for item in _objects(ref.get("refItems"), "a ref's refItems"):
            item_video = _text(item.get("videoNo"), "a ref item's videoNo") or video_no
            if not item_video:
                raise _malformed("a ref without a video_no")
            kind = _text(item.get("type"), "a ref item's type") or "visual_ts"
            times = span(item.get("startTime"), item.get("endTime"), moment_time)
            if times is None:
                continue  # no moment to point at
            refs.append(
                VideoRef(
                    video_no=item_video,
                    video_name=name,
                    start=times[0],
                    end=times[1],
                    kind=kind if kind in _KINDS else kind.lower(),
                    text=_text(item.get("text"), "a ref item's text"),
                    duration=duration,
                )
            )
    return refs


def _thinking(value: Mapping[str, Any]) -> Thinking:
    return Thinking(
        _text(value.get("title"), "a thinking title"),
        _text(value.get("content"), "a thinking content"),
    )


def _answer_of(data: Mapping[str, Any]) -> ChatAnswer:
    """An answer object as `/chat` and a session's messages write it, whatever its text."""
    steps = _objects(data.get("thinkings"), "an answer's thinkings")
    refs = _ref_list(data.get("refs"), "an answer's refs")
    for step in steps:
        refs += _ref_list(step.get("refs"), "a thinking step's refs")
    return ChatAnswer(
        text=_text(data.get("content"), "an answer's content"),
        session_id=_session_of(data),
        refs=tuple(dict.fromkeys(refs)),  # a moment cited twice is one moment
        thinking=tuple(_thinking(step) for step in steps),
    )


def parse_v12_reply(body: bytes, video_nos: list[str], max_event_bytes: int) -> ChatAnswer:
    """A `/serve/api/v1/chat` reply: one JSON envelope (bare or `data:`-framed), or, from a
    server that streams anyway, the events of a stream; read as a stream is, into one answer."""
    decoder = V12StreamDecoder(max_event_bytes, len(body) + 1)
    deltas: list[ChatDelta] = []
    try:
        deltas += decoder.feed(body)
        deltas += decoder.finish()
    except MaviError:
        pass  # kept in decoder.error, raised below with the text before it
    text = "".join(delta.text for delta in deltas)
    if decoder.error is not None:
        if not text:
            raise decoder.error
        # The text before it is not asked for again: the error carries it (docs/errors-and-wire.md).
        raise broken_stream_error(decoder.error, len(text), text) from decoder.error
    return ChatAnswer(
        text=text,
        video_nos=video_nos,
        session_id=next((d.session_id for d in reversed(deltas) if d.session_id), None),
        refs=tuple(ref for delta in deltas for ref in delta.refs),
        thinking=tuple(d.thinking for d in deltas if d.thinking is not None),
    )


class V12StreamDecoder(ChatStreamDecoder):
    """Bytes of a `/serve/api/v1/chat_stream` reply in, `ChatDelta` items out, by the v1.0
    decoder's rules; the end and the errors: docs/v1.2.md#the-chat-on-the-wire."""

    __slots__ = ()
    needs_end_marker = True
    tells_more = True
    empty_is_text = False  # only content with text is answer text: thinking alone is none
    _fast = (
        b'data:{"type":"content","role":"assistant","content":"',
        b'","sessionId":"',
        b'"}\n\n',
    )

    def _delta_of(self, value: Any) -> ChatDelta | tuple[ChatDelta, ...] | _End | None:
        if isinstance(value, Mapping) and "type" not in value and "code" in value:
            value = envelope_data(value)  # an event, "Done" or an error's words, or an answer
            if value is None or (isinstance(value, Mapping) and "type" not in value):
                if value and not _ANSWER_KEYS & value.keys() and _session_of(value):
                    return None  # no answer: only the session, as a bare object may tell it
                return self._whole_answer(value)  # the `/chat` reply, where events belong too
        if isinstance(value, str):  # "Done", or the service's error message
            if is_end_marker(value):
                return END
            raise error_for_message(value)
        if not isinstance(value, Mapping):
            raise _malformed(f"a JSON {kind_of(value)} where an event object belongs")
        kind = value.get("type")
        session = _session_of(value)
        if kind == "content":
            return self._text_delta(_text(value.get("content"), "a content event"), session)
        if kind == "thinking":  # its refs, if any, as a `/chat` answer's thinking steps hold them
            refs = tuple(_ref_list(value.get("refs"), "a thinking event's refs"))
            return ChatDelta("", thinking=_thinking(value), refs=refs, session_id=session)
        if kind == "ref":
            refs = tuple(_ref_list(value.get("ref"), "a ref event's ref"))
            return ChatDelta("", refs=refs, session_id=session)
        if isinstance(kind, str) or session is not None:
            return None  # an event type this client does not know: skipped
        raise _malformed("an object without a 'type' or a 'code'")

    def _whole_answer(self, data: Mapping[str, Any] | None) -> tuple[ChatDelta, ...]:
        """A `/chat` reply's `data`: its thinking steps, then its text and moments."""
        answer = _answer_of(data or {})
        if not answer.text:
            raise self._no_text()  # null, or only thinking and refs
        self.texts_seen += 1
        session = answer.session_id
        steps = [ChatDelta("", thinking=step, session_id=session) for step in answer.thinking]
        text = self._tracker.push(answer.text)  # the text of earlier events is not repeated
        return (*steps, ChatDelta(text, refs=answer.refs, session_id=session))

    def _no_text(self) -> MaviServerError:
        return MaviServerError(
            "MAVI ended the answer without any text (only thinking steps or references, or empty "
            "content). Ask again; if it persists, rephrase the question or check the videos."
        )


def check_unique_id(unique_id: object) -> str:
    """A namespace (`unique_id`) to send: a non-empty string; None means "default"."""
    if unique_id is None:
        return DEFAULT_UNIQUE_ID
    if not isinstance(unique_id, str) or not unique_id.strip():
        raise MaviValidationError(f"unique_id must be a non-empty string, got {unique_id!r}.")
    return check_text(unique_id, "unique_id")


def parse_session(item: Mapping[str, Any]) -> ChatSession:
    """A session as the service lists it (docs/v1.2.md#videos-and-sessions)."""
    session_id = _session_of(item)
    if session_id is None:
        raise _malformed("a session without a sessionId")
    videos = _field(item, "video_nos", "videoNos", "video_no", "videoNo")
    videos = [videos] if isinstance(videos, str) else videos
    video_nos = tuple(str(v) for v in videos) if isinstance(videos, list) else ()
    created = _field(item, "created_time", "create_time", "createTime", "createdTime")
    return ChatSession(
        session_id=session_id,
        title=str(_field(item, "title", "name") or ""),
        video_nos=video_nos,
        created_time=_millis_to_datetime(created),
    )


def parse_session_detail(data: object, session_id: str) -> SessionDetail:
    """A session's `title` and `messages` (an assistant's read as a `/chat` answer)."""
    if data is None:  # success without the session: the service has none of that id
        raise MaviInvalidRequestError(
            f"MAVI has no session {session_id} (it answered data: null). Check the session_id: "
            "an id from an earlier v1.2 answer of the same account and unique_id."
        )
    if not isinstance(data, Mapping):
        raise _malformed(f"a session detail whose data is a {type(data).__name__}")
    session = _session_of(data) or session_id
    stored = []
    for message in _objects(data.get("messages"), "a session detail's messages"):
        role = _text(message.get("role"), "a message's role").lower() or "user"
        content = _text(message.get("content"), "a message's content")
        # An assistant's is kept as stored, even without text.
        answer = _answer_of(message) if role == "assistant" else ChatAnswer("")
        stored.append(StoredMessage(role, content, answer.thinking, answer.refs, session))
    title = _text(data.get("title"), "a session's title")
    return SessionDetail(session_id=session, title=title, messages=tuple(stored))


@dataclass
class SessionPager(Pages):
    """Walks `GET /serve/api/v1/list_sessions`, always with `unique_id` (marked required)."""

    unique_id: str = DEFAULT_UNIQUE_ID

    def call(self) -> ApiCall:
        params = {"page": self.page, "unique_id": self.unique_id}
        return ApiCall("GET", "/serve/api/v1/list_sessions", params=params)

    def read(self, data: object) -> list[ChatSession]:
        sessions = [parse_session(item) for item in _items(data, "sessions", "items")]
        total = _number(_field(data, "total_count", "totalCount", "total"))
        page_size = _number(_field(data, "page_size", "pageSize", "size"))
        keys = [session.session_id for session in sessions]
        return sessions if self.turn(keys, total, page_size) else []
