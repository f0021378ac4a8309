"""gzip and deflate bodies decompressed `DECODE_STEP` bytes at a time, so the readers' bounds
hold while decompressing: a small reply cannot become a gigabyte in memory. Pure, no I/O."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from typing import Final

from ._exceptions import MaviServerError

ACCEPT_ENCODING: Final = "gzip, deflate"
DECODE_STEP: Final = 64 * 1024  # decompressed bytes produced at most at a time
_GZIP: Final = zlib.MAX_WBITS | 16


class ContentDecoder:
    """Decompresses one gzip or deflate body, chunk by chunk, in steps of `DECODE_STEP`."""

    __slots__ = ("_deflate", "_head", "_z")

    def __init__(self, encoding: str) -> None:
        self._deflate = encoding == "deflate"
        # deflate may come zlib-wrapped or raw: its first two bytes decide, however cut.
        self._head = b"" if self._deflate else None
        self._z = zlib.decompressobj(zlib.MAX_WBITS if self._deflate else _GZIP)

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._head is not None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, None
            # A zlib stream starts with a CMF/FLG pair: deflate method and a checksum of 31.
            if data[0] & 0x0F != 8 or (data[0] << 8 | data[1]) % 31:
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        while data:
            if self._z.eof:
                if self._deflate:
                    return  # bytes after the end of a deflate stream: nothing of the body
                # gzip members one after another (a server compressing each flush): each read.
                self._z = zlib.decompressobj(_GZIP)
            try:
                piece = self._z.decompress(data, DECODE_STEP)
            except zlib.error as exc:
                raise _corrupt(exc) from None
            data = self._z.unused_data if self._z.eof else self._z.unconsumed_tail
            if piece:
                yield piece

    def flush(self) -> Iterator[bytes]:
        if self._head:
            yield from self.decode(b"")
        try:
            while piece := self._z.flush(DECODE_STEP):
                yield piece
        except zlib.error as exc:
            raise _corrupt(exc) from None
        if not self._z.eof:
            raise MaviServerError(
                "MAVI sent a compressed reply that ends before its end (cut short): the answer "
                "may be incomplete. Try again."
            )


def _corrupt(exc: zlib.error) -> MaviServerError:
    return MaviServerError(
        f"MAVI sent a compressed reply that does not decompress ({exc}). Try again; check "
        "base_url if it persists."
    )


def content_decoder(headers: Mapping[str, str]) -> ContentDecoder | None:
    """The decoder a reply's Content-Encoding needs; None when it is not compressed."""
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return ContentDecoder(encoding)
    raise MaviServerError(
        f"MAVI answered with Content-Encoding {encoding[:40]!r}, which the client did not ask "
        f"for (it accepts {ACCEPT_ENCODING}). Check base_url and any proxy in between."
    )
