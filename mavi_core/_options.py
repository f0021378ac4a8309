"""Strict options: an unknown keyword is a `TypeError` naming the closest valid option, so a
misspelt `api_verison=` never runs with the default (docs/errors-and-wire.md#strict-options)."""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Final, TypeVar

_C = TypeVar("_C", bound=type)

# Names other libraries use for one of ours, which spelling alone would not find.
_SYNONYMS: Final = {
    "top_k": ("k", "similarity_top_k"),
    "similarity_top_k": ("k",),
    "n": ("k", "similarity_top_k"),
    "k": ("similarity_top_k",),
    **dict.fromkeys(("video_id", "video_ids", "videos"), ("video_nos",)),
    **dict.fromkeys(("key", "token"), ("api_key",)),
    **dict.fromkeys(("url", "host", "endpoint"), ("base_url",)),
    "retries": ("max_retries",),
    "headers": ("default_headers",),
    "version": ("api_version",),
}


def closest_option(name: str, valid: Iterable[str]) -> str | None:
    """The valid option `name` most likely meant, or None when none is close."""
    options = sorted(set(valid))
    normalized = name.lower().replace("-", "_")
    for synonym in _SYNONYMS.get(normalized, ()):
        if synonym in options:
            return synonym
    squeezed = {option.replace("_", ""): option for option in options}  # apikey, videonos
    close = difflib.get_close_matches(normalized, options, n=1, cutoff=0.6)
    return squeezed.get(normalized.replace("_", ""), close[0] if close else None)


def refuse_unknown(owner: str, given: Iterable[str], valid: Iterable[str]) -> None:
    """A `TypeError`, as Python's, naming each of `given` not in `valid` and its closest option."""
    valid = frozenset(valid)
    unknown = [name for name in given if name not in valid]
    if not unknown:
        return
    problems = []
    for name in unknown:
        guess = closest_option(name, valid)
        problems.append(f"{name!r}" + (f" (did you mean {guess}?)" if guess else ""))
    listed = ", ".join(sorted(name for name in valid if not name.startswith("_")))
    raise TypeError(
        f"{owner} got unknown option(s) {', '.join(problems)}: MAVI takes no other options. "
        f"Valid options: {listed}."
    )


def keyword_names(function: Callable[..., Any]) -> frozenset[str]:
    """The names `function` takes by keyword."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    parameters = inspect.signature(function).parameters.values()
    return frozenset(p.name for p in parameters if p.kind in kinds and p.name != "self")


def strict_options(cls: _C) -> _C:
    """`cls` whose `__init__` raises `refuse_unknown`'s error for an unexpected keyword."""
    init = cls.__init__  # type: ignore[misc]
    names = keyword_names(init)

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        refuse_unknown(type(self).__name__, kwargs, names)
        init(self, *args, **kwargs)

    cls.__init__ = __init__  # type: ignore[misc]
    return cls
