"""v1.2 chat against servers written from the documentation, some of them hostile: every reply
is an answer or a typed `MaviError` saying what was wrong, and no text is lost
(docs/errors-and-wire.md)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from mavi_core import MaviClient, MaviInvalidRequestError, MaviServerError, MaviStreamError
from tests.support.rawserver import Request, raw_server, reply
from tests.support.servers import KEY

pytestmark = pytest.mark.integration

SESSION = "606120397607260160"


def _event(value: dict[str, Any]) -> bytes:
    return b"data:" + json.dumps(value).encode() + b"\n\n"


def _content(piece: str) -> dict[str, Any]:
    return {"type": "content", "role": "assistant", "content": piece, "sessionId": SESSION}


def _answering(body: bytes) -> Any:
    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, body, "Content-Type: text/event-stream;charset=UTF-8")

    return script


def _client(server: Any) -> MaviClient:
    return MaviClient(KEY, base_url=server.base_url, api_version="v1.2", max_retries=0)


def test_a_stream_closed_without_its_end_says_so_after_the_text_it_delivered() -> None:
    """The events arrive, then the server closes without `data:"Done"`: the text is kept and
    the error says the end marker is missing (not "an error (None)")."""
    body = _event(_content("A red tugboat ")) + _event(_content("leaves."))
    received: list[str] = []
    with raw_server(_answering(body)) as server, _client(server) as client:
        with pytest.raises(MaviStreamError) as caught:
            for delta in client.stream_chat(["VI1"], "What happens?"):
                received.append(delta.text)
    assert "".join(received) == "A red tugboat leaves."
    assert "end marker" in str(caught.value)
    assert "(None)" not in str(caught.value)


@pytest.mark.parametrize(
    "event",
    [
        # The documented ref event names its sessionId first; a server may do so for content.
        {"sessionId": SESSION, "type": "content", "role": "assistant", "content": "Hi there."},
        {"role": "assistant", "content": "Hi there.", "sessionId": SESSION, "type": "content"},
    ],
    ids=["session-first", "type-last"],
)
def test_a_chat_reply_of_one_event_is_read_whatever_the_order_of_its_keys(
    event: dict[str, Any],
) -> None:
    """`/chat` answered as a stream of one content event and `data:"Done"` gives that answer,
    whichever key the event names first (JSON objects have no order)."""
    body = _event(event) + b'data:"Done"\n\n'
    with raw_server(_answering(body)) as server, _client(server) as client:
        answer = client.chat(["VI1"], "Hello?")
    assert answer.text == "Hi there."
    assert answer.session_id == SESSION


def test_a_chat_reply_of_one_spaced_event_is_read() -> None:
    body = b'data: { "type": "content", "content": "Hi there.", "sessionId": "7" }\n\n'
    body += b'data: "Done"\n\n'
    with raw_server(_answering(body)) as server, _client(server) as client:
        answer = client.chat(["VI1"], "Hello?")
    assert (answer.text, answer.session_id) == ("Hi there.", "7")


def test_a_chat_reply_whose_only_object_is_neither_envelope_nor_event_is_a_typed_error() -> None:
    body = b'{"answer": "Hi there."}'
    with raw_server(_answering(body)) as server, _client(server) as client:
        with pytest.raises(MaviServerError, match="'code'"):
            client.chat(["VI1"], "Hello?")


def test_an_empty_error_string_after_text_still_says_what_happened() -> None:
    body = _event(_content("A red tugboat ")) + b'data:""\n\n'
    received: list[str] = []
    with raw_server(_answering(body)) as server, _client(server) as client:
        with pytest.raises(MaviStreamError) as caught:
            for delta in client.stream_chat(["VI1"], "What happens?"):
                received.append(delta.text)
    assert received == ["A red tugboat "]
    assert "()" not in str(caught.value)
    assert "no message" in str(caught.value)


WHOLE_ANSWER = Path(__file__).parents[1] / "data" / "wire_samples" / "v1.2" / "chat.json"


@pytest.mark.parametrize("framed", [False, True], ids=["bare-json", "data-framed-then-done"])
def test_a_stream_answered_with_the_whole_chat_reply_hands_out_that_answer(framed: bool) -> None:
    """A server that answers `/chat_stream` as `/chat` (the documented JSON reply): its text,
    thinking and moments were lost ("closed the stream without its end marker", or "without
    any text")."""
    whole = WHOLE_ANSWER.read_bytes()
    body = b"data:" + b"".join(whole.splitlines()) + b'\n\ndata:"Done"\n\n' if framed else whole
    with raw_server(_answering(body)) as server, _client(server) as client:
        stream = client.stream_chat(["VI606140356924534784"], "What happens at the harbor?")
        text = "".join(delta.text for delta in stream)
    assert text == "A red tugboat leaves the pier at 0:41."
    assert stream.session_id == "606120397607260160"
    assert [(ref.start, ref.end) for ref in stream.refs] == [(23.0, None), (41.0, 63.0)]
    assert [step.title for step in stream.thinking] == [
        "Based on selected videos, fetch detailed information"
    ]


def _json_answering(envelope: dict[str, Any]) -> Any:
    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, json.dumps(envelope).encode(), "Content-Type: application/json")

    return script


def test_a_session_detail_of_data_null_is_an_unknown_session() -> None:
    """Success with `data: null` (as the service answers what it does not have) was a
    MaviServerError about a 'NoneType'; an unknown session is an invalid request."""
    envelope = {"code": "0000", "msg": "success", "data": None, "success": True, "failed": False}
    with raw_server(_json_answering(envelope)) as server, _client(server) as client:
        with pytest.raises(MaviInvalidRequestError, match=f"no session {SESSION}"):
            client.get_session_detail(SESSION)


def test_a_chat_reply_of_data_null_says_there_is_no_answer() -> None:
    envelope = {"code": "0000", "msg": "success", "data": None, "success": True, "failed": False}
    with raw_server(_json_answering(envelope)) as server, _client(server) as client:
        with pytest.raises(MaviServerError, match="without any text") as caught:
            client.chat(["VI1"], "Hello?")
    assert "NoneType" not in str(caught.value)


@pytest.mark.parametrize("data", [{"sessionId": SESSION}, {"session_id": SESSION, "status": "ok"}])
def test_a_stream_envelope_telling_only_the_session_is_skipped(data: dict[str, Any]) -> None:
    """An envelope whose `data` is no answer and no event but names the session (as a bare
    object without a `type` may, which is skipped) is skipped too: the answer after it is read,
    not refused as "an answer without any text"."""
    envelope = {"code": "0000", "msg": "success", "data": data}
    body = _event(envelope) + _event(_content("A red tugboat ")) + _event(_content("leaves."))
    with raw_server(_answering(body + b'data:"Done"\n\n')) as server, _client(server) as client:
        deltas = list(client.stream_chat(["VI1"], "What happens?"))
    assert "".join(delta.text for delta in deltas) == "A red tugboat leaves."
    assert deltas[-1].session_id == SESSION
