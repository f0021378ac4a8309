"""From envelope codes and HTTP statuses to typed errors, with their advice: pure, no I/O.
The rules: docs/errors-and-wire.md#errors, docs/errors-and-wire.md#success-and-replies."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from ._constants import MAX_RETRY_AFTER
from ._exceptions import (
    MaviAPIError,
    MaviAuthenticationError,
    MaviConflictError,
    MaviError,
    MaviInvalidRequestError,
    MaviPermissionDeniedError,
    MaviRateLimitError,
    MaviServerError,
    MaviTimeoutError,
)

_E = TypeVar("_E", bound=MaviError)

_ADVICE: dict[type[MaviError], str] = {
    MaviInvalidRequestError: "Check the request parameters (video numbers, message, history).",
    MaviAuthenticationError: (
        "Check the API key (MAVI_API_KEY or api_key=): copy it again from the MAVI console."
    ),
    MaviPermissionDeniedError: "The account may not do this: check its status and credits.",
    MaviConflictError: "The request conflicts with the current state (e.g. it was already done).",
    MaviRateLimitError: (
        "Slow down: MAVI limits calls per endpoint (chat: 10 a minute per key with v1.0, 2 a "
        "minute per account with v1.2); the client waits its turn with rate_limit= "
        "(docs/rate-limits-and-bulk.md)."
    ),
    MaviServerError: "The service failed; try again later.",
}
_NOT_FOUND_ADVICE: Final = (
    "Is base_url right? It must be the API host, e.g. https://mavi-backend.memories.ai, "
    "without a path."
)
_STATUS_CLASSES: Final[Mapping[int, type[MaviAPIError]]] = {
    401: MaviAuthenticationError,
    402: MaviPermissionDeniedError,
    403: MaviPermissionDeniedError,
    409: MaviConflictError,
    429: MaviRateLimitError,
}


def _http_class(status_code: int) -> type[MaviAPIError]:
    """The class an HTTP status means; 2xx and 3xx mean an unknown (server) error."""
    client_error = 400 <= status_code < 500 and status_code != 408
    return _STATUS_CLASSES.get(
        status_code, MaviInvalidRequestError if client_error else MaviServerError
    )


# The video-understanding API's envelope codes are its HTTP statuses ("0415").
_HTTP_CODES: Final = (400, 401, 402, 403, 404, 405, 409, 415, 429, 500)
_CODE_CLASSES: Final[Mapping[str, type[MaviAPIError]]] = {
    "0001": MaviInvalidRequestError,
    "0003": MaviInvalidRequestError,
    "9009": MaviAuthenticationError,
    **{f"{status:04d}": _http_class(status) for status in _HTTP_CODES},
}
_SUCCESS_CODES: Final = frozenset({"0000", "SUCCESS", "success"})


def normalize_code(code: object) -> str:
    """Codes are four-digit strings; some replies send numbers or short strings (401, "401")."""
    text = str(code).strip()
    return text.zfill(4) if text.isascii() and text.isdigit() else text


def is_success_code(code: object) -> bool:
    return code is not None and normalize_code(code) in _SUCCESS_CODES


def kind_of(value: object) -> str:
    """The JSON name of a value's type, for messages about replies of the wrong shape."""
    return {type(None): "null", list: "array", dict: "object", bool: "boolean", str: "string"}.get(
        type(value), "number" if isinstance(value, int | float) else type(value).__name__
    )


