"""`make demo` runs end to end: on its embedded emulator without any key, and against a MAVI
service named by `MAVI_API_KEY` / `MAVI_BASE_URL` / `MAVI_VIDEO_NOS` (here an emulator on a
port, standing in for the live service)."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from mavi_core.emulator import MaviEmulator

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"
HARBOR = "VI634021587219364352"
KITCHEN = "VI634021601844219905"
HEADINGS = (
    "MaviClient.stream_chat",
    "ChatMavi.stream",
    "inside a LangChain agent",
    "MaviQueryEngine",
    "Where next",
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAVI_", "OPENAI_"))}
    env.pop("NO_COLOR", None)
    return {**env, **extra}


def run_demo(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, str(DEMO)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mavi_demo", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def offline_run() -> subprocess.CompletedProcess[str]:
    """One run of the demo on its own emulator, without any MAVI_* variable."""
    return run_demo(clean_env())


def test_demo_runs_every_layer_without_a_key(
    offline_run: subprocess.CompletedProcess[str],
) -> None:
    out = offline_run.stdout
    for heading in ("Started the MAVI emulator", "is ready.", *HEADINGS):
        assert heading in out, heading
    assert "harbor_sunrise_timelapse.mp4" in out
    assert "After that" in out  # the follow-up continued from the cited moment
    assert "onion" in out


def test_demo_asks_about_the_video_it_uploaded(
    offline_run: subprocess.CompletedProcess[str],
) -> None:
    out = offline_run.stdout

    upload = out.index("Upload city_cycling_tour.mp4")
    ready = out.index("is ready.", upload)
    # The emulator grounds answers about an uploaded file in made-up "[synthetic]" scenes.
    answer = out.index("In city_cycling_tour.mp4 at", ready)
    assert "[synthetic]" in out[answer : out.index("MaviClient.stream_chat")]


def test_demo_writes_no_terminal_codes_when_not_on_a_terminal(
    offline_run: subprocess.CompletedProcess[str],
) -> None:
    done = offline_run

    assert "\033[" not in done.stdout
    assert "\033[" not in done.stderr
    assert "\r" not in done.stderr  # no progress bars either


class FakeStream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "no_color", "expected"),
    [(True, None, True), (True, "1", False), (False, None, False), (True, "", True)],
)
def test_headings_are_bold_only_on_a_terminal_without_no_color(
    monkeypatch: pytest.MonkeyPatch, tty: bool, no_color: str | None, expected: bool
) -> None:
    demo = load_demo()
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)  # https://no-color.org: set and non-empty
    stream = FakeStream(tty)
    monkeypatch.setattr(sys, "stdout", stream)

    demo.heading("Where next")

    assert demo.color_enabled(stream) is expected
    assert ("\033[1m" in stream.getvalue()) is expected
    assert "== Where next" in stream.getvalue()


@pytest.mark.integration
def test_demo_against_a_service_named_by_the_environment(tmp_path: Path) -> None:
    clip = tmp_path / "my_clip.mp4"
    clip.write_bytes(os.urandom(64 * 1024))
    with MaviEmulator(rate_limit=None, parse_delay=0.2) as service:
        env = clean_env(
            MAVI_API_KEY=service.api_key,
            MAVI_BASE_URL=service.base_url,
            MAVI_VIDEO_NOS=f"{HARBOR}, {KITCHEN}",
            MAVI_DEMO_VIDEO=str(clip),
        )
        out = run_demo(env).stdout
        requests = list(service.requests)

    assert f"Using the MAVI service at {service.base_url}." in out
    assert "Started the MAVI emulator" not in out
    for heading in ("Upload my_clip.mp4", "is ready.", *HEADINGS):
        assert heading in out, heading
    uploaded = next(r for r in requests if r.path == "/api/serve/video/upload")
    assert uploaded.body["file"]["filename"] == "my_clip.mp4"
    chats = [r.body for r in requests if r.path == "/api/serve/video/chat"]
    first, *rest = chats
    assert first["videoNos"] not in ([HARBOR], [KITCHEN])  # the uploaded video, asked first
    assert "In my_clip.mp4 at" in out
    assert {tuple(chat["videoNos"]) for chat in rest} == {(HARBOR,), (KITCHEN,)}
    assert all(r.headers.get("authorization") for r in requests if r.path.startswith("/api"))
