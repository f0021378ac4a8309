"""The request log tests assert on: a bounded ring of requests, bodies cut short, secrets masked.

Memory stays bounded however long the emulator runs: at most ``size`` requests are kept (the
oldest go first), and a body is decoded only when it is at most ``body_bytes`` long; a longer
one keeps only its first ``body_bytes`` bytes.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._wire import parse_multipart

if TYPE_CHECKING:  # the package imports this module without the "emulator" extra
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
# Fields of the token endpoints' bodies that are credentials.
SECRET_FIELDS = frozenset({"code", "refreshToken", "accessToken", "clientSecret", "apiKey"})
MASK = "…(masked)"
DEFAULT_LOG_SIZE = 1000
DEFAULT_LOG_BODY_BYTES = 8 * 1024


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the emulator received it.

    ``headers`` has lower-case names and masked secrets; ``body`` is the decoded JSON if the
    body was JSON (credential fields masked), a description
    ``{"file": {"filename", "content_type", "size"}}`` (plus any text fields) for multipart
    uploads, None when empty or not read, and the raw bytes otherwise. A body longer than the
    log's ``body_bytes`` is kept as its first ``body_bytes`` bytes with ``truncated`` set.
    ``body_size`` is the number of bytes the emulator read; a body refused before it was read
    (no valid key, or over the size limit) has ``body_read`` False.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    body_size: int = 0
    truncated: bool = False
    body_read: bool = True

    @property
    def json(self) -> Any:
        return self.body


def mask_secret(value: str) -> str:
    """``"sk-mavi-emulator"`` -> ``"sk-m…(masked)"``; keeps a ``Bearer`` scheme visible."""
    scheme, space, rest = value.partition(" ")
    if space and scheme.lower() == "bearer":
        return f"{scheme} {mask_secret(rest.strip())}"
    return (value[:4] if len(value) >= 12 else "") + MASK


def masked_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name in SECRET_HEADERS:
            value = mask_secret(value)
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _masked_fields(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {
        key: mask_secret(item) if key in SECRET_FIELDS and isinstance(item, str) else item
        for key, item in value.items()
    }


def describe_body(content_type: str, body: bytes, limit: int = DEFAULT_LOG_BODY_BYTES) -> Any:
    """What the log keeps of a body (see RecordedRequest.body); never more than about `limit`."""
    if not body:
        return None
    form = parse_multipart(content_type, body)
    if form is not None:
        described: dict[str, Any] = {}
        for name, part in form.items():
            if part.filename is None:
                described[name] = part.data[:limit].decode("utf-8", "replace")
            else:
                described[name] = {
                    "filename": part.filename,
                    "content_type": part.content_type,
                    "size": len(part.data),
                }
        return described
    if len(body) > limit:
        return body[:limit]
    try:
        return _masked_fields(json.loads(body))
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to decode
        return body


def is_truncated(content_type: str, body: bytes, limit: int) -> bool:
    return len(body) > limit and not content_type.lower().startswith("multipart/form-data")


class RequestLog:
    """The last `size` requests, oldest first (thread-safe)."""

    def __init__(self, size: int = DEFAULT_LOG_SIZE, body_bytes: int = DEFAULT_LOG_BODY_BYTES):
        self._lock = threading.Lock()
        self._entries: deque[RecordedRequest] = deque(maxlen=size)
        self.body_bytes = body_bytes

    @property
    def size(self) -> int:
        return self._entries.maxlen or 0

    @size.setter
    def size(self, size: int) -> None:
        with self._lock:
            self._entries = deque(self._entries, maxlen=size)

    def add(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def print_line(line: str) -> None:
    """Where `--log` writes: a line on stderr, flushed at once (stdout holds the banner)."""
    print(line, file=sys.stderr, flush=True)


class RequestLines:
    """An ASGI wrapper writing one line per request once it is answered:
    `POST /api/serve/video/chat 200 12 ms` (no headers or bodies: nothing secret)."""

    def __init__(self, app: ASGIApp, write: Callable[[str], None]) -> None:
        self.app = app
        self.write = write

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | str = "-"  # no reply started: the connection was dropped

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            self.write(f"{scope['method']} {scope['path']} {status} {elapsed:.0f} ms")
