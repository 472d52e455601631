"""A missing playwright skips the browser tests outside CI and fails them in CI (CI=true)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def no_playwright(tmp_path_factory):
    """A PYTHONPATH on which `import playwright` fails, as on a machine without it."""
    fake = tmp_path_factory.mktemp("site") / "playwright"
    fake.mkdir()
    (fake / "__init__.py").write_text('raise ImportError("no playwright here (simulated)")\n')
    return os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", str(ROOT))])


def _run_report_browser_test(pythonpath: str, ci: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = pythonpath
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_report_browser.py", "-q", "-rsf",
         "-p", "no:cacheprovider"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_outside_ci_a_missing_playwright_skips_with_the_reason(no_playwright):
    res = _run_report_browser_test(no_playwright, ci=None)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 skipped" in res.stdout and "playwright cannot be imported" in res.stdout


def test_in_ci_a_missing_playwright_fails(no_playwright):
    res = _run_report_browser_test(no_playwright, ci="true")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "1 error" in res.stdout or "1 failed" in res.stdout
    assert "in CI the browser tests must run" in res.stdout
