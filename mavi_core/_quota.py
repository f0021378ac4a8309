"""The per-key quota: every request waits for its turn in a budget shared by every client.

MAVI limits each key per endpoint (chat: 10 a minute and 1,500 a day; uploads and moment
searches 10, whole-video searches 20, listings 200 a minute). A `RateLimit` holds those budgets
in one of three stores, named by one URL:

    memory://                  this process (the default; no dependency)
    sqlite:///path/to/file.db  every process of this machine that names the same file
    redis://host:6379/0        every machine that reaches the same Redis

The counting is pyrate-limiter's (a sliding-window log per key and endpoint, with its in-memory,
SQLite and Redis buckets); this module only maps requests to budgets, waits, and remembers a
pause the service asked for (`Retry-After` on a 0429 that arrived anyway) in the same store, so
every process sharing the budget slows down, not only the one that was refused.

`_flow` yields an `Acquire` effect before each attempt; the drivers call `acquire` (blocking)
or `aacquire` (awaiting). Waiting is logged at debug level and reported to `on_wait`, and to
the watcher of the thread or task that waits (`_watch.watching_waits`), which the adapters use
to show waits to their frameworks' observers.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar
from urllib.parse import urlsplit

from ._envelope import wait_text
from ._exceptions import MaviConnectionError, MaviError, MaviRateLimitError, MaviValidationError
from ._extras import missing_extra
from ._options import strict_options
from ._secret import given, redact_url_secrets
from ._watch import current_watcher

if TYPE_CHECKING:
    from pyrate_limiter import AbstractBucket, Rate

    from ._settings import MaviSettings

__all__ = [
    "DEFAULT_BUDGETS",
    "Budget",
    "BudgetSpec",
    "RateLimit",
    "RateLimitOption",
    "RateLimitWait",
    "check_rate_limit",
    "endpoint_of",
    "resolve_rate_limit",
]

logger = logging.getLogger("mavi_core")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Budget:
    """At most `calls` requests in any `per` seconds."""

    calls: int
    per: float = 60.0

    def __post_init__(self) -> None:
        if isinstance(self.calls, bool) or not isinstance(self.calls, int) or self.calls < 1:
            raise MaviValidationError(f"Budget calls must be an int >= 1, got {self.calls!r}.")
        if not isinstance(self.per, int | float) or not self.per > 0:
            raise MaviValidationError(f"Budget per must be positive seconds, got {self.per!r}.")

    def __str__(self) -> str:
        return f"{self.calls} per {self.per:g} s"


BudgetSpec: TypeAlias = "int | Budget | Sequence[Budget] | None"
"""An endpoint's budget: calls a minute, one `Budget`, several (all must hold), or None (none)."""

DEFAULT_BUDGETS: Final[Mapping[str, tuple[Budget, ...]]] = {
    "chat": (Budget(10, 60.0), Budget(1500, 86400.0)),
    "upload": (Budget(10, 60.0),),
    "moments": (Budget(10, 60.0),),
    "search": (Budget(20, 60.0),),
    "list": (Budget(200, 60.0),),
    "transcription": (Budget(20, 60.0),),
    "chat_v12": (Budget(1, 1.0),),
    "upload_v12": (Budget(1, 1.0),),
    "search_v12": (Budget(10, 1.0),),
    "list_v12": (Budget(5, 1.0),),
    "sessions_v12": (Budget(5, 1.0),),
    "delete_v12": (Budget(5, 1.0),),
    "transcription_v12": (Budget(5, 1.0),),
    "vlm": (),
}
"""MAVI's documented per-key limits: the v1.0 API reference's a minute (and a day for chat);
the v1.2 endpoints' per second from the v1.2 rate-limit table (chat 1 QPS, upload from a file
or URL 1, search 10, list videos, list sessions, delete and each transcription 5). The
video-understanding completions ("vlm") follow each model provider's limits, which are not
published: no budget, but a 0429 still pauses every caller of the key for its wait."""

