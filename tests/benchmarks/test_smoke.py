"""Every benchmark still runs: `make bench`'s own entry point at tiny sizes, checked for shape.

No figure is judged here (timings belong to `make bench`, never to tests); this only proves
that each benchmark runs end to end and writes well-formed results.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = (
    "streaming",
    "first_delta",
    "concurrency",
    "memory",
    "history",
    "imports",
    "quota",
    "vlm",
    "exact_budget",
)
# MaviLLM and MaviQueryEngine against llama-index-llms-openai's OpenAI on the same deltas.
LLAMAINDEX_PATHS = {
    "streaming": (
        "MaviLLM.stream_chat",
        "MaviLLM.astream_chat",
        "MaviQueryEngine.query stream",
        "OpenAI.stream_chat (LlamaIndex peer)",
    ),
    "first_delta": (
        "MaviLLM.stream_chat",
        "MaviLLM.astream_chat",
        "OpenAI.stream_chat (LlamaIndex peer)",
        "OpenAI.astream_chat (LlamaIndex peer)",
    ),
}
# The v1.2 stream (thinking, ref and content events) against its own raw-httpx floor.
V12_PATHS = (
    "httpx iter_lines, v1.2 events (floor)",
    "MaviClient.stream_chat v1.2",
    "httpx aiter_lines, v1.2 events (floor)",
    "AsyncMaviClient.stream_chat v1.2",
)
V12_TARGETS = (
    "MaviClient.stream_chat v1.2 per delta <= 1.3 x its own floor",
    "AsyncMaviClient.stream_chat v1.2 per delta <= 1.3 x its own floor",
)
LLAMAINDEX_TARGETS = (
    "MaviLLM.stream_chat per delta <= LlamaIndex OpenAI.stream_chat",
    "MaviQueryEngine.query stream per delta <= LlamaIndex OpenAI.stream_chat",
    "MaviLLM.stream_chat adds <= 3 ms",
    "MaviLLM.astream_chat adds <= 3 ms",
)


def _smoke_run(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    results = tmp_path / "smoke.json"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--json", str(results)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed.stdout, json.loads(results.read_text())


def test_every_benchmark_runs_and_reports_its_figures(tmp_path: Path) -> None:
    output, report = _smoke_run(tmp_path)

    assert report["schema"] == 1
    assert report["smoke"] is True
    assert [benchmark["key"] for benchmark in report["benchmarks"]] == list(BENCHMARKS)
    for benchmark in report["benchmarks"]:
        assert benchmark["title"] in output
        assert benchmark["method"]
        assert benchmark["rows"], benchmark["key"]
        for row in benchmark["rows"]:
            assert isinstance(row["name"], str)
            assert row["unit"]
            assert math.isfinite(row["value"]), (benchmark["key"], row["name"])
            assert row["floor_ratio"] is None or math.isfinite(row["floor_ratio"])
        assert benchmark["targets"], benchmark["key"]
        for target in benchmark["targets"]:
            assert isinstance(target["met"], bool)
            assert math.isfinite(target["measured"]) and math.isfinite(target["limit"])
            assert ("MET" if target["met"] else "MISSED") in output

    targets = [target for benchmark in report["benchmarks"] for target in benchmark["targets"]]
    for key, paths in LLAMAINDEX_PATHS.items():
        [benchmark] = [b for b in report["benchmarks"] if b["key"] == key]
        assert set(paths) <= {row["name"] for row in benchmark["rows"]}, key
    assert set(LLAMAINDEX_TARGETS) <= {target["description"] for target in targets}
    [streaming] = [b for b in report["benchmarks"] if b["key"] == "streaming"]
    v12_rows = {row["name"]: row for row in streaming["rows"] if row["name"] in V12_PATHS}
    assert set(v12_rows) == set(V12_PATHS)
    assert v12_rows["MaviClient.stream_chat v1.2"]["floor_ratio"] is not None
    assert set(V12_TARGETS) <= {target["description"] for target in targets}
    assert "v1.0: " in output  # each v1.2 target shows v1.0's ratio next to it
    summary = report["summary"]
    assert summary["targets"] == len(targets)
    assert summary["met"] == sum(target["met"] for target in targets)
    assert summary["missed"] == [target["description"] for target in targets if not target["met"]]
    assert report["environment"]["python"]
