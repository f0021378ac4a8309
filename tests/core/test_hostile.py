"""The client against servers that write exact bytes, some of them hostile
(docs/errors-and-wire.md): nothing delivered is lost or repeated, nothing leaks, nothing hangs,
every read is bounded. Each scenario runs through `MaviClient` and `AsyncMaviClient`."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import time
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from mavi_core import (
    AsyncMaviClient,
    MaviAuthenticationError,
    MaviClient,
    MaviError,
    MaviRateLimitError,
    MaviServerError,
    MaviStreamError,
    MaviTimeoutError,
    MaviTokenAuth,
    MaviValidationError,
)
from tests.support.rawserver import Request, head, raw_server, reply
from tests.support.wire import read_stream

pytestmark = pytest.mark.integration

KEY = "sk-hostile-test-key-0123456789"


def event(piece: str) -> bytes:
    return (
        b"data:" + json.dumps({"code": "0000", "msg": "success", "data": {"msg": piece}}).encode()
    )


def events(*pieces: str) -> bytes:
    return b"".join(event(p) + b"\n\n" for p in pieces)


ERROR_0429 = b'data:{"code":"0429","msg":"Request has exceeded the limit."}\n\n'


class Mode:
    """One scenario through the sync or the async client."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sleeps: list[float] = []

    def client(self, base_url: str, **options: Any) -> Any:
        options.setdefault("api_key", KEY)
        if self.name == "sync":
            client: Any = MaviClient(base_url=base_url, **options)
            client._sleep = self.sleeps.append
            return client
        client = AsyncMaviClient(base_url=base_url, **options)

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        client._sleep = sleep
        return client

    def stream(self, base_url: str, into: list[str], **options: Any) -> None:
        read_stream(self.client(base_url, **options), into)

    def call(self, base_url: str, do: Callable[[Any], Any], **options: Any) -> Any:
        client = self.client(base_url, **options)
        if self.name == "sync":
            with client:
                return do(client)

        async def go() -> Any:
            async with client:
                return await do(client)

        return asyncio.run(go())

    def chat(self, base_url: str, **options: Any) -> Any:
        return self.call(base_url, lambda c: c.chat(["VI1"], "What happens?"), **options)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> Mode:
    return Mode(request.param)


def sse_reply(body: bytes, *headers: str) -> Callable[[socket.socket, Request], None]:
    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, body, "Content-Type: text/event-stream", *headers)

    return script


# 1. Nothing lost, nothing repeated, nothing retried after text.


def test_pieces_and_an_error_in_one_write_are_all_delivered_then_raised(mode: Mode) -> None:
    with raw_server(sse_reply(events("The ", "harbor ", "wakes.") + ERROR_0429)) as server:
        received: list[str] = []
        with pytest.raises(MaviStreamError) as caught:
            mode.stream(server.base_url, received)
    assert received == ["The ", "harbor ", "wakes."]
    assert caught.value.code == "0429"
    assert len(server.requests) == 1  # text had arrived: never retried
    assert mode.sleeps == []


def test_chat_with_text_then_an_error_raises_with_the_text_and_no_retry(mode: Mode) -> None:
    with raw_server(sse_reply(events("The ", "harbor ") + ERROR_0429)) as server:
        with pytest.raises(MaviStreamError) as caught:
            mode.chat(server.base_url)
    assert caught.value.partial_text == "The harbor "
    assert len(server.requests) == 1


def test_an_error_before_any_text_is_still_retried(mode: Mode) -> None:
    answers = [ERROR_0429, events("ok")]

    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, answers.pop(0), "Content-Type: text/event-stream")

    with raw_server(script) as server:
        received: list[str] = []
        mode.stream(server.base_url, received)
    assert received == ["ok"]
    assert len(server.requests) == 2


