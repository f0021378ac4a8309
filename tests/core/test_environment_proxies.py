"""The environment's proxies (HTTP_PROXY, NO_PROXY, ...) apply to both clients, as httpx applies
them to a client of its own: the sync client's bounded connections and the async client's sharded
pools keep them."""

from __future__ import annotations

import asyncio

import pytest

from mavi_core import AsyncMaviClient, MaviClient
from tests.support.rawserver import raw_server, reply
from tests.support.servers import KEY, v10_event

pytestmark = pytest.mark.integration


def test_the_sync_client_still_goes_through_a_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bounding the connections by the deadline (test_wire_tolerance.py, 4.) keeps httpx's own
    client, so HTTP_PROXY still applies."""
    with raw_server(lambda conn, request: reply(conn, v10_event("via proxy") + b"\n\n")) as proxy:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        with pytest.warns(UserWarning, match="plain http"):
            client = MaviClient(KEY, base_url="http://mavi.example", max_retries=0)
        with client:
            assert client.chat(["VI1"], "What happens?").text == "via proxy"
        assert proxy.requests[0].path == "http://mavi.example/api/serve/video/chat"


@pytest.mark.parametrize("stream", [False, True], ids=["chat", "stream_chat"])
def test_the_async_client_goes_through_a_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    """The async client gives httpx its sharded pools, which made httpx ignore HTTP_PROXY: the
    environment's proxies are mounted as httpx would (NO_PROXY hosts stay on the pools)."""
    with raw_server(lambda conn, request: reply(conn, v10_event("via proxy") + b"\n\n")) as proxy:
        for name in ("ALL_PROXY", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        monkeypatch.setenv("NO_PROXY", "mavi.internal")
        with pytest.warns(UserWarning, match="plain http"):
            client = AsyncMaviClient(KEY, base_url="http://mavi.example", max_retries=0)

        async def ask() -> str:
            async with client:
                if stream:
                    return "".join([d.text async for d in client.stream_chat(["VI1"], "Hi")])
                return (await client.chat(["VI1"], "Hi")).text

        assert asyncio.run(ask()) == "via proxy"
        assert proxy.requests[0].path == "http://mavi.example/api/serve/video/chat"


def test_a_no_proxy_host_is_asked_directly_by_the_async_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with raw_server(lambda conn, request: reply(conn, v10_event("direct") + b"\n\n")) as server:
        for name in ("ALL_PROXY", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        client = AsyncMaviClient(KEY, base_url=server.base_url, max_retries=0)

        async def ask() -> str:
            async with client:
                return (await client.chat(["VI1"], "Hi")).text

        assert asyncio.run(ask()) == "direct"
        assert server.requests[0].path == "/api/serve/video/chat"
