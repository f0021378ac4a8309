"""MaviVLM against the emulator over real HTTP: chat, complete, streams and structured output,
sync and async, for each provider's reply shape; inputs refused before any request."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    TextBlock,
    VideoBlock,
)
from llama_index.core.prompts import PromptTemplate
from pydantic import BaseModel

from llamaindex_mavi import MaviVLM
from llamaindex_mavi.vlm import json_from_answer
from mavi_core import MaviInvalidRequestError, MaviServerError, MaviValidationError
from mavi_core.emulator import MaviEmulator

GEMINI = "gemini:gemini-2.5-flash"
QWEN = "qwen:qwen3-vl-plus"
NOVA = "nova:us.amazon.nova-lite-v1:0"
SEAL = "A harbor seal surfaces beside the pier and dives again under a floating pontoon."


class Verdict(BaseModel):
    matches: bool
    evidence: str
    start_seconds: int


@pytest.fixture
def make_vlm(emulator: MaviEmulator) -> Callable[..., MaviVLM]:
    def make(model: str = GEMINI, **kwargs: Any) -> MaviVLM:
        return MaviVLM(model, api_key=emulator.api_key, base_url=emulator.base_url, **kwargs)

    return make


def ask(emulator: MaviEmulator, text: str) -> list[ChatMessage]:
    blocks = [VideoBlock(url=emulator.video_urls[0]), TextBlock(text=text)]
    return [
        ChatMessage(role="system", content="Answer from the video only."),
        ChatMessage(role="user", blocks=blocks),
    ]


@pytest.mark.parametrize("model", [GEMINI, QWEN, NOVA])
def test_chat_answers_from_the_video_with_usage_and_metadata(
    emulator: MaviEmulator, make_vlm: Callable[..., MaviVLM], model: str
) -> None:
    answer = make_vlm(model, temperature=0.1).chat(ask(emulator, "Is there a seal?"))
    assert SEAL in (answer.message.content or "")
    extra = answer.additional_kwargs
    assert extra["model"] == model and extra["provider_model"] == model.partition(":")[2]
    assert extra["prompt_tokens"] > 0 and extra["completion_tokens"] > 0
    assert extra["total_tokens"] == extra["prompt_tokens"] + extra["completion_tokens"]
    assert isinstance(answer.raw, dict) and "usage" in answer.raw
    sent: Any = emulator.requests[-1].body
    assert sent["model"] == model and sent["temperature"] == 0.1
    assert [message["role"] for message in sent["messages"]] == ["system", "user"]


def test_achat_and_acomplete_answer_like_their_sync_forms(
    emulator: MaviEmulator, make_vlm: Callable[..., MaviVLM]
) -> None:
    llm = make_vlm(QWEN)
    sync_answer = llm.chat(ask(emulator, "Is there a seal?")).message.content

    async def both() -> tuple[Any, Any]:
        chat = await llm.achat(ask(emulator, "Is there a seal?"))
        completion = await llm.acomplete("Describe a harbor.")
        return chat, completion

    chat, completion = asyncio.run(both())
    assert chat.message.content == sync_answer
    assert completion.text == llm.complete("Describe a harbor.").text
    assert completion.additional_kwargs["total_tokens"] > 0


def test_streams_hand_out_every_piece_then_the_usage(
    emulator: MaviEmulator, make_vlm: Callable[..., MaviVLM]
) -> None:
    llm = make_vlm(GEMINI)
    whole = llm.chat(ask(emulator, "Is there a seal?")).message.content
    items = list(llm.stream_chat(ask(emulator, "Is there a seal?")))
    assert "".join(item.delta or "" for item in items) == whole == items[-1].message.content
    assert len(items) > 2 and items[-1].delta == ""
    assert items[-1].additional_kwargs["finish_reason"] == "stop"
    assert items[-1].additional_kwargs["completion_tokens"] > 0
    completions = list(llm.stream_complete("Describe a harbor."))
    assert "".join(item.delta or "" for item in completions) == completions[-1].text

    async def astreams() -> tuple[list[Any], list[Any]]:
        chats = [item async for item in await llm.astream_chat(ask(emulator, "Is there a seal?"))]
        done = [item async for item in await llm.astream_complete("Describe a harbor.")]
        return chats, done

    chats, done = asyncio.run(astreams())
    assert "".join(item.delta or "" for item in chats) == whole
    assert done[-1].text == completions[-1].text


@pytest.mark.parametrize("model", [GEMINI, QWEN])
def test_structured_predict_sends_the_providers_schema_and_reads_the_answer(
    emulator: MaviEmulator, make_vlm: Callable[..., MaviVLM], model: str
) -> None:
    llm = make_vlm(model)
    prompt = PromptTemplate("Does a {thing} surface in the video at {url}?")
    verdict = llm.structured_predict(Verdict, prompt, thing="seal", url="the harbor")
    assert isinstance(verdict, Verdict)
    metadata = emulator.requests[-1].body["extra_body"]["metadata"]  # type: ignore[index]
    if model == GEMINI:
        assert metadata["responseSchema"]["properties"]["matches"] == {"type": "BOOLEAN"}
    else:
        assert metadata["response_format"]["json_schema"]["name"] == "Verdict"

    structured = llm.as_structured_llm(Verdict)
    answer = structured.chat(ask(emulator, "Does a seal surface?")).raw
    assert answer == Verdict(matches=True, evidence=SEAL, start_seconds=158)
    again = asyncio.run(llm.astructured_predict(Verdict, prompt, thing="seal", url="the harbor"))
    assert again == verdict


def test_inputs_the_api_cannot_take_are_refused_before_any_request(
    emulator: MaviEmulator, make_vlm: Callable[..., MaviVLM]
) -> None:
    with pytest.raises(MaviValidationError, match="provider"):
        make_vlm("gemini-2.5-flash")
    with pytest.raises(MaviValidationError, match="'temperature'"):
        make_vlm(GEMINI, temprature=0.2)
    llm = make_vlm(GEMINI)
    before = len(emulator.requests)
    bad = [
        [ChatMessage(role="user", blocks=[VideoBlock(url="mavi://VI634021587219364352")])],
        [ChatMessage(role="user", blocks=[VideoBlock(video=b"\x00\x00\x00\x18ftyp")])],
        [ChatMessage(role="user", blocks=[DocumentBlock(data=b"%PDF-1.4")])],
        [ChatMessage(role="tool", content="42")],
    ]
    for messages in bad:
        with pytest.raises(MaviValidationError):
            llm.chat(messages)
    with pytest.raises(MaviValidationError, match="no structured output"):
        make_vlm(NOVA).structured_predict(Verdict, PromptTemplate("Seal?"))
    image = ImageBlock(url=emulator.video_urls[0], image_mimetype="image/png")
    with pytest.raises(MaviValidationError, match="video_url parts only"):
        make_vlm(NOVA).chat([ChatMessage(role="user", blocks=[image])])
    assert len(emulator.requests) == before


@pytest.mark.parametrize(
    ("model", "option", "message"),
    [
        (GEMINI, {"thinking_budget": -2}, "thinking_budget must be an integer >= -1"),
        (NOVA, {"thinking_budget": 100}, "thinking_budget is not an option of Nova models"),
        (QWEN, {"stop": [""]}, "stop must be a list of non-empty strings"),
    ],
)
def test_an_option_the_model_cannot_take_is_refused_when_it_is_built(
    model: str, option: dict[str, Any], message: str
) -> None:
    with pytest.raises(MaviValidationError, match=message):
        MaviVLM(model, api_key="sk-test", **option)


def test_an_unfetchable_file_is_the_services_errored_status_as_a_typed_error(
    emulator: MaviEmulator, make_vlm: Callable[..., MaviVLM]
) -> None:
    missing = ChatMessage(
        role="user",
        blocks=[VideoBlock(url=f"{emulator.base_url}/media/gone.mp4"), TextBlock(text="?")],
    )
    with pytest.raises(MaviInvalidRequestError, match=r"gone\.mp4"):
        make_vlm(QWEN, max_retries=0).chat([missing])


def test_a_structured_answer_is_read_bare_or_inside_a_json_fence() -> None:
    assert json_from_answer('{"a": 1}') == {"a": 1}
    assert json_from_answer('Here it is:\n```json\n{"a": 2}\n```\n') == {"a": 2}
    with pytest.raises(MaviServerError, match="not the JSON"):
        json_from_answer("no json here")


def test_a_structured_answer_nested_too_deep_is_the_schema_error() -> None:
    """Deeper than json reads: past the recursion limit in force (libraries loaded in the run
    raise it) and past the C recursion limit Python 3.12+ reads JSON under (about 10,000)."""
    depth = max(sys.getrecursionlimit() + 100, 20_000)
    too_deep = "[" * depth + "]" * depth
    with pytest.raises(MaviServerError, match="not the JSON the schema asked for"):
        json_from_answer(too_deep)
    with pytest.raises(MaviServerError, match="not the JSON the schema asked for"):
        json_from_answer("Here: " + too_deep)
