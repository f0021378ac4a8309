"""POST /api/serve/video/chat over real HTTP: framing, grounding, history, validation, limits."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mavi_core.emulator import MaviEmulator

CHAT = "/api/serve/video/chat"
KITCHEN = "VI634021601844219905"
HARBOR = "VI634021587219364352"

Body = Callable[..., dict[str, Any]]
Decode = Callable[[bytes], list[Any]]


def _answer(client: httpx.Client, body: dict[str, Any], decode: Decode) -> str:
    reply = client.post(CHAT, json=body)
    return "".join(event["data"]["msg"] for event in decode(reply.content))


def test_streamed_reply_is_a_sequence_of_data_events(
    client: httpx.Client, chat_body: Body, decode_events: Decode
) -> None:
    reply = client.post(CHAT, json=chat_body())
    events = decode_events(reply.content)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/event-stream;charset=UTF-8"
    assert len(events) > 20
    assert all(event["code"] == "0000" and event["msg"] == "success" for event in events)
    assert reply.content.startswith(
        b'data:{"code":"0000","msg":"success","data":{"msg":"In "}}\n\n'
    )


def test_stream_has_no_end_marker_by_default(client: httpx.Client, chat_body: Body) -> None:
    reply = client.post(CHAT, json=chat_body())
    last = reply.content.rstrip(b"\n").rsplit(b"\n\n", 1)[-1]
    assert last.startswith(b'data:{"code":"0000"')
    assert b"Done" not in reply.content and b"[DONE]" not in reply.content


def test_non_streamed_reply_is_one_event_with_the_whole_answer(
    client: httpx.Client, chat_body: Body, decode_events: Decode
) -> None:
    streamed = _answer(client, chat_body(), decode_events)
    reply = client.post(CHAT, json=chat_body(stream=False))
    events = decode_events(reply.content)
    assert reply.headers["content-type"] == "text/event-stream;charset=UTF-8"
    assert len(events) == 1
    assert events[0]["data"]["msg"] == streamed


def test_answer_is_grounded_in_the_matching_scene_with_name_and_times(
    client: httpx.Client, chat_body: Body, decode_events: Decode
) -> None:
    answer = _answer(client, chat_body(stream=False), decode_events)
    assert "kitchen_knife_skills_demo.mp4 at 01:02–01:45" in answer
    assert "onion" in answer
    assert 150 < len(answer) < 900


def test_answers_are_deterministic(client: httpx.Client, chat_body: Body) -> None:
    first = client.post(CHAT, json=chat_body()).content
    assert client.post(CHAT, json=chat_body()).content == first


def test_follow_up_continues_after_the_last_cited_moment(
    client: httpx.Client, chat_body: Body, decode_events: Decode
) -> None:
    first = _answer(client, chat_body(), decode_events)
    history = [{"user": "How does the chef dice the onion?", "robot": first}]
    follow_up = _answer(
        client, chat_body(message="What happens after that?", history=history), decode_events
    )
    assert follow_up.startswith("After that, in kitchen_knife_skills_demo.mp4 at 01:45–02:28")
    assert "Tomatoes" in follow_up


@pytest.mark.parametrize("message", ["and then?", "Next", "what comes next?"])
def test_short_follow_ups_are_recognised(
    client: httpx.Client, chat_body: Body, decode_events: Decode, message: str
) -> None:
    robot = "In kitchen_knife_skills_demo.mp4 at 03:10–03:56: Carrots are cut into matchsticks."
    history = [{"user": "carrots?", "robot": robot}]
    answer = _answer(client, chat_body(message=message, history=history), decode_events)
    assert answer.startswith("After that, in kitchen_knife_skills_demo.mp4 at 03:56–04:40")


def test_follow_up_after_a_system_prompt_continues_the_story(
    client: httpx.Client, chat_body: Body, decode_events: Decode
) -> None:
    # What ChatMavi and MaviChatEngine send: the system text, a blank line, then the question.
    system = "You are a concise assistant."
    first_message = f"{system}\n\nWho is in the video?"
    first = _answer(
        client, chat_body(videoNos=[HARBOR], message=first_message, stream=False), decode_events
    )
    history = [{"user": first_message, "robot": first}]
    body = chat_body(videoNos=[HARBOR], message=f"{system}\n\nWhat do they do next?")
    follow_up = _answer(client, {**body, "history": history}, decode_events)
    assert follow_up.startswith("After that, in harbor_sunrise_timelapse.mp4 at ")
    assert "00:00–00:18" not in follow_up  # not the first scene again
    assert follow_up not in first


@pytest.mark.parametrize(
    "question", ["What do they do next?", "And what does she do after that?", "What now?"]
)
def test_follow_ups_naming_nothing_new_continue_whatever_the_wording(
    client: httpx.Client, chat_body: Body, decode_events: Decode, question: str
) -> None:
    robot = "In kitchen_knife_skills_demo.mp4 at 03:10–03:56: Carrots are cut into matchsticks."
    body = chat_body(message=f"Be brief.\n\n{question}", history=[{"user": "", "robot": robot}])
    answer = _answer(client, body, decode_events)
    assert answer.startswith("After that, in kitchen_knife_skills_demo.mp4 at 03:56–04:40")


def test_a_new_question_in_a_conversation_is_answered_from_the_videos(
    client: httpx.Client, chat_body: Body, decode_events: Decode
) -> None:
    robot = "In kitchen_knife_skills_demo.mp4 at 03:10–03:56: Carrots are cut into matchsticks."
    body = chat_body(message="How is the onion diced?", history=[{"user": "", "robot": robot}])
    answer = _answer(client, body, decode_events)
    assert "kitchen_knife_skills_demo.mp4 at 01:02–01:45" in answer


def test_follow_up_at_the_last_scene_says_the_video_ends(
    client: httpx.Client, chat_body: Body, decode_events: Decode
) -> None:
    robot = "In kitchen_knife_skills_demo.mp4 at 06:18–06:52: Chef Amara plates the stir-fry."
    answer = _answer(
        client,
        chat_body(message="and then?", history=[{"user": "", "robot": robot}]),
        decode_events,
    )
    assert answer.startswith("That is where the video ends (06:52).")


def test_unmatched_question_summarises_the_first_scenes(
    client: httpx.Client, chat_body: Body, decode_events: Decode
) -> None:
    body = chat_body(videoNos=[HARBOR, KITCHEN], message="Summarize please")
    answer = _answer(client, body, decode_events)
    assert answer.startswith("I found nothing that matches this directly")
    assert "harbor_sunrise_timelapse.mp4 at 00:00–00:18" in answer
    assert "kitchen_knife_skills_demo.mp4 at 00:00–00:25" in answer


def test_delta_size_groups_words_per_delta(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body, decode_events: Decode
) -> None:
    emu.delta_size = 4
    pieces = [e["data"]["msg"] for e in decode_events(client.post(CHAT, json=chat_body()).content)]
    assert all(len(piece.split()) == 4 for piece in pieces[:-1])
    assert 1 <= len(pieces[-1].split()) <= 4


def test_stream_is_flushed_event_by_event(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.delta_delay = 0.05
    emu.answer_words = 12
    arrivals = []
    started = time.monotonic()
    with client.stream("POST", CHAT, json=chat_body()) as reply:
        for line in reply.iter_lines():
            if line.startswith("data:"):
                arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 12
    assert arrivals[0] < 0.3
    assert arrivals[-1] - arrivals[0] > 0.4  # eleven gaps of 50 ms


async def test_async_client_streams_the_same_answer(
    emu: MaviEmulator, chat_body: Body, decode_events: Decode
) -> None:
    headers = {"Authorization": emu.api_key}
    async with httpx.AsyncClient(base_url=emu.base_url, headers=headers) as http:
        chunks = []
        async with http.stream("POST", CHAT, json=chat_body()) as reply:
            async for chunk in reply.aiter_bytes():
                chunks.append(chunk)
        whole = await http.post(CHAT, json=chat_body(stream=False))
    streamed = "".join(e["data"]["msg"] for e in decode_events(b"".join(chunks)))
    assert streamed == decode_events(whole.content)[0]["data"]["msg"]


def test_answer_words_pads_answers_for_benchmarks(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body, decode_events: Decode
) -> None:
    emu.answer_words = 20_000
    started = time.monotonic()
    events = decode_events(client.post(CHAT, json=chat_body(), timeout=30).content)
    assert len(events) == 20_000
    assert time.monotonic() - started < 5.0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"videoNos": []}, "videoNos"),
        ({"videoNos": "VI634021601844219905"}, "videoNos"),
        ({"videoNos": [7]}, "videoNos"),
        ({"videoNos": ["VI000000000000000000"]}, "videoNos"),
        ({"message": ""}, "message"),
        ({"message": None}, "message"),
        ({"history": "earlier"}, "history"),
        ({"history": [{"user": "hi"}]}, "history[0]"),
        ({"stream": "yes"}, "stream"),
        ({"stream": None}, "stream"),
    ],
)
def test_invalid_chat_parameters_get_0001_naming_the_field(
    client: httpx.Client, chat_body: Body, change: dict[str, Any], field: str
) -> None:
    reply = client.post(CHAT, json=chat_body(**change))
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json;charset=UTF-8"
    assert reply.json()["code"] == "0001"
    assert reply.json()["msg"].startswith(field)
    assert "data" not in reply.json()


def test_non_json_chat_body_gets_0001(client: httpx.Client) -> None:
    reply = client.post(CHAT, content=b"videoNos=1", headers={"content-type": "text/plain"})
    assert reply.json() == {"code": "0001", "msg": "The request body must be JSON."}


def test_rate_limit_answers_0429_after_the_limit(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.rate_limit = 3
    allowed = [client.post(CHAT, json=chat_body(stream=False)).text for _ in range(3)]
    over = client.post(CHAT, json=chat_body(stream=False))
    assert all(text.startswith('data:{"code":"0000"') for text in allowed)
    assert over.status_code == 200
    assert over.json()["code"] == "0429"
    assert over.json()["msg"].startswith("Request has exceeded the limit. ")


def test_rate_limited_reply_says_how_to_lift_the_limit_and_when_to_retry(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.rate_limit = 2
    for _ in range(2):
        client.post(CHAT, json=chat_body(stream=False))
    over = client.post(CHAT, json=chat_body(stream=False))
    msg = over.json()["msg"]
    assert "2 chat requests a minute" in msg
    assert "--rate-limit off" in msg and "MaviEmulator(rate_limit=None)" in msg
    assert msg.endswith(".") and not msg.endswith("..")
    assert 1 <= int(over.headers["retry-after"]) <= 60


def test_rate_limit_counts_each_credential_separately(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.rate_limit = 1
    token = emu.issue_tokens()["accessToken"]
    assert client.post(CHAT, json=chat_body(stream=False)).text.startswith('data:{"code":"0000"')
    reply = client.post(CHAT, json=chat_body(stream=False), headers={"Authorization": token})
    assert reply.text.startswith('data:{"code":"0000"')


def test_unparsed_video_cannot_be_chatted_about(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.parse_delay = 30
    uploaded = client.post("/api/serve/video/upload", files={"file": ("new_clip.mp4", b"\0" * 64)})
    video_no = uploaded.json()["data"]["videoNo"]
    reply = client.post(CHAT, json=chat_body(videoNos=[video_no]))
    assert reply.json()["code"] == "0001"
    assert "not parsed yet (status UNPARSE)" in reply.json()["msg"]


def test_chat_reply_events_carry_json_with_non_ascii_text(
    client: httpx.Client, chat_body: Body
) -> None:
    reply = client.post(CHAT, json=chat_body(stream=False))
    payload = json.loads(reply.content.decode()[len("data:") :])
    assert re.search(r"\d\d:\d\d–\d\d:\d\d", payload["data"]["msg"])  # en dash, raw UTF-8
    assert "–".encode() in reply.content
