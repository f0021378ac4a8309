"""The request log tests assert on; secrets in headers are masked before they are stored."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._wire import parse_multipart

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
MASK = "…(masked)"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the emulator received it.

    ``headers`` has lower-case names and masked secrets; ``body`` is the decoded JSON if the
    body was JSON, a description ``{"file": {"filename", "content_type", "size"}}`` (plus any
    text fields) for multipart uploads, None when empty, and the raw bytes otherwise.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

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


def describe_body(content_type: str, body: bytes) -> Any:
    if not body:
        return None
    form = parse_multipart(content_type, body)
    if form is not None:
        described: dict[str, Any] = {}
        for name, part in form.items():
            if part.filename is None:
                described[name] = part.data.decode("utf-8", "replace")
            else:
                described[name] = {
                    "filename": part.filename,
                    "content_type": part.content_type,
                    "size": len(part.data),
                }
        return described
    try:
        return json.loads(body)
    except ValueError:
        return body


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[RecordedRequest] = []

    def add(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
