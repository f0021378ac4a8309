"""Fault injection: what the next requests should suffer, and how chat replies are framed.

Faults are queued in the order they are set. "Next N" faults apply to the next ``times``
matching requests and then disappear; a request takes at most one error fault and at most one
stream fault (the first pending one that matches its path). Framing is a persistent setting.

    error faults   error_envelope, http_error, rate_limit_http   any path unless `path` is given
    stream faults  error_after, disconnect_after, stall_after    the v1.0 chat unless `path`
    delay          slow_first_byte                               the v1.0 chat unless `path`
    state          expire_tokens, expire_sessions                immediate
    format         framing (v1.0), framing_v12 (v1.2 stream)     chat replies, until changed

Stream faults reach the v1.2 dialect with ``path=CHAT_STREAM_PATH`` (or ``path=None``: either
chat stream); there they count content events, after the thinking and ref events.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from http import HTTPStatus
from typing import Any, Generic, Literal, TypeVar

CHAT_PATH = "/api/serve/video/chat"
# The v1.2 chat: a JSON reply, and a stream of typed events.
CHAT_V12_PATH = "/serve/api/v1/chat"
CHAT_STREAM_PATH = "/serve/api/v1/chat_stream"
STREAM_PATHS = frozenset({CHAT_PATH, CHAT_STREAM_PATH})
API_VERSIONS = ("v1.0", "v1.2")  # the chat dialects, by the version of the API they belong to
RATE_LIMIT_MSG = "Request has exceeded the limit."
# The live service declares UTF-8; without a charset, clients built on requests read Latin-1.
EVENT_STREAM = "text/event-stream;charset=UTF-8"
JSON_TYPE = "application/json;charset=UTF-8"

EndMarker = Literal["Done", "[DONE]"]
V12EndMarker = Literal["Done", "DONE", "done", "[DONE]", "envelope"]
V12_END_MARKERS: tuple[str, ...] = ("Done", "DONE", "done", "[DONE]", "envelope")
"""``envelope`` ends with ``{"code":"SUCCESS","data":"Done"}``, as the service's table shows."""
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
class V12Framing:
    """How the v1.2 chat stream is written; the defaults are the documented format.

    ``end_marker`` is the payload of the last event (None: the reply just ends); ``batched``
    writes several events in one chunk; ``error_envelopes`` ends a failed stream (a refusal or an
    ``error_after`` fault) with the documented ``data:{"code":"SUCCESS","data":"<the words>"}``
    instead of the bare string ``data:"<the words>"``; ``done_after_error`` follows the error
    with the end marker. Session ids are always strings of digits, as documented.
    """

    space_after_data: bool = False
    crlf: bool = False
    end_marker: V12EndMarker | None = "Done"
    batched: bool = False
    error_envelopes: bool = False
    done_after_error: bool = False
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

    def __init__(
        self,
        expire_tokens: Callable[[], None],
        expire_sessions: Callable[[], None] = lambda: None,
    ) -> None:
        self._expire_tokens = expire_tokens
        self._expire_sessions = expire_sessions
        self._lock = threading.Lock()
        self._errors: list[_Pending[ErrorReply]] = []
        self._streams: list[_Pending[StreamFault]] = []
        self._first_byte: list[_Pending[float]] = []
        self._framing = Framing()
        self._framing_v12 = V12Framing()

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

    def expire_sessions(self) -> None:
        """Forget every v1.2 chat session, as the service does when one expires."""
        self._expire_sessions()

    # -- stream faults (a chat stream: v1.0 unless `path`) -------------------------------------

    def error_after(
        self,
        deltas: int,
        code: str = "0500",
        msg: str = "The model failed while generating the answer.",
        *,
        times: int = 1,
        path: str | None = CHAT_PATH,
    ) -> None:
        """Send `deltas` good deltas, then an error, then end the reply.

        v1.0 sends an error envelope event with `code`; the v1.2 stream ends with `msg` as the
        service does: a bare string (``data:"<msg>"``), or ``{"code":"SUCCESS","data":"<msg>"}``
        under ``error_envelopes`` framing (`code` is not sent).
        """
        _check_non_negative("deltas", deltas)
        fault = StreamFault("error", deltas, code=code, msg=msg)
        self._push_stream(fault, times, path, f"error_after({deltas}, {code!r})")

    def disconnect_after(
        self, deltas: int, *, times: int = 1, path: str | None = CHAT_PATH
    ) -> None:
        """Send `deltas` deltas, then drop the connection without ending the chunked body."""
        _check_non_negative("deltas", deltas)
        fault = StreamFault("disconnect", deltas)
        self._push_stream(fault, times, path, f"disconnect_after({deltas})")

    def stall_after(
        self, deltas: int, seconds: float, *, times: int = 1, path: str | None = CHAT_PATH
    ) -> None:
        """Send `deltas` deltas, go silent for `seconds`, then continue."""
        _check_non_negative("deltas", deltas)
        _check_non_negative("seconds", seconds)
        fault = StreamFault("stall", deltas, seconds=seconds)
        self._push_stream(fault, times, path, f"stall_after({deltas}, {seconds})")

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

    def framing_v12(
        self,
        *,
        space_after_data: bool = False,
        crlf: bool = False,
        end_marker: V12EndMarker | None = "Done",
        batched: bool = False,
        error_envelopes: bool = False,
        done_after_error: bool = False,
        content_type: str | None = EVENT_STREAM,
    ) -> None:
        """Set how v1.2 chat replies are written, every option at once (see V12Framing)."""
        if end_marker is not None and end_marker not in V12_END_MARKERS:
            expected = ", ".join(f'"{marker}"' for marker in V12_END_MARKERS)
            raise ValueError(f"end_marker must be None, {expected}, got {end_marker!r}")
        settings = V12Framing(
            space_after_data, crlf, end_marker, batched, error_envelopes, done_after_error,
            content_type,
        )  # fmt: skip
        with self._lock:
            self._framing_v12 = settings

    @property
    def current_framing_v12(self) -> V12Framing:
        with self._lock:
            return self._framing_v12

    def clear(self) -> None:
        """Remove every pending fault and restore the default framing."""
        with self._lock:
            self._errors.clear()
            self._streams.clear()
            self._first_byte.clear()
            self._framing = Framing()
            self._framing_v12 = V12Framing()

    @property
    def pending(self) -> list[str]:
        """Human-readable list of the faults still waiting, with their remaining counts."""
        with self._lock:
            waiting: list[_Pending[Any]] = [*self._errors, *self._streams, *self._first_byte]
            return [f"{p.description} x{p.remaining}" for p in waiting]

    def __repr__(self) -> str:
        return (
            f"Faults(pending={self.pending!r}, framing={self.current_framing!r}, "
            f"framing_v12={self.current_framing_v12!r})"
        )

    # -- used by the app -----------------------------------------------------------------------

    def take_error(self, path: str) -> ErrorReply | None:
        return self._take(self._errors, path)

    def take_stream_fault(self, path: str) -> StreamFault | None:
        return self._take(self._streams, path)

    def take_first_byte_delay(self, path: str) -> float:
        return self._take(self._first_byte, path) or 0.0

    def _push_stream(
        self, fault: StreamFault, times: int, path: str | None, description: str
    ) -> None:
        if path is not None and path not in STREAM_PATHS:
            expected = " or ".join(sorted(STREAM_PATHS))
            raise ValueError(f"path must be None, {expected} (a chat stream), got {path!r}")
        if path is not None and path != CHAT_PATH:
            description = f"{description} on {path}"
        self._push(self._streams, fault, times, path, description)

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


