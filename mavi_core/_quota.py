"""The per-account quota: before each attempt (`_flow`'s `Acquire`) a request waits for its
turn in a budget of `_budgets` kept in a store of `_stores` (docs/rate-limits-and-bulk.md)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Final, TypeAlias, cast, overload
from urllib.parse import urlsplit

from ._budgets import Budget, BudgetSpec, RateLimitWait, check_number, parse_budgets
from ._constants import WAIT_WARNING
from ._envelope import wait_text
from ._exceptions import MaviRateLimitError, MaviValidationError
from ._options import strict_options
from ._secret import given, redact_url_secrets
from ._stores import open_store
from ._watch import current_watcher

if TYPE_CHECKING:
    from pyrate_limiter import AbstractBucket

logger = logging.getLogger("mavi_core")

PREPAID_FOR: Final = 10.0
"""Seconds a turn taken ahead (`prepay=True`) stays good for the request that follows."""

_prepaid: ContextVar[tuple[int, str, float] | None] = ContextVar("mavi_prepaid_turn", default=None)
"""A turn taken ahead in this context (limit, endpoint, when), used by the next request."""


@dataclass
class _Slot:
    """A budget's bucket, used by one thread at a time (it keeps the wait of its last refusal)."""

    bucket: AbstractBucket
    fresh_for: float  # a turn handed back later than this after its stamp is taken again
    lock: threading.Lock = field(default_factory=threading.Lock)
    puts: int = 0


