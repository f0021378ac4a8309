"""The reply framings of ``emu.faults.framing(...)``, byte-exact where the bytes are the point.

With ``delta_size`` large the whole answer is one piece, so an expected body is easy to build
from the answer text.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mavi_core.emulator import MaviEmulator

CHAT = "/api/serve/video/chat"

Body = Callable[..., dict[str, Any]]


@pytest.fixture
def answer(emu: MaviEmulator, client: httpx.Client, chat_body: Body) -> str:
    """The whole answer to the default question, taken in the default framing."""
    emu.delta_size = 1000
    reply = client.post(CHAT, json=chat_body(stream=False))
    return str(json.loads(reply.content[len(b"data:") :])["data"]["msg"])


def _event_json(text: str) -> str:
    return json.dumps(
        {"code": "0000", "msg": "success", "data": {"msg": text}},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def test_default_framing_is_data_colon_json_and_a_blank_line(
    client: httpx.Client, chat_body: Body, answer: str
) -> None:
    reply = client.post(CHAT, json=chat_body())
    assert reply.content == f"data:{_event_json(answer)}\n\n".encode()


def test_space_after_data(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body, answer: str
) -> None:
    emu.faults.framing(space_after_data=True)
    assert (
        client.post(CHAT, json=chat_body()).content == f"data: {_event_json(answer)}\n\n".encode()
    )


def test_crlf_line_endings(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body, answer: str
) -> None:
    emu.faults.framing(crlf=True)
    assert (
        client.post(CHAT, json=chat_body()).content
        == f"data:{_event_json(answer)}\r\n\r\n".encode()
    )


@pytest.mark.parametrize(
    ("marker", "written"), [("Done", b'data:"Done"\n\n'), ("[DONE]", b"data:[DONE]\n\n")]
)
def test_end_marker_follows_the_last_event(
    emu: MaviEmulator,
    client: httpx.Client,
    chat_body: Body,
    answer: str,
    marker: Any,
    written: bytes,
) -> None:
    emu.faults.framing(end_marker=marker)
    body = client.post(CHAT, json=chat_body()).content
    assert body == f"data:{_event_json(answer)}\n\n".encode() + written


def test_end_marker_respects_space_and_crlf(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body, answer: str
) -> None:
    emu.faults.framing(end_marker="[DONE]", space_after_data=True, crlf=True)
    assert client.post(CHAT, json=chat_body()).content.endswith(b"\r\n\r\ndata: [DONE]\r\n\r\n")


def test_cumulative_pieces_repeat_all_text_so_far(
    emu: MaviEmulator,
    client: httpx.Client,
    chat_body: Body,
    decode_events: Callable[[bytes], list[Any]],
    answer: str,
) -> None:
    emu.delta_size = 5
    emu.faults.framing(cumulative=True)
    texts = [e["data"]["msg"] for e in decode_events(client.post(CHAT, json=chat_body()).content)]
    assert texts[-1] == answer
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    assert len(texts[1]) > len(texts[0])


def test_plain_json_makes_a_non_streamed_reply_a_json_envelope(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body, answer: str
) -> None:
    emu.faults.framing(plain_json=True)
    reply = client.post(CHAT, json=chat_body(stream=False))
    assert reply.headers["content-type"] == "application/json;charset=UTF-8"
    assert reply.json() == {"code": "0000", "msg": "success", "data": {"msg": answer}}


def test_plain_json_leaves_streamed_replies_as_events(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body, answer: str
) -> None:
    emu.faults.framing(plain_json=True)
    assert client.post(CHAT, json=chat_body()).content == f"data:{_event_json(answer)}\n\n".encode()


def test_multiline_splits_one_event_over_several_data_lines(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body, answer: str
) -> None:
    emu.faults.framing(multiline=True)
    body = client.post(CHAT, json=chat_body()).content.decode()
    lines = body.split("\n")
    assert lines[:2] == ['data:{"code":"0000",', 'data:"msg":"success",']
    assert body.endswith("\n\n") and body.count("\n\n") == 1
    joined = "\n".join(line[len("data:") :] for line in lines if line)
    assert json.loads(joined)["data"]["msg"] == answer


def test_comments_add_keep_alive_lines(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body, answer: str
) -> None:
    emu.faults.framing(comments=True)
    body = client.post(CHAT, json=chat_body()).content
    assert body == f": keep-alive\n\n: keep-alive\ndata:{_event_json(answer)}\n\n".encode()


def test_content_type_can_be_left_out(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.faults.framing(content_type=None)
    assert "content-type" not in client.post(CHAT, json=chat_body()).headers


def test_content_type_can_be_custom(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.faults.framing(content_type="text/plain;charset=UTF-8")
    reply = client.post(CHAT, json=chat_body())
    assert reply.headers["content-type"] == "text/plain;charset=UTF-8"


def test_framing_persists_until_reset(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.faults.framing(crlf=True)
    replies = [client.post(CHAT, json=chat_body()).content for _ in range(2)]
    emu.reset()
    after = client.post(CHAT, json=chat_body()).content
    assert all(reply.endswith(b"\r\n\r\n") for reply in replies)
    assert after.endswith(b"}}\n\n")


def test_error_event_uses_the_current_framing(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.faults.framing(space_after_data=True, crlf=True)
    emu.faults.error_after(0, "0500", "broken")
    body = client.post(CHAT, json=chat_body()).content
    assert body == b'data: {"code":"0500","msg":"broken"}\r\n\r\n'


def test_unknown_end_marker_is_refused(emu: MaviEmulator) -> None:
    with pytest.raises(ValueError, match="end_marker"):
        emu.faults.framing(end_marker="END")  # type: ignore[arg-type]
