"""Every notebook runs top to bottom offline, and its committed outputs come from such a run.

Each notebook runs once per session, from a copy in a temporary directory (nothing is written
back), in a fresh kernel on this interpreter (`notebooks/_execute.py`: no installed kernelspec
is needed), with MAVI and OpenAI credentials removed from the environment: the notebooks start
their own MAVI emulator and use their scripted planners. Jupyter's and IPython's user
directories point into the temporary directory, so a read-only or empty home works too.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = [
    "01_langchain_quickstart.ipynb",
    "02_langchain_agent.ipynb",
    "03_llamaindex.ipynb",
    "04_video_rag.ipynb",
    "05_answers_you_can_check.ipynb",
    "06_find_then_look_closer.ipynb",
]

# Text each notebook must print: answers grounded in the sample videos, and the steps shown.
EXPECTED = {
    "01_langchain_quickstart.ipynb": [
        "harbor_sunrise_timelapse.mp4",
        "A red tugboat leaves its berth",  # invoke
        '"Ice first, then the fish, keep the crates level."',  # streamed through the callback
        "|A |ferry |with |blue |stripes",  # stream(), chunk by chunk
        '"message": "Be brief.\\n\\nAnd the ferry?"',  # the multi-turn request as sent
        '"user": "What does the red tugboat do?"',
        "Leave the root on the onion",  # per-call video_nos
        "No video to ask about",
        "A harbor seal surfaces",  # ainvoke
        "never in the dishwasher",
    ],
    "02_langchain_agent.ipynb": [
        "planner: ScriptedPlannerModel",
        "[planner] calls search_video_moments",
        "[planner] calls mavi_video_chat",
        "refills a flask through a filter bottle",
        "MAVI watched the matching videos and says:",
        "-> mavi_video_chat",
        "A beekeeper in a white suit opens a hive",
    ],
    "03_llamaindex.ipynb": [
        "A red tugboat leaves its berth",  # query
        "She halves an onion",  # with_videos + aquery
        "|A |ferry |with |blue |stripes",  # streaming response_gen
        "-> video_library({'input': 'What does the runner carry in her vest?'})",
        "The videos show: In mountain_trail_run_vlog.mp4",  # the agent's final answer
        "-> hands_on, as it shares ['chef']",
        "-> outdoors, as it shares ['mountain']",
        "Fog rolls in along a ridge",
        "After that, in harbor_sunrise_timelapse.mp4 at 01:03",  # chat engine follow-up
    ],
    "04_video_rag.ipynb": [
        "111 documents: {'audio': 42, 'visual': 69}",  # MaviTranscriptLoader, whole library
        " 3.655  rainy_bike_commute.mp4 00:00-00:20 (visual)",  # BM25 over the transcripts
        " 3.242  community_garden_tour.mp4 03:10-03:17 (audio)",
        "One good storm fills both rain barrels.",
        "asked about: ['VI634021645510072837', 'VI634021622093318146']",
        "| 1 | rainy_bike_commute.mp4 | 00:00 | 00:20 | 3.65 | ✓ |",
        "same ids as LangChain's documents: True",
        " 1.480  rainy_bike_commute.mp4 00:00-00:20 (visual)",  # LlamaIndex's BM25
        "said 00:03-00:10: Eight kilometers to work today",  # MaviVideoRetriever with content
        # the LCEL RAG chain: format_video_context hands the moments' videos to ChatMavi
        "asked about: ['VI634021645510072837']\nIn rainy_bike_commute.mp4 at 00:00–00:20",
    ],
    "05_answers_you_can_check.ipynb": [
        "[thinking] Understanding the question: The question is",
        "She halves an onion, keeps the root end on",
        "4 cited moments; session id: 19 digits",
        # the refs as a table: a line that was said, a keyframe with no end
        "| 1 | kitchen_knife_skills_demo.mp4 | audio_ts | 01:10 | 01:19 | Leave the root on",
        "| 1 | kitchen_knife_skills_demo.mp4 | keyframe | 00:12 |  |",
        # the session continued: only the new question sent, moments further on
        "same session: True",
        "'prompt': 'What happens next?'} + session_id",
        "| 2 | kitchen_knife_skills_demo.mp4 | visual_ts | 01:45 | 02:28 | Tomatoes are sliced",
        # LlamaIndex: source nodes scored by rank, formatted sources, streamed, chat engine
        "0.25  audio_ts   01:10-01:19  Leave the root on the onion",
        "> Source (Doc id: VI634021601844219905:visual_ts:62-105): She halves an onion",
        "sources while streaming: 0\nsources once ended: 4",
        "sent: What happens next? + session_id",
        "moments: ['01:45 visual_ts', '02:06 keyframe', '02:28 visual_ts']",
        "answer blocks: ['ThinkingBlock', 'ThinkingBlock', 'TextBlock', 'CitationBlock',",
    ],
    "06_find_then_look_closer.ipynb": [
        "0.667  harbor_sunrise_timelapse.mp4      0s-  18s",  # v1.2 search, best first
        "community_garden_tour.mp4     28s-  36s",
        "3 of 7 clips show: a boat moves across the harbor",  # the VLM's verdicts
        "| 3 | harbor_sunrise_timelapse.mp4 | 02:56 | 03:13 | 0.33 | ✓ | 0.90 | Full daylight",
        "| 4 | community_garden_tour.mp4 | 00:28 | 00:36 | 0.33 | ✗ | 0.20 | Nothing in view",
        "usage: {'input_tokens': ",
        "model: gemini-2.5-flash",
        "parsed: shows_claim=True evidence='Pre-dawn blue light over a quiet harbor",
    ],
}


def _load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "notebooks_execute", NOTEBOOKS_DIR / "_execute.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _load_runner()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A temporary working directory; Jupyter and IPython keep their files inside it."""
    root = tmp_path_factory.mktemp("notebooks")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_RUNTIME_DIR", str(root / "jupyter-runtime"))
        patch.setenv("IPYTHONDIR", str(root / "ipython"))
        yield root


