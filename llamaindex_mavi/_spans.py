"""Spans that cost what LlamaIndex's tracing needs, and no more.

LlamaIndex opens a span around every call of a component's public methods (`dispatcher.span`,
applied by `DispatcherSpanMixin` and by hand), and each span binds the call's arguments with
`inspect.signature`, which rebuilds the method's signature from its code on every call unless
the function carries one in `__signature__` (the attribute `inspect` reads first). Giving each
method of ours its own, computed once when the class is made, takes that off every query
(about a tenth of what the framework adds to one); the signature is the one `inspect` would
compute, so span handlers see the same bound arguments.
"""

from __future__ import annotations

import inspect
import types
from typing import TypeVar

__all__ = ["presigned"]

_C = TypeVar("_C", bound=type)


def presigned(cls: _C) -> _C:
    """Sets `__signature__` on each function `cls` defines, and on each function the framework
    wrapped it in (a span, an LLM callback), to the signature `inspect` computes for it, and
    returns `cls`."""
    for value in vars(cls).values():
        layer, seen = value, set()
        while layer is not None and id(layer) not in seen:  # through spans, callbacks, ...
            seen.add(id(layer))
            if isinstance(layer, types.FunctionType) and "__signature__" not in vars(layer):
                layer.__signature__ = inspect.signature(layer)  # type: ignore[attr-defined]
            layer = getattr(layer, "__wrapped__", None)
    return cls
