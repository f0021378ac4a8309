"""An adapter imported without its framework names the extra to install, instead of a bare
`ModuleNotFoundError` from deep inside it. Each case runs in a fresh interpreter where the
framework is made unimportable (`sys.modules[name] = None`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

IMPORT_WITHOUT = """
import sys
for name in {hidden!r}:
    sys.modules[name] = None  # importing it now raises ModuleNotFoundError
try:
    import {package}
except ModuleNotFoundError as error:
    print(type(error).__name__, error.name, sep="|")
    print(error)
else:
    print("imported")
"""


def import_without(package: str, hidden: list[str]) -> list[str]:
    code = IMPORT_WITHOUT.format(package=package, hidden=hidden)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.splitlines()


@pytest.mark.parametrize(
    ("package", "hidden", "extra", "missing"),
    [
        ("llamaindex_mavi", ["llama_index"], "llamaindex", "llama_index"),
        # other llama-index-* packages installed, but not llama-index-core
        ("llamaindex_mavi", ["llama_index.core"], "llamaindex", "llama_index"),
        ("langchain_mavi", ["langchain_core"], "langchain", "langchain_core"),
    ],
)
def test_a_missing_framework_names_the_extra_to_install(
    package: str, hidden: list[str], extra: str, missing: str
) -> None:
    kind, message = import_without(package, hidden)

    error_class, missing_module = kind.split("|")
    assert error_class == "ModuleNotFoundError"  # still caught by `except ImportError`
    assert missing_module.split(".")[0] == missing
    assert message.startswith(f"{package} needs ")
    assert f'pip install "mavi-integrations[{extra}]"' in message
    assert f'pip install -e ".[{extra}]"' in message


def test_mavi_core_needs_no_framework() -> None:
    hidden = ["langchain_core", "llama_index", "llama_index.core"]
    assert import_without("mavi_core", hidden) == ["imported"]


def test_each_adapter_needs_only_its_own_framework() -> None:
    assert import_without("langchain_mavi", ["llama_index", "llama_index.core"]) == ["imported"]
    assert import_without("llamaindex_mavi", ["langchain_core"]) == ["imported"]
