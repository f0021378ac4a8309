"""The video-understanding chat completions against hostile servers: every reply is an answer or
a typed `MaviError` saying what was wrong, never a bare Python error, never a made-up number
(docs/errors-and-wire.md)."""

from __future__ import annotations

import json
import socket
import sys
from typing import Any

import pytest

from mavi_core import MaviClient, MaviServerError, MaviStreamError
from mavi_core._vlm import MediaPart, TextPart, VlmMessage, parse_vlm_reply
from tests.support.rawserver import Request, raw_server, reply
from tests.support.servers import KEY

pytestmark = pytest.mark.integration

ASK = [VlmMessage("user", (MediaPart("video", url="https://example.com/v.mp4"), TextPart("What?")))]


def too_deep() -> str:
    """Valid JSON nested deeper than Python's reader goes (it raises RecursionError): past the
    recursion limit in force (libraries loaded in the run raise it) and past the C recursion
    limit Python 3.12+ reads JSON under (about 10,000)."""
    depth = max(sys.getrecursionlimit() + 100, 20_000)
    return "[" * depth + "]" * depth


def _answering(body: bytes) -> Any:
    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, body, "Content-Type: application/json")

    return script


def _client(server: Any) -> MaviClient:
    return MaviClient(api_key=KEY, base_url=server.base_url, max_retries=0)


def _nova_reply(**message: Any) -> dict[str, Any]:
    return {
        "object": "chat.completion",
        "created": 1,
        "choices": [{"message": {"role": "assistant", **message}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "output_token": 2, "total_tokens": 5},
    }


def test_tool_arguments_nested_too_deep_are_a_typed_error_not_a_recursion_error() -> None:
    call = {
        "id": "t1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"place": ' + too_deep() + "}"},
    }
    body = json.dumps(_nova_reply(content="", tool_calls=[call])).encode()
    with raw_server(_answering(body)) as server, _client(server) as client:
        with pytest.raises(MaviServerError, match="arguments that are not JSON"):
            client.vlm_chat("nova:us.amazon.nova-lite-v1:0", ASK)


def test_streamed_tool_arguments_nested_too_deep_are_a_typed_error() -> None:
    pieces = [
        {
            "choices": [
                {
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "t1", "function": {"name": "f", "arguments": part}}
                        ]
                    }
                }
            ]
        }
        for part in ('{"a": ', too_deep(), "}")
    ]
    body = b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in pieces)
    with pytest.raises(MaviServerError, match="arguments that are not JSON"):
        parse_vlm_reply(body + b"data: [DONE]\n\n")


def test_token_counts_sent_as_strings_are_read_not_taken_for_zero() -> None:
    reply_ = {
        "id": "r1",
        "object": "completion",
        "status": "completed",
        "choices": [{"text": "A tug.", "index": 0}],
        "usage": {"input_tokens": "10", "output_tokens": "4", "total_tokens": "14"},
    }
    answer = parse_vlm_reply(json.dumps(reply_).encode())
    assert answer.usage is not None
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (10, 4)
    assert answer.usage.total_tokens == 14


def test_token_counts_that_are_no_numbers_give_no_usage() -> None:
    reply_ = {
        "choices": [{"text": "A tug.", "index": 0}],
        "usage": {"input_tokens": "ten", "output_tokens": "-4", "total_tokens": 1.5},
    }
    assert parse_vlm_reply(json.dumps(reply_).encode()).usage is None


def test_a_token_count_of_digits_that_are_not_decimal_gives_no_usage_not_a_crash() -> None:
    # "²".isdigit() is true, yet int("²") raises: a reply that says so is still read.
    reply_ = {"choices": [{"text": "A tug.", "index": 0}], "usage": {"input_tokens": "²"}}
    answer = parse_vlm_reply(json.dumps(reply_).encode())
    assert (answer.text, answer.usage) == ("A tug.", None)


@pytest.mark.parametrize("delta", ["A tug.", ["A tug."], 1])
def test_a_whole_reply_whose_delta_is_no_object_is_read_from_its_message(delta: object) -> None:
    """A `delta` that is no object is no stream's delta: the choice's `message` is the answer."""
    reply_ = {"choices": [{"index": 0, "delta": delta, "message": {"content": "A red tug."}}]}
    assert parse_vlm_reply(json.dumps(reply_).encode()).text == "A red tug."


