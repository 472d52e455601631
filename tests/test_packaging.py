"""pyproject.toml and environment.yml must agree on every dependency."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# conda-forge name -> PyPI name, where they differ. `graphviz` on conda-forge is the binaries.
CONDA_TO_PIP = {"pytorch": "torch", "python-graphviz": "graphviz", "python-kaleido": "kaleido"}
CONDA_ONLY = {"python", "pip", "graphviz"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    assert m, req
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def pip_deps() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return dict(_split(r) for r in reqs)


def conda_deps() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            assert dep.get("pip") == ["-e ."], "environment.yml installs this package with pip -e ."
            continue
        name, spec = _split(dep)
        if name in CONDA_ONLY and name != "graphviz":
            continue
        if name == "graphviz":  # the binaries; no PyPI twin
            continue
        out[CONDA_TO_PIP.get(name, name)] = spec
    return out


def test_environment_lists_graphviz_binaries_and_editable_install():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    names = [_split(d)[0] for d in env["dependencies"] if isinstance(d, str)]
    assert "graphviz" in names
    assert {"pip": ["-e ."]} in env["dependencies"]


def test_pyproject_and_environment_agree():
    pip, conda = pip_deps(), conda_deps()
    assert sorted(pip) == sorted(conda), (
        f"only in pyproject: {sorted(set(pip) - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - set(pip))}"
    )
    differing = {k: (pip[k], conda[k]) for k in pip if pip[k] != conda[k]}
    assert not differing, f"version specs differ: {differing}"


def test_console_script_and_cpviz_commands_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["cpnas"] == "cpnas.cli:main"
    assert set(project["entry-points"]["cpnas.commands"]) == {"render", "report"}
    # study runs in cpnas; cpviz adds study.html to it
    assert project["entry-points"]["cpnas.study_outputs"] == {"html": "cpviz.study:write_study_html"}


def test_the_declared_python_minimum_is_the_tested_one_everywhere():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = pyproject["project"]["requires-python"]
    m = re.fullmatch(r">=(\d+)\.(\d+)", declared)
    assert m, declared
    major, minor = int(m[1]), int(m[2])
    # Declare only what is tested: the suite runs on the minimum or newer.
    assert sys.version_info[:2] >= (major, minor)
    assert pyproject["tool"]["ruff"]["target-version"] == f"py{major}{minor}"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert f"python>={major}.{minor}" in env["dependencies"]
    assert f"Python {major}.{minor}+" in (ROOT / "README.md").read_text()