def _path(text: str) -> str | None:
    """A fault's path; "any" (or "none") for every path it can apply to."""
    return None if text.strip().lower() in ("any", "none") else text.strip()


_Converter = Callable[[str], object]
_EXPECTED: dict[_Converter, str] = {
    int: "an integer",
    float: "a number",
    _flag: "true or false",
    _int_or_text: "a number of seconds or an HTTP date",
    _path: "a path",
}
_FAULT_FORMS: dict[str, tuple[tuple[str, ...], dict[str, _Converter]]] = {
    "error_envelope": (("code", "msg"), {"code": str, "msg": str, "times": int, "path": str}),
    "http_error": (
        ("status",),
        {"status": int, "times": int, "html": _flag, "retry_after": _int_or_text, "path": str},
    ),
    "rate_limit_http": (("retry_after",), {"retry_after": _int_or_text, "times": int, "path": str}),
    "expire_tokens": ((), {}),
    "expire_sessions": ((), {}),
    "error_after": (
        ("deltas", "code", "msg"),
        {"deltas": int, "code": str, "msg": str, "times": int, "path": _path},
    ),
    "disconnect_after": (("deltas",), {"deltas": int, "times": int, "path": _path}),
    "stall_after": (
        ("deltas", "seconds"),
        {"deltas": int, "seconds": float, "times": int, "path": _path},
    ),
    "slow_first_byte": (("seconds",), {"seconds": float, "times": int, "path": str}),
}

