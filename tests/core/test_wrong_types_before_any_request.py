"""Wrong-type inputs must be a MaviValidationError (a ValueError) naming what was wrong
and what to pass, before any request (docs/errors-and-wire.md, "Errors")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mavi_core import MaviClient, MaviValidationError, RateLimit
from tests.support.rawserver import RawServer, raw_server
from tests.support.servers import KEY, json_server, ok

pytestmark = pytest.mark.integration


@pytest.fixture
def server() -> Iterator[RawServer]:
    """Answers every request with a success envelope; tests count what reached it."""
    with raw_server(json_server(lambda request: ok({"taskNo": "T1"}))) as running:
        yield running


CALLS: dict[str, Callable[[MaviClient], Any]] = {
    "transcribe timeout as text": lambda c: c.transcribe("VI1", "AUDIO", timeout="5"),
    "transcribe poll_interval 0": lambda c: c.transcribe("VI1", "AUDIO", poll_interval=0),
    "transcribe callback_uri as int": lambda c: c.transcribe(
        "VI1", "AUDIO", callback_uri=5, timeout=0.5
    ),
    "get_transcripts timeout as text": lambda c: c.get_transcripts(["VI1"], timeout="5"),
    "get_transcripts poll_interval -1": lambda c: c.get_transcripts(["VI1"], poll_interval=-1),
    "upload_video on_progress not callable": lambda c: c.upload_video(
        "https://example.com/a.mp4", on_progress=5
    ),
    "upload_video progress as text": lambda c: c.upload_video(
        "https://example.com/a.mp4", progress="no"
    ),
}


@pytest.mark.parametrize("api_version", ["v1.0", "v1.2"])
@pytest.mark.parametrize("call", list(CALLS), ids=list(CALLS))
def test_wrong_types_fail_before_any_request(
    server: RawServer, call: str, api_version: str, empty_transcript_cache: None
) -> None:
    with MaviClient(KEY, base_url=server.base_url, api_version=api_version) as client:
        client._sleep = lambda seconds: None  # type: ignore[attr-defined]
        with pytest.raises(MaviValidationError):
            CALLS[call](client)
    assert server.requests == [], f"{len(server.requests)} request(s) sent before the check"


RATE_LIMITS: dict[str, Callable[[], Any]] = {
    "margin as text": lambda: RateLimit(margin="x"),
    "on_wait not callable": lambda: RateLimit(on_wait=5),
    "time_scale infinite": lambda: RateLimit(time_scale=float("inf")),
    "budget as text": lambda: RateLimit(budgets={"chat": "5"}),
    "pause as text": lambda: RateLimit().pause("chat", "5"),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("make", list(RATE_LIMITS), ids=list(RATE_LIMITS))
def test_rate_limit_options_are_checked_when_built(make: str) -> None:
    """A wrong RateLimit option fails when built, as the clients' options do; today it is
    accepted and fails at the first wait (TypeError mid-call; a 'store could not be used'
    MaviConnectionError blaming memory://), or raises AttributeError/TypeError."""
    with pytest.raises(MaviValidationError):
        limit = RATE_LIMITS[make]()
        limit.acquire("chat", account="a")
        limit.acquire("chat", account="a")
