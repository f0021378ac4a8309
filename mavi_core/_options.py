"""Strict options: an unknown keyword is refused when a component is built, naming the closest
valid option, so that a misspelt `api_verison=` or `top_k=` never runs with the default instead.

One rule for every entry point: `refuse_unknown` for the pydantic components of the adapters
(called from one validator per framework), `strict_options` for plain constructors.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Final, TypeVar

__all__ = ["closest_option", "keyword_names", "refuse_unknown", "strict_options"]

_C = TypeVar("_C", bound=type)

# Names other libraries use for one of ours, which spelling alone would not find.
_SYNONYMS: Final = {
    "top_k": ("k", "similarity_top_k"),
    "similarity_top_k": ("k",),
    "n": ("k", "similarity_top_k"),
    "k": ("similarity_top_k",),
    "video_id": ("video_nos",),
    "video_ids": ("video_nos",),
    "videos": ("video_nos",),
    "key": ("api_key",),
    "token": ("api_key",),
    "url": ("base_url",),
    "host": ("base_url",),
    "endpoint": ("base_url",),
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
    if normalized in options:
        return normalized
    squeezed = {option.replace("_", ""): option for option in options}
    if normalized.replace("_", "") in squeezed:  # apikey, apiversion, videonos
        return squeezed[normalized.replace("_", "")]
    matches = difflib.get_close_matches(normalized, options, n=1, cutoff=0.6)
    return matches[0] if matches else None


def refuse_unknown(owner: str, given: Iterable[str], valid: Iterable[str]) -> None:
    """Raise a `TypeError` (as Python does for an unexpected keyword) naming each option of
    `given` that is not in `valid`, with the closest valid one."""
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
    """Wrap `cls.__init__` so that an unexpected keyword raises `refuse_unknown`'s error (with
    the closest valid name) rather than Python's, which names no alternative."""
    init = cls.__init__  # type: ignore[misc]
    names = keyword_names(init)

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if not kwargs.keys() <= names:
            refuse_unknown(type(self).__name__, kwargs, names)
        init(self, *args, **kwargs)

    cls.__init__ = __init__  # type: ignore[misc]
    return cls
