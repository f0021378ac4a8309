"""What a package needs at import time: names whose modules load on first use, and the message
an adapter raises when its framework (an optional extra) is not installed."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package: str, modules: Mapping[str, str], exported: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's `__getattr__` (each name of `modules` imported from its submodule on first
    use, then kept in the package, so it loads once) and the `__dir__` that lists them."""
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
    """`error` re-worded to name the extra to install when the missing module is the
    framework's (`root` or below it); else `error` unchanged."""
    if error.name is None or error.name.split(".")[0] != root:
        return error
    return ModuleNotFoundError(
        f"{package} needs {framework}, which is not installed. Install the "
        f'"{extra}" extra: pip install "mavi-integrations[{extra}]", or from a checkout of '
        f'the repository: pip install -e ".[{extra}]".',
        name=error.name,
    )
