"""Every fault of ``emu.faults`` over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mavi_core.emulator import MaviEmulator

CHAT = "/api/serve/video/chat"
SEARCH_DB = "/api/serve/video/searchDB"

Body = Callable[..., dict[str, Any]]
Decode = Callable[[bytes], list[Any]]


def test_error_envelope_answers_http_200_with_the_code(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.faults.error_envelope()
    reply = client.post(CHAT, json=chat_body())
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json;charset=UTF-8"
    assert reply.json() == {"code": "0429", "msg": "Request has exceeded the limit."}


def test_error_envelope_applies_to_the_next_n_requests_only(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.faults.error_envelope("0403", "Account disabled.", times=2)
    codes = [client.get(SEARCH_DB).json()["code"] for _ in range(3)]
    assert codes == ["0403", "0403", "0000"]


def test_error_fault_with_a_path_spares_other_paths(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.faults.error_envelope("0500", "boom", path=CHAT)
    assert client.get(SEARCH_DB).json()["code"] == "0000"
    assert client.post(CHAT, json=chat_body()).json()["code"] == "0500"


def test_error_faults_apply_before_authentication(emu: MaviEmulator, anon: httpx.Client) -> None:
    emu.faults.http_error(502)
    reply = anon.get(SEARCH_DB)
    assert reply.status_code == 502


def test_http_error_sends_a_json_envelope_with_that_status(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.faults.http_error(503)
    reply = client.get(SEARCH_DB)
    assert reply.status_code == 503
    assert reply.json() == {"code": "0503", "msg": "Service Unavailable"}
    assert "retry-after" not in reply.headers


def test_http_error_can_be_an_html_proxy_page(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.faults.http_error(502, html=True)
    reply = client.get(SEARCH_DB)
    assert reply.status_code == 502
    assert reply.headers["content-type"] == "text/html"
    assert "<title>502 Bad Gateway</title>" in reply.text


@pytest.mark.parametrize("retry_after", [3, "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_http_error_can_carry_retry_after(
    emu: MaviEmulator, client: httpx.Client, retry_after: int | str
) -> None:
    emu.faults.http_error(503, retry_after=retry_after)
    assert client.get(SEARCH_DB).headers["retry-after"] == str(retry_after)


def test_rate_limit_http_sends_429_with_retry_after_and_0429(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.faults.rate_limit_http(retry_after=2)
    reply = client.post(CHAT, json=chat_body())
    assert reply.status_code == 429
    assert reply.headers["retry-after"] == "2"
    assert reply.json() == {"code": "0429", "msg": "Request has exceeded the limit."}


def test_error_faults_are_served_in_the_order_they_were_set(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.faults.http_error(500)
    emu.faults.rate_limit_http()
    statuses = [client.get(SEARCH_DB).status_code for _ in range(3)]
    assert statuses == [500, 429, 200]


def test_expire_tokens_expires_every_access_token_issued_so_far(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    old = emu.issue_tokens()["accessToken"]
    emu.faults.expire_tokens()
    new = emu.issue_tokens()["accessToken"]
    expired = client.get(SEARCH_DB, headers={"Authorization": old}).json()
    assert expired["code"] == "0401"
    assert "expired" in expired["msg"]
    assert client.get(SEARCH_DB, headers={"Authorization": new}).json()["code"] == "0000"


def test_error_after_sends_k_deltas_then_an_error_event_and_ends(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body, decode_events: Decode
) -> None:
    emu.faults.error_after(3, "0500", "model failed")
    events = decode_events(client.post(CHAT, json=chat_body()).content)
    assert [event["code"] for event in events] == ["0000", "0000", "0000", "0500"]
    assert events[-1] == {"code": "0500", "msg": "model failed"}


def test_error_after_zero_on_a_non_streamed_reply_sends_only_the_error(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.faults.error_after(0, "0429", "Request has exceeded the limit.")
    reply = client.post(CHAT, json=chat_body(stream=False))
    assert reply.content == b'data:{"code":"0429","msg":"Request has exceeded the limit."}\n\n'


def _read_stream(
    client: httpx.Client, body: dict[str, Any], received: list[bytes], **kw: Any
) -> None:
    with client.stream("POST", CHAT, json=body, **kw) as reply:
        for chunk in reply.iter_raw():
            received.append(chunk)


def test_disconnect_after_drops_the_connection_mid_body(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.faults.disconnect_after(2)
    received: list[bytes] = []
    with pytest.raises(httpx.RemoteProtocolError):
        _read_stream(client, chat_body(), received)
    assert b"".join(received).count(b"data:") == 2


async def test_disconnect_after_breaks_an_async_stream_too(
    emu: MaviEmulator, chat_body: Body
) -> None:
    emu.faults.disconnect_after(0)

    async def read() -> None:
        async with (
            httpx.AsyncClient(headers={"Authorization": emu.api_key}) as http,
            http.stream("POST", emu.base_url + CHAT, json=chat_body()) as reply,
        ):
            async for _ in reply.aiter_raw():
                pass

    with pytest.raises(httpx.RemoteProtocolError):
        await read()


def test_disconnect_fault_is_used_up_after_times(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body, decode_events: Decode
) -> None:
    emu.faults.disconnect_after(1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(CHAT, json=chat_body())
    assert len(decode_events(client.post(CHAT, json=chat_body()).content)) > 20


def test_stall_after_goes_silent_long_enough_for_a_read_timeout(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.faults.stall_after(2, 5.0)
    received: list[bytes] = []
    with pytest.raises(httpx.ReadTimeout):
        _read_stream(client, chat_body(), received, timeout=httpx.Timeout(5.0, read=0.3))
    assert b"".join(received).count(b"data:") == 2


def test_stall_after_resumes_the_stream_afterwards(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body, decode_events: Decode
) -> None:
    full = client.post(CHAT, json=chat_body()).content
    emu.faults.stall_after(1, 0.3)
    started = time.monotonic()
    stalled = client.post(CHAT, json=chat_body()).content
    assert time.monotonic() - started >= 0.3
    assert stalled == full


def test_slow_first_byte_delays_the_headers(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.faults.slow_first_byte(0.4)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.post(CHAT, json=chat_body(), timeout=httpx.Timeout(5.0, read=0.2))
    assert time.monotonic() - started < 0.4
    started = time.monotonic()
    client.post(CHAT, json=chat_body())
    assert time.monotonic() - started < 0.3  # used up


def test_slow_first_byte_defaults_to_the_chat_endpoint(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.faults.slow_first_byte(0.3)
    started = time.monotonic()
    client.get(SEARCH_DB)
    fast = time.monotonic() - started
    client.post(CHAT, json=chat_body())
    assert fast < 0.25
    assert time.monotonic() - started >= 0.3


def test_clear_removes_pending_faults_and_framing(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.faults.http_error(500, times=5)
    emu.faults.framing(crlf=True)
    emu.faults.clear()
    reply = client.post(CHAT, json=chat_body())
    assert reply.status_code == 200
    assert b"\r\n" not in reply.content
    assert emu.faults.pending == []


def test_pending_lists_remaining_faults(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.faults.http_error(503, times=2)
    emu.faults.stall_after(1, 2.0)
    client.get(SEARCH_DB)
    assert emu.faults.pending == ["http_error(503) x1", "stall_after(1, 2.0) x1"]


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("http_error", {"status": 200}),
        ("error_envelope", {"times": 0}),
        ("stall_after", {"deltas": 1, "seconds": -1}),
        ("disconnect_after", {"deltas": -1}),
    ],
)
def test_invalid_fault_arguments_raise_value_error(
    emu: MaviEmulator, call: str, args: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies per argument
        getattr(emu.faults, call)(**args)