_ENDPOINTS: Final[Mapping[str, str]] = {
    "/api/serve/video/chat": "chat",
    "/serve/api/v1/chat": "chat_v12",
    "/serve/api/v1/chat_stream": "chat_v12",
    "/api/serve/video/upload": "upload",
    "/api/serve/video/uploadUrl": "upload",
    "/api/serve/video/searchVideoFragment": "moments",
    "/api/serve/video/searchAI": "search",
    "/api/serve/video/searchDB": "list",
    "/api/serve/video/subTranscription": "transcription",
    "/serve/api/v1/upload": "upload_v12",
    "/serve/api/v1/upload_url": "upload_v12",
    "/serve/api/v1/search": "search_v12",
    "/serve/api/v1/list_videos": "list_v12",
    "/serve/api/v1/list_sessions": "sessions_v12",
    "/serve/api/v1/delete_videos": "delete_v12",
    "/serve/api/v1/get_video_transcription": "transcription_v12",
    "/serve/api/v1/get_audio_transcription": "transcription_v12",
    "/serve/api/v2/vu/chat/completions": "vlm",
}

_SERVICE_HOSTS: Final = ("memories.ai", "openinterx.com")
"""The hosts whose limits the default protects against (see `resolve_rate_limit`)."""


def endpoint_of(path: str) -> str | None:
    """The budget a request path draws on; None for endpoints MAVI does not limit per minute."""
    return _ENDPOINTS.get(path)


@dataclass(frozen=True, slots=True)
class RateLimitWait:
    """What `on_wait` receives: a call waited `seconds` for its turn at `endpoint`."""

    endpoint: str
    seconds: float
    reason: str
    """"budget": the endpoint's budget was spent; "paused": the service asked to wait."""


PREPAID_FOR: Final = 10.0
"""Seconds a turn taken ahead (`prepay=True`) stays good for the request that follows."""

_prepaid: ContextVar[tuple[int, str, float] | None] = ContextVar("mavi_prepaid_turn", default=None)
"""A turn taken ahead in this context by a framework's limiter (LangChain's `rate_limiter`
acquires before the model sends): (limit, endpoint, when). The next request uses it instead of
taking a second turn, so a call is counted once."""


def _budgets(spec: Mapping[str, BudgetSpec] | None) -> dict[str, tuple[Budget, ...]]:
    budgets = dict(DEFAULT_BUDGETS)
    for endpoint, value in (spec or {}).items():
        if endpoint not in DEFAULT_BUDGETS:
            raise MaviValidationError(
                f"Unknown rate-limit endpoint {endpoint!r}; use one of {sorted(DEFAULT_BUDGETS)}."
            )
        if value is None:
            budgets[endpoint] = ()
        elif isinstance(value, Budget):
            budgets[endpoint] = (value,)
        elif isinstance(value, int) and not isinstance(value, bool):
            budgets[endpoint] = (Budget(value, 60.0),)
        elif isinstance(value, list | tuple) and all(isinstance(item, Budget) for item in value):
            budgets[endpoint] = tuple(value)
        else:
            raise MaviValidationError(
                f"budgets[{endpoint!r}] must be calls a minute (an int), a Budget, a list of "
                f"Budgets or None, got {given(value)}."
            )
    return budgets