def malformed(what: str, status_code: int | None = None) -> MaviServerError:
    return MaviServerError(
        f"MAVI sent {what}; that is not a reply the MAVI API gives. Check base_url points to "
        "the MAVI API.",
        status_code=status_code,
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (seconds or an HTTP-date)."""
    if value is None:
        return None
    try:
        return _sane_wait(float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime  # rare: not worth a cost at import
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return _sane_wait(when.timestamp() - (time.time() if now is None else now))


def retry_after_from_headers(headers: Mapping[str, str]) -> float | None:
    """The wait a reply asks for: `retry-after-ms`, else `Retry-After`."""
    try:
        return _sane_wait(float(headers["retry-after-ms"]) / 1000.0)
    except (KeyError, ValueError):
        return parse_retry_after(headers.get("retry-after"))


def _sane_wait(seconds: float) -> float | None:
    """A wait in seconds, or None (normal backoff) when negative, past, NaN or infinite."""
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


_WAIT_UNITS: Final = (
    (600.0, 1.0, 1, "seconds"),
    (7200.0, 60.0, 0, "minutes"),
    (172800.0, 3600.0, 1, "hours"),
    (math.inf, 86400.0, 0, "days"),
)


def wait_text(seconds: float) -> str:
    """A wait for a message, rounded up (waiting less than asked earns another 429): "60.4
    seconds", then minutes, hours or days."""
    _, size, digits, unit = next((row for row in _WAIT_UNITS if seconds < row[0]), _WAIT_UNITS[-1])
    tenths = math.ceil(round(seconds / size * 10**digits, 6))  # a float's last bits do not count
    whole, part = divmod(tenths, 10**digits)
    return f"{whole}.{part} {unit}" if part else f"{whole} {unit}"


def _advised(error: _E, not_found: bool = False) -> _E:
    """`error` ending with its class's advice: where to look (`not_found`), when to retry."""
    advice, wait = _ADVICE.get(type(error), ""), error.retry_after
    if not_found:
        advice = _NOT_FOUND_ADVICE
    elif wait is not None and type(error) is MaviRateLimitError:
        advice = f"Retry after {wait_text(wait)}."
    elif wait is not None:
        advice += f" MAVI asked to retry after {wait_text(wait)}."
    return _readvise(error, advice)


def _readvise(error: _E, advice: str) -> _E:
    """`error` whose message ends with `advice` instead of its class's: after one full stop (the
    service's words often bring their own)."""
    text = error.message.removesuffix(_ADVICE.get(type(error), "")).rstrip()
    error.message = f"{text if text.endswith(('.', '!', '?')) else text + '.'} {advice}".strip()
    error.args = (error.message, *error.args[1:])
    return error


def with_retry_after(error: MaviError, retry_after: float | None) -> None:
    """Give `error` (made without the reply's headers: a `0429` envelope with HTTP 200) the wait
    those headers ask for, in `retry_after` and in its advice."""
    if retry_after is not None and error.retry_after is None:
        error.retry_after = float(retry_after)
        _advised(error)


def long_retry_words(error: MaviError, seconds: float) -> str:
    """The warning logged before a long wait (a silent one looks like a hang): what it is for,
    the service's words if any, and how to fail at once instead."""
    asked = "as the service asked" if error.retry_after is not None else "backing off"
    said = f' The service said: "{error.msg.strip()[:300]}".' if error.msg else ""
    where = f" {error.request_method} {error.request_url}" if error.request_url else ""
    return (
        f"MAVI: waiting {wait_text(seconds)} before retrying{where}, {asked} "
        f"({type(error).__name__}).{said} To fail at once instead, pass max_retries=0 or a "
        "shorter `deadline`."
    )


def unwaited(error: MaviError, longest: float, deadline: float | None) -> MaviError:
    """`error`, raised instead of waiting its `retry_after`, longer than `longest` (what is left
    of the call's `deadline`, at most `MAX_RETRY_AFTER`): its message says when to retry."""
    retry_after = error.retry_after
    if retry_after is None:
        return error
    asked = wait_text(retry_after)
    said = "" if asked in error.message else f"MAVI asked to retry after {asked}. "
    if deadline is not None and longest < MAX_RETRY_AFTER:
        why = f"the {wait_text(max(longest, 0.0))} left of the call's deadline of {deadline:g} s"
    else:
        why = f"at most {wait_text(MAX_RETRY_AFTER)}, the longest Retry-After it honours"
    return _readvise(error, f"{said}The client did not wait that long ({why}).")


_EXCHANGE: Final = (
    "re-run the code exchange: get a new code at your callback URL and call "
    '`client.exchange_code(client_id, code)` (docs/client.md, "Access tokens")'
)
_TOKEN_ADVICE: Final[Mapping[str, str]] = {
    "expired": (
        "The access token was rejected (expired or revoked) and no refresh_token is known to "
        f"renew it: {_EXCHANGE}, and pass MaviTokenAuth(..., refresh_token=...) so the client "
        "renews it itself."
    ),
    "refreshed": (
        "The access token was rejected even after it was refreshed: the authorization may have "
        f"been revoked; {_EXCHANGE}."
    ),
    "refresh": (
        "Refreshing the access token failed (the refresh token expired, about two months after "
        f"the code exchange, or was revoked): {_EXCHANGE}."
    ),
    "exchange": (
        "The authorization code was refused: a code is single-use and short-lived, so get a new "
        "one at your callback URL and call `client.exchange_code(...)` again "
        '(docs/client.md, "Access tokens").'
    ),
}


def token_advice(error: MaviError, stage: str) -> MaviError:
    """`error` with the access-token advice for `stage` (`_TOKEN_ADVICE`) instead of the key's."""
    return _readvise(error, _TOKEN_ADVICE[stage])


def error_for_code(
    code: object,
    msg: object,
    *,
    status_code: int | None = 200,
    retry_after: float | None = None,
) -> MaviAPIError:
    """The error for an envelope whose code is not success (`msg`: its message, if any)."""
    code, msg = normalize_code(code), None if msg is None else str(msg)
    error_class = _CODE_CLASSES.get(code) or _http_class(status_code or 200)
    unknown = "" if code in _CODE_CLASSES else "an unknown error "
    text = f"MAVI answered {unknown}code {code}: {msg or 'no message'}"
    if status_code not in (None, 200):
        text += f" (HTTP {status_code})"
    error = error_class(text, code=code, msg=msg, status_code=status_code, retry_after=retry_after)
    return _advised(error, code == "0404" or status_code == 404)


_MESSAGE_CLASSES: tuple[tuple[tuple[str, ...], type[MaviAPIError]], ...] = (
    (("login", "token", "unauthori", "api key", "apikey"), MaviAuthenticationError),
    (("credit", "permission", "forbidden", "disabled"), MaviPermissionDeniedError),
    (("exceeded the limit", "rate limit", "too many"), MaviRateLimitError),
    (("not parsed", "not exist", "invalid"), MaviInvalidRequestError),
    (("not found", "required", "empty"), MaviInvalidRequestError),
)


def error_for_message(text: str) -> MaviAPIError:
    """The error for a bare string the newer API sends instead of an envelope, classed by its
    words ("Video is not parsed": an invalid request; "user don't login": an auth error)."""
    lower = text.lower()
    error_class = next(
        (found for words, found in _MESSAGE_CLASSES if any(word in lower for word in words)),
        MaviServerError,
    )
    what = f"MAVI answered with an error: {text.strip()[:300] or 'no message'}"
    return _advised(error_class(what, msg=text))


def error_for_http_status(
    status_code: int,
    body: bytes | None,
    *,
    retry_after: float | None = None,
    location: str | None = None,
) -> MaviAPIError | MaviTimeoutError:
    """The error for a non-2xx status: a known envelope code in `body` (the reply's start; None:
    unreadable) decides the class, else the status does. `location`: a redirect's target."""
    try:
        envelope: Any = json.loads(body, strict=False) if body else None  # control chars: text
    except (ValueError, UnicodeDecodeError, RecursionError):
        envelope = None
    code = envelope.get("code") if isinstance(envelope, dict) else None
    known = code is not None and normalize_code(code) in _CODE_CLASSES
    if code is not None and not is_success_code(code) and (known or status_code != 408):
        return error_for_code(
            code, envelope.get("msg"), status_code=status_code, retry_after=retry_after
        )
    if status_code == 408:
        return MaviTimeoutError(
            "MAVI answered HTTP 408 (request timeout). Try again; raise `timeout` if it persists.",
            status_code=status_code,
        )
    if 300 <= status_code < 400:
        return MaviServerError(
            f"MAVI answered HTTP {status_code}, a redirect to {_origin(location)}. The client "
            "does not follow redirects, so that credentials never reach another host: set "
            "base_url to the address the service redirects to (https, host and port).",
            status_code=status_code,
        )
    snippet = "" if body is None else body[:200].decode("utf-8", "replace").strip()
    if body is None:
        said = " with a body the client could not read."
    elif snippet.lower().startswith(("<!doctype", "<html")):
        said = " with an HTML page (a proxy or gateway error)."
    else:
        said = f": {snippet}" if snippet else " with an empty body."
    what = f"MAVI answered HTTP {status_code}{said}"
    error = _http_class(status_code)(what, status_code=status_code, retry_after=retry_after)
    return _advised(error, status_code == 404)


def _origin(location: str | None) -> str:
    """Where a redirect points: scheme and host only (a path, query or user may carry secrets)."""
    if not location:
        return "an unnamed place"
    try:
        parts = urlsplit(location.strip())
    except ValueError:
        return "an unreadable address"
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}" if host else "another path on the same host"


def envelope_data(envelope: Mapping[str, Any], *, status_code: int = 200) -> Any:
    """`data` of a success envelope; raises the matching error for any other code."""
    code = envelope.get("code")
    if isinstance(code, bool) or not isinstance(code, str | int):
        what = f"whose 'code' is a {kind_of(code)}" if "code" in envelope else "without a 'code'"
        raise malformed(f"a JSON object {what}", status_code)
    if is_success_code(code):
        return envelope.get("data")
    raise error_for_code(code, envelope.get("msg"), status_code=status_code)
