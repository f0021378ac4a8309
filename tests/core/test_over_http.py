"""`MaviClient` and `AsyncMaviClient` against the emulator over loopback HTTP, fault by fault."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mavi_core import (
    AsyncMaviClient,
    ChatTurn,
    MaviClient,
    MaviConflictError,
    MaviInvalidRequestError,
    MaviRateLimitError,
    MaviStreamError,
    MaviTimeoutError,
    MaviTokenAuth,
)
from mavi_core.emulator import MaviEmulator

pytestmark = pytest.mark.integration

QUESTION = "What does the sky do at sunrise over the harbor?"


class Http:
    """Runs one scenario through the sync or the async client, against the emulator."""

    def __init__(self, mode: str, emu: MaviEmulator, sleeps: list[float]) -> None:
        self.mode = mode
        self.emu = emu
        self.sleeps = sleeps

    def sync_client(self, options: dict[str, Any]) -> MaviClient:
        client = MaviClient(**self.kwargs(options))
        client._sleep = self.sleeps.append
        return client

    def async_client(self, options: dict[str, Any]) -> AsyncMaviClient:
        client = AsyncMaviClient(**self.kwargs(options))

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        client._sleep = sleep
        return client

    def kwargs(self, options: dict[str, Any]) -> dict[str, Any]:
        options.setdefault("base_url", self.emu.base_url)
        if "auth" not in options:
            options.setdefault("api_key", self.emu.api_key)
        return options

    def run(self, call: Callable[[Any], Any], **options: Any) -> Any:
        """`call(client)`; coroutines are awaited and async iterators drained."""
        if self.mode == "sync":
            with self.sync_client(options) as client:
                result = call(client)
                return list(result) if hasattr(result, "__next__") else result

        async def go() -> Any:
            async with self.async_client(options) as client:
                result = call(client)
                if hasattr(result, "__aiter__"):
                    return [item async for item in result]
                return await result

        return asyncio.run(go())

    def stream(self, into: list[str], message: str = QUESTION, **options: Any) -> str:
        """Stream an answer, appending each delta to `into` as it arrives."""
        video = options.pop("video_nos", self.emu.video_nos[:1])
        if self.mode == "sync":
            with self.sync_client(options) as client:
                for delta in client.stream_chat(video, message):
                    into.append(delta.text)
            return "".join(into)

        async def go() -> str:
            async with self.async_client(options) as client:
                async for delta in client.stream_chat(video, message):
                    into.append(delta.text)
            return "".join(into)

        return asyncio.run(go())

    def chat(self, message: str = QUESTION, **options: Any) -> str:
        video = options.pop("video_nos", self.emu.video_nos[:1])
        history = options.pop("history", None)
        answer = self.run(lambda c: c.chat(video, message, history), **options)
        return str(answer.text)


@pytest.fixture(params=["sync", "async"])
def http(request: pytest.FixtureRequest, emu: MaviEmulator, sleeps: list[float]) -> Http:
    return Http(request.param, emu, sleeps)


def test_streamed_deltas_join_to_the_non_streamed_answer(http: Http) -> None:
    deltas: list[str] = []
    streamed = http.stream(deltas)
    assert len(deltas) > 5
    assert streamed == http.chat()
    assert "sky" in streamed.lower()
    bodies = [r.body for r in http.emu.requests]
    assert [b["stream"] for b in bodies] == [True, False]
    assert bodies[0]["videoNos"] == http.emu.video_nos[:1]


def test_history_reaches_the_server(http: Http) -> None:
    first = http.chat()
    http.chat("What happens after that?", history=[ChatTurn(user=QUESTION, robot=first)])
    assert http.emu.requests[-1].body["history"] == [{"user": QUESTION, "robot": first}]


@pytest.mark.parametrize(
    "framing",
    [
        {"space_after_data": True},
        {"crlf": True},
        {"end_marker": "Done"},
        {"end_marker": "[DONE]"},
        {"cumulative": True},
        {"multiline": True},
        {"comments": True},
        {"content_type": None},
        {"plain_json": True},
        {"crlf": True, "cumulative": True, "comments": True, "end_marker": "Done"},
    ],
    ids=lambda f: ",".join(f),
)
def test_every_framing_variant_gives_the_same_answer(http: Http, framing: dict[str, Any]) -> None:
    expected = http.chat()
    http.emu.faults.framing(**framing)
    assert http.chat() == expected
    assert http.stream([]) == expected


def test_rate_limit_envelope_is_retried(http: Http, sleeps: list[float]) -> None:
    http.emu.faults.error_envelope("0429")
    assert http.chat()
    assert len(http.emu.requests) == 2
    assert len(sleeps) == 1


def test_invalid_request_envelope_is_not_retried(http: Http) -> None:
    http.emu.faults.error_envelope("0001", "videoNos is not parsed")
    with pytest.raises(MaviInvalidRequestError, match="videoNos is not parsed"):
        http.chat()
    assert len(http.emu.requests) == 1


@pytest.mark.parametrize("html", [False, True])
def test_http_5xx_is_retried(http: Http, sleeps: list[float], html: bool) -> None:
    http.emu.faults.http_error(502, times=2, html=html)
    assert http.chat()
    assert len(http.emu.requests) == 3


def test_http_429_retry_after_is_honoured(http: Http, sleeps: list[float]) -> None:
    http.emu.faults.rate_limit_http(retry_after=2)
    assert http.chat()
    assert sleeps == [2.0]


def test_server_rate_limit_ends_as_rate_limit_error(http: Http, sleeps: list[float]) -> None:
    http.emu.rate_limit = 2
    http.chat()
    http.chat()
    with pytest.raises(MaviRateLimitError):
        http.chat()
    assert len(http.emu.requests) == 5  # two answered, then one try and two retries


def test_expired_token_is_refreshed_and_the_request_retried(http: Http) -> None:
    tokens = http.emu.issue_tokens()
    refreshed: list[Any] = []
    auth = MaviTokenAuth(tokens["accessToken"], tokens["refreshToken"], on_refresh=refreshed.append)
    http.emu.faults.expire_tokens()
    assert http.chat(auth=auth)
    paths = [r.path for r in http.emu.requests]
    assert paths == [
        "/api/serve/video/chat",
        "/auth/api/token/refreshAccessToken",
        "/api/serve/video/chat",
    ]
    assert len(refreshed) == 1


def test_code_exchange_then_chat(http: Http) -> None:
    code = http.emu.authorization_code()
    auth = http.run(lambda c: c.exchange_code(http.emu.client_id, code), api_key=None)
    assert auth.expires_at is not None and auth.expires_at > time.time() + 600
    assert http.chat(auth=auth)
    assert http.emu.requests[-1].headers["authorization"] != auth.header_value()  # masked


def test_error_after_deltas_is_a_stream_error_keeping_what_came(http: Http) -> None:
    http.emu.faults.error_after(3, code="0500", msg="model failed")
    received: list[str] = []
    with pytest.raises(MaviStreamError, match="model failed") as caught:
        http.stream(received)
    assert len(received) == 3
    assert caught.value.code == "0500"
    assert len(http.emu.requests) == 1


def test_disconnect_after_deltas_is_a_stream_error_without_retry(http: Http) -> None:
    http.emu.faults.disconnect_after(2)
    received: list[str] = []
    with pytest.raises(MaviStreamError, match="broke"):
        http.stream(received)
    assert len(received) == 2
    assert len(http.emu.requests) == 1


def test_disconnect_before_first_delta_is_retried(http: Http, sleeps: list[float]) -> None:
    expected = http.chat()
    http.emu.faults.disconnect_after(0)
    assert http.stream([]) == expected
    assert len(http.emu.requests) == 3


def test_stall_mid_stream_is_a_stream_timeout(http: Http) -> None:
    http.emu.faults.stall_after(2, seconds=1.5)
    received: list[str] = []
    with pytest.raises(MaviTimeoutError) as caught:
        http.stream(received, timeout=0.4)
    assert isinstance(caught.value, MaviStreamError)
    assert len(received) == 2


def test_slow_first_byte_times_out_then_is_retried(http: Http, sleeps: list[float]) -> None:
    http.emu.faults.slow_first_byte(1.0)
    assert http.chat(timeout=0.4)
    assert len(sleeps) == 1


def test_search_list_upload_wait_and_delete(http: Http, tmp_path: Path) -> None:
    found = http.run(lambda c: c.search_videos("onion"))
    assert found
    assert {v.video_no for v in found} <= set(http.emu.video_nos)
    moments = http.run(lambda c: c.search_moments("onion", http.emu.video_nos))
    assert moments
    assert all(m.end >= m.start for m in moments)
    listed = http.run(lambda c: c.list_videos(page_size=2))
    assert sorted(v.video_no for v in listed) == sorted(http.emu.video_nos)
    clip = tmp_path / "my_clip.mp4"
    clip.write_bytes(b"\x00" * 2048)
    uploaded = http.run(lambda c: c.upload_video(clip))
    assert uploaded.status == "UNPARSE"
    ready = http.run(lambda c: c.wait_until_parsed([uploaded.video_no], poll_interval=0.1))
    assert ready[0].is_parsed
    http.run(lambda c: c.delete_videos([uploaded.video_no]))
    with pytest.raises(MaviConflictError):
        http.run(lambda c: c.delete_videos([uploaded.video_no]))


def test_transcription(http: Http) -> None:
    transcript = http.run(lambda c: c.transcribe(http.emu.video_nos[0], poll_interval=0.1))
    assert transcript.segments
    assert transcript.text


def test_async_client_survives_several_event_loops(emu: MaviEmulator) -> None:
    client = AsyncMaviClient(emu.api_key, base_url=emu.base_url)
    video = emu.video_nos[:1]
    first = asyncio.run(client.chat(video, QUESTION))
    second = asyncio.run(client.chat(video, QUESTION))  # a new loop: a new pool, no error
    assert first.text == second.text

    async def close() -> None:
        await client.aclose()

    asyncio.run(close())
