"""A client used after close() says so as a MaviError; one dropped without close() leaves no
socket open, and a process holding used clients in a reference cycle still exits (README:
closing is optional)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("langchain_core")

from langchain_mavi import ChatMavi
from mavi_core import AsyncMaviClient, MaviClient, MaviValidationError
from mavi_core.emulator import MaviEmulator

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture(scope="module")
def emu() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limit=None) as emulator:
        yield emulator


def test_a_closed_client_says_so_as_a_mavi_error(emu: MaviEmulator) -> None:
    """After close() (or its `with` block), chat() raised httpx's bare RuntimeError 'Cannot send
    a request, as the client has been closed', which `except MaviError` missed."""
    with MaviClient(emu.api_key, base_url=emu.base_url) as client:
        client.chat(emu.video_nos[:1], "What happens?")
    before = len(emu.requests)
    with pytest.raises(MaviValidationError, match="This MaviClient is closed"):
        client.chat(emu.video_nos[:1], "What happens?")
    with pytest.raises(MaviValidationError, match="This MaviClient is closed"):
        list(client.stream_chat(emu.video_nos[:1], "What happens?"))
    assert len(emu.requests) == before


async def test_a_closed_async_client_says_so_and_opens_no_new_pool(emu: MaviEmulator) -> None:
    """After aclose() (or its `async with` block) the async client opened a new connection pool
    on the next call and went on, unlike MaviClient: a pool nobody closes."""
    async with AsyncMaviClient(emu.api_key, base_url=emu.base_url) as client:
        await client.chat(emu.video_nos[:1], "What happens?")
    before = len(emu.requests)
    with pytest.raises(MaviValidationError, match="This AsyncMaviClient is closed"):
        await client.chat(emu.video_nos[:1], "What happens?")
    with pytest.raises(MaviValidationError, match="This AsyncMaviClient is closed"):
        async for _ in client.stream_chat(emu.video_nos[:1], "What happens?"):
            pass
    assert len(emu.requests) == before
    assert len(client._pools._pools) == 0
    await client.aclose()  # closing twice is fine


def test_a_client_dropped_without_close_leaves_no_open_socket() -> None:
    """A used MaviClient (or a ChatMavi) dropped without close() left its pooled connection
    open: a ResourceWarning 'unclosed socket' when collected, or at exit. openai's client
    closes itself when collected."""
    import gc
    import warnings

    def use_and_drop(emu: MaviEmulator) -> None:
        client = MaviClient(emu.api_key, base_url=emu.base_url)
        client.chat(emu.video_nos[:1], "What happens?")
        chat = ChatMavi(video_nos=emu.video_nos[:1], api_key=emu.api_key, base_url=emu.base_url)
        chat.invoke("What happens?")

    with MaviEmulator(rate_limit=None) as own:  # its port tells this test's sockets apart
        gc.collect()  # what earlier tests left behind is not this test's
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            use_and_drop(own)
            gc.collect()
        port = f", {own.base_url.rsplit(':', 1)[1]})"
    leaks = [str(w.message) for w in caught if w.category is ResourceWarning]
    assert [leak for leak in leaks if port in leak] == []


async def test_a_component_closed_with_aclose_makes_a_new_async_client_when_used_again(
    emu: MaviEmulator,
) -> None:
    """As after close(): a component's aclose() closes the async client it made, and the next
    call makes a new one (a closed AsyncMaviClient refuses requests)."""
    model = ChatMavi(api_key=emu.api_key, base_url=emu.base_url, video_nos=emu.video_nos[:1])
    first = await model.ainvoke("What happens?")
    await model.aclose()
    second = await model.ainvoke("What happens?")
    await model.aclose()
    assert first.content and second.content


def test_a_process_exits_with_used_clients_in_a_reference_cycle(emu: MaviEmulator) -> None:
    """Closing a dropped client from the collector must not hang the interpreter's last
    collection (a thread started then never runs): examples/demo.py hung at exit."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    script = textwrap.dedent(
        f"""
        from mavi_core import MaviClient

        class Holder:
            pass

        holder = Holder()
        holder.me = holder  # a cycle: only the collector frees it, at exit
        holder.client = MaviClient({emu.api_key!r}, base_url={emu.base_url!r})
        holder.client.chat({emu.video_nos[:1]!r}, "What happens?")
        del holder  # garbage, left to the collector's run at exit
        """
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(root), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


async def test_an_async_client_on_a_closed_http_client_says_so(emu: MaviEmulator) -> None:
    """An injected httpx.AsyncClient is its owner's: the client's aclose() leaves it open and
    usable; once its owner closes it, the call says so as a MaviError."""
    import httpx

    async with httpx.AsyncClient() as http:
        client = AsyncMaviClient(emu.api_key, base_url=emu.base_url, http_client=http)
        await client.aclose()
        assert (await client.chat(emu.video_nos[:1], "What happens?")).text
    with pytest.raises(MaviValidationError, match="The http_client given to this AsyncMaviClient"):
        await client.chat(emu.video_nos[:1], "What happens?")
