"""The v1.2 chat over real HTTP: its JSON reply, its typed event stream, sessions, faults.

The wire shapes asserted here are the contract the v1.2 client is built on (see the
``mavi_core.emulator`` module docstring): a change here is a change of that contract.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest

from mavi_core.emulator import MaviEmulator
from mavi_core.emulator._library import load_samples
from mavi_core.emulator._sessions import SessionStore

from .conftest import _decode_events as _events

CHAT = "/serve/api/v1/chat"
STREAM = "/serve/api/v1/chat_stream"
V10_CHAT = "/api/serve/video/chat"
DETAIL = "/serve/api/v1/get_session_detail"
KITCHEN = "VI634021601844219905"  # kitchen_knife_skills_demo.mp4
HARBOR = "VI634021587219364352"  # harbor_sunrise_timelapse.mp4
ONION = "How does the chef dice the onion?"
EVENT_STREAM = "text/event-stream;charset=UTF-8"
JSON_TYPE = "application/json;charset=UTF-8"
MODEL_FAILED = "The model failed while generating the answer."

# The documented shapes (tests/data/wire_samples/v1.2/): refs nested, one entry per video.
THINKING_KEYS = {"type", "title", "content", "sessionId"}
REF_EVENT_KEYS = {"type", "sessionId", "ref"}
REF_KEYS = {"video", "refItems"}
VIDEO_KEYS = {"video_no", "video_name", "duration"}
REF_ITEM_KEYS = {"videoNo", "startTime", "endTime", "type", "text"}
KEYFRAME_KEYS = {"videoNo", "startTime", "type"}
CONTENT_KEYS = {"type", "role", "content", "sessionId"}
REF_KINDS = {"keyframe", "visual_ts", "audio_ts"}


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"video_nos": [KITCHEN], "prompt": ONION}
    body.update(overrides)
    return body


def _raw_json(body: dict[str, Any]) -> bytes:
    """A body as bytes, so a session id > 2**53 is written as the exact JSON integer."""
    return json.dumps(body).encode()


def _stream(client: httpx.Client, **overrides: Any) -> list[Any]:
    reply = client.post(STREAM, json=_body(**overrides))
    assert reply.status_code == 200
    assert reply.headers["content-type"] == EVENT_STREAM
    return _events(reply.content)


def _chat(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    reply = client.post(CHAT, json=_body(**overrides))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == JSON_TYPE
    payload = reply.json()
    assert (payload["code"], payload["msg"]) == ("0000", "success"), payload
    data: dict[str, Any] = payload["data"]
    return data


def _text(events: list[Any]) -> str:
    return "".join(e["content"] for e in events if isinstance(e, dict) and e["type"] == "content")


def _session_ids(raw: bytes) -> set[str]:
    """Every session id in a reply, as the digits written on the wire."""
    return {digits.decode() for digits in re.findall(rb'"(?:sessionId|session_id)":"?(\d+)', raw)}


# -- the JSON reply ---------------------------------------------------------------------------


def test_chat_reply_is_an_envelope_holding_the_whole_answer(client: httpx.Client) -> None:
    reply = client.post(CHAT, json=_body())
    assert (reply.json()["success"], reply.json()["failed"]) == (True, False)
    data = _chat(client)
    assert set(data) == {"role", "session_id", "content", "thinkings", "refs"}
    assert data["role"] == "ASSISTANT"
    assert "She halves an onion" in data["content"]
    assert type(data["session_id"]) is str and data["session_id"].isdigit()
    assert all(set(step) == {"title", "content"} for step in data["thinkings"])
    assert [ref["video"]["video_no"] for ref in data["refs"]] == [KITCHEN]
    assert all(set(ref) == REF_KEYS for ref in data["refs"])


def test_chat_and_stream_give_the_same_answer(client: httpx.Client) -> None:
    data = _chat(client)
    events = _stream(client)
    assert _text(events) == data["content"]
    thinking = [{"title": e["title"], "content": e["content"]} for e in events[:2]]
    assert thinking == data["thinkings"]
    (ref_event,) = [e for e in events if isinstance(e, dict) and e["type"] == "ref"]
    assert ref_event["ref"] == data["refs"]


# -- the stream -------------------------------------------------------------------------------


def test_stream_is_thinking_then_refs_then_content_then_done(client: httpx.Client) -> None:
    events = _stream(client, video_nos=[KITCHEN, HARBOR], prompt="onion and tugboat")
    kinds = [e["type"] if isinstance(e, dict) else e for e in events]
    assert kinds[:3] == ["thinking", "thinking", "ref"]  # one ref event names every video
    assert [ref["video"]["video_no"] for ref in events[2]["ref"]] == [KITCHEN, HARBOR]
    assert set(kinds[3:-1]) == {"content"}
    assert kinds[-1] == "Done"


def test_every_event_has_its_exact_keys_and_types(client: httpx.Client) -> None:
    events = _stream(client)
    assert events[-1] == "Done"
    for event in events[:-1]:
        assert type(event["sessionId"]) is str and event["sessionId"].isdigit()
        if event["type"] == "thinking":
            assert set(event) == THINKING_KEYS
            assert isinstance(event["title"], str) and isinstance(event["content"], str)
        elif event["type"] == "ref":
            assert set(event) == REF_EVENT_KEYS
            for ref in event["ref"]:
                assert set(ref) == REF_KEYS and set(ref["video"]) == VIDEO_KEYS
                video = ref["video"]
                assert isinstance(video["video_no"], str) and isinstance(video["video_name"], str)
                assert isinstance(video["duration"], str) and video["duration"].isdigit()
                assert ref["refItems"]
                for item in ref["refItems"]:
                    assert item["videoNo"] == video["video_no"]
                    assert item["type"] in REF_KINDS
                    assert type(item["startTime"]) is int
                    if item["type"] == "keyframe":  # an instant: no end, no text
                        assert set(item) == KEYFRAME_KEYS
                        continue
                    assert set(item) == REF_ITEM_KEYS
                    assert type(item["endTime"]) is int and item["endTime"] > item["startTime"]
                    assert isinstance(item["text"], str) and item["text"]
        else:
            assert set(event) == CONTENT_KEYS
            assert event["type"] == "content" and isinstance(event["content"], str)
            assert event["role"] == "assistant"


def test_every_event_carries_the_same_session_id(client: httpx.Client) -> None:
    events = _stream(client)
    assert len({e["sessionId"] for e in events[:-1]}) == 1


def test_refs_are_the_real_scenes_and_lines_the_answer_cites(client: httpx.Client) -> None:
    kitchen = next(v for v in load_samples() if v.video_no == KITCHEN)
    events = _stream(client)
    (ref_event,) = [e for e in events if isinstance(e, dict) and e["type"] == "ref"]
    (ref,) = ref_event["ref"]
    video = ref["video"]
    assert (video["video_name"], video["duration"]) == (kitchen.name, str(kitchen.duration))
    scenes = {(m.start, m.end): m.text for m in kitchen.scenes}
    lines = {(m.start, m.end): m.text for m in kitchen.transcript}
    items = ref["refItems"]
    assert {item["type"] for item in items} == REF_KINDS
    for item in items:
        if item["type"] == "visual_ts":
            assert scenes[item["startTime"], item["endTime"]] == item["text"]
        elif item["type"] == "audio_ts":
            assert lines[item["startTime"], item["endTime"]] == item["text"]
        else:  # a keyframe: an instant inside a cited scene
            assert any(start <= item["startTime"] < end for start, end in scenes)
    answer = _text(events)
    for item in items:
        assert item.get("text", "") in answer
    assert [item["startTime"] for item in items] == sorted(item["startTime"] for item in items)


def test_thinking_says_what_was_asked_and_which_moments_were_found(client: httpx.Client) -> None:
    first, second = _stream(client)[:2]
    assert first["title"] == "Understanding the question"
    assert ONION in first["content"] and "kitchen_knife_skills_demo.mp4" in first["content"]
    assert second["title"] == "Finding the moments"
    assert "01:02–01:45" in second["content"]


def test_content_is_streamed_word_by_word(emu: MaviEmulator, client: httpx.Client) -> None:
    events = _stream(client)
    pieces = [e["content"] for e in events if isinstance(e, dict) and e["type"] == "content"]
    assert len(pieces) == len(_text(events).split())
    emu.delta_size = 5
    assert len([e for e in _stream(client) if e != "Done" and e["type"] == "content"]) == (
        -(-len(pieces) // 5)
    )


def test_content_arrives_incrementally(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.delta_delay = 0.01
    with client.stream("POST", STREAM, json=_body()) as reply:
        reads = [chunk for chunk in reply.iter_raw() if b'"type":"content"' in chunk]
    assert len(reads) > 10


def test_answer_words_pads_the_v12_answer_too(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.answer_words = 120
    assert len(_chat(client)["content"].split()) == 120


# -- sessions ---------------------------------------------------------------------------------


def test_new_session_ids_are_19_digit_strings_beyond_53_bits(client: httpx.Client) -> None:
    ids = {_chat(client)["session_id"] for _ in range(5)}
    assert len(ids) == 5
    assert all(isinstance(i, str) and 2**53 < int(i) < 2**63 and len(i) == 19 for i in ids)


def test_a_second_turn_continues_the_first(client: httpx.Client) -> None:
    first = _chat(client)
    assert "01:02–01:45" in first["content"]
    second = _chat(client, prompt="What happens next?", session_id=first["session_id"])
    assert second["session_id"] == first["session_id"]
    assert second["content"].startswith("After that, in kitchen_knife_skills_demo.mp4 at 01:45")
    assert "1 earlier turn" in second["thinkings"][0]["content"]


def test_the_same_question_without_the_session_starts_over(client: httpx.Client) -> None:
    _chat(client)
    fresh = _chat(client, prompt="What happens next?")
    assert not fresh["content"].startswith("After that")


def test_a_session_continues_across_the_two_endpoints(client: httpx.Client) -> None:
    session_id = _stream(client)[0]["sessionId"]
    events = _stream(client, prompt="What happens next?", session_id=session_id)
    assert {e["sessionId"] for e in events[:-1]} == {session_id}
    assert _text(events).startswith("After that")
    third = _chat(client, prompt="And then?", session_id=session_id)
    assert "3 earlier turn" not in third["thinkings"][0]["content"]
    assert "2 earlier turn" in third["thinkings"][0]["content"]


def test_big_session_ids_round_trip_exactly(client: httpx.Client) -> None:
    raw = client.post(CHAT, json=_body()).content
    (digits,) = _session_ids(raw)
    # The raw JSON integer, not a float: 19 digits survive only when parsed exactly.
    body = _raw_json(_body(prompt="What happens next?")).replace(
        b"}", b', "session_id": ' + digits.encode() + b"}"
    )
    headers = {"content-type": "application/json"}
    reply = client.post(STREAM, content=body, headers=headers)
    assert _session_ids(reply.content) == {digits}
    assert _text(_events(reply.content)).startswith("After that")
    # An id off by one, as a client that read it as a float might send, is another session.
    neighbour = _raw_json(_body(session_id=int(digits) + 1))
    refused = client.post(STREAM, content=neighbour, headers=headers)
    assert refused.content == f'data:"Session does not exist: {int(digits) + 1}"\n\n'.encode()


def test_a_session_id_sent_as_a_string_of_digits_is_accepted(client: httpx.Client) -> None:
    first = _chat(client)
    second = _chat(client, prompt="What happens next?", session_id=str(first["session_id"]))
    assert second["session_id"] == first["session_id"]


def test_a_failed_turn_is_not_remembered(emu: MaviEmulator, client: httpx.Client) -> None:
    session_id = _chat(client)["session_id"]
    emu.faults.error_after(2, path=STREAM)
    client.post(STREAM, json=_body(prompt="What happens next?", session_id=session_id))
    later = _chat(client, prompt="Where is the onion?", session_id=session_id)
    assert "1 earlier turn" in later["thinkings"][0]["content"]


def test_unknown_session_on_the_stream_is_a_bare_string(client: httpx.Client) -> None:
    body = _raw_json(_body(session_id=1234567890123456789))
    reply = client.post(STREAM, content=body, headers={"content-type": "application/json"})
    assert reply.status_code == 200
    assert reply.headers["content-type"] == EVENT_STREAM
    assert reply.content == b'data:"Session does not exist: 1234567890123456789"\n\n'


def test_unknown_session_on_the_json_endpoint_is_an_error_envelope(client: httpx.Client) -> None:
    reply = client.post(CHAT, json=_body(session_id=1234567890123456789))
    assert reply.status_code == 200
    assert reply.json() == {"code": "0001", "msg": "Session does not exist: 1234567890123456789"}


def test_expire_sessions_forgets_every_session(emu: MaviEmulator, client: httpx.Client) -> None:
    session_id = _chat(client)["session_id"]
    assert emu.session_count == 1
    emu.faults.expire_sessions()
    assert emu.session_count == 0
    reply = client.post(CHAT, json=_body(session_id=session_id))
    assert reply.json() == {"code": "0001", "msg": f"Session does not exist: {session_id}"}


def test_reset_forgets_sessions(emu: MaviEmulator, client: httpx.Client) -> None:
    _chat(client)
    emu.reset()
    assert emu.session_count == 0


def test_sessions_are_bounded_least_recently_used_first() -> None:
    store = SessionStore(max_sessions=2, max_turns=3)
    first, second = store.start(), store.start()
    assert store.history(first) == []  # used: now the most recent
    third = store.start()
    assert (first in store, second in store, third in store) == (True, False, True)


# -- refusals -------------------------------------------------------------------------------


def _unparsed_upload(client: httpx.Client) -> str:
    data = client.post(
        "/api/serve/video/upload", files={"file": ("fresh.mp4", b"\0" * 64, "video/mp4")}
    ).json()["data"]
    assert data["videoStatus"] == "UNPARSE"
    return str(data["videoNo"])


def test_unparsed_video_on_the_stream_is_a_bare_string(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.parse_delay = 60
    video_no = _unparsed_upload(client)
    reply = client.post(STREAM, json=_body(video_nos=[KITCHEN, video_no]))
    assert reply.content == b'data:"Video is not parsed"\n\n'


def test_unparsed_video_on_the_json_endpoint_is_an_error_envelope(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.parse_delay = 60
    video_no = _unparsed_upload(client)
    reply = client.post(CHAT, json=_body(video_nos=[video_no]))
    assert reply.json() == {"code": "0001", "msg": "Video is not parsed"}


def test_an_upload_can_be_asked_once_parsed(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.parse_delay = 0
    url = {"url": "https://example.com/garden_tour.mp4"}
    video_no = client.post("/api/serve/video/uploadUrl", json=url).json()["data"]["videoNo"]
    data = _chat(client, video_nos=[video_no], prompt="garden")
    assert data["refs"][0]["video"]["video_name"] == "garden_tour.mp4"


def test_unknown_video_is_refused_like_an_unparsed_one(client: httpx.Client) -> None:
    stream = client.post(STREAM, json=_body(video_nos=["VI000"]))
    assert stream.content == b'data:"Video does not exist: VI000"\n\n'
    assert client.post(CHAT, json=_body(video_nos=["VI000"])).json() == {
        "code": "0001",
        "msg": "Video does not exist: VI000",
    }


@pytest.mark.parametrize("path", [CHAT, STREAM])
@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"prompt": ONION}, "video_nos"),
        ({"video_nos": KITCHEN, "prompt": ONION}, "video_nos"),
        ({"video_nos": [KITCHEN]}, "prompt"),
        ({"videoNos": [KITCHEN], "message": ONION}, "video_nos"),
        (_body(session_id=1.5), "session_id"),
        (_body(session_id=True), "session_id"),
        (_body(unique_id=["a"]), "unique_id"),
    ],
)
def test_a_malformed_body_is_a_0001_envelope_on_both_paths(
    client: httpx.Client, path: str, body: dict[str, Any], names: str
) -> None:
    reply = client.post(path, json=body)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == JSON_TYPE
    payload = reply.json()
    assert payload["code"] == "0001" and names in payload["msg"]


def test_unique_id_is_accepted(client: httpx.Client) -> None:
    assert _chat(client, unique_id="user-42")["content"]


# -- auth, rate limit, request log ------------------------------------------------------------


@pytest.mark.parametrize("path", [CHAT, STREAM])
def test_the_raw_key_or_a_bearer_key_is_accepted(
    emu: MaviEmulator, anon: httpx.Client, path: str
) -> None:
    for value in (emu.api_key, f"Bearer {emu.api_key}"):
        assert anon.post(path, json=_body(), headers={"Authorization": value}).status_code == 200
    refused = anon.post(path, json=_body())
    assert refused.json()["code"] == "0401"


@pytest.mark.parametrize("path", [CHAT, STREAM])
def test_rate_limit_answers_0429_with_retry_after(
    emu: MaviEmulator, client: httpx.Client, path: str
) -> None:
    emu.rate_limits = {"chat": 1}  # v1.0's budget, spent below, is not v1.2's
    client.post(V10_CHAT, json={"videoNos": [KITCHEN], "message": "onion", "stream": True})
    for _ in range(2):  # v1.2's own: 2 a minute, the chat and its stream together
        assert client.post(CHAT, json=_body()).status_code == 200
    reply = client.post(path, json=_body())
    assert reply.status_code == 200
    assert reply.headers["content-type"] == JSON_TYPE
    assert reply.json()["code"] == "0429"
    assert "2 chat_v12 requests a minute" in reply.json()["msg"]
    assert int(reply.headers["retry-after"]) >= 1


def test_v12_requests_are_logged_with_secrets_masked(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    body = _raw_json(_body(session_id=1234567890123456789, unique_id="u1"))
    client.post(STREAM, content=body, headers={"content-type": "application/json"})
    logged = emu.requests[-1]
    assert (logged.method, logged.path) == ("POST", STREAM)
    assert logged.headers["authorization"] == "sk-m…(masked)"
    assert logged.body == {
        "video_nos": [KITCHEN],
        "prompt": ONION,
        "session_id": 1234567890123456789,
        "unique_id": "u1",
    }


# -- faults on the v1.2 stream ----------------------------------------------------------------


def test_error_after_sends_content_then_a_bare_error_string(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.faults.error_after(3, path=STREAM)
    events = _stream(client)
    assert [e["type"] for e in events[:-1]].count("content") == 3
    assert events[-1] == MODEL_FAILED
    assert "Done" not in events


def test_error_after_with_error_envelopes_ends_as_the_documented_error_end(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    """tests/data/wire_samples/v1.2/chat_stream_error_end.sse: the words where "Done" would be,
    never a {"code","msg"} envelope event."""
    emu.faults.framing_v12(error_envelopes=True)
    emu.faults.error_after(2, "0500", "boom", path=STREAM)
    raw = client.post(STREAM, json=_body()).content
    assert raw.endswith(b'"}\n\ndata:{"code":"SUCCESS","data":"boom"}\n\n')
    events = _events(raw)
    assert [e.get("type") for e in events].count("content") == 2


def test_error_after_zero_comes_after_thinking_and_refs(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.faults.error_after(0, path=STREAM)
    events = _stream(client)
    assert [e["type"] for e in events[:-1]] == ["thinking", "thinking", "ref"]
    assert events[-1] == MODEL_FAILED


def test_stream_faults_default_to_the_v10_chat(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.faults.error_after(1)
    assert _stream(client)[-1] == "Done"
    assert emu.faults.pending == ["error_after(1, '0500') x1"]


def test_a_stream_fault_with_path_none_strikes_either_dialect(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.faults.error_after(1, path=None, times=2)
    assert _stream(client)[-1] == MODEL_FAILED
    v10 = client.post(V10_CHAT, json={"videoNos": [KITCHEN], "message": "onion", "stream": True})
    assert b'"code":"0500"' in v10.content
    assert emu.faults.pending == []


def test_a_stream_fault_on_another_path_is_refused(emu: MaviEmulator) -> None:
    with pytest.raises(ValueError, match="a chat stream"):
        emu.faults.disconnect_after(1, path=CHAT)


def test_disconnect_after_drops_the_v12_stream(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.faults.disconnect_after(2, path=STREAM)
    received: list[bytes] = []
    with pytest.raises(httpx.RemoteProtocolError):
        with client.stream("POST", STREAM, json=_body()) as reply:
            received.extend(reply.iter_raw())
    assert b"".join(received).count(b'"type":"content"') == 2


def test_stall_after_goes_silent_then_resumes(emu: MaviEmulator, client: httpx.Client) -> None:
    full = client.post(STREAM, json=_body()).content
    emu.faults.stall_after(1, 0.3, path=STREAM)
    started = time.monotonic()
    stalled = client.post(STREAM, json=_body()).content
    assert time.monotonic() - started >= 0.3
    assert _text(_events(stalled)) == _text(_events(full))


def test_stall_after_times_out_a_reader(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.faults.stall_after(2, 5.0, path=STREAM)
    with pytest.raises(httpx.ReadTimeout):
        client.post(STREAM, json=_body(), timeout=httpx.Timeout(5.0, read=0.3))


@pytest.mark.parametrize("path", [CHAT, STREAM])
def test_error_faults_reach_the_v12_paths(
    emu: MaviEmulator, client: httpx.Client, path: str
) -> None:
    emu.faults.error_envelope("0402", "Not enough credits.", path=path)
    assert client.post(path, json=_body()).json() == {"code": "0402", "msg": "Not enough credits."}
    emu.faults.rate_limit_http(3, path=path)
    limited = client.post(path, json=_body())
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
    emu.faults.http_error(502, html=True, path=path)
    assert client.post(path, json=_body()).status_code == 502


def test_slow_first_byte_on_the_v12_stream(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.faults.slow_first_byte(0.3, path=STREAM)
    started = time.monotonic()
    client.post(STREAM, json=_body())
    assert time.monotonic() - started >= 0.3


# -- framing of the v1.2 stream ---------------------------------------------------------------


def _unknown_session(client: httpx.Client) -> httpx.Response:
    return client.post(STREAM, json=_body(session_id=1))


def test_crlf_and_space_after_data(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.faults.framing_v12(crlf=True, space_after_data=True)
    raw = client.post(STREAM, json=_body()).content
    assert raw.startswith(b'data: {"type":"thinking"')
    assert raw.endswith(b'}\r\n\r\ndata: "Done"\r\n\r\n')
    assert b"\n\n" not in raw.replace(b"\r\n\r\n", b"")
    assert _unknown_session(client).content == b'data: "Session does not exist: 1"\r\n\r\n'


@pytest.mark.parametrize(
    ("marker", "last"),
    [("DONE", b'data:"DONE"\n\n'), ("done", b'data:"done"\n\n'), ("[DONE]", b"data:[DONE]\n\n")],
)
def test_end_marker_variants(
    emu: MaviEmulator, client: httpx.Client, marker: Any, last: bytes
) -> None:
    emu.faults.framing_v12(end_marker=marker)
    assert client.post(STREAM, json=_body()).content.endswith(b"}\n\n" + last)


def test_no_end_marker_ends_with_the_last_content(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.faults.framing_v12(end_marker=None)
    assert _events(client.post(STREAM, json=_body()).content)[-1]["type"] == "content"


def test_batched_writes_several_events_at_once(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.delta_delay = 0.02
    emu.faults.framing_v12(batched=True)
    with client.stream("POST", STREAM, json=_body()) as reply:
        reads = list(reply.iter_raw())
    assert all(read.count(b"data:") > 1 for read in reads)
    assert reads[-1].endswith(b'data:"Done"\n\n') and b'"type":"content"' in reads[-1]


def test_batched_error_shares_a_write_with_the_content_before_it(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.delta_delay = 0.02
    emu.faults.framing_v12(batched=True)
    emu.faults.error_after(6, path=STREAM)
    with client.stream("POST", STREAM, json=_body()) as reply:
        reads = list(reply.iter_raw())
    assert reads[-1].endswith(f'data:"{MODEL_FAILED}"\n\n'.encode())
    assert b'"type":"content"' in reads[-1]


def test_error_envelopes_refuse_with_the_documented_error_end(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.faults.framing_v12(error_envelopes=True)
    reply = _unknown_session(client)
    assert reply.headers["content-type"] == EVENT_STREAM
    assert reply.content == b'data:{"code":"SUCCESS","data":"Session does not exist: 1"}\n\n'


def test_error_envelopes_refuse_an_unparsed_video_with_the_documented_error_end(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.parse_delay = 3600.0
    emu.faults.framing_v12(error_envelopes=True)
    upload = client.post(
        "/serve/api/v1/upload", files={"file": ("fresh.mp4", b"\0" * 64, "video/mp4")}
    )
    video_no = upload.json()["data"]["videoNo"]
    reply = client.post(STREAM, json=_body(video_nos=[video_no]))
    assert reply.content == b'data:{"code":"SUCCESS","data":"Video is not parsed"}\n\n'


def test_done_after_error(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.faults.framing_v12(done_after_error=True)
    assert _unknown_session(client).content == (
        b'data:"Session does not exist: 1"\n\ndata:"Done"\n\n'
    )
    emu.faults.error_after(1, path=STREAM)
    assert _events(client.post(STREAM, json=_body()).content)[-2:] == [MODEL_FAILED, "Done"]


def test_a_session_id_of_5000_digits_is_a_0001_error_not_a_crash(client: httpx.Client) -> None:
    digits = "9" * 5000  # beyond the 4300 digits Python turns into an integer
    headers = {"content-type": "application/json"}
    for path in (CHAT, STREAM):
        for session_id in (digits.encode(), b'"' + digits.encode() + b'"'):
            body = _raw_json(_body()).replace(b"}", b', "session_id": ' + session_id + b"}")
            reply = client.post(path, content=body, headers=headers)
            assert reply.status_code == 200
            assert reply.json()["code"] == "0001", reply.text[:200]
    detail = client.get(DETAIL, params={"sessionId": digits})
    assert (detail.status_code, detail.json()["code"]) == (200, "0001")


def test_no_content_type(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.faults.framing_v12(content_type=None)
    assert "content-type" not in client.post(STREAM, json=_body()).headers


def test_framing_v12_leaves_the_v10_framing_alone(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.faults.framing_v12(crlf=True, end_marker="DONE")
    v10 = client.post(V10_CHAT, json={"videoNos": [KITCHEN], "message": "onion", "stream": True})
    assert b"\r\n" not in v10.content and b"DONE" not in v10.content


def test_framing_v12_refuses_an_unknown_end_marker(emu: MaviEmulator) -> None:
    with pytest.raises(ValueError, match="end_marker"):
        emu.faults.framing_v12(end_marker="Fin")  # type: ignore[arg-type]


# -- dialects ---------------------------------------------------------------------------------


def test_both_dialects_are_served_by_default(emu: MaviEmulator) -> None:
    assert emu.api_versions == ("v1.0", "v1.2")


@pytest.mark.parametrize(
    ("versions", "served", "absent"),
    [(("v1.0",), [V10_CHAT], [CHAT, STREAM]), (("v1.2",), [CHAT, STREAM], [V10_CHAT])],
)
def test_a_dialect_left_out_answers_404(
    emu: MaviEmulator,
    client: httpx.Client,
    versions: tuple[str, ...],
    served: list[str],
    absent: list[str],
) -> None:
    emu.api_versions = versions
    v10_body = {"videoNos": [KITCHEN], "message": "onion", "stream": True}
    for path in served:
        assert client.post(path, json=v10_body if path == V10_CHAT else _body()).status_code == 200
    for path in absent:
        assert client.post(path, json=_body()).status_code == 404
    searchdb = client.get("/api/serve/video/searchDB").status_code
    assert searchdb == (200 if "v1.0" in versions else 404)


V10_VIDEO_ROUTES = [
    ("POST", "/api/serve/video/upload"),
    ("POST", "/api/serve/video/uploadUrl"),
    ("GET", "/api/serve/video/searchDB"),
    ("POST", "/api/serve/video/searchAI"),
    ("POST", "/api/serve/video/searchVideoFragment"),
    ("POST", "/api/serve/video/subTranscription"),
    ("GET", "/api/serve/video/getTranscription"),
    ("DELETE", "/api/serve/video/delete"),
]


@pytest.mark.parametrize(("method", "path"), V10_VIDEO_ROUTES)
def test_the_v10_video_routes_are_off_with_the_v10_dialect(
    emu: MaviEmulator, client: httpx.Client, method: str, path: str
) -> None:
    """A dialect left out answers its video paths as it answers its chat path: HTTP 404, as an
    unknown path (the v1.2 video paths do the same, test_emulator_v12_videos.py)."""
    emu.api_versions = ("v1.2",)
    off = client.request(method, path)
    unknown = client.request(method, "/api/serve/video/noSuchPath")
    assert off.status_code == unknown.status_code == 404
    assert off.content == unknown.content.replace(b"/api/serve/video/noSuchPath", path.encode())
    assert client.post(V10_CHAT, json={"videoNos": [KITCHEN], "message": "x"}).status_code == 404
    emu.api_versions = ("v1.0",)
    assert client.request(method, path).status_code != 404


# -- sessions belong to whoever started them ----------------------------------------------------


def _token_client(emu: MaviEmulator) -> httpx.Client:
    """An httpx client for a user of the token flow (one code exchanged: one user)."""
    reply = httpx.post(
        f"{emu.base_url}/auth/api/token/getAccessToken",
        json={"clientId": emu.client_id, "code": emu.authorization_code()},
    )
    token = reply.json()["data"]["accessToken"]
    return httpx.Client(base_url=emu.base_url, headers={"Authorization": token}, timeout=5.0)


@pytest.mark.parametrize("path", [CHAT, STREAM])
def test_a_session_cannot_be_continued_with_another_credential(
    emu: MaviEmulator, client: httpx.Client, path: str
) -> None:
    """The service holds a conversation for whoever started it: another key's (or another
    user's) session id is answered as an unknown session."""
    session_id = _chat(client)["session_id"]
    with _token_client(emu) as user, _token_client(emu) as other_user:
        body = _raw_json(_body(prompt="What happens next?", session_id=session_id))
        headers = {"content-type": "application/json"}
        refused = user.post(path, content=body, headers=headers)
        unknown = user.post(path, content=_raw_json(_body(session_id=1)), headers=headers)
        if path == CHAT:
            assert refused.json() == {
                "code": "0001",
                "msg": f"Session does not exist: {session_id}",
            }
        else:
            assert refused.content == f'data:"Session does not exist: {session_id}"\n\n'.encode()
        assert refused.content == unknown.content.replace(b": 1", f": {session_id}".encode())

        own = _chat(user)["session_id"]
        assert _chat(user, prompt="What happens next?", session_id=own)["session_id"] == own
        for stranger in (client, other_user):
            reply = stranger.post(CHAT, content=_raw_json(_body(session_id=own)), headers=headers)
            assert reply.json()["msg"] == f"Session does not exist: {own}"
    # The key's own session is unharmed by the attempts.
    later = _chat(client, prompt="Where is the onion?", session_id=session_id)
    assert later["session_id"] == session_id
    assert "1 earlier turn" in later["thinkings"][0]["content"]


