"""The set-up scripts behind `make demo` / `make test` fail with one actionable line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIN_PYTHON = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"][2:]


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})},
    )


def _one_error_line(out: str) -> str:
    lines = [line for line in out.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, out
    assert "Traceback" not in out
    return errors[0]


def test_missing_python_is_one_line():
    res = _run(".ci/check-python", "/nonexistent/python3")
    assert res.returncode != 0
    line = _one_error_line(res.stdout + res.stderr)
    assert f"Python {MIN_PYTHON} or newer" in line


def test_the_minimum_python_is_read_from_pyproject(tmp_path):
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "check-python", tmp_path / ".ci" / "check-python")
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.99"\n')
    res = subprocess.run(["bash", str(tmp_path / ".ci" / "check-python"), sys.executable],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0
    assert "needs Python 3.99 or newer" in _one_error_line(res.stdout + res.stderr)


def test_old_python_is_one_line(tmp_path):
    fake = tmp_path / "python3"
    fake.write_text('#!/bin/sh\n[ "$1" = -V ] && { echo "Python 3.8.10"; exit 0; }\nexit 1\n')
    fake.chmod(0o755)
    res = _run(".ci/check-python", str(fake))
    assert res.returncode != 0
    line = _one_error_line(res.stdout + res.stderr)
    assert "Python 3.8.10 is too old" in line


def test_current_python_passes():
    assert _run(".ci/check-python", sys.executable).returncode == 0


def test_unreachable_index_is_one_line(tmp_path):
    env = {
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_FIND_LINKS": "",
        "PIP_NO_INDEX": "",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2",
        "PIP_CONFIG_FILE": os.devnull,
    }
    res = _run(".ci/pip-install", sys.executable, "cpnas-no-such-package-xyz", env=env)
    assert res.returncode != 0
    line = _one_error_line(res.stdout + res.stderr)
    assert "network" in line and "make again" in line


def test_makefile_targets_and_ci_call_make_test():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo:", "test:", "lab:"):
        assert target in makefile
    assert "torch==2.13.0" in makefile  # the CPU wheel on disk, never a CUDA build
    assert "make test" in (ROOT / ".ci" / "run").read_text()