def _check_backend(backend: object) -> type[_Store]:
    """The store a backend URL names; `MaviValidationError` (quoting at most the scheme, never
    the password) for anything its store could not use as written."""
    shapes = "memory://, sqlite:///path/to/file.db or redis://[:password@]host:port/db"
    if not isinstance(backend, str):
        raise MaviValidationError(f"rate_limit backend must be {shapes}, got {given(backend)}.")
    scheme, separator, _ = backend.partition("://")
    store = _STORES.get(scheme) if separator else None
    if store is None:
        if not separator or not scheme.replace("+", "").replace(".", "").isalnum():
            got = "a URL without a scheme (scheme://...)"
        elif scheme.lower() in _STORES:
            got = f"the scheme {scheme!r}: write it in lower case"
        else:
            got = f"the unknown scheme {scheme!r}"
        raise MaviValidationError(f"rate_limit backend must be {shapes}, got {got}.")
    if store is _RedisStore:
        authority, reserved, rest = _split_authority(backend.partition("://")[2])
        if "@" not in authority and "@" in rest:
            raise MaviValidationError(
                f"rate_limit backend {scheme}://... holds an '@' after a raw {reserved!r}: a "
                "password (or user name) holding '/', '?' or '#' must be percent-encoded "
                "(%2F, %3F, %23; an '@' elsewhere: %40), else the URL names another host."
            )
        try:
            urlsplit(backend).port  # noqa: B018 - raises for a port that is not a number
        except ValueError:
            raise MaviValidationError(
                f"rate_limit backend {scheme}://... has a port that is not a number 0-65535: "
                f"pass {shapes}."
            ) from None
    return store


def _split_authority(rest: str) -> tuple[str, str, str]:
    """`rest` (what follows `scheme://`) cut at its first `/`, `?` or `#`: before, the
    character, after."""
    cut = min((rest.find(char) for char in "/?#" if char in rest), default=len(rest))
    return rest[:cut], rest[cut : cut + 1], rest[cut + 1 :]


class _Store:
    """Where the counts and pauses live; one of three, named by the backend URL."""

    shared = True
    MIN_WAIT: Final = 1.0
    """A step's least time, however little of the call's time is left."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._bound = threading.local()

    @contextmanager
    def bounded(self, seconds: float | None) -> Iterator[None]:
        """Each step of the store in this block (in this thread) may take what is left of the
        call's time, `seconds` (None: the call has no deadline), within the store's cap."""
        previous = getattr(self._bound, "seconds", None)
        self._bound.seconds = seconds
        try:
            yield
        finally:
            self._bound.seconds = previous

    def step_timeout(self, cap: float) -> float:
        """The seconds a step may take now: what `bounded` gave, at least `MIN_WAIT`, at most
        `cap`."""
        seconds = getattr(self._bound, "seconds", None)
        return cap if seconds is None else min(cap, max(seconds, self.MIN_WAIT))

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000  # shared by processes: wall-clock time

    @contextmanager
    def turn(self, name: str) -> Iterator[int]:
        """Hold `name`'s turn-taking (check the pause, stamp, count) to this caller; give the
        time to stamp the turn with."""
        yield self.now_ms()

    def bucket(self, name: str, rates: list[Rate]) -> AbstractBucket:
        raise NotImplementedError

    def pause(self, name: str, until_ms: int) -> None:
        raise NotImplementedError

    def paused_until(self, name: str) -> int:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections."""


class _MemoryStore(_Store):
    shared = False

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._pauses: dict[str, int] = {}

    def now_ms(self) -> int:
        return time.monotonic_ns() // 1_000_000

    def bucket(self, name: str, rates: list[Rate]) -> AbstractBucket:
        from pyrate_limiter import InMemoryBucket

        return InMemoryBucket(rates)

    def pause(self, name: str, until_ms: int) -> None:
        self._pauses[name] = max(until_ms, self._pauses.get(name, 0))

    def paused_until(self, name: str) -> int:
        return self._pauses.get(name, 0)


