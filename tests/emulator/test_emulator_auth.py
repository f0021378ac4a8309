"""Authorization header checks and the access/refresh token endpoints."""

from __future__ import annotations

import time

import httpx
import pytest

from mavi_core.emulator import MaviEmulator

SEARCH_DB = "/api/serve/video/searchDB"
GET_TOKEN = "/auth/api/token/getAccessToken"
REFRESH = "/auth/api/token/refreshAccessToken"


def _code(anon: httpx.Client, authorization: str | None) -> str:
    headers = {} if authorization is None else {"Authorization": authorization}
    reply = anon.get(SEARCH_DB, headers=headers)
    assert reply.status_code == 200
    return str(reply.json()["code"])


def test_api_key_is_accepted_raw(emu: MaviEmulator, anon: httpx.Client) -> None:
    assert _code(anon, emu.api_key) == "0000"


def test_api_key_is_accepted_with_bearer_prefix(emu: MaviEmulator, anon: httpx.Client) -> None:
    assert _code(anon, f"Bearer {emu.api_key}") == "0000"


def test_missing_authorization_gets_0401_with_http_200(
    emu: MaviEmulator, anon: httpx.Client
) -> None:
    reply = anon.get(SEARCH_DB)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json;charset=UTF-8"
    assert reply.json()["code"] == "0401"
    assert "data" not in reply.json()


def test_wrong_key_gets_0401_without_echoing_it(emu: MaviEmulator, anon: httpx.Client) -> None:
    reply = anon.get(SEARCH_DB, headers={"Authorization": "sk-wrong-secret-key"})
    assert reply.json() == {"code": "0401", "msg": "Token is invalid."}


def test_get_access_token_exchanges_a_code_for_tokens(
    emu: MaviEmulator, anon: httpx.Client
) -> None:
    body = {"clientId": emu.client_id, "code": emu.authorization_code()}
    reply = anon.post(GET_TOKEN, json=body)
    data = reply.json()["data"]
    assert reply.json()["code"] == "0000"
    assert set(data) == {"accessToken", "type", "expiresIn", "refreshToken", "refreshExpiresIn"}
    assert data["type"] == "Bearer"
    assert data["expiresIn"] == 7200
    assert _code(anon, data["accessToken"]) == "0000"


def test_authorization_code_is_single_use(emu: MaviEmulator, anon: httpx.Client) -> None:
    body = {"clientId": emu.client_id, "code": emu.authorization_code()}
    anon.post(GET_TOKEN, json=body)
    assert anon.post(GET_TOKEN, json=body).json()["code"] == "0401"


def test_wrong_client_id_is_refused(emu: MaviEmulator, anon: httpx.Client) -> None:
    body = {"clientId": "someone-else", "code": emu.authorization_code()}
    assert anon.post(GET_TOKEN, json=body).json()["code"] == "0401"


@pytest.mark.parametrize("missing", ["clientId", "code"])
def test_get_access_token_requires_both_fields(
    emu: MaviEmulator, anon: httpx.Client, missing: str
) -> None:
    body = {"clientId": emu.client_id, "code": emu.authorization_code()}
    del body[missing]
    reply = anon.post(GET_TOKEN, json=body).json()
    assert reply["code"] == "0001"
    assert reply["msg"].startswith(missing)


def test_refresh_issues_a_new_access_token_and_keeps_the_refresh_token(
    emu: MaviEmulator, anon: httpx.Client
) -> None:
    tokens = emu.issue_tokens()
    first = anon.post(REFRESH, json={"refreshToken": tokens["refreshToken"]}).json()
    second = httpx.post(
        emu.base_url + REFRESH, json={"refreshToken": tokens["refreshToken"]}
    ).json()
    assert set(first["data"]) == {"accessToken", "expiresIn", "type"}
    assert first["data"]["accessToken"] not in (
        tokens["accessToken"],
        second["data"]["accessToken"],
    )
    assert _code(anon, first["data"]["accessToken"]) == "0000"


def test_unknown_refresh_token_gets_0401(emu: MaviEmulator, anon: httpx.Client) -> None:
    reply = anon.post(REFRESH, json={"refreshToken": "mavi-rt-unknown"})
    assert reply.json()["code"] == "0401"


def test_access_token_expires_after_token_ttl(emu: MaviEmulator, anon: httpx.Client) -> None:
    emu.token_ttl = 0.2
    token = emu.issue_tokens()["accessToken"]
    assert _code(anon, token) == "0000"
    time.sleep(0.3)
    assert _code(anon, token) == "0401"


def test_refresh_after_expiry_gives_a_working_token(emu: MaviEmulator, anon: httpx.Client) -> None:
    tokens = emu.issue_tokens()
    emu.faults.expire_tokens()
    fresh = anon.post(REFRESH, json={"refreshToken": tokens["refreshToken"]})
    assert _code(anon, tokens["accessToken"]) == "0401"
    assert _code(anon, fresh.json()["data"]["accessToken"]) == "0000"


def test_issue_tokens_reports_expires_in_seconds(emu: MaviEmulator) -> None:
    emu.token_ttl = 90
    assert emu.issue_tokens()["expiresIn"] == 90


def test_token_endpoints_need_no_authorization(emu: MaviEmulator) -> None:
    reply = httpx.post(
        emu.base_url + REFRESH, json={"refreshToken": emu.issue_tokens()["refreshToken"]}
    )
    assert reply.json()["code"] == "0000"


def test_development_auth_code_is_accepted_any_number_of_times(
    emu: MaviEmulator, anon: httpx.Client
) -> None:
    body = {"clientId": emu.client_id, "code": emu.auth_code}
    for _ in range(3):
        reply = anon.post(GET_TOKEN, json=body).json()
        assert reply["code"] == "0000"
        assert (
            anon.get(SEARCH_DB, headers={"Authorization": reply["data"]["accessToken"]}).json()[
                "code"
            ]
            == "0000"
        )


def test_token_flow_help_names_this_emulator_client_id_and_code(emu: MaviEmulator) -> None:
    text = emu.token_flow_help()
    assert f"POST {emu.base_url}/auth/api/token/getAccessToken" in text
    assert f'"clientId": "{emu.client_id}", "code": "{emu.auth_code}"' in text
    assert emu.auth_code == "mavi-emulator-code"


def test_development_auth_code_can_be_turned_off() -> None:
    with MaviEmulator(auth_code=None) as off:
        body = {"clientId": off.client_id, "code": "mavi-emulator-code"}
        reply = httpx.post(off.base_url + GET_TOKEN, json=body).json()
    assert reply["code"] == "0401"
    assert off.auth_code is None
