"""Content-Encoding: bodies decompressed in bounded steps, so a small reply cannot become a
gigabyte in memory. Pure, no I/O.

The clients ask for `gzip, deflate` only and read raw bytes; each raw chunk is decompressed at
most `DECODE_STEP` bytes at a time, so the readers' bounds (`max_response_bytes`,
`max_event_bytes`) are checked while decompressing, never after.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from typing import Final

from ._constants import DECODE_STEP
from ._exceptions import MaviServerError

__all__ = ["ACCEPT_ENCODING", "ContentDecoder", "content_decoder"]

ACCEPT_ENCODING: Final = "gzip, deflate"
_GZIP: Final = frozenset({"gzip", "x-gzip"})
_IDENTITY: Final = frozenset({"", "identity"})


class ContentDecoder:
    """Decompresses one gzip or deflate body, chunk by chunk, in steps of `DECODE_STEP`."""

    __slots__ = ("_deflate", "_first", "_z")

    def __init__(self, encoding: str) -> None:
        self._deflate = encoding == "deflate"
        self._first = True
        # gzip: header and trailer checked; deflate: zlib-wrapped, or raw as some servers send.
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 16 if not self._deflate else zlib.MAX_WBITS)

    def decode(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                piece = self._z.decompress(data, DECODE_STEP)
            except zlib.error as exc:
                if self._deflate and self._first:
                    self._first = False
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise _corrupt(exc) from None
            self._first = False
            data = self._z.unconsumed_tail
            if piece:
                yield piece

    def flush(self) -> Iterator[bytes]:
        try:
            while piece := self._z.flush(DECODE_STEP):
                yield piece
        except zlib.error as exc:
            raise _corrupt(exc) from None


def _corrupt(exc: zlib.error) -> MaviServerError:
    return MaviServerError(
        f"MAVI sent a compressed reply that does not decompress ({exc}). Try again; check "
        "base_url if it persists."
    )


def content_decoder(headers: Mapping[str, str]) -> ContentDecoder | None:
    """The decoder a reply's Content-Encoding needs; None when it is not compressed."""
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding in _IDENTITY:
        return None
    if encoding in _GZIP:
        return ContentDecoder("gzip")
    if encoding == "deflate":
        return ContentDecoder("deflate")
    raise MaviServerError(
        f"MAVI answered with Content-Encoding {encoding[:40]!r}, which the client did not ask "
        f"for (it accepts {ACCEPT_ENCODING}). Check base_url and any proxy in between."
    )
