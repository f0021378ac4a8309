"""The connection settings every MAVI LangChain component shares, and its `mavi_core` clients."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, cast

from langchain_core.utils import from_env, secret_from_env
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mavi_core._adapters import ClientPair, check_client, normalize_video_nos
from mavi_core._options import refuse_unknown
from mavi_core._secret import redact_url_secrets
from mavi_core._settings import check_key_type, check_max_retries, check_timeout
from mavi_core.constants import (
    API_KEY_ENV,
    API_VERSION_ENV,
    BASE_URL_ENV,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)

if TYPE_CHECKING:
    from mavi_core import AsyncMaviClient, MaviClient

__all__ = ["MaviConnection", "MaviNamespaced", "check_video_nos"]

# The text fields read from the environment when not given or None.
_ENV_OF = {"base_url": BASE_URL_ENV, "api_version": API_VERSION_ENV}


def check_video_nos(value: Any) -> Any:
    """A component's default `video_nos`, checked and explained as every MAVI entry point does
    (`video_nos="VI..."` says to write a list); None and an empty list mean "none by default"."""
    if value is None or (isinstance(value, list | tuple) and not value):
        return value
    return normalize_video_nos(value)  # a MaviValidationError is a ValueError: pydantic wraps it


class MaviConnection(BaseModel):
    """Key, host, timeout and retries; the clients are built from them on first use."""

    # A wrong argument may hold a key: pydantic's errors must not quote what was given.
    model_config = ConfigDict(
        populate_by_name=True, arbitrary_types_allowed=True, hide_input_in_errors=True
    )

    api_key: SecretStr | None = Field(default_factory=secret_from_env(API_KEY_ENV, default=None))
    """MAVI API key; read from `MAVI_API_KEY` when not given or None. None when neither is set:
    requests then fail with `MaviAuthenticationError`."""
    base_url: str | None = Field(default_factory=from_env(BASE_URL_ENV, default=None))
    """API host; read from `MAVI_BASE_URL` when not given or None, else
    `https://mavi-backend.memories.ai` (`https://api.memories.ai` with `api_version="v1.2"`)."""
    api_version: str | None = Field(default_factory=from_env(API_VERSION_ENV, default=None))
    """The dialect: "v1.0" (the default) or "v1.2" (sessions held by the service, thinking,
    and the moments an answer rests on; search, listing and transcripts over the v1.2
    endpoints); read from `MAVI_API_VERSION` when not given or None.
    Checked when the component is built, like `base_url`."""
    # Typed Any so that importing the adapter does not load httpx; checked by mavi_core.
    timeout: Any = DEFAULT_TIMEOUT
    """Seconds to wait for the service (per read while streaming), or an `httpx.Timeout`;
    None waits forever."""
    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, ge=0)
    """Retries on connection errors, timeouts, rate limits and 5xx, before any text arrived."""
    default_headers: dict[str, str] | None = Field(default=None, exclude=True, repr=False)
    """Extra HTTP headers for every request; left out of `repr`, `model_dump` and `dumpd`, as
    `MaviLLM` leaves them out of its dumps: they may hold a gateway's credentials."""
    # Typed Any (as langchain-openai does) so that importing the adapter does not load httpx.
    client: Any = Field(default=None, exclude=True, repr=False)
    """An existing `mavi_core.MaviClient` to use instead of one built from the fields above."""
    async_client: Any = Field(default=None, exclude=True, repr=False)
    """An existing `mavi_core.AsyncMaviClient` to use instead of one built from the fields."""
    rate_limit: Any = Field(default="auto", exclude=True)
    """The key's shared budget (`mavi_core.RateLimit`, a backend URL, "auto" or None); see
    `mavi_core.MaviClient`."""

    _pair: Any = PrivateAttr(default=None)
    _pair_options: Any = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_options(cls, values: Any) -> Any:
        # Strict options for every LangChain component: a misspelt `api_verison=` or `top_k=`
        # is an error naming the closest field, never a default silently kept.
        if isinstance(values, dict):
            fields = cls.model_fields.items()
            aliases = {field.alias for _, field in fields if field.alias}
            refuse_unknown(cls.__name__, values, {name for name, _ in fields} | aliases)
        return values

    @field_validator("api_key", mode="before")
    @classmethod
    def _api_key_from_env(cls, value: Any) -> Any:
        # None means "from the environment", as for `MaviClient(api_key=None)`.
        if value is None:
            return os.environ.get(API_KEY_ENV) or None
        check_key_type(value)  # the clients' check: the type is named, never the value
        return value

    @field_validator("base_url", "api_version", mode="before")
    @classmethod
    def _text_from_env(cls, value: Any, info: ValidationInfo) -> Any:
        return os.environ.get(_ENV_OF[info.field_name or ""]) or None if value is None else value

    @field_validator("timeout")
    @classmethod
    def _check_timeout(cls, value: Any) -> Any:
        if value is None:
            return value
        check_timeout(value)  # mavi_core's check: the same rule and message as the clients'
        return value if hasattr(value, "as_dict") else float(value)  # an httpx.Timeout, or s

    @field_validator("max_retries", mode="before")
    @classmethod
    def _check_max_retries(cls, value: Any) -> Any:
        return check_max_retries(value)  # the clients' rule: True or 1.5 is no count

    @field_validator("client", "async_client")
    @classmethod
    def _check_client(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or "client"
        check_client(value, name, asynchronous=name == "async_client")
        return value

    @model_validator(mode="after")
    def _check_connection(self) -> Any:
        # The clients' own checks (rate_limit, api_version, default_headers, and with the
        # settings base_url, the key's characters and max_retries), when the component is
        # built, not at its first request: a base_url holding a password never reaches repr.
        # The pair is built again, on first use, from the fields as they are then.
        ClientPair(**self._client_options()).settings  # noqa: B018 - resolving checks
        return self

    def __repr_args__(self) -> Any:
        # A store URL's password is never shown (docs/rate-limits-and-bulk.md): repr, str, and what
        # LangChain serializes of a component it cannot serialize (its repr).
        for name, value in super().__repr_args__():
            if name == "rate_limit" and isinstance(value, str):
                value = redact_url_secrets(value, value)
            yield name, value

    def _client_options(self) -> dict[str, Any]:
        """The connection fields, as every component and `ClientPair` take them."""
        return {
            "api_key": self.api_key,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "default_headers": self.default_headers,
            "client": self.client,
            "async_client": self.async_client,
            "api_version": self.api_version,
            "rate_limit": self.rate_limit,
        }

    def _clients(self) -> ClientPair:
        """The clients, built from the fields on first use; injected ones are used as given.

        Built again when the fields changed since (`model_copy(update={"base_url": ...})`, an
        assignment): what the component shows is what it uses."""
        options = self._client_options()
        if self._pair is None or options != self._pair_options:
            self._pair = ClientPair(**options)
            self._pair_options = options
        return cast("ClientPair", self._pair)

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Any:
        # Clients and the quota are resources: a copy shares them rather than copying locks.
        memo = {} if memo is None else memo
        for name in ("client", "async_client", "rate_limit"):
            value = self.__dict__.get(name)
            memo.setdefault(id(value), value)
        return super().__deepcopy__(memo)

    def __getstate__(self) -> dict[Any, Any]:
        # Pickled without the key (docs/client.md, "Secrets"): the copy reads MAVI_API_KEY where
        # it is unpickled, as LangChain's `loads` does; injected clients are refused by ClientPair.
        self._clients().__getstate__()
        state = super().__getstate__()
        private = state.get("__pydantic_private__") or {}
        return {
            **state,
            "__dict__": {**state["__dict__"], "api_key": None},
            "__pydantic_private__": {**private, "_pair": None, "_pair_options": None},
        }

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        if self.api_key is None:
            key = os.environ.get(API_KEY_ENV) or None
            self.__dict__["api_key"] = None if key is None else SecretStr(key)

    def _get_client(self) -> MaviClient:
        return self._clients().sync()

    def _get_async_client(self) -> AsyncMaviClient:
        return self._clients().async_()  # it keeps one connection pool per event loop

    def close(self) -> None:
        """Close the sync HTTP client built here, if any (injected clients stay open)."""
        if self._pair is not None:
            self._clients().close()

    async def aclose(self) -> None:
        """Close the async HTTP client built here, if any: its pools of every event loop."""
        if self._pair is not None:
            await self._clients().aclose()


class MaviNamespaced(MaviConnection):
    """A connection whose every v1.2 request names the namespace `unique_id`: the components
    that chat, search and read transcripts (not `ChatMaviVLM`, which has no namespace)."""

    unique_id: str | None = None
    """v1.2: the namespace inside the account (the end user's library and sessions) every
    request names; None: "default". Refused with v1.0 when the component is built, as the
    clients refuse it at a call."""

    @model_validator(mode="after")
    def _check_unique_id(self) -> Any:
        self._namespace_clients().scope(self.unique_id)
        return self

    def _namespace_clients(self) -> ClientPair:
        """The clients whose dialect decides whether `unique_id` may be sent."""
        return self._clients()
