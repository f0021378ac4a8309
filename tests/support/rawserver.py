"""A loopback HTTP server that writes exactly the bytes a test chooses.

Each connection's request is read (head and Content-Length body), then `script(conn, request)`
writes whatever it likes: several events in one write, an error in the same write as text, a
reply cut anywhere, gzip, huge lines, a trickle. The server counts requests and remembers them.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

Script = Callable[[socket.socket, "Request"], None]


@dataclass
class Request:
    head: str
    body: bytes

    @property
    def path(self) -> str:
        return self.head.split(" ", 2)[1]

    def header(self, name: str) -> str | None:
        for line in self.head.split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


@dataclass
class RawServer:
    script: Script
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    open: int = 0
    """Connections accepted and not closed yet (by either side)."""
    base_url: str = ""
    bytes_sent: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, listener: socket.socket) -> None:
        listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with self._lock:
            self.open += 1
        with conn:
            conn.settimeout(10)
            try:
                while True:
                    request = _read_request(conn)
                    if request is None:
                        return
                    self.requests.append(request)
                    self.script(conn, request)
            except OSError:
                return
            finally:
                with self._lock:
                    self.open -= 1

    def wait_open(self, count: int, timeout: float = 10.0) -> int:
        """The connections open, once they are `count` (or after `timeout`)."""
        end = time.monotonic() + timeout
        while self.open != count and time.monotonic() < end:
            time.sleep(0.02)
        return self.open


def _read_request(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    text = head.decode("latin-1")
    length = 0
    for line in text.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == "content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(text, body)


@contextmanager
def raw_server(script: Script) -> Iterator[RawServer]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    server = RawServer(script)
    server.base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    thread = threading.Thread(target=server.serve, args=(listener,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server._stop.set()
        thread.join()
        listener.close()


def head(status: str = "200 OK", *headers: str, length: int | None = None) -> bytes:
    """A response head; without `length`, the body runs until the connection closes."""
    lines = [f"HTTP/1.1 {status}", *headers]
    lines.append(f"Content-Length: {length}" if length is not None else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def reply(conn: socket.socket, body: bytes, *headers: str, status: str = "200 OK") -> None:
    """A whole reply in one write, then the connection closes."""
    conn.sendall(head(status, *headers) + body)
    conn.shutdown(socket.SHUT_WR)
