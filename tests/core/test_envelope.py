"""Envelope codes and HTTP statuses to typed errors; `Retry-After` parsing."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from mavi_core import (
    MaviAuthenticationError,
    MaviConflictError,
    MaviError,
    MaviInvalidRequestError,
    MaviPermissionDeniedError,
    MaviRateLimitError,
    MaviServerError,
    MaviTimeoutError,
)
from mavi_core._envelope import (
    envelope_data,
    error_for_code,
    error_for_http_status,
    parse_retry_after,
    retry_after_from_headers,
    wait_text,
)


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        ("0001", MaviInvalidRequestError),
        ("0003", MaviInvalidRequestError),
        ("0401", MaviAuthenticationError),
        ("9009", MaviAuthenticationError),
        ("0402", MaviPermissionDeniedError),
        ("0403", MaviPermissionDeniedError),
        ("0409", MaviConflictError),
        ("0429", MaviRateLimitError),
        ("0500", MaviServerError),
        ("1234", MaviServerError),
    ],
)
def test_envelope_code_maps_to_error_class(code: str, error_class: type[MaviError]) -> None:
    error = error_for_code(code, "what the service said")
    assert type(error) is error_class
    assert (error.code, error.msg, error.status_code) == (code, "what the service said", 200)
    assert code in str(error)
    assert "what the service said" in str(error)


@pytest.mark.parametrize("code", ["0000", "SUCCESS", "success"])
def test_success_envelope_returns_data(code: str) -> None:
    assert envelope_data({"code": code, "msg": "success", "data": {"x": 1}}) == {"x": 1}


def test_error_envelope_raises_with_http_200() -> None:
    with pytest.raises(MaviConflictError) as caught:
        envelope_data({"code": "0409", "msg": "duplicate"})
    assert caught.value.status_code == 200


def test_json_without_code_is_not_an_envelope() -> None:
    with pytest.raises(MaviServerError, match="base_url"):
        envelope_data({"hello": "world"})


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, MaviInvalidRequestError),
        (401, MaviAuthenticationError),
        (403, MaviPermissionDeniedError),
        (404, MaviInvalidRequestError),
        (408, MaviTimeoutError),
        (409, MaviConflictError),
        (429, MaviRateLimitError),
        (500, MaviServerError),
        (502, MaviServerError),
        (503, MaviServerError),
    ],
)
def test_http_status_maps_to_error_class(status: int, error_class: type[MaviError]) -> None:
    error = error_for_http_status(status, b"")
    assert type(error) is error_class
    assert error.status_code == status


def test_envelope_in_an_http_error_body_decides_the_class() -> None:
    error = error_for_http_status(500, b'{"code":"0429","msg":"slow down"}')
    assert type(error) is MaviRateLimitError
    assert (error.code, error.status_code) == ("0429", 500)


def test_html_proxy_page_is_described_as_such() -> None:
    error = error_for_http_status(502, b"<!DOCTYPE html><html>Bad gateway</html>")
    assert isinstance(error, MaviServerError)
    assert "HTML page" in str(error)


def test_rate_limit_message_says_when_to_retry() -> None:
    error = error_for_http_status(429, b"", retry_after=120)
    assert "Retry after 120 seconds" in str(error)
    assert error.retry_after == 120


def test_retry_after_in_seconds_and_as_http_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("1.5") == 1.5
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    date = format_datetime(datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(30.0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retry_after_ms_takes_precedence() -> None:
    assert retry_after_from_headers({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_from_headers({"retry-after": "9"}) == 9.0
    assert retry_after_from_headers({}) is None


@pytest.mark.parametrize(
    ("code", "error_class"), [(401, MaviAuthenticationError), (429, MaviRateLimitError)]
)
def test_numeric_codes_are_read_as_four_digits(code: int, error_class: type[MaviError]) -> None:
    with pytest.raises(error_class):
        envelope_data({"code": code, "msg": "numeric"})
    assert envelope_data({"code": 0, "data": "ok"}) == "ok"


def test_a_message_ending_in_a_period_is_not_given_another() -> None:
    error = error_for_code("0401", "Token is invalid.")
    assert ".." not in str(error)
    assert "Token is invalid. Check the API key" in str(error)


@pytest.mark.parametrize(
    "error", [error_for_code("0404", "not found"), error_for_http_status(404, b"")]
)
def test_a_wrong_base_path_says_to_check_base_url(error: MaviError) -> None:
    assert isinstance(error, MaviInvalidRequestError)
    assert "base_url" in str(error)
    assert "try again later" not in str(error)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (60.4, "60.4 seconds"),
        (60.41, "60.5 seconds"),
        (0.25, "0.3 seconds"),
        (120, "120 seconds"),
        (601, "11 minutes"),
        (9000, "2.5 hours"),
        (10 * 86400 + 1, "11 days"),
    ],
)
def test_waits_in_messages_are_rounded_up(seconds: float, text: str) -> None:
    assert wait_text(seconds) == text


def test_retry_after_stays_a_float_of_seconds() -> None:
    error = error_for_http_status(429, b"", retry_after=120)
    assert type(error.retry_after) is float
    assert type(MaviRateLimitError("x", retry_after=3).retry_after) is float
