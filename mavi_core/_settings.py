"""`MaviSettings`: how to reach MAVI, checked before any request. An explicit argument wins, then
the environment, then `_constants` (docs/errors-and-wire.md#credentials)."""

from __future__ import annotations

import hashlib
import ipaddress
import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from ._auth import MaviTokenAuth
from ._constants import (
    API_KEY_ENV,
    API_VERSION_ENV,
    API_VERSIONS,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    DEFAULT_V12_BASE_URL,
)
from ._content import ACCEPT_ENCODING
from ._exceptions import MaviAuthenticationError, MaviError, MaviValidationError
from ._secret import SecretLike, check_credential, given, redact, reveal
from ._version import __version__

if TYPE_CHECKING:
    import httpx
    from pydantic import SecretStr


_MAVI_HOSTS: Final = {urlsplit(url).hostname for url in (DEFAULT_BASE_URL, DEFAULT_V12_BASE_URL)}
EMULATOR_API_KEY: Final = "sk-mavi-emulator"  # also in mavi_core.emulator: it imports nothing here


def check_base_url(url: object) -> str:
    """`url` without a trailing slash, if it would reach the API as written."""
    if not isinstance(url, str):
        raise MaviValidationError(f"base_url must be a string URL, got {type(url).__name__}.")
    if any(char.isspace() or not char.isprintable() for char in url):
        raise MaviValidationError(
            "base_url holds white space or a control character (a line break at its end?): "
            "pass e.g. https://mavi-backend.memories.ai."
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError as exc:
        raise MaviValidationError(f"base_url is not a valid URL ({exc}).") from None
    if "@" in parts.netloc:  # before any message that quotes the URL
        raise MaviValidationError(
            "base_url must not hold credentials (user:password@host): they would be sent "
            "and shown as part of every request's URL. Pass the MAVI key as api_key= (or "
            "MAVI_API_KEY), and a gateway's own credentials as default_headers."
        )
    shown = "a URL holding '@' (not shown: it may hold a password)" if "@" in url else repr(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MaviValidationError(
            f"base_url must start with http:// or https:// and name a host, got {shown}."
        )
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise MaviValidationError(
            f"base_url must not have a query or fragment (requests would not go where "
            f"intended), got {shown}: pass only scheme, host, port and any path prefix."
        )
    return url.rstrip("/")


def ensure(ok: bool, value: object, must: str, advice: str = "", *, secret: bool = False) -> None:
    """Unless `ok`, an error: what `value` `must` be, what was given (by its type only when
    `secret`) and the `advice`."""
    if not ok:
        got = given(value, secret=secret) + (f": {advice}" if advice else "")
        raise MaviValidationError(f"{must}, got {got}.")


def _whole(value: Any, name: str, least: int, unit: str = "") -> int:
    whole = not isinstance(value, bool) and isinstance(value, int) and value >= least
    ensure(whole, value, f"{name} must be a whole number{unit} from {least}")
    return int(value)


def check_max_retries(max_retries: object) -> int:
    """`max_retries` as a whole number from 0 (`True`, `1.5` or `"2"` is no count)."""
    return _whole(max_retries, "max_retries", 0)


def check_api_version(explicit: object, from_env: str | None) -> str:
    """The dialect: an explicit `api_version` wins over `MAVI_API_VERSION`; "v1.0" by default."""
    value = explicit if explicit is not None else from_env
    if value is None:
        return "v1.0"
    text = "v" + str(value).strip().lower().removeprefix("v")
    if text not in API_VERSIONS:
        source = "api_version" if explicit is not None else API_VERSION_ENV
        raise MaviValidationError(
            f"{source} must be one of {', '.join(API_VERSIONS)}, got {value!r}."
        )
    return text


def chat_endpoint(api_version: str) -> str:
    """The rate budget (`_quota`) a dialect's chats draw on, for a resolved `api_version`."""
    return "chat_v12" if api_version == "v1.2" else "chat"


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name
        return host == "localhost" or host.endswith(".localhost")


def _is_seconds(value: object) -> bool:  # positive and finite
    return not isinstance(value, bool) and isinstance(value, int | float) and 0 < value < math.inf


def check_timeout(timeout: Any) -> httpx.Timeout:
    """Seconds, an `httpx.Timeout` or None (no limit but a 5 s connect) as an `httpx.Timeout`."""
    import httpx

    if isinstance(timeout, httpx.Timeout):
        advice = "build it as e.g. httpx.Timeout(60.0, connect=5.0)"
        for part, value in timeout.as_dict().items():
            must = f"timeout: the httpx.Timeout's {part} must be positive seconds or None"
            ensure(value is None or _is_seconds(value), value, must, advice)
        return timeout
    if timeout is None:
        return httpx.Timeout(None, connect=DEFAULT_CONNECT_TIMEOUT)
    must = "timeout must be positive seconds (e.g. 60.0), an httpx.Timeout or None for no limit"
    ensure(_is_seconds(timeout), timeout, must)
    return httpx.Timeout(timeout, connect=min(DEFAULT_CONNECT_TIMEOUT, timeout))


def check_key_type(api_key: object) -> None:
    """`api_key` is None, a string or a secret (`get_secret_value()`, as pydantic's)."""
    ok = api_key is None or isinstance(api_key, str) or hasattr(api_key, "get_secret_value")
    advice = "pass the key from the MAVI console"
    ensure(ok, api_key, "api_key must be a string or a SecretStr", advice, secret=True)


def check_default_headers(default_headers: object) -> dict[str, str]:
    """`default_headers` (None: none) as a dict of header names to values a header can carry."""
    if default_headers is not None and not isinstance(default_headers, Mapping):
        raise MaviValidationError(
            f"default_headers must be a dict of header names to strings, got "
            f"{given(default_headers)}."
        )
    headers = dict(default_headers or {})
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise MaviValidationError(
                f"default_headers must map header names to strings, got {given(name)} "
                f"mapped to {given(value)}."
            )
        if not name or not all("!" <= c <= "~" and c != ":" for c in name):
            raise MaviValidationError(
                f"default_headers: {name!r} is not a header name (ASCII, no spaces or ':')."
            )
        if not value.isascii() or any(c in "\r\n\0" for c in value):
            raise MaviValidationError(
                f"default_headers: the value of {name!r} holds a line break, NUL or "
                "non-ASCII character, which a header cannot carry."
            )
    return headers


@dataclass(frozen=True, repr=False)
class MaviSettings:
    """How a client reaches MAVI; build it with `MaviSettings.resolve(...)`. The bounds are in
    docs/errors-and-wire.md#bounds; `api_version` is the chat dialect (docs/v1.2.md)."""

    base_url: str
    api_key: SecretStr | None = None
    auth: MaviTokenAuth | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: check_timeout(DEFAULT_TIMEOUT))
    max_retries: int = DEFAULT_MAX_RETRIES
    default_headers: Mapping[str, str] = field(default_factory=dict)
    deadline: float | None = DEFAULT_DEADLINE
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    api_version: str = "v1.0"

    @classmethod
    def resolve(
        cls,
        api_key: str | SecretLike | None = None,
        *,
        base_url: str | None = None,
        auth: MaviTokenAuth | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        api_version: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> MaviSettings:
        """Check every option and read the environment (once) for what is not given."""
        env = os.environ if environ is None else environ
        check_key_type(api_key)
        plain = reveal(api_key) or None  # "" (e.g. an unset SecretStr) means not given
        if plain is not None and auth is not None:
            raise MaviValidationError("Pass either api_key or auth=MaviTokenAuth(...), not both.")
        advice = (
            "pass auth=MaviTokenAuth(access_token, refresh_token=...), or a plain key as api_key="
        )
        ok = auth is None or isinstance(auth, MaviTokenAuth)
        ensure(ok, auth, "auth must be a MaviTokenAuth", advice, secret=True)
        key = None
        if auth is None and (plain or env.get(API_KEY_ENV)):
            what = "API key" if plain else f"API key in {API_KEY_ENV}"
            key = check_credential(plain or env[API_KEY_ENV], what)
        version = check_api_version(api_version, env.get(API_VERSION_ENV) or None)
        default_url = DEFAULT_V12_BASE_URL if version == "v1.2" else DEFAULT_BASE_URL
        url = check_base_url(base_url or env.get(BASE_URL_ENV) or default_url)
        parts = urlsplit(url)
        host = parts.hostname or ""
        if key is not None and key.get_secret_value() == EMULATOR_API_KEY and host in _MAVI_HOSTS:
            # MAVI_BASE_URL forgotten: the service's 401 ("copy the key again") is not the fix.
            raise MaviValidationError(
                f"The API key is the local emulator's key, but base_url is {url}, MAVI's "
                f"service, so nothing was sent: point {BASE_URL_ENV} (or base_url=) at the "
                f"emulator, as it prints on start (export {BASE_URL_ENV}=http://127.0.0.1:8808), "
                "or use your MAVI key."
            )
        ok = deadline is None or _is_seconds(deadline)
        ensure(ok, deadline, "deadline must be a positive number or None")
        settings = cls(
            base_url=url,
            api_key=key,
            auth=auth,
            max_retries=check_max_retries(max_retries),
            default_headers=check_default_headers(default_headers),
            timeout=check_timeout(timeout),
            deadline=deadline,
            max_response_bytes=_whole(max_response_bytes, "max_response_bytes", 1, " of bytes"),
            max_event_bytes=_whole(max_event_bytes, "max_event_bytes", 1, " of bytes"),
            api_version=version,
        )
        exposed = parts.scheme == "http" and not is_loopback(host)
        if exposed and (key is not None or auth is not None):
            warnings.warn(
                f"base_url http://{parts.netloc} is plain http to another machine: the MAVI key "
                "travels unencrypted. Use https:// unless the network is trusted.",
                UserWarning,
                stacklevel=3,
            )
        return settings

    def credential(self) -> str:
        """The `Authorization` value: the raw key or access token, no "Bearer"."""
        if self.auth is not None:
            return self.auth.header_value()
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        raise MaviAuthenticationError(
            "No MAVI credentials: pass api_key=..., set the MAVI_API_KEY environment variable, "
            "or pass auth=MaviTokenAuth(...)."
        )

    def headers(self, authenticate: bool, accept: str | None = None) -> dict[str, str]:
        headers = {
            "User-Agent": f"mavi-integrations/{__version__}",
            "Accept": accept or "text/event-stream, application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            **self.default_headers,
        }
        if authenticate:
            headers["Authorization"] = self.credential()
        return headers

    def fingerprint(self) -> str:
        """Whose credentials these are (a truncated SHA-256), to key what is kept per account."""
        secret = self.api_key if self.auth is None else self.auth.identity
        if secret is None:
            return "anonymous"
        kind = "key" if self.auth is None else "token"
        text = f"mavi-integrations {kind}\0{secret.get_secret_value()}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def secrets(self) -> list[str]:
        """Every credential this client knows, to mask wherever a message might quote one."""
        values: list[SecretStr | None] = [self.api_key]
        if self.auth is not None:
            tokens = self.auth.tokens
            values += [tokens.access_token, tokens.refresh_token]
        return [value.get_secret_value() for value in values if value is not None]

    def redact_text(self, text: str) -> str:
        """`text` with every credential this client knows masked (for logs)."""
        return redact(text, self.secrets())

    def redact(self, error: MaviError) -> MaviError:
        """`error` with every credential masked, and its cause dropped if it quoted one."""
        secrets = self.secrets()
        if error.request_id is not None:  # a reply header: the server may echo a key there too
            error.request_id = redact(error.request_id, secrets)
        message = redact(error.message, secrets)
        msg = None if error.msg is None else redact(error.msg, secrets)
        cause = error.__cause__
        if message != error.message or msg != error.msg:
            error.message, error.msg = message, msg
            error.args = (message, *error.args[1:])
        elif cause is None or redact(str(cause), secrets) == str(cause):
            return error
        error.__cause__ = None
        error.__suppress_context__ = True
        return error

    def __repr__(self) -> str:
        credentials = "token" if self.auth else ("api_key" if self.api_key else None)
        return (
            f"MaviSettings(base_url={self.base_url!r}, api_version={self.api_version!r}, "
            f"credentials={credentials!r})"
        )
