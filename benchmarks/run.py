"""Run the benchmarks: `python -m benchmarks.run [--smoke] [--json PATH] [--only NAME ...]`.

Prints one table per benchmark (figures, ratio to the floor, targets MET / MISSED) and writes
every figure, sample and target to JSON (default: benchmarks/results/<UTC time>.json). The exit
status is 0 once every benchmark has run, whatever the targets; `--strict` makes it 1 when a
target is missed. `--smoke` runs everything at tiny sizes: the figures then mean nothing, it only
proves that each benchmark still runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import (
    concurrency,
    exact_budget,
    first_delta,
    history,
    imports,
    memory,
    quota,
    streaming,
    vlm,
)
from ._report import BenchmarkResult, environment, render_table
from ._server import BenchServer

__all__ = ["BENCHMARKS", "main"]

Benchmark = Callable[[BenchServer, bool], BenchmarkResult]

BENCHMARKS: dict[str, Benchmark] = {
    streaming.KEY: streaming.run,
    first_delta.KEY: first_delta.run,
    concurrency.KEY: concurrency.run,
    memory.KEY: memory.run,
    history.KEY: history.run,
    imports.KEY: imports.run,
    quota.KEY: quota.run,
    vlm.KEY: vlm.run,
    exact_budget.KEY: exact_budget.run,
}
RESULTS = Path(__file__).resolve().parent / "results"
JSON_SCHEMA = 1


def _quiet_environment() -> None:
    """No tracing or telemetry in the measured processes (children inherit this)."""
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING"):
        os.environ[name] = "false"
    os.environ.setdefault("DO_NOT_TRACK", "1")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that all run")
    parser.add_argument("--json", type=Path, help="where to write the results JSON")
    parser.add_argument(
        "--only", action="append", choices=sorted(BENCHMARKS), help="run only these benchmarks"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    return parser.parse_args(argv)


def _header(env: dict[str, Any], smoke: bool) -> str:
    packages = ", ".join(f"{name} {version}" for name, version in env["packages"].items())
    load = env["load_average"]
    return "\n".join(
        [
            f"MAVI integration benchmarks{' (SMOKE: tiny sizes, figures meaningless)' * smoke}",
            f"machine: {env['cpu']}, {env['cpus']} CPUs, {env['memory_gib']} GiB; "
            f"{env['platform']}; Python {env['python']}"
            + (f"; load average at start {load[0]:.2f}" if load else ""),
            f"packages: {packages}",
            f"server: {BenchServer.description}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    _quiet_environment()
    selected = args.only or list(BENCHMARKS)
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    env = environment()
    print(_header(env, args.smoke), flush=True)
    results: list[BenchmarkResult] = []
    with BenchServer() as server:
        for key in selected:
            print(flush=True)
            result = BENCHMARKS[key](server, args.smoke)
            results.append(result)
            print(render_table(result), flush=True)
    targets = [target for result in results for target in result.targets]
    missed = [target.description for target in targets if not target.met]
    seconds = time.perf_counter() - started
    print(
        f"\n{len(targets) - len(missed)} of {len(targets)} targets met in {seconds:.0f} s"
        + "".join(f"\n  MISSED: {description}" for description in missed)
    )
    path = args.json or RESULTS / (
        started_at.strftime("%Y%m%dT%H%M%SZ") + ("-smoke" if args.smoke else "") + ".json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "schema": JSON_SCHEMA,
        "smoke": args.smoke,
        "started_at": started_at.isoformat(),
        "seconds": seconds,
        "environment": env,
        "server": BenchServer.description,
        "benchmarks": [result.to_json() for result in results],
        "summary": {"targets": len(targets), "met": len(targets) - len(missed), "missed": missed},
    }
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {path}")
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
