"""The optional dependencies: a missing one is reported with the command that installs it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._server import MaviEmulator

MISSING_EXTRA = (
    'The MAVI emulator needs the "emulator" extra (starlette and uvicorn), which is not '
    'installed: pip install "mavi-integrations[emulator]" (from a checkout: '
    'pip install -e ".[emulator]").'
)
# The extra's packages and theirs: a missing one of these means the extra is not installed.
_EXTRA_MODULES = frozenset({"starlette", "uvicorn", "h11", "click", "anyio"})


def emulator_class() -> type[MaviEmulator]:
    """MaviEmulator, or an ImportError naming the extra to install when it is missing."""
    try:
        from ._server import MaviEmulator
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] not in _EXTRA_MODULES:
            raise
        raise ImportError(MISSING_EXTRA, name=error.name) from error
    return MaviEmulator
