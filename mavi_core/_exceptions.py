"""Every error `mavi_core` raises, in one place.

Who is at fault decides the branch, as in h11: a local error means the caller's input was wrong
and nothing was sent; a remote error means the service or the network failed.

MaviError
├── MaviValidationError               local: rejected before any request (also a ValueError)
└── MaviRemoteError                   remote: the service or the network failed
    ├── MaviAPIError                  the service answered with an error code or HTTP status
    │   ├── MaviInvalidRequestError   0001 / 0003 / 0404, HTTP 400 / 404 / 422
    │   ├── MaviAuthenticationError   0401 / 9009, HTTP 401, no credentials configured
    │   ├── MaviPermissionDeniedError 0403 / 0402, HTTP 403
    │   ├── MaviConflictError         0409, HTTP 409
    │   ├── MaviRateLimitError        0429, HTTP 429
    │   └── MaviServerError           HTTP 5xx, unknown codes, unreadable or oversized replies
    ├── MaviConnectionError           the service could not be reached
    │   └── MaviTimeoutError          connect, read or stream-idle timeout, deadline (HTTP 408 too)
    ├── MaviVideoError                a video failed to parse or transcribe, or does not exist
    └── MaviStreamError               a reply broke or carried an error after answer text arrived
        ├── MaviStreamTimeoutError    ... because it went silent (also a MaviTimeoutError)
        └── MaviStream<Kind>Error     ... with the service's error (also the MaviAPIError kind)

Every error has `message` (its text), `code` and `msg` (the service's code and its own message),
`status_code`, `retry_after`, and for remote errors the request's `request_method` and
`request_url` and the service's `request_id` when a reply header carried one (all `None` where
they do not apply). Messages say what happened and what to do; they never contain a key or token.
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
    "MaviRemoteError",
    "MaviServerError",
    "MaviStreamError",
    "MaviStreamTimeoutError",
    "MaviTimeoutError",
    "MaviValidationError",
    "MaviVideoError",
]


class MaviError(Exception):
    """Base class of every error raised by `mavi_core`.

    Every attribute exists on every instance (``None`` where it does not apply), so handlers
    can log them without type checks.
    """

    code: str | None = None
    msg: str | None = None
    """The service's own message, as it sent it."""
    status_code: int | None = None
    retry_after: float | None = None
    request_method: str | None = None
    request_url: str | None = None
    """The URL the failed request went to (credentials never travel in it)."""
    request_id: str | None = None
    """The service's id for the request, when a reply header carried one: quote it to support."""

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
        self.retry_after = None if retry_after is None else float(retry_after)

    def __reduce__(self) -> tuple[object, ...]:
        # Keeps the keyword-only attributes through pickling (multiprocessing, some tracers).
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[MaviError], message: str, state: dict[str, object]) -> MaviError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class MaviValidationError(MaviError, ValueError):
    """Local: the input was wrong and the request was rejected before anything was sent."""


class MaviRemoteError(MaviError):
    """Remote: the service or the network failed (the request may have been sent)."""


class MaviAPIError(MaviRemoteError):
    """The service answered, with an error code in the envelope or an HTTP error status."""


class MaviInvalidRequestError(MaviAPIError):
    """The service rejected a parameter (codes 0001 / 0003): fix the request; retrying will not
    help."""


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


class MaviConnectionError(MaviRemoteError):
    """The service could not be reached or the connection broke before an answer arrived."""


class MaviTimeoutError(MaviConnectionError):
    """Connecting, reading, or waiting for the next streamed event took longer than allowed."""


class MaviStreamError(MaviRemoteError):
    """A stream broke or carried an error after part of the answer had been delivered.

    What was delivered stays valid; it is never repeated. `code` / `msg` hold the service's
    error when the stream ended with an error envelope. For `chat()`, which hands out nothing
    until the end, `partial_text` holds the text that arrived before the failure.
    """

    partial_text: str | None = None


class MaviStreamTimeoutError(MaviStreamError, MaviTimeoutError):
    """A stream went silent longer than the read timeout after part of the answer was delivered."""


# An error the service sends after answer text keeps its class too, so `except
# MaviInvalidRequestError` catches "Video is not parsed" whether or not text came first.
class MaviStreamInvalidRequestError(MaviStreamError, MaviInvalidRequestError):
    """The service refused the request after part of the answer was delivered."""


class MaviStreamAuthenticationError(MaviStreamError, MaviAuthenticationError):
    """The credentials were refused after part of the answer was delivered."""


class MaviStreamPermissionDeniedError(MaviStreamError, MaviPermissionDeniedError):
    """Permission was denied after part of the answer was delivered."""


class MaviStreamConflictError(MaviStreamError, MaviConflictError):
    """The service reported a conflict after part of the answer was delivered."""


class MaviStreamRateLimitError(MaviStreamError, MaviRateLimitError):
    """The service reported its rate limit after part of the answer was delivered."""


class MaviStreamServerError(MaviStreamError, MaviServerError):
    """The service failed after part of the answer was delivered."""


STREAM_ERRORS: dict[type[MaviAPIError], type[MaviStreamError]] = {
    MaviInvalidRequestError: MaviStreamInvalidRequestError,
    MaviAuthenticationError: MaviStreamAuthenticationError,
    MaviPermissionDeniedError: MaviStreamPermissionDeniedError,
    MaviConflictError: MaviStreamConflictError,
    MaviRateLimitError: MaviStreamRateLimitError,
    MaviServerError: MaviStreamServerError,
}
"""The stream error for each service error class: both at once."""


class MaviVideoError(MaviRemoteError):
    """A video could not be parsed or transcribed, or is not in the library (`video_nos`)."""

    def __init__(self, message: str, *, video_nos: list[str] | None = None) -> None:
        super().__init__(message)
        self.video_nos = video_nos or []
