"""The retry decision and the backoff schedule, without sleeping."""

from __future__ import annotations

import pytest

from mavi_core import (
    MaviAuthenticationError,
    MaviConnectionError,
    MaviError,
    MaviInvalidRequestError,
    MaviRateLimitError,
    MaviServerError,
    MaviStreamError,
    MaviTimeoutError,
)
from mavi_core._retry import REFRESH, RetryState, is_retryable


def backoffs(count: int, jitter: float) -> list[float | str | None]:
    """The waits of `count` retries in a row of a 503, `jitter` the random draw."""
    state = RetryState(max_retries=count, random=lambda: jitter)
    return [state.next_action(MaviServerError("x", status_code=503)) for _ in range(count)]


def test_backoff_doubles_from_half_a_second_to_eight() -> None:
    assert backoffs(7, jitter=0.0) == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_jitter_shortens_by_at_most_a_quarter() -> None:
    assert backoffs(1, jitter=0.999)[0] == pytest.approx(0.375, rel=1e-2)
    assert backoffs(4, jitter=0.5)[3] == pytest.approx(3.5)


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (MaviConnectionError("x"), True),
        (MaviTimeoutError("x"), True),
        (MaviTimeoutError("x", status_code=408), True),
        (MaviRateLimitError("x", code="0429"), True),
        (MaviRateLimitError("x", status_code=429), True),
        (MaviServerError("x", status_code=500), True),
        (MaviServerError("x", status_code=503), True),
        (MaviServerError("x", code="1234", status_code=200), False),
        (MaviServerError("malformed"), False),
        (MaviInvalidRequestError("x", code="0001"), False),
        (MaviAuthenticationError("x", code="0401"), False),
        (MaviStreamError("x"), False),
    ],
)
def test_what_is_retried(error: MaviError, retryable: bool) -> None:
    assert is_retryable(error) is retryable


def test_gives_up_after_max_retries() -> None:
    state = RetryState(max_retries=2, random=lambda: 0.0)
    error = MaviServerError("x", status_code=503)
    assert [state.next_action(error) for _ in range(3)] == [0.5, 1.0, None]


def test_zero_retries_never_retries() -> None:
    assert RetryState(max_retries=0).next_action(MaviConnectionError("x")) is None


def test_retry_after_is_honoured() -> None:
    state = RetryState(max_retries=2, random=lambda: 0.0)
    assert state.next_action(MaviRateLimitError("x", retry_after=3.0)) == 3.0


def test_retry_after_over_a_minute_is_not_slept() -> None:
    state = RetryState(max_retries=2)
    assert state.next_action(MaviRateLimitError("x", retry_after=61.0)) is None


def test_authentication_error_refreshes_once_when_possible() -> None:
    state = RetryState(max_retries=2, can_refresh=True)
    error = MaviAuthenticationError("x", code="0401")
    assert state.next_action(error) is REFRESH
    assert state.next_action(error) is None


def test_authentication_error_without_refresh_token_is_final() -> None:
    assert RetryState(max_retries=2).next_action(MaviAuthenticationError("x")) is None
