"""What `import` costs: the packages load their clients, rate limits, transcripts, videos and
bulk questions on first use (docs/ARCHITECTURE.md, "Layers"), yet every public name is there."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import langchain_mavi
import llamaindex_mavi
import mavi_core

LOADED_LATER = ["_client", "_flow", "_quota", "_transcripts", "_videos", "_bulk", "_v12"]


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
