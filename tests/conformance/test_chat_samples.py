"""Every documented chat reply (tests/data/wire_samples/v1.2/chat*.json, chat_stream*.sse):
(a) read by both clients and every adapter, served byte for byte, into the text, moments,
thinking and session it holds (and its errors into typed errors, the text before them kept);
(b) the emulator's reply to the same request has its shape (keys, nesting, value types).
A later change that drifts from the samples, on either side, fails here."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mavi_core import (
    MaviAuthenticationError,
    MaviError,
    MaviInvalidRequestError,
    MaviStreamError,
)
from mavi_core._v12 import V12StreamDecoder
from mavi_core.emulator import MaviEmulator

from .samples import (
    ANSWER,
    ANSWERS,
    SESSION,
    STREAMED,
    WHOLE,
    Reading,
    async_client_stream,
    client_chat,
    client_stream,
    events_of,
    sample,
    serving,
)
from .shape import check_conforms

pytestmark = pytest.mark.integration

JSON_SAMPLES = ["chat.json", "chat_refs_in_thinkings.json"]
STREAM_SAMPLES = ["chat_stream.sse", "chat_stream_envelope_end.sse"]
# "The video ", then {"code":"SUCCESS","data":"Video is not parsed:"}
ERROR_END = "chat_stream_error_end.sse"
ERROR_STRING = "chat_stream_error_string.sse"  # only data:"user don't login"
EVERY_READER = {**STREAMED, **WHOLE}  # chat() reads a stream too, from a server that streams


# -- (a) read by every reader --------------------------------------------------------------


READINGS = [(name, reader) for name in JSON_SAMPLES for reader in WHOLE] + [
    (name, reader) for name in STREAM_SAMPLES for reader in EVERY_READER
]
"""A whole answer through every reader of one; a stream through every reader (chat() too)."""


@pytest.mark.parametrize(("name", "reader"), READINGS)
def test_a_sample_reads_the_same_through_every_reader(name: str, reader: str) -> None:
    with serving(sample(name)) as server:
        reading = EVERY_READER[reader](server.base_url)
    ANSWERS[name].agrees(reading)
    assert server.requests[0].path.startswith("/serve/api/v1/chat")


@pytest.mark.parametrize("reader", STREAMED, ids=str)
def test_every_stream_reader_reads_the_whole_reply_a_server_sends_instead_of_events(
    reader: str,
) -> None:
    """A server that answers `/chat_stream` with the `/chat` reply: its text, moments, thinking
    and session, as from `/chat` (they were lost: "closed the stream without its end marker")."""
    with serving(sample("chat.json")) as server:
        reading = STREAMED[reader](server.base_url)
    ANSWERS["chat.json"].agrees(reading)
    assert server.requests[0].path == "/serve/api/v1/chat_stream"


@pytest.mark.parametrize("reader", STREAMED, ids=str)
def test_every_stream_reader_keeps_the_moments_a_thinking_event_holds(reader: str) -> None:
    """A server that streams each thinking step as `/chat` writes it, its `refs` inside: those
    moments were dropped."""
    chat = json.loads(sample("chat.json"))["data"]
    step = {"type": "thinking", **chat["thinkings"][0], "refs": chat["refs"]}
    pieces = [{"type": "content", "role": "assistant", "content": ANSWER, "sessionId": SESSION}]
    events = [{**step, "sessionId": SESSION}, *pieces]
    body = b"".join(b"data:" + json.dumps(event).encode() + b"\n\n" for event in events)
    with serving(body + b'data:"Done"\n\n') as server:
        reading = STREAMED[reader](server.base_url)
    ANSWERS["chat.json"].agrees(reading)


@pytest.mark.parametrize("read", [client_stream, async_client_stream], ids=["sync", "async"])
@pytest.mark.parametrize("name", STREAM_SAMPLES)
def test_a_stream_written_one_byte_at_a_time_reads_the_same(
    name: str, read: Callable[[str], Reading]
) -> None:
    with serving(sample(name), trickle=True) as server:
        ANSWERS[name].agrees(read(server.base_url))


def _decoded(chunks: list[bytes]) -> tuple[list[Any], type[BaseException] | None]:
    """The deltas a decoder gives for `chunks` (the end included), and the error it raises."""
    decoder = V12StreamDecoder()
    deltas: list[Any] = []
    try:
        for chunk in chunks:
            deltas += decoder.feed(chunk)
        deltas += decoder.finish()
    except MaviError as error:
        return deltas, type(error)
    return deltas, None


@pytest.mark.parametrize("name", [*STREAM_SAMPLES, ERROR_END, ERROR_STRING])
def test_a_stream_cut_at_any_byte_decodes_alike(name: str) -> None:
    body = sample(name)
    whole = _decoded([body])
    assert whole == _decoded([body[i : i + 1] for i in range(len(body))])
    for cut in range(1, len(body)):
        assert _decoded([body[:cut], body[cut:]]) == whole, f"cut at byte {cut}"
    deltas, error = whole
    assert "".join(delta.text for delta in deltas) == (
        "The video " if name == ERROR_END else "" if name == ERROR_STRING else ANSWERS[name].text
    )
    assert error is {ERROR_END: MaviInvalidRequestError, ERROR_STRING: MaviAuthenticationError}.get(
        name
    )


@pytest.mark.parametrize("read", [client_stream, async_client_stream], ids=["sync", "async"])
def test_an_error_after_text_keeps_the_text_and_carries_the_services_words(
    read: Callable[..., Reading],
) -> None:
    delivered: list[str] = []
    with serving(sample(ERROR_END)) as server, pytest.raises(MaviStreamError) as caught:
        read(server.base_url, delivered)
    assert "".join(delivered) == "The video "  # delivered once, before the error
    assert caught.value.msg == "Video is not parsed:"
    assert isinstance(caught.value.__cause__, MaviInvalidRequestError)
    # the service's class too: `except MaviInvalidRequestError` catches it, text or no text
    assert isinstance(caught.value, MaviInvalidRequestError)
    assert len(server.requests) == 1  # text was delivered: never asked again


def test_chat_carries_the_text_before_the_error_in_partial_text() -> None:
    with serving(sample(ERROR_END)) as server, pytest.raises(MaviStreamError) as caught:
        client_chat(server.base_url)
    assert caught.value.partial_text == "The video "
    assert "Video is not parsed:" in str(caught.value)
    assert isinstance(caught.value, MaviInvalidRequestError)


@pytest.mark.parametrize("reader", EVERY_READER, ids=str)
@pytest.mark.parametrize(
    ("name", "words"), [(ERROR_END, "Video is not parsed:"), (ERROR_STRING, "user don't login")]
)
def test_every_reader_raises_the_services_error(name: str, words: str, reader: str) -> None:
    with serving(sample(name)) as server, pytest.raises(MaviError) as caught:
        EVERY_READER[reader](server.base_url)
    assert words in str(caught.value)
    if name == ERROR_STRING:  # nothing arrived before it: the error's own class
        assert isinstance(caught.value, MaviAuthenticationError)


# -- (b) the emulator's replies have the samples' shapes ------------------------------------


@pytest.fixture
def emulator() -> Any:
    with MaviEmulator(rate_limit=None) as emu:
        yield emu


def _ask(emu: MaviEmulator, path: str, video_no: str | None = None) -> httpx.Response:
    body = {"video_nos": [video_no or emu.video_nos[0]], "prompt": "what happens at the harbor?"}
    headers = {"Authorization": emu.api_key}
    reply = httpx.post(f"{emu.base_url}/serve/api/v1/{path}", json=body, headers=headers)
    assert reply.status_code == 200
    return reply


def test_the_emulators_whole_answer_has_the_samples_shape(emulator: MaviEmulator) -> None:
    reply = _ask(emulator, "chat").json()
    check_conforms(reply, *(json.loads(sample(name)) for name in JSON_SAMPLES))
    assert reply["data"]["refs"], "the emulator's answer cites moments, as the sample's"


def _kind(event: Any) -> str:
    if isinstance(event, dict) and "type" in event:
        return str(event["type"])
    return "end"  # "Done", or {"code": "SUCCESS", "data": "Done"}


def _by_kind(events: list[Any]) -> dict[str, list[Any]]:
    kinds: dict[str, list[Any]] = {}
    for event in events:
        kinds.setdefault(_kind(event), []).append(event)
    return kinds


@pytest.mark.parametrize(
    ("name", "end_marker"), [(STREAM_SAMPLES[0], "Done"), (STREAM_SAMPLES[1], "envelope")]
)
def test_the_emulators_stream_has_the_samples_shape(
    emulator: MaviEmulator, name: str, end_marker: Any
) -> None:
    emulator.faults.framing_v12(end_marker=end_marker)
    events = events_of(_ask(emulator, "chat_stream").content)
    expected = events_of(sample(name))
    # The same kinds of events in the same order (thinking, ref, content, the end) ...
    order = [kind for kind, _ in itertools.groupby(map(_kind, events))]
    assert order == [kind for kind, _ in itertools.groupby(map(_kind, expected))]
    # ... each with the sample's keys, nesting and types.
    for kind, samples in _by_kind(expected).items():
        for event in _by_kind(events)[kind]:
            check_conforms(event, *samples)
    assert events[-1] == expected[-1]  # the end marker, exactly


def test_the_emulators_refusal_is_a_bare_string_as_in_the_sample(emulator: MaviEmulator) -> None:
    emulator.parse_delay = 3600.0  # an upload stays unparsed
    upload = httpx.post(
        f"{emulator.base_url}/api/serve/video/upload",
        headers={"Authorization": emulator.api_key},
        files={"file": ("fresh.mp4", b"\0" * 64, "video/mp4")},
    )
    events = events_of(_ask(emulator, "chat_stream", upload.json()["data"]["videoNo"]).content)
    [expected] = events_of(sample(ERROR_STRING))
    assert len(events) == 1
    check_conforms(events[0], expected)


@pytest.mark.parametrize(
    ("error_envelopes", "name"),
    [(True, ERROR_END), (False, ERROR_STRING)],
    ids=["envelope", "bare"],
)
def test_the_emulators_error_stream_has_the_samples_shape_to_its_end(
    emulator: MaviEmulator, error_envelopes: bool, name: str
) -> None:
    """Every event of a stream that fails after text, the error end included: with
    `error_envelopes`, chat_stream_error_end.sse's {"code":"SUCCESS","data":<words>} (never a
    {"code","msg"} envelope); without, the bare string of chat_stream_error_string.sse."""
    emulator.faults.framing_v12(error_envelopes=error_envelopes)
    emulator.faults.error_after(1, "0500", "Video is not parsed:", path="/serve/api/v1/chat_stream")
    events = events_of(_ask(emulator, "chat_stream").content)
    expected = events_of(sample(ERROR_END))
    # The sample's kinds in its order (thinking, content, the error end); its answer cites
    # nothing, the emulator's does: a ref event, shaped as in chat_stream.sse.
    order = [kind for kind, _ in itertools.groupby(map(_kind, events)) if kind != "ref"]
    assert order == [kind for kind, _ in itertools.groupby(map(_kind, expected))]
    samples = {**_by_kind(events_of(sample(STREAM_SAMPLES[0]))), **_by_kind(expected)}
    samples["end"] = [events_of(sample(name))[-1]]
    for kind, found in _by_kind(events).items():
        for event in found:
            check_conforms(event, *samples[kind])
    assert events[-1] == ({"code": "SUCCESS", "data": "Video is not parsed:"}
                          if error_envelopes else "Video is not parsed:")  # fmt: skip
    assert _kind(events[-2]) == "content"  # the error is the last event, after the text
