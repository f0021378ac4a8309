"""The emulator says what it serves: one line per request (`--log`, `log_requests=`), and a busy
port at start names `--port`."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import pytest

from mavi_core import MaviClient
from mavi_core.emulator import MaviEmulator, offline_mode
from mavi_core.emulator.__main__ import main


def test_log_requests_writes_one_line_per_request_without_secrets() -> None:
    lines: list[str] = []
    with MaviEmulator(rate_limit=None, log_requests=lines.append) as emu:
        with MaviClient(emu.api_key, base_url=emu.base_url) as client:
            client.chat(emu.video_nos[:1], "What happens?")
            list(client.list_videos())

    assert len(lines) == 2, lines
    assert re.fullmatch(r"POST /api/serve/video/chat 200 \d+ ms", lines[0])
    assert re.fullmatch(r"GET /api/serve/video/searchDB 200 \d+ ms", lines[1])
    assert not any("sk-" in line for line in lines)


def test_without_log_requests_nothing_is_written(capfd: pytest.CaptureFixture[str]) -> None:
    with MaviEmulator(rate_limit=None) as emu, MaviClient(emu.api_key, base_url=emu.base_url) as c:
        list(c.list_videos())
    assert "searchDB" not in capfd.readouterr().err


def test_the_cli_log_flag_prints_request_lines_on_stderr() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mavi_core.emulator", "--port", "0", "--log"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        base_url = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline())
        assert base_url is not None
        with MaviClient("sk-mavi-emulator", base_url=base_url.group(0)) as client:
            list(client.list_videos())
        line = process.stderr.readline()
        assert re.fullmatch(r"GET /api/serve/video/searchDB 200 \d+ ms\n", line), line
    finally:
        process.terminate()
        process.wait(5)


def test_a_busy_port_suggests_another_with_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]

        assert main(["--port", str(port)]) == 1

    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert f"--port {port + 1}" in err
    assert "--port 0 for any free one" in err


@pytest.mark.parametrize(
    ("environ", "offline"),
    [
        ({}, True),
        ({"MAVI_API_KEY": "sk-mavi-emulator"}, True),
        ({"MAVI_API_KEY": "sk-mine", "MAVI_BASE_URL": "http://127.0.0.1:8808"}, True),
        ({"MAVI_API_KEY": "sk-mine", "MAVI_BASE_URL": "http://localhost:9000"}, True),
        ({"MAVI_API_KEY": "sk-mine"}, False),
        ({"MAVI_API_KEY": "sk-mine", "MAVI_BASE_URL": "https://api.memories.ai"}, False),
    ],
)
def test_offline_mode_reads_the_emulators_key_and_host_as_offline(
    environ: dict[str, str], offline: bool
) -> None:
    assert offline_mode(environ) is offline
