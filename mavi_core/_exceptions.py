"""Every error `mavi_core` raises: a local one (`MaviValidationError`) means nothing was sent, a
remote one that the service or the network failed (docs/errors-and-wire.md#errors)."""

from __future__ import annotations


class MaviError(Exception):
    """Base of every `mavi_core` error; every attribute is on every instance (None if unused)."""

    request_method: str | None = None
    request_url: str | None = None
    request_id: str | None = None  # from a reply header: quote it to support

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


class MaviValidationError(MaviError, ValueError):
    """Local: the input was wrong and the request was rejected before anything was sent."""


class MaviRemoteError(MaviError):
    """Remote: the service or the network failed (the request may have been sent)."""


class MaviAPIError(MaviRemoteError):
    """The service answered, with an error code in the envelope or an HTTP error status."""


class MaviInvalidRequestError(MaviAPIError):
    """The service rejected a parameter (codes 0001 / 0003): retrying will not help."""


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
    """A stream failed after part of the answer arrived; `chat()` keeps that in `partial_text`."""

    partial_text: str | None = None


class MaviStreamTimeoutError(MaviStreamError, MaviTimeoutError):
    """A stream went silent longer than the read timeout after part of the answer was delivered."""


# An error the service sends after answer text keeps its class: `except` catches it either way.
STREAM_ERRORS: dict[type[MaviAPIError], type[MaviStreamError]] = {
    kind: type(
        kind.__name__.replace("Mavi", "MaviStream", 1),
        (MaviStreamError, kind),
        {"__doc__": f"A {kind.__name__} sent after part of the answer.", "__module__": __name__},
    )
    for kind in MaviAPIError.__subclasses__()
}
globals().update({error.__name__: error for error in STREAM_ERRORS.values()})  # for pickle


class MaviVideoError(MaviRemoteError):
    """A video could not be parsed or transcribed, or is not in the library (`video_nos`)."""

    def __init__(self, message: str, *, video_nos: list[str] | None = None) -> None:
        super().__init__(message)
        self.video_nos = video_nos or []
