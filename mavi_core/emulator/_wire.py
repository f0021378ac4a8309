"""Bytes on the wire: envelopes, chat events in every framing, and multipart form parsing.

All functions here are pure; the app decides what to send and these decide how it looks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._faults import Framing, V12Framing

SUCCESS_CODE = "0000"
SUCCESS_MSG = "success"


def envelope(code: str, msg: str, data: Any = None) -> dict[str, Any]:
    """The reply envelope; business errors carry no ``data``."""
    if data is None:
        return {"code": code, "msg": msg}
    return {"code": code, "msg": msg, "data": data}


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _EventWriter:
    """``data:`` lines and the blank line that ends an event, with or without CRLF and space."""

    def __init__(self, *, crlf: bool, space_after_data: bool, comment: bool = False) -> None:
        self._sep = "\r\n" if crlf else "\n"
        self._data = "data: " if space_after_data else "data:"
        self._comment = f": keep-alive{self._sep}" if comment else ""

    def _event(self, lines: Sequence[str]) -> bytes:
        sep, data = self._sep, self._data
        return (self._comment + "".join(data + line + sep for line in lines) + sep).encode()


class ChatEncoder(_EventWriter):
    """Encodes chat answer pieces as ``data:`` events in one framing, each piece in O(piece)."""

    def __init__(self, framing: Framing) -> None:
        super().__init__(
            crlf=framing.crlf, space_after_data=framing.space_after_data, comment=framing.comments
        )
        self.framing = framing

    def piece(self, text: str) -> bytes:
        lines = [
            f'{{"code":"{SUCCESS_CODE}",',
            f'"msg":"{SUCCESS_MSG}",',
            f'"data":{{"msg":{dumps(text)}}}}}',
        ]
        if self.framing.multiline:
            # Newlines between JSON tokens are whitespace, so the joined lines stay one object.
            return self._event(lines)
        return self._event(["".join(lines)])

    def pieces(self, texts: Sequence[str]) -> list[bytes]:
        """One event per piece; with cumulative framing each carries all text so far."""
        if not self.framing.cumulative:
            return [self.piece(text) for text in texts]
        events: list[bytes] = []
        so_far: list[str] = []
        for text in texts:
            so_far.append(text)
            events.append(self.piece("".join(so_far)))
        return events

    def error(self, code: str, msg: str) -> bytes:
        return self._event([dumps(envelope(code, msg))])

    def prologue(self) -> bytes:
        """A comment-only block before the first event (framing ``comments``)."""
        return f": keep-alive{self._sep}{self._sep}".encode() if self.framing.comments else b""

    def epilogue(self) -> bytes:
        marker = self.framing.end_marker
        if marker is None:
            return b""
        return self._event(['"Done"' if marker == "Done" else "[DONE]"])


def _stream_envelope(data: str) -> dict[str, str]:
    """The v1.2 stream's last event as its documentation's table shows it: "Done", or the
    service's words when it failed."""
    return {"code": "SUCCESS", "data": data}


class V12Encoder(_EventWriter):
    """Encodes v1.2 chat stream events as documented: one JSON object per event, tagged with
    its session id (a string of digits), in the key order of the service's examples."""

    def __init__(self, framing: V12Framing, session_id: int) -> None:
        super().__init__(crlf=framing.crlf, space_after_data=framing.space_after_data)
        self.framing = framing
        self.session_id = str(session_id)

    def _json(self, event: dict[str, Any]) -> bytes:
        return self._event([dumps(event)])

    def thinking(self, title: str, content: str) -> bytes:
        return self._json(
            {"type": "thinking", "title": title, "content": content, "sessionId": self.session_id}
        )

    def ref(self, video_refs: list[dict[str, Any]]) -> bytes:
        """One ``ref`` event naming every cited video (``ref`` is a list, one entry each)."""
        return self._json({"type": "ref", "sessionId": self.session_id, "ref": video_refs})

    def content(self, piece: str) -> bytes:
        return self._json(
            {"type": "content", "role": "assistant", "content": piece, "sessionId": self.session_id}
        )

    def error(self, code: str, msg: str) -> bytes:
        """An error event as documented: the message as a bare JSON string, or under
        ``error_envelopes`` the stream's envelope ``{"code":"SUCCESS","data":msg}`` (the
        service's words where "Done" would be; `code` is not sent); then maybe the marker."""
        payload = _stream_envelope(msg) if self.framing.error_envelopes else msg
        event = self._event([dumps(payload)])
        return event + self.end() if self.framing.done_after_error else event

    def end(self) -> bytes:
        marker = self.framing.end_marker
        if marker is None:
            return b""
        if marker == "envelope":
            return self._event([dumps(_stream_envelope("Done"))])
        return self._event([marker if marker == "[DONE]" else dumps(marker)])


@dataclass(frozen=True, slots=True)
class FormPart:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


_PARAM = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))')


def header_params(value: str) -> dict[str, str]:
    """Parameters of a header value such as ``form-data; name="file"; filename="a.mp4"``."""
    return {
        m[1].lower(): (m[2].replace('\\"', '"') if m[2] is not None else m[3])
        for m in _PARAM.finditer(value)
    }


def parse_multipart(content_type: str, body: bytes) -> dict[str, FormPart] | None:
    """The parts of a multipart/form-data body by name, or None if it is not one."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    boundary = header_params(content_type).get("boundary")
    if not boundary:
        return None
    parts: dict[str, FormPart] = {}
    for chunk in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break
        head, found, data = chunk.partition(b"\r\n\r\n")
        if not found:
            continue
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        disposition = header_params(headers.get("content-disposition", ""))
        if "name" not in disposition:
            continue
        if data.endswith(b"\r\n"):
            data = data[:-2]
        parts[disposition["name"]] = FormPart(
            disposition["name"], disposition.get("filename"), headers.get("content-type"), data
        )
    return parts
