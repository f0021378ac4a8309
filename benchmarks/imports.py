"""5b. Import time of each package against the import of what it builds on.

Each measurement is a fresh interpreter that imports the base (what the package builds on),
then the package, timing each with `perf_counter_ns`: interpreter start-up is excluded exactly
rather than subtracted, and "what the package adds" is read directly instead of as the difference
of two noisy totals of a second or more. Pairs take turns, round after round; medians are kept.

Bytecode is cached as an installed wheel's would be: the children write and read `.pyc` files
under `benchmarks/results/pycache/` (PYTHONPYCACHEPREFIX), even where the environment sets
PYTHONDONTWRITEBYTECODE, so that neither side pays for compiling; the first round compiles and is
not timed. When a target is missed, `python -X importtime` lists the modules the package loads
beyond its base, slowest first, in the notes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ._report import BenchmarkResult, Row, Target, median

__all__ = ["Sizes", "run"]

KEY = "imports"
CORE_RATIO_LIMIT = 1.2
ADAPTER_LIMIT_MS = 50.0
RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
OUR_PACKAGES = ("mavi_core", "langchain_mavi", "llamaindex_mavi")

HTTPX_PYDANTIC = "import httpx, pydantic"
LANGCHAIN = (
    "from langchain_core.language_models import BaseChatModel; "
    "from langchain_core.tools import BaseTool"
)
LLAMAINDEX = "import llama_index.core"


@dataclass(frozen=True, slots=True)
class Pair:
    name: str
    base_name: str
    base: str
    statement: str


PAIRS = (
    Pair("mavi_core", "httpx + pydantic", HTTPX_PYDANTIC, "import mavi_core"),
    Pair("langchain_mavi", "langchain-core chat model + tool", LANGCHAIN, "import langchain_mavi"),
    Pair(
        "langchain_openai (peer)",
        "langchain-core chat model + tool",
        LANGCHAIN,
        "import langchain_openai",
    ),
    Pair("llamaindex_mavi", "llama-index-core", LLAMAINDEX, "import llamaindex_mavi"),
)
_TIMER = (
    "import time; _t0 = time.perf_counter_ns(); {base}; _t1 = time.perf_counter_ns(); "
    "{statement}; _t2 = time.perf_counter_ns(); print(_t1 - _t0, _t2 - _t1)"
)


@dataclass(frozen=True, slots=True)
class Sizes:
    repetitions: int
    cache_bytecode: bool
    """Compile once into benchmarks/results/pycache (full runs); the smoke run keeps the
    environment's bytecode settings, since a cold cache would cost it many seconds."""
    workers: int
    """Interpreters at once: 1 for figures, 2 when only the code path matters (smoke)."""


FULL = Sizes(repetitions=7, cache_bytecode=True, workers=1)
SMOKE = Sizes(repetitions=1, cache_bytecode=False, workers=2)


def _environment(sizes: Sizes) -> dict[str, str]:
    env = dict(os.environ)
    if sizes.cache_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(RESULTS / "pycache")
    return env


def _python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"python {args!r} failed:\n{completed.stderr[-2000:]}")
    return completed


def _time_pair(pair: Pair, env: dict[str, str]) -> tuple[float, float]:
    """(base ms, ms the statement adds once the base is imported), in one fresh interpreter."""
    completed = _python(["-c", _TIMER.format(base=pair.base, statement=pair.statement)], env)
    base_ns, added_ns = completed.stdout.strip().splitlines()[-1].split()
    return int(base_ns) / 1e6, int(added_ns) / 1e6


def _importtime(code: str, env: dict[str, str]) -> list[tuple[int, str]]:
    """(self µs, module) for each module `code` imports, by `python -X importtime`."""
    pattern = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)")
    lines = _python(["-X", "importtime", "-c", code], env).stderr.splitlines()
    return [(int(match[1]), match[2]) for match in map(pattern.match, lines) if match is not None]


def import_profile(pair: Pair, env: dict[str, str]) -> str:
    """The modules `pair.statement` loads beyond its base, by their own (self) time."""
    in_base = {module for _, module in _importtime(pair.base, env)}
    added = [
        (us, module)
        for us, module in _importtime(f"{pair.base}; {pair.statement}", env)
        if module not in in_base
    ]
    ours_us = sum(us for us, module in added if module.split(".")[0] in OUR_PACKAGES)
    top = ", ".join(f"{module} {us / 1000:.1f}" for us, module in sorted(added, reverse=True)[:10])
    return (
        f"profile of {pair.name}: {len(added)} modules beyond the base, "
        f"{sum(us for us, _ in added) / 1000:.0f} ms of -X importtime self time "
        f"({ours_us / 1000:.0f} ms in our own modules); slowest (ms): {top}"
    )


def run(server: object = None, smoke: bool = False) -> BenchmarkResult:
    sizes = SMOKE if smoke else FULL
    env = _environment(sizes)
    started = time.perf_counter()
    bases: dict[str, list[float]] = {pair.name: [] for pair in PAIRS}
    adds: dict[str, list[float]] = {pair.name: [] for pair in PAIRS}
    warmup_rounds = 1 if sizes.cache_bytecode else 0
    with ThreadPoolExecutor(sizes.workers) as pool:
        for round_no in range(warmup_rounds + sizes.repetitions):
            timings = list(pool.map(lambda pair: _time_pair(pair, env), PAIRS))
            if round_no < warmup_rounds:
                continue
            for pair, (base_ms, added_ms) in zip(PAIRS, timings, strict=True):
                bases[pair.name].append(base_ms)
                adds[pair.name].append(added_ms)
    rows: list[Row] = []
    checked: list[tuple[Pair, Target]] = []
    for pair in PAIRS:
        base_ms, added_ms = median(bases[pair.name]), median(adds[pair.name])
        total_ms = median(
            [base + added for base, added in zip(bases[pair.name], adds[pair.name], strict=True)]
        )
        rows.append(
            Row(
                f"{pair.name} (over {pair.base_name})",
                total_ms,
                "ms",
                total_ms / base_ms,
                f"base {base_ms:,.0f} ms, the package adds {added_ms:+.0f} ms",
                {
                    "base_statement": pair.base,
                    "statement": pair.statement,
                    "base_ms": bases[pair.name],
                    "added_ms": adds[pair.name],
                    "added_median_ms": added_ms,
                },
            )
        )
        if pair.name == "mavi_core":
            ratio = total_ms / base_ms
            checked.append(
                (
                    pair,
                    Target(
                        "import mavi_core <= 1.2 x import httpx, pydantic",
                        ratio,
                        CORE_RATIO_LIMIT,
                        "x",
                        ratio <= CORE_RATIO_LIMIT,
                    ),
                )
            )
        elif not pair.name.endswith("(peer)"):
            checked.append(
                (
                    pair,
                    Target(
                        f"import {pair.name} adds <= 50 ms to its framework",
                        added_ms,
                        ADAPTER_LIMIT_MS,
                        "ms",
                        added_ms <= ADAPTER_LIMIT_MS,
                    ),
                )
            )
    targets = [target for _, target in checked]
    notes = (
        [] if smoke else [import_profile(pair, env) for pair, target in checked if not target.met]
    )
    return BenchmarkResult(
        key=KEY,
        title="5b. Import time",
        method=(
            "fresh interpreter per measurement: the base imported and timed, then the package; "
            f"median of {sizes.repetitions} interleaved rounds"
            + (" after a compiling round; bytecode cached" if sizes.cache_bytecode else "")
            + "; x floor = x the base import"
        ),
        rows=rows,
        targets=targets,
        notes=notes,
        seconds=time.perf_counter() - started,
    )
