"""The Redis store against a real redis-server on loopback: the count stays exact when callers
race and when their machines' clocks differ, a store that cannot be reached is a clear error,
and the store's password never shows (docs/rate-limits-and-bulk.md)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

import mavi_core._quota as quota
from mavi_core import Budget, MaviConnectionError, RateLimit
from mavi_core._secret import MASK


@pytest.fixture
def account() -> str:
    return uuid.uuid4().hex  # a fresh budget in the shared server for each test


@pytest.fixture
def limits(redis_url: str) -> Iterator[list[RateLimit]]:
    # Separate RateLimit objects: separate connections, as separate processes would have.
    made = [RateLimit(redis_url, budgets={"chat": Budget(20, 60.0)}) for _ in range(3)]
    yield made
    for limit in made:
        limit.close()


def test_racing_callers_never_take_more_turns_than_the_budget(
    limits: list[RateLimit], account: str
) -> None:
    admitted: list[int] = []
    start = threading.Barrier(12)

    def race(limit: RateLimit) -> None:
        start.wait()
        admitted.append(sum(limit.try_acquire("chat", account=account) == 0 for _ in range(10)))

    threads = [threading.Thread(target=race, args=(limit,)) for limit in limits for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(admitted) == 12
    assert sum(admitted) == 20


def test_a_machine_whose_clock_is_behind_still_sees_the_turns_others_took(
    limits: list[RateLimit], account: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ahead, behind = limits[0], limits[1]
    for _ in range(20):
        assert ahead.try_acquire("chat", account=account) == 0
    real = time.time_ns
    monkeypatch.setattr(quota.time, "time_ns", lambda: real() - 10_000_000_000)  # 10 s slow
    wait = behind.try_acquire("chat", account=account)
    assert 55 < wait <= 61.3  # a whole window from the first turn, by the server's clock


def test_a_store_that_cannot_be_reached_is_a_connection_error_naming_it() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once this block ends: nothing listens there
    limit = RateLimit(f"redis://:hunter2-password@127.0.0.1:{port}/0")
    with pytest.raises(MaviConnectionError) as caught:
        limit.acquire("chat", account="a")
    message = str(caught.value)
    assert f"redis://:{MASK}@127.0.0.1:{port}/0" in message
    assert "rate_limit='memory://'" in message
    assert "hunter2" not in message and "hunter2" not in repr(limit)
