"""The benchmark server: MAVI and OpenAI-compatible chat streams from one loopback process.

Why not the emulator: it runs in a thread of the measured process, so its own work would be timed
with ours, and its answers are a few hundred characters. This server runs in a child process (the
other core), pre-renders every reply once and writes it with one `write()`, so the client is what
is measured. Both endpoints are answered by the same code, with the same number of deltas of the
same text, one HTTP chunk per event as an SSE server that flushes each event would send them.

The scenario is in the URL path, so any client reaches it through its `base_url`:

    /n{deltas}/s{size}/l{latency_ms}/api/serve/video/chat   MAVI `data:{"code":"0000",...}` events
    /n{deltas}/s{size}/l{latency_ms}/serve/api/v1/chat_stream  MAVI v1.2 events: one `thinking`,
        one `ref`, then a `content` event per delta, then `data:"Done"` (`/serve/api/v1/chat`:
        the v1.2 JSON reply)
    /n{deltas}/s{size}/l{latency_ms}/v1/chat/completions     OpenAI `chat.completion.chunk` events
    /n{deltas}/s{size}/l{latency_ms}/serve/api/v2/vu/chat/completions  video-understanding: the
        Gemini-shaped JSON reply, or (`stream: true`) the OpenAI-style chunk events
    /stats                                                    {"connections": .., "requests": ..}
    /arrivals     the wall-clock times chat requests arrived since the last /arrivals (a list)

`connections` counts the connections that carried at least one chat request (not /stats).
Run as `python -m benchmarks._server`: it prints `PORT <n>` and serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import TracebackType
from typing import Any, Final, Self

MAVI_CHAT_PATH: Final = "/api/serve/video/chat"
V12_CHAT_PATH: Final = "/serve/api/v1/chat"
V12_STREAM_PATH: Final = "/serve/api/v1/chat_stream"
V12_EXTRA_EVENTS: Final = 3
"""v1.2 events besides the content ones: a thinking event, a ref event and `data:"Done"`."""
V12_SESSION: Final = "7251846039218475520"  # a string of digits, as documented
OPENAI_CHAT_PATH: Final = "/v1/chat/completions"
VLM_PATH: Final = "/serve/api/v2/vu/chat/completions"
# A prime length, so the pieces of an answer do not repeat in a short cycle.
_TEXT: Final = "the chef dices an onion while the pan heats and the oil shines "[:61]
_MAX_REQUEST: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class Scenario:
    """One answer: `deltas` pieces of `size` characters, sent after `latency_ms`."""

    deltas: int
    size: int
    latency_ms: int = 0

    @property
    def prefix(self) -> str:
        return f"/n{self.deltas}/s{self.size}/l{self.latency_ms}"

    @property
    def answer_chars(self) -> int:
        return self.deltas * self.size


def answer_pieces(scenario: Scenario) -> list[str]:
    """The pieces of the scenario's answer, the same for both endpoints."""
    size = scenario.size
    text = _TEXT * (scenario.answer_chars // len(_TEXT) + 1)
    return [text[i * size : (i + 1) * size] for i in range(scenario.deltas)]


def _chunk(event: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(event), event)


def _mavi_event(piece: str) -> bytes:
    return (
        b'data:{"code":"0000","msg":"success","data":{"msg":%s}}\n\n' % json.dumps(piece).encode()
    )


def _openai_event(delta: dict[str, str], finish_reason: str | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return b"data: %s\n\n" % json.dumps(chunk, separators=(",", ":")).encode()


def _v12_event(event: Mapping[str, object]) -> bytes:
    return (
        b"data:%s\n\n"
        % json.dumps({**event, "sessionId": V12_SESSION}, separators=(",", ":")).encode()
    )


_V12_THINKING: Final[Mapping[str, object]] = {
    "type": "thinking",
    "title": "Watching",
    "content": "The kitchen scene.",
}
_V12_REF_ENTRY: Final[Mapping[str, object]] = {  # nested, as the service documents it
    "video": {"duration": "412", "video_no": "VI-bench-0001", "video_name": "bench.mp4"},
    "refItems": [
        {"videoNo": "VI-bench-0001", "startTime": 62, "type": "visual_ts", "endTime": 105,
         "text": "An onion."}
    ],
}  # fmt: skip
_V12_REF: Final[Mapping[str, object]] = {"type": "ref", "ref": [_V12_REF_ENTRY]}


def _v12(pieces: list[str], stream: bool) -> bytes:
    """The v1.2 reply in the documented shapes (tests/data/wire_samples/v1.2/): events
    (thinking, ref, content per piece, Done) or the JSON answer."""
    if not stream:
        data = {
            "role": "ASSISTANT",
            "content": "".join(pieces),
            "thinkings": [{k: v for k, v in _V12_THINKING.items() if k != "type"}],
            "refs": [_V12_REF_ENTRY],
            "session_id": V12_SESSION,
        }
        envelope = {"code": "0000", "msg": "success", "data": data}
        body = json.dumps({**envelope, "success": True, "failed": False}).encode()
        return _whole(b"application/json;charset=UTF-8", body)
    events = [_v12_event(_V12_THINKING), _v12_event(_V12_REF)]
    events += [_v12_event({"type": "content", "role": "assistant", "content": p}) for p in pieces]
    events.append(b'data:"Done"\n\n')
    return _STREAM_HEAD + b"".join(_chunk(event) for event in events) + b"0\r\n\r\n"


_STREAM_HEAD: Final = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
)


def _whole(content_type: bytes, body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s" % (
        content_type,
        len(body),
        body,
    )


@cache
def render(scenario: Scenario, api: str, stream: bool) -> bytes:
    """The whole HTTP response for one scenario, endpoint ("mavi" / "v12" / "openai" / "vlm")
    and mode (a streamed "vlm" answer is the OpenAI events)."""
    pieces = answer_pieces(scenario)
    if api == "v12":
        return _v12(pieces, stream)
    if api == "vlm" and not stream:
        reply = {
            "id": "resp_bench",
            "object": "completion",
            "model": "gemini:bench",
            "created_at": 0,
            "status": "completed",
            "choices": [{"text": "".join(pieces), "index": 0}],
            "usage": {"input_tokens": 100, "output_tokens": len(pieces), "total_tokens": 103},
            "meta": {"provider": "gemini", "provider_model": "bench"},
        }
        return _whole(b"application/json", json.dumps(reply).encode())
    if api == "mavi":
        if not stream:  # v1.0 frames the whole answer as one `data:` event
            return _whole(b"text/event-stream", _mavi_event("".join(pieces)))
        events = [_mavi_event(piece) for piece in pieces]
    else:
        if not stream:
            completion = {
                "id": "chatcmpl-bench",
                "object": "chat.completion",
                "created": 0,
                "model": "bench",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(pieces)},
                        "finish_reason": "stop",
                    }
                ],
            }
            return _whole(b"application/json", json.dumps(completion).encode())
        events = [
            _openai_event({"role": "assistant", "content": piece} if i == 0 else {"content": piece})
            for i, piece in enumerate(pieces)
        ]
        events.append(_openai_event({}, finish_reason="stop"))
        events.append(b"data: [DONE]\n\n")
    return _STREAM_HEAD + b"".join(_chunk(event) for event in events) + b"0\r\n\r\n"


