"""The v1.2 limits the service publishes today (tests/data/wire_samples/rate-limits.md): the
client's default budgets, budgets shared by the keys of one account, and the emulator enforcing
the same table on its v1.2 routes unless lifted."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from mavi_core import Budget, MaviClient, MaviRateLimitError, MaviValidationError, RateLimit
from mavi_core._settings import MaviSettings
from mavi_core.constants import DEFAULT_BUDGETS
from mavi_core.emulator import MaviEmulator

KITCHEN = "VI634021601844219905"
V12_CHAT = "/serve/api/v1/chat"


def test_the_default_v12_budgets_are_the_published_table() -> None:
    assert DEFAULT_BUDGETS["chat_v12"] == (Budget(2, 60.0),)
    assert DEFAULT_BUDGETS["upload_v12"] == (Budget(1, 60.0),)
    assert DEFAULT_BUDGETS["search_v12"] == (Budget(1, 1.0),)
    assert DEFAULT_BUDGETS["transcription_v12"] == (Budget(1, 1.0),)
    for endpoint in ("list_v12", "sessions_v12", "delete_v12"):
        assert DEFAULT_BUDGETS[endpoint] == (Budget(5, 1.0),)
    assert DEFAULT_BUDGETS["chat"] == (Budget(10, 60.0), Budget(1500, 86400.0))  # v1.0 as was


def test_keys_of_one_named_account_share_its_budget() -> None:
    one, two = (
        MaviSettings("", api_key=SecretStr(k)).fingerprint() for k in ("key-one", "key-two")
    )
    shared = RateLimit(budgets={"chat_v12": Budget(1, 60.0)}, account="acme")
    assert shared.try_acquire("chat_v12", account=one) == 0
    assert shared.try_acquire("chat_v12", account=two) > 0  # the account's one turn is taken
    apart = RateLimit(budgets={"chat_v12": Budget(1, 60.0)})  # the default: a budget per key
    assert apart.try_acquire("chat_v12", account=one) == 0
    assert apart.try_acquire("chat_v12", account=two) == 0


def test_clients_with_two_keys_of_one_account_wait_for_one_budget() -> None:
    with MaviEmulator(rate_limit=None) as emu:
        limit = RateLimit(budgets={"chat_v12": Budget(1, 60.0)}, account="acme")
        options = {"base_url": emu.base_url, "api_version": "v1.2", "rate_limit": limit}
        MaviClient(emu.api_key, **options).chat([KITCHEN], "What happens?")  # type: ignore[arg-type]
        other = MaviClient("sk-another-key-of-acme", deadline=1.0, **options)  # type: ignore[arg-type]
        with pytest.raises(MaviRateLimitError, match="chat_v12 budget of this account"):
            other.chat([KITCHEN], "What happens?")
        assert len([r for r in emu.requests if r.path == V12_CHAT]) == 1  # not sent


@pytest.mark.parametrize("account", ["", "   ", 42])
def test_an_account_is_a_non_empty_name(account: object) -> None:
    with pytest.raises(MaviValidationError, match="account must be a non-empty name"):
        RateLimit(account=account)  # type: ignore[arg-type]


def _v12_chats(emu: MaviEmulator, count: int) -> list[str]:
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": emu.api_key}) as http:
        body = {"video_nos": [KITCHEN], "prompt": "What happens?"}
        return [http.post(V12_CHAT, json=body).json()["code"] for _ in range(count)]


def test_the_emulator_limits_v12_chat_to_two_a_minute_by_default() -> None:
    with MaviEmulator() as emu:
        codes = _v12_chats(emu, 3)
        assert "0429" not in codes[:2] and codes[2] == "0429"
        with httpx.Client(base_url=emu.base_url, headers={"Authorization": emu.api_key}) as http:
            refused = http.post(V12_CHAT, json={"video_nos": [KITCHEN], "prompt": "Again?"})
        assert "--rate-limit off" in refused.json()["msg"]
        assert 55 <= int(refused.headers["retry-after"]) <= 60


def test_the_emulator_lifts_the_v12_limits_with_the_others() -> None:
    with MaviEmulator(rate_limit=None) as emu:
        assert "0429" not in _v12_chats(emu, 5)
