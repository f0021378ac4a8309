"""`mavi_core` errors as LangChain errors, translated at one boundary: `translate_errors()`.

    from langchain_mavi.errors import ChatMaviRateLimitError

Each class below is both the `mavi_core` error and the matching `langchain_core.exceptions`
class, so `except MaviRateLimitError` and `except ModelRateLimitError` both catch a rate limit:

MaviError                      ModelError
├── ChatMaviValidationError        ModelInvalidRequestError   rejected before sending; ValueError
├── ChatMaviInvalidRequestError    ModelInvalidRequestError   0001 / 0003, HTTP 400 / 404 / 422
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
]


# One row per class, most specific first (the first class an error is an instance of decides;
# a stream error stays one whatever service error it also is):
# name, the mavi_core class, the langchain_core class, what it means.
_TABLE: tuple[tuple[str, type[MaviError], type[ModelError], str], ...] = (
    (
        "ChatMaviValidationError",
        MaviValidationError,
        ModelInvalidRequestError,
        "The input was rejected locally, before anything was sent (also a `ValueError`).",
    ),
    (
        "ChatMaviStreamTimeoutError",
        MaviStreamTimeoutError,
        ModelTimeoutError,
        "A stream went silent after part of the answer was delivered.",
    ),
    (
        "ChatMaviStreamError",
        MaviStreamError,
        ModelAPIError,
        "A stream broke after part of the answer was delivered; that part is not repeated.",
    ),
    (
        "ChatMaviInvalidRequestError",
        MaviInvalidRequestError,
        ModelInvalidRequestError,
        "MAVI rejected a parameter (video numbers, message, history); retrying will not help.",
    ),
    (
        "ChatMaviAuthenticationError",
        MaviAuthenticationError,
        ModelAuthenticationError,
        "The key or token is missing, invalid or expired.",
    ),
    (
        "ChatMaviPermissionDeniedError",
        MaviPermissionDeniedError,
        ModelPermissionDeniedError,
        "The account may not do this (disabled, or out of credits).",
    ),
    (
        "ChatMaviConflictError",
        MaviConflictError,
        ModelInvalidRequestError,
        "The request conflicts with the current state; MAVI says not to retry it.",
    ),
    (
        "ChatMaviRateLimitError",
        MaviRateLimitError,
        ModelRateLimitError,
        "Too many requests, still refused after the client's own retries.",
    ),
    (
        "ChatMaviServerError",
        MaviServerError,
        ModelAPIError,
        "MAVI failed, answered an unknown code, or sent an unreadable reply.",
    ),
    (
        "ChatMaviAPIError",
        MaviAPIError,
        ModelAPIError,
        "MAVI answered with an error that has no more specific class.",
    ),
    (
        "ChatMaviTimeoutError",
        MaviTimeoutError,
        ModelTimeoutError,
        "MAVI did not answer in time.",
    ),
    (
        "ChatMaviConnectionError",
        MaviConnectionError,
        ModelConnectionError,
        "MAVI could not be reached, or the connection broke before an answer arrived.",
    ),
    (
        "ChatMaviError",
        MaviError,
        ModelError,
        "A `mavi_core` error with no more specific LangChain counterpart.",
    ),
)

_CLASSES: dict[str, type[MaviError]] = {
    name: type(name, (mavi_class, langchain_class), {"__doc__": doc, "__module__": __name__})
    for name, mavi_class, langchain_class, doc in _TABLE
}
_TRANSLATIONS = [(mavi_class, _CLASSES[name]) for name, mavi_class, _, _ in _TABLE]

ChatMaviValidationError = _CLASSES["ChatMaviValidationError"]
ChatMaviInvalidRequestError = _CLASSES["ChatMaviInvalidRequestError"]
ChatMaviAuthenticationError = _CLASSES["ChatMaviAuthenticationError"]
ChatMaviPermissionDeniedError = _CLASSES["ChatMaviPermissionDeniedError"]
ChatMaviConflictError = _CLASSES["ChatMaviConflictError"]
ChatMaviRateLimitError = _CLASSES["ChatMaviRateLimitError"]
ChatMaviServerError = _CLASSES["ChatMaviServerError"]
ChatMaviAPIError = _CLASSES["ChatMaviAPIError"]
ChatMaviStreamTimeoutError = _CLASSES["ChatMaviStreamTimeoutError"]
ChatMaviStreamError = _CLASSES["ChatMaviStreamError"]
ChatMaviTimeoutError = _CLASSES["ChatMaviTimeoutError"]
ChatMaviConnectionError = _CLASSES["ChatMaviConnectionError"]
ChatMaviError = _CLASSES["ChatMaviError"]


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
