"""The `data:` reply decoder: every framing variant of docs/errors-and-wire.md,
bytes in, deltas out."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mavi_core import (
    ChatDelta,
    MaviAuthenticationError,
    MaviInvalidRequestError,
    MaviRateLimitError,
    MaviServerError,
)
from mavi_core._stream import ChatStreamDecoder, DeltaTracker, EventDecoder, parse_json_reply


def envelope(piece: str, code: str = "0000") -> str:
    return json.dumps({"code": code, "msg": "success", "data": {"msg": piece}})


def sse(pieces: list[str], *, sep: str = "\n", space: str = "", end: str | None = None) -> bytes:
    events = [f"data:{space}{envelope(p)}{sep}{sep}" for p in pieces]
    if end is not None:
        events.append(f"data:{end}{sep}{sep}")
    return "".join(events).encode()


def texts(deltas: list[ChatDelta]) -> list[str]:
    assert all(delta.text for delta in deltas)  # a delta always brings text
    return [delta.text for delta in deltas]


def decode(body: bytes, chunk_size: int | None = None) -> list[str]:
    decoder = ChatStreamDecoder()
    deltas: list[str] = []
    size = chunk_size or max(len(body), 1)
    for start in range(0, len(body), size):
        deltas += texts(decoder.feed(body[start : start + size]))
    return deltas + texts(decoder.finish())


PIECES = ["The ", "harbor ", "wakes ", "at 00:12."]


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("no space after data:", sse(PIECES)),
        ("one space after data:", sse(PIECES, space=" ")),
        ("CRLF line ends", sse(PIECES, sep="\r\n")),
        ("CR line ends", sse(PIECES, sep="\r")),
        ("end marker Done", sse(PIECES, end='"Done"')),
        ("end marker [DONE]", sse(PIECES, end="[DONE]")),
        ("no blank line after the last event", sse(PIECES).rstrip(b"\n")),
        (
            "comment lines",
            b": keep-alive\n\n" + sse(PIECES[:2]) + b":ping\n" + sse(PIECES[2:]),
        ),
        (
            "event and id fields",
            b"".join(b"event: message\nid: 1\n" + sse([p]) for p in PIECES),
        ),
    ],
)
def test_framing_variants_decode_to_the_same_deltas(name: str, body: bytes) -> None:
    assert decode(body) == PIECES, name


def test_several_data_lines_of_one_json_are_joined() -> None:
    text = envelope("Hello")
    split = text.index('"data"')
    body = f"data:{text[:split]}\ndata:{text[split:]}\n\n".encode()
    assert decode(body) == ["Hello"]


def test_several_envelopes_in_one_event_each_count() -> None:
    body = f"data:{envelope('a')}\ndata:{envelope('b')}\n\n".encode()
    assert decode(body) == ["a", "b"]


def test_plain_json_envelope_instead_of_events() -> None:
    body = json.dumps({"code": "0000", "msg": "success", "data": {"msg": "whole answer"}})
    assert decode(body.encode(), chunk_size=3) == ["whole answer"]


def test_pretty_printed_json_envelope() -> None:
    body = json.dumps({"code": "0000", "data": {"msg": "pretty"}}, indent=2).encode()
    assert decode(b"\n " + body, chunk_size=5) == ["pretty"]


def test_cumulative_pieces_become_deltas() -> None:
    body = sse(["The", "The harbor", "The harbor wakes", "The harbor wakes."])
    assert decode(body) == ["The", " harbor", " wakes", "."]


def test_cumulative_repeat_adds_nothing() -> None:
    body = sse(["The", "The harbor", "The harbor", "The harbor wakes"])
    assert decode(body) == ["The", " harbor", " wakes"]


def test_markdown_that_opens_an_answer_is_not_taken_for_a_cumulative_body() -> None:
    body = sse(["**", "**Summary**", " of the harbor", "\n- ", "- tug leaves"])
    assert decode(body) == ["**", "**Summary**", " of the harbor", "\n- ", "- tug leaves"]


def test_a_cumulative_body_that_opens_with_markup_is_still_detected() -> None:
    # docs/errors-and-wire.md, "The stream decoder": the opening markup decides nothing, so it
    # is delivered twice; everything after it is turned into deltas.
    body = sse(["## ", "## Harbor", "## Harbor wakes", "## Harbor wakes."])
    assert decode(body) == ["## ", "## Harbor", " wakes", "."]


def test_delta_pieces_that_repeat_are_kept() -> None:
    assert decode(sse(["\n", "\n", "ok"])) == ["\n", "\n", "ok"]


def test_text_after_end_marker_is_ignored() -> None:
    body = sse(["a"], end='"Done"') + sse(["ignored"])
    decoder = ChatStreamDecoder()
    assert texts(decoder.feed(body)) == ["a"]
    assert decoder.done
    assert decoder.finish() == []


def test_multibyte_characters_split_across_chunks() -> None:
    assert decode(sse(["café ", "日本語"]), chunk_size=1) == ["café ", "日本語"]


def test_error_envelope_raises_the_mapped_error() -> None:
    body = b'data:{"code":"0429","msg":"Request has exceeded the limit."}\n\n'
    decoder = ChatStreamDecoder()
    with pytest.raises(MaviRateLimitError) as caught:
        decoder.feed(body)
    assert caught.value.code == "0429"
    assert caught.value.msg == "Request has exceeded the limit."


def test_pieces_before_an_error_in_the_same_chunk_are_returned_then_it_is_raised() -> None:
    body = (
        sse(["a", "b", "c"]) + b'data:{"code":"0429","msg":"Request has exceeded the limit."}\n\n'
    )
    decoder = ChatStreamDecoder()
    assert texts(decoder.feed(body)) == ["a", "b", "c"]
    assert isinstance(decoder.error, MaviRateLimitError)
    with pytest.raises(MaviRateLimitError):
        decoder.feed(b"")
    with pytest.raises(MaviRateLimitError):
        decoder.finish()


def test_plain_json_error_envelope_raises() -> None:
    with pytest.raises(MaviAuthenticationError):
        decode(b'{"code":"0401","msg":"token expired"}')


def test_bare_string_error_of_the_newer_api_raises_by_what_it_says() -> None:
    with pytest.raises(MaviInvalidRequestError, match="Video is not parsed"):
        decode(b'data:"Video is not parsed"\n\n')


def test_newer_api_content_events_are_read() -> None:
    body = b'data:{"type":"thinking","title":"t"}\n\ndata:{"type":"content","content":"Hi"}\n\n'
    assert decode(body + b'data:"Done"\n\n') == ["Hi"]


def test_event_that_is_not_json_is_a_server_error() -> None:
    with pytest.raises(MaviServerError, match="not JSON"):
        decode(b"data:hello there\n\n")


def test_html_page_is_a_server_error() -> None:
    with pytest.raises(MaviServerError, match="HTML"):
        decode(b"<html><body>502 Bad Gateway</body></html>")


def test_empty_body_is_a_server_error() -> None:
    with pytest.raises(MaviServerError, match="without sending any event"):
        decode(b"")


def test_success_code_spelled_success_is_accepted() -> None:
    body = b'data:{"code":"SUCCESS","data":{"msg":"ok"}}\n\n'
    assert decode(body) == ["ok"]


def test_event_decoder_keeps_a_trailing_cr_for_the_next_chunk() -> None:
    events = EventDecoder()
    assert events.feed(b"data:1\r") == []
    assert events.feed(b"\n\r\n") == ["1"]


def test_delta_tracker_deltas_join_to_the_answer() -> None:
    tracker = DeltaTracker()
    assert "".join(tracker.push(piece) for piece in ["a", "ab", "abc"]) == "abc"
    plain = DeltaTracker()
    assert "".join(plain.push(piece) for piece in ["a", "b", "ab"]) == "abab"


def test_json_reply_may_be_framed_as_an_event() -> None:
    assert parse_json_reply(b'data: {"code":"0000","data":{"videos":[]}}\n\n') == {"videos": []}
    assert parse_json_reply(b'{"code":"0000","data":{"accessToken":"x"}}') == {"accessToken": "x"}


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=12),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=30),
    crlf=st.booleans(),
    space=st.booleans(),
)
def test_any_chunking_decodes_to_the_same_deltas(
    pieces: list[str], cuts: list[int], crlf: bool, space: bool
) -> None:
    body = sse(pieces, sep="\r\n" if crlf else "\n", space=" " if space else "")
    whole = decode(body)
    decoder = ChatStreamDecoder()
    chunked: list[str] = []
    previous = 0
    for cut in [*sorted({c % (len(body) + 1) for c in cuts}), len(body)]:
        chunked += texts(decoder.feed(body[previous:cut]))
        previous = cut
    chunked += texts(decoder.finish())
    assert chunked == whole
    assert "".join(chunked) == "".join(whole)


def compact_event(piece: str) -> bytes:
    envelope = {"code": "0000", "msg": "success", "data": {"msg": piece}}
    return b"data:" + json.dumps(envelope, separators=(",", ":")).encode() + b"\n\n"


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=10))
def test_one_event_per_chunk_decodes_like_the_whole_body(pieces: list[str]) -> None:
    chunks = [compact_event(piece) for piece in pieces]
    decoder = ChatStreamDecoder()
    one_by_one = [delta for chunk in chunks for delta in decoder.feed(chunk)] + decoder.finish()
    assert texts(one_by_one) == decode(b"".join(chunks))


def test_a_chunk_with_two_compact_events_is_not_taken_for_one() -> None:
    decoder = ChatStreamDecoder()
    assert decoder.feed(b"data:" + b"\n\n") == []  # starts the body as events
    assert texts(decoder.feed(compact_event('a"}}') + compact_event("b"))) == ['a"}}', "b"]
