"""Where a rate limit's counts (pyrate-limiter's buckets) and pauses live, named by one URL:
`memory://`, `sqlite:///path/to/file.db` or `redis://host:6379/0` (docs/rate-limits-and-bulk.md)."""

from __future__ import annotations

import hashlib
import inspect
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

from ._exceptions import MaviConnectionError, MaviError, MaviValidationError
from ._extras import missing_extra
from ._secret import given, redact_url_secrets

if TYPE_CHECKING:
    from pyrate_limiter import AbstractBucket, Rate

logger = logging.getLogger("mavi_core")

SHAPES: Final = "memory://, sqlite:///path/to/file.db or redis://[:password@]host:port/db"


def open_store(backend: object, timeout: float) -> Store:
    """The store a backend URL names, opened; a failure is an error saying what to do, quoting
    at most the URL's scheme and never a password."""
    if not isinstance(backend, str):
        raise MaviValidationError(f"rate_limit backend must be {SHAPES}, got {given(backend)}.")
    scheme, separator, rest = backend.partition("://")
    store = _STORES.get(scheme) if separator else None
    if store is None:
        got = f"the unknown scheme {scheme!r}"
        if not separator or not scheme.replace("+", "").replace(".", "").isalnum():
            got = "a URL without a scheme (scheme://...)"  # never quoting what may be a password
        elif scheme.lower() in _STORES:
            got = f"the scheme {scheme!r}: write it in lower case"
        raise MaviValidationError(f"rate_limit backend must be {SHAPES}, got {got}.")
    host_ends = min((rest.find(char) for char in "/?#" if char in rest), default=len(rest))
    if store is _RedisStore and "@" in rest[host_ends:] and "@" not in rest[:host_ends]:
        raise MaviValidationError(
            f"rate_limit backend {scheme}://... holds an '@' after a raw {rest[host_ends]!r}: "
            "a password (or user name) holding '/', '?' or '#' must be percent-encoded "
            "(%2F, %3F, %23; an '@' elsewhere: %40), else the URL names another host."
        )
    if store is _SQLiteStore and not rest.strip("/"):
        raise MaviValidationError(f"A sqlite rate limit names its file: {backend!r}.")
    try:
        return store(backend, timeout)
    except ModuleNotFoundError as exc:
        extra, module = store.extra
        raise missing_extra(
            exc, package=f"A {extra} rate_limit backend", framework=module, root=module, extra=extra
        ) from None
    except ValueError:  # the store's own URL parser refused it: the caller's mistake
        raise MaviValidationError(
            f"rate_limit backend {scheme}://... could not be read by its store (is its port a "
            f"number 0-65535?): pass {SHAPES}."
        ) from None
    except (OSError, sqlite3.Error) as exc:
        raise store_error(exc, backend, "opened") from exc


class Store:
    """Counts and pauses in this process's memory (`memory://`); the other stores share them."""

    shared = False
    extra = ("", "")  # the extra the store needs installed, and the module it brings
    STEP: Final = 0.1  # a step is given whole tenths of a second: it outlasts what was left by less

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout  # the longest one step (a connect, a lock, a read) may take
        self._bound = threading.local()
        self._pauses: dict[str, int] = {}

    @contextmanager
    def bounded(self, seconds: float | None) -> Iterator[None]:
        """Every step of the store in this block (this thread's) shares the `seconds` from now
        (None: no deadline); a store failing in it is a `MaviConnectionError` naming it."""
        previous = getattr(self._bound, "ends", math.inf)
        self._bound.ends = time.monotonic() + (math.inf if seconds is None else seconds)
        try:
            yield
        except MaviError:
            raise
        except Exception as exc:
            raise store_error(exc, self.url, "used") from exc
        finally:
            self._bound.ends = previous

    def step_timeout(self) -> float:
        """What is left of `bounded`'s time, at most `timeout`; a `TimeoutError` when none is."""
        left: float = getattr(self._bound, "ends", math.inf) - time.monotonic()
        if left <= 0:
            raise TimeoutError("the call's deadline passed while the store was being used")
        return min(self.timeout, left)

    def now_ms(self) -> int:
        return time.monotonic_ns() // 1_000_000

    @contextmanager
    def turn(self, name: str) -> Iterator[int]:
        """Hold `name`'s turn-taking (pause check, stamp, count) to this caller; give the stamp."""
        yield self.now_ms()

    def bucket(self, name: str, rates: list[Rate]) -> AbstractBucket:
        from pyrate_limiter import InMemoryBucket

        return InMemoryBucket(rates)

    def pause(self, name: str, until_ms: int) -> None:
        self._pauses[name] = max(until_ms, self._pauses.get(name, 0))

    def paused_until(self, name: str) -> int:
        return self._pauses.get(name, 0)

    def close(self) -> None:
        """Release connections."""


class _SQLiteStore(Store):
    """A SQLite file, for the processes of one machine; every turn is taken under one file lock
    (`<file>.lock`) waited for at most the step's time, so a holder cannot hang a call."""

    shared = True
    extra = ("sqlite", "filelock")

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(url, timeout)
        from filelock import FileLock

        # sqlite:///abs/path.db (three slashes and the absolute path), or sqlite://relative.db
        path = url.removeprefix("sqlite://")
        self.path = path[1:] if path.startswith("//") else path
        # One lock object for the store and its buckets: filelock refuses (as a deadlock) a second
        # object for the same file in one process, and this one is re-entrant.
        self._lock = FileLock(self.path + ".lock", timeout=timeout)
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=timeout)
        with self._lock, self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS mavi_pause (name TEXT PRIMARY KEY, until_ms INTEGER)"
            )
        self._thread_lock = threading.Lock()

    def _locked(self) -> Any:
        return self._lock.acquire(timeout=self.step_timeout())

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000  # shared by processes: wall-clock time

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
        with self._locked(), self._thread_lock, self._db:  # the file lock first, as in turn()
            self._db.execute(
                "INSERT INTO mavi_pause VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET "
                "until_ms = max(until_ms, excluded.until_ms)",
                (name, until_ms),
            )

    def paused_until(self, name: str) -> int:
        with self._thread_lock:
            rows = self._db.execute("SELECT until_ms FROM mavi_pause WHERE name = ?", (name,))
            return int((rows.fetchone() or (0,))[0])

    def close(self) -> None:
        self._db.close()


