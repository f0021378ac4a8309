"""Video-understanding chat completions in mavi_core: request bodies per provider, the Gemini
schema dialect, both documented reply shapes and the errored status over loopback servers that
write exact bytes, streams cut anywhere, and the quota's pause without a budget."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from typing import Any

import pytest

from mavi_core import (
    AsyncMaviClient,
    MaviClient,
    MaviInvalidRequestError,
    MaviPermissionDeniedError,
    MaviServerError,
    MaviStreamError,
    MaviValidationError,
)
from mavi_core._budgets import endpoint_of
from mavi_core._quota import RateLimit
from mavi_core._vlm import (
    VLM_PATH,
    MediaPart,
    TextPart,
    ToolCall,
    ToolResult,
    VlmMessage,
    VlmOptions,
    VlmStreamDecoder,
    check_vlm_model,
    gemini_schema,
    parse_vlm_reply,
    vlm_call,
)
from tests.support.rawserver import Request, head, raw_server, reply

KEY = "sk-vlm-test-secret-0123456789"
URL = "https://media.example/clip.mp4"
ASK = [VlmMessage("user", (MediaPart("video", url=URL), TextPart("What happens?")))]

# The vendor's documented replies (api-tools.memories.ai, gemini-vlm and nova-vlm pages).
GEMINI_REPLY = (
    b'{"id":"resp_5810813e-99b9-427a-8736-23cf34573627","object":"completion",'
    b'"model":"gemini:gemini-2.5-flash","created_at":1767093284,"status":"completed",'
    b'"choices":[{"text":"This video demonstrates the effects of vacuum on oranges.","index":0}],'
    b'"usage":{"input_tokens":16983,"output_tokens":37,"total_tokens":17020},'
    b'"meta":{"provider":"gemini","provider_model":"gemini-2.5-flash"}}'
)
NOVA_REPLY = (
    b'{"id":"chatcmpl_705304384e4143db9e162cda30295762","object":"chat.completion",'
    b'"created":1767098064,"model":"nova:amazon.nova-lite-v1:0","choices":[{"index":0,'
    b'"message":{"role":"assistant","content":"At the start, the screen reads VACUUM VS ORANGE."},'
    b'"finish_reason":"stop"}],"usage":{"prompt_tokens":739,"output_token":207,"total_tokens":946}}'
)
ERRORED = (
    b'{"id":"resp_1","object":"completion","model":"gemini:gemini-2.5-flash","status":"errored",'
    b'"error":{"code":400,"message":"Failed to fetch file_uri"},"choices":[]}'
)


def json_reply(body: bytes, status: str = "200 OK", *headers: str) -> Any:
    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, body, "Content-Type: application/json", *headers, status=status)

    return script


def client(server: Any, **kwargs: Any) -> MaviClient:
    kwargs.setdefault("max_retries", 0)
    return MaviClient(api_key=KEY, base_url=server.base_url, **kwargs)


# --- requests ------------------------------------------------------------------------------


def test_a_model_without_its_provider_prefix_is_refused_with_the_prefixed_name() -> None:
    with pytest.raises(MaviValidationError, match=re.escape("'gemini:gemini-2.5-flash'")):
        check_vlm_model("gemini-2.5-flash")
    with pytest.raises(MaviValidationError, match="does not name its provider"):
        check_vlm_model("openai:gpt-4o")
    assert check_vlm_model("nova:us.amazon.nova-lite-v1:0") == (
        "nova",
        "nova:us.amazon.nova-lite-v1:0",
    )


def test_each_provider_gets_its_media_part_and_text_always_as_parts() -> None:
    call = vlm_call("gemini:gemini-2.5-flash", ASK, VlmOptions())
    assert (call.method, call.path, call.accept) == ("POST", VLM_PATH, "application/json")
    gemini = call.json
    assert gemini["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "input_file", "file_uri": URL, "mime_type": "video/mp4"},
                {"type": "text", "text": "What happens?"},
            ],
        }
    ]
    nova = vlm_call("nova:us.amazon.nova-lite-v1:0", ASK, VlmOptions()).json
    assert nova["messages"][0]["content"][0] == {"type": "video_url", "video_url": URL}
    assert gemini["stream"] is False and "extra_body" not in gemini
    streamed = vlm_call("gemini:gemini-2.5-flash", ASK, VlmOptions(), stream=True)
    assert streamed.json["stream"] is True
    assert streamed.accept == "text/event-stream, application/json"


def test_options_and_thinking_go_where_each_provider_documents_them() -> None:
    options = VlmOptions(
        temperature=0.2, max_tokens=50, top_p=0.9, stop=["END"], thinking_budget=64
    )
    gemini = vlm_call("gemini:gemini-2.5-flash", ASK, options).json
    assert (gemini["temperature"], gemini["max_tokens"], gemini["top_p"], gemini["stop"]) == (
        0.2,
        50,
        0.9,
        ["END"],
    )
    assert gemini["extra_body"] == {"metadata": {"thinking_config": {"thinking_budget": 64}}}
    qwen = vlm_call("qwen:qwen3-vl-plus", ASK, options).json
    assert qwen["extra_body"] == {"metadata": {"enable_thinking": True, "thinking_budget": 64}}
    with pytest.raises(MaviValidationError, match="Nova"):
        vlm_call("nova:us.amazon.nova-lite-v1:0", ASK, options)


@pytest.mark.parametrize(
    ("part", "message"),
    [
        (MediaPart("video", data="AAAA", mime_type="video/mp4"), "base64 data"),
        (MediaPart("video", url="ftp://host/clip.mp4"), "http"),
        (MediaPart("video", url="file:///tmp/clip.mp4"), "http"),
    ],
)
def test_media_the_api_cannot_take_is_refused_before_sending(part: MediaPart, message: str) -> None:
    with pytest.raises(MaviValidationError, match=message):
        vlm_call("gemini:gemini-2.5-flash", [VlmMessage("user", (part,))], VlmOptions())


def test_an_image_goes_to_gemini_but_not_to_novas_video_endpoint() -> None:
    image = [VlmMessage("user", (MediaPart("image", data="iVBO", mime_type="image/png"),))]
    body = vlm_call("gemini:gemini-2.5-flash", image, VlmOptions()).json
    assert body["messages"][0]["content"][0] == {
        "type": "input_file",
        "file_uri": "iVBO",
        "mime_type": "image/png",
    }
    with pytest.raises(MaviValidationError, match="video_url parts only"):
        vlm_call("nova:us.amazon.nova-lite-v1:0", image, VlmOptions())


def test_a_schema_is_sent_in_each_providers_own_form() -> None:
    schema = {
        "title": "Verdict",
        "type": "object",
        "properties": {
            "matches": {"type": "boolean"},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "kind": {"$ref": "#/$defs/Kind"},
            "seconds": {"type": "array", "items": {"type": "integer"}},
        },
        "required": ["matches"],
        "$defs": {"Kind": {"enum": ["boat", "bird"], "type": "string"}},
    }
    gemini = vlm_call("gemini:g", ASK, VlmOptions(response_schema=schema)).json["extra_body"]
    metadata = gemini["metadata"]
    assert metadata["response_mime_type"] == "application/json"
    assert metadata["responseSchema"] == {
        "type": "OBJECT",
        "properties": {
            "matches": {"type": "BOOLEAN"},
            "note": {"type": "STRING", "nullable": True},
            "kind": {"type": "STRING", "enum": ["boat", "bird"]},
            "seconds": {"type": "ARRAY", "items": {"type": "INTEGER"}},
        },
        "propertyOrdering": ["matches", "note", "kind", "seconds"],
        "required": ["matches"],
    }
    qwen = vlm_call("qwen:q", ASK, VlmOptions(response_schema=schema, schema_name="Verdict")).json
    assert qwen["extra_body"]["metadata"]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Verdict", "schema": schema},
    }
    with pytest.raises(MaviValidationError, match="no structured output"):
        vlm_call("nova:n", ASK, VlmOptions(response_schema=schema))


@pytest.mark.parametrize("model", ["gemini:g", "qwen:q"])
def test_a_schema_that_is_not_an_object_is_refused_before_any_request(model: str) -> None:
    options = VlmOptions(response_schema="answer as JSON")  # type: ignore[arg-type]
    with pytest.raises(MaviValidationError, match="must be a JSON schema object"):
        vlm_call(model, ASK, options)


def test_a_list_of_types_is_sent_to_gemini_as_nullable_or_any_of() -> None:
    """Pydantic writes `int | None` as anyOf; other generators write a list of types."""
    assert gemini_schema({"type": ["string", "null"], "description": "A note."}) == {
        "type": "STRING",
        "description": "A note.",
        "nullable": True,
    }
    assert gemini_schema({"type": ["string", "integer"]}) == {
        "anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]
    }


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        (
            {
                "$ref": "#/$defs/Node",
                "$defs": {
                    "Node": {
                        "type": "object",
                        "properties": {"next": {"$ref": "#/$defs/Node"}},
                    }
                },
            },
            "no recursion",
        ),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, "additionalProperties"),
        ({"type": "array", "prefixItems": [{"type": "string"}]}, "tuple"),
    ],
)
def test_a_schema_gemini_cannot_take_names_why(schema: dict[str, Any], why: str) -> None:
    with pytest.raises(MaviValidationError, match=why):
        gemini_schema(schema)


# --- replies over loopback -----------------------------------------------------------------


def test_the_gemini_and_qwen_reply_shape_gives_text_usage_and_metadata() -> None:
    with raw_server(json_reply(GEMINI_REPLY)) as server:
        answer = client(server).vlm_chat("gemini:gemini-2.5-flash", ASK)
    assert answer.text == "This video demonstrates the effects of vacuum on oranges."
    assert (answer.usage.input_tokens, answer.usage.output_tokens, answer.usage.total_tokens) == (  # type: ignore[union-attr]
        16983,
        37,
        17020,
    )
    assert (answer.provider, answer.provider_model, answer.id) == (
        "gemini",
        "gemini-2.5-flash",
        "resp_5810813e-99b9-427a-8736-23cf34573627",
    )
    request = server.requests[0]
    assert request.path == VLM_PATH and request.header("authorization") == KEY
    assert json.loads(request.body)["model"] == "gemini:gemini-2.5-flash"


def test_the_nova_reply_shape_gives_text_usage_and_finish_reason() -> None:
    with raw_server(json_reply(NOVA_REPLY)) as server:
        answer = asyncio.run(_async_chat(server, "nova:us.amazon.nova-lite-v1:0"))
    assert answer.text == "At the start, the screen reads VACUUM VS ORANGE."
    assert answer.usage is not None and answer.usage.output_tokens == 207
    assert answer.usage.input_tokens == 739 and answer.finish_reason == "stop"


async def _async_chat(server: Any, model: str) -> Any:
    async with AsyncMaviClient(api_key=KEY, base_url=server.base_url, max_retries=0) as aclient:
        return await aclient.vlm_chat(model, ASK)


def test_http_200_with_status_errored_is_a_typed_error_with_the_services_message() -> None:
    with raw_server(json_reply(ERRORED)) as server, pytest.raises(MaviInvalidRequestError) as info:
        client(server).vlm_chat("gemini:gemini-2.5-flash", ASK)
    assert info.value.msg == "Failed to fetch file_uri" and info.value.code == "0400"
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("400 Bad Request", MaviInvalidRequestError),
        ("402 Payment Required", MaviPermissionDeniedError),
        ("415 Unsupported Media Type", MaviInvalidRequestError),
        ("500 Internal Server Error", MaviServerError),
    ],
)
def test_http_errors_whose_body_code_is_the_status_map_as_everywhere(
    status: str, error: type[Exception]
) -> None:
    code = int(status.split()[0])
    body = json.dumps({"code": code, "msg": "Invalid request parameters", "data": None}).encode()
    with raw_server(json_reply(body, status)) as server, pytest.raises(error) as info:
        client(server).vlm_chat("gemini:gemini-2.5-flash", ASK)
    assert info.value.status_code == code  # type: ignore[attr-defined]
    assert KEY not in str(info.value)


def test_a_0429_pauses_the_key_without_a_budget_and_the_retry_succeeds() -> None:
    answers = iter([b"429", b"ok"])

    def script(conn: socket.socket, request: Request) -> None:
        if next(answers) == b"429":
            body = b'{"code":429,"msg":"Rate limit exceeded","data":null}'
            reply(conn, body, "Retry-After: 1", status="429 Too Many Requests")
        else:
            reply(conn, GEMINI_REPLY, "Content-Type: application/json")

    waits: list[Any] = []
    limit = RateLimit("memory://", on_wait=waits.append)
    assert endpoint_of(VLM_PATH) == "vlm" and limit.budgets["vlm"] == ()
    with raw_server(script) as server:
        answer = client(server, max_retries=1, rate_limit=limit).vlm_chat("gemini:g", ASK)
    assert answer.text.startswith("This video")
    assert [(wait.endpoint, wait.reason) for wait in waits] == [("vlm", "paused")]


# --- streams -------------------------------------------------------------------------------

SSE_EVENTS = (
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,'
    b'"delta":{"content":"The tug "}}]}\n\n'
    b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,'
    b'"delta":{"content":"leaves at dawn."}}]}\n\n'
    b'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14}}\n\n'
    b"data: [DONE]\n\n"
)
TEXT_EVENTS = (
    b'data: {"choices":[{"text":"The tug ","index":0}]}\n\n'
    b'data: {"choices":[{"text":"leaves at dawn.","index":0}],"usage":{"input_tokens":10,'
    b'"output_tokens":4,"total_tokens":14}}\n\n'
)
PLAIN = "The tug leaves at dawn. Ça va — 🚢".encode()


def _decode_cut(body: bytes, cut: int) -> tuple[str, Any]:
    decoder = VlmStreamDecoder(1 << 20, 1 << 20)
    deltas = decoder.feed(body[:cut]) + decoder.feed(body[cut:]) + decoder.finish()
    return "".join(delta.text for delta in deltas), decoder.reply


@pytest.mark.parametrize("body", [SSE_EVENTS, TEXT_EVENTS, GEMINI_REPLY, PLAIN])
def test_every_stream_shape_gives_all_its_text_wherever_it_is_cut(body: bytes) -> None:
    expected = {
        SSE_EVENTS: "The tug leaves at dawn.",
        TEXT_EVENTS: "The tug leaves at dawn.",
        GEMINI_REPLY: "This video demonstrates the effects of vacuum on oranges.",
        PLAIN: PLAIN.decode(),
    }[body]
    for cut in range(len(body) + 1):
        text, reply_ = _decode_cut(body, cut)
        assert text == expected, cut
    if body in (SSE_EVENTS, TEXT_EVENTS):
        assert reply_.usage is not None and reply_.usage.total_tokens == 14


def test_a_stream_read_whole_is_one_answer_with_its_usage() -> None:
    answer = parse_vlm_reply(SSE_EVENTS)
    assert answer.text == "The tug leaves at dawn." and answer.finish_reason == "stop"
    assert answer.usage is not None and answer.usage.output_tokens == 4


def test_a_stream_over_loopback_hands_out_deltas_then_the_reply() -> None:
    def script(conn: socket.socket, request: Request) -> None:
        conn.sendall(head("200 OK", "Content-Type: text/event-stream"))
        for line in SSE_EVENTS.split(b"\n\n")[:-1]:
            conn.sendall(line + b"\n\n")
        conn.shutdown(socket.SHUT_WR)

    with raw_server(script) as server:
        stream = client(server).stream_vlm_chat("qwen:qwen3-vl-plus", ASK)
        with stream:
            pieces = [delta.text for delta in stream]
    assert pieces == ["The tug ", "leaves at dawn."]
    assert stream.reply.usage is not None and stream.reply.usage.input_tokens == 10
    assert json.loads(server.requests[0].body)["stream"] is True


def test_a_stream_cut_after_text_keeps_what_arrived_and_is_not_retried() -> None:
    def script(conn: socket.socket, request: Request) -> None:
        conn.sendall(head("200 OK", "Content-Type: text/event-stream", length=len(SSE_EVENTS)))
        conn.sendall(SSE_EVENTS[:120])
        conn.close()

    with raw_server(script) as server:
        received: list[str] = []
        with pytest.raises(MaviStreamError):
            for delta in client(server, max_retries=2).stream_vlm_chat("gemini:g", ASK):
                received.append(delta.text)
    assert "".join(received) == "The tug "
    assert len(server.requests) == 1


# --- Nova's tools ----------------------------------------------------------------------------

NOVA = "nova:us.amazon.nova-lite-v1:0"
WEATHER = {
    "toolSpec": {
        "name": "get_weather",
        "description": "The weather at a place.",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"place": {"type": "string"}},
                "required": ["place"],
            }
        },
    }
}


def test_tools_go_in_novas_tool_config_and_turns_carry_tool_use_and_results() -> None:
    turns = [
        VlmMessage("user", (TextPart("Weather in Oslo?"),)),
        VlmMessage("assistant", (ToolCall("t1", "get_weather", {"place": "Oslo"}),)),
        VlmMessage("user", (ToolResult("t1", "Rain."),)),
    ]
    options = VlmOptions(tools=[WEATHER], tool_choice={"any": {}})
    body = vlm_call(NOVA, turns, options).json
    assert body["extra_body"]["metadata"]["toolConfig"] == {
        "tools": [WEATHER],
        "toolChoice": {"any": {}},
    }
    assert body["messages"][1]["content"] == [
        {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"place": "Oslo"}}}
    ]
    assert body["messages"][2]["content"] == [
        {"toolResult": {"toolUseId": "t1", "content": [{"text": "Rain."}]}}
    ]
    with pytest.raises(MaviValidationError, match="nova: models only"):
        vlm_call("gemini:g", ASK, VlmOptions(tools=[WEATHER]))
    with pytest.raises(MaviValidationError, match="nova: models only"):
        vlm_call("qwen:q", turns, VlmOptions())


OPENAI_TOOL_REPLY = (
    b'{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant",'
    b'"content":"","tool_calls":[{"id":"call_1","type":"function","function":'
    b'{"name":"get_weather","arguments":"{\\"place\\": \\"Oslo\\"}"}}]},'
    b'"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"output_token":3,"total_tokens":8}}'
)
BEDROCK_TOOL_REPLY = (
    b'{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant",'
    b'"content":[{"text":"Checking."},{"toolUse":{"toolUseId":"tu_1","name":"get_weather",'
    b'"input":{"place":"Oslo"}}}]},"finish_reason":"tool_use"}]}'
)
STREAMED_TOOL_CALL = (
    b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1",'
    b'"type":"function","function":{"name":"get_weather","arguments":""}}]}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":'
    b'{"arguments":"{\\"place\\": "}}]}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":'
    b'{"arguments":"\\"Oslo\\"}"}}]}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n'
    b"data: [DONE]\n\n"
)


@pytest.mark.parametrize(
    ("body", "text", "call_id"),
    [
        (OPENAI_TOOL_REPLY, "", "call_1"),
        (BEDROCK_TOOL_REPLY, "Checking.", "tu_1"),
        (STREAMED_TOOL_CALL, "", "call_1"),
    ],
)
def test_a_tool_call_is_read_in_either_form_wherever_the_reply_is_cut(
    body: bytes, text: str, call_id: str
) -> None:
    for cut in range(len(body) + 1):
        got, reply_ = _decode_cut(body, cut)
        assert got == text, cut
        assert reply_.tool_calls == [ToolCall(call_id, "get_weather", {"place": "Oslo"})], cut


def test_two_bedrock_tool_uses_in_one_message_are_two_calls() -> None:
    """Each `toolUse` part is a whole call: two in one message were merged into one."""
    uses = [
        {"toolUse": {"toolUseId": "tu_1", "name": "get_weather", "input": {"place": "Oslo"}}},
        {"toolUse": {"toolUseId": "tu_2", "name": "get_weather", "input": {"place": "Rome"}}},
    ]
    reply_ = {"choices": [{"message": {"role": "assistant", "content": uses}}]}
    assert parse_vlm_reply(json.dumps(reply_).encode()).tool_calls == [
        ToolCall("tu_1", "get_weather", {"place": "Oslo"}),
        ToolCall("tu_2", "get_weather", {"place": "Rome"}),
    ]
