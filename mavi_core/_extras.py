"""What a package needs at import time: names loaded on first use, and the missing-extra error."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package: str, modules: Mapping[str, str], exported: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's `__getattr__` (names imported on first use, then kept) and `__dir__`."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value = getattr(importlib.import_module(f"{package}.{module}"), name)
        return value

    return __getattr__, lambda: sorted({*namespace, *exported})


def missing_extra(
    error: ModuleNotFoundError, *, package: str, framework: str, root: str, extra: str
) -> ModuleNotFoundError:
    """`error` re-worded to name the extra when the missing module is under `root`, else as is."""
    if error.name is None or error.name.split(".")[0] != root:
        return error
    return ModuleNotFoundError(
        f"{package} needs {framework}, which is not installed. Install the "
        f'"{extra}" extra: pip install "mavi-integrations[{extra}]", or from a checkout of '
        f'the repository: pip install -e ".[{extra}]".',
        name=error.name,
    )
