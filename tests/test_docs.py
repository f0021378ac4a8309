"""Every ```python block of README.md and docs/*.md runs as written, against the MAVI emulator;
and the README stays a front door (the two commands first, both quickstarts early, short).

Each block runs on its own, in a fresh namespace (as a reader who copies one block would run
it), with `MAVI_API_KEY` / `MAVI_BASE_URL` naming an in-process emulator whose rate limit is
off, in a folder holding the `clip.mp4` the upload examples name. A block with top-level
`await` runs inside an event loop, as in a notebook or `python -m asyncio`. Blocks may leave
only the names in `READER_SUPPLIED` undefined (what the pages say the reader brings: a
tool-calling model, a LlamaIndex LLM, an OAuth client id and code); the test supplies them.
Shell blocks (```bash) are not run. A python block that must not run is preceded by the line
`<!-- not run: <reason> -->`; it is still parsed, and the reason must be given.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import contextlib
import importlib
import inspect
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from llama_index.core.llms.mock import MockFunctionCallingLLM
from pydantic import Field

from mavi_core.emulator import MaviEmulator

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
HEADING = re.compile(r"^#+ (.+)$", re.MULTILINE)
NOT_RUN = re.compile(r"<!-- not run: (.*?) -->\n$")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
ANCHORED = re.compile(r"\]\(([^)#\s]*)#([^)\s]+)\)")
READER_SUPPLIED = frozenset({"model", "llm", "client_id", "code"})


@dataclass(frozen=True)
class Snippet:
    page: Path
    heading: str
    line: int  # where the code starts in the page
    code: str
    not_run: str | None  # the reason given, for a block marked not to run

    @property
    def id(self) -> str:
        return f"{self.page.name}:{self.line} ({self.heading})"


def snippets_of(page: Path) -> list[Snippet]:
    text = page.read_text(encoding="utf-8")
    snippets = []
    for match in FENCE.finditer(text):
        headings = HEADING.findall(text, 0, match.start())
        line = text.count("\n", 0, match.start(1)) + 1
        marker = NOT_RUN.search(text, 0, match.start())
        reason = marker.group(1).strip() if marker and marker.end() == match.start() else None
        heading = headings[-1] if headings else "top"
        snippets.append(Snippet(page, heading, line, match.group(1), reason))
    return snippets


SNIPPETS = [snippet for page in PAGES for snippet in snippets_of(page)]
RUN = [snippet for snippet in SNIPPETS if snippet.not_run is None]


def free_names(tree: ast.AST) -> set[str]:
    """Names a block reads but neither defines nor imports (and that are not builtins)."""
    loaded: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded - bound - set(dir(builtins))


def parse(snippet: Snippet) -> ast.Module:
    tree = ast.parse(snippet.code, filename=str(snippet.page))
    ast.increment_lineno(tree, snippet.line - 1)  # tracebacks point into the page
    return tree


def run(snippet: Snippet, supplied: dict[str, Any]) -> str:
    """Run one block (awaiting it if it has top-level `await`) and return what it printed."""
    tree = parse(snippet)
    missing = free_names(tree)
    assert missing <= READER_SUPPLIED, f"{snippet.id} uses undefined names {sorted(missing)}"
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    namespace.update({name: supplied[name] for name in missing})
    code = compile(tree, str(snippet.page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if code.co_flags & inspect.CO_COROUTINE:
            asyncio.run(eval(code, namespace))
        else:
            exec(code, namespace)
    return out.getvalue()


class ToolCallingModel(BaseChatModel):
    """Stands in for the reader's tool-calling model: it asks `mavi_video_chat` the user's
    question, then answers with what the tool said. Records the tool's answers."""

    tool_answers: list[str] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "docs-tool-calling-model"

    def bind_tools(
        self, tools: Sequence[Any], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            self.tool_answers.append(last.text)
            reply = AIMessage(f"The video says: {last.text}")
        else:
            question = next(m.text for m in reversed(messages) if isinstance(m, HumanMessage))
            call = {"name": "mavi_video_chat", "args": {"question": question}, "id": "call-1"}
            reply = AIMessage("", tool_calls=[call])
        return ChatResult(generations=[ChatGeneration(message=reply)])


@pytest.fixture(scope="module")
def service() -> Iterator[MaviEmulator]:
    with MaviEmulator(rate_limit=None, parse_delay=0.1) as emulator:
        yield emulator


@pytest.fixture
def supplied(
    service: MaviEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, Any]:
    """The reader's environment: MAVI_* naming the emulator, a video file, their own objects."""
    service.reset()
    monkeypatch.setenv("MAVI_API_KEY", service.api_key)
    monkeypatch.setenv("MAVI_BASE_URL", service.base_url)
    monkeypatch.delenv("MAVI_API_VERSION", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clip.mp4").write_bytes(b"\0" * 4096)
    return {
        "model": ToolCallingModel(),
        "llm": MockFunctionCallingLLM(),
        "client_id": service.client_id,
        "code": service.authorization_code(),
    }


def test_every_page_but_the_design_has_python_snippets() -> None:
    pages = {snippet.page for snippet in RUN}
    assert set(PAGES) - pages == {ARCHITECTURE}
    assert len(RUN) >= 8
    assert all(snippet.code.strip() for snippet in SNIPPETS)


def test_a_snippet_that_does_not_run_says_why_and_parses() -> None:
    for snippet in SNIPPETS:
        if snippet.not_run is not None:
            assert len(snippet.not_run) > 10, f"{snippet.id}: say why it does not run"
            parse(snippet)


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecationWarning")  # LlamaIndex
@pytest.mark.parametrize("snippet", RUN, ids=[s.id for s in RUN])
def test_every_python_snippet_runs_as_written(snippet: Snippet, supplied: dict[str, Any]) -> None:
    run(snippet, supplied)


@pytest.mark.integration
def test_the_agent_snippet_prints_mavis_answer_once(supplied: dict[str, Any]) -> None:
    (snippet,) = [s for s in RUN if "create_agent" in s.code]

    printed = run(snippet, supplied)

    (answer,) = supplied["model"].tool_answers
    assert answer
    assert printed.count(answer) == 1, printed
    assert printed.strip() == answer.strip()


def test_the_readme_opens_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = text[text.index("```bash\n") + len("```bash\n") :]
    first_block = first_block[: first_block.index("```")]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert commands == ["make demo", "make test"]
    assert text.index("```bash") < text.index("\n## ")
    head = "\n".join(text.splitlines()[:40])
    assert "make demo" in head
    assert "make test" in head


def test_the_readme_is_a_front_door() -> None:
    """Short, and a new user reaches a LangChain and a LlamaIndex call in its first 150 lines."""
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 300
    readme = [snippet for snippet in RUN if snippet.page == README]
    for package in ("langchain_mavi", "llamaindex_mavi"):
        first = next(s for s in readme if f"from {package} import" in s.code)
        assert first.line + first.code.count("\n") <= 150, f"{package}'s quickstart ends late"


def test_the_architecture_is_a_design_of_at_most_200_lines() -> None:
    assert len(ARCHITECTURE.read_text(encoding="utf-8").splitlines()) <= 200


def test_the_readme_links_every_docs_page() -> None:
    linked = set(LINK.findall(README.read_text(encoding="utf-8")))
    pages = {f"docs/{page.name}" for page in PAGES if page.parent.name == "docs"}
    assert pages <= linked, sorted(pages - linked)


def test_every_relative_link_leads_to_a_file() -> None:
    for page in PAGES:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            path = (page.parent / target).resolve()
            assert path.exists(), f"{page.name}: {target}"


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_anchor_names_a_heading_of_its_page() -> None:
    for page in PAGES:
        for target, anchor in ANCHORED.findall(page.read_text(encoding="utf-8")):
            linked = (page.parent / target).resolve() if target else page
            if "://" in target:
                continue
            anchors = {slug(h) for h in HEADING.findall(linked.read_text(encoding="utf-8"))}
            assert anchor in anchors, f"{page.name}: {target}#{anchor}"


CITED = re.compile(
    r"`(?:(mavi_core|langchain_mavi|llamaindex_mavi)\.)?(_[a-z0-9_]+)\.(?!py\b)([A-Za-z_]\w*)"
)


def test_every_private_name_the_pages_cite_exists() -> None:
    """`_module.name` in a page (the design says where a rule lives) still names code."""
    missing = []
    for page in [*PAGES, ROOT / "benchmarks" / "README.md"]:
        for package, module, name in CITED.findall(page.read_text(encoding="utf-8")):
            found = False
            for candidate in (
                [package] if package else ["mavi_core", "langchain_mavi", "llamaindex_mavi"]
            ):
                with contextlib.suppress(ImportError):
                    found = found or hasattr(importlib.import_module(f"{candidate}.{module}"), name)
            if not found:
                missing.append(f"{page.name}: {module}.{name}")
    assert not missing


def test_the_docs_count_the_emulators_sample_videos() -> None:
    with MaviEmulator() as emulator:
        count = len(emulator.video_nos)
    words = {6: "six", 7: "seven", 8: "eight"}
    text = "".join(page.read_text("utf-8") for page in PAGES)
    assert f"library of {words[count]} fictional sample videos" in text


def test_every_video_number_in_the_docs_is_one_the_emulator_knows() -> None:
    with MaviEmulator() as emulator:
        known = set(emulator.video_nos)
    text = "".join(page.read_text("utf-8") for page in PAGES)
    named = set(re.findall(r"\bVI\d{10,}\b", text))
    assert named
    assert named <= known, sorted(named - known)