@pytest.mark.parametrize("cut", [1, 7, 30, 61, 75, 90])
def test_a_reply_cut_anywhere_keeps_what_arrived_and_raises(mode: Mode, cut: int) -> None:
    body = events("The ", "harbor ", "wakes.")

    def script(conn: socket.socket, request: Request) -> None:
        conn.sendall(head("200 OK", f"Content-Length: {len(body) + 10}") + body[:cut])
        conn.close()

    with raw_server(script) as server:
        received: list[str] = []
        with pytest.raises(MaviError):
            mode.stream(server.base_url, received, max_retries=0)
    assert "".join(received) == "".join(["The ", "harbor ", "wakes."])[: len("".join(received))]


# 1b. Leaving a stream early never hangs and leaks nothing.


def _open_fds() -> int:
    import os

    return len(os.listdir("/proc/self/fd"))


def test_a_thousand_abandoned_streams_complete_with_flat_descriptors(emu: Any) -> None:
    import gc

    thresholds = gc.get_threshold()
    gc.set_threshold(50, 5, 5)
    garbage: list[Any] = []
    try:
        with MaviClient(emu.api_key, base_url=emu.base_url) as client:
            for _ in range(20):  # warm up the pool
                for _delta in client.stream_chat(emu.video_nos[:1], "What happens?"):
                    break
            before = _open_fds()
            for index in range(1000):
                for _delta in client.stream_chat(emu.video_nos[:1], "What happens?"):
                    break  # no `with`, no close(): docs/client.md says this is fine
                cycle: list[Any] = [index]
                cycle.append(cycle)  # garbage with cycles, so the collector runs often
                garbage.append(cycle)
                if len(garbage) > 100:
                    garbage.clear()
            after = _open_fds()
    finally:
        gc.set_threshold(*thresholds)
    assert after - before <= 3


def test_an_abandoned_stream_closes_its_reply_at_once_without_the_collector(emu: Any) -> None:
    import gc

    gc.disable()
    try:
        with MaviClient(emu.api_key, base_url=emu.base_url) as client:
            stream = client.stream_chat(emu.video_nos[:1], "What happens?")
            next(stream)
            pool = client._http._transport._pool
            assert len(pool.connections) == 1
            del stream  # no cycle: reference counting closes the reply here
            assert all(connection.is_idle() for connection in pool.connections)
    finally:
        gc.enable()


def test_a_stream_in_a_cycle_collected_inside_a_lock_closes_from_another_thread() -> None:
    # The collector may run while httpcore holds its pool lock; closing a response there would
    # wait on that lock forever. The close must go elsewhere.
    import gc
    import threading

    import httpx

    lock = threading.Lock()
    closed = threading.Event()

    class Body(httpx.SyncByteStream):
        def __iter__(self) -> Any:
            yield events("one ")
            yield events("two")

        def close(self) -> None:
            with lock:  # the pool lock, already held by the collecting thread
                closed.set()

    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, stream=Body())))
    client = MaviClient(KEY, base_url="https://t", http_client=http)
    stream = client.stream_chat(["VI1"], "q")
    next(stream)
    holder: list[Any] = [stream]
    holder.append(holder)  # a cycle only the collector frees
    del stream, holder
    with lock:
        gc.collect()
        assert not closed.is_set()
    assert closed.wait(5)


def test_abandoned_async_streams_close_their_replies(emu: Any) -> None:
    async def go() -> None:
        async with AsyncMaviClient(emu.api_key, base_url=emu.base_url) as client:
            for _ in range(200):
                async for _delta in client.stream_chat(emu.video_nos[:1], "What happens?"):
                    break
                await asyncio.sleep(0)
            await asyncio.sleep(0.05)
            transport = client._http._transport
            assert sum(transport.in_flight) == 0

    asyncio.run(asyncio.wait_for(go(), 60))


# 2. No credential in any message.


def test_a_key_with_a_stray_newline_is_stripped_and_sent_clean(mode: Mode) -> None:
    with raw_server(sse_reply(events("ok"))) as server:
        mode.chat(server.base_url, api_key=KEY + "\n")
    assert server.requests[0].header("authorization") == KEY


