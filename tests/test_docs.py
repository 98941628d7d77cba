"""The documentation covers the public API, and the README keeps its commands."""

import os
import re

import pytest

import sklearn_gtn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def test_api_reference_lists_every_public_name():
    api = _read("docs", "api.rst")
    listed = set(re.findall(r"^   ([A-Za-z_][\w.]*)$", api, flags=re.MULTILINE))
    listed |= set(re.findall(r"^\.\. data:: (\w+)$", api, flags=re.MULTILINE))
    missing = set(sklearn_gtn.__all__) - listed
    assert not missing, f"docs/api.rst does not document {sorted(missing)}"


def test_user_guide_pages_are_in_the_toctree():
    index = _read("docs", "index.rst")
    pages = {
        name[: -len(".rst")]
        for name in os.listdir(os.path.join(ROOT, "docs"))
        if name.endswith(".rst") and name != "index.rst"
    }
    in_toctree = set(re.findall(r"^   ([\w/]+)$", index, flags=re.MULTILINE))
    assert pages <= in_toctree, sorted(pages - in_toctree)


def test_readme_keeps_the_two_set_up_commands_and_links_the_docs():
    readme = _read("README.md")
    assert (
        'python -m pip install torch==2.13.0 ".[plot]" && '
        "python -m sklearn_gtn demo --output demo-output"
    ) in readme
    assert (
        'python -m pip install torch==2.13.0 -e ".[test]" && python -m pytest -q'
    ) in readme
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme):
        assert os.path.isfile(os.path.join(ROOT, image)), image
    assert "docs/" in readme


def test_ci_runs_the_readme_test_command_the_habits_and_the_floors():
    readme, ci = _read("README.md"), _read(".ci", "run")
    command = 'python -m pip install torch==2.13.0 -e ".[test]" && python -m pytest -q'
    assert command in readme and command in ci  # verbatim
    for step in ("ruff check .", "ruff format --check .", "sphinx -W"):
        assert step in ci, step
    assert "SKLEARN_GTN_DOCS_NO_GALLERY" not in ci  # the gallery runs
    assert '"$floors/bin/python" -m pytest' in ci


def test_every_dependency_declares_a_floor_that_ci_installs():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    names = set()
    for requirement in project["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", requirement)
        assert match, f"{requirement!r} has no plain floor for .ci/run to pin"
        names.add(match[1])
    # every third-party package the library imports is declared
    assert {"numpy", "scipy", "scikit-learn", "torch", "skorch", "tqdm"} <= names
    assert any(r.startswith("ruff==") for r in project["optional-dependencies"]["test"])
