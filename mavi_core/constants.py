"""The defaults a client starts from and the environment variables it reads, by name.

from mavi_core.constants import API_KEY_ENV, DEFAULT_BUDGETS, DEFAULT_TIMEOUT
"""

from typing import TYPE_CHECKING, Any

from ._constants import (
    API_KEY_ENV,
    API_VERSION_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)

if TYPE_CHECKING:
    from ._quota import DEFAULT_BUDGETS

__all__ = [
    "API_KEY_ENV",
    "API_VERSION_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_BUDGETS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
]


def __getattr__(name: str) -> Any:
    if name == "DEFAULT_BUDGETS":  # the rate limits' module loads on first use
        from ._quota import DEFAULT_BUDGETS

        return DEFAULT_BUDGETS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
