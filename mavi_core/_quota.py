"""The per-account quota: every request waits for its turn in a budget shared by every client.

A `RateLimit` holds the budgets of `_budgets` in one of the stores of `_stores` (memory, SQLite,
Redis), and remembers a pause the service asked for (`Retry-After` on a 0429 that arrived
anyway) in the same store, so every process sharing the budget slows down, not only the one
that was refused.

`_flow` yields an `Acquire` effect before each attempt; the drivers call `acquire` (blocking)
or `aacquire` (awaiting). Waiting is logged and reported to `on_wait`, and to the watcher of the
thread or task that waits (`_watch.watching_waits`), which the adapters use to show waits to
their frameworks' observers.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar
from urllib.parse import urlsplit

from ._budgets import (
    DEFAULT_BUDGETS,
    Budget,
    BudgetSpec,
    RateLimitWait,
    account_of,
    endpoint_of,
    is_number,
    key_account,
    parse_budgets,
    token_account,
)
from ._constants import WAIT_WARNING
from ._envelope import wait_text
from ._exceptions import MaviError, MaviRateLimitError, MaviValidationError
from ._options import strict_options
from ._secret import given, redact_url_secrets
from ._stores import check_backend, open_store, store_error
from ._watch import current_watcher

if TYPE_CHECKING:
    from pyrate_limiter import AbstractBucket

__all__ = [
    "DEFAULT_BUDGETS",
    "Budget",
    "BudgetSpec",
    "RateLimit",
    "RateLimitOption",
    "RateLimitWait",
    "account_of",
    "check_rate_limit",
    "endpoint_of",
    "key_account",
    "resolve_rate_limit",
    "shared_rate_limit",
    "token_account",
]

logger = logging.getLogger("mavi_core")
_T = TypeVar("_T")

_SERVICE_HOSTS: Final = ("memories.ai", "openinterx.com")
"""The hosts whose limits the default protects against (see `resolve_rate_limit`)."""


PREPAID_FOR: Final = 10.0
"""Seconds a turn taken ahead (`prepay=True`) stays good for the request that follows."""

_prepaid: ContextVar[tuple[int, str, float] | None] = ContextVar("mavi_prepaid_turn", default=None)
"""A turn taken ahead in this context by a framework's limiter (LangChain's `rate_limiter`
acquires before the model sends): (limit, endpoint, when). The next request uses it instead of
taking a second turn, so a call is counted once."""


class _Slot:
    """One key's budget at one endpoint: a pyrate-limiter bucket, used by one thread at a time
    (a bucket reports the wait of its last refusal)."""

    def __init__(self, bucket: AbstractBucket, budgets: tuple[Budget, ...], margin: float) -> None:
        self.bucket = bucket
        self.budgets = budgets
        self.lock = threading.Lock()
        self.puts = 0
        self.fresh_for = margin / 2 if margin > 0 else math.inf
        """A turn handed back later than this after its stamp is taken again (see `_try`)."""


@strict_options
class RateLimit:
    """The per-key budgets of MAVI's endpoints, shared by every client that holds this object
    (and, with `sqlite:` or `redis:`, by every process that names the same store).

    >>> limit = RateLimit("redis://127.0.0.1:6379/0")                 # doctest: +SKIP
    >>> MaviClient(rate_limit=limit); ChatMavi(rate_limit=limit)       # doctest: +SKIP

    `budgets` overrides the documented ones per endpoint (`chat`, `upload`, `moments`, `search`,
    `list`, `transcription`; for the v1.2 video endpoints `upload_v12`, `search_v12`,
    `list_v12`, `sessions_v12`, `delete_v12`, `transcription_v12`): calls a minute,
    `Budget(calls, per_seconds)`, a list of budgets that must all hold, or None for no limit.
    `margin` (default 2 % of each window, 0.05 s to 1 s) lengthens every window a little, so
    that requests admitted at a window's edge still reach the service inside the next one.
    `on_wait` is called with a `RateLimitWait` whenever a call has to wait. `time_scale`
    multiplies every window: `time_scale=1/60` turns "10 a minute" into "10 a second", to match
    an emulator started with `rate_window=1`. `account`: MAVI counts per account, and every
    key of an account draws on one budget; name the account (any label) and every key used
    through this limiter shares it (default None: one budget per key). `timeout`: the longest
    one step of the store (a connect, a lock, a read) may take, building the limiter included;
    a call's deadline shortens it.
    """

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
        store = check_backend(backend)
        if account is not None and (not isinstance(account, str) or not account.strip()):
            raise MaviValidationError(
                f"account must be a non-empty name for the account (any label), got "
                f"{given(account)}: keys given the same account share its budgets."
            )
        if not is_number(timeout) or not 0 < timeout < math.inf:
            raise MaviValidationError(
                f"timeout must be positive seconds (a store step's longest), got {given(timeout)}."
            )
        if not is_number(time_scale) or not 0 < time_scale < math.inf:
            raise MaviValidationError(
                f"time_scale must be a finite positive number, got {given(time_scale)}."
            )
        if margin is not None and (not is_number(margin) or not 0 <= margin < math.inf):
            raise MaviValidationError(
                f"margin must be seconds (a finite number >= 0) or None, got {given(margin)}."
            )
        if on_wait is not None and not callable(on_wait):
            raise MaviValidationError(
                f"on_wait must be a function taking a RateLimitWait, got {given(on_wait)}."
            )
        self.budgets = {
            endpoint: tuple(Budget(budget.calls, budget.per * time_scale) for budget in spec)
            for endpoint, spec in parse_budgets(budgets).items()
        }
        self.margin = margin
        self.on_wait = on_wait
        self.account = account
        self._store = open_store(store, backend, float(timeout))
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        """The store's URL, its password masked."""
        return redact_url_secrets(self._store.url, self._store.url)

    def __repr__(self) -> str:
        return f"RateLimit({self.backend!r})"

    # -- what a driver calls -------------------------------------------------------------------

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
        """Wait (blocking) until `endpoint` has room, take a turn, return the seconds waited.

        `pause`: the service asked to wait this long (a 0429's `Retry-After`): every holder of
        the budget waits that long first. Raises `MaviRateLimitError` if the turn would come
        after `timeout` seconds. `prepay`: the turn is for the next request of this thread or
        task (a framework's limiter acquires before the request is made); that request then
        takes no second one."""
        if pause > 0:
            self.pause(endpoint, pause, account=account, timeout=timeout)
        elif not prepay and self._use_prepaid(endpoint):
            return 0.0
        waiting = _Waiting(endpoint, timeout, warned=pause > 0)
        while (turn := self._try(endpoint, account, waiting.left()))[0] > 0:
            told = self._before_sleep(waiting, *turn)
            if isinstance(told, CoroutineType):
                told.close()  # an async watcher under a blocking wait: nobody to await it
            waiting.waited += turn[0]
            sleep(turn[0])
        self._prepay(endpoint, prepay)
        return waiting.waited

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

        sleep = sleep or asyncio.sleep
        if pause > 0:
            await self._call(self.pause, endpoint, pause, account=account, timeout=timeout)
        elif not prepay and self._use_prepaid(endpoint):
            return 0.0
        waiting = _Waiting(endpoint, timeout, warned=pause > 0)
        while (turn := await self._call(self._try, endpoint, account, waiting.left()))[0] > 0:
            told = self._before_sleep(waiting, *turn)
            if isinstance(told, Awaitable):
                await told
            waiting.waited += turn[0]
            await sleep(turn[0])
        self._prepay(endpoint, prepay)
        return waiting.waited

    def try_acquire(self, endpoint: str, *, account: str = "", prepay: bool = False) -> float:
        """Take a turn now and return 0.0, or return the seconds until one may be free."""
        wait = self._try(endpoint, account)[0]
        if wait == 0.0:
            self._prepay(endpoint, prepay)
        return wait

    def _try(self, endpoint: str, account: str, timeout: float | None = None) -> tuple[float, str]:
        """(0.0, "") with a turn taken, or the seconds until one may be free and why: "budget"
        (the endpoint's budget is spent) or "paused" (the service asked to wait). The store is
        given `timeout` seconds (capped) for each step: a silent or locked store fails in time.

        A turn is counted at its stamp, the request reaches the service later; the windows'
        margin covers that spread. A turn handed back later than half the margin after its
        stamp (this thread was held up) would use up the margin on its own: it stays counted,
        and one more is taken, so that the request goes out close to its turn."""
        name = self._name(endpoint, account)
        with self._reaching_store(), self._store.bounded(timeout):
            slot = self._slot(endpoint, account)
            if slot is None:  # no budget, but the service's pause still holds
                paused = self._store.paused_until(name) - self._store.now_ms()
                return (paused / 1000, "paused") if paused > 0 else (0.0, "")
            wait, reason, late = self._take(slot, name)
            if late > slot.fresh_for:
                logger.debug("MAVI rate limit: a turn handed back %.3f s late; one more", late)
                wait, reason, _ = self._take(slot, name)
        return wait, reason

    def _take(self, slot: _Slot, name: str) -> tuple[float, str, float]:
        """`_try`'s one attempt, and the seconds from a turn's stamp to its being taken."""
        from pyrate_limiter import RateItem

        with slot.lock:
            with self._store.turn(name) as now:
                stamped = time.monotonic()
                paused = self._store.paused_until(name) - now
                if paused > 0:
                    return paused / 1000, "paused", 0.0
                item = RateItem(name, now)
                if not slot.bucket.put(item):
                    wait = slot.bucket.waiting(item)
                    assert isinstance(wait, int)
                    return max(wait, 1) / 1000, "budget", 0.0
                slot.puts += 1
                if slot.puts % 256 == 0:  # drop counts older than every window
                    slot.bucket.leak(now)
            return 0.0, "", time.monotonic() - stamped

    def pause(
        self, endpoint: str, seconds: float, *, account: str = "", timeout: float | None = None
    ) -> None:
        """Hold every turn at `endpoint` for `seconds` (the service said to wait); the store
        is given at most `timeout` seconds."""
        if not is_number(seconds):
            raise MaviValidationError(f"pause takes seconds as a number, got {given(seconds)}.")
        if not math.isfinite(seconds) or seconds <= 0:
            return
        with self._reaching_store(), self._store.bounded(timeout):
            logger.debug(
                "MAVI rate limit: pausing %s for %.2f s (the service asked)", endpoint, seconds
            )
            name = self._name(endpoint, account)
            self._store.pause(name, self._store.now_ms() + math.ceil(seconds * 1000))

    def close(self) -> None:
        self._store.close()

    # -- internals -------------------------------------------------------------------------------

    @contextmanager
    def _reaching_store(self) -> Iterator[None]:
        """A store that cannot be reached (Redis down, a locked or unwritable SQLite file) is
        a `MaviConnectionError` that names it, its credentials masked."""
        try:
            yield
        except MaviError:
            raise
        except Exception as exc:
            raise store_error(exc, self._store.url, "used") from exc

    def _prepay(self, endpoint: str, prepay: bool) -> None:
        if prepay:
            _prepaid.set((id(self), endpoint, time.monotonic()))

    def _use_prepaid(self, endpoint: str) -> bool:
        turn = _prepaid.get()
        if turn is None or turn[:2] != (id(self), endpoint):
            return False
        _prepaid.set(None)
        return time.monotonic() - turn[2] < PREPAID_FOR

    async def _call(self, function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        if not self._store.shared:
            return function(*args, **kwargs)
        import asyncio

        return await asyncio.to_thread(function, *args, **kwargs)

    def _before_sleep(self, waiting: _Waiting, wait: float, reason: str) -> object:
        """Check the deadline, then report the wait: the log, `on_wait`, and the watcher (what
        the watcher returns is returned)."""
        endpoint = waiting.endpoint
        left = waiting.left()
        if left is not None and wait > left:
            raise MaviRateLimitError(
                f"The {endpoint} budget of this account ({self._describe(endpoint)}) has no "
                f"turn free for {wait_text(wait)}, beyond the call's deadline. Try again later, "
                "or raise the client's `deadline`.",
                retry_after=wait,
            )
        if wait > WAIT_WARNING and not waiting.warned:
            waiting.warned = True
            logger.warning("MAVI rate limit: %s", self._wait_words(endpoint, wait, reason))
        else:
            logger.debug(
                "MAVI rate limit: waiting %.2f s for a turn at %s (%s)", wait, endpoint, reason
            )
        event = RateLimitWait(endpoint, wait, reason)
        if self.on_wait is not None:
            self.on_wait(event)
        watcher = current_watcher.get()
        return None if watcher is None else watcher(event)

    def _wait_words(self, endpoint: str, wait: float, reason: str) -> str:
        """What a long wait is for, how long, and how to change it."""
        if reason == "paused":
            why = "the service refused a call (0429) and asked every holder of the budget to wait"
        else:
            why = f"this account's budget ({self._describe(endpoint)}) is spent"
        return (
            f"waiting {wait_text(wait)} for a turn at {endpoint}: {why}. To change it: "
            f"RateLimit(budgets={{{endpoint!r}: ...}}) if your account allows more, a shorter "
            "`deadline` to fail instead of waiting, or rate_limit=None against a server that "
            "does not limit (e.g. the emulator started with --rate-limit off)."
        )

    def _describe(self, endpoint: str) -> str:
        budgets = ", ".join(str(budget) for budget in self.budgets.get(endpoint, ()))
        return budgets or "no budget, paused at the service's request"

    def _name(self, endpoint: str, account: str) -> str:
        """The budget's name in the store: the account's (every key of it), else the key's."""
        return f"account-{self.account}:{endpoint}" if self.account else f"{account}:{endpoint}"

    def _slot(self, endpoint: str, account: str) -> _Slot | None:
        name = self._name(endpoint, account)
        slot = self._slots.get(name)
        if slot is not None:
            return slot
        budgets = self.budgets.get(endpoint, ())
        if not budgets:
            return None
        from pyrate_limiter import Rate

        rates = [Rate(budget.calls, self._window_ms(budget)) for budget in budgets]
        with self._lock:
            slot = self._slots.get(name)
            if slot is None:
                margin = min(self._margin(budget) for budget in budgets)
                slot = _Slot(self._store.bucket(name, rates), budgets, margin)
                self._slots[name] = slot
        return slot

    def _margin(self, budget: Budget) -> float:
        return min(1.0, max(0.05, budget.per * 0.02)) if self.margin is None else self.margin

    def _window_ms(self, budget: Budget) -> int:
        return math.ceil((budget.per + self._margin(budget)) * 1000)


class _Waiting:
    """One call's wait for a turn: what is left of its `timeout`, what it waited, and whether
    it warned of a long wait (once a call)."""

    __slots__ = ("endpoint", "ends", "waited", "warned")

    def __init__(self, endpoint: str, timeout: float | None, *, warned: bool) -> None:
        self.endpoint = endpoint
        self.ends = None if timeout is None else time.monotonic() + timeout
        self.waited = 0.0
        self.warned = warned

    def left(self) -> float | None:
        return None if self.ends is None else max(self.ends - time.monotonic(), 0.0)


RateLimitOption: TypeAlias = "RateLimit | str | None"
"""A client's `rate_limit=`: a `RateLimit`, a backend URL, "auto" (the default), or None (off)."""

AUTO: Final = "auto"
_shared: dict[str, RateLimit] = {}
_shared_lock = threading.Lock()


def shared_rate_limit(backend: str = "memory://") -> RateLimit:
    """The process's one `RateLimit` for `backend` with the documented budgets: what clients
    given a URL (or the default) share, so that all of them draw on one budget."""
    with _shared_lock:
        limit = _shared.get(backend)
        if limit is None:
            limit = _shared[backend] = RateLimit(backend)
        return limit


def _is_service_host(base_url: str) -> bool:
    host = (urlsplit(base_url).hostname or "").lower()
    return any(host == name or host.endswith("." + name) for name in _SERVICE_HOSTS)


def resolve_rate_limit(option: RateLimitOption, base_url: str) -> RateLimit | None:
    """What a client's `rate_limit=` means: "auto" is the in-process limiter with the documented
    budgets when `base_url` is MAVI's own service, and no limiter for any other host (the
    emulator, a test server), whose limits are not MAVI's."""
    limit = check_rate_limit(option)
    if limit == AUTO:
        return shared_rate_limit() if _is_service_host(base_url) else None
    return limit  # type: ignore[return-value]


def check_rate_limit(option: object) -> RateLimit | str | None:
    """`rate_limit=` as far as it is known without the client's `base_url`: a backend URL is
    the process's `RateLimit` for it (its store opened, so an unusable one fails here, when
    the client or component is built); "auto" stays "auto". Raises `MaviValidationError` for
    anything else."""
    if option is None or isinstance(option, RateLimit) or option == AUTO:
        return option
    if isinstance(option, str):
        return shared_rate_limit(option)
    raise MaviValidationError(
        "rate_limit must be a RateLimit, a backend URL ('memory://', 'sqlite:///file.db', "
        f"'redis://host:6379/0'), 'auto' or None; got {given(option)}."
    )
