"""`mavi_core` errors as LangChain errors, translated at one boundary: `translate_errors()`.

Each class below is both the `mavi_core` error and the matching `langchain_core.exceptions`
class, so `except MaviRateLimitError` and `except ModelRateLimitError` both catch a rate limit:

MaviError                      ModelError
├── ChatMaviInvalidRequestError    ModelInvalidRequestError   0001 / 0003, HTTP 400 / 404 / 422
│   └── ChatMaviValidationError    (also a ValueError)        rejected before any request
├── ChatMaviAuthenticationError    ModelAuthenticationError   0401 / 9009, HTTP 401, no key
├── ChatMaviPermissionDeniedError  ModelPermissionDeniedError 0403 / 0402, HTTP 403
├── ChatMaviConflictError          ModelInvalidRequestError   0409, HTTP 409
├── ChatMaviRateLimitError         ModelRateLimitError        0429, HTTP 429
├── ChatMaviServerError            ModelAPIError              HTTP 5xx, unknown codes
├── ChatMaviAPIError               ModelAPIError              any other API error
├── ChatMaviConnectionError        ModelConnectionError       the service could not be reached
├── ChatMaviTimeoutError           ModelTimeoutError          connect / read / idle timeout
├── ChatMaviStreamError            ModelAPIError              a stream broke after it started
│   └── ChatMaviStreamTimeoutError ModelTimeoutError          ... because it went silent
└── ChatMaviError                  ModelError                 anything else from mavi_core
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from mavi_core import (
    MaviAPIError,
    MaviAuthenticationError,
    MaviConflictError,
    MaviConnectionError,
    MaviError,
    MaviInvalidRequestError,
    MaviPermissionDeniedError,
    MaviRateLimitError,
    MaviServerError,
    MaviStreamError,
    MaviStreamTimeoutError,
    MaviTimeoutError,
    MaviValidationError,
)

__all__ = [
    "ChatMaviAPIError",
    "ChatMaviAuthenticationError",
    "ChatMaviConflictError",
    "ChatMaviConnectionError",
    "ChatMaviError",
    "ChatMaviInvalidRequestError",
    "ChatMaviPermissionDeniedError",
    "ChatMaviRateLimitError",
    "ChatMaviServerError",
    "ChatMaviStreamError",
    "ChatMaviStreamTimeoutError",
    "ChatMaviTimeoutError",
    "ChatMaviValidationError",
    "translate_error",
    "translate_errors",
]


class ChatMaviError(MaviError, ModelError):
    """A `mavi_core` error with no more specific LangChain counterpart."""


class ChatMaviInvalidRequestError(MaviInvalidRequestError, ModelInvalidRequestError):
    """MAVI rejected a parameter (video numbers, message, history); retrying will not help."""


class ChatMaviValidationError(MaviValidationError, ChatMaviInvalidRequestError):
    """The request was rejected locally, before anything was sent (also a `ValueError`)."""


class ChatMaviAuthenticationError(MaviAuthenticationError, ModelAuthenticationError):
    """The key or token is missing, invalid or expired."""


class ChatMaviPermissionDeniedError(MaviPermissionDeniedError, ModelPermissionDeniedError):
    """The account may not do this (disabled, or out of credits)."""


class ChatMaviConflictError(MaviConflictError, ModelInvalidRequestError):
    """The request conflicts with the current state; MAVI says not to retry it."""


class ChatMaviRateLimitError(MaviRateLimitError, ModelRateLimitError):
    """Too many requests, still refused after the client's own retries."""


class ChatMaviServerError(MaviServerError, ModelAPIError):
    """MAVI failed, answered an unknown code, or sent an unreadable reply."""


class ChatMaviAPIError(MaviAPIError, ModelAPIError):
    """MAVI answered with an error that has no more specific class."""


class ChatMaviConnectionError(MaviConnectionError, ModelConnectionError):
    """MAVI could not be reached, or the connection broke before an answer arrived."""


class ChatMaviTimeoutError(MaviTimeoutError, ModelTimeoutError):
    """MAVI did not answer in time."""


class ChatMaviStreamError(MaviStreamError, ModelAPIError):
    """A stream broke after part of the answer was delivered; that part is not repeated."""


class ChatMaviStreamTimeoutError(MaviStreamTimeoutError, ModelTimeoutError):
    """A stream went silent after part of the answer was delivered."""


# Most specific first: the first class the error is an instance of decides.
_TRANSLATIONS: tuple[tuple[type[MaviError], type[MaviError]], ...] = (
    (MaviValidationError, ChatMaviValidationError),
    (MaviInvalidRequestError, ChatMaviInvalidRequestError),
    (MaviAuthenticationError, ChatMaviAuthenticationError),
    (MaviPermissionDeniedError, ChatMaviPermissionDeniedError),
    (MaviConflictError, ChatMaviConflictError),
    (MaviRateLimitError, ChatMaviRateLimitError),
    (MaviServerError, ChatMaviServerError),
    (MaviAPIError, ChatMaviAPIError),
    (MaviStreamTimeoutError, ChatMaviStreamTimeoutError),
    (MaviStreamError, ChatMaviStreamError),
    (MaviTimeoutError, ChatMaviTimeoutError),
    (MaviConnectionError, ChatMaviConnectionError),
    (MaviError, ChatMaviError),
)


def translate_error(error: MaviError) -> MaviError:
    """The LangChain-flavoured twin of `error`: same message, code, msg, status and retry_after."""
    if isinstance(error, ModelError):
        return error  # already translated
    for mavi_class, langchain_class in _TRANSLATIONS:
        if isinstance(error, mavi_class):
            twin = langchain_class(
                error.message,
                code=error.code,
                msg=error.msg,
                status_code=error.status_code,
                retry_after=error.retry_after,
            )
            twin.__dict__.update(error.__dict__)
            return twin
    return error  # pragma: no cover - MaviError itself is the last entry


@contextmanager
def translate_errors() -> Iterator[None]:
    """The one boundary where `mavi_core` errors become LangChain errors."""
    try:
        yield
    except MaviError as error:
        twin = translate_error(error)
        if twin is error:
            raise
        raise twin from error
