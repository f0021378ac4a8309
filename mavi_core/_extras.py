"""What a package needs at import time: names whose modules load on first use, and the message
an adapter raises when its framework (an optional extra) is not installed."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

__all__ = ["load_lazily", "missing_extra"]


def load_lazily(
    package: str, modules: Mapping[str, str], name: str, namespace: dict[str, Any]
) -> Any:
    """A package's `__getattr__`: `name` from its submodule `modules` names, then kept in
    `namespace` (the package's globals), so it loads once."""
    module = modules.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    namespace[name] = value = getattr(importlib.import_module(f"{package}.{module}"), name)
    return value


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
