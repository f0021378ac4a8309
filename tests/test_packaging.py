"""The package as the ecosystems ship them: an MIT licence in the wheel (PEP 639), project URLs,
the Pythons CI runs in the classifiers, test tools in a dependency group (PEP 735) rather than
a published extra, and an sdist that holds what builds and runs the package, nothing more.

The wheel and sdist are built here with hatchling's PEP 517 hooks (the "dev" group installs
hatchling), offline."""

from __future__ import annotations

import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import hatchling.build as hatchling_build
import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGES = ("mavi_core", "langchain_mavi", "llamaindex_mavi")


def _build(kind: str, source: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(source)  # hatchling builds the project in the working directory
    hook = hatchling_build.build_wheel if kind == "wheel" else hatchling_build.build_sdist
    return out / hook(str(out))


def _wheel_metadata(wheel: Path) -> tuple[dict[str, list[str]], list[str], zipfile.ZipFile]:
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    metadata_name = next(name for name in names if name.endswith(".dist-info/METADATA"))
    message = Parser().parsestr(archive.read(metadata_name).decode())
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key, []).append(value)
    return fields, names, archive


def test_the_wheel_carries_the_mit_licence_urls_and_classifiers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = _build("wheel", ROOT, tmp_path, monkeypatch)
    fields, names, archive = _wheel_metadata(wheel)

    assert fields["License-Expression"] == ["MIT"]
    assert fields["License-File"] == ["LICENSE"]
    (licence,) = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
    text = archive.read(licence).decode()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text
    assert all(url.split(", ", 1)[1].startswith("https://") for url in fields["Project-URL"])
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in fields["Classifier"]
    assert "dev" not in fields.get("Provides-Extra", [])  # test tools are not published
    assert not any(name.startswith("tests/") for name in names)


def test_the_test_tools_are_a_dependency_group_the_makefile_installs() -> None:
    assert "dev" not in PYPROJECT["project"]["optional-dependencies"]
    groups = PYPROJECT["dependency-groups"]
    assert any(str(item).startswith("pytest") for item in groups["unit"])
    assert {"include-group": "unit"} in groups["dev"]
    makefile = (ROOT / "Makefile").read_text()
    assert '-e ".[all]" --group dev' in makefile
    assert '"pip>=25.1"' in makefile  # the first pip that installs dependency groups
    assert "--resolution lowest-direct" in makefile


def test_the_floors_are_the_measured_ones() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "llama-index-core>=0.14.24,<0.15" in extras["llamaindex"]
    assert "pydantic>=2.9,<3" in extras["langchain"]


def test_the_sdist_ships_what_builds_and_runs_and_builds_the_same_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdist = _build("sdist", ROOT, tmp_path, monkeypatch)
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
        archive.extractall(tmp_path / "unpacked", filter="data")

    top = {name.split("/", 1)[0] for name in names}
    assert top <= {*PACKAGES, "LICENSE", "README.md", "pyproject.toml", "PKG-INFO", ".gitignore"}
    assert set(PACKAGES) | {"LICENSE", "README.md", "pyproject.toml"} <= top
    assert not any("__pycache__" in name for name in names)

    (unpacked,) = (tmp_path / "unpacked").iterdir()
    (tmp_path / "from_sdist").mkdir()
    rebuilt = _build("wheel", unpacked, tmp_path / "from_sdist", monkeypatch)
    (tmp_path / "from_repo").mkdir()
    direct = _build("wheel", ROOT, tmp_path / "from_repo", monkeypatch)
    assert sorted(zipfile.ZipFile(rebuilt).namelist()) == sorted(zipfile.ZipFile(direct).namelist())
