"""Fault injection: what the next requests should suffer, and how chat replies are framed.

Faults are queued in the order they are set. "Next N" faults apply to the next ``times``
matching requests and then disappear; a request takes at most one error fault and at most one
stream fault (the first pending one that matches its path). Framing is a persistent setting.

    error faults   error_envelope, http_error, rate_limit_http   any path unless `path` is given
    stream faults  error_after, disconnect_after, stall_after    the chat endpoint only
    delay          slow_first_byte                               the chat endpoint unless `path`
    state          expire_tokens                                 immediate
    format         framing                                       chat replies, until changed
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from http import HTTPStatus
from typing import Any, Generic, Literal, TypeVar

CHAT_PATH = "/api/serve/video/chat"
RATE_LIMIT_MSG = "Request has exceeded the limit."
# The live service declares UTF-8; without a charset, clients built on requests read Latin-1.
EVENT_STREAM = "text/event-stream;charset=UTF-8"
JSON_TYPE = "application/json;charset=UTF-8"

EndMarker = Literal["Done", "[DONE]"]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Framing:
    """How chat replies are written on the wire; the defaults are the documented v1.0 format."""

    space_after_data: bool = False
    crlf: bool = False
    end_marker: EndMarker | None = None
    cumulative: bool = False
    plain_json: bool = False
    multiline: bool = False
    comments: bool = False
    content_type: str | None = EVENT_STREAM


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """A canned reply that replaces the normal handling of a request."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class StreamFault:
    """Something that happens to a chat reply after `deltas` good deltas."""

    kind: Literal["error", "disconnect", "stall"]
    deltas: int
    seconds: float = 0.0
    code: str = "0500"
    msg: str = ""


@dataclass(slots=True)
class _Pending(Generic[_T]):
    value: _T
    remaining: int
    path: str | None
    description: str


def _envelope(code: str, msg: str) -> bytes:
    return json.dumps({"code": code, "msg": msg}, separators=(",", ":")).encode()


def _proxy_page(status: int) -> bytes:
    title = f"{status} {HTTPStatus(status).phrase}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def _check_times(times: int) -> None:
    if not isinstance(times, int) or times < 1:
        raise ValueError(f"times must be an int >= 1, got {times!r}")


def _check_non_negative(name: str, value: float) -> None:
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")


