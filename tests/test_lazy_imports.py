"""Lazy imports (mavi_core._extras.lazy_exports) as a new user meets them."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("package", ["mavi_core", "langchain_mavi", "llamaindex_mavi"])
def test_dir_lists_every_public_name_before_first_use(package: str) -> None:
    """`dir(package)` (tab completion in IPython/Jupyter, `inspect`, linters at runtime) must
    list the lazily loaded names too: a module `__getattr__` needs a matching `__dir__`
    (PEP 562). Today `MaviClient`, `RateLimit`, `MaviVideoRetriever`... are missing."""
    result = _run(f"import {package} as m; print(sorted(set(m.__all__) - set(dir(m))))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "url", "extra"),
    [
        ("filelock", "sqlite:///tmp/review-quota.db", "sqlite"),
        ("redis", "redis://127.0.0.1:1/0", "redis"),
    ],
)
def test_a_store_without_its_extra_names_the_extra(module: str, url: str, extra: str) -> None:
    """The adapters' missing framework names the extra to install (missing_extra); a rate-limit
    store whose extra is missing raises a bare `No module named ...` instead."""
    result = _run(
        f"import sys; sys.modules[{module!r}] = None\n"
        "from mavi_core import RateLimit\n"
        f"RateLimit({url!r})"
    )
    assert result.returncode != 0
    assert f"[{extra}]" in result.stderr, result.stderr.strip().splitlines()[-1]


def test_help_documents_the_lazily_loaded_clients() -> None:
    """`help(mavi_core)` (pydoc walks `dir()`) documents ChatTurn but not MaviClient,
    AsyncMaviClient, RateLimit or Video: the classes a new user looks for first."""
    result = _run(
        "import pydoc, mavi_core\n"
        "text = pydoc.render_doc(mavi_core, renderer=pydoc.plaintext)\n"
        "print([n for n in ('MaviClient', 'AsyncMaviClient', 'RateLimit', 'Video')"
        " if f'class {n}' not in text])"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
