"""Arguments of the wrong type are `MaviValidationError`s that name the argument, what was given
(its type only: a wrong argument may hold a key) and what to pass, raised when the client or
the credentials are built, never an AttributeError or TypeError from deep inside httpx
(docs/errors-and-wire.md, "Errors")."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mavi_core import AsyncMaviClient, MaviClient, MaviTokenAuth, MaviValidationError

SECRET = "sk-wrong-place-secret-123"


@pytest.mark.parametrize(
    ("build", "named", "given", "advice"),
    [
        (lambda: MaviClient(SECRET, http_client="x"), "http_client", "a str", "httpx.Client"),
        (
            lambda: MaviClient(SECRET, http_client=httpx.AsyncClient()),
            "http_client",
            "an AsyncClient",
            "give this httpx.AsyncClient to AsyncMaviClient",
        ),
        (
            lambda: AsyncMaviClient(SECRET, http_client=httpx.Client()),
            "http_client",
            "a Client",
            "give this httpx.Client to MaviClient",
        ),
        (lambda: MaviClient(SECRET, timeout="10"), "timeout", "a str", "positive seconds"),
        (lambda: MaviClient(SECRET, timeout=-1), "timeout", "-1", "positive seconds"),
        (lambda: MaviClient(SECRET, timeout=math.inf), "timeout", "inf", "None for no limit"),
        (
            lambda: MaviClient(SECRET, timeout=httpx.Timeout("10")),  # type: ignore[arg-type]
            "httpx.Timeout's connect",
            "a str",
            "httpx.Timeout(60.0, connect=5.0)",
        ),
        (
            lambda: AsyncMaviClient(SECRET, timeout=httpx.Timeout(5.0, read=-2.0)),
            "httpx.Timeout's read",
            "-2.0",
            "positive seconds or None",
        ),
        (lambda: MaviClient(SECRET, default_headers=["X-A"]), "default_headers", "a list", "dict"),
        (lambda: MaviClient(SECRET, settings="x"), "settings", "a str", "MaviSettings.resolve"),
        (lambda: MaviClient(auth=SECRET), "auth", "a str", "MaviTokenAuth(access_token"),
        (lambda: MaviTokenAuth(None), "access_token", "None", "client.exchange_code("),
        (lambda: MaviTokenAuth(12345), "access_token", "an int", "client.exchange_code("),
        (
            lambda: MaviTokenAuth("at-1", refresh_token=b"rt"),
            "refresh_token",
            "a bytes",
            "refreshToken",
        ),
        (lambda: MaviTokenAuth("at-1", expires_at="soon"), "expires_at", "a str", "datetime"),
        (lambda: MaviTokenAuth("at-1", on_refresh="save"), "on_refresh", "a str", "function"),
    ],
)
def test_wrong_types_are_validation_errors_that_say_what_to_pass(
    build: Callable[[], Any], named: str, given: str, advice: str
) -> None:
    with pytest.raises(MaviValidationError) as caught:
        build()
    message = str(caught.value)
    assert named in message and f"got {given}" in message and advice in message, message
    assert SECRET not in message


def test_a_credential_of_the_wrong_type_is_described_by_its_type_only() -> None:
    with pytest.raises(MaviValidationError) as caught:
        MaviClient(20240101123456)  # type: ignore[arg-type]
    assert "20240101123456" not in str(caught.value)
    assert "got an int" in str(caught.value)
    with pytest.raises(MaviValidationError) as caught:
        MaviTokenAuth(20240101123456)  # type: ignore[arg-type]
    assert "20240101123456" not in str(caught.value)
