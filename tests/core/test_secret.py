"""Keys and tokens never show themselves; pydantic's SecretStr is accepted as input."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from mavi_core import ChatTurn, MaviClient, MaviTokenAuth, MaviValidationError
from mavi_core._secret import check_credential, reveal


def test_secret_is_masked_everywhere_it_could_be_shown() -> None:
    secret = check_credential(" sk-hidden\n", "API key")
    shown = f"{secret} {secret!r} {[secret]} { ({'k': secret}) }"
    assert "sk-hidden" not in shown
    assert secret.get_secret_value() == "sk-hidden"


def test_secrets_compare_by_value() -> None:
    assert check_credential("a", "key") == check_credential("a", "key")
    assert check_credential("a", "key") != check_credential("b", "key")
    assert not SecretStr("")


def test_pydantic_secret_str_is_accepted_as_a_key() -> None:
    client = MaviClient(SecretStr("sk-from-pydantic"), base_url="https://t")
    assert client.settings.credential() == "sk-from-pydantic"
    auth = MaviTokenAuth(SecretStr("at"), refresh_token=SecretStr("rt"))
    assert auth.header_value() == "at"
    assert auth.refresh_body() == {"refreshToken": "rt"}
    assert reveal(SecretStr("x")) == "x"
    assert reveal(None) is None


def test_chat_turn_sides_must_be_strings() -> None:
    with pytest.raises(MaviValidationError, match=r"ChatTurn\.robot must be a string"):
        ChatTurn(user="q", robot=None)  # type: ignore[arg-type]
    assert ChatTurn(user="q", robot="a").to_dict() == {"user": "q", "robot": "a"}


def test_importing_the_packages_defers_httpx_until_a_client_is_used() -> None:
    import subprocess
    import sys

    code = (
        "import sys, mavi_core, langchain_mavi, llamaindex_mavi\n"
        "print('httpx' in sys.modules)\n"
        "import mavi_core as m; m.MaviClient\n"
        "print('httpx' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]  # httpx loads with the first client
