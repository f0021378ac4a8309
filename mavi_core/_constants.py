"""Defaults and bounds, named once (docs/errors-and-wire.md#bounds)."""

from __future__ import annotations

from typing import Final

DEFAULT_BASE_URL: Final = "https://mavi-backend.memories.ai"
DEFAULT_V12_BASE_URL: Final = "https://api.memories.ai"  # for `api_version="v1.2"`
API_KEY_ENV: Final = "MAVI_API_KEY"
BASE_URL_ENV: Final = "MAVI_BASE_URL"
API_VERSION_ENV: Final = "MAVI_API_VERSION"
API_VERSIONS: Final = ("v1.0", "v1.2")

DEFAULT_TIMEOUT: Final = 60.0
DEFAULT_CONNECT_TIMEOUT: Final = 5.0
DEFAULT_MAX_RETRIES: Final = 2
MAX_RETRY_AFTER: Final = 60.0  # a longer `Retry-After` is not slept: the error says when

DEFAULT_DEADLINE: Final = 600.0
DEFAULT_MAX_RESPONSE_BYTES: Final = 32 * 1024 * 1024
DEFAULT_MAX_EVENT_BYTES: Final = 4 * 1024 * 1024

MAX_CONNECTIONS: Final = 1000
MAX_KEEPALIVE_CONNECTIONS: Final = 100

WAIT_WARNING: Final = 5.0
"""A longer wait (a rate-limit turn, a retry asked for) is a WARNING once a call: silence looks
like a hang."""