def test_a_refreshed_token_keeps_its_users_sessions(emu: MaviEmulator) -> None:
    reply = httpx.post(
        f"{emu.base_url}/auth/api/token/getAccessToken",
        json={"clientId": emu.client_id, "code": emu.authorization_code()},
    ).json()["data"]
    first = httpx.Client(base_url=emu.base_url, headers={"Authorization": reply["accessToken"]})
    with first:
        session_id = _chat(first)["session_id"]
    refreshed = httpx.post(
        f"{emu.base_url}/auth/api/token/refreshAccessToken",
        json={"refreshToken": reply["refreshToken"]},
    ).json()["data"]["accessToken"]
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": refreshed}) as second:
        again = _chat(second, prompt="What happens next?", session_id=session_id)
    assert again["session_id"] == session_id


def test_the_session_list_holds_only_the_callers_sessions(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    mine = _chat(client)["session_id"]
    with _token_client(emu) as user:
        theirs = _chat(user, prompt="Where is the onion?")["session_id"]
        listed = user.get("/serve/api/v1/list_sessions").json()["data"]
    assert [item["sessionId"] for item in listed["sessions"]] == [str(theirs)]
    assert listed["total_count"] == "1"
    own = client.get("/serve/api/v1/list_sessions").json()["data"]
    assert [item["sessionId"] for item in own["sessions"]] == [str(mine)]


def test_a_session_belongs_to_the_unique_id_it_was_opened_in(client: httpx.Client) -> None:
    """Listed, read and continued under that `unique_id` only: another (or none, "default")
    is answered as for an unknown session."""
    session_id = _chat(client, unique_id="user-1")["session_id"]
    missing = f"Session does not exist: {session_id}"

    def listed(**query: str) -> list[str]:
        data = client.get("/serve/api/v1/list_sessions", params=query).json()["data"]
        return [item["sessionId"] for item in data["sessions"]]

    assert listed(unique_id="user-1") == [session_id]
    assert listed(unique_id="user-2") == listed() == listed(unique_id="default") == []
    detail = client.get(DETAIL, params={"sessionId": session_id, "unique_id": "user-1"})
    assert detail.json()["data"]["session_id"] == session_id
    headers = {"content-type": "application/json"}
    for elsewhere in ({"unique_id": "user-2"}, {"unique_id": "default"}, {}):
        detail = client.get(DETAIL, params={"sessionId": session_id, **elsewhere})
        assert detail.json() == {"code": "0001", "msg": missing}
        body = _raw_json(_body(prompt="What happens next?", session_id=session_id, **elsewhere))
        assert client.post(CHAT, content=body, headers=headers).json()["msg"] == missing
        streamed = client.post(STREAM, content=body, headers=headers).content
        assert streamed == f'data:"{missing}"\n\n'.encode()
    body = _raw_json(_body(prompt="What happens next?", session_id=session_id, unique_id="user-1"))
    again = client.post(STREAM, content=body, headers=headers).content
    assert _events(again)[-1] == "Done" and _session_ids(again) == {session_id}


def test_a_keys_bound_on_sessions_counts_every_unique_id() -> None:
    store = SessionStore(max_per_owner=2)
    first = store.start("a", "key", "user-1")
    second = store.start("b", "key", "user-2")
    third = store.start("c", "key", "user-1")
    assert first not in store and second in store and third in store
    assert store.listing("key", "user-1") == [(third, "c")]
    assert store.listing("key", "user-2") == [(second, "b")]
    assert store.listing("key") == []
    assert store.owns(second, "key", "user-2") and not store.owns(second, "key", "user-1")


def test_api_versions_must_name_known_dialects() -> None:
    with pytest.raises(ValueError, match="api_versions"):
        MaviEmulator(api_versions=("v2",))
    with pytest.raises(ValueError, match="api_versions"):
        MaviEmulator(api_versions=())


# -- bounds: what sessions keep ---------------------------------------------------------------


def test_200_sessions_opened_with_a_1_25_mib_prompt_keep_little_memory() -> None:
    import tracemalloc
    from dataclasses import replace

    from mavi_core.emulator._sessions import TURN_CHARS
    from mavi_core.emulator._v12 import Thinking, compose_v12

    prompt = ("How does the tugboat leave the harbor? " * 40_000)[: 1_310_720 - 4]
    answer = compose_v12(load_samples()[:1], prompt, [])  # its thinking quotes the prompt
    store = SessionStore()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(200):
            asked = f"{prompt}{index:04d}"  # a new 1.25 MiB string each time, as a request's
            steps = tuple(Thinking(step.title, step.content + asked) for step in answer.thinking)
            session_id = store.start(asked, owner="key")
            store.add_turn(session_id, asked, replace(answer, thinking=steps))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(store) == 200
    assert grown < 20 * 2**20, f"{grown / 2**20:.0f} MiB kept for 200 sessions"
    _, [turn] = store.detail(session_id, owner="key") or ("", [])
    assert turn.prompt == asked[:TURN_CHARS]
    assert all(len(step.content) <= TURN_CHARS for step in turn.answer.thinking)


def test_a_key_keeps_at_most_its_share_of_sessions_oldest_forgotten_first() -> None:
    store = SessionStore(max_sessions=1000, max_per_owner=3)
    others = store.start("theirs", owner="other")
    mine = [store.start(f"q{index}", owner="key") for index in range(4)]
    assert [session for session, _ in store.listing("key")] == mine[:0:-1]
    assert mine[0] not in store and others in store
    assert store.listing("other") == [(others, "theirs")]