class Faults:
    """Programmable faults of one emulator (thread-safe); reach it as ``emu.faults``."""

    def __init__(self, expire_tokens: Callable[[], None]) -> None:
        self._expire_tokens = expire_tokens
        self._lock = threading.Lock()
        self._errors: list[_Pending[ErrorReply]] = []
        self._streams: list[_Pending[StreamFault]] = []
        self._first_byte: list[_Pending[float]] = []
        self._framing = Framing()

    # -- error faults (any path unless `path` is given) --------------------------------------

    def error_envelope(
        self,
        code: str = "0429",
        msg: str = RATE_LIMIT_MSG,
        *,
        times: int = 1,
        path: str | None = None,
    ) -> None:
        """Answer HTTP 200 with ``{"code": code, "msg": msg}`` and no data."""
        reply = ErrorReply(200, _envelope(code, msg), JSON_TYPE)
        self._push(self._errors, reply, times, path, f"error_envelope({code!r})")

    def http_error(
        self,
        status: int = 503,
        *,
        times: int = 1,
        html: bool = False,
        retry_after: int | str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer with HTTP `status`: a JSON envelope, or an nginx-style HTML page."""
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (400-599), got {status!r}")
        headers = () if retry_after is None else (("retry-after", str(retry_after)),)
        if html:
            reply = ErrorReply(status, _proxy_page(status), "text/html", headers)
        else:
            body = _envelope(f"{status:04d}", HTTPStatus(status).phrase)
            reply = ErrorReply(status, body, JSON_TYPE, headers)
        self._push(self._errors, reply, times, path, f"http_error({status})")

    def rate_limit_http(
        self, retry_after: int | str = 1, *, times: int = 1, path: str | None = None
    ) -> None:
        """Answer HTTP 429 with ``Retry-After`` and the 0429 envelope."""
        reply = ErrorReply(
            429,
            _envelope("0429", RATE_LIMIT_MSG),
            JSON_TYPE,
            (("retry-after", str(retry_after)),),
        )
        self._push(self._errors, reply, times, path, f"rate_limit_http({retry_after!r})")

    # -- state --------------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every access token issued so far is expired from now on (replies 0401)."""
        self._expire_tokens()

    # -- stream faults (chat endpoint) --------------------------------------------------------

    def error_after(
        self,
        deltas: int,
        code: str = "0500",
        msg: str = "The model failed while generating the answer.",
        *,
        times: int = 1,
    ) -> None:
        """Send `deltas` good deltas, then an error envelope event, then end the reply."""
        _check_non_negative("deltas", deltas)
        fault = StreamFault("error", deltas, code=code, msg=msg)
        self._push(self._streams, fault, times, CHAT_PATH, f"error_after({deltas}, {code!r})")

    def disconnect_after(self, deltas: int, *, times: int = 1) -> None:
        """Send `deltas` deltas, then drop the connection without ending the chunked body."""
        _check_non_negative("deltas", deltas)
        fault = StreamFault("disconnect", deltas)
        self._push(self._streams, fault, times, CHAT_PATH, f"disconnect_after({deltas})")

    def stall_after(self, deltas: int, seconds: float, *, times: int = 1) -> None:
        """Send `deltas` deltas, go silent for `seconds`, then continue."""
        _check_non_negative("deltas", deltas)
        _check_non_negative("seconds", seconds)
        fault = StreamFault("stall", deltas, seconds=seconds)
        self._push(self._streams, fault, times, CHAT_PATH, f"stall_after({deltas}, {seconds})")

    def slow_first_byte(
        self, seconds: float, *, times: int = 1, path: str | None = CHAT_PATH
    ) -> None:
        """Wait `seconds` before sending the status line and headers."""
        _check_non_negative("seconds", seconds)
        self._push(self._first_byte, seconds, times, path, f"slow_first_byte({seconds})")

    # -- framing ------------------------------------------------------------------------------

    def framing(
        self,
        *,
        space_after_data: bool = False,
        crlf: bool = False,
        end_marker: EndMarker | None = None,
        cumulative: bool = False,
        plain_json: bool = False,
        multiline: bool = False,
        comments: bool = False,
        content_type: str | None = EVENT_STREAM,
    ) -> None:
        """Set how chat replies are framed, every option at once (unnamed ones to default)."""
        if end_marker not in (None, "Done", "[DONE]"):
            raise ValueError(f'end_marker must be None, "Done" or "[DONE]", got {end_marker!r}')
        settings = Framing(
            space_after_data=space_after_data,
            crlf=crlf,
            end_marker=end_marker,
            cumulative=cumulative,
            plain_json=plain_json,
            multiline=multiline,
            comments=comments,
            content_type=content_type,
        )
        with self._lock:
            self._framing = settings

    @property
    def current_framing(self) -> Framing:
        with self._lock:
            return self._framing

    def clear(self) -> None:
        """Remove every pending fault and restore the default framing."""
        with self._lock:
            self._errors.clear()
            self._streams.clear()
            self._first_byte.clear()
            self._framing = Framing()

    @property
    def pending(self) -> list[str]:
        """Human-readable list of the faults still waiting, with their remaining counts."""
        with self._lock:
            waiting: list[_Pending[Any]] = [*self._errors, *self._streams, *self._first_byte]
            return [f"{p.description} x{p.remaining}" for p in waiting]

    def __repr__(self) -> str:
        return f"Faults(pending={self.pending!r}, framing={self.current_framing!r})"

    # -- used by the app -----------------------------------------------------------------------

    def take_error(self, path: str) -> ErrorReply | None:
        return self._take(self._errors, path)

    def take_stream_fault(self, path: str) -> StreamFault | None:
        return self._take(self._streams, path)

    def take_first_byte_delay(self, path: str) -> float:
        return self._take(self._first_byte, path) or 0.0

    def _push(
        self, queue: list[_Pending[_T]], value: _T, times: int, path: str | None, description: str
    ) -> None:
        _check_times(times)
        with self._lock:
            queue.append(_Pending(value, times, path, description))

    def _take(self, queue: list[_Pending[_T]], path: str) -> _T | None:
        with self._lock:
            for index, pending in enumerate(queue):
                if pending.path is None or pending.path == path:
                    pending.remaining -= 1
                    if pending.remaining <= 0:
                        del queue[index]
                    return pending.value
        return None


# -- command line forms: --fault NAME[:ARG,...,key=value] and --framing flag,...,key=value -------


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _int_or_text(text: str) -> int | str:
    return int(text) if text.strip().isdigit() else text


_Converter = Callable[[str], object]
_EXPECTED: dict[_Converter, str] = {
    int: "an integer",
    float: "a number",
    _flag: "true or false",
    _int_or_text: "a number of seconds or an HTTP date",
}
_FAULT_FORMS: dict[str, tuple[tuple[str, ...], dict[str, _Converter]]] = {
    "error_envelope": (("code", "msg"), {"code": str, "msg": str, "times": int, "path": str}),
    "http_error": (
        ("status",),
        {"status": int, "times": int, "html": _flag, "retry_after": _int_or_text, "path": str},
    ),
    "rate_limit_http": (("retry_after",), {"retry_after": _int_or_text, "times": int, "path": str}),
    "expire_tokens": ((), {}),
    "error_after": (
        ("deltas", "code", "msg"),
        {"deltas": int, "code": str, "msg": str, "times": int},
    ),
    "disconnect_after": (("deltas",), {"deltas": int, "times": int}),
    "stall_after": (("deltas", "seconds"), {"deltas": int, "seconds": float, "times": int}),
    "slow_first_byte": (("seconds",), {"seconds": float, "times": int, "path": str}),
}

FAULT_SPEC_HELP = (
    "NAME[:ARG,...,key=value], e.g. error_after:3  disconnect_after:5  stall_after:2,30  "
    "http_error:503,times=2,html  rate_limit_http:2  error_envelope:0403,Account disabled  "
    "slow_first_byte:3  expire_tokens; NAME is one of " + ", ".join(_FAULT_FORMS)
)
FRAMING_SPEC_HELP = (
    "comma-separated: "
    + ", ".join(f.name for f in fields(Framing) if f.type == "bool")
    + ', end_marker=Done|[DONE], content_type=TYPE|none; e.g. "cumulative,crlf,end_marker=Done"'
)


def apply_fault_spec(faults: Faults, spec: str) -> None:
    """Apply one ``--fault`` value to `faults`; raises ValueError on a malformed spec."""
    name, _, rest = spec.strip().partition(":")
    form = _FAULT_FORMS.get(name.strip())
    if form is None:
        raise ValueError(f"unknown fault {name!r}; expected one of {', '.join(_FAULT_FORMS)}")
    positional_names, converters = form

    def convert(key: str, value: str) -> object:
        converter = converters[key]
        try:
            return converter(value)
        except ValueError:
            expected = _EXPECTED.get(converter, "a valid value")
            usage = ",".join(positional_names) or "no arguments"
            raise ValueError(
                f"fault {name}: {key} must be {expected}, got {value!r} "
                f"(the form is {name}:{usage}[,key=value])"
            ) from None

    kwargs: dict[str, object] = {}
    positional: list[str] = []
    for arg in (part for part in rest.split(",") if part.strip()) if rest else ():
        key, has_value, value = arg.partition("=")
        key = key.strip()
        if has_value and key in converters:
            kwargs[key] = convert(key, value.strip())
        elif not has_value and converters.get(key) is _flag:
            kwargs[key] = True
        else:
            positional.append(arg.strip())
    if len(positional) > len(positional_names):
        raise ValueError(f"too many arguments for {name}: {spec!r}")
    for key, value in zip(positional_names, positional, strict=False):
        kwargs[key] = convert(key, value)
    getattr(faults, name)(**kwargs)


def parse_framing_spec(spec: str, base: Framing | None = None) -> Framing:
    """Turn a ``--framing`` value into a Framing (options not named keep `base`'s values)."""
    flags = {f.name for f in fields(Framing) if f.type == "bool"}
    changes: dict[str, object] = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        key, has_value, value = part.partition("=")
        key = key.strip().replace("-", "_")
        if key in flags:
            changes[key] = _flag(value) if has_value else True
        elif key == "end_marker" and has_value:
            marker = value.strip()
            if marker.lower() in ("", "none"):
                changes[key] = None
            elif marker in ("Done", "[DONE]"):
                changes[key] = marker
            else:
                raise ValueError(f"end_marker must be Done, [DONE] or none, got {marker!r}")
        elif key == "content_type" and has_value:
            changes[key] = None if value.strip().lower() in ("", "none") else value.strip()
        else:
            raise ValueError(f"unknown framing option {part!r}; {FRAMING_SPEC_HELP}")
    return replace(base or Framing(), **changes)  # type: ignore[arg-type]


def set_framing(faults: Faults, framing: Framing) -> None:
    faults.framing(
        space_after_data=framing.space_after_data,
        crlf=framing.crlf,
        end_marker=framing.end_marker,
        cumulative=framing.cumulative,
        plain_json=framing.plain_json,
        multiline=framing.multiline,
        comments=framing.comments,
        content_type=framing.content_type,
    )
