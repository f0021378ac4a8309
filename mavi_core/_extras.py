"""The message an adapter raises when its framework (an optional extra) is not installed."""

from __future__ import annotations

__all__ = ["missing_extra"]


def missing_extra(
    error: ModuleNotFoundError, *, package: str, framework: str, root: str, extra: str
) -> ModuleNotFoundError:
    """`error` re-worded to name the extra to install, if the missing module is the framework's
    (`root` or below it); else `error` unchanged. Still a `ModuleNotFoundError`."""
    if error.name is None or error.name.split(".")[0] != root:
        return error
    return ModuleNotFoundError(
        f"{package} needs {framework}, which is not installed. Install the "
        f'"{extra}" extra: pip install "mavi-integrations[{extra}]", or from a checkout of '
        f'the repository: pip install -e ".[{extra}]".',
        name=error.name,
    )
