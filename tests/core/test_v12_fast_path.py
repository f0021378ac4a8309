"""The v1.2 decoder's fast path (one compact content event per chunk, in the shape the service
documents: tests/data/wire_samples/v1.2/chat_stream.sse) gives exactly what the general path
gives, for any text and session id."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mavi_core import ChatDelta
from mavi_core._v12 import V12StreamDecoder


def content_event(piece: str, session: object, *, ascii_only: bool = True) -> bytes:
    event = {"type": "content", "role": "assistant", "content": piece, "sessionId": session}
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=ascii_only)
    return b"data:" + text.encode("utf-8", "surrogatepass") + b"\n\n"


def decode(chunks: list[bytes]) -> list[ChatDelta]:
    decoder = V12StreamDecoder()
    deltas = [delta for chunk in chunks for delta in decoder.feed(chunk)]
    return deltas + decoder.feed(b'data:"Done"\n\n')


def outcome(chunks: list[bytes]) -> object:
    """The deltas, or the class of the error (both paths must fail alike: an answer of empty
    pieces has no text, a malformed event is malformed)."""
    try:
        return decode(chunks)
    except Exception as error:
        return type(error)


sessions = st.one_of(st.integers(min_value=0, max_value=2**63), st.from_regex(r"\A[0-9]{1,20}\Z"))


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.text(max_size=12), min_size=1, max_size=6),
    session=sessions,
    ascii_only=st.booleans(),
)
def test_fast_path_agrees_with_the_general_path(
    pieces: list[str], session: object, ascii_only: bool
) -> None:
    # Raw UTF-8 (a Java service's default) or \u escapes; quotes, backslashes, control
    # characters and lone surrogates included.
    events = [content_event(piece, session, ascii_only=ascii_only) for piece in pieces]
    # Split in two, no chunk is a whole event: only the general path reads them.
    split = [part for event in events for part in (event[:3], event[3:])]

    assert outcome(events) == outcome(split)


def test_fast_path_takes_the_services_shape() -> None:
    event = content_event("In ", "7251846039218475520")
    assert event == (
        b'data:{"type":"content","role":"assistant","content":"In ",'
        b'"sessionId":"7251846039218475520"}\n\n'
    )
    [delta] = V12StreamDecoder().feed(event)

    assert delta == ChatDelta("In ", session_id="7251846039218475520")


@settings(max_examples=300, deadline=None)
@given(
    content=st.binary(max_size=24).filter(lambda raw: b"\n" not in raw and b"\r" not in raw),
    session=st.from_regex(rb"\A[0-9]{0,4}\Z"),
)
def test_any_bytes_in_the_content_slot_agree_too(content: bytes, session: bytes) -> None:
    head = b'data:{"type":"content","role":"assistant","content":"'
    event = head + content + b'","sessionId":"' + session + b'"}\n\n'
    split = [event[:3], event[3:]]

    assert outcome([event]) == outcome(split)
