"""The connection options every LlamaIndex component takes, declared once, and the `mavi_core`
clients behind a component: built on first use, shared by its copies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, TypedDict

from pydantic import SecretStr

from mavi_core._adapters import ClientPair
from mavi_core._options import keyword_names, refuse_unknown
from mavi_core.constants import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT

if TYPE_CHECKING:
    import httpx

    from mavi_core import AsyncMaviClient, MaviClient, RateLimit

__all__ = [
    "CONNECTION_OPTIONS",
    "DEFAULTS",
    "ConnectionOptions",
    "MaviClients",
    "MaviConnection",
    "api_key_of",
]


MaviClients = ClientPair
"""The `mavi_core` clients behind a component: `mavi_core._adapters.ClientPair`, which both
adapters use, so every option reaches both clients through one place."""


class ConnectionOptions(TypedDict, total=False):
    """The connection options of every LlamaIndex component (`**connection` in their
    constructors); each left out takes its default.

    - `api_key`: None (default): `MAVI_API_KEY`; a missing key fails at the first request.
    - `base_url`: None (default): `MAVI_BASE_URL`, then MAVI's host for the dialect.
    - `timeout`: seconds (or an `httpx.Timeout`) per request and per silent gap in a stream.
    - `max_retries`: retries on connection errors, timeouts, 429 and 5xx, before any delta.
    - `default_headers`: extra HTTP headers for every request (never dumped).
    - `client` / `async_client`: `mavi_core` clients to use instead of building them (then
      the options above are theirs); never closed here.
    - `api_version`: "v1.0" or "v1.2"; None (default): `MAVI_API_VERSION`, then "v1.0".
    - `rate_limit`: the key's shared budget: a `mavi_core.RateLimit`, a backend URL, "auto"
      (default: MAVI's budgets in this process when talking to MAVI itself) or None (off).
    - `unique_id`: v1.2: the namespace inside the account (the end user's library and
      sessions) every request names; None (default): "default". Refused with v1.0 when the
      component is built, as the clients refuse it at a call.
    """

    api_key: str | SecretStr | None
    base_url: str | None
    timeout: float | httpx.Timeout | None
    max_retries: int
    default_headers: Mapping[str, str] | None
    client: MaviClient | None
    async_client: AsyncMaviClient | None
    api_version: str | None
    rate_limit: RateLimit | str | None
    unique_id: str | None


CONNECTION_OPTIONS: Final = frozenset(ConnectionOptions.__annotations__)

DEFAULTS: Final[Mapping[str, Any]] = {
    "timeout": DEFAULT_TIMEOUT,
    "max_retries": DEFAULT_MAX_RETRIES,
    "rate_limit": "auto",
}


def connection_options(owner: object, given: ConnectionOptions) -> dict[str, Any]:
    """Every connection option, defaults filled in. Anything else in `given` reached the
    constructor's `**connection` as an unknown keyword: refused, naming the closest option."""
    if not given.keys() <= CONNECTION_OPTIONS:
        valid = CONNECTION_OPTIONS | keyword_names(type(owner).__init__)
        refuse_unknown(type(owner).__name__, given, valid)
    return {name: given.get(name, DEFAULTS.get(name)) for name in sorted(CONNECTION_OPTIONS)}


def namespaced_clients(options: dict[str, Any]) -> tuple[MaviClients, str | None]:
    """The clients of `connection_options`, and the namespace they send (`unique_id`, taken
    out of `options`), checked for their dialect."""
    unique_id = options.pop("unique_id", None)
    clients = MaviClients(**options)
    clients.scope(unique_id)
    return clients, unique_id


def api_key_of(clients: ClientPair) -> SecretStr | None:
    """The key `clients` use: the explicit one, else `MAVI_API_KEY`, else None (requests then
    fail with the core error); read once, by the settings `mavi_core` resolved, and checked
    there."""
    key = clients.settings.api_key
    return None if key is None else SecretStr(key.get_secret_value())


class MaviConnection:
    """Connection settings and clients, shared by both engines."""

    _api_key: SecretStr | None
    _base_url: str | None
    _timeout: float | httpx.Timeout | None
    _max_retries: int
    _api_version: str | None
    _clients: MaviClients
    unique_id: str | None
    """v1.2: the namespace every request names (`ConnectionOptions`)."""

    def _connect(self, connection: ConnectionOptions) -> None:
        options = connection_options(self, connection)
        self._base_url = options["base_url"]
        self._timeout = options["timeout"]
        self._max_retries = options["max_retries"]
        self._api_version = options["api_version"]
        self._clients, self.unique_id = namespaced_clients(options)
        self._api_key = api_key_of(self._clients)

    @property
    def api_key(self) -> SecretStr | None:
        """The MAVI key in use (a `SecretStr`), or None if none was given or found."""
        return self._api_key

    @property
    def base_url(self) -> str | None:
        """The base URL given (None: `MAVI_BASE_URL`, then the default)."""
        return self._base_url

    @property
    def timeout(self) -> float | httpx.Timeout | None:
        return self._timeout

    @property
    def max_retries(self) -> int:
        return self._max_retries

    @property
    def api_version(self) -> str | None:
        """The dialect given (None: `MAVI_API_VERSION`, then "v1.0")."""
        return self._api_version

    def __getstate__(self) -> dict[str, Any]:
        # Pickled without the key (docs/client.md, "Secrets"); the clients pickle as their options.
        return {**self.__dict__, "_api_key": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._api_key = api_key_of(self._clients)  # MAVI_API_KEY where unpickled

    def close(self) -> None:
        """Close the sync HTTP client built here (shared with copies), if any."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close the async HTTP client built here, if any: its pools of every event loop."""
        await self._clients.aclose()
