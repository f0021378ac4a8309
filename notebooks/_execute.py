"""Execute the notebooks with the kernel of this interpreter and save their outputs in place.

    .venv/bin/python notebooks/_execute.py                  # every notebook, offline (emulator)
    .venv/bin/python notebooks/_execute.py 03_llamaindex    # only the notebooks matching a name

The committed outputs come from this offline run: MAVI and model-provider credentials are
removed from the kernel's environment, so each notebook starts its own MAVI emulator and uses
its scripted stand-ins. `--live` keeps the environment as it is (MAVI_API_KEY, MAVI_VIDEO_NOS,
OPENAI_API_KEY); do not commit those outputs.

The kernel is ipykernel on `sys.executable`, whatever kernelspecs the machine has installed,
so the notebooks always run in the interpreter (and virtualenv) that runs this script.
`tests/notebooks/test_notebooks.py` uses `execute()` from here.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from traitlets import default

NOTEBOOKS_DIR = Path(__file__).resolve().parent
CELL_TIMEOUT = 120
"""Seconds one cell may run before the execution fails."""
CREDENTIALS = ("MAVI_API_KEY", "MAVI_BASE_URL", "MAVI_VIDEO_NOS", "OPENAI_API_KEY")
"""Removed from the kernel's environment for offline runs."""


class ThisInterpreterKernels(KernelSpecManager):
    """Resolves every kernel name to ipykernel on this interpreter (no kernelspec needed)."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python 3 (ipykernel)",
            language="python",
            resource_dir="",
        )


class ThisInterpreterKernelManager(KernelManager):
    """A kernel manager whose every kernel is ipykernel on `sys.executable`."""

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return ThisInterpreterKernels()


def notebook_paths(names: list[str] | None = None) -> list[Path]:
    """The numbered notebooks in run order, optionally only those whose name contains one of
    `names`."""
    paths = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    if names:
        paths = [path for path in paths if any(name in path.name for name in names)]
    return paths


def offline_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without credentials and with matplotlib's inline backend left alone."""
    env = dict(os.environ if base is None else base)
    for name in (*CREDENTIALS, "MPLBACKEND"):
        env.pop(name, None)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences a debugger warning
    return env


def execute(
    notebook: Any,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: int = CELL_TIMEOUT,
) -> Any:
    """Run every cell of `notebook` (an nbformat node, changed in place) in a fresh kernel
    started in `cwd`; raises `nbclient.exceptions.CellExecutionError` on the first failure."""
    client = NotebookClient(
        notebook,
        kernel_manager_class=ThisInterpreterKernelManager,
        timeout=timeout,
        record_timing=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute(env=dict(offline_env() if env is None else env))
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    return notebook


def merge_streams(outputs: list[Any]) -> list[Any]:
    """Join consecutive prints to one stream (as Jupyter saves them); a token printed per
    message would otherwise be one output each. Unlike nbclient's `coalesce_streams`, text
    never moves across a displayed table or figure."""
    merged: list[Any] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and output.output_type == previous.output_type == "stream"
            and output.name == previous.name
        ):
            previous.text += output.text
        else:
            merged.append(output)
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="run only notebooks whose name contains these")
    parser.add_argument(
        "--live", action="store_true", help="keep MAVI / OpenAI credentials in the environment"
    )
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = notebook_paths(args.names)
    if not paths:
        parser.error("no notebook matches")
    env = dict(os.environ) if args.live else offline_env()
    for path in paths:
        started = time.monotonic()
        notebook = nbformat.read(path, as_version=4)
        execute(notebook, cwd=path.parent, env=env, timeout=args.timeout)
        nbformat.write(notebook, path)
        print(f"{path.name}: executed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
