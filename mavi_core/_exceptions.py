"""Every error `mavi_core` raises, in one place.

MaviError
├── MaviAPIError                      the service answered with an error code or HTTP status
│   ├── MaviInvalidRequestError       0001 / 0003, HTTP 400 / 404 / 422
│   │   └── MaviValidationError       caught before any request was sent (also a ValueError)
│   ├── MaviAuthenticationError       0401 / 9009, HTTP 401, no credentials configured
│   ├── MaviPermissionDeniedError     0403 / 0402, HTTP 403
│   ├── MaviConflictError             0409, HTTP 409
│   ├── MaviRateLimitError            0429, HTTP 429
│   └── MaviServerError               HTTP 5xx, unknown codes, unreadable replies
├── MaviConnectionError               the service could not be reached
│   └── MaviTimeoutError              connect, read or stream-idle timeout (HTTP 408 too)
├── MaviVideoError                    a video failed to parse or transcribe, or does not exist
└── MaviStreamError                   a stream broke or was malformed after it started
    └── MaviStreamTimeoutError        ... because it went silent (also a MaviTimeoutError)

Messages say what happened and what to do; they never contain a key or token.
"""

from __future__ import annotations

__all__ = [
    "MaviAPIError",
    "MaviAuthenticationError",
    "MaviConflictError",
    "MaviConnectionError",
    "MaviError",
    "MaviInvalidRequestError",
    "MaviPermissionDeniedError",
    "MaviRateLimitError",
    "MaviServerError",
    "MaviStreamError",
    "MaviStreamTimeoutError",
    "MaviTimeoutError",
    "MaviValidationError",
    "MaviVideoError",
]


class MaviError(Exception):
    """Base class of every error raised by `mavi_core`.

    `code`, `msg` and `status_code` exist on every instance (``None`` where they do not apply),
    so handlers can log them without type checks.
    """

    code: str | None = None
    msg: str | None = None
    status_code: int | None = None
    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        msg: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.msg = msg
        self.status_code = status_code
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[object, ...]:
        # Keeps the keyword-only attributes through pickling (multiprocessing, some tracers).
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[MaviError], message: str, state: dict[str, object]) -> MaviError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class MaviAPIError(MaviError):
    """The service answered, with an error code in the envelope or an HTTP error status."""


class MaviInvalidRequestError(MaviAPIError):
    """A parameter was wrong (codes 0001 / 0003): fix the request; retrying will not help."""


class MaviValidationError(MaviInvalidRequestError, ValueError):
    """The request was rejected locally, before anything was sent."""


class MaviAuthenticationError(MaviAPIError):
    """The key or token is missing, invalid or expired (code 0401)."""


class MaviPermissionDeniedError(MaviAPIError):
    """The account may not do this (code 0403, or 0402: not enough credits)."""


class MaviConflictError(MaviAPIError):
    """The request conflicts with the current state, e.g. deleting twice (code 0409)."""


class MaviRateLimitError(MaviAPIError):
    """Too many requests (code 0429 or HTTP 429); `retry_after` says when to try again if known."""


class MaviServerError(MaviAPIError):
    """The service failed (HTTP 5xx), answered with an unknown code, or sent an unreadable reply."""


class MaviConnectionError(MaviError):
    """The service could not be reached or the connection broke before an answer arrived."""


class MaviTimeoutError(MaviConnectionError):
    """Connecting, reading, or waiting for the next streamed event took longer than allowed."""


class MaviStreamError(MaviError):
    """A stream broke or carried an error after part of the answer had been delivered.

    What was delivered stays valid; it is never repeated. `code` / `msg` hold the service's
    error when the stream ended with an error envelope. For `chat()`, which hands out nothing
    until the end, `partial_text` holds the text that arrived before the failure.
    """

    partial_text: str | None = None


class MaviStreamTimeoutError(MaviStreamError, MaviTimeoutError):
    """A stream went silent longer than the read timeout after part of the answer was delivered."""


class MaviVideoError(MaviError):
    """A video could not be parsed or transcribed, or is not in the library (`video_nos`)."""

    def __init__(self, message: str, *, video_nos: list[str] | None = None) -> None:
        super().__init__(message)
        self.video_nos = video_nos or []
