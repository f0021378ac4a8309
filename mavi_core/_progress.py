"""Progress of uploads, polling and bulk questions: tqdm's bar on a terminal, its widget in a
notebook, silent elsewhere, or the caller's `on_progress`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any

from ._exceptions import MaviValidationError

ProgressCallback = Callable[[int, int], None]  # (done, total): bytes sent for an upload


class ProgressBar:
    """Silent, or telling an upload's `on_progress` (`callback`) the bytes sent; `_Tqdm` draws."""

    def __init__(self, callback: ProgressCallback | None = None, total: int = 0) -> None:
        self._callback = callback
        self._total = total

    def update(self, done: float) -> None:
        if self._callback is not None:
            self._callback(int(done), self._total)

    def finish(self) -> None:
        self.update(self._total)
        self.close()

    def close(self) -> None:
        """Stop showing it where it stands (an interruption), without filling it."""


class _Tqdm(ProgressBar):
    """A tqdm bar moved to an absolute position (`done`), closed by `finish()`."""

    def __init__(self, label: str, total: float, unit: str) -> None:
        super().__init__(None, int(total))
        import importlib.util

        if "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets") is not None:
            from tqdm.auto import tqdm  # the notebook widget, which ipywidgets draws
        else:
            from tqdm.std import tqdm
        self._bar = tqdm(
            total=int(total), desc=label, unit=unit, unit_scale=unit == "B", unit_divisor=1024
        )

    def update(self, done: float) -> None:
        step = int(min(done, self._bar.total)) - self._bar.n
        if step > 0:
            self._bar.update(step)

    def close(self) -> None:
        self._bar.close()


def check_progress(progress: object, on_progress: object = None) -> None:
    """`progress` True, False or None; `on_progress` None or a callable of (done, total)."""
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
    """A bar for `total` steps (None: on a terminal or in a notebook); silent without tqdm."""
    if enabled is None:
        enabled = sys.stderr.isatty() or "ipykernel" in sys.modules
    try:
        return _Tqdm(label, max(total, 1), unit) if enabled else ProgressBar()
    except ImportError:
        return ProgressBar()


def upload_bar(
    name: str, size: int, enabled: bool | None, on_progress: ProgressCallback | None
) -> ProgressBar:
    """How an upload of `size` bytes reports progress: the callback, else a bar."""
    if on_progress is not None:
        return ProgressBar(on_progress, size)
    return progress_bar(f"Uploading {name}", size, enabled, unit="B")


class CountingReader:
    """A binary file that reports its position, the bytes read so far, after each read."""

    def __init__(self, handle: IO[bytes], on_progress: Callable[[float], None]) -> None:
        self._handle = handle
        self._on_progress = on_progress

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._on_progress(self._handle.tell())
        return chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)
