"""ChatMaviVLM over real HTTP to the emulator: content blocks per provider, options, usage,
structured output in each provider's form, errors translated, and what it refuses to send."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from langchain_core.exceptions import ModelInvalidRequestError
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel
from typing_extensions import TypedDict

from langchain_mavi import ChatMaviInvalidRequestError, ChatMaviValidationError, ChatMaviVLM
from mavi_core.emulator import MaviEmulator

pytestmark = pytest.mark.integration

GEMINI = "gemini:gemini-2.5-flash"
QWEN = "qwen:qwen3-vl-plus"
NOVA = "nova:us.amazon.nova-lite-v1:0"
FERRY = "A ferry with blue stripes crosses the frame from left to right, its deck crowded"


class Verdict(BaseModel):
    matches: bool
    evidence: str


class VerdictDict(TypedDict):
    matches: bool
    evidence: str


def vlm(emulator: MaviEmulator, model: str = GEMINI, **kwargs: Any) -> ChatMaviVLM:
    return ChatMaviVLM(model=model, api_key=emulator.api_key, base_url=emulator.base_url, **kwargs)


def question(emulator: MaviEmulator, text: str = "Does a ferry cross?") -> list[Any]:
    return [
        SystemMessage("Answer from the video."),
        HumanMessage(
            content=[
                {"type": "video", "url": emulator.video_urls[0]},
                {"type": "text", "text": text},
            ]
        ),
    ]


def sent(emulator: MaviEmulator) -> Any:
    return emulator.requests[-1].body


@pytest.mark.parametrize(
    ("model", "part"),
    [
        (GEMINI, {"type": "input_file", "mime_type": "video/mp4"}),
        (QWEN, {"type": "input_file", "mime_type": "video/mp4"}),
        (NOVA, {"type": "video_url"}),
    ],
)
def test_a_video_block_becomes_the_providers_part_and_the_answer_has_usage(
    emulator: MaviEmulator, model: str, part: dict[str, Any]
) -> None:
    answer = vlm(emulator, model, temperature=0.3, max_tokens=200, top_p=0.8).invoke(
        question(emulator)
    )
    assert FERRY in answer.text
    assert answer.usage_metadata is not None and answer.usage_metadata["output_tokens"] > 0
    metadata = answer.response_metadata
    assert metadata["model_name"] == model and metadata["finish_reason"] == "stop"
    assert metadata["provider_model"] == model.partition(":")[2] and metadata["id"]
    body = sent(emulator)
    first = body["messages"][1]["content"][0]
    assert {key: first[key] for key in part} == part
    assert body["messages"][0] == {
        "role": "system",
        "content": [{"type": "text", "text": "Answer from the video."}],
    }
    assert (body["temperature"], body["max_tokens"], body["top_p"]) == (0.3, 200, 0.8)


def test_a_conversation_keeps_its_roles_and_a_thinking_budget_is_sent(
    emulator: MaviEmulator,
) -> None:
    llm = vlm(emulator, QWEN, thinking_budget=128)
    llm.invoke([*question(emulator), AIMessage("At 01:50."), HumanMessage("And then?")])
    body = sent(emulator)
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["extra_body"]["metadata"] == {"enable_thinking": True, "thinking_budget": 128}


def test_a_base64_image_goes_to_gemini_as_an_input_file(emulator: MaviEmulator) -> None:
    data = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    message = HumanMessage(
        content=[
            {"type": "image", "base64": data, "mime_type": "image/png"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}},
            {"type": "text", "text": "What is this?"},
        ]
    )
    vlm(emulator).invoke([message])
    parts = sent(emulator)["messages"][0]["content"]
    assert (
        parts[0] == parts[1] == {"type": "input_file", "file_uri": data, "mime_type": "image/png"}
    )


def test_streaming_hands_out_every_piece_and_merges_with_the_usage(emulator: MaviEmulator) -> None:
    llm = vlm(emulator, NOVA)
    whole = llm.invoke(question(emulator))
    chunks = list(llm.stream(question(emulator)))
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert len(chunks) > 2 and merged.text == whole.text
    assert merged.usage_metadata == whole.usage_metadata
    assert sent(emulator)["stream"] is True

    async def astream() -> str:
        return "".join([chunk.text async for chunk in llm.astream(question(emulator))])

    assert asyncio.run(astream()) == whole.text


@pytest.mark.parametrize("schema", [Verdict, VerdictDict, Verdict.model_json_schema()])
def test_structured_output_is_sent_in_geminis_dialect_and_read(
    emulator: MaviEmulator, schema: Any
) -> None:
    result = vlm(emulator).with_structured_output(schema).invoke(question(emulator))
    value = result.model_dump() if isinstance(result, BaseModel) else result
    assert value["matches"] is True and FERRY in value["evidence"]
    metadata = sent(emulator)["extra_body"]["metadata"]
    assert metadata["response_mime_type"] == "application/json"
    assert metadata["responseSchema"]["properties"]["matches"] == {"type": "BOOLEAN"}


def test_qwens_answer_in_a_json_fence_is_read_and_include_raw_keeps_the_message(
    emulator: MaviEmulator,
) -> None:
    result = (
        vlm(emulator, QWEN)
        .with_structured_output(Verdict, include_raw=True)
        .invoke(question(emulator))
    )
    assert isinstance(result["raw"], AIMessage) and result["raw"].text.startswith("```json")
    assert result["parsed"].matches is True and result["parsing_error"] is None
    schema = sent(emulator)["extra_body"]["metadata"]["response_format"]
    assert schema["type"] == "json_schema" and schema["json_schema"]["name"] == "Verdict"


def test_what_the_api_cannot_take_is_refused_before_any_request(emulator: MaviEmulator) -> None:
    with pytest.raises(ValueError, match=r"qwen:qwen3-vl-plus"):
        ChatMaviVLM(model="qwen3-vl-plus")
    with pytest.raises(ValueError, match="'max_tokens'"):
        ChatMaviVLM(model=GEMINI, max_token=5)
    llm = vlm(emulator)
    before = len(emulator.requests)
    refused = [
        [HumanMessage(content=[{"type": "video", "file_id": "VI634021587219364352"}])],
        [HumanMessage(content=[{"type": "video", "base64": "AAAA", "mime_type": "video/mp4"}])],
        [HumanMessage(content=[{"type": "video", "url": "file:///tmp/a.mp4"}])],
        [HumanMessage("hi"), ToolMessage("42", tool_call_id="1")],
    ]
    for messages in refused:
        with pytest.raises(ChatMaviValidationError):
            llm.invoke(messages)
    with pytest.raises(ModelInvalidRequestError, match="no structured output"):
        vlm(emulator, NOVA).with_structured_output(Verdict).invoke(question(emulator))
    with pytest.raises(NotImplementedError, match="with_structured_output"):
        llm.bind_tools([Verdict])
    assert len(emulator.requests) == before


@pytest.mark.parametrize(
    ("model", "option", "message"),
    [
        (GEMINI, {"max_tokens": -1}, "max_tokens must be an integer >= 1"),
        (GEMINI, {"temperature": 5}, "temperature must be a number from 0 to 2"),
        (GEMINI, {"top_p": 2}, "top_p must be a number from 0 to 1"),
        (NOVA, {"thinking_budget": 100}, "thinking_budget is not an option of Nova models"),
    ],
)
def test_an_option_out_of_range_is_refused_when_the_model_is_built(
    model: str, option: dict[str, Any], message: str
) -> None:
    # Refused by each request before; now where it was written, with the same words.
    with pytest.raises(ValueError, match=message):
        ChatMaviVLM(model=model, api_key="sk-test", **option)


def test_the_errored_status_is_a_translated_error_with_the_services_message(
    emulator: MaviEmulator,
) -> None:
    message = HumanMessage(
        content=[{"type": "video", "url": f"{emulator.base_url}/media/gone.mp4"}, "What?"]
    )
    with pytest.raises(ChatMaviInvalidRequestError) as info:
        vlm(emulator, max_retries=0).invoke([message])
    assert isinstance(info.value, ModelInvalidRequestError)
    assert "Failed to fetch file_uri" in str(info.value) and emulator.api_key not in str(info.value)


def test_nova_calls_a_bound_tool_and_answers_from_its_result(emulator: MaviEmulator) -> None:
    @tool
    def clip_length(video_number: int) -> str:
        """The length of a clip, by its number."""
        return f"Clip {video_number} lasts 42 seconds."

    llm = vlm(emulator, NOVA).bind_tools([clip_length], tool_choice="any")
    question = HumanMessage("How long is clip 7? Use the tool.")
    call = llm.invoke([question])
    assert [(c["name"], c["args"]) for c in call.tool_calls] == [
        ("clip_length", {"video_number": 7})
    ]
    assert call.response_metadata["finish_reason"] == "tool_calls"
    config = sent(emulator)["extra_body"]["metadata"]["toolConfig"]
    assert config["toolChoice"] == {"any": {}}
    assert config["tools"][0]["toolSpec"]["name"] == "clip_length"
    assert config["tools"][0]["toolSpec"]["inputSchema"]["json"]["properties"] == {
        "video_number": {"type": "integer"}
    }

    result = clip_length.invoke(call.tool_calls[0])
    answer = llm.invoke([question, call, result])
    assert answer.text == "The tool answered: Clip 7 lasts 42 seconds." and not answer.tool_calls
    turns = sent(emulator)["messages"]
    assert turns[1]["content"][0]["toolUse"]["input"] == {"video_number": 7}
    assert turns[2] == {
        "role": "user",
        "content": [
            {
                "toolResult": {
                    "toolUseId": call.tool_calls[0]["id"],
                    "content": [{"text": "Clip 7 lasts 42 seconds."}],
                }
            }
        ],
    }
    streamed = None
    for chunk in llm.stream([question]):
        streamed = chunk if streamed is None else streamed + chunk
    assert streamed is not None and streamed.tool_calls[0]["args"] == {"video_number": 7}


def test_tools_are_refused_for_providers_without_them(emulator: MaviEmulator) -> None:
    for model in (GEMINI, QWEN):
        with pytest.raises(NotImplementedError, match="nova: model"):
            vlm(emulator, model).bind_tools([Verdict])
