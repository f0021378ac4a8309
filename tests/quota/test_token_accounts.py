"""Token users' budgets in a shared store (docs/rate-limits-and-bulk.md: `account` is a
hash of the credentials, so one store serves several users): each `MaviTokenAuth` user has an
account of its own, stable across refreshes, that never holds the token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from mavi_core import Budget, MaviClient, MaviTokenAuth, RateLimit
from mavi_core._settings import MaviSettings
from mavi_core.emulator import MaviEmulator

HARBOR = "VI634021587219364352"


@pytest.fixture
def emu() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limit=None) as emulator:
        yield emulator


def _account(auth: MaviTokenAuth) -> str:
    return MaviSettings(auth=auth, base_url="https://t").fingerprint()


def test_two_token_users_have_two_accounts_without_their_tokens() -> None:
    alice = _account(MaviTokenAuth("at-alice-123456", refresh_token="rt-alice-123456"))
    bob = _account(MaviTokenAuth("at-bob-1234567", refresh_token="rt-bob-1234567"))
    assert alice != bob
    anonymous = MaviSettings(base_url="https://t").fingerprint()
    key = MaviSettings(api_key=SecretStr("rt-alice-123456"), base_url="https://t").fingerprint()
    assert alice not in (anonymous, key, "token")
    for account, user in ((alice, "alice"), (bob, "bob")):
        assert user not in account and "123456" not in account
    # Without a refresh token the access token decides.
    assert _account(MaviTokenAuth("at-carol-12345")) != _account(MaviTokenAuth("at-dave-12345"))


def test_the_account_is_the_same_for_the_same_user_and_survives_a_refresh(
    emu: MaviEmulator,
) -> None:
    auth = MaviClient(base_url=emu.base_url).exchange_code(emu.client_id, emu.auth_code)
    before = _account(auth)
    again = MaviTokenAuth(auth.tokens.access_token, refresh_token=auth.tokens.refresh_token)
    assert _account(again) == before
    emu.faults.expire_tokens()
    with MaviClient(base_url=emu.base_url, auth=auth, rate_limit=None) as client:
        client.chat([HARBOR], "What happens?")  # refreshed: a new access token
    assert auth.generation >= 1
    assert _account(auth) == before


def test_two_token_users_sharing_one_store_do_not_share_one_budget(emu: MaviEmulator) -> None:
    limit = RateLimit(budgets={"chat": Budget(1, 3600.0)})
    users = [
        MaviClient(base_url=emu.base_url).exchange_code(emu.client_id, emu.auth_code)
        for _ in range(2)
    ]
    clients = [
        MaviClient(base_url=emu.base_url, auth=auth, rate_limit=limit, deadline=2.0)
        for auth in users
    ]
    # One chat each: with one account for every token user the second would wait an hour
    # (beyond its deadline: a MaviRateLimitError).
    for client in clients:
        assert client.chat([HARBOR], "What happens?").text
        client.close()
