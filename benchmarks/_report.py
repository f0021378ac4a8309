"""What a benchmark hands back (rows of figures and targets), how it prints, and its JSON."""

from __future__ import annotations

import platform
import statistics
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

__all__ = [
    "BenchmarkResult",
    "Row",
    "Target",
    "environment",
    "median",
    "render_table",
]


def median(samples: list[float]) -> float:
    return float(statistics.median(samples))


@dataclass(slots=True)
class Row:
    """One measured path: its figure, and how it compares with the floor it is measured over."""

    name: str
    value: float
    unit: str
    floor_ratio: float | None = None
    """value / the floor's value (same unit); None for the floor itself or when meaningless."""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    """Further figures of this path (samples, counts), kept in the JSON."""


@dataclass(slots=True)
class Target:
    """One promise of the issue, checked against a figure of this run."""

    description: str
    measured: float
    limit: float
    unit: str
    met: bool


@dataclass(slots=True)
class BenchmarkResult:
    key: str
    title: str
    method: str
    """How the figures were taken: server, sizes, repetitions, statistic."""
    rows: list[Row]
    targets: list[Target]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _figure(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def render_table(result: BenchmarkResult) -> str:
    """The benchmark as text: its rows, then its targets with MET / MISSED."""
    lines = [f"== {result.title} ({result.seconds:.1f} s)", f"   {result.method}"]
    name_width = max([len(row.name) for row in result.rows] + [24])
    lines.append(f"   {'path':<{name_width}}  {'figure':>12}  {'unit':<10} {'x floor':>8}  note")
    for row in result.rows:
        ratio = "" if row.floor_ratio is None else f"{row.floor_ratio:.2f}"
        lines.append(
            f"   {row.name:<{name_width}}  {_figure(row.value):>12}  {row.unit:<10} {ratio:>8}  "
            f"{row.note}".rstrip()
        )
    if result.targets:
        width = max(len(target.description) for target in result.targets)
        lines.append(f"   {'target':<{width}}  {'measured':>10}  {'limit':>8}  result")
        for target in result.targets:
            verdict = "MET" if target.met else "MISSED"
            lines.append(
                f"   {target.description:<{width}}  {_figure(target.measured):>10}  "
                f"{_figure(target.limit):>8}  {verdict} ({target.unit})"
            )
    for note in result.notes:
        lines.append(f"   note: {note}")
    return "\n".join(lines)


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def environment() -> dict[str, Any]:
    """The machine and the versions the figures belong to."""
    import os

    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "packages": {
            name: _version(name)
            for name in (
                "mavi-integrations",
                "httpx",
                "httpcore",
                "h11",
                "pydantic",
                "langchain-core",
                "langchain-openai",
                "openai",
                "llama-index-core",
            )
        },
    }
