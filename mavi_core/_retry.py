"""When to try again, and how long to wait first: pure, no I/O, no sleeping."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from ._constants import MAX_RETRY_AFTER
from ._exceptions import (
    MaviAuthenticationError,
    MaviConnectionError,
    MaviError,
    MaviRateLimitError,
    MaviServerError,
    MaviStreamError,
)

REFRESH: Final = "refresh"
"""Refresh the access token, then send the request again."""
INITIAL_RETRY_DELAY: Final = 0.5
MAX_RETRY_DELAY: Final = 8.0


def is_retryable(error: MaviError) -> bool:
    """Connection errors, timeouts, HTTP 408/429/5xx and envelope 0429 are worth another try."""
    return not isinstance(error, MaviStreamError) and (
        isinstance(error, MaviConnectionError | MaviRateLimitError)
        or (isinstance(error, MaviServerError) and (error.status_code or 0) >= 500)
    )


def may_retry(error: MaviError) -> bool:
    """Retryable, or an auth error (the token may be refreshed and the call repeated)."""
    return is_retryable(error) or isinstance(error, MaviAuthenticationError)


@dataclass
class RetryState:
    """One call's retries: `next_action(error)` answers seconds to wait, `REFRESH` or None."""

    max_retries: int
    can_refresh: bool = False
    random: Callable[[], float] = field(default=random.random, repr=False)
    retries: int = 0
    refreshed: bool = False
    refused_wait: bool = False
    """The last error asked for a wait longer than `MAX_RETRY_AFTER`: not slept, not retried."""

    def next_action(self, error: MaviError) -> float | str | None:
        if isinstance(error, MaviAuthenticationError):
            if self.can_refresh and not self.refreshed:
                self.refreshed = True
                return REFRESH
            return None
        if self.retries >= self.max_retries or not is_retryable(error):
            return None
        retry_after = error.retry_after
        if retry_after is not None and retry_after > MAX_RETRY_AFTER:
            self.refused_wait = True  # the error must say so: see `_envelope.unwaited`
            return None
        # 0.5 s doubling to 8 s, shortened by up to 25 %: the least a retry waits (a wait of 0
        # would retry at once).
        backoff = min(INITIAL_RETRY_DELAY * 2.0**self.retries, MAX_RETRY_DELAY)
        self.retries += 1
        return max(retry_after or 0.0, backoff * (1.0 - 0.25 * self.random()))