@strict_options
class RateLimit:
    """MAVI's per-key budgets, shared by every client holding this object and, with `sqlite:` or
    `redis:`, every process naming the store (docs/rate-limits-and-bulk.md#the-budgets)."""

    def __init__(
        self,
        backend: str = "memory://",
        *,
        budgets: Mapping[str, BudgetSpec] | None = None,
        margin: float | None = None,
        on_wait: Callable[[RateLimitWait], Any] | None = None,
        time_scale: float = 1.0,
        account: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if account is not None and (not isinstance(account, str) or not account.strip()):
            raise MaviValidationError(
                f"account must be a non-empty name (any label), got {given(account)}."
            )
        check_number(timeout, "timeout")
        check_number(time_scale, "time_scale")
        if margin is not None:
            check_number(margin, "margin (seconds, or None)", zero=True)
        if on_wait is not None and not callable(on_wait):
            raise MaviValidationError(f"on_wait must be a function, got {given(on_wait)}.")
        self.budgets = {
            endpoint: tuple(Budget(budget.calls, budget.per * time_scale) for budget in spec)
            for endpoint, spec in parse_budgets(budgets).items()
        }
        self.margin = margin
        self.on_wait = on_wait
        self.account = account
        self._store = open_store(backend, float(timeout))
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        """The store's URL, its password masked."""
        return redact_url_secrets(self._store.url, self._store.url)

    def __repr__(self) -> str:
        return f"RateLimit({self.backend!r})"

    def acquire(
        self,
        endpoint: str,
        *,
        account: str = "",
        timeout: float | None = None,
        pause: float = 0.0,
        sleep: Callable[[float], Any] = time.sleep,
        prepay: bool = False,
    ) -> float:
        """Wait (blocking) for a turn at `endpoint` and take it; return the seconds waited.
        `pause`: a 0429's `Retry-After`, held first by every holder of the budget; `prepay`: the
        turn is for this thread's or task's next request, which takes no other."""
        steps, sent = self._steps(endpoint, account, timeout, pause, prepay), None
        while not isinstance(step := steps.send(sent), float):
            sent = step() if isinstance(step, partial) else sleep(step[1])
        return step

    async def aacquire(
        self,
        endpoint: str,
        *,
        account: str = "",
        timeout: float | None = None,
        pause: float = 0.0,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
        prepay: bool = False,
    ) -> float:
        """`acquire`, awaiting; a store on disk or over the network is asked from a thread."""
        import asyncio

        steps, sent = self._steps(endpoint, account, timeout, pause, prepay), None
        while not isinstance(step := steps.send(sent), float):
            if isinstance(step, partial):
                sent = await asyncio.to_thread(step) if self._store.shared else step()
                continue
            if isinstance(told := step[0], Awaitable):
                await told
            sent = await (sleep or asyncio.sleep)(step[1])
        return step

    def _steps(
        self, endpoint: str, account: str, timeout: float | None, pause: float, prepay: bool
    ) -> Generator[partial[Any] | tuple[object, float] | float, Any, None]:
        """`acquire`'s steps, which it and `aacquire` drive: each store call (its result is sent
        back), each wait (what the watcher returned, the seconds to sleep), last the seconds
        waited. A wait past the deadline raises; a long one is a warning, once a call."""
        if pause > 0:
            yield partial(self.pause, endpoint, pause, account=account, timeout=timeout)
        elif not prepay and (ahead := _prepaid.get()) and ahead[:2] == (id(self), endpoint):
            _prepaid.set(None)
            if time.monotonic() - ahead[2] < PREPAID_FOR:
                yield 0.0  # the turn taken ahead is this request's
                return
        ends = time.monotonic() + (math.inf if timeout is None else timeout)
        waited, warned = 0.0, pause > 0
        while (turn := (yield partial(self._try, endpoint, account, ends - time.monotonic())))[0]:
            wait, reason = turn
            budgets = ", ".join(map(str, self.budgets.get(endpoint, ()))) or "no budget, paused"
            if wait > ends - time.monotonic():
                raise MaviRateLimitError(
                    f"The {endpoint} budget of this account ({budgets}) has no turn free for "
                    f"{wait_text(wait)}, past the call's deadline: try later, or raise `deadline`.",
                    retry_after=wait,
                )
            warn = wait > WAIT_WARNING and not warned
            warned |= warn
            why = (
                "the service refused a call (0429) and asked all holders of the budget to wait"
                if reason == "paused"
                else f"this account's budget ({budgets}) is spent"
            )
            logger.log(
                logging.WARNING if warn else logging.DEBUG,
                f"MAVI rate limit: waiting {wait_text(wait)} for a turn at {endpoint}: {why}. "
                f"To change it: RateLimit(budgets={{{endpoint!r}: ...}}) if your account allows "
                "more, a shorter `deadline` to fail instead of waiting, or rate_limit=None against "
                "a server that does not limit (e.g. the emulator started with --rate-limit off).",
            )
            waited += wait
            event = RateLimitWait(endpoint, wait, reason)
            if self.on_wait is not None:
                self.on_wait(event)
            told = None if (watcher := current_watcher.get()) is None else watcher(event)
            try:
                yield told, wait
            finally:  # an async watcher's coroutine, unless the driver awaited it: nobody will
                if isinstance(told, CoroutineType):
                    told.close()
        self._prepay(endpoint, prepay)
        yield waited

    def try_acquire(self, endpoint: str, *, account: str = "", prepay: bool = False) -> float:
        """Take a turn now and return 0.0, or return the seconds until one may be free."""
        wait = self._try(endpoint, account)[0]
        self._prepay(endpoint, prepay and wait == 0.0)
        return wait

    def _try(self, endpoint: str, account: str, timeout: float | None = None) -> tuple[float, str]:
        """(0.0, "") with a turn taken, or the seconds until one may be free and why. A turn handed
        back over half the margin after its stamp stays counted and one more is taken."""
        from pyrate_limiter import RateItem

        name = self._name(endpoint, account)
        with self._store.bounded(timeout):
            slot = self._slot(endpoint, name)
            if slot is None:  # no budget, but the service's pause still holds
                paused = self._store.paused_until(name) - self._store.now_ms()
                return (paused / 1000, "paused") if paused > 0 else (0.0, "")
            for _ in range(2):
                with slot.lock, self._store.turn(name) as now:
                    stamped = time.monotonic()
                    if (paused := self._store.paused_until(name) - now) > 0:
                        return paused / 1000, "paused"
                    if not slot.bucket.put(item := RateItem(name, now)):
                        return max(cast(int, slot.bucket.waiting(item)), 1) / 1000, "budget"
                    slot.puts += 1
                    if slot.puts % 256 == 0:  # drop counts older than every window
                        slot.bucket.leak(now)
                if (late := time.monotonic() - stamped) <= slot.fresh_for:
                    break
                logger.debug("MAVI rate limit: a turn handed back %.3f s late; one more", late)
        return 0.0, ""

    def pause(
        self, endpoint: str, seconds: float, *, account: str = "", timeout: float | None = None
    ) -> None:
        """Hold every turn at `endpoint` for `seconds` (the service said to wait)."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise MaviValidationError(f"pause takes seconds as a number, got {given(seconds)}.")
        if not math.isfinite(seconds) or seconds <= 0:
            return
        logger.debug("MAVI rate limit: pausing %s for %.2f s", endpoint, seconds)
        with self._store.bounded(timeout):
            until = self._store.now_ms() + math.ceil(seconds * 1000)
            self._store.pause(self._name(endpoint, account), until)

    def close(self) -> None:
        self._store.close()

    def _prepay(self, endpoint: str, prepay: bool) -> None:
        if prepay:
            _prepaid.set((id(self), endpoint, time.monotonic()))

    def _name(self, endpoint: str, account: str) -> str:
        """The budget's name in the store: the account's (every key of it), else the key's."""
        return f"account-{self.account}:{endpoint}" if self.account else f"{account}:{endpoint}"

    def _slot(self, endpoint: str, name: str) -> _Slot | None:
        """`name`'s bucket, made at its first turn; None when `endpoint` has no budget."""
        budgets = self.budgets.get(endpoint, ())
        if not budgets or name in self._slots:
            return self._slots.get(name)
        from pyrate_limiter import Rate

        with self._lock:
            if name not in self._slots:
                # A margin on each window: a turn at a window's edge reaches the service later.
                margins = [
                    min(1.0, max(0.05, budget.per * 0.02)) if self.margin is None else self.margin
                    for budget in budgets
                ]
                rates = [
                    Rate(budget.calls, math.ceil((budget.per + margin) * 1000))
                    for budget, margin in zip(budgets, margins, strict=True)
                ]
                fresh_for = min(margins) / 2 if min(margins) > 0 else math.inf
                self._slots[name] = _Slot(self._store.bucket(name, rates), fresh_for)
        return self._slots[name]


RateLimitOption: TypeAlias = "RateLimit | str | None"
"""A client's `rate_limit=`: a `RateLimit`, a backend URL, "auto" (the default), or None (off)."""

AUTO: Final = "auto"
_shared: dict[str, RateLimit] = {}
_shared_lock = threading.Lock()


def shared_rate_limit(backend: str = "memory://") -> RateLimit:
    """The process's one `RateLimit` for `backend` with the documented budgets, shared by every
    client given that URL (or the default)."""
    with _shared_lock:
        return _shared.get(backend) or _shared.setdefault(backend, RateLimit(backend))


@overload
def resolve_rate_limit(option: object, base_url: str) -> RateLimit | None: ...
@overload
def resolve_rate_limit(option: object) -> RateLimit | str | None: ...
def resolve_rate_limit(option: object, base_url: str | None = None) -> RateLimit | str | None:
    """A client's or component's `rate_limit=`: a backend URL is the process's `RateLimit` for
    it (opened now, to fail when built); "auto" is the process's documented budgets for MAVI's
    own service and none for any other host (the emulator, a test server), whose limits differ,
    or stays "auto" without the `base_url` (a component's, known when its client is built)."""
    if option is None or isinstance(option, RateLimit):
        return option
    if not isinstance(option, str):
        raise MaviValidationError(
            "rate_limit must be a RateLimit, a backend URL ('memory://', 'sqlite:///file.db', "
            f"'redis://host:6379/0'), 'auto' or None; got {given(option)}."
        )
    if option != AUTO:
        return shared_rate_limit(option)
    if base_url is None:
        return AUTO
    host = "." + (urlsplit(base_url).hostname or "").lower()
    return shared_rate_limit() if host.endswith((".memories.ai", ".openinterx.com")) else None