@pytest.mark.parametrize("bad", [KEY[:10] + "\x00" + KEY[10:], KEY + "é", "sk-\u2028abc123"])
def test_a_key_that_cannot_be_a_header_is_rejected_without_quoting_it(bad: str) -> None:
    with pytest.raises(MaviValidationError) as caught:
        MaviClient(bad, base_url="https://t")
    assert bad.strip() not in str(caught.value)
    assert KEY[:10] not in str(caught.value)
    assert caught.value.__cause__ is None


def test_a_key_the_server_echoes_back_is_masked_in_the_error(mode: Mode) -> None:
    body = json.dumps({"code": "0401", "msg": f"invalid key {KEY}"}).encode()
    with raw_server(sse_reply(b"data:" + body + b"\n\n")) as server:
        with pytest.raises(MaviAuthenticationError) as caught:
            mode.chat(server.base_url)
    assert KEY not in str(caught.value)
    assert KEY not in (caught.value.msg or "")
    assert "**********" in str(caught.value)


@pytest.mark.parametrize(
    ("arguments", "what"),
    [
        ({"message": "bad \udc80 text"}, "surrogate"),
        ({"history": 42}, "history"),
        ({"video_nos": {"VI1": 1}}, "video_nos"),
        ({"video_nos": ["VI\udc801"]}, "surrogate"),
        ({"history": [{"user": "a\udc80", "robot": "b"}]}, "surrogate"),
    ],
)
def test_bad_input_is_a_validation_error_before_any_request(
    mode: Mode, arguments: dict[str, Any], what: str
) -> None:
    call = {"video_nos": ["VI1"], "message": "q", "history": None, **arguments}
    with raw_server(sse_reply(events("ok"))) as server:
        with pytest.raises(MaviValidationError, match=what):
            mode.call(server.base_url, lambda c: c.chat(**call))
    assert server.requests == []


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:9\n",
        "https://api.example.com?x=1",
        "https://api.example.com#top",
        "ftp://x",
    ],
)
def test_a_base_url_that_would_not_reach_the_api_is_rejected(base_url: str) -> None:
    with pytest.raises(MaviValidationError, match="base_url"):
        MaviClient(KEY, base_url=base_url)


def test_a_key_over_plain_http_to_another_host_warns() -> None:
    with pytest.warns(UserWarning, match="unencrypted"):
        MaviClient(KEY, base_url="http://mavi.example.com")


# 3. Every read is bounded.


def _gzip_bomb(megabytes: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"data:" + b"a" * (1024 * 1024 - 5)
    parts = [compressor.compress(block) for _ in range(megabytes)]
    return b"".join(parts) + compressor.flush()


def test_a_gzip_bomb_is_stopped_while_decompressing(mode: Mode) -> None:
    bomb = _gzip_bomb(256)  # about 256 KiB that expand to 256 MiB
    assert len(bomb) < 1024 * 1024

    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, bomb, "Content-Type: text/event-stream", "Content-Encoding: gzip")

    with raw_server(script) as server:
        tracemalloc.start()
        try:
            with pytest.raises(MaviServerError, match="max_event_bytes"):
                mode.chat(server.base_url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"


def test_a_gzip_reply_within_bounds_is_read(mode: Mode) -> None:
    body = gzip.compress(events("The ", "harbor."))

    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, body, "Content-Type: text/event-stream", "Content-Encoding: gzip")

    with raw_server(script) as server:
        assert mode.chat(server.base_url).text == "The harbor."
    assert server.requests[0].header("accept-encoding") == "gzip, deflate"


