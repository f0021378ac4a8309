"""The defaults a client starts from and the environment variables it reads, by name."""

from ._budgets import DEFAULT_BUDGETS
from ._constants import (
    API_KEY_ENV,
    API_VERSION_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)

__all__ = [
    "API_KEY_ENV",
    "API_VERSION_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_BUDGETS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
]