class _RedisStore(Store):
    """Redis, for every machine that reaches it: turns stamped with the server's clock, counted
    under a short lock per budget (docs/rate-limits-and-bulk.md#how-the-budget-is-counted)."""

    shared = True
    extra = ("redis", "redis")

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(url, timeout)
        self._clients: dict[float, Any] = {}
        self._clients_lock = threading.Lock()
        self._redis: Any = _TimedRedis(self)  # a Redis to the bucket, bounded per step
        self.client(timeout)  # the URL is read (and refused) when the store is built

    def client(self, seconds: float) -> Any:
        """A client whose steps time out after `seconds` (up to a `STEP`), with no retries."""
        seconds = math.ceil(seconds / self.STEP) * self.STEP
        with self._clients_lock:
            if seconds not in self._clients:
                from redis import Redis
                from redis.backoff import NoBackoff
                from redis.connection import AbstractConnection
                from redis.retry import Retry

                # No handshake on connect (HELLO, CLIENT SETINFO): a store step is one reply.
                quiet: dict[str, Any] = {"lib_name": None, "lib_version": None}
                if "driver_info" in inspect.signature(AbstractConnection.__init__).parameters:
                    quiet = {"driver_info": None}  # redis-py 7.1 and later
                self._clients[seconds] = Redis.from_url(
                    self.url,
                    socket_timeout=seconds,
                    socket_connect_timeout=seconds,
                    retry=Retry(NoBackoff(), 0),
                    protocol=2,
                    **quiet,
                )
            return self._clients[seconds]

    def now_ms(self) -> int:
        seconds, micros = self._redis.time()
        return int(seconds) * 1000 + int(micros) // 1000

    @contextmanager
    def turn(self, name: str) -> Iterator[int]:
        from redis.lock import Lock

        wait = self.step_timeout()
        lock = Lock(  # on the bounded client: each of the lock's commands in the call's time
            self._redis,
            f"mavi:lock:{name}",
            timeout=5.0,  # how long a lock outlives a holder that died holding it
            sleep=0.001,
            blocking_timeout=wait,
            thread_local=False,
        )
        if not lock.acquire():
            raise TimeoutError(f"the budget's lock was held for over {wait:g} s")
        try:
            yield self.now_ms()
        finally:  # the release gets a step's time even past the call's deadline
            left: float = getattr(self._bound, "ends", math.inf) - time.monotonic()
            with self.bounded(max(left, self.STEP)):
                try:
                    lock.release()
                except Exception:
                    logger.debug("MAVI rate limit: a budget's lock was left to expire")

    def bucket(self, name: str, rates: list[Rate]) -> AbstractBucket:
        from pyrate_limiter import RedisBucket

        return cast("AbstractBucket", RedisBucket.init(rates, self._redis, f"mavi:quota:{name}"))

    def pause(self, name: str, until_ms: int) -> None:
        key = f"mavi:pause:{name}"
        ttl = max(1, until_ms - self.now_ms())
        if int(self._redis.pttl(key)) < ttl:
            self._redis.set(key, until_ms, px=ttl)

    def paused_until(self, name: str) -> int:
        return int(self._redis.get(f"mavi:pause:{name}") or 0)

    def close(self) -> None:
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


@dataclass(slots=True)
class _TimedRedis:
    """The bucket's and locks' client: each command goes to the client for the step at hand."""

    _store: _RedisStore

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store.client(self._store.step_timeout()), name)

    def evalsha(self, sha: str, *args: Any) -> Any:
        """The bucket's script, loaded again if Redis lost it (restart, failover, SCRIPT FLUSH)."""
        from pyrate_limiter.buckets.redis_bucket import LuaScript
        from redis.exceptions import NoScriptError

        client = self._store.client(self._store.step_timeout())
        try:
            return client.evalsha(sha, *args)
        except NoScriptError:  # another script (the lock's) stays missing: its caller loads it
            client.script_load(LuaScript.PUT_ITEM)
            return client.evalsha(sha, *args)


_STORES: Final[Mapping[str, type[Store]]] = {
    "memory": Store,
    "sqlite": _SQLiteStore,
    "redis": _RedisStore,
    "rediss": _RedisStore,
    "unix": _RedisStore,
}


def store_error(error: Exception, url: str, done: str) -> MaviConnectionError:
    """A store that could not be `done` ("opened", "used"), named and explained in words."""
    said = redact_url_secrets(str(error), url)
    if isinstance(error, sqlite3.OperationalError):
        what = f"the file could not be read, written or locked ({said}): check that the file "
        what += "and its folder are readable and writable, and that no other program holds it"
    elif isinstance(error, sqlite3.DatabaseError):
        what = "the file is not a SQLite database (damaged, or another kind of file): move it away "
        what += "or name another file; the budgets start again in a new one"
    elif isinstance(error, TimeoutError):
        what = f"it did not answer in time ({said}): check that nothing else holds it"
    else:
        what = f"{type(error).__name__}: {said}. Check that it is running and reachable"
    return MaviConnectionError(
        f"The rate-limit store {redact_url_secrets(url, url)} could not be {done}: {what}; or "
        "pass rate_limit='memory://' to count in this process only."
    )
