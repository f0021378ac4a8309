"""Rate-limit waits as LangChain custom events.

When a request waits for its turn in the key's budget (`mavi_core.RateLimit`), the component
that sent it dispatches the custom event `mavi_rate_limit_wait` with the data
`{"seconds", "endpoint", "reason"}` before the wait, so callback handlers' `on_custom_event`
and `astream_events` see it. The event belongs to the run that waits:

- a run whose run manager the component holds (`invoke` of `ChatMavi`, the retriever);
- a `ChatMavi` run started by `invoke`, `ainvoke`, `stream` or `astream`: LangChain hands
  `_stream` no run manager when it streams and acquires `rate_limiter` before `_generate`, so
  `ChatMavi` fixes the run's id and dispatches to that run's handlers itself;
- otherwise the run the call happens inside (a tool, a chain, a graph node), if any.

Nothing is dispatched when no wait happened, or outside any run. The waits reach the core
through `mavi_core._watch.watching_waits`, set for the one thread or task that waits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, Generic, Self, TypeVar, cast
from uuid import UUID

from langchain_core.callbacks import (
    AsyncCallbackManager,
    BaseCallbackManager,
    CallbackManager,
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.callbacks.manager import BaseRunManager
from langchain_core.language_models import BaseLanguageModel
from langchain_core.runnables import RunnableConfig, ensure_config
from langchain_core.runnables.config import get_callback_manager_for_config
from langchain_core.utils.uuid import uuid7

from mavi_core._watch import WaitWatcher, current_watcher, watching_waits

if TYPE_CHECKING:
    from mavi_core import RateLimitWait

__all__ = ["RATE_LIMIT_WAIT_EVENT", "Watched", "model_run", "run_watcher"]

_T = TypeVar("_T")

RATE_LIMIT_WAIT_EVENT: Final = "mavi_rate_limit_wait"
"""The name of the custom event a rate-limit wait dispatches."""


def _data(wait: RateLimitWait) -> dict[str, Any]:
    return {"seconds": wait.seconds, "endpoint": wait.endpoint, "reason": wait.reason}


def _run_config(manager: BaseCallbackManager, run_id: UUID) -> RunnableConfig:
    """A config whose events belong to the run `run_id`, told to `manager`'s handlers."""
    manager.parent_run_id = run_id  # dispatch_custom_event reports to the parent run
    return RunnableConfig(callbacks=manager)


def _of_run(run: BaseRunManager, manager_class: type[BaseCallbackManager]) -> RunnableConfig:
    manager = manager_class(
        handlers=run.handlers,
        inheritable_handlers=run.inheritable_handlers,
        tags=run.tags,
        inheritable_tags=run.inheritable_tags,
        metadata=run.metadata,
        inheritable_metadata=run.inheritable_metadata,
    )
    return _run_config(manager, run.run_id)


def _inside_a_run() -> RunnableConfig | None:
    """The ambient config (a tool's, a chain's) when it belongs to a run, else None."""
    config = ensure_config()
    return config if get_callback_manager_for_config(config).parent_run_id else None


def _dispatch(wait: RateLimitWait, config: RunnableConfig | None) -> None:
    config = config or _inside_a_run()
    if config is not None:
        dispatch_custom_event(RATE_LIMIT_WAIT_EVENT, _data(wait), config=config)


async def _adispatch(wait: RateLimitWait, config: RunnableConfig | None) -> None:
    config = config or _inside_a_run()
    if config is not None:
        await adispatch_custom_event(RATE_LIMIT_WAIT_EVENT, _data(wait), config=config)


def run_watcher(run: BaseRunManager | None, *, asynchronous: bool) -> WaitWatcher:
    """Waits as events of `run`; without one, the watcher already set (a `ChatMavi` run's),
    else the ambient run's (a tool's, a chain's). `asynchronous`: for an awaiting call, whose
    event is dispatched (awaited) before the wait begins."""
    config = None
    if run is not None:
        config = _of_run(run, AsyncCallbackManager if asynchronous else CallbackManager)
    elif (current := current_watcher.get()) is not None:
        return current
    if asynchronous:
        return lambda wait: _adispatch(wait, config)
    return lambda wait: _dispatch(wait, config)


def model_run(
    config: RunnableConfig | None, model: BaseLanguageModel[Any], *, asynchronous: bool
) -> tuple[RunnableConfig, WaitWatcher]:
    """A copy of `config` naming the run `model` is about to start (the caller's `run_id` if it
    gave one), and the watcher that reports waits to that run's handlers, as LangChain
    configures them from the call's callbacks and the model's own (built only on a wait)."""
    config = ensure_config(config)
    run_id = config["run_id"] = config.get("run_id") or uuid7()
    manager_class = AsyncCallbackManager if asynchronous else CallbackManager

    def events() -> RunnableConfig:
        manager = manager_class.configure(
            config.get("callbacks"),
            model.callbacks,
            model.verbose,
            config.get("tags"),
            model.tags,
            config.get("metadata"),
            model.metadata,
        )
        return _run_config(manager, run_id)

    if asynchronous:
        return config, lambda wait: _adispatch(wait, events())
    return config, lambda wait: _dispatch(wait, events())


class Watched(Generic[_T]):
    """A stream (sync or async) whose steps run under `watching_waits(watcher)` until the first
    item: a stream sends its request (and waits for its turn) when iteration starts, after the
    call that made it has returned. The watcher is set for the step only, never across the
    caller's code. Once an item has arrived no request is sent again (a stream is never retried
    after it has delivered), so no wait can follow: later steps go straight to the stream."""

    __slots__ = ("_items", "_watcher")

    def __init__(self, items: Iterator[_T] | AsyncIterator[_T], watcher: WaitWatcher | None):
        self._items: Any = items
        self._watcher = watcher

    @contextmanager
    def _first(self) -> Iterator[None]:
        assert self._watcher is not None
        with watching_waits(self._watcher):
            yield
        self._watcher = None  # an item arrived: no request, so no wait, can follow

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> _T:
        if self._watcher is None:
            return cast(_T, next(self._items))  # per delta: nothing of ours
        with self._first():
            return cast(_T, next(self._items))

    def close(self) -> None:
        """Close the stream wrapped (a generator, a stream), as a generator's `close()`."""
        if hasattr(self._items, "close"):
            self._items.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> _T:
        if self._watcher is None:
            return cast(_T, await anext(self._items))
        with self._first():
            return cast(_T, await anext(self._items))

    async def aclose(self) -> None:
        """Close the async stream wrapped, as an async generator's `aclose()`."""
        if hasattr(self._items, "aclose"):
            await self._items.aclose()
