"""Starting, stopping, running several emulators, the request log and reset."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mavi_core.emulator import MaviEmulator, RecordedRequest

CHAT = "/api/serve/video/chat"
SEARCH_DB = "/api/serve/video/searchDB"

Body = Callable[..., dict[str, Any]]


def test_emulator_is_ready_as_soon_as_it_is_entered() -> None:
    with MaviEmulator() as emu:
        reply = httpx.get(emu.base_url + SEARCH_DB, headers={"Authorization": emu.api_key})
    assert reply.json()["code"] == "0000"


def test_base_url_is_loopback_with_the_bound_port_and_no_slash(emu: MaviEmulator) -> None:
    assert emu.base_url == f"http://127.0.0.1:{emu.port}"
    assert emu.port is not None and emu.port > 0


def test_base_url_before_start_raises() -> None:
    with pytest.raises(RuntimeError, match="start"):
        _ = MaviEmulator().base_url


def test_sample_video_nos_are_stable_and_well_formed(emu: MaviEmulator) -> None:
    assert len(emu.video_nos) >= 6
    assert emu.video_nos == MaviEmulator().video_nos
    assert all(v.startswith("VI") and len(v) == 20 and v[2:].isdigit() for v in emu.video_nos)


def test_several_emulators_run_side_by_side() -> None:
    with MaviEmulator(api_key="sk-first-emulator") as first, MaviEmulator() as second:
        assert first.base_url != second.base_url
        other = httpx.get(second.base_url + SEARCH_DB, headers={"Authorization": first.api_key})
        own = httpx.get(first.base_url + SEARCH_DB, headers={"Authorization": first.api_key})
    assert (own.json()["code"], other.json()["code"]) == ("0000", "0401")


def test_stop_is_quick_while_a_stream_is_stalled(chat_body: Body) -> None:
    outcome: list[str] = []
    emu = MaviEmulator()
    emu.start()
    emu.faults.stall_after(1, 60)

    def read_stream() -> None:
        headers = {"Authorization": emu.api_key}
        try:
            with httpx.stream("POST", emu.base_url + CHAT, json=chat_body(), headers=headers) as r:
                for _ in r.iter_raw():
                    outcome.append("chunk")
        except httpx.HTTPError as error:
            outcome.append(type(error).__name__)

    reader = threading.Thread(target=read_stream)
    reader.start()
    time.sleep(0.2)
    started = time.monotonic()
    emu.stop()
    stopped_in = time.monotonic() - started
    reader.join(5)
    assert stopped_in < 2.0
    assert outcome[0] == "chunk"
    assert outcome[-1] == "RemoteProtocolError"


def test_stop_is_quick_while_a_slow_stream_is_open(chat_body: Body) -> None:
    emu = MaviEmulator(delta_delay=0.5)
    emu.start()
    client = httpx.Client(headers={"Authorization": emu.api_key})
    response = client.send(
        client.build_request("POST", emu.base_url + CHAT, json=chat_body()), stream=True
    )
    started = time.monotonic()
    emu.stop()
    assert time.monotonic() - started < 2.0
    response.close()
    client.close()


def test_client_closing_a_fast_stream_early_is_handled_quietly(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body, caplog: pytest.LogCaptureFixture
) -> None:
    emu.answer_words = 30_000
    with client.stream("POST", CHAT, json=chat_body()) as reply:
        next(reply.iter_raw())
    time.sleep(0.3)
    assert client.get(SEARCH_DB).json()["code"] == "0000"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_stop_twice_is_harmless() -> None:
    emu = MaviEmulator()
    emu.start()
    emu.stop()
    emu.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(emu.base_url + SEARCH_DB)


def test_latency_delays_every_reply(emu: MaviEmulator, client: httpx.Client) -> None:
    emu.latency = 0.2
    started = time.monotonic()
    client.get(SEARCH_DB)
    assert time.monotonic() - started >= 0.2


# -- request log ------------------------------------------------------------------------------


def test_requests_are_recorded_in_order_with_decoded_json(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    client.get(SEARCH_DB, params={"page": "2"})
    client.post(CHAT, json=chat_body())
    first, second = emu.requests
    assert isinstance(first, RecordedRequest)
    assert (first.method, first.path, first.query, first.body) == (
        "GET",
        SEARCH_DB,
        {"page": "2"},
        None,
    )
    assert (second.method, second.path) == ("POST", CHAT)
    assert second.body == chat_body()
    assert second.json == second.body


def test_authorization_is_masked_in_the_log(emu: MaviEmulator, client: httpx.Client) -> None:
    client.get(SEARCH_DB)
    client.get(SEARCH_DB, headers={"Authorization": f"Bearer {emu.api_key}"})
    raw, bearer = (r.headers["authorization"] for r in emu.requests)
    assert raw == "sk-m…(masked)"
    assert bearer == "Bearer sk-m…(masked)"
    assert all(emu.api_key not in str(r) for r in emu.requests)


def test_requests_with_faults_and_errors_are_recorded_too(
    emu: MaviEmulator, client: httpx.Client
) -> None:
    emu.faults.http_error(503)
    client.get(SEARCH_DB)
    client.get("/nowhere")
    assert [r.path for r in emu.requests] == [SEARCH_DB, "/nowhere"]


def test_clear_requests_empties_the_log(emu: MaviEmulator, client: httpx.Client) -> None:
    client.get(SEARCH_DB)
    emu.clear_requests()
    assert emu.requests == []


def test_requests_is_a_snapshot(emu: MaviEmulator, client: httpx.Client) -> None:
    snapshot = emu.requests
    client.get(SEARCH_DB)
    assert snapshot == []
    assert len(emu.requests) == 1


def test_reset_clears_faults_log_and_rate_limits(
    emu: MaviEmulator, client: httpx.Client, chat_body: Body
) -> None:
    emu.rate_limit = 1
    client.post(CHAT, json=chat_body())
    emu.faults.http_error(500)
    emu.reset()
    assert emu.requests == []
    assert client.post(CHAT, json=chat_body()).status_code == 200
    assert client.post(CHAT, json=chat_body()).json()["code"] == "0429"


@pytest.mark.parametrize(
    ("setting", "value"),
    [("delta_size", 0), ("latency", -1.0), ("rate_limit", -2), ("answer_words", 0)],
)
def test_invalid_settings_raise_value_error(setting: str, value: Any) -> None:
    with pytest.raises(ValueError, match=setting):
        MaviEmulator(**{setting: value})
