"""A store URL's password never shows (docs/rate-limits-and-bulk.md: secrets never appear in repr,
logs or messages; docs/rate-limits-and-bulk.md: a store is named with its password
masked), whatever characters the password holds and however it is written."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import pytest

from mavi_core import MaviConnectionError, MaviError, MaviValidationError, RateLimit
from mavi_core._secret import redact_url_secrets, url_secrets

PASSWORD = "hunter/2?secret#x"
ENCODED = quote(PASSWORD, safe="")  # hunter%2F2%3Fsecret%23x


def _leaks(text: str) -> bool:
    return any(part in text for part in (PASSWORD, ENCODED, "hunter"))


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{ENCODED}@127.0.0.1:6379/0",
        f"redis://:{PASSWORD}@127.0.0.1:6379/0",  # raw, as typed
        "redis://:hunter/2-secret@127.0.0.1:6379/0",
        "redis://:hunter?secret@127.0.0.1:6379/0",
        "redis://:hunter#secret@127.0.0.1:6379/0",
        "redis://:12/hunter-secret@127.0.0.1:6379/0",  # reads as host "", port 12
        f"redis://user:{PASSWORD}@127.0.0.1:6379/0",
        "redis://us/er:hunter-secret@127.0.0.1:6379/0",
        f"rediss://:{PASSWORD}@cache.example:6380/1",
        f"unix://:{PASSWORD}@/run/redis.sock?db=0",
        "redis://:hunter@secret@127.0.0.1:6379/0",
        f"redis://127.0.0.1:6379/0?password={ENCODED}",
        "redis://127.0.0.1:6379/0?db=1&password=hunter-secret&x=1",
    ],
)
def test_a_url_password_is_masked_in_every_shape(url: str) -> None:
    shown = redact_url_secrets(f"store {url} failed", "")  # the patterns alone: no URL known
    assert not _leaks(shown), shown
    assert "**********" in shown
    assert shown.startswith("store ") and shown.endswith(" failed")


def test_urls_without_a_password_are_left_alone() -> None:
    for url in ("redis://127.0.0.1:6379/0", "sqlite:///tmp/q.db", "memory://", "https://h/x"):
        assert redact_url_secrets(url, url) == url


def test_url_secrets_names_the_password_written_and_decoded() -> None:
    found = url_secrets(f"redis://:{ENCODED}@127.0.0.1:6379/0")
    assert PASSWORD in found and ENCODED in found
    assert url_secrets(f"redis://h:1/0?password={ENCODED}") == [PASSWORD]
    assert url_secrets("redis://127.0.0.1:6379/0") == []


def test_a_decoded_password_in_a_librarys_message_is_masked() -> None:
    url = f"redis://:{ENCODED}@127.0.0.1:6379/0"
    said = f"AUTH {PASSWORD} refused by {url}"
    assert not _leaks(redact_url_secrets(said, url))


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{ENCODED}@127.0.0.1:1/0",
        f"redis://user:{ENCODED}@127.0.0.1:1/0",
        f"redis://127.0.0.1:1/0?password={ENCODED}",
    ],
)
def test_a_percent_encoded_password_never_shows(url: str, caplog: Any) -> None:
    limit = RateLimit(url)
    texts = [repr(limit), str(limit), limit.backend]
    caplog.set_level(logging.DEBUG, logger="mavi_core")
    with pytest.raises(MaviError) as caught:
        limit.acquire("chat_v12", account="a", timeout=2)
    texts += [str(caught.value), repr(caught.value), caplog.text]
    assert all(not _leaks(text) for text in texts), texts
    assert "127.0.0.1" in limit.backend
    limit.close()


def test_a_store_error_quoting_the_decoded_password_is_masked(monkeypatch: Any) -> None:
    """What redis-py (or anything under it) says is masked of the password in every form, not
    only as part of a URL."""
    limit = RateLimit(f"redis://:{ENCODED}@127.0.0.1:1/0")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError(f"WRONGPASS {PASSWORD} for user default")

    monkeypatch.setattr(limit._store, "client", refuse)  # every Redis step asks for it
    with pytest.raises(MaviConnectionError) as caught:
        limit.acquire("chat_v12", account="a", timeout=2)
    assert not _leaks(str(caught.value)), str(caught.value)
    assert "WRONGPASS" in str(caught.value)
    limit.close()


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{PASSWORD}@127.0.0.1:6379/0",
        "redis://:12/hunter-secret@127.0.0.1:6379/0",
        "redis://user:hunter?secret@127.0.0.1:6379/0",
        "rediss://:hunter#secret@127.0.0.1:6379/0",
        f"unix://:{PASSWORD}@/run/redis.sock",
    ],
)
def test_a_raw_reserved_character_in_the_password_is_refused_unquoted(url: str) -> None:
    """Written raw, `/`, `?` or `#` end the host part: redis-py would connect elsewhere (the
    `:12/...` shape to port 12 of localhost) with no password. Refused, saying to encode."""
    with pytest.raises(MaviValidationError, match="percent-encoded") as caught:
        RateLimit(url)
    assert not _leaks(str(caught.value))


def test_langchain_components_never_show_the_store_password() -> None:
    from langchain_core.load import dumpd

    from langchain_mavi import ChatMavi, MaviTranscriptLoader, MaviVideoRetriever

    url = f"redis://:{ENCODED}@127.0.0.1:6379/0"
    components = [
        ChatMavi(api_key="sk-mavi-test", video_nos=["VI1"], rate_limit=url),
        MaviVideoRetriever(api_key="sk-mavi-test", rate_limit=url),
        MaviTranscriptLoader(["VI1"], api_key="sk-mavi-test", rate_limit=url),
    ]
    for component in components:
        texts = [repr(component), str(component), str(component.model_dump())]
        texts.append(str(dumpd(component)))
        assert all(not _leaks(text) for text in texts), texts
        assert "rate_limit='redis://:**********@127.0.0.1:6379/0'" in repr(component)