def test_a_huge_error_page_is_read_only_to_a_prefix(mode: Mode) -> None:
    sent = [0]

    def script(conn: socket.socket, request: Request) -> None:
        conn.sendall(head("500 Internal Server Error", length=300 * 1024 * 1024))
        block = b"<html>" + b"x" * 65530
        try:
            for _ in range(300 * 16):
                conn.sendall(block)
                sent[0] += len(block)
        except OSError:
            return

    with raw_server(script) as server, pytest.raises(MaviServerError, match="HTTP 500"):
        mode.chat(server.base_url, max_retries=0)
    assert sent[0] < 50 * 1024 * 1024


def test_a_line_without_end_stops_at_the_event_bound_in_linear_time(mode: Mode) -> None:
    def script(conn: socket.socket, request: Request) -> None:
        conn.sendall(head("200 OK", "Content-Type: text/event-stream") + b"data:")
        try:
            for _ in range(4000):
                conn.sendall(b"x" * 65536)
        except OSError:
            return

    with raw_server(script) as server:
        started = time.monotonic()
        with pytest.raises(MaviServerError, match="max_event_bytes"):
            mode.chat(server.base_url, max_event_bytes=8 * 1024 * 1024)
        elapsed = time.monotonic() - started
    print(f"8 MiB line rejected in {elapsed:.2f} s")


def test_a_whole_reply_above_max_response_bytes_is_refused(mode: Mode) -> None:
    with raw_server(sse_reply(events(*["word "] * 5000))) as server:
        with pytest.raises(MaviServerError, match="max_response_bytes"):
            mode.chat(server.base_url, max_response_bytes=10_000)


def test_a_trickling_server_is_stopped_by_the_deadline(mode: Mode) -> None:
    def script(conn: socket.socket, request: Request) -> None:
        conn.sendall(head("200 OK", "Content-Type: text/event-stream") + events("slow "))
        try:
            for _ in range(1200):  # a minute of trickle: far past the deadline, even under load
                time.sleep(0.05)
                conn.sendall(b":")
        except OSError:
            return

    with raw_server(script) as server:
        received: list[str] = []
        started = time.monotonic()
        with pytest.raises(MaviTimeoutError, match="deadline"):
            mode.stream(server.base_url, received, deadline=0.5)
    assert received == ["slow "]
    assert time.monotonic() - started < 30  # cut by the deadline, not by the server's end


# 5. Every reply is an answer or a typed error.


@pytest.mark.parametrize(
    "body",
    [
        b'data:{"code":"0000","msg":"success","data":{"msg":5}}\n\n',
        b'data:{"code":"0000","msg":"success","data":{"msg":null}}\n\n',
        b'data:{"code":"0000","msg":"success","data":[1,2]}\n\n',
        b'data:{"code":"0000","msg":"success","data":{"other":1}}\n\n',
        b'data:{"code":"0000","msg":"success"}\n\n',
        b'data:{"msg":"no code","data":{"msg":"x"}}\n\n',
        b'data:{"code":true,"data":{"msg":"x"}}\n\n',
        b'data:{"code":null,"data":{"msg":"x"}}\n\n',
        b"data:[1,2,3]\n\n",
        b"data:42\n\n",
        b"[1,2,3]",
        b'{"code":"0000","msg":"success","data":{"msg":5}}',
        b'{"code":"0000","msg":"success","data":"x"}'.replace(b'"x"', b"[]"),
        b"data:" + b"[" * 100_000 + b"]" * 100_000 + b"\n\n",
    ],
)
def test_a_reply_of_the_wrong_shape_is_a_server_error(mode: Mode, body: bytes) -> None:
    with raw_server(sse_reply(body)) as server, pytest.raises(MaviServerError):
        mode.chat(server.base_url)


@pytest.mark.parametrize("code", [b'"429"', b"429", b'"0429"'])
def test_http_429_with_any_spelling_of_429_is_retried(mode: Mode, code: bytes) -> None:
    answers = [
        (b'{"code":' + code + b',"msg":"slow down"}', "429 Too Many Requests"),
        (events("ok"), "200 OK"),
    ]

    def script(conn: socket.socket, request: Request) -> None:
        body, status = answers.pop(0)
        reply(conn, body, status=status)

    with raw_server(script) as server:
        assert mode.chat(server.base_url).text == "ok"
    assert len(server.requests) == 2


