"""Safe to leave running: the key before the body, bounded bodies, a bounded request log."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from mavi_core.emulator import MaviEmulator

V = "/api/serve/video"
KITCHEN = "VI634021601844219905"


def _raw_post(base_url: str, path: str, headers: dict[str, str], first_bytes: bytes) -> bytes:
    """Announce a body with Content-Length, send only `first_bytes` of it, read the reply."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + first_bytes)
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    return reply


def _status_and_json(reply: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.fixture
def small_emu() -> Iterator[MaviEmulator]:
    with MaviEmulator(
        rate_limit=None, log_size=10, log_body_bytes=1024, max_body_bytes=64 * 1024
    ) as emulator:
        yield emulator


# -- the key before the body ----------------------------------------------------------------


def test_huge_body_without_a_key_is_refused_before_it_is_read(emu: MaviEmulator) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(100 * 1024 * 1024)}
    started = time.monotonic()
    reply = _raw_post(emu.base_url, f"{V}/chat", headers, b"[" * 65536)
    assert time.monotonic() - started < 2.0  # 100 MB were announced, 64 KiB sent
    status, payload = _status_and_json(reply)
    assert (status, payload["code"]) == (200, "0401")
    recorded = emu.requests[-1]
    assert (recorded.body, recorded.body_read, recorded.body_size) == (None, False, 0)


def test_huge_upload_with_a_wrong_key_is_refused_before_it_is_read(emu: MaviEmulator) -> None:
    headers = {
        "Authorization": "sk-wrong",
        "Content-Type": "multipart/form-data; boundary=x",
        "Content-Length": str(2 * 1024**3),
    }
    status, payload = _status_and_json(_raw_post(emu.base_url, f"{V}/upload", headers, b"--x\r\n"))
    assert (status, payload["code"]) == (200, "0401")


# -- bounded bodies -------------------------------------------------------------------------


def test_announced_body_over_the_limit_gets_413_without_being_read(
    small_emu: MaviEmulator,
) -> None:
    headers = {
        "Authorization": small_emu.api_key,
        "Content-Type": "application/json",
        "Content-Length": str(50 * 1024 * 1024),
    }
    started = time.monotonic()
    status, payload = _status_and_json(
        _raw_post(small_emu.base_url, f"{V}/searchAI", headers, b"{")
    )
    assert time.monotonic() - started < 2.0
    assert (status, payload["code"]) == (413, "0001")
    assert "max_body_bytes" in str(payload["msg"]) and "--max-body-mib" in str(payload["msg"])
    assert small_emu.requests[-1].body_read is False


def test_chunked_body_over_the_limit_gets_413(small_emu: MaviEmulator) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):  # 100 x 4 KiB, over the 64 KiB limit; no Content-Length
            yield b" " * 4096

    with httpx.Client(base_url=small_emu.base_url) as http:
        reply = http.post(
            f"{V}/searchAI", content=chunks(), headers={"Authorization": small_emu.api_key}
        )
    assert (reply.status_code, reply.json()["code"]) == (413, "0001")


def test_body_under_the_limit_is_served(small_emu: MaviEmulator) -> None:
    body = {"searchValue": "boats " + " " * 60_000}
    headers = {"Authorization": small_emu.api_key}
    reply = httpx.post(small_emu.base_url + f"{V}/searchAI", json=body, headers=headers)
    assert reply.json()["code"] == "0000"


def test_uploads_have_their_own_larger_limit(small_emu: MaviEmulator) -> None:
    small_emu.max_upload_bytes = 200 * 1024
    headers = {"Authorization": small_emu.api_key}
    url = small_emu.base_url + f"{V}/upload"
    fits = httpx.post(url, files={"file": ("a.mp4", b"\0" * 100_000)}, headers=headers)
    assert fits.json()["code"] == "0000"  # over max_body_bytes, under max_upload_bytes
    over = httpx.post(url, files={"file": ("a.mp4", b"\0" * 300_000)}, headers=headers)
    assert over.status_code == 413
    assert "max_upload_bytes" in over.json()["msg"]