@pytest.fixture(scope="module")
def run(sandbox: Path) -> Any:
    """Executes a notebook once (from a copy in the sandbox) and returns the executed copy."""
    executed: dict[str, Any] = {}

    def run_notebook(name: str) -> Any:
        if name not in executed:
            copy = sandbox / name
            shutil.copy(NOTEBOOKS_DIR / name, copy)
            notebook = nbformat.read(copy, as_version=4)
            executed[name] = runner.execute(notebook, cwd=sandbox, env=runner.offline_env())
        return executed[name]

    return run_notebook


def texts(notebook: Any, *, stderr: bool = True) -> list[str]:
    """Every printed or displayed text, cell by cell (images left out)."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and (stderr or output.name == "stdout"):
                found.append(output.text)
            elif output.output_type in ("display_data", "execute_result"):
                data = output.data
                found.append(data.get("text/markdown") or data.get("text/plain", ""))
    return found


def test_the_notebooks_are_all_tested() -> None:
    assert sorted(path.name for path in runner.notebook_paths()) == NOTEBOOKS


def test_the_kernel_runs_on_this_interpreter(sandbox: Path) -> None:
    notebook = new_notebook(cells=[new_code_cell("import sys\nprint(sys.executable)")])

    runner.execute(notebook, cwd=sandbox)

    assert notebook.cells[0].outputs[0].text.strip() == sys.executable


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_notebook_runs_offline_and_shows_grounded_answers(name: str, run: Any) -> None:
    output = "\n".join(texts(run(name)))

    missing = [text for text in EXPECTED[name] if text not in output]
    assert not missing, f"{name} did not print {missing}"


def test_the_agent_streams_the_tools_tokens(run: Any) -> None:
    output = "\n".join(texts(run("02_langchain_agent.ipynb")))

    chunks = re.search(r"(\d+) streamed chunks from mavi_video_chat", output)
    assert chunks is not None
    assert int(chunks[1]) > 10


def test_the_rag_notebooks_moments_differ_in_score_and_content(run: Any) -> None:
    notebook = run("04_video_rag.ipynb")
    # Each BM25 list: lines "  3.655  video.mp4 00:00-00:20 (visual)", then the moment's text.
    lists = []
    for cell in notebook.cells:
        text = "".join(
            o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout"
        )
        moments = re.findall(r"^ *(\d+\.\d{3})  (.+)\n((?: {9}.+\n)+)", text, re.MULTILINE)
        if moments:
            lists.append(moments)

    assert len(lists) == 2  # LangChain's and LlamaIndex's
    for moments in lists:
        scores = [float(score) for score, _, _ in moments]
        assert len(set(scores)) == len(scores) >= 3
        assert scores == sorted(scores, reverse=True)
        assert len({content for _, _, content in moments}) == len(moments)


@pytest.mark.parametrize(
    "name",
    ["04_video_rag.ipynb", "05_answers_you_can_check.ipynb", "06_find_then_look_closer.ipynb"],
)
def test_the_notebook_draws_its_timeline_inline(name: str, run: Any) -> None:
    notebook = run(name)

    images = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert len(images) == 1


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_committed_outputs_come_from_a_clean_run(name: str, run: Any) -> None:
    committed = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    code_cells = [cell for cell in committed.cells if cell.cell_type == "code"]

    assert [cell.execution_count for cell in code_cells] == list(range(1, len(code_cells) + 1)), (
        f"{name} was not executed top to bottom: run `make notebooks`"
    )
    assert texts(committed, stderr=False) == texts(run(name), stderr=False), (
        f"{name}'s saved outputs differ from a fresh run: run `make notebooks`"
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_emulators_key_and_host_in_the_environment_run_offline(
    name: str, sandbox: Path
) -> None:
    # What `make emulator` prints to export: the notebook runs as offline (its own emulator and
    # sample videos), not as the live service.
    committed = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    setup = next(cell for cell in committed.cells if "offline_mode" in cell.source)
    check = new_code_cell("print('offline:', emulator is not None)")
    notebook = new_notebook(cells=[new_code_cell(setup.source), check])
    env = {
        **runner.offline_env(),
        "MAVI_API_KEY": "sk-mavi-emulator",
        "MAVI_BASE_URL": "http://127.0.0.1:8808",
    }

    runner.execute(notebook, cwd=sandbox, env=env)

    assert "offline: True" in "\n".join(texts(notebook))