def test_http_429_with_an_unknown_code_is_a_rate_limit(mode: Mode) -> None:
    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, b'{"code":"7777","msg":"busy"}', status="429 Too Many Requests")

    with raw_server(script) as server, pytest.raises(MaviRateLimitError):
        mode.chat(server.base_url, max_retries=1)
    assert len(server.requests) == 2


def test_http_401_with_an_unknown_code_refreshes_the_token(mode: Mode) -> None:
    def script(conn: socket.socket, request: Request) -> None:
        if request.path.endswith("refreshAccessToken"):
            data = {"accessToken": "at-new-token", "expiresIn": 7200}
            reply(conn, json.dumps({"code": "0000", "data": data}).encode())
        elif request.header("authorization") == "at-new-token":
            reply(conn, events("ok"))
        else:
            reply(conn, b'{"code":"8888","msg":"who?"}', status="401 Unauthorized")

    auth = MaviTokenAuth("at-old-token", refresh_token="rt-token-1")
    with raw_server(script) as server:
        assert mode.chat(server.base_url, api_key=None, auth=auth).text == "ok"
    assert [r.path.rsplit("/", 1)[1] for r in server.requests] == [
        "chat",
        "refreshAccessToken",
        "chat",
    ]


def test_a_redirect_to_another_host_says_so(mode: Mode) -> None:
    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, b"", "Location: https://elsewhere.example/api?key=1", status="302 Found")

    with raw_server(script) as server:
        with pytest.raises(MaviServerError, match=r"redirect to https://elsewhere\.example") as e:
            mode.chat(server.base_url)
    assert "key=1" not in str(e.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize("retry_after", ["-5", "nan", "Wed, 21 Oct 2015 07:28:00 GMT", "inf"])
def test_a_nonsense_retry_after_means_normal_backoff(mode: Mode, retry_after: str) -> None:
    answers = [b'{"code":"0429","msg":"slow down"}', events("ok")]

    def script(conn: socket.socket, request: Request) -> None:
        body = answers.pop(0)
        status = "429 Too Many Requests" if body.startswith(b"{") else "200 OK"
        reply(conn, body, f"Retry-After: {retry_after}", status=status)

    with raw_server(script) as server:
        assert mode.chat(server.base_url).text == "ok"
    assert len(mode.sleeps) == 1
    assert 0.3 <= mode.sleeps[0] <= 0.5


def test_a_rate_limit_envelope_with_http_200_carries_the_retry_after_header(mode: Mode) -> None:
    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, ERROR_0429, "Retry-After: 7")

    with raw_server(script) as server, pytest.raises(MaviRateLimitError) as caught:
        mode.chat(server.base_url, max_retries=1)
    assert caught.value.retry_after == 7.0
    assert mode.sleeps == [7.0]
    assert "limit.." not in str(caught.value)


def test_logs_never_carry_the_key_a_server_echoes(
    mode: Mode, caplog: pytest.LogCaptureFixture
) -> None:
    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, f"upstream error, your key was {KEY}".encode(), status="503 Unavailable")

    caplog.set_level("DEBUG", logger="mavi_core")
    with raw_server(script) as server, pytest.raises(MaviServerError):
        mode.chat(server.base_url, max_retries=1)
    assert any("retrying" in record.getMessage() for record in caplog.records)
    assert all(KEY[:10] not in record.getMessage() for record in caplog.records)


def test_a_key_cut_short_inside_a_quoted_reply_is_still_masked(mode: Mode) -> None:
    body = ("z" * 190 + KEY).encode()  # the message quotes the first 200 characters

    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, body, status="400 Bad Request")

    with raw_server(script) as server, pytest.raises(MaviError) as caught:
        mode.chat(server.base_url)
    assert KEY[:8] not in str(caught.value)
    assert "**********" in str(caught.value)