def test_limits_are_checked(emu: MaviEmulator) -> None:
    with pytest.raises(ValueError, match="max_body_bytes"):
        emu.max_body_bytes = 0
    with pytest.raises(ValueError, match="log_size"):
        MaviEmulator(log_size=0)


# -- nested JSON ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [f"{V}/chat", f"{V}/searchAI", f"{V}/delete"])
def test_deeply_nested_json_gets_0001(client: httpx.Client, path: str) -> None:
    method = "DELETE" if path.endswith("delete") else "POST"
    body = b"[" * 100_000 + b"]" * 100_000
    reply = client.request(method, path, content=body, headers={"content-type": "application/json"})
    assert reply.status_code == 200
    assert reply.json() == {
        "code": "0001",
        "msg": "The request body is JSON nested too deeply to read.",
    }


def test_deeply_nested_json_small_enough_to_log_is_logged_as_bytes() -> None:
    # 20,000 levels: too deep for json on every Python (3.13 decodes 8,000), and a log that
    # keeps 64 KiB bodies, so the body is logged whole, as the bytes that could not be decoded.
    body = b"[" * 20_000 + b"]" * 20_000
    with MaviEmulator(rate_limit=None, log_body_bytes=64 * 1024) as emu:
        with httpx.Client(base_url=emu.base_url, headers={"Authorization": emu.api_key}) as http:
            http.post(f"{V}/searchAI", content=body, headers={"content-type": "application/json"})
        assert emu.requests[-1].body == body


# -- a bounded request log ------------------------------------------------------------------


def test_request_log_keeps_only_the_last_log_size_requests(small_emu: MaviEmulator) -> None:
    with httpx.Client(base_url=small_emu.base_url) as http:
        for index in range(25):
            http.get(f"{V}/searchDB", params={"page": index + 1})
    kept = small_emu.requests
    assert len(kept) == 10
    assert [r.query["page"] for r in kept] == [str(n) for n in range(16, 26)]


def test_request_log_cuts_long_bodies(small_emu: MaviEmulator) -> None:
    body = json.dumps({"searchValue": "boats " * 5000}).encode()  # about 30 KB
    headers = {"Authorization": small_emu.api_key, "content-type": "application/json"}
    with httpx.Client(base_url=small_emu.base_url, headers=headers) as http:
        for _ in range(30):
            http.post(f"{V}/searchAI", content=body)
    kept = small_emu.requests
    assert sum(len(r.body) for r in kept) <= 10 * 1024  # 10 entries of at most 1 KiB
    last = kept[-1]
    assert last.truncated and last.body == body[:1024] and last.body_size == len(body)


def test_unauthenticated_big_posts_do_not_grow_the_log(emu: MaviEmulator) -> None:
    body = b"x" * (5 * 1024 * 1024)
    with httpx.Client(base_url=emu.base_url) as http:
        for _ in range(5):
            # The emulator answers 0401 without reading: the client may see the reply or a reset.
            with contextlib.suppress(httpx.TransportError):
                http.post(f"{V}/chat", content=body)
    chats = [r for r in emu.requests if r.path == f"{V}/chat"]
    assert len(chats) == 5
    assert all(r.body is None and r.body_size == 0 for r in chats)


def test_request_log_masks_credentials_in_token_bodies(
    emu: MaviEmulator, anon: httpx.Client
) -> None:
    issued = anon.post(
        "/auth/api/token/getAccessToken",
        json={"clientId": emu.client_id, "code": emu.authorization_code()},
    ).json()["data"]
    anon.post("/auth/api/token/refreshAccessToken", json={"refreshToken": issued["refreshToken"]})
    exchange, refresh = emu.requests[-2:]
    assert exchange.body["clientId"] == emu.client_id
    assert exchange.body["code"].endswith("…(masked)")
    assert refresh.body["refreshToken"].endswith("…(masked)")
    assert issued["refreshToken"] not in repr(emu.requests)
