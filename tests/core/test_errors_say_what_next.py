"""Errors that say where and what next: a refused connection names `host:port` (and on this
machine suggests the emulator), a key pasted with `Bearer ` says to drop it, and arguments given
in the wrong order are named as swapped, by both clients and both dialects."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from mavi_core import AsyncMaviClient, MaviClient, MaviConnectionError, MaviValidationError
from mavi_core._client import connect_error_message


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: bound, then closed (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_local_connection_names_the_port_and_suggests_the_emulator(
    closed_port: int,
) -> None:
    client = MaviClient("sk-test", base_url=f"http://127.0.0.1:{closed_port}", max_retries=0)
    with client, pytest.raises(MaviConnectionError) as caught:
        client.chat(["VI1"], "What happens?")
    message = str(caught.value)
    assert f"127.0.0.1:{closed_port}" in message
    assert "make emulator" in message
    assert f"python -m mavi_core.emulator --port {closed_port}" in message


def test_the_async_client_says_the_same(closed_port: int) -> None:
    async def ask() -> None:
        async with AsyncMaviClient(
            "sk-test", base_url=f"http://localhost:{closed_port}", max_retries=0
        ) as client:
            await client.chat(["VI1"], "What happens?")

    with pytest.raises(MaviConnectionError, match=f"localhost:{closed_port}.*make emulator"):
        asyncio.run(ask())


@pytest.mark.parametrize(
    ("url", "where", "local"),
    [
        ("https://mavi.example/api", "mavi.example:443", False),
        ("http://10.1.2.3:8080/", "10.1.2.3:8080", False),
        ("http://[::1]:9000/", "[::1]:9000", True),
        ("http://127.0.0.2:81/", "127.0.0.2:81", True),
    ],
)
def test_the_message_names_host_and_port_and_only_local_hosts_get_the_emulator(
    url: str, where: str, local: bool
) -> None:
    error = httpx.ConnectError("[Errno 111] Connection refused", request=httpx.Request("GET", url))
    message = connect_error_message(error)
    assert f"at {where} " in message
    assert ("make emulator" in message) is local


def test_a_remote_host_that_does_not_resolve_is_not_sent_to_the_emulator() -> None:
    error = httpx.ConnectError(
        "[Errno -2] Name or service not known",
        request=httpx.Request("GET", "https://mavi.invalid/x"),
    )
    assert "Check base_url and the network" in connect_error_message(error)


@pytest.mark.parametrize("key", ["Bearer sk-123456789", "bearer sk-123456789"])
def test_a_key_pasted_with_bearer_says_to_drop_the_prefix(key: str) -> None:
    with pytest.raises(MaviValidationError, match="drop the 'Bearer ' prefix") as caught:
        MaviClient(key)
    assert "sk-123456789" not in str(caught.value)


@pytest.mark.parametrize("api_version", ["v1.0", "v1.2"])
def test_swapped_chat_arguments_are_named_by_both_clients(api_version: str) -> None:
    sync = MaviClient("sk-test", base_url="http://127.0.0.1:9", api_version=api_version)
    with sync, pytest.raises(MaviValidationError, match="look swapped") as caught:
        sync.chat("What happens?", ["VI634021587219364352"])  # type: ignore[arg-type]
    assert "video_nos=['VI634021587219364352']" in str(caught.value)

    async def ask() -> None:
        async with AsyncMaviClient(
            "sk-test", base_url="http://127.0.0.1:9", api_version=api_version
        ) as client:
            await client.chat("What happens?", ["VI1"])  # type: ignore[arg-type]

    with pytest.raises(MaviValidationError, match="look swapped"):
        asyncio.run(ask())


def test_swapped_ask_many_arguments_are_named() -> None:
    with MaviClient("sk-test", base_url="http://127.0.0.1:9") as client:
        with pytest.raises(MaviValidationError, match=r"ask_many\(questions, video_nos\)"):
            client.ask_many(["VI1", "VI2"], "What happens?")


@pytest.mark.parametrize("api_version", ["v1.0", "v1.2"])
def test_the_emulators_key_without_its_base_url_says_to_set_mavi_base_url(
    api_version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`export MAVI_API_KEY=sk-mavi-emulator` without MAVI_BASE_URL sent the emulator's key to
    MAVI's service, whose 401 said to copy the key again from the console."""
    monkeypatch.delenv("MAVI_BASE_URL", raising=False)
    monkeypatch.setenv("MAVI_API_KEY", "sk-mavi-emulator")
    for build in (
        lambda: MaviClient(api_version=api_version),
        lambda: AsyncMaviClient(api_version=api_version),
        lambda: MaviClient("sk-mavi-emulator", base_url="https://api.memories.ai/"),
    ):
        with pytest.raises(MaviValidationError, match="MAVI_BASE_URL") as caught:
            build()
        assert "local emulator's key" in str(caught.value)
        assert "sk-mavi-emulator" not in str(caught.value)
    # The emulator elsewhere (a container, another port) and a real key are left alone.
    with pytest.warns(UserWarning, match="plain http"):
        MaviClient(base_url="http://mavi-emulator:8808").close()
    MaviClient(base_url="http://127.0.0.1:9000").close()
    MaviClient("sk-real-key").close()


def test_the_client_knows_the_emulators_key() -> None:
    from mavi_core._settings import EMULATOR_API_KEY
    from mavi_core.emulator._auth import DEFAULT_API_KEY

    assert EMULATOR_API_KEY == DEFAULT_API_KEY
