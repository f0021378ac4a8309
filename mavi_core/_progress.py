"""Progress bars: the I/O side of uploads and polling, kept out of the pure core.

`progress_bar(label, total, enabled)` draws with tqdm (`tqdm.auto`: a widget in a notebook, a
text bar in a terminal); `enabled=None` shows one when stderr is a terminal or code runs in a
Jupyter kernel. The operations call a bar's `update(done)` and `finish()`; an `on_progress`
callback given to `upload_video` replaces the bar.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any, Protocol

from ._exceptions import MaviValidationError

__all__ = ["CountingReader", "ProgressBar", "ProgressCallback", "check_progress", "progress_bar"]

ProgressCallback = Callable[[int, int], None]
"""Called with (done, total): bytes sent for an upload."""


class ProgressBar(Protocol):
    def update(self, done: float) -> None: ...

    def finish(self) -> None: ...

    def close(self) -> None:
        """Stop showing it where it stands (an interruption), without filling it."""


class _Silent:
    def update(self, done: float) -> None:
        pass

    def finish(self) -> None:
        pass

    def close(self) -> None:
        pass


class _Tqdm:
    """A tqdm bar moved to an absolute position (`done`), closed by `finish()`."""

    def __init__(self, label: str, total: float, unit: str) -> None:
        tqdm = _tqdm_class()

        scale = unit == "B"
        self._bar = tqdm(
            total=int(total), desc=label, unit=unit, unit_scale=scale, unit_divisor=1024
        )
        self._done = 0

    def update(self, done: float) -> None:
        step = int(min(done, self._bar.total or done)) - self._done
        if step > 0:
            self._done += step
            self._bar.update(step)

    def finish(self) -> None:
        self.update(self._bar.total or self._done)
        self._bar.close()

    def close(self) -> None:
        self._bar.close()


def _tqdm_class() -> Any:
    """tqdm's notebook widget when ipywidgets can draw it, else its text bar."""
    import importlib.util

    if "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm


def _shown_by_default() -> bool:
    return sys.stderr.isatty() or "ipykernel" in sys.modules


def check_progress(progress: object, on_progress: object = None) -> None:
    """`progress` True, False or None (a bar only on a terminal or in a notebook);
    `on_progress` None or a callable of (done, total). Checked before any request."""
    if progress is not None and not isinstance(progress, bool):
        raise MaviValidationError(
            f"progress must be True, False or None (a bar only on a terminal or in a "
            f"notebook), got {progress!r}."
        )
    if on_progress is not None and not callable(on_progress):
        raise MaviValidationError(
            f"on_progress must be a function called with (bytes sent, total bytes), or None, "
            f"got {type(on_progress).__name__}; e.g. on_progress=lambda sent, total: None."
        )


def progress_bar(
    label: str, total: float, enabled: bool | None = None, *, unit: str = "it"
) -> ProgressBar:
    """A bar for `total` steps (silent when disabled, or when tqdm is missing)."""
    if not (enabled if enabled is not None else _shown_by_default()):
        return _Silent()
    try:
        return _Tqdm(label, max(total, 1), unit)
    except ImportError:
        return _Silent()


class _Callback:
    """An upload's progress reported to the caller's `on_progress(done, total)`."""

    def __init__(self, callback: ProgressCallback, total: int) -> None:
        self._callback = callback
        self._total = total

    def update(self, done: float) -> None:
        self._callback(int(done), self._total)

    def finish(self) -> None:
        self._callback(self._total, self._total)

    def close(self) -> None:
        pass


def upload_bar(
    name: str, size: int, enabled: bool | None, on_progress: ProgressCallback | None
) -> ProgressBar:
    """How an upload of `size` bytes reports progress: the callback, else a bar."""
    if on_progress is not None:
        return _Callback(on_progress, size)
    return progress_bar(f"Uploading {name}", size, enabled, unit="B")


class CountingReader:
    """A binary file that reports how many bytes were read so far."""

    def __init__(self, handle: IO[bytes], on_progress: Callable[[float], None]) -> None:
        self._handle = handle
        self._on_progress = on_progress
        self._count = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._count += len(chunk)
        self._on_progress(self._count)
        return chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)