def test_a_stream_cut_inside_an_event_says_what_broke_after_the_text() -> None:
    first = b'data: {"choices":[{"delta":{"content":"The tug "}}]}\n\n'
    body = first + b'data: {"choices":[{"delta":{"content":"lea\n\n'
    received: list[str] = []
    with raw_server(_answering(body)) as server, _client(server) as client:
        with pytest.raises(MaviStreamError) as caught:
            for delta in client.stream_vlm_chat("gemini:gemini-2.5-flash", ASK):
                received.append(delta.text)
    assert "".join(received) == "The tug "
    assert "not JSON" in str(caught.value) and "(None)" not in str(caught.value)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ({"id": "t1", "function": {"arguments": "{}"}}, "without its name"),
        ({"id": "t1", "function": {"name": None, "arguments": "{}"}}, "without its name"),
        ({"id": "t1", "function": {"name": "f", "arguments": "[1, 2]"}}, "not an object"),
        ({"id": "t1", "function": {"name": "f", "arguments": 5}}, "not an object"),
    ],
    ids=["no-name", "null-name", "list-arguments", "number-arguments"],
)
def test_a_tool_call_without_a_name_or_object_arguments_is_a_typed_error(
    call: dict[str, Any], error: str
) -> None:
    """Such a call was read as a call of the tool 'None', or with arguments {} never given."""
    whole = json.dumps(_nova_reply(content="", tool_calls=[call])).encode()
    with pytest.raises(MaviServerError, match=error):
        parse_vlm_reply(whole)
    streamed = {"choices": [{"delta": {"tool_calls": [{"index": 0, **call}]}}]}
    with pytest.raises(MaviServerError, match=error):
        parse_vlm_reply(b"data: " + json.dumps(streamed).encode() + b"\n\ndata: [DONE]\n\n")


def test_a_whole_reply_with_text_and_a_broken_tool_call_is_the_error_not_the_text() -> None:
    """The calls are read as the reply ends, after its text: the text alone would be an
    answer without the call the model made."""
    call = {"id": "t1", "function": {"name": "f", "arguments": "{x"}}
    whole = json.dumps(_nova_reply(content="Let me look.", tool_calls=[call])).encode()
    with pytest.raises(MaviServerError, match="not JSON"):
        parse_vlm_reply(whole)


def test_bedrock_tool_use_without_a_name_is_a_typed_error() -> None:
    content = [{"toolUse": {"toolUseId": "t1", "input": {"place": "Oslo"}}}]
    with pytest.raises(MaviServerError, match="without its name"):
        parse_vlm_reply(json.dumps(_nova_reply(content=content)).encode())


def test_text_before_a_broken_tool_call_in_an_unended_stream_is_kept() -> None:
    """No `[DONE]`, nor a blank line after the last event: its text is decoded as the body
    ends, then the tool calls are read; the text reaches the caller before the error."""
    events = [
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": "f"}}]}}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{x"}}]}}]},
        {"choices": [{"delta": {"content": "Let me look."}}]},
    ]
    body = b"\n\n".join(b"data: " + json.dumps(event).encode() for event in events)
    received: list[str] = []
    with raw_server(_answering(body)) as server, _client(server) as client:
        with pytest.raises(MaviStreamError, match="not JSON"):
            for delta in client.stream_vlm_chat("nova:us.amazon.nova-lite-v1:0", ASK):
                received.append(delta.text)
    assert received == ["Let me look."]


def test_streamed_tool_arguments_after_a_piece_without_arguments_are_read_whole() -> None:
    """The first piece names the tool and has no `arguments`: it added '{}' before the
    arguments' pieces, making '{}{"place": "Oslo"}', which is not JSON."""
    pieces: list[dict[str, Any]] = [
        {"index": 0, "id": "t1", "function": {"name": "get_weather"}},
        {"index": 0, "function": {"arguments": '{"place": '}},
        {"index": 0, "function": {"arguments": '"Oslo"}'}},
    ]
    events = [{"choices": [{"delta": {"tool_calls": [piece]}}]} for piece in pieces]
    body = b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in events)
    answer = parse_vlm_reply(body + b"data: [DONE]\n\n")
    assert [(c.id, c.name, c.arguments) for c in answer.tool_calls] == [
        ("t1", "get_weather", {"place": "Oslo"})
    ]
