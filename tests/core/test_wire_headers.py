"""The headers each request carries on the wire, whoever adds them.

A client that builds its own httpx client gives it the headers every request carries (user
agent, encodings, `default_headers`) once, and adds only the rest per request; an injected
httpx client gets them all with each request. Either way the wire is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import httpx
import pytest

from mavi_core import AsyncMaviClient, MaviClient, __version__
from tests.support.rawserver import RawServer, Request, raw_server, reply

KEY = "sk-wire-headers"
ANSWER = b'data:{"code":"0000","msg":"success","data":{"msg":"ok"}}\n\n'
VIDEOS = b'{"code":"0000","msg":"success","data":{"videos":[]}}'
V12_ANSWER = (
    b'data:{"type":"content","role":"assistant","content":"ok","sessionId":"7"}\n\ndata:"Done"\n\n'
)
ACCEPT = "text/event-stream, application/json"


def _answer(conn: socket.socket, request: Request) -> None:
    if request.path == "/serve/api/v1/chat_stream":
        reply(conn, V12_ANSWER, "Content-Type: text/event-stream")
    elif request.path.startswith("/api/serve/video/chat"):
        reply(conn, ANSWER, "Content-Type: text/event-stream")
    else:
        reply(conn, VIDEOS, "Content-Type: application/json")


def _headers(request: Request) -> dict[str, str]:
    names = ("authorization", "user-agent", "accept", "accept-encoding", "x-team")
    return {name: request.header(name) or "" for name in names}


def _expected(accept: str) -> dict[str, str]:
    return {
        "authorization": KEY,
        "user-agent": f"mavi-integrations/{__version__}",
        "accept": accept,
        "accept-encoding": "gzip, deflate",
        "x-team": "video",
    }


def _run_sync(server: RawServer, injected: bool) -> None:
    with contextlib.ExitStack() as stack:
        options: dict[str, Any] = {"default_headers": {"X-Team": "video"}}
        if injected:
            options["http_client"] = stack.enter_context(httpx.Client())
        with MaviClient(KEY, base_url=server.base_url, **options) as client:
            assert client.chat(["VI1"], "q").text == "ok"
            assert "".join(d.text for d in client.stream_chat(["VI1"], "q")) == "ok"
            client.search_videos("harbor")
        with MaviClient(KEY, base_url=server.base_url, api_version="v1.2", **options) as client:
            assert "".join(d.text for d in client.stream_chat(["VI1"], "q")) == "ok"


async def _run_async(server: RawServer, injected: bool) -> None:
    async with contextlib.AsyncExitStack() as stack:
        options: dict[str, Any] = {"default_headers": {"X-Team": "video"}}
        if injected:
            options["http_client"] = await stack.enter_async_context(httpx.AsyncClient())
        async with AsyncMaviClient(KEY, base_url=server.base_url, **options) as client:
            assert (await client.chat(["VI1"], "q")).text == "ok"
            assert "".join([d.text async for d in client.stream_chat(["VI1"], "q")]) == "ok"
            await client.search_videos("harbor")
        async with AsyncMaviClient(
            KEY, base_url=server.base_url, api_version="v1.2", **options
        ) as v12:
            assert "".join([d.text async for d in v12.stream_chat(["VI1"], "q")]) == "ok"


@pytest.mark.parametrize("injected", [False, True], ids=["own-httpx", "injected-httpx"])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_every_request_carries_the_same_headers(injected: bool, asynchronous: bool) -> None:
    with raw_server(_answer) as server:
        if asynchronous:
            asyncio.run(_run_async(server, injected))
        else:
            _run_sync(server, injected)
        chat, stream, search, v12_stream = (_headers(request) for request in server.requests)
    assert chat == stream == search == _expected(ACCEPT)
    assert v12_stream == _expected("text/event-stream")  # this request's own Accept


def test_default_headers_still_win_over_the_clients_own() -> None:
    """A caller's `Accept` or `User-Agent` in `default_headers` is what goes out, as before."""
    with raw_server(_answer) as server:
        headers = {"Accept": "application/x-team", "User-Agent": "team-bot/2", "X-Team": "ops"}
        with MaviClient(KEY, base_url=server.base_url, default_headers=headers) as client:
            client.chat(["VI1"], "q")
            list(client.stream_chat(["VI1"], "q"))
        sent = [_headers(request) for request in server.requests]
    for request_headers in sent:
        assert request_headers["accept"] == "application/x-team"
        assert request_headers["user-agent"] == "team-bot/2"
        assert request_headers["x-team"] == "ops"