def parse_path(path: str) -> tuple[Scenario, str] | None:
    """The scenario and endpoint ("mavi" / "v12" / "openai") a request path asks for, or None."""
    parts = path.split("?", 1)[0].split("/", 4)
    if len(parts) < 5 or (parts[1][:1], parts[2][:1], parts[3][:1]) != ("n", "s", "l"):
        return None
    try:
        scenario = Scenario(int(parts[1][1:]), int(parts[2][1:]), int(parts[3][1:]))
    except ValueError:
        return None
    rest = "/" + parts[4]
    if rest.endswith(MAVI_CHAT_PATH):
        return scenario, "mavi"
    if rest.endswith((V12_CHAT_PATH, V12_STREAM_PATH)):
        return scenario, "v12"
    if rest.endswith(VLM_PATH):
        return scenario, "vlm"
    if rest.endswith(OPENAI_CHAT_PATH):
        return scenario, "openai"
    return None


class _Counters:
    connections = 0
    requests = 0

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        """The wall-clock time each chat request was read whole, until `/arrivals` takes them."""


class _Connection(asyncio.Protocol):
    """HTTP/1.1 keep-alive, one request at a time (no client here pipelines)."""

    def __init__(self, counters: _Counters) -> None:
        self._counters = counters
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._counted = False
        self._busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._next_request()

    def _next_request(self) -> None:
        if self._busy or self._transport is None:
            return
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_REQUEST:
                self._transport.close()
            return
        head = self._buffer[:end].decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if len(self._buffer) < end + 4 + length:
            return
        body = self._buffer[end + 4 : end + 4 + length]
        self._buffer = self._buffer[end + 4 + length :]
        method, path, *_ = [*head[0].split(" "), "", ""]
        self._answer(method, path, body)

    def _answer(self, method: str, path: str, body: bytes) -> None:
        if path == "/stats":
            stats = {"connections": self._counters.connections, "requests": self._counters.requests}
            self._send(_whole(b"application/json", json.dumps(stats).encode()))
            return
        if path == "/arrivals":
            arrivals, self._counters.arrivals = self._counters.arrivals, []
            self._send(_whole(b"application/json", json.dumps(arrivals).encode()))
            return
        route = parse_path(path)
        if method != "POST" or route is None:
            self._send(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            return
        if not self._counted:
            self._counted = True
            self._counters.connections += 1
        self._counters.requests += 1
        self._counters.arrivals.append(time.time())
        scenario, api = route
        if api == "v12":  # the path says whether to stream
            stream = path.split("?", 1)[0].endswith(V12_STREAM_PATH)
        else:
            stream = bool(json.loads(body or b"{}").get("stream", False))
        response = render(scenario, api, stream)
        if scenario.latency_ms:
            self._busy = True
            asyncio.get_running_loop().call_later(scenario.latency_ms / 1000, self._send, response)
        else:
            self._send(response)

    def _send(self, response: bytes) -> None:
        self._busy = False
        if self._transport is not None:
            self._transport.write(response)
            self._next_request()


async def serve(port: int = 0) -> None:
    counters = _Counters()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Connection(counters), "127.0.0.1", port, backlog=1024
    )
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    stdin_closed = asyncio.Event()

    def watch_stdin() -> None:
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stdin_closed.set)

    # Serve until the parent closes our stdin (or dies): no orphaned servers.
    threading.Thread(target=watch_stdin, daemon=True).start()
    async with server:
        await stdin_closed.wait()


