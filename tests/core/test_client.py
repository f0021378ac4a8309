"""Client behaviour over a scripted server: every rule of docs/errors-and-wire.md.

Each test runs through `MaviClient` and `AsyncMaviClient` (the `api` fixture).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from mavi_core import (
    ChatTurn,
    MaviAuthenticationError,
    MaviClient,
    MaviConnectionError,
    MaviInvalidRequestError,
    MaviRateLimitError,
    MaviServerError,
    MaviStreamError,
    MaviTimeoutError,
    MaviValidationError,
    __version__,
)
from mavi_core.constants import DEFAULT_BASE_URL
from tests.support.wire import Body, error_event, event

from .conftest import KEY, Api, Server, stream_reply

ANSWER = ["The harbor ", "wakes ", "at 00:12."]


def test_chat_sends_exactly_the_documented_body(api: Api) -> None:
    api.server.replies = [stream_reply(["whole answer"])]
    answer = api.chat("What happens?", history=[ChatTurn(user="Hi", robot="Hello")])
    assert answer.text == "whole answer"
    assert answer.video_nos == ["VI1"]
    (request,) = api.server.requests
    assert (request.method, request.url.path) == ("POST", "/api/serve/video/chat")
    assert json.loads(request.content) == {
        "videoNos": ["VI1"],
        "message": "What happens?",
        "history": [{"user": "Hi", "robot": "Hello"}],
        "stream": False,
    }


def test_stream_chat_sends_stream_true_and_yields_deltas_in_order(api: Api) -> None:
    api.server.replies = [stream_reply(ANSWER)]
    assert api.stream() == ANSWER
    assert api.server.bodies()[0]["stream"] is True
    assert api.server.bodies()[0]["history"] == []


def test_headers_carry_the_raw_key_and_user_agent(api: Api) -> None:
    api.server.replies = [stream_reply(["a"])]
    api.chat(default_headers={"X-Team": "video"})
    headers = api.server.requests[0].headers
    assert headers["authorization"] == KEY  # raw, no "Bearer"
    assert headers["user-agent"] == f"mavi-integrations/{__version__}"
    assert headers["x-team"] == "video"
    assert headers["content-type"] == "application/json"


def test_plain_json_reply_is_accepted(api: Api) -> None:
    body = json.dumps({"code": "0000", "msg": "success", "data": {"msg": "plain"}})
    api.server.replies = [httpx.Response(200, content=body)]
    assert api.chat().text == "plain"


def test_business_error_with_http_200_raises(api: Api) -> None:
    api.server.replies = [httpx.Response(200, json={"code": "0001", "msg": "videoNos not parsed"})]
    with pytest.raises(MaviInvalidRequestError, match="videoNos not parsed") as caught:
        api.chat()
    assert (caught.value.code, caught.value.status_code) == ("0001", 200)
    assert len(api.server.requests) == 1  # not retried


@pytest.mark.parametrize(
    "failure",
    [
        lambda: httpx.Response(503, text="busy"),
        lambda: httpx.Response(500, text="<html>oops</html>"),
        lambda: httpx.Response(408),
        lambda: httpx.Response(429),
        lambda: httpx.Response(200, json={"code": "0429", "msg": "Request has exceeded."}),
        lambda: httpx.ConnectError("refused"),
        lambda: httpx.ReadTimeout("slow"),
        lambda: httpx.RemoteProtocolError("peer closed"),
    ],
    ids=["503", "500-html", "408", "429", "envelope-0429", "connect", "timeout", "protocol"],
)
def test_transient_failures_are_retried_with_backoff(
    api: Api, failure: Callable[[], httpx.Response | Exception]
) -> None:
    api.server.replies = [failure(), stream_reply(["ok"])]
    assert api.chat().text == "ok"
    assert len(api.server.requests) == 2
    assert len(api.sleeps) == 1
    assert 0.375 <= api.sleeps[0] <= 0.5


def test_backoff_doubles_and_retries_stop_at_max_retries(api: Api) -> None:
    api.server.default = lambda request: httpx.Response(503, text="busy")
    with pytest.raises(MaviServerError) as caught:
        api.chat(max_retries=3)
    assert caught.value.status_code == 503
    assert len(api.server.requests) == 4
    assert all(0.75 * base <= s <= base for s, base in zip(api.sleeps, [0.5, 1, 2], strict=True))


def test_max_retries_zero_sends_once(api: Api) -> None:
    api.server.default = lambda request: httpx.Response(503)
    with pytest.raises(MaviServerError):
        api.chat(max_retries=0)
    assert len(api.server.requests) == 1


def test_retry_after_seconds_is_honoured(api: Api) -> None:
    api.server.replies = [httpx.Response(429, headers={"Retry-After": "3"}), stream_reply(["ok"])]
    assert api.chat().text == "ok"
    assert api.sleeps == [3.0]


def test_retry_after_over_a_minute_raises_saying_when(api: Api) -> None:
    api.server.replies = [httpx.Response(429, headers={"Retry-After": "120"})]
    with pytest.raises(MaviRateLimitError, match="Retry after 120 seconds") as caught:
        api.chat()
    assert caught.value.retry_after == 120
    assert api.sleeps == []
    assert len(api.server.requests) == 1


def test_connection_errors_end_as_typed_errors(api: Api) -> None:
    api.server.default = lambda request: (_ for _ in ()).throw(httpx.ConnectError("refused"))
    with pytest.raises(MaviConnectionError, match="Could not connect"):
        api.chat()
    assert len(api.server.requests) == 3


def test_timeouts_end_as_typed_errors(api: Api) -> None:
    api.server.default = lambda request: (_ for _ in ()).throw(httpx.ConnectTimeout("slow"))
    with pytest.raises(MaviTimeoutError, match="connect timeout"):
        api.chat(max_retries=0)


def test_chat_that_broke_after_text_raises_with_the_text_and_is_not_retried(api: Api) -> None:
    # Once answer text arrived nothing is retried (docs/errors-and-wire.md, "Nothing lost").
    broken = stream_reply(["The harbor "], fail=httpx.RemoteProtocolError("peer closed"))
    api.server.replies = [broken, stream_reply(ANSWER)]
    with pytest.raises(MaviStreamError) as caught:
        api.chat()
    assert caught.value.partial_text == "The harbor "
    assert len(api.server.requests) == 1


def test_stream_is_retried_before_its_first_delta(api: Api) -> None:
    empty_then_broken = stream_reply([], fail=httpx.RemoteProtocolError("peer closed"))
    api.server.replies = [empty_then_broken, stream_reply(ANSWER)]
    assert api.stream() == ANSWER
    assert len(api.server.requests) == 2


def test_stream_error_envelope_before_first_delta_is_retried(api: Api) -> None:
    rate_limited = httpx.Response(200, stream=Body([error_event("0429")]))
    api.server.replies = [rate_limited, stream_reply(ANSWER)]
    assert api.stream() == ANSWER


def test_stream_broken_after_first_delta_is_not_retried_nor_repeated(api: Api) -> None:
    api.server.replies = [
        stream_reply(ANSWER[:2], fail=httpx.RemoteProtocolError("peer closed")),
        stream_reply(ANSWER),
    ]
    received: list[str] = []
    with pytest.raises(MaviStreamError, match="after 17 characters") as caught:
        api.stream(into=received)
    assert received == ANSWER[:2]
    assert len(api.server.requests) == 1
    assert isinstance(caught.value.__cause__, MaviConnectionError)


def test_error_envelope_mid_stream_stops_and_raises(api: Api) -> None:
    body = Body([event("The harbor "), error_event("0500", "model crashed"), event("never")])
    api.server.replies = [httpx.Response(200, stream=body)]
    received: list[str] = []
    with pytest.raises(MaviStreamError, match="model crashed") as caught:
        api.stream(into=received)
    assert received == ["The harbor "]
    assert (caught.value.code, caught.value.msg) == ("0500", "model crashed")
    assert len(api.server.requests) == 1


def test_idle_timeout_mid_stream_is_a_timeout_and_a_stream_error(api: Api) -> None:
    api.server.replies = [stream_reply(ANSWER[:1], fail=httpx.ReadTimeout("idle"))]
    received: list[str] = []
    with pytest.raises(MaviTimeoutError) as caught:
        api.stream(into=received)
    assert isinstance(caught.value, MaviStreamError)
    assert received == ANSWER[:1]
    assert len(api.server.requests) == 1


def test_idle_timeout_before_first_delta_is_retried(api: Api) -> None:
    api.server.replies = [stream_reply([], fail=httpx.ReadTimeout("idle")), stream_reply(ANSWER)]
    assert api.stream() == ANSWER


def test_closing_a_stream_early_closes_the_response(api: Api) -> None:
    body = Body([event(p) for p in ANSWER])
    api.server.replies = [httpx.Response(200, stream=body)]
    assert api.first_delta_then_close() == ANSWER[0]
    assert body.closed
    assert body.sent < len(ANSWER) + 1


def test_end_marker_ends_the_stream_without_reading_further(api: Api) -> None:
    body = Body([event("a"), b'data:"Done"\n\n', event("after the end")])
    api.server.replies = [httpx.Response(200, stream=body)]
    assert api.stream() == ["a"]
    assert body.closed


def test_missing_credentials_fail_before_any_request(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAVI_API_KEY", raising=False)
    with pytest.raises(MaviAuthenticationError, match="MAVI_API_KEY"):
        api.chat(api_key=None)
    assert api.server.requests == []


def test_bad_input_fails_before_any_request(api: Api) -> None:
    with pytest.raises(MaviValidationError, match="video_nos is empty"):
        api.chat(video_nos=[])
    assert api.server.requests == []


def test_configuration_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAVI_API_KEY", "sk-from-env")
    monkeypatch.setenv("MAVI_BASE_URL", "https://env.test/")
    from_env = MaviClient()
    assert from_env.base_url == "https://env.test"
    assert from_env.settings.credential() == "sk-from-env"
    explicit = MaviClient("sk-explicit", base_url="https://arg.test")
    assert explicit.base_url == "https://arg.test"
    assert explicit.settings.credential() == "sk-explicit"
    monkeypatch.delenv("MAVI_BASE_URL")
    assert MaviClient().base_url == DEFAULT_BASE_URL


def test_constructor_rejects_bad_configuration() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        MaviClient("k", max_retries=-1)
    with pytest.raises(ValueError, match="http:// or https://"):
        MaviClient("k", base_url="mavi-backend.memories.ai")
    with pytest.raises(ValueError, match="timeout"):
        MaviClient("k", timeout=0)


def test_injected_http_client_is_not_closed(server: Server) -> None:
    http = httpx.Client(transport=httpx.MockTransport(server))
    with MaviClient("k", http_client=http):
        pass
    assert not http.is_closed


def test_own_http_client_is_closed_and_pooled() -> None:
    with MaviClient("k") as client:
        pool = client._http
    assert pool.is_closed


# Retry-After in messages: never rounded down, absurd dates capped, 5xx saying when
# (docs/errors-and-wire.md, "Retries").


def test_retry_after_with_a_fraction_is_not_rounded_down(api: Api) -> None:
    api.server.replies = [httpx.Response(429, headers={"Retry-After": "60.4"})]
    with pytest.raises(MaviRateLimitError) as caught:
        api.chat(deadline=30.0)
    message = str(caught.value)
    assert "Retry after 60.4 seconds" in message
    assert "60 seconds" not in message.replace("60.4 seconds", "")
    assert type(caught.value.retry_after) is float and caught.value.retry_after == 60.4
    assert "left of the call's deadline of 30 s" in message
    assert api.sleeps == []


def test_retry_after_date_far_away_is_capped_and_said_plainly(api: Api) -> None:
    far = format_datetime(datetime.now(UTC) + timedelta(days=3650), usegmt=True)
    api.server.replies = [httpx.Response(429, headers={"Retry-After": far})]
    with pytest.raises(MaviRateLimitError) as caught:
        api.chat()
    message = str(caught.value)
    assert re.search(r"Retry after 36\d\d days\.", message), message
    assert "did not wait that long (at most 60 seconds" in message
    assert not re.search(r"\d{6,}", message)  # no absurd count of seconds
    assert type(caught.value.retry_after) is float
    assert api.sleeps == [] and len(api.server.requests) == 1


def test_server_error_with_a_long_retry_after_says_when_to_retry(api: Api) -> None:
    api.server.replies = [httpx.Response(503, headers={"Retry-After": "7200"})]
    with pytest.raises(MaviServerError) as caught:
        api.chat()
    message = str(caught.value)
    assert "MAVI asked to retry after 2 hours" in message
    assert "did not wait that long" in message
    assert caught.value.retry_after == 7200.0
    assert api.sleeps == [] and len(api.server.requests) == 1


def test_rate_limit_envelope_with_http_200_names_the_header_wait(api: Api) -> None:
    envelope = {"code": "0429", "msg": "Request has exceeded the limit."}
    api.server.replies = [httpx.Response(200, json=envelope, headers={"Retry-After": "90.2"})]
    with pytest.raises(MaviRateLimitError) as caught:
        api.chat()
    assert "Retry after 90.2 seconds" in str(caught.value)
    assert "Slow down" not in str(caught.value)
    assert caught.value.retry_after == 90.2