class _SQLiteStore(_Store):
    """A SQLite file, for the processes of one machine. Every turn is taken under one file
    lock (`<file>.lock`), waited for at most what is left of the call's time (`LOCK_WAIT` at
    most): a process holding it too long is a `MaviConnectionError`, not a hung call."""

    LOCK_WAIT: Final = 30.0

    def __init__(self, url: str) -> None:
        super().__init__(url)
        import sqlite3

        from filelock import FileLock

        # sqlite:///abs/path.db (three slashes and the absolute path), or sqlite://relative.db
        self.path = url.removeprefix("sqlite://")
        if self.path.startswith("//"):
            self.path = self.path[1:]
        if not self.path.strip("/"):
            raise MaviValidationError(f"A sqlite rate limit names its file: {url!r}.")
        # One lock object for the store and its buckets: filelock refuses (as a deadlock) a second
        # object for the same file in one process, and this one is re-entrant.
        self._lock = FileLock(self.path + ".lock", timeout=self.LOCK_WAIT)
        with self._lock:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS mavi_pause (name TEXT PRIMARY KEY, until_ms INTEGER)"
            )
            self._db.commit()
        self._thread_lock = threading.Lock()

    def _locked(self) -> Any:
        return self._lock.acquire(timeout=self.step_timeout(self.LOCK_WAIT))

    @contextmanager
    def turn(self, name: str) -> Iterator[int]:
        with self._locked():
            yield self.now_ms()

    def bucket(self, name: str, rates: list[Rate]) -> AbstractBucket:
        from pyrate_limiter import SQLiteBucket

        table = "mavi_" + hashlib.sha256(name.encode()).hexdigest()[:24]
        with self._locked():  # what pyrate-limiter's use_file_lock=True does, with a timeout
            bucket = SQLiteBucket.init_from_file(rates, table=table, db_path=self.path)
            bucket.conn.execute("PRAGMA journal_mode=WAL;")
            bucket.conn.execute("PRAGMA synchronous=NORMAL;")
        bucket.lock = self._lock  # type: ignore[assignment]  # its steps run under turn()'s hold
        bucket.use_limiter_lock = True
        return bucket

    def pause(self, name: str, until_ms: int) -> None:
        with self._locked(), self._thread_lock:  # in turn()'s order: the file lock first
            self._db.execute(
                "INSERT INTO mavi_pause VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET "
                "until_ms = max(until_ms, excluded.until_ms)",
                (name, until_ms),
            )
            self._db.commit()

    def paused_until(self, name: str) -> int:
        with self._thread_lock:
            row = self._db.execute(
                "SELECT until_ms FROM mavi_pause WHERE name = ?", (name,)
            ).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._db.close()


