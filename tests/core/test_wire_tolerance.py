"""Servers written independently of MAVI's own (docs/errors-and-wire.md:
the stream decoder, nothing lost, every reply an answer or a typed error). Each
network scenario runs through `MaviClient` and `AsyncMaviClient`."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from mavi_core import (
    AsyncMaviClient,
    MaviClient,
    MaviError,
    MaviRateLimitError,
    MaviServerError,
)
from mavi_core._stream import ChatStreamDecoder, parse_json_reply
from mavi_core._v12 import V12StreamDecoder
from tests.support.rawserver import Request, head, raw_server, reply
from tests.support.servers import KEY, v10_event, v12_event
from tests.support.wire import read_stream

pytestmark = pytest.mark.integration

BOM = b"\xef\xbb\xbf"
Script = Callable[[socket.socket, Request], None]


def _client(base_url: str, asynchronous: bool, **options: Any) -> Any:
    options.setdefault("max_retries", 1)
    client: Any = (AsyncMaviClient if asynchronous else MaviClient)(
        KEY, base_url=base_url, **options
    )
    if asynchronous:

        async def no_sleep(seconds: float) -> None:
            pass

        client._sleep = no_sleep
    else:
        client._sleep = lambda seconds: None
    return client


def stream(base_url: str, asynchronous: bool, into: list[str], **options: Any) -> None:
    """Reads one streamed answer into `into`; raises what the stream raises."""
    read_stream(_client(base_url, asynchronous, **options), into, timeout=60)


def chat(base_url: str, asynchronous: bool, **options: Any) -> Any:
    client = _client(base_url, asynchronous, **options)
    if not asynchronous:
        with client:
            return client.chat(["VI1"], "What happens?")

    async def go() -> Any:
        async with client:
            return await client.chat(["VI1"], "What happens?")

    return asyncio.run(asyncio.wait_for(go(), 60))


both = pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])


# 1. A body opening with a UTF-8 byte order mark: its first event was silently dropped (the
#    line did not start with `data`), and a plain JSON reply was refused.


@pytest.mark.parametrize("cut", [0, 1, 2, 3, 4])
def test_a_byte_order_mark_before_the_first_event_loses_no_text(cut: int) -> None:
    body = BOM + v10_event("Hello ") + b"\n\n" + v10_event("world") + b"\n\n"
    decoder = ChatStreamDecoder()
    deltas = decoder.feed(body[:cut]) + decoder.feed(body[cut:]) + decoder.finish()
    assert [delta.text for delta in deltas] == ["Hello ", "world"]


def test_a_json_reply_with_a_byte_order_mark_is_read() -> None:
    assert parse_json_reply(BOM + b'{"code":"0000","msg":"ok","data":{"a":1}}') == {"a": 1}


@both
def test_a_streamed_reply_with_a_byte_order_mark_hands_out_every_piece(asynchronous: bool) -> None:
    body = BOM + v10_event("Hello ") + b"\n\n" + v10_event("world") + b"\n\n"

    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, body, "Content-Type: text/event-stream; charset=utf-8")

    received: list[str] = []
    with raw_server(script) as server:
        stream(server.base_url, asynchronous, received)
    assert received == ["Hello ", "world"]


@both
def test_a_whole_answer_with_a_byte_order_mark_is_read(asynchronous: bool) -> None:
    def script(conn: socket.socket, request: Request) -> None:
        body = BOM + b'{"code":"0000","msg":"success","data":{"msg":"Hello world"}}'
        reply(conn, body, "Content-Type: application/json")

    with raw_server(script) as server:
        assert chat(server.base_url, asynchronous).text == "Hello world"


# 2. CR-only line ends: a CR ending a chunk was held as maybe the first half of a CRLF, so an
#    event's closing blank line waited for the next chunk. Cut at every byte, nothing was handed
#    out before the body ended; a v1.2 stream whose `data:"Done"` ended a chunk waited for the
#    server to close, and a server holding the connection open made a whole answer a timeout.


@pytest.mark.parametrize("end", [b"\r", b"\n", b"\r\n"], ids=["cr", "lf", "crlf"])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_each_event_is_handed_out_once_its_blank_line_arrived(end: bytes, size: int) -> None:
    pieces = ["héllo ", "wörld ", "日本"]
    events = [v10_event(piece) + end + end for piece in pieces]
    decoder = ChatStreamDecoder()
    received: list[str] = []
    body = b"".join(events)
    done_at = [sum(len(e) for e in events[: i + 1]) for i in range(len(events))]
    for start in range(0, len(body), size):
        received += [delta.text for delta in decoder.feed(body[start : start + size])]
        # Every event whose blank line is in is handed out: none waits for the next chunk (a
        # CRLF's blank line is complete at its CR, so an event may come one byte early).
        arrived = sum(1 for at in done_at if at <= start + size)
        assert received in (pieces[:arrived], pieces[: arrived + 1])
    assert decoder.finish() == []
    assert "".join(received) == "".join(pieces)


def test_a_crlf_cut_between_its_cr_and_lf_is_one_line_end() -> None:
    decoder = ChatStreamDecoder()
    first = decoder.feed(v10_event("a") + b"\r")
    # The LF completes the CRLF (not a blank line); the next CRLF ends the event.
    assert first == []
    assert [d.text for d in decoder.feed(b"\n") + decoder.feed(b"\r\n")] == ["a"]
    second = decoder.feed(v10_event("b") + b"\r\n\r") + decoder.feed(b"\n")
    assert [d.text for d in second] == ["b"]


def test_a_v12_stream_ending_with_cr_ends_at_its_done() -> None:
    decoder = V12StreamDecoder()
    deltas = decoder.feed(v12_event("Hi") + b"\r\r") + decoder.feed(b'data:"Done"\r\r')
    assert [delta.text for delta in deltas] == ["Hi"]
    assert decoder.done and decoder.error is None


@both
def test_a_cr_framed_v12_stream_is_whole_though_the_server_keeps_the_connection(
    asynchronous: bool,
) -> None:
    def script(conn: socket.socket, request: Request) -> None:
        conn.sendall(head("200 OK", "Content-Type: text/event-stream") + v12_event("Hi") + b"\r\r")
        time.sleep(0.1)
        conn.sendall(b'data:"Done"\r\r')
        time.sleep(8)  # keeps the connection open; the answer is whole already

    received: list[str] = []
    with raw_server(script) as server:
        stream(server.base_url, asynchronous, received, api_version="v1.2", timeout=4)
    assert received == ["Hi"]


# 3. An HTTP error whose body the client cannot read (a proxy's brotli page, corrupt gzip): the
#    decoding error replaced the status, so a 429 lost its class and its Retry-After and a 503
#    was not retried.


@both
@pytest.mark.parametrize(
    ("status", "encoding", "body", "error_class"),
    [
        ("429 Too Many Requests", "br", b"\x0b\x02\x80<html>slow down</html>", MaviRateLimitError),
        ("503 Service Unavailable", "gzip", b"\x1f\x8b\x08\x00garbage", MaviServerError),
        ("502 Bad Gateway", "deflate", b"\x78\x9cgarbage!", MaviServerError),
    ],
    ids=["429-br", "503-corrupt-gzip", "502-corrupt-deflate"],
)
def test_an_error_page_that_cannot_be_decoded_keeps_its_status(
    asynchronous: bool, status: str, encoding: str, body: bytes, error_class: type[MaviError]
) -> None:
    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, body, f"Content-Encoding: {encoding}", "Retry-After: 1", status=status)

    with raw_server(script) as server:
        with pytest.raises(error_class) as caught:
            chat(server.base_url, asynchronous)
        assert len(server.requests) == 2  # retried once, as its status asks
    assert caught.value.status_code == int(status[:3])
    assert "could not read" in str(caught.value)
    if error_class is MaviRateLimitError:
        assert caught.value.retry_after == 1


# 4. A server trickling a reply's head (its status line and headers) a byte at a time: httpx's
#    read timeout restarts with every byte and the deadline was checked only between reads of
#    the body, so the call lasted as long as the server liked, far past its `deadline`.


def _trickled_head(conn: socket.socket, request: Request) -> None:
    if b"fast" in request.body:
        body = v10_event("ok") + b"\n\n"
        conn.sendall(head("200 OK", length=len(body)) + body)
        return
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(400):  # 100 s: far longer than the deadline
        conn.sendall(b"X")
        time.sleep(0.25)


@both
@pytest.mark.timeout(60)
def test_a_reply_head_trickled_a_byte_at_a_time_ends_at_the_deadline(asynchronous: bool) -> None:
    from mavi_core import MaviTimeoutError

    with raw_server(_trickled_head) as server:
        client = _client(server.base_url, asynchronous, deadline=1.5, timeout=1)
        started = time.monotonic()

        async def both_calls() -> tuple[BaseException | None, str]:
            async with client:
                try:
                    await client.chat(["VI1"], "slow")
                except MaviError as error:
                    failed: BaseException | None = error
                else:
                    failed = None
                return failed, (await client.chat(["VI1"], "fast")).text

        if asynchronous:
            failed, after = asyncio.run(asyncio.wait_for(both_calls(), 50))
        else:
            with client:
                with pytest.raises(MaviError) as caught:
                    client.chat(["VI1"], "slow")
                failed, after = caught.value, client.chat(["VI1"], "fast").text
        assert time.monotonic() - started < 20  # not the 100 s the server trickles for
    assert isinstance(failed, MaviTimeoutError)
    assert "deadline of 1.5 s" in str(failed)
    assert after == "ok"  # the pool still works


# 5. A server echoing the key in a request-id header: the error's `request_id` carried it
#    unmasked (messages and the service's text were masked, that attribute was not).


@both
@pytest.mark.parametrize("status", ["400 Bad Request", "200 OK"])
def test_a_key_echoed_in_the_request_id_header_is_masked(asynchronous: bool, status: str) -> None:
    def script(conn: socket.socket, request: Request) -> None:
        echoed = request.header("authorization")
        body = b'{"code":"0003","msg":"bad request"}'
        reply(conn, body, f"X-Request-Id: req-{echoed}", status=status)

    with raw_server(script) as server:
        with pytest.raises(MaviError) as caught:
            chat(server.base_url, asynchronous)
    error = caught.value
    assert error.request_id is not None and error.request_id.startswith("req-")
    assert KEY not in repr(vars(error)) and KEY[:8] not in str(error.request_id)


# 6. A raw control character inside a JSON string (a tab in a table-like answer, from a server
#    that does not escape it; a piece split over `data:` lines): strict JSON refused the event,
#    and the whole answer was lost to "MAVI sent an event that is not JSON".


def test_a_raw_tab_inside_a_v10_piece_is_text() -> None:
    decoder = ChatStreamDecoder()
    body = b'data:{"code":"0000","msg":"success","data":{"msg":"col1\tcol2"}}\n\n'
    assert [delta.text for delta in decoder.feed(body) + decoder.finish()] == ["col1\tcol2"]


def test_a_v12_piece_split_over_data_lines_keeps_its_line_break() -> None:
    decoder = V12StreamDecoder()
    body = (
        b'data:{"type":"content","role":"assistant","content":"a\tb","sessionId":"1"}\n\n'
        b'data:{"type":"content","role":"assistant","content":"line1\ndata:line2",'
        b'"sessionId":"1"}\n\n'
        b'data:"Done"\n\n'
    )
    deltas = decoder.feed(body) + decoder.finish()
    assert [delta.text for delta in deltas] == ["a\tb", "line1\nline2"]


def test_a_json_reply_with_a_raw_tab_is_read() -> None:
    assert parse_json_reply(b'{"code":"0000","data":{"name":"a\tb"}}') == {"name": "a\tb"}


# 7. A session id of thousands of digits from the server was kept (as it is digits), and the
#    next turn, sending it back, raised a bare ValueError (Python converts at most 4300 digits
#    to an integer) instead of a MaviError.


@pytest.mark.parametrize("quoted", [False, True], ids=["number", "string"])
@pytest.mark.parametrize("split", [False, True], ids=["one-chunk", "split"])
def test_a_session_id_of_thousands_of_digits_is_a_typed_error(quoted: bool, split: bool) -> None:
    session = "9" * (5000 if quoted else 4000)  # JSON numbers: Python reads up to 4300 digits
    value = f'"{session}"' if quoted else session
    head = b'data:{"type":"content","role":"assistant","content":"Hi","sessionId":'
    event = head + value.encode() + b"}\n\n"
    decoder = V12StreamDecoder()
    with pytest.raises(MaviServerError, match="session id"):
        if split:
            decoder.feed(event[:100])
            decoder.feed(event[100:])
        else:
            decoder.feed(event)
        decoder.finish()


@pytest.mark.parametrize("as_int", [False, True], ids=["string", "int"])
def test_a_session_id_too_long_to_send_is_refused_before_any_request(as_int: bool) -> None:
    from mavi_core import MaviValidationError
    from mavi_core._v12 import build_v12_body

    session_id: Any = 10**5000 if as_int else "9" * 5000

    with pytest.raises(MaviValidationError, match="session_id"):
        build_v12_body(["VI1"], "And then?", None, session_id)


# 8. A reply read whole, framed as an event and followed by an end marker (a server that frames
#    every reply as a stream): v1.2's chat() said "a reply without any answer text", and every
#    JSON endpoint "2 events where one JSON reply belongs".

V12_ANSWER = {
    "code": "0000",
    "msg": "success",
    "data": {
        "role": "ASSISTANT",
        "content": "The harbor wakes.",
        "thinkings": [],
        "refs": [],
        "session_id": "123",
    },
}


@pytest.mark.parametrize("end", [b'data:"Done"\n\n', b"data:[DONE]\r\n\r\n"], ids=["Done", "DONE"])
def test_a_v12_answer_framed_as_an_event_then_an_end_marker_is_read(end: bytes) -> None:
    from mavi_core._v12 import parse_v12_reply

    body = b"data: " + json.dumps(V12_ANSWER).encode() + b"\n\n" + end
    answer = parse_v12_reply(body, ["VI1"], 1 << 20)
    assert (answer.text, answer.session_id) == ("The harbor wakes.", "123")


@both
def test_a_json_endpoint_framed_as_an_event_then_an_end_marker_is_read(asynchronous: bool) -> None:
    def script(conn: socket.socket, request: Request) -> None:
        envelope = {"code": "0000", "msg": "success", "data": {"videos": [], "total": 0}}
        body = b"data:" + json.dumps(envelope).encode() + b"\n\ndata:[DONE]\n\n"
        reply(conn, body, "Content-Type: text/event-stream")

    with raw_server(script) as server:
        client = _client(server.base_url, asynchronous)
        if asynchronous:

            async def go() -> Any:
                async with client:
                    return await client.search_videos("harbor")

            assert asyncio.run(go()) == []
        else:
            with client:
                assert client.search_videos("harbor") == []


def test_an_end_marker_alone_is_still_no_reply() -> None:
    with pytest.raises(MaviServerError, match="without any JSON envelope"):
        parse_json_reply(b'data:"Done"\n\n')