class BenchServer:
    """The benchmark server in a child process; a context manager.

    >>> with BenchServer() as server:  # doctest: +SKIP
    ...     server.mavi_url(Scenario(20_000, 4))   # base_url for MaviClient, ChatMavi, ...
    ...     server.openai_url(Scenario(20_000, 4))  # base_url for ChatOpenAI
    """

    description: Final = (
        "benchmarks/_server.py: raw-asyncio HTTP/1.1 in a child process, replies pre-rendered, "
        "one chunk per SSE event"
    )

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().decode()
        if not line.startswith("PORT "):
            self.__exit__(None, None, None)
            raise RuntimeError(f"the benchmark server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def mavi_url(self, scenario: Scenario) -> str:
        """The `base_url` for the MAVI clients and adapters."""
        return self.origin + scenario.prefix

    def openai_url(self, scenario: Scenario) -> str:
        """The `base_url` for an OpenAI client (it appends `/chat/completions`)."""
        return self.origin + scenario.prefix + "/v1"

    def stats(self) -> dict[str, int]:
        counts: dict[str, int] = self._get("/stats")
        return counts

    def arrivals(self) -> list[float]:
        """The wall-clock times the chat requests since the last call arrived."""
        times: list[float] = self._get("/arrivals")
        return times

    def _get(self, path: str) -> Any:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path)
            return json.loads(connection.getresponse().read())
        finally:
            connection.close()


def main() -> None:
    asyncio.run(serve())


if __name__ == "__main__":
    main()