class _RedisStore(_Store):
    """Redis, for every machine that reaches it. Two rules keep the count exact across
    processes and machines (see docs/rate-limits-and-bulk.md):

    - Turns are stamped with the Redis server's clock (`TIME`), not each machine's own, so
      that machines whose clocks differ still agree on which turns fall in a window.
    - A turn is stamped and counted under a short Redis lock per budget. pyrate-limiter's Redis
      bucket counts the turns stamped up to the new turn's own time; without the lock a turn
      stamped just before another's, but counted just after it, would not see it.
    """

    LOCK_SECONDS: Final = 5.0
    """How long a lock outlives a holder that died holding it."""
    LOCK_WAIT: Final = 30.0
    """How long a caller waits for the lock before reporting the store as unreachable."""
    SOCKET_TIMEOUT: Final = 10.0
    """The longest a connect or a read may take (less when the call has less time left)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        from redis import Redis  # noqa: F401 - a missing extra is reported here, when built

        self._clients: dict[float, Any] = {}
        self._clients_lock = threading.Lock()
        self._redis: Any = _TimedRedis(self)  # a Redis to the bucket, bounded per step
        self.client(self.SOCKET_TIMEOUT)  # the URL is read (and refused) when the store is built

    def client(self, seconds: float) -> Any:
        """The client whose connects and reads time out after `seconds` (one per whole second
        up to `SOCKET_TIMEOUT`, each with its pool). redis-py's retries are off: a retried read
        would outlast the call's time; the caller's own retries decide."""
        seconds = float(math.ceil(seconds))
        client = self._clients.get(seconds)
        if client is None:
            from redis import Redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            with self._clients_lock:
                client = self._clients.get(seconds)
                if client is None:
                    client = self._clients[seconds] = Redis.from_url(
                        self.url,
                        socket_timeout=seconds,
                        socket_connect_timeout=seconds,
                        retry=Retry(NoBackoff(), 0),
                    )
        return client

    def current(self) -> Any:
        """The client for the step at hand (see `_Store.bounded`)."""
        return self.client(self.step_timeout(self.SOCKET_TIMEOUT))

    def now_ms(self) -> int:
        seconds, micros = self._redis.time()
        return int(seconds) * 1000 + int(micros) // 1000

    @contextmanager
    def turn(self, name: str) -> Iterator[int]:
        wait = self.step_timeout(self.LOCK_WAIT)
        lock = self.current().lock(
            f"mavi:lock:{name}",
            timeout=self.LOCK_SECONDS,
            sleep=0.001,
            blocking_timeout=wait,
            thread_local=False,
        )
        if not lock.acquire():
            raise TimeoutError(f"the budget's lock was held for over {wait:g} s")
        try:
            yield self.now_ms()
        finally:
            lock.release()

    def bucket(self, name: str, rates: list[Rate]) -> AbstractBucket:
        from pyrate_limiter import RedisBucket

        bucket: AbstractBucket = RedisBucket.init(rates, self._redis, f"mavi:quota:{name}")
        return bucket

    def pause(self, name: str, until_ms: int) -> None:
        key = f"mavi:pause:{name}"
        ttl = max(1, until_ms - self.now_ms())
        if int(self._redis.pttl(key)) < ttl:
            self._redis.set(key, until_ms, px=ttl)

    def paused_until(self, name: str) -> int:
        value = self._redis.get(f"mavi:pause:{name}")
        return int(value) if value is not None else 0

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()


class _TimedRedis:
    """What a pyrate-limiter Redis bucket holds as its client: each command goes to the
    store's client for the step at hand, so a bucket's reads are bounded like the store's."""

    __slots__ = ("_store",)

    def __init__(self, store: _RedisStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store.current(), name)


_STORES: Final[Mapping[str, type[_Store]]] = {
    "memory": _MemoryStore,
    "sqlite": _SQLiteStore,
    "redis": _RedisStore,
    "rediss": _RedisStore,
    "unix": _RedisStore,
}


