"""Keys and tokens: checked, held as pydantic's `SecretStr` (masked in repr, str, logs and
tracebacks), and masked in the messages that might quote them."""

from __future__ import annotations

import re
from os.path import commonprefix
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import unquote, unquote_plus

from ._exceptions import MaviValidationError

if TYPE_CHECKING:
    from pydantic import SecretStr

MASK = "**********"
_MIN_REDACTED = 4
"""Shorter values are not searched for in messages: masking every "a" would garble them."""
_PREFIX: Final = 8
"""A secret cut short (in a message quoting a reply's start) is masked from this many on."""


class SecretLike(Protocol):
    """Anything with `get_secret_value()`, as pydantic's `SecretStr`."""

    def get_secret_value(self) -> str: ...


def given(value: object, *, secret: bool = False) -> str:
    """What a caller passed, for an error message: None or a number as it is, anything else
    (and any number where a credential was expected: `secret`) by its type only."""
    if value is None or (not secret and isinstance(value, bool | int | float)):
        return repr(value)
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def reveal(value: str | SecretLike | None) -> str | None:
    """The plain value of a string or secret; None stays None."""
    return value if value is None or isinstance(value, str) else value.get_secret_value()


def check_credential(value: str, what: str) -> SecretStr:
    """`value` without surrounding white space, as a secret; raises `MaviValidationError` (never
    quoting it) when it is empty or holds a character an HTTP header cannot carry."""
    from pydantic import SecretStr  # with the first credential: `import mavi_core` stays light

    stripped = value.strip()
    if not stripped:
        raise MaviValidationError(f"The {what} is empty: pass the value from the MAVI console.")
    if stripped[:7].lower() == "bearer ":
        raise MaviValidationError(
            f"The {what} starts with 'Bearer ': MAVI takes the raw key in its Authorization "
            "header, so drop the 'Bearer ' prefix."
        )
    if bad := re.search(r"[^!-~]", stripped):  # anything but printable ASCII
        kind = "a non-ASCII character" if bad[0] > "\x7f" else "a control character or space"
        raise MaviValidationError(
            f"The {what} holds {kind} at position {bad.start()}, so it cannot be sent in a "
            "header: copy it again from the MAVI console (a file it was read from may add a "
            "line break or a BOM)."
        )
    return SecretStr(stripped)


def redact(text: str, secrets: list[str]) -> str:
    """`text` with every occurrence of each secret masked, whole or cut short at the end."""
    for secret in filter(lambda secret: len(secret) >= _MIN_REDACTED, secrets):
        start = text.find(secret[:_PREFIX])
        while start >= 0:
            written = text[start : start + len(secret)]  # the secret, or its start where cut
            end = start + len(commonprefix([written, secret]))  # noqa: RUF071 (not a path)
            text = text[:start] + MASK + text[end:]
            start = text.find(secret[:_PREFIX], start + len(MASK))
    return text


_USERINFO: Final = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:]*:)(?P<password>\S*)@")
"""The password: from the first `:` after `scheme://` to the LAST `@` (raw `/?#` included), as
redis-py and `urllib.parse` read it; with no password, from a `:` before an `@` (the safe side)."""

_QUERY_PASSWORD: Final = re.compile(r"(?i)(?P<head>[?&;]password=)(?P<password>[^&;#\s]*)")
"""redis-py reads any query parameter as a connection option: `?password=...` is one."""


def url_secrets(url: str) -> list[str]:
    """The passwords `url` carries, as written and percent-decoded (what a library that read
    the URL may quote in its own errors)."""
    match = _USERINFO.match(url)
    found = [match["password"]] if match else []
    found += [unquote_plus(query["password"]) for query in _QUERY_PASSWORD.finditer(url)]
    found += [unquote(value) for value in found]
    return sorted(set(filter(None, found)), key=len, reverse=True)


def redact_url_secrets(text: str, url: str) -> str:
    """`text` (a URL, or what a library that read it said) with every URL's password masked
    (`scheme://user:password@host`, `password=`), and `url`'s, as written or decoded."""
    text = _USERINFO.sub(lambda match: f"{match['head']}{MASK}@", text)
    text = _QUERY_PASSWORD.sub(lambda match: f"{match['head']}{MASK}", text)
    return redact(text, url_secrets(url))