def test_a_json_reply_of_several_events_is_an_error_not_its_first_event(mode: Mode) -> None:
    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, b'data:{"code":"0000","data":{"videos":[]}}\n\ndata:{"code":"0000"}\n\n')

    with raw_server(script) as server, pytest.raises(MaviServerError, match="2 events"):
        mode.call(server.base_url, lambda c: c.search_videos("boat"))


def test_an_async_stream_continued_on_another_event_loop_says_it_was_cut(emu: Any) -> None:
    client = AsyncMaviClient(emu.api_key, base_url=emu.base_url)
    stream = client.stream_chat(emu.video_nos[:1], "What happens?")

    async def first() -> str:
        return (await anext(stream)).text

    async def rest() -> str:
        return "".join([delta.text async for delta in stream])

    assert asyncio.run(first())
    with pytest.raises(MaviStreamError, match="event loop"):
        asyncio.run(rest())


def test_a_gzip_reply_cut_before_its_trailer_is_an_error(mode: Mode) -> None:
    body = gzip.compress(events("The ", "harbor."))[:-8]

    def script(conn: socket.socket, request: Request) -> None:
        reply(conn, body, "Content-Encoding: gzip")

    with raw_server(script) as server, pytest.raises(MaviError, match="cut short"):
        mode.chat(server.base_url, max_retries=0)


@pytest.mark.parametrize("wrapped", [True, False])
def test_deflate_wrapped_or_raw_decodes_however_it_is_cut(mode: Mode, wrapped: bool) -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
    body = compressor.compress(events("The ", "harbor.")) + compressor.flush()

    def script(conn: socket.socket, request: Request) -> None:
        conn.sendall(head("200 OK", "Content-Encoding: deflate") + body[:1])
        time.sleep(0.05)
        conn.sendall(body[1:])
        conn.shutdown(socket.SHUT_WR)

    with raw_server(script) as server:
        assert mode.chat(server.base_url).text == "The harbor."


def test_a_lone_surrogate_from_the_server_becomes_a_replacement_character(mode: Mode) -> None:
    body = b'data:{"code":"0000","msg":"success","data":{"msg":"caf\\ud800e"}}\n\n'
    with raw_server(sse_reply(body)) as server:
        text = mode.chat(server.base_url).text
    assert "\ud800" not in text
    text.encode("utf-8")  # printable, and sendable back as history


@pytest.mark.parametrize(
    ("options", "what"),
    [
        ({"default_headers": {"X-A": "a\nb"}}, "default_headers"),
        ({"default_headers": {"X-é": "b"}}, "default_headers"),
        ({"api_key": b"sk-bytes-key-123"}, "api_key"),
        ({"max_response_bytes": 0.5}, "max_response_bytes"),
        ({"deadline": float("inf")}, "deadline"),
    ],
)
def test_bad_options_are_refused_when_the_client_is_built(
    options: dict[str, Any], what: str
) -> None:
    options.setdefault("api_key", KEY)
    with pytest.raises(MaviValidationError, match=what):
        MaviClient(base_url="https://t", **options)


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda c: c.find_moments("boat", ["VI1"], limit=-1), "limit"),
        (lambda c: c.wait_until_parsed(["VI1"], poll_interval=-1), "poll_interval"),
        (lambda c: c.wait_until_parsed(["VI1"], timeout=float("nan")), "timeout"),
    ],
)
def test_bad_call_options_are_refused_before_any_request(
    mode: Mode, call: Callable[[Any], Any], what: str
) -> None:
    with (
        raw_server(sse_reply(events("ok"))) as server,
        pytest.raises(MaviValidationError, match=what),
    ):
        mode.call(server.base_url, call)
    assert server.requests == []