FAULT_SPEC_HELP = (
    "NAME[:ARG,...,key=value], e.g. error_after:3  disconnect_after:5  stall_after:2,30  "
    "http_error:503,times=2,html  rate_limit_http:2  error_envelope:0403,Account disabled  "
    "slow_first_byte:3  expire_tokens  expire_sessions; the v1.2 stream with "
    f"path={CHAT_STREAM_PATH} (or path=any), e.g. error_after:2,path={CHAT_STREAM_PATH}; "
    "NAME is one of " + ", ".join(_FAULT_FORMS)
)


def _flag_names(framing: type[Framing] | type[V12Framing]) -> list[str]:
    return [f.name for f in fields(framing) if f.type == "bool"]


FRAMING_SPEC_HELP = (
    "comma-separated: "
    + ", ".join(_flag_names(Framing))
    + ', end_marker=Done|[DONE], content_type=TYPE|none; e.g. "cumulative,crlf,end_marker=Done"'
)
FRAMING_V12_SPEC_HELP = (
    "comma-separated: "
    + ", ".join(_flag_names(V12Framing))
    + ", end_marker="
    + "|".join(V12_END_MARKERS)
    + "|none, content_type=TYPE|none; "
    'e.g. "crlf,batched,end_marker=DONE"'
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


_AnyFraming = TypeVar("_AnyFraming", Framing, V12Framing)


def _parse_framing(
    spec: str, base: _AnyFraming, markers: tuple[str, ...], usage: str
) -> _AnyFraming:
    flags = set(_flag_names(type(base)))
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
            elif marker in markers:
                changes[key] = marker
            else:
                raise ValueError(f"end_marker must be {', '.join(markers)} or none, got {marker!r}")
        elif key == "content_type" and has_value:
            changes[key] = None if value.strip().lower() in ("", "none") else value.strip()
        else:
            raise ValueError(f"unknown framing option {part!r}; {usage}")
    return replace(base, **changes)  # type: ignore[arg-type]


def parse_framing_spec(spec: str, base: Framing | None = None) -> Framing:
    """Turn a ``--framing`` value into a Framing (options not named keep `base`'s values)."""
    return _parse_framing(spec, base or Framing(), ("Done", "[DONE]"), FRAMING_SPEC_HELP)


def parse_framing_v12_spec(spec: str, base: V12Framing | None = None) -> V12Framing:
    """Turn a ``--framing-v12`` value into a V12Framing (others keep `base`'s values)."""
    return _parse_framing(spec, base or V12Framing(), V12_END_MARKERS, FRAMING_V12_SPEC_HELP)


def set_framing(faults: Faults, framing: Framing | V12Framing) -> None:
    """Make `framing` the current framing of its dialect."""
    options: dict[str, Any] = {f.name: getattr(framing, f.name) for f in fields(framing)}
    if isinstance(framing, V12Framing):
        faults.framing_v12(**options)
    else:
        faults.framing(**options)