class _Slot:
    """One key's budget at one endpoint: a pyrate-limiter bucket, used by one thread at a time
    (a bucket reports the wait of its last refusal)."""

    def __init__(self, bucket: AbstractBucket, budgets: tuple[Budget, ...]) -> None:
        self.bucket = bucket
        self.budgets = budgets
        self.lock = threading.Lock()
        self.puts = 0


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
    an emulator started with `rate_window=1`.
    """

    def __init__(
        self,
        backend: str = "memory://",
        *,
        budgets: Mapping[str, BudgetSpec] | None = None,
        margin: float | None = None,
        on_wait: Callable[[RateLimitWait], Any] | None = None,
        time_scale: float = 1.0,
    ) -> None:
        store = _check_backend(backend)
        if not _is_number(time_scale) or not 0 < time_scale < math.inf:
            raise MaviValidationError(
                f"time_scale must be a finite positive number, got {given(time_scale)}."
            )
        if margin is not None and (not _is_number(margin) or not 0 <= margin < math.inf):
            raise MaviValidationError(
                f"margin must be seconds (a finite number >= 0) or None, got {given(margin)}."
            )
        if on_wait is not None and not callable(on_wait):
            raise MaviValidationError(
                f"on_wait must be a function taking a RateLimitWait, got {given(on_wait)}."
            )
        self.budgets = {
            endpoint: tuple(Budget(budget.calls, budget.per * time_scale) for budget in spec)
            for endpoint, spec in _budgets(budgets).items()
        }
        self.margin = margin
        self.on_wait = on_wait
        self._store = _open_store(store, backend)
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
            self.pause(endpoint, pause, account=account)
        elif not prepay and self._use_prepaid(endpoint):
            return 0.0
        waited = 0.0
        while (turn := self._try(endpoint, account, _left(timeout, waited)))[0] > 0:
            told = self._before_sleep(endpoint, *turn, waited, timeout)
            if isinstance(told, CoroutineType):
                told.close()  # an async watcher under a blocking wait: nobody to await it
            waited += turn[0]
            sleep(turn[0])
        self._prepay(endpoint, prepay)
        return waited

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
            await self._call(self.pause, endpoint, pause, account=account)
        elif not prepay and self._use_prepaid(endpoint):
            return 0.0
        waited = 0.0
        while (turn := await self._call(self._try, endpoint, account, _left(timeout, waited)))[
            0
        ] > 0:
            told = self._before_sleep(endpoint, *turn, waited, timeout)
            if isinstance(told, Awaitable):
                await told
            waited += turn[0]
            await sleep(turn[0])
        self._prepay(endpoint, prepay)
        return waited

    def try_acquire(self, endpoint: str, *, account: str = "", prepay: bool = False) -> float:
        """Take a turn now and return 0.0, or return the seconds until one may be free."""
        wait = self._try(endpoint, account)[0]
        if wait == 0.0:
            self._prepay(endpoint, prepay)
        return wait

    def _try(self, endpoint: str, account: str, timeout: float | None = None) -> tuple[float, str]:
        """(0.0, "") with a turn taken, or the seconds until one may be free and why: "budget"
        (the endpoint's budget is spent) or "paused" (the service asked to wait). The store is
        given `timeout` seconds (capped) for each step: a silent or locked store fails in time."""
        name = f"{account}:{endpoint}"
        with self._reaching_store(), self._store.bounded(timeout):
            slot = self._slot(endpoint, account)
            if slot is None:  # no budget, but the service's pause still holds
                paused = self._store.paused_until(name) - self._store.now_ms()
                return (paused / 1000, "paused") if paused > 0 else (0.0, "")
        from pyrate_limiter import RateItem

        with (
            self._reaching_store(),
            self._store.bounded(timeout),
            slot.lock,
            self._store.turn(name) as now,
        ):
            paused = self._store.paused_until(name) - now
            if paused > 0:
                return paused / 1000, "paused"
            item = RateItem(name, now)
            if slot.bucket.put(item):
                slot.puts += 1
                if slot.puts % 256 == 0:  # drop counts older than every window
                    slot.bucket.leak(now)
                return 0.0, ""
            wait = slot.bucket.waiting(item)
        assert isinstance(wait, int)
        return max(wait, 1) / 1000, "budget"

    def pause(self, endpoint: str, seconds: float, *, account: str = "") -> None:
        """Hold every turn at `endpoint` for `seconds` (the service said to wait)."""
        if not _is_number(seconds):
            raise MaviValidationError(f"pause takes seconds as a number, got {given(seconds)}.")
        if not math.isfinite(seconds) or seconds <= 0:
            return
        with self._reaching_store(), self._store.bounded(None):
            logger.debug(
                "MAVI rate limit: pausing %s for %.2f s (the service asked)", endpoint, seconds
            )
            name = f"{account}:{endpoint}"
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
            said = redact_url_secrets(str(exc), self._store.url)
            raise MaviConnectionError(
                f"The rate-limit store {self.backend} could not be used "
                f"({type(exc).__name__}: {said}). Check that it is running and reachable, or "
                "pass rate_limit='memory://' to count in this process only."
            ) from exc

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

    def _before_sleep(
        self, endpoint: str, wait: float, reason: str, waited: float, timeout: float | None
    ) -> object:
        """Check the deadline, then report the wait: the log, `on_wait`, and the watcher (what
        the watcher returns is returned)."""
        if timeout is not None and waited + wait > timeout:
            raise MaviRateLimitError(
                f"The {endpoint} budget of this key ({self._describe(endpoint)}) has no turn "
                f"free for {wait_text(wait)}, beyond the call's deadline. Try again later, or "
                "raise the client's `deadline`.",
                retry_after=wait,
            )
        logger.debug(
            "MAVI rate limit: waiting %.2f s for a turn at %s (%s)", wait, endpoint, reason
        )
        event = RateLimitWait(endpoint, wait, reason)
        if self.on_wait is not None:
            self.on_wait(event)
        watcher = current_watcher.get()
        return None if watcher is None else watcher(event)

    def _describe(self, endpoint: str) -> str:
        budgets = ", ".join(str(budget) for budget in self.budgets.get(endpoint, ()))
        return budgets or "no budget, paused at the service's request"

    def _slot(self, endpoint: str, account: str) -> _Slot | None:
        name = f"{account}:{endpoint}"
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
                slot = self._slots[name] = _Slot(self._store.bucket(name, rates), budgets)
        return slot

    def _window_ms(self, budget: Budget) -> int:
        margin = min(1.0, max(0.05, budget.per * 0.02)) if self.margin is None else self.margin
        return math.ceil((budget.per + margin) * 1000)


def _left(timeout: float | None, waited: float) -> float | None:
    """What is left of a call's `timeout` after it `waited`; None: no deadline."""
    return None if timeout is None else max(timeout - waited, 0.0)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_EXTRAS: Final[Mapping[type[_Store], tuple[str, str]]] = {
    _SQLiteStore: ("sqlite", "filelock"),
    _RedisStore: ("redis", "redis"),
}
"""The extra a store needs installed, and the module it brings."""


def _open_store(store: type[_Store], backend: str) -> _Store:
    """`store(backend)`; a missing extra names the extra to install, a file that cannot be
    created is a `MaviConnectionError` naming the store (its password masked)."""
    try:
        return store(backend)
    except ModuleNotFoundError as exc:
        extra, module = _EXTRAS.get(store, ("", ""))
        raise missing_extra(
            exc,
            package=f"A {extra} rate_limit backend",
            framework=module,
            root=module,
            extra=extra,
        ) from None
    except MaviError:
        raise
    except ValueError:  # the store's own URL parser refused it: the caller's mistake
        scheme = backend.partition("://")[0]
        raise MaviValidationError(
            f"rate_limit backend {scheme}://... could not be read by its store: pass "
            "memory://, sqlite:///path/to/file.db or redis://[:password@]host:port/db."
        ) from None
    except OSError as exc:
        said = redact_url_secrets(str(exc), backend)
        raise MaviConnectionError(
            f"The rate-limit store {redact_url_secrets(backend, backend)} could not be opened "
            f"({type(exc).__name__}: {said}). Check that it is reachable, and "
            "that a file's directory exists and is writable, or pass rate_limit='memory://' to "
            "count in this process only."
        ) from exc


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


def key_account(key: str | None) -> str:
    """Which key's budget a call draws on, without the key itself: a short hash of it."""
    return hashlib.sha256(key.encode()).hexdigest()[:16] if key else "anonymous"


def token_account(identity: str) -> str:
    """Which token user's budget a call draws on: a short keyed hash of the token auth's
    `identity` (its refresh token, else its access token), never the token itself; apart from
    every key's account (`key_account`)."""
    digest = hashlib.sha256(f"mavi-integrations token\0{identity}".encode()).hexdigest()
    return "token-" + digest[:16]


def account_of(settings: MaviSettings) -> str:
    """The account of a client's credentials in a shared store: one per key, one per token
    user (two users with token auth never share a budget)."""
    if settings.api_key is not None:
        return key_account(settings.api_key.get_secret_value())
    if settings.auth is not None:
        return token_account(settings.auth.identity.get_secret_value())
    return key_account(None)
