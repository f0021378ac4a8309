"""``python -m mavi_core.emulator``: a real process, the documented curl command, CLI faults."""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import mavi_core.emulator
from mavi_core.emulator import Faults, MaviEmulator
from mavi_core.emulator.__main__ import build_parser, main
from mavi_core.emulator._faults import (
    apply_fault_spec,
    parse_framing_spec,
    parse_framing_v12_spec,
)

CHAT = "/api/serve/video/chat"
STREAM = "/serve/api/v1/chat_stream"


@contextlib.contextmanager
def _serve(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mavi_core.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert match, first + (process.stderr.read() if process.stderr else "")
        yield match.group(0), process
    finally:
        process.terminate()
        process.wait(5)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    with _serve("--delta-delay", "0.01") as running:
        yield running


def _documented_curl(base_url: str) -> list[str]:
    doc = mavi_core.emulator.__doc__ or ""
    match = re.search(r"^\s*(curl -N .*?)\n\n", doc, re.MULTILINE | re.DOTALL)
    assert match, "the curl command is missing from the module docstring"
    command = match.group(1).replace("\\\n", " ")
    return [part.replace("http://127.0.0.1:8808", base_url) for part in shlex.split(command)]


def test_cli_prints_url_key_auth_code_and_sample_videos(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    _, process = served
    assert process.stdout is not None
    banner = [process.stdout.readline() for _ in range(8)]
    assert banner[0].split() == ["API", "key:", "sk-mavi-emulator"]
    assert banner[1].split() == ["Client", "id:", "mavi-emulator-client"]
    assert banner[2].split() == ["Auth", "code:", "mavi-emulator-code"]
    assert banner[3].startswith("Access tokens: POST http://127.0.0.1:")
    assert banner[3].rstrip().endswith("/auth/api/token/getAccessToken")
    assert "Sample videos:\n" in banner


def test_the_printed_auth_code_gets_an_access_token(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    base_url, _ = served
    body = {"clientId": "mavi-emulator-client", "code": "mavi-emulator-code"}
    for _ in range(2):  # the development code is not used up
        reply = httpx.post(base_url + "/auth/api/token/getAccessToken", json=body).json()
        assert reply["code"] == "0000"
        token = reply["data"]["accessToken"]
        listed = httpx.get(
            base_url + "/api/serve/video/searchDB", headers={"Authorization": token}
        ).json()
        assert listed["code"] == "0000"


def test_help_explains_the_token_flow_and_make_args() -> None:
    text = build_parser().format_help()
    assert "getAccessToken" in text and "mavi-emulator-code" in text
    assert 'make emulator ARGS="--rate-limit off' in text


def test_make_emulator_passes_args_through() -> None:
    root = Path(__file__).resolve().parents[2]
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry_run = subprocess.run(
        ["make", "-n", "-C", str(root), "emulator", "ARGS=--rate-limit off --port 9000"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "-m mavi_core.emulator --rate-limit off --port 9000" in dry_run


def test_missing_emulator_extra_names_the_extra_to_install() -> None:
    code = (
        "import sys; sys.modules['uvicorn'] = None\n"
        "try:\n"
        "    from mavi_core.emulator import MaviEmulator\n"
        "except ImportError as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.startswith("ImportError ")
    assert 'pip install "mavi-integrations[emulator]"' in output
    assert 'pip install -e ".[emulator]"' in output


def test_cli_without_the_emulator_extra_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['starlette'] = None\n"
        "from mavi_core.emulator.__main__ import main\n"
        "sys.exit(main([]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.startswith('mavi-emulator: The MAVI emulator needs the "emulator" extra')
    assert "Traceback" not in done.stderr


def test_documented_curl_command_streams_events(served: tuple[str, subprocess.Popen[str]]) -> None:
    base_url, _ = served
    command = _documented_curl(base_url)
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    output = subprocess.run(command, capture_output=True, text=True, timeout=20, check=True).stdout
    events = [json.loads(block[len("data:") :]) for block in output.split("\n\n") if block]
    assert len(events) > 20
    assert "onion" in "".join(event["data"]["msg"] for event in events)


def test_documented_request_streams_incrementally_from_the_cli(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    base_url, _ = served
    command = _documented_curl(base_url)
    headers = dict(command[i + 1].split(": ", 1) for i, arg in enumerate(command) if arg == "-H")
    body = command[command.index("-d") + 1]
    chunks = 0
    with httpx.stream("POST", base_url + CHAT, headers=headers, content=body) as reply:
        for chunk in reply.iter_raw():
            chunks += chunk.count(b"data:") > 0
    assert chunks > 10  # 10 ms between deltas: they arrive in many separate reads


def test_cli_applies_faults_and_framing() -> None:
    with _serve("--fault", "error_after:2,0500", "--framing", "crlf,end_marker=Done") as served:
        base_url, _ = served
        body = {"videoNos": ["VI634021587219364352"], "message": "boats", "stream": True}
        headers = {"Authorization": "sk-mavi-emulator"}
        first = httpx.post(base_url + CHAT, json=body, headers=headers).content
        second = httpx.post(base_url + CHAT, json=body, headers=headers).content
    assert first.count(b"\r\n\r\n") == 3
    assert first.endswith(
        b'"code":"0500","msg":"The model failed while generating the answer."}\r\n\r\n'
    )
    assert second.endswith(b'data:"Done"\r\n\r\n')


def test_cli_exits_cleanly_and_quickly_on_sigterm() -> None:
    with _serve() as (base_url, process):
        httpx.get(base_url + "/api/serve/video/searchDB")
        started = time.monotonic()
        process.terminate()
        assert process.wait(5) == 0
        assert time.monotonic() - started < 2.0


def test_cli_rate_limit_off_and_numbers_parse() -> None:
    args = build_parser().parse_args(
        ["--rate-limit", "off", "--delta-size", "3", "--latency", "0.5"]
    )
    assert (args.rate_limit, args.delta_size, args.latency) == (None, 3, 0.5)


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_cli_refuses_a_port_outside_0_to_65535(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--port", port])
    assert "argument --port: expected a port from 0 to 65535" in capsys.readouterr().err


def test_cli_refuses_unknown_faults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--fault", "explode:3"])
    assert "unknown fault 'explode'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("http_error:abc", "fault http_error: status must be an integer, got 'abc'"),
        ("stall_after:2,soon", "fault stall_after: seconds must be a number, got 'soon'"),
        ("disconnect_after:1,times=x", "fault disconnect_after: times must be an integer"),
    ],
)
def test_cli_names_the_fault_argument_that_is_malformed(
    spec: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["--fault", spec])
    err = capsys.readouterr().err
    assert message in err
    assert "invalid literal" not in err


@pytest.mark.parametrize(
    ("spec", "pending"),
    [
        ("error_after:3", "error_after(3, '0500') x1"),
        ("disconnect_after:5,times=2", "disconnect_after(5) x2"),
        ("stall_after:2,30", "stall_after(2, 30.0) x1"),
        ("http_error:502,html,retry_after=4", "http_error(502) x1"),
        ("rate_limit_http:2", "rate_limit_http(2) x1"),
        ("error_envelope:0403,Account disabled.", "error_envelope('0403') x1"),
        ("slow_first_byte:1.5", "slow_first_byte(1.5) x1"),
    ],
)
def test_fault_specs_map_to_fault_calls(spec: str, pending: str) -> None:
    faults = Faults(expire_tokens=lambda: None)
    apply_fault_spec(faults, spec)
    assert faults.pending == [pending]


@pytest.mark.parametrize(
    ("spec", "pending"),
    [
        (f"error_after:2,path={STREAM}", f"error_after(2, '0500') on {STREAM} x1"),
        ("disconnect_after:1,path=any", "disconnect_after(1) x1"),
        (f"stall_after:0,2,path={STREAM}", f"stall_after(0, 2.0) on {STREAM} x1"),
    ],
)
def test_stream_fault_specs_take_a_path(spec: str, pending: str) -> None:
    faults = Faults(expire_tokens=lambda: None)
    apply_fault_spec(faults, spec)
    assert faults.pending == [pending]


def test_expire_sessions_spec_calls_the_emulator() -> None:
    expired: list[bool] = []
    apply_fault_spec(
        Faults(lambda: None, expire_sessions=lambda: expired.append(True)), "expire_sessions"
    )
    assert expired == [True]


def test_framing_v12_spec_sets_named_options_only() -> None:
    framing = parse_framing_v12_spec("batched,crlf,end_marker=DONE,done_after_error")
    assert framing.batched and framing.crlf and framing.done_after_error
    assert not framing.error_envelopes and framing.end_marker == "DONE"
    assert parse_framing_v12_spec("end_marker=none").end_marker is None
    with pytest.raises(ValueError, match="end_marker must be Done, DONE, done, \\[DONE\\]"):
        parse_framing_v12_spec("end_marker=Fin")
    with pytest.raises(ValueError, match="unknown framing option 'cumulative'"):
        parse_framing_v12_spec("cumulative")


def test_cli_api_version_and_framing_v12() -> None:
    args = (
        "--api-version",
        "v1.2",
        "--framing-v12",
        "crlf",
        "--fault",
        f"error_after:1,path={STREAM}",
    )
    with _serve(*args) as (base_url, _):
        headers = {"Authorization": "sk-mavi-emulator"}
        body = {"video_nos": ["VI634021587219364352"], "prompt": "boats"}
        faulted = httpx.post(base_url + STREAM, json=body, headers=headers).content
        plain = httpx.post(base_url + STREAM, json=body, headers=headers).content
        v10 = httpx.post(base_url + CHAT, json={"videoNos": ["x"]}, headers=headers)
    assert faulted.endswith(b'data:"The model failed while generating the answer."\r\n\r\n')
    assert plain.endswith(b'data:"Done"\r\n\r\n')
    assert v10.status_code == 404


def test_cli_serves_both_dialects_by_default() -> None:
    assert build_parser().parse_args([]).api_version == "all"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--api-version", "v2"])


def test_framing_spec_sets_named_options_only() -> None:
    framing = parse_framing_spec("cumulative,crlf,end_marker=[DONE],content_type=none")
    assert framing.cumulative and framing.crlf and not framing.multiline
    assert (framing.end_marker, framing.content_type) == ("[DONE]", None)


def test_emulator_modules_import_nothing_from_the_client() -> None:
    package = Path(mavi_core.emulator.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{module.name} imports from outside the emulator"
                assert node.level == 1 or not (node.module or "").startswith("mavi_core"), (
                    module.name
                )
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("mavi_core") for a in node.names), module.name


def test_emulator_does_not_import_the_frameworks() -> None:
    code = (
        "import sys, mavi_core.emulator; "
        "bad = [m for m in sys.modules if m.startswith(('langchain', 'llama_index'))]; "
        "print(bad)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"
    assert MaviEmulator.__module__.startswith("mavi_core.emulator")
