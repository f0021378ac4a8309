"""From envelope codes and HTTP statuses to typed errors: pure, no I/O."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any, Final

from ._constants import MAX_RETRY_AFTER, SUCCESS_CODES
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

__all__ = [
    "envelope_data",
    "error_for_code",
    "error_for_http_status",
    "error_for_message",
    "is_success_code",
    "long_retry_words",
    "normalize_code",
    "parse_retry_after",
    "retry_after_from_headers",
    "token_advice",
    "unwaited",
    "wait_text",
    "with_retry_after",
]

_ADVICE: dict[type[MaviAPIError], str] = {
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

_NOT_FOUND_ADVICE = (
    "Is base_url right? It must be the API host, e.g. https://mavi-backend.memories.ai, "
    "without a path."
)

_CODE_CLASSES: dict[str, type[MaviAPIError]] = {
    "0001": MaviInvalidRequestError,
    "0003": MaviInvalidRequestError,
    "0401": MaviAuthenticationError,
    "9009": MaviAuthenticationError,
    "0402": MaviPermissionDeniedError,
    "0403": MaviPermissionDeniedError,
    "0404": MaviInvalidRequestError,
    "0409": MaviConflictError,
    "0429": MaviRateLimitError,
    # The video-understanding API's codes are its HTTP statuses (400, 405, 415, 500, ...).
    "0400": MaviInvalidRequestError,
    "0405": MaviInvalidRequestError,
    "0415": MaviInvalidRequestError,
    "0500": MaviServerError,
}


def normalize_code(code: object) -> str:
    """Codes are four-digit strings; some replies send them as numbers or short strings
    (401 or "401" for "0401")."""
    if isinstance(code, int) and not isinstance(code, bool):
        return f"{code:04d}" if code >= 0 else str(code)
    text = str(code).strip()
    return text.zfill(4) if text.isascii() and text.isdigit() else text


def is_success_code(code: object) -> bool:
    return code is not None and normalize_code(code) in SUCCESS_CODES


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` (seconds or HTTP-date) or `retry-after-ms` value."""
    if value is None:
        return None
    value = value.strip()
    try:
        return _sane_wait(float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # rare: not worth a cost at import

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return _sane_wait(when.timestamp() - (time.time() if now is None else now))


def _sane_wait(seconds: float) -> float | None:
    """A wait in seconds, or None (normal backoff) when negative, past, NaN or infinite."""
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _sentence(text: str) -> str:
    """`text` ending with exactly one full stop (the service's messages often bring their own)."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def wait_text(seconds: float) -> str:
    """A wait for a message, never shorter than `seconds` (waiting less than the service asked
    earns another 429): "60.4 seconds", then minutes, hours or days, rounded up."""
    for limit, size, digits, unit in (
        (600.0, 1.0, 1, "seconds"),
        (7200.0, 60.0, 0, "minutes"),
        (172800.0, 3600.0, 1, "hours"),
    ):
        if seconds < limit:
            return f"{_up(seconds / size, digits)} {unit}"
    return f"{_up(seconds / 86400.0, 0)} days"


def _up(value: float, digits: int) -> str:
    """`value` rounded up to `digits` decimals (a float's last bits do not count), as text."""
    scale = 10**digits
    tenths = math.ceil(round(value * scale, 6))
    whole, part = divmod(tenths, scale)
    return f"{whole}.{part}" if part else str(whole)


def _retry_advice(error_class: type[MaviAPIError], retry_after: float | None) -> str:
    if retry_after is None:
        return _ADVICE.get(error_class, "")
    if error_class is MaviRateLimitError:
        return f"Retry after {wait_text(retry_after)}."
    return f"{_ADVICE.get(error_class, '')} MAVI asked to retry after {wait_text(retry_after)}."


def _describe(message: str, error_class: type[MaviAPIError], retry_after: float | None) -> str:
    return f"{_sentence(message)} {_retry_advice(error_class, retry_after)}".strip()


def with_retry_after(error: MaviError, retry_after: float | None) -> MaviError:
    """`error` (made without the reply's headers: a `0429` envelope sent with HTTP 200) with
    the wait those headers ask for, in `retry_after` and in its advice."""
    if retry_after is None or error.retry_after is not None:
        return error
    error.retry_after = float(retry_after)
    if isinstance(error, MaviAPIError):
        old = _ADVICE.get(type(error), "")
        new = _retry_advice(type(error), retry_after)
        base = error.message.removesuffix(old).rstrip() if old else error.message
        _set_message(error, f"{base} {new}")
    return error


def long_retry_words(error: MaviError, seconds: float) -> str:
    """What a long wait before a retry is for, with the service's words when it sent any, and
    how to change it (logged as a warning: a silent long wait looks like a hang)."""
    asked = "as the service asked" if error.retry_after is not None else "backing off"
    said = f' The service said: "{error.msg.strip()[:300]}".' if error.msg else ""
    where = f" {error.request_method} {error.request_url}" if error.request_url else ""
    return (
        f"MAVI: waiting {wait_text(seconds)} before retrying{where}, {asked} "
        f"({type(error).__name__}).{said} To fail at once instead, pass max_retries=0 or a "
        "shorter `deadline`."
    )


def unwaited(error: MaviError, longest: float, deadline: float | None) -> MaviError:
    """`error`, raised instead of waiting the `retry_after` it carries, which is longer than
    this client waits: `longest` (what is left of the call's `deadline`, at most the 60 s a
    `Retry-After` is honoured up to). Its message says so, and when to try again."""
    retry_after = error.retry_after
    if retry_after is None:
        return error
    asked = wait_text(retry_after)
    message = error.message
    if asked not in message:
        message += f" MAVI asked to retry after {asked}."
    if deadline is not None and longest < MAX_RETRY_AFTER:
        why = f"the {wait_text(max(longest, 0.0))} left of the call's deadline of {deadline:g} s"
    else:
        why = f"at most {wait_text(MAX_RETRY_AFTER)}, the longest Retry-After it honours"
    _set_message(error, f"{message} The client did not wait that long ({why}).")
    return error


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
    """`error`, raised while using access tokens, with advice that fits them instead of the
    API key's: `stage` is "expired" (rejected, no refresh token), "refreshed" (rejected after
    a refresh), "refresh" (the refresh call failed) or "exchange" (the code was refused)."""
    key_advice = _ADVICE[MaviAuthenticationError]
    base = error.message.removesuffix(key_advice).rstrip()
    base = base.removesuffix(_ADVICE[MaviInvalidRequestError]).rstrip()
    _set_message(error, f"{_sentence(base)} {_TOKEN_ADVICE[stage]}")
    return error


def _set_message(error: MaviError, message: str) -> None:
    error.message = message
    error.args = (message, *error.args[1:])


def error_for_code(
    code: str,
    msg: str | None,
    *,
    status_code: int | None = 200,
    retry_after: float | None = None,
) -> MaviAPIError:
    """The error for an envelope whose code is not success."""
    error_class = _CODE_CLASSES.get(code) or _http_class(status_code or 200)
    known = code in _CODE_CLASSES
    text = f"MAVI answered {'' if known else 'an unknown error '}code {code}: {msg or 'no message'}"
    if status_code not in (None, 200):
        text += f" (HTTP {status_code})"
    described = _describe(text, error_class, retry_after)
    if code == "0404" or status_code == 404:
        described = f"{_sentence(text)} {_NOT_FOUND_ADVICE}"
    return error_class(
        described,
        code=code,
        msg=msg,
        status_code=status_code,
        retry_after=retry_after,
    )


_MESSAGE_CLASSES: tuple[tuple[tuple[str, ...], type[MaviAPIError]], ...] = (
    (("login", "token", "unauthori", "api key", "apikey"), MaviAuthenticationError),
    (("credit", "permission", "forbidden", "disabled"), MaviPermissionDeniedError),
    (("exceeded the limit", "rate limit", "too many"), MaviRateLimitError),
    (
        ("not parsed", "not exist", "invalid", "not found", "required", "empty"),
        MaviInvalidRequestError,
    ),
)


def error_for_message(text: str) -> MaviAPIError:
    """The error for a bare string the newer API sends instead of an envelope, classed by what it
    says ("Video is not parsed" is an invalid request, "user don't login" an auth error)."""
    lower = text.lower()
    error_class: type[MaviAPIError] = MaviServerError
    for words, candidate in _MESSAGE_CLASSES:
        if any(word in lower for word in words):
            error_class = candidate
            break
    what = f"MAVI answered with an error: {text.strip()[:300] or 'no message'}"
    return error_class(_describe(what, error_class, None), msg=text)


def _http_class(status_code: int) -> type[MaviAPIError]:
    """The class an HTTP status means; 2xx and 3xx mean an unknown (server) error."""
    if status_code == 401:
        return MaviAuthenticationError
    if status_code in (402, 403):
        return MaviPermissionDeniedError
    if status_code == 409:
        return MaviConflictError
    if status_code == 429:
        return MaviRateLimitError
    if 400 <= status_code < 500 and status_code != 408:
        return MaviInvalidRequestError
    return MaviServerError


def error_for_http_status(
    status_code: int,
    body: bytes | None,
    *,
    retry_after: float | None = None,
    location: str | None = None,
) -> MaviAPIError | MaviTimeoutError:
    """The error for an HTTP status other than 2xx.

    A known envelope code in the body decides the class; otherwise the HTTP status does (an
    unknown code with HTTP 429 is still a rate limit, with HTTP 401 still an auth error).
    `body` is at most a short prefix of the reply, None when it could not be read (an
    encoding not asked for, corrupt gzip): the status decides; `location` is a redirect's
    target.
    """
    envelope = None if body is None else _try_envelope(body)
    code = None if envelope is None else envelope.get("code")
    if code is not None and not is_success_code(code):
        normalized = normalize_code(code)
        if normalized in _CODE_CLASSES or status_code != 408:
            return error_for_code(
                normalized,
                _text(envelope.get("msg")) if envelope is not None else None,
                status_code=status_code,
                retry_after=retry_after,
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
    error_class = _http_class(status_code)
    snippet = "" if body is None else body[:200].decode("utf-8", "replace").strip()
    if body is None:
        what = f"MAVI answered HTTP {status_code} with a body the client could not read."
    elif snippet.lower().startswith(("<!doctype", "<html")):
        what = f"MAVI answered HTTP {status_code} with an HTML page (a proxy or gateway error)."
    elif snippet:
        what = f"MAVI answered HTTP {status_code}: {snippet}"
    else:
        what = f"MAVI answered HTTP {status_code} with an empty body."
    described = _describe(what, error_class, retry_after)
    if status_code == 404:
        described = f"{_sentence(what)} {_NOT_FOUND_ADVICE}"
    return error_class(
        described,
        status_code=status_code,
        retry_after=retry_after,
    )


def _origin(location: str | None) -> str:
    """Where a redirect points: scheme and host only (a path, a query or a user may carry
    anything)."""
    if not location:
        return "an unnamed place"
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(location.strip())
    except ValueError:
        return "an unreadable address"
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}" if host else "another path on the same host"


def envelope_data(envelope: Mapping[str, Any], *, status_code: int = 200) -> Any:
    """`data` of a success envelope; raises the matching error for any other code."""
    code = envelope.get("code")
    if code is None:
        raise MaviServerError(
            "MAVI answered JSON without a 'code' field; the reply is not a MAVI envelope. "
            "Check base_url.",
            status_code=status_code,
        )
    if isinstance(code, bool) or not isinstance(code, str | int):
        raise MaviServerError(
            f"MAVI answered an envelope whose 'code' is a {type(code).__name__}, not a string; "
            "the reply is not a MAVI envelope. Check base_url.",
            status_code=status_code,
        )
    if is_success_code(code):
        return envelope.get("data")
    raise error_for_code(normalize_code(code), _text(envelope.get("msg")), status_code=status_code)


def _try_envelope(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body, strict=False)  # raw control characters in strings: text
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) and "code" in value else None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def retry_after_from_headers(headers: Mapping[str, str]) -> float | None:
    """The wait a reply asks for: `retry-after-ms`, else `Retry-After` (seconds or HTTP-date)."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return _sane_wait(float(milliseconds) / 1000.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))
