"""Access tokens: refresh before expiry and once on 0401, one refresh for many callers, no leaks."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from mavi_core import (
    AsyncMaviClient,
    MaviAuthenticationError,
    MaviClient,
    MaviError,
    MaviServerError,
    MaviTokenAuth,
    MaviTokens,
)
from mavi_core._auth import MaviTokens as _Tokens

from .conftest import KEY, Api, Server, stream_reply

REFRESH_PATH = "/auth/api/token/refreshAccessToken"
CHAT_PATH = "/api/serve/video/chat"


def refreshed(token: str = "at-new", expires_in: object = 7200) -> httpx.Response:
    data = {"accessToken": token, "expiresIn": expires_in, "type": "Bearer"}
    return httpx.Response(200, json={"code": "0000", "msg": "success", "data": data})


def expired_auth(**kwargs: object) -> MaviTokenAuth:
    return MaviTokenAuth("at-old", refresh_token="rt-1", expires_at=time.time() - 1, **kwargs)  # type: ignore[arg-type]


def test_expired_token_is_refreshed_before_the_request(api: Api) -> None:
    seen: list[MaviTokens] = []
    auth = expired_auth(on_refresh=seen.append)
    api.server.replies = [refreshed(), stream_reply(["ok"])]
    assert api.chat(auth=auth).text == "ok"
    assert api.server.paths() == [REFRESH_PATH, CHAT_PATH]
    assert api.server.bodies()[0] == {"refreshToken": "rt-1"}
    assert "authorization" not in api.server.requests[0].headers
    assert api.server.requests[1].headers["authorization"] == "at-new"
    assert [t.access_token.get_secret_value() for t in seen] == ["at-new"]
    assert seen[0].refresh_token is not None
    assert seen[0].refresh_token.get_secret_value() == "rt-1"  # kept when not re-issued


def test_token_due_within_the_margin_is_refreshed(api: Api) -> None:
    auth = MaviTokenAuth("at-old", refresh_token="rt-1", expires_at=time.time() + 30)
    api.server.replies = [refreshed(), stream_reply(["ok"])]
    api.chat(auth=auth)
    assert api.server.paths() == [REFRESH_PATH, CHAT_PATH]


def test_fresh_token_is_sent_raw_without_refresh(api: Api) -> None:
    auth = MaviTokenAuth("at-fresh", refresh_token="rt-1", expires_at=time.time() + 3600)
    api.server.replies = [stream_reply(["ok"])]
    api.chat(auth=auth)
    assert api.server.paths() == [CHAT_PATH]
    assert api.server.requests[0].headers["authorization"] == "at-fresh"


def test_rejected_token_is_refreshed_once_then_the_request_retried(api: Api) -> None:
    auth = MaviTokenAuth("at-old", refresh_token="rt-1")
    rejected = httpx.Response(200, json={"code": "0401", "msg": "token expired"})
    api.server.replies = [rejected, refreshed(), stream_reply(["ok"])]
    assert api.chat(auth=auth).text == "ok"
    assert api.server.paths() == [CHAT_PATH, REFRESH_PATH, CHAT_PATH]
    assert auth.header_value() == "at-new"


def test_second_rejection_after_refresh_is_final(api: Api) -> None:
    auth = MaviTokenAuth("at-old", refresh_token="rt-1")
    rejected = lambda request: httpx.Response(200, json={"code": "0401", "msg": "no"})  # noqa: E731
    api.server.replies = [rejected, refreshed(), rejected]
    with pytest.raises(MaviAuthenticationError):
        api.chat(auth=auth)
    assert api.server.paths() == [CHAT_PATH, REFRESH_PATH, CHAT_PATH]


def test_rejection_without_refresh_token_is_final(api: Api) -> None:
    api.server.replies = [httpx.Response(200, json={"code": "0401", "msg": "token invalid"})]
    with pytest.raises(MaviAuthenticationError, match="token invalid"):
        api.chat(auth=MaviTokenAuth("at-old"))
    assert len(api.server.requests) == 1


def test_rejected_refresh_token_raises_authentication_error(api: Api) -> None:
    api.server.replies = [httpx.Response(200, json={"code": "0401", "msg": "refresh expired"})]
    with pytest.raises(MaviAuthenticationError, match="Refreshing the access token failed"):
        api.chat(auth=expired_auth())
    assert api.server.paths() == [REFRESH_PATH]


def _envelope(code: str, msg: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, json={"code": code, "msg": msg})


@pytest.mark.parametrize(
    ("auth", "replies", "advice"),
    [
        (lambda: MaviTokenAuth("at-old"), ["0401"], "no refresh_token"),
        (
            lambda: MaviTokenAuth("at-old", refresh_token="rt-1"),
            ["0401", "refreshed", "0401"],
            "even after it was refreshed",
        ),
        (expired_auth, ["0401"], "Refreshing the access token failed"),
        (expired_auth, ["0001"], "Refreshing the access token failed"),
    ],
)
def test_token_errors_advise_the_code_exchange_not_the_api_key(
    api: Api, auth: Callable[[], MaviTokenAuth], replies: list[str], advice: str
) -> None:
    api.server.replies = [
        refreshed() if reply == "refreshed" else _envelope(reply, "token is bad")
        for reply in replies
    ]
    with pytest.raises(MaviError) as caught:
        api.chat(auth=auth())
    message = str(caught.value)
    assert advice in message and "client.exchange_code(" in message, message
    assert 'docs/client.md, "Access tokens"' in message
    assert "MAVI_API_KEY" not in message and "API key" not in message


def test_a_refused_code_exchange_says_to_get_a_new_code(api: Api, server: Server) -> None:
    server.replies = [httpx.Response(200, json={"code": "0401", "msg": "code is invalid"})]
    with pytest.raises(MaviAuthenticationError) as caught:
        api.sync_client(api_key=None).exchange_code("client-1", "code-1")
    message = str(caught.value)
    assert "single-use" in message and "exchange_code(" in message
    assert "MAVI_API_KEY" not in message


def test_a_rejected_api_key_still_advises_the_api_key(api: Api) -> None:
    api.server.replies = [_envelope("0401", "apikey invalid")]
    with pytest.raises(MaviAuthenticationError, match="MAVI_API_KEY") as caught:
        api.chat()
    assert "exchange_code" not in str(caught.value)


def test_one_refresh_for_many_concurrent_tasks(server: Server) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.path == REFRESH_PATH:
            return refreshed()
        assert request.headers["authorization"] == "at-new"
        return stream_reply(["ok"])

    server.default = reply
    auth = expired_auth()

    async def run() -> list[str]:
        http = httpx.AsyncClient(transport=httpx.MockTransport(server))
        async with AsyncMaviClient(auth=auth, base_url="https://t", http_client=http) as client:
            answers = await asyncio.gather(*(client.chat(["VI1"], "q") for _ in range(20)))
        return [a.text for a in answers]

    assert asyncio.run(run()) == ["ok"] * 20
    assert server.paths().count(REFRESH_PATH) == 1


def test_one_refresh_for_many_concurrent_threads(server: Server) -> None:
    entered = threading.Barrier(8)

    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.path == REFRESH_PATH:
            time.sleep(0.05)  # let the other threads pile up on the lock
            return refreshed()
        return stream_reply(["ok"])

    server.default = reply
    auth = expired_auth()
    http = httpx.Client(transport=httpx.MockTransport(server))
    client = MaviClient(auth=auth, base_url="https://t", http_client=http)
    errors: list[BaseException] = []

    def worker() -> None:
        entered.wait()
        try:
            client.chat(["VI1"], "q")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert server.paths().count(REFRESH_PATH) == 1
    assert server.paths().count(CHAT_PATH) == 8


def test_exchange_code_returns_token_auth(api: Api, server: Server) -> None:
    data = {
        "accessToken": "at-1",
        "type": "Bearer",
        "expiresIn": "7200",
        "refreshToken": "rt-1",
        "refreshExpiresIn": 5184000,
    }
    server.replies = [httpx.Response(200, json={"code": "0000", "data": data})]
    before = time.time()
    if api.mode == "sync":
        auth = api.sync_client(api_key=None).exchange_code("client-1", "code-1")
    else:
        auth = asyncio.run(api.async_client(api_key=None).exchange_code("client-1", "code-1"))
    assert server.paths() == ["/auth/api/token/getAccessToken"]
    assert server.bodies() == [{"clientId": "client-1", "code": "code-1"}]
    assert auth.header_value() == "at-1"
    assert auth.can_refresh
    assert auth.expires_at is not None
    assert before + 7190 < auth.expires_at < time.time() + 7210


def test_exchange_code_is_not_retried(api: Api, server: Server) -> None:
    server.replies = [httpx.Response(503)]
    with pytest.raises(MaviServerError):
        api.sync_client().exchange_code("client-1", "code-1")
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("expires_in", "seconds"),
    [(7200, 7200), ("14400", 14400), (7_200_000, 7200), ("bad", None)],
)
def test_expires_in_units(expires_in: object, seconds: float | None) -> None:
    tokens = _Tokens.from_reply({"accessToken": "a", "expiresIn": expires_in}, now=1000.0)
    assert tokens.expires_at == (None if seconds is None else 1000.0 + seconds)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (None, "without an accessToken"),
        ({"expiresIn": 7200}, "without an accessToken"),
        ({"accessToken": "at-\x00-secret"}, "accessToken set to a value that cannot be sent"),
        ({"accessToken": "a", "refreshToken": "rt secret"}, "refreshToken set to a value"),
    ],
)
def test_a_token_reply_no_header_can_carry_is_a_server_error(data: object, says: str) -> None:
    with pytest.raises(MaviServerError, match=says) as caught:
        _Tokens.from_reply(data, now=1000.0)
    assert "secret" not in str(caught.value)


def test_a_refresh_reply_keeps_the_refresh_token_and_its_expiry_it_leaves_out() -> None:
    first = _Tokens.from_reply(
        {"accessToken": "a", "refreshToken": "rt-1", "refreshExpiresIn": 60}, now=1000.0
    )
    second = _Tokens.from_reply({"accessToken": "b", "expiresIn": 10}, now=2000.0, previous=first)
    assert second.access_token.get_secret_value() == "b"
    assert second.refresh_token == first.refresh_token
    assert (second.expires_at, second.refresh_expires_at) == (2010.0, 1060.0)
    third = _Tokens.from_reply(
        {"accessToken": "c", "refreshToken": "rt-2", "refreshExpiresIn": 90},
        now=3000.0,
        previous=second,
    )
    assert third.refresh_token is not None
    assert (third.refresh_token.get_secret_value(), third.refresh_expires_at) == ("rt-2", 3090.0)


def test_credentials_from_tokens_keep_the_refresh_tokens_expiry() -> None:
    tokens = _Tokens.from_reply(
        {"accessToken": "a", "refreshToken": "rt", "expiresIn": 10, "refreshExpiresIn": 60},
        now=1000.0,
    )
    auth = MaviTokenAuth.from_tokens(tokens)
    assert auth.tokens == tokens and auth.tokens.refresh_expires_at == 1060.0
    refreshed = _Tokens.from_reply({"accessToken": "b"}, now=2000.0, previous=auth.tokens)
    assert refreshed.refresh_expires_at == 1060.0  # what on_refresh gets to persist


def test_expires_at_accepts_datetimes() -> None:
    when = datetime(2030, 1, 1, tzinfo=UTC)
    assert MaviTokenAuth("a", expires_at=when).expires_at == when.timestamp()


def test_empty_access_token_is_rejected() -> None:
    with pytest.raises(ValueError, match="access_token is empty"):
        MaviTokenAuth("")


def test_secrets_never_show(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="mavi_core")
    auth = MaviTokenAuth("at-secret-value", refresh_token="rt-secret-value", expires_at=0)
    api.server.replies = [
        refreshed("at-new-secret"),
        httpx.Response(200, json={"code": "0401", "msg": "expired"}),
        httpx.Response(200, json={"code": "0401", "msg": "refresh expired"}),
    ]
    with pytest.raises(MaviAuthenticationError) as caught:
        api.chat(auth=auth)
    client = api.sync_client()
    shown = " ".join(
        [repr(auth), str(auth.tokens), repr(client), str(caught.value), repr(caught.value)]
        + [record.getMessage() for record in caplog.records]
    )
    for secret in ("at-secret-value", "rt-secret-value", "at-new-secret", KEY):
        assert secret not in shown
    assert any("refreshing" in record.getMessage() for record in caplog.records)
    assert json.dumps({"auth": repr(auth)})  # repr is plain text


class _Counting:
    """A token endpoint and chat endpoint behind one lock-protected request count."""

    def __init__(self, refresh: Callable[[], httpx.Response], delay: float = 0.2) -> None:
        self.refresh = refresh
        self.delay = delay
        self.lock = threading.Lock()
        self.paths: list[str] = []
        self.tokens: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.paths.append(request.url.path)
        if request.url.path == REFRESH_PATH:
            time.sleep(self.delay)  # every caller piles up while the refresh is in flight
            return self.refresh()
        with self.lock:
            self.tokens.append(request.headers["authorization"])
        return stream_reply(["ok"])


def _threads(count: int, work: Callable[[], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def worker() -> None:
        start.wait()
        try:
            work()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _sync_client(auth: MaviTokenAuth, endpoint: _Counting) -> MaviClient:
    http = httpx.Client(transport=httpx.MockTransport(endpoint))
    client = MaviClient(auth=auth, base_url="https://t", http_client=http)
    client._sleep = lambda seconds: None
    return client


def test_a_failing_refresh_is_one_refresh_shared_by_fifty_threads() -> None:
    endpoint = _Counting(lambda: httpx.Response(500, text="down"))
    client = _sync_client(expired_auth(), endpoint)
    errors = _threads(50, lambda: client.chat(["VI1"], "q") and None)
    assert len(errors) == 50
    assert all(isinstance(error, MaviServerError) for error in errors)
    assert endpoint.paths.count(REFRESH_PATH) == 3  # one refresh: its first try and 2 retries
    assert CHAT_PATH not in endpoint.paths


def test_a_rejected_refresh_is_one_call_for_fifty_threads() -> None:
    endpoint = _Counting(lambda: httpx.Response(200, json={"code": "0401", "msg": "expired"}))
    client = _sync_client(expired_auth(), endpoint)
    errors = _threads(50, lambda: client.chat(["VI1"], "q") and None)
    assert len(errors) == 50
    assert all(isinstance(error, MaviAuthenticationError) for error in errors)
    assert endpoint.paths.count(REFRESH_PATH) == 1


def test_a_refresh_reply_without_a_token_fails_every_waiter_with_one_call() -> None:
    seen: list[MaviTokens] = []
    reply = {"code": "0000", "msg": "success", "data": {"expiresIn": 7200}}
    endpoint = _Counting(lambda: httpx.Response(200, json=reply))
    client = _sync_client(expired_auth(on_refresh=seen.append), endpoint)
    errors = _threads(50, lambda: client.chat(["VI1"], "q") and None)
    assert len(errors) == 50
    assert all("without an accessToken" in str(error) for error in errors)
    with pytest.raises(MaviServerError, match="without an accessToken"):
        client.chat(["VI1"], "q")  # within the failure's cooldown: answered without a call
    assert endpoint.paths == [REFRESH_PATH]
    assert seen == []


def test_a_failed_early_refresh_keeps_the_still_valid_token() -> None:
    endpoint = _Counting(lambda: httpx.Response(500, text="down"), delay=0.05)
    auth = MaviTokenAuth("at-still-valid", refresh_token="rt-1", expires_at=time.time() + 30)
    client = _sync_client(auth, endpoint)
    errors = _threads(20, lambda: client.chat(["VI1"], "q") and None)
    assert errors == []
    assert endpoint.tokens == ["at-still-valid"] * 20
    assert endpoint.paths.count(REFRESH_PATH) == 3


def test_one_auth_shared_by_event_loops_and_a_sync_client_refreshes_once() -> None:
    endpoint = _Counting(refreshed)
    auth = expired_auth()
    sync_client = _sync_client(auth, endpoint)

    def on_own_loop() -> None:
        async def go() -> None:
            http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))
            async with AsyncMaviClient(auth=auth, base_url="https://t", http_client=http) as c:
                await asyncio.gather(*(c.chat(["VI1"], "q") for _ in range(5)))

        asyncio.run(go())

    calls = [on_own_loop] * 4 + [lambda: sync_client.chat(["VI1"], "q") and None] * 4
    queue = list(calls)
    lock = threading.Lock()

    def work() -> None:
        with lock:
            call = queue.pop()
        call()

    assert _threads(len(calls), work) == []
    assert endpoint.paths.count(REFRESH_PATH) == 1
    assert set(endpoint.tokens) == {"at-new"}
    assert len(endpoint.tokens) == 4 * 5 + 4


def test_a_cancelled_async_waiter_does_not_break_the_refresh_for_the_others() -> None:
    endpoint = _Counting(refreshed, delay=0.6)
    seen: list[MaviTokens] = []
    auth = expired_auth(on_refresh=seen.append)
    sync_client = _sync_client(auth, endpoint)
    results: list[object] = []

    def sync_chat() -> None:
        results.append(sync_client.chat(["VI1"], "q").text)

    def cancelled_async_waiter() -> None:
        async def go() -> None:
            http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))
            async with AsyncMaviClient(auth=auth, base_url="https://t", http_client=http) as c:
                task = asyncio.create_task(c.chat(["VI1"], "q"))
                await asyncio.sleep(0.2)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

        time.sleep(0.05)  # join while the sync thread leads the refresh
        asyncio.run(go())

    queue = [sync_chat, cancelled_async_waiter, sync_chat]
    lock = threading.Lock()

    def work() -> None:
        with lock:
            job = queue.pop(0)
        job()

    assert _threads(3, work) == []
    assert results == ["ok", "ok"]
    assert endpoint.paths.count(REFRESH_PATH) == 1
    assert len(seen) == 1  # on_refresh told, so the caller keeps the new tokens
