"""The emulator's video-understanding chat completions and the media it hosts for them."""

from __future__ import annotations

import json
from typing import Any

import httpx

from mavi_core.emulator import MaviEmulator

VLM = "/serve/api/v2/vu/chat/completions"
HARBOR_NAME = "harbor_sunrise_timelapse.mp4"


def ask(emu: MaviEmulator, model: str, url: str, text: str, **extra: Any) -> dict[str, Any]:
    part = (
        {"type": "video_url", "video_url": url}
        if model.startswith("nova:")
        else {"type": "input_file", "file_uri": url, "mime_type": "video/mp4"}
    )
    content = [part, {"type": "text", "text": text}]
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def test_the_sample_videos_are_served_as_mp4_at_urls_the_emulator_names(
    emu: MaviEmulator, anon: httpx.Client
) -> None:
    url = emu.media_url(emu.video_nos[0])
    assert url == f"{emu.base_url}/media/{HARBOR_NAME}" == emu.video_urls[0]
    reply = anon.get(url)
    assert reply.status_code == 200 and reply.headers["content-type"] == "video/mp4"
    assert reply.content[4:8] == b"ftyp" and HARBOR_NAME.encode() in reply.content
    assert anon.get(f"{emu.base_url}/media/none.mp4").status_code == 404


def test_gemini_answers_in_its_documented_shape_grounded_in_the_video(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    body = ask(emu, "gemini:gemini-2.5-flash", emu.video_urls[0], "When does the tugboat leave?")
    reply = client.post(VLM, json=body).json()
    assert reply["object"] == "completion" and reply["status"] == "completed"
    assert "tugboat" in reply["choices"][0]["text"] and "00:41" in reply["choices"][0]["text"]
    usage = reply["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    assert reply["meta"] == {"provider": "gemini", "provider_model": "gemini-2.5-flash"}


def test_nova_answers_with_message_content_and_output_token(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    body = ask(emu, "nova:us.amazon.nova-lite-v1:0", emu.video_urls[0], "Is there a seal?")
    reply = client.post(VLM, json=body).json()
    assert reply["object"] == "chat.completion"
    assert "seal" in reply["choices"][0]["message"]["content"]
    assert set(reply["usage"]) == {"prompt_tokens", "output_token", "total_tokens"}


def test_a_structured_answer_satisfies_the_schema_sent(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    schema = {
        "type": "OBJECT",
        "properties": {
            "matches": {"type": "BOOLEAN"},
            "start_seconds": {"type": "INTEGER"},
            "evidence": {"type": "STRING"},
        },
    }
    metadata = {"response_mime_type": "application/json", "responseSchema": schema}
    body = ask(
        emu,
        "gemini:gemini-2.5-flash",
        emu.video_urls[0],
        "Does a ferry cross between 100s and 140s?",
        extra_body={"metadata": metadata},
    )
    answer = json.loads(client.post(VLM, json=body).json()["choices"][0]["text"])
    assert answer == {
        "matches": True,
        "start_seconds": 110,
        "evidence": "A ferry with blue stripes crosses the frame from left to right, its deck "
        "crowded with commuters.",
    }


def test_a_missing_prefix_is_http_400_and_an_unknown_own_file_is_errored(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    bare = client.post(VLM, json=ask(emu, "gemini-2.5-flash", emu.video_urls[0], "Hi"))
    assert bare.status_code == 400 and bare.json()["code"] == 400
    missing = ask(emu, "qwen:qwen3-vl-plus", f"{emu.base_url}/media/nope.mp4", "Hi")
    reply = client.post(VLM, json=missing)
    assert reply.status_code == 200 and reply.json()["status"] == "errored"
    assert "nope.mp4" in reply.json()["error"]["message"]


def test_tools_are_nova_only_and_nova_calls_one_with_arguments_from_the_question(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    spec = {
        "toolSpec": {
            "name": "clip_length",
            "description": "The length of a clip.",
            "inputSchema": {"json": {"type": "object", "properties": {"n": {"type": "integer"}}}},
        }
    }
    metadata = {"toolConfig": {"tools": [spec]}}
    nova = ask(emu, "nova:us.amazon.nova-lite-v1:0", emu.video_urls[0], "Length of clip 4?")
    reply = client.post(VLM, json={**nova, "extra_body": {"metadata": metadata}}).json()
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    function = choice["message"]["tool_calls"][0]["function"]
    assert function["name"] == "clip_length" and json.loads(function["arguments"]) == {"n": 4}
    gemini = ask(emu, "gemini:gemini-2.5-flash", emu.video_urls[0], "Length of clip 4?")
    refused = client.post(VLM, json={**gemini, "extra_body": {"metadata": metadata}})
    assert refused.status_code == 400 and "nova" in refused.json()["msg"]
