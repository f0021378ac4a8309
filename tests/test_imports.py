"""What `import` costs: the packages load their clients, rate limits, transcripts, videos and
bulk questions on first use (docs/ARCHITECTURE.md, "Layers"), yet every public name is there."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import langchain_mavi
import llamaindex_mavi
import mavi_core

LOADED_LATER = ["_client", "_flow", "_quota", "transcripts", "_videos", "_bulk", "_v12"]


def _loaded_after(statement: str) -> list[str]:
    code = (
        f"import sys, json; {statement}; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('mavi_core'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_importing_a_package_loads_none_of_the_heavy_modules() -> None:
    for package in ("mavi_core", "langchain_mavi", "llamaindex_mavi"):
        loaded = _loaded_after(f"import {package}")
        assert not [m for m in LOADED_LATER if f"mavi_core.{m}" in loaded], (package, loaded)


def test_every_public_name_is_there_and_listed() -> None:
    for package in (mavi_core, langchain_mavi, llamaindex_mavi):
        for name in package.__all__:
            assert getattr(package, name) is not None, (package.__name__, name)
        assert set(package.__all__) <= set(dir(package))


@pytest.mark.parametrize("package", [mavi_core, langchain_mavi, llamaindex_mavi])
def test_a_name_that_does_not_exist_is_an_attribute_error(package: object) -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        package.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_mavi_core_lists_at_most_forty_names() -> None:
    assert len(mavi_core.__all__) <= 40, sorted(mavi_core.__all__)


@pytest.mark.parametrize(
    ("module", "names"),
    [
        (
            "mavi_core.constants",
            [
                "API_KEY_ENV",
                "API_VERSION_ENV",
                "BASE_URL_ENV",
                "DEFAULT_BASE_URL",
                "DEFAULT_BUDGETS",
                "DEFAULT_MAX_RETRIES",
                "DEFAULT_TIMEOUT",
            ],
        ),
        (
            "mavi_core.transcripts",
            [
                "Passage",
                "TranscriptCache",
                "TranscriptKind",
                "VideoTranscript",
                "moment_content",
                "passage_id",
                "time_unit",
                "transcript_passages",
            ],
        ),
    ],
)
def test_names_out_of_mavi_core_import_from_their_submodule(module: str, names: list[str]) -> None:
    """In a fresh interpreter, as a user's `from mavi_core.constants import ...` runs."""
    statement = f"from {module} import {', '.join(names)}; import {module} as m; print(m.__all__)"
    result = subprocess.run([sys.executable, "-c", statement], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(result.stdout.replace("'", '"'))) == sorted(names)
    assert (set(names) - {"VideoTranscript"}) & set(mavi_core.__all__) == set()


def test_the_constants_load_no_heavy_module() -> None:
    loaded = _loaded_after("import mavi_core.constants")
    assert not [m for m in LOADED_LATER if f"mavi_core.{m}" in loaded], loaded
    from mavi_core._budgets import DEFAULT_BUDGETS as table
    from mavi_core.constants import DEFAULT_BUDGETS  # the rate limits' table, loaded on first use

    assert DEFAULT_BUDGETS is table


def _imports_of(path: Path, module: str) -> set[str]:
    """The `mavi_core` modules `module` (at `path`) imports anywhere: at the top, inside a
    function (a lazy import) or under `TYPE_CHECKING`."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("mavi_core")}


def test_no_import_cycle_among_mavi_core_modules() -> None:
    root = Path(mavi_core.__file__).parent
    modules: dict[str, Path] = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {
        name: {other for other in _imports_of(path, name) if other in modules and other != name}
        for name, path in modules.items()
    }
    # A package's own __init__ runs before its modules: an edge to it is no cycle of modules.
    packages = {name for name, path in modules.items() if path.name == "__init__.py"}
    on_a_cycle = []
    for start in sorted(graph):
        seen: set[str] = set()
        todo = list(graph[start] - packages)
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(graph[name] - packages)
        if start in seen:
            on_a_cycle.append(start)
    assert on_a_cycle == []
