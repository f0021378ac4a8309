"""The v1.2 chat dialect through both clients (docs/v1.2.md, "The chat on the wire"): the
wire (paths, exact bodies, big session ids), sessions, thinking and refs, and every v1.0 rule
kept: nothing delivered lost or repeated, retries only before the first delta, typed errors."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from mavi_core import (
    ChatDelta,
    MaviAuthenticationError,
    MaviClient,
    MaviInvalidRequestError,
    MaviRateLimitError,
    MaviServerError,
    MaviStreamError,
    MaviValidationError,
    Thinking,
    VideoRef,
)
from mavi_core._constants import DEFAULT_V12_BASE_URL
from mavi_core._v12 import HISTORY_HEADER, build_v12_body, fold_history
from mavi_core.emulator import MaviEmulator
from tests.support.rawserver import Request, raw_server, reply

from .test_hostile import Mode

pytestmark = pytest.mark.integration

SESSION = 7251846039218475520  # beyond 2**53: a float would lose it
QUESTION = "What happens at sunrise?"


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> Mode:
    return Mode(request.param)


def v12_event(kind: str, **fields: Any) -> bytes:
    """One event as documented (tests/data/wire_samples/v1.2/chat_stream.sse): the session id
    a string of digits, content events with their role."""
    role = {"role": "assistant"} if kind == "content" else {}
    event = {"type": kind, **role, **fields, "sessionId": str(SESSION)}
    return b"data:" + json.dumps(event).encode() + b"\n\n"


REF = {  # one video and its moments, nested as the service sends them
    "video": {"video_no": "VI1", "video_name": "harbor.mp4", "duration": "193"},
    "refItems": [
        {"videoNo": "VI1", "startTime": 66, "endTime": 73, "type": "audio_ts",
         "text": "Sunrise today"},
        {"videoNo": "VI1", "startTime": "99", "type": "keyframe"},
    ],
}  # fmt: skip
STREAM = (
    v12_event("thinking", title="Understanding", content="The question is about sunrise.")
    + v12_event("ref", ref=[REF])
    + v12_event("content", content="The sun ")
    + v12_event("content", content="rises.")
    + b'data:"Done"\n\n'
)


def v12_stream(mode: Mode, base_url: str, into: list[ChatDelta], **options: Any) -> Any:
    """Stream one v1.2 answer into `into`; returns the stream (its session, refs, thinking)."""
    session_id = options.pop("session_id", None)
    client = mode.client(base_url, api_version="v1.2", **options)
    if mode.name == "sync":
        with client:
            stream = client.stream_chat(["VI1"], QUESTION, session_id=session_id)
            into.extend(stream)
            return stream

    import asyncio

    async def go() -> Any:
        async with client:
            stream = client.stream_chat(["VI1"], QUESTION, session_id=session_id)
            async for delta in stream:
                into.append(delta)
            return stream

    return asyncio.run(go())


# The wire.


def test_the_body_holds_exactly_the_v12_fields() -> None:
    assert build_v12_body(["VI1"], "q", None) == {"video_nos": ["VI1"], "prompt": "q"}
    body = build_v12_body(["VI1"], "q", None, session_id=str(SESSION), unique_id="u-1")
    assert body == {"video_nos": ["VI1"], "prompt": "q", "session_id": SESSION, "unique_id": "u-1"}
    assert json.dumps(body).count(str(SESSION)) == 1  # an exact JSON integer


def test_history_is_folded_into_the_prompt_without_a_session_and_dropped_with_one() -> None:
    history = [{"user": "Where is this?", "robot": "A harbor."}]
    folded = build_v12_body(["VI1"], "And then?", history)["prompt"]
    assert folded == f"{HISTORY_HEADER}\nUser: Where is this?\nAssistant: A harbor.\n\nAnd then?"
    assert fold_history([], "q") == "q"
    with_session = build_v12_body(["VI1"], "And then?", history, session_id=SESSION)
    assert with_session["prompt"] == "And then?"


@pytest.mark.parametrize("session_id", [1.5, -3, "12a", True, [1]])
def test_a_bad_session_id_is_refused_before_any_request(session_id: Any) -> None:
    with pytest.raises(MaviValidationError, match="session_id"):
        build_v12_body(["VI1"], "q", None, session_id=session_id)


def test_session_id_with_the_v10_dialect_says_how_to_choose_v12() -> None:
    client = MaviClient("sk-key", base_url="https://t")
    with pytest.raises(MaviValidationError, match=r"api_version='v1\.2'"):
        client.chat(["VI1"], "q", session_id="1")


def test_api_version_chooses_the_host_and_explicit_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MAVI_BASE_URL", raising=False)
    monkeypatch.setenv("MAVI_API_VERSION", "v1.2")
    assert MaviClient("k").base_url == DEFAULT_V12_BASE_URL
    assert MaviClient("k").api_version == "v1.2"
    assert MaviClient("k", api_version="v1.0").api_version == "v1.0"
    monkeypatch.setenv("MAVI_BASE_URL", "https://proxy.example")
    assert MaviClient("k").base_url == "https://proxy.example"
    monkeypatch.setenv("MAVI_API_VERSION", "v9")
    with pytest.raises(MaviValidationError, match="MAVI_API_VERSION"):
        MaviClient("k")


def test_chat_posts_to_the_json_path_and_reads_the_whole_answer(mode: Mode) -> None:
    data = {"role": "ASSISTANT", "content": "The sun rises.", "refs": [REF]}
    data |= {"thinkings": [{"title": "t", "content": "c"}], "session_id": str(SESSION)}

    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, json.dumps({"code": "0000", "msg": "success", "data": data}).encode())

    with raw_server(script) as server:
        answer = mode.call(server.base_url, lambda c: c.chat(["VI1"], QUESTION), api_version="v1.2")
    request = server.requests[0]
    assert request.path == "/serve/api/v1/chat"
    assert json.loads(request.body) == {"video_nos": ["VI1"], "prompt": QUESTION}
    assert request.header("authorization") == "sk-hostile-test-key-0123456789"
    assert answer.text == "The sun rises."
    assert answer.session_id == str(SESSION)
    assert answer.refs == (
        VideoRef("VI1", "harbor.mp4", 66.0, 73.0, "audio_ts", "Sunrise today", 193.0),
        VideoRef("VI1", "harbor.mp4", 99.0, None, "keyframe", "", 193.0),
    )
    assert answer.thinking == (Thinking("t", "c"),)


def test_stream_posts_to_the_stream_path_and_hands_out_thinking_refs_and_text(mode: Mode) -> None:
    with raw_server(lambda conn, request: reply(conn, STREAM)) as server:
        deltas: list[ChatDelta] = []
        stream = v12_stream(mode, server.base_url, deltas, session_id=SESSION)
    request = server.requests[0]
    assert request.path == "/serve/api/v1/chat_stream"
    assert request.header("accept") == "text/event-stream"
    assert json.loads(request.body)["session_id"] == SESSION
    assert [d.text for d in deltas] == ["", "", "The sun ", "rises."]
    assert deltas[0].thinking == Thinking("Understanding", "The question is about sunrise.")
    assert len(deltas[1].refs) == 2
    assert {d.session_id for d in deltas} == {str(SESSION)}
    assert stream.session_id == str(SESSION)
    assert len(stream.refs) == 2
    assert len(stream.thinking) == 1


@pytest.mark.parametrize("marker", [b'"Done"', b'"done"', b'"DONE"', b"[DONE]"])
def test_the_stream_ends_at_done_in_any_case(mode: Mode, marker: bytes) -> None:
    body = v12_event("content", content="Hi") + b"data:" + marker + b"\n\n" + b"data:garbage\n\n"
    with raw_server(lambda conn, request: reply(conn, body)) as server:
        deltas: list[ChatDelta] = []
        v12_stream(mode, server.base_url, deltas)
    assert [d.text for d in deltas] == ["Hi"]


@pytest.mark.parametrize(
    ("message", "error_class"),
    [
        ("Video is not parsed", MaviInvalidRequestError),
        ("user don't login", MaviAuthenticationError),
        ("Request has exceeded the limit.", MaviRateLimitError),
        ("something odd happened", MaviServerError),
    ],
)
def test_a_bare_string_before_any_text_is_the_matching_error(
    mode: Mode, message: str, error_class: type[Exception]
) -> None:
    body = b"data:" + json.dumps(message).encode() + b"\n\n"
    with raw_server(lambda conn, request: reply(conn, body)) as server, pytest.raises(error_class):
        v12_stream(mode, server.base_url, [], max_retries=0)


def test_text_then_an_error_string_in_one_write_delivers_the_text_then_raises(mode: Mode) -> None:
    body = (
        v12_event("content", content="The sun ")
        + v12_event("content", content="rises")
        + b'data:"The model failed"\n\n'
    )
    with raw_server(lambda conn, request: reply(conn, body)) as server:
        deltas: list[ChatDelta] = []
        with pytest.raises(MaviStreamError, match="The model failed"):
            v12_stream(mode, server.base_url, deltas)
    assert [d.text for d in deltas] == ["The sun ", "rises"]
    assert len(server.requests) == 1


def test_a_thinking_event_handed_out_means_no_retry(mode: Mode) -> None:
    body = v12_event("thinking", title="t", content="c") + b'data:{"code":"0429","msg":"slow"}\n\n'
    with raw_server(lambda conn, request: reply(conn, body)) as server:
        deltas: list[ChatDelta] = []
        with pytest.raises(MaviStreamError):
            v12_stream(mode, server.base_url, deltas)
    assert len(deltas) == 1
    assert len(server.requests) == 1


def test_an_error_envelope_as_plain_json_on_the_stream_path_is_recognised_and_retried(
    mode: Mode,
) -> None:
    answers = [b'{"code":"0429","msg":"Request has exceeded the limit."}', STREAM]
    with raw_server(lambda conn, request: reply(conn, answers.pop(0))) as server:
        deltas: list[ChatDelta] = []
        v12_stream(mode, server.base_url, deltas)
    assert "".join(d.text for d in deltas) == "The sun rises."
    assert len(server.requests) == 2


# Against the emulator: sessions held by the server.


def test_a_second_turn_with_the_session_continues_the_conversation(mode: Mode) -> None:
    with MaviEmulator(rate_limit=None) as emu:
        video = emu.video_nos[:1]

        def two_turns(client: Any) -> Any:
            first = client.chat(video, QUESTION)
            return first, client.chat(video, "What happens next?", session_id=first.session_id)

        def two_turns_async(client: Any) -> Any:
            async def go() -> Any:
                first = await client.chat(video, QUESTION)
                second = await client.chat(video, "What happens next?", session_id=first.session_id)
                return first, second

            return go()

        do = two_turns if mode.name == "sync" else two_turns_async
        first, second = mode.call(emu.base_url, do, api_key=emu.api_key, api_version="v1.2")
    assert first.session_id is not None
    assert int(first.session_id) > 2**53
    assert second.session_id == first.session_id
    assert second.text != first.text
    assert first.refs
    assert all(ref.video_no == video[0] for ref in first.refs)
    bodies = [r.body for r in emu.requests if r.path.startswith("/serve/api/v1")]
    assert bodies[1]["session_id"] == int(first.session_id)
    assert bodies[1]["prompt"] == "What happens next?"


def test_an_unknown_session_is_an_invalid_request(mode: Mode) -> None:
    with MaviEmulator(rate_limit=None) as emu, pytest.raises(MaviInvalidRequestError):
        mode.call(
            emu.base_url,
            lambda c: c.chat(emu.video_nos[:1], QUESTION, session_id="12345"),
            api_key=emu.api_key,
            api_version="v1.2",
        )


def test_a_stream_closed_without_done_is_an_error_after_its_text(mode: Mode) -> None:
    body = v12_event("content", content="Hello ") + v12_event("content", content="world")
    with raw_server(lambda conn, request: reply(conn, body)) as server:
        deltas: list[ChatDelta] = []
        with pytest.raises(MaviStreamError, match="Done"):
            v12_stream(mode, server.base_url, deltas)
    assert [d.text for d in deltas] == ["Hello ", "world"]


def test_chat_reads_an_answer_the_server_streamed_instead_of_json(mode: Mode) -> None:
    with raw_server(lambda conn, request: reply(conn, STREAM)) as server:
        answer = mode.call(server.base_url, lambda c: c.chat(["VI1"], QUESTION), api_version="v1.2")
    assert answer.text == "The sun rises."
    assert answer.session_id == str(SESSION)
    assert len(answer.refs) == 2
    assert answer.thinking == (Thinking("Understanding", "The question is about sunrise."),)


# Ends and errors as documented (tests/data/wire_samples/v1.2/chat_stream_*.sse).


def test_an_envelope_whose_data_is_done_ends_the_stream(mode: Mode) -> None:
    body = (
        v12_event("content", content="Hi")
        + b'data:{"code":"SUCCESS","data":"Done"}\n\n'
        + b"data:garbage after the end\n\n"
    )
    with raw_server(lambda conn, request: reply(conn, body)) as server:
        deltas: list[ChatDelta] = []
        v12_stream(mode, server.base_url, deltas)
    assert [d.text for d in deltas] == ["Hi"]


@pytest.mark.parametrize(
    ("words", "error_class"),
    [
        ("Video is not parsed:", MaviInvalidRequestError),
        ("user don't login", MaviAuthenticationError),
    ],
)
def test_a_success_envelope_carrying_words_is_the_services_error(
    mode: Mode, words: str, error_class: type[Exception]
) -> None:
    body = b"data:" + json.dumps({"code": "SUCCESS", "data": words}).encode() + b"\n\n"
    with raw_server(lambda conn, request: reply(conn, body)) as server:
        with pytest.raises(error_class, match=words):
            v12_stream(mode, server.base_url, [], max_retries=0)
        with pytest.raises(error_class, match=words):  # and from /chat, as JSON
            mode.call(server.base_url, lambda c: c.chat(["VI1"], QUESTION), api_version="v1.2")


def test_chat_keeps_the_text_in_partial_text_when_the_reply_ends_without_done(mode: Mode) -> None:
    body = v12_event("content", content="Hello ") + v12_event("content", content="world")
    with (
        raw_server(lambda conn, request: reply(conn, body)) as server,
        pytest.raises(MaviStreamError, match="Done") as caught,
    ):
        mode.call(server.base_url, lambda c: c.chat(["VI1"], QUESTION), api_version="v1.2")
    assert caught.value.partial_text == "Hello world"
    assert len(server.requests) == 1


NO_TEXT = {
    "empty content": {"role": "ASSISTANT", "content": "", "thinkings": [], "refs": [REF]},
    "no content": {"role": "ASSISTANT", "thinkings": [{"title": "t", "content": "c"}]},
}


@pytest.mark.parametrize("data", NO_TEXT.values(), ids=NO_TEXT.keys())
def test_a_whole_answer_without_text_is_a_server_error(mode: Mode, data: Any) -> None:
    body = json.dumps({"code": "0000", "msg": "success", "data": {**data, "session_id": "1"}})
    with raw_server(lambda conn, request: reply(conn, body.encode())) as server:
        with pytest.raises(MaviServerError, match="without any text"):
            mode.call(server.base_url, lambda c: c.chat(["VI1"], QUESTION), api_version="v1.2")


def test_a_stream_of_thinking_and_refs_only_is_a_server_error(mode: Mode) -> None:
    body = STREAM.replace(b'"The sun "', b'""').replace(b'"rises."', b'""')
    with raw_server(lambda conn, request: reply(conn, body)) as server:
        deltas: list[ChatDelta] = []
        with pytest.raises(MaviServerError, match="without any text") as caught:
            v12_stream(mode, server.base_url, deltas)
        assert not isinstance(caught.value, MaviStreamError)
        assert [(d.text, d.thinking is not None, len(d.refs)) for d in deltas] == [
            ("", True, 0),
            ("", False, 2),
        ]
        with pytest.raises(MaviServerError, match="without any text"):
            mode.call(server.base_url, lambda c: c.chat(["VI1"], QUESTION), api_version="v1.2")
    assert len(server.requests) == 2  # neither is asked again


def test_session_ids_above_2_53_are_read_as_their_digits(mode: Mode) -> None:
    exact = str(2**53 + 1)  # a float would read 9007199254740992
    data = {"role": "ASSISTANT", "content": "Hi", "thinkings": [], "refs": [], "session_id": exact}
    body = json.dumps({"code": "0000", "msg": "success", "data": data}).encode()
    with raw_server(lambda conn, request: reply(conn, body)) as server:
        answer = mode.call(server.base_url, lambda c: c.chat(["VI1"], QUESTION), api_version="v1.2")
    assert answer.session_id == exact


# Sessions restored.


def test_get_session_detail_restores_a_conversation(mode: Mode) -> None:
    with MaviEmulator(rate_limit=None) as emu:
        video = emu.video_nos[:1]

        def restore(client: Any) -> Any:
            first = client.chat(video, QUESTION)
            second = client.chat(video, "What happens next?", session_id=first.session_id)
            return first, second, client.get_session_detail(first.session_id)

        def restore_async(client: Any) -> Any:
            async def go() -> Any:
                first = await client.chat(video, QUESTION)
                second = await client.chat(video, "What happens next?", session_id=first.session_id)
                return first, second, await client.get_session_detail(first.session_id)

            return go()

        do = restore if mode.name == "sync" else restore_async
        first, second, detail = mode.call(emu.base_url, do, api_key=emu.api_key, api_version="v1.2")
    assert detail.session_id == first.session_id
    assert detail.title == QUESTION
    assert [(m.role, m.content) for m in detail.messages] == [
        ("user", QUESTION),
        ("assistant", first.text),
        ("user", "What happens next?"),
        ("assistant", second.text),
    ]
    assert detail.messages[1].as_answer(video) == first
    assert detail.messages[3].as_answer(video) == second
    assert emu.requests[-1].path == "/serve/api/v1/get_session_detail"


def test_get_session_detail_checks_its_input_before_any_request() -> None:
    with pytest.raises(MaviValidationError, match="session_id"):
        MaviClient("k", base_url="https://t", api_version="v1.2").get_session_detail("12a")
    with pytest.raises(MaviValidationError, match=r"v1\.2"):
        MaviClient("k", base_url="https://t").get_session_detail("12")


def test_an_unknown_session_detail_is_an_invalid_request(mode: Mode) -> None:
    with (
        MaviEmulator(rate_limit=None) as emu,
        pytest.raises(MaviInvalidRequestError, match="Session does not exist"),
    ):
        mode.call(
            emu.base_url,
            lambda c: c.get_session_detail("1234567890123456789"),
            api_key=emu.api_key,
            api_version="v1.2",
        )


def test_a_session_detail_keeps_an_answer_stored_without_text() -> None:
    from mavi_core._v12 import parse_session_detail

    data = {
        "title": "q",
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "", "thinkings": [{"title": "t", "content": "c"}]},
        ],
        "session_id": str(SESSION),
    }
    detail = parse_session_detail(data, str(SESSION))
    assert [(m.role, m.content, m.thinking) for m in detail.messages] == [
        ("user", "q", ()),
        ("assistant", "", (Thinking("t", "c"),)),
    ]
