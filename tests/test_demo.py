"""`make demo` runs end to end on the emulator, without any key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


def test_demo_runs_every_layer_without_a_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAVI_", "OPENAI_"))}
    done = subprocess.run(
        [sys.executable, str(DEMO)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for heading in (
        "Started the MAVI emulator",
        "is ready.",
        "MaviClient.stream_chat",
        "ChatMavi.stream",
        "inside a LangChain agent",
        "MaviQueryEngine",
        "Where next",
    ):
        assert heading in out, heading
    assert "harbor_sunrise_timelapse.mp4" in out
    assert "After that" in out  # the follow-up continued from the cited moment
    assert "onion" in out
