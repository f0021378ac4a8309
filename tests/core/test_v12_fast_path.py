"""The v1.2 decoder's fast path (one compact content event per chunk, the shape the service
streams) gives exactly what the general path gives, for any text and session id."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mavi_core import ChatDelta
from mavi_core._v12 import V12StreamDecoder


def content_event(piece: str, session: object) -> bytes:
    event = {"type": "content", "content": piece, "sessionId": session}
    return b"data:" + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


def decode(chunks: list[bytes]) -> list[ChatDelta]:
    decoder = V12StreamDecoder()
    deltas = [delta for chunk in chunks for delta in decoder.feed(chunk)]
    return deltas + decoder.feed(b'data:"Done"\n\n')


sessions = st.one_of(st.integers(min_value=0, max_value=2**63), st.from_regex(r"\A[0-9]{1,20}\Z"))


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(st.text(max_size=12), min_size=1, max_size=6), session=sessions)
def test_fast_path_agrees_with_the_general_path(pieces: list[str], session: object) -> None:
    events = [content_event(piece, session) for piece in pieces]
    # Split in two, no chunk is a whole event: only the general path reads them.
    split = [part for event in events for part in (event[:3], event[3:])]

    assert decode(events) == decode(split)


def test_fast_path_takes_the_services_shape() -> None:
    [delta] = V12StreamDecoder().feed(content_event("In ", 7251846039218475520))

    assert delta == ChatDelta("In ", session_id="7251846039218475520")
