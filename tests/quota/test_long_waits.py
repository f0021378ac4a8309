"""A wait longer than 5 s is never silent: one WARNING on the `mavi_core` logger says what is
waited for, how long, the service's words when it sent any, and how to change it; the events the
frameworks see are unchanged (docs/ARCHITECTURE.md, "Rate limits")."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from mavi_core import Budget, MaviClient, MaviRateLimitError, RateLimit, RateLimitWait
from mavi_core.emulator import MaviEmulator

HARBOR = "VI634021587219364352"


class _Stop(Exception):
    """Ends a wait that would otherwise go on: the test has seen what it needs."""


def _sleeps_then_stops(times: int) -> tuple[list[float], object]:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) >= times:
            raise _Stop

    return slept, sleep


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.fixture
def emu() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limits={"chat": 1}) as emulator:  # 1 a minute: the second waits 60 s
        yield emulator


def test_a_long_wait_for_a_budget_is_one_warning_saying_how_to_change_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[RateLimitWait] = []
    limit = RateLimit(budgets={"chat": Budget(1, 30.0)}, on_wait=events.append)
    limit.acquire("chat", account="a")
    _, sleep = _sleeps_then_stops(3)
    with caplog.at_level(logging.DEBUG, logger="mavi_core"), pytest.raises(_Stop):
        limit.acquire("chat", account="a", sleep=sleep)  # type: ignore[arg-type]
    warnings = _warnings(caplog)
    assert len(warnings) == 1, warnings  # three sleeps, one warning
    assert "for a turn at chat" in warnings[0] and "1 per 30 s" in warnings[0]
    assert "RateLimit(budgets=" in warnings[0] and "deadline" in warnings[0]
    assert [event.reason for event in events] == ["budget"] * 3  # the events as before


def test_a_short_wait_stays_at_debug_level(caplog: pytest.LogCaptureFixture) -> None:
    limit = RateLimit(budgets={"chat": Budget(1, 2.0)})
    limit.acquire("chat", account="a")
    _, sleep = _sleeps_then_stops(1)
    with caplog.at_level(logging.DEBUG, logger="mavi_core"), pytest.raises(_Stop):
        limit.acquire("chat", account="a", sleep=sleep)  # type: ignore[arg-type]
    assert _warnings(caplog) == []
    assert "waiting" in caplog.text


def test_a_retry_after_of_a_minute_is_one_warning_with_the_service_words(
    emu: MaviEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    client = MaviClient(emu.api_key, base_url=emu.base_url, max_retries=1, rate_limit=None)
    slept: list[float] = []
    client._sleep = slept.append  # type: ignore[method-assign]
    client.chat([HARBOR], "What happens?")
    with caplog.at_level(logging.INFO, logger="mavi_core"), pytest.raises(MaviRateLimitError):
        client.chat([HARBOR], "What happens?")
    assert len(slept) == 1 and slept[0] >= 55
    warnings = _warnings(caplog)
    assert len(warnings) == 1, warnings
    assert "waiting 6" in warnings[0] and "as the service asked" in warnings[0]
    assert "--rate-limit off" in warnings[0]  # the emulator's own advice, quoted
    assert "max_retries=0" in warnings[0]
    assert emu.api_key not in caplog.text


def test_a_pause_after_0429_is_one_warning_not_two(
    emu: MaviEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[RateLimitWait] = []
    limit = RateLimit(budgets={"chat": 100}, on_wait=events.append)  # room: only the pause waits
    client = MaviClient(emu.api_key, base_url=emu.base_url, max_retries=1, rate_limit=limit)
    _, sleep = _sleeps_then_stops(2)
    client._sleep = sleep  # type: ignore[method-assign]
    client.chat([HARBOR], "What happens?")
    with caplog.at_level(logging.INFO, logger="mavi_core"), pytest.raises(_Stop):
        client.chat([HARBOR], "What happens?")
    warnings = _warnings(caplog)
    assert len(warnings) == 1, warnings
    assert "--rate-limit off" in warnings[0]
    assert [event.reason for event in events] == ["paused", "paused"]
