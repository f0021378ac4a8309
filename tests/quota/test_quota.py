"""The per-key quota in `mavi_core`: defaults, waiting instead of failing, the service's pause,
the deadline, and callbacks (docs/rate-limits-and-bulk.md)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest

from mavi_core import (
    AsyncMaviClient,
    Budget,
    MaviClient,
    MaviRateLimitError,
    MaviValidationError,
    RateLimit,
    RateLimitWait,
)
from mavi_core._budgets import endpoint_of
from mavi_core._quota import resolve_rate_limit, shared_rate_limit
from mavi_core._watch import current_watcher, watching_waits
from mavi_core.emulator import MaviEmulator

HARBOR = "VI634021587219364352"


@pytest.fixture
def emu() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limit=None) as emulator:
        yield emulator


def test_the_default_protects_against_the_live_service_only() -> None:
    assert resolve_rate_limit("auto", "https://mavi-backend.memories.ai") is shared_rate_limit()
    assert resolve_rate_limit("auto", "https://api.memories.ai") is shared_rate_limit()
    assert resolve_rate_limit("auto", "http://127.0.0.1:8808") is None  # the emulator
    assert resolve_rate_limit(None, "https://mavi-backend.memories.ai") is None


def test_the_default_budgets_are_the_documented_ones() -> None:
    budgets = RateLimit().budgets
    assert budgets["chat"] == (Budget(10, 60.0), Budget(1500, 86400.0))
    assert budgets["upload"] == budgets["moments"] == (Budget(10, 60.0),)
    assert budgets["search"] == (Budget(20, 60.0),)
    assert budgets["list"] == (Budget(200, 60.0),)


def test_budgets_are_overridable_per_endpoint() -> None:
    budgets = RateLimit(budgets={"chat": 30, "list": None, "upload": Budget(1, 2.0)}).budgets
    assert budgets["chat"] == (Budget(30, 60.0),)
    assert budgets["list"] == ()
    assert budgets["upload"] == (Budget(1, 2.0),)
    assert RateLimit(time_scale=1 / 60).budgets["search"] == (Budget(20, 1.0),)


def test_a_wrong_backend_or_endpoint_says_what_is_accepted() -> None:
    with pytest.raises(MaviValidationError, match=r"memory://, sqlite:///"):
        RateLimit("postgres://x")
    with pytest.raises(MaviValidationError, match="chat"):
        RateLimit(budgets={"chats": 1})
    with pytest.raises(MaviValidationError) as caught:
        RateLimit("postgres://quota:hunter2-secret@db/0")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(
        MaviValidationError, match=r"redis://host:6379/0'\), 'auto' or None; got a dict"
    ):
        MaviClient("sk-x", rate_limit={"redis": "localhost"})  # type: ignore[arg-type]


def test_every_limited_endpoint_maps_to_a_budget() -> None:
    assert endpoint_of("/api/serve/video/chat") == "chat"
    assert endpoint_of("/api/serve/video/uploadUrl") == "upload"
    assert endpoint_of("/api/serve/video/searchDB") == "list"
    assert endpoint_of("/api/serve/video/delete") is None


def test_a_sync_call_waits_its_turn_and_callbacks_see_it(
    emu: MaviEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    waits: list[RateLimitWait] = []
    limit = RateLimit(budgets={"chat": Budget(2, 0.5)}, on_wait=waits.append)
    client = MaviClient(emu.api_key, base_url=emu.base_url, rate_limit=limit)
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG, logger="mavi_core"):
        for _ in range(3):
            client.chat([HARBOR], "What happens?")
    assert time.monotonic() - started >= 0.45
    assert waits and waits[0].endpoint == "chat" and waits[0].reason == "budget"
    assert "waiting" in caplog.text and "for a turn at chat" in caplog.text


async def test_concurrent_async_calls_wait_their_turn(emu: MaviEmulator) -> None:
    emu.rate_limits = {"chat": 3}
    emu.rate_window = 0.5
    limit = RateLimit(budgets={"chat": Budget(3, 0.5)}, margin=0.3)  # see worker.py
    client = AsyncMaviClient(emu.api_key, base_url=emu.base_url, max_retries=0, rate_limit=limit)
    started = time.monotonic()
    answers = await asyncio.gather(*(client.chat([HARBOR], "Hi?") for _ in range(7)))
    assert len(answers) == 7  # no retries: the emulator refused none
    assert time.monotonic() - started >= 1.0
    await client.aclose()


def test_without_a_limiter_the_same_burst_is_refused(emu: MaviEmulator) -> None:
    emu.rate_limits = {"chat": 2}
    emu.rate_window = 5.0
    client = MaviClient(emu.api_key, base_url=emu.base_url, max_retries=0, rate_limit=None)
    client.chat([HARBOR], "1")
    client.chat([HARBOR], "2")
    with pytest.raises(MaviRateLimitError):
        client.chat([HARBOR], "3")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_0429_that_still_arrives_pauses_the_budget_for_retry_after(
    emu: MaviEmulator, mode: str
) -> None:
    # Another client spent the key's budget: the service answers 0429 with Retry-After: 1.
    emu.faults.rate_limit_http(1)
    waits: list[RateLimitWait] = []
    limit = RateLimit(budgets={"chat": 100}, on_wait=waits.append)
    options = {"base_url": emu.base_url, "rate_limit": limit}
    started = time.monotonic()
    if mode == "sync":
        MaviClient(emu.api_key, **options).chat([HARBOR], "Hi?")
    else:
        asyncio.run(AsyncMaviClient(emu.api_key, **options).chat([HARBOR], "Hi?"))
    assert time.monotonic() - started >= 0.95
    assert [wait.reason for wait in waits] == ["paused"]
    assert limit.try_acquire("chat", account="someone else") == 0.0  # only this key paused


def test_a_turn_beyond_the_deadline_is_a_rate_limit_error(emu: MaviEmulator) -> None:
    limit = RateLimit(budgets={"chat": Budget(1, 30.0)})
    client = MaviClient(emu.api_key, base_url=emu.base_url, rate_limit=limit, deadline=1.0)
    client.chat([HARBOR], "1")
    with pytest.raises(MaviRateLimitError, match="deadline") as caught:
        client.chat([HARBOR], "2")
    assert caught.value.retry_after is not None and caught.value.retry_after > 25


def test_endpoints_without_a_budget_never_wait(emu: MaviEmulator) -> None:
    limit = RateLimit(budgets={"chat": Budget(1, 60.0), "search": None})
    client = MaviClient(emu.api_key, base_url=emu.base_url, rate_limit=limit, deadline=1.0)
    for _ in range(5):
        client.search_videos("harbor")


def test_the_watcher_of_the_waiting_thread_hears_each_wait_and_only_waits(
    emu: MaviEmulator,
) -> None:
    # How the adapters report waits to their frameworks (docs/rate-limits-and-bulk.md, "Waits").
    heard: list[RateLimitWait] = []
    limit = RateLimit(budgets={"chat": Budget(1, 0.3)})
    client = MaviClient(emu.api_key, base_url=emu.base_url, rate_limit=limit)
    with watching_waits(heard.append):
        client.chat([HARBOR], "1")
        assert heard == []
        client.chat([HARBOR], "2")
    client.chat([HARBOR], "3")  # outside the block: nobody is told
    assert [(wait.endpoint, wait.reason) for wait in heard] == [("chat", "budget")]
    assert current_watcher.get() is None


async def test_an_async_watcher_is_awaited_before_the_wait(emu: MaviEmulator) -> None:
    told: list[float] = []

    async def watcher(wait: RateLimitWait) -> None:
        await asyncio.sleep(0)
        told.append(time.monotonic())

    limit = RateLimit(budgets={"chat": Budget(1, 0.3)})
    client = AsyncMaviClient(emu.api_key, base_url=emu.base_url, rate_limit=limit)
    await client.chat([HARBOR], "1")
    with watching_waits(watcher):
        await client.chat([HARBOR], "2")
    finished = time.monotonic()
    assert len(told) == 1 and finished - told[0] >= 0.2  # told, then the wait
    await client.aclose()
