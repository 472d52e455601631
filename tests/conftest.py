"""Shared fixtures: the headless Chromium the browser tests drive."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import settings

# In CI the property tests draw the same examples every run (derandomized, no example
# database), so a red CI is reproducible and never a matter of luck; locally they explore.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI", "").lower() not in ("", "0", "false"):
    settings.load_profile("ci")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run")


class Browser(NamedTuple):
    sync_playwright: Any  # playwright.sync_api.sync_playwright
    executable: str
    args: list[str]


def _unavailable(why: str) -> None:
    """In CI (CI=true) a browser test that cannot run fails; elsewhere it skips, saying why."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{why}, and in CI the browser tests must run")
    pytest.skip(f"{why} (outside CI the browser tests skip; install it to run them)")


@pytest.fixture(scope="session")
def chromium() -> Browser:
    """Playwright with the system's Chromium, or a skip (a failure in CI) naming what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"playwright cannot be imported ({exc})")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    return Browser(sync_playwright, str(CHROMIUM), list(CHROMIUM_ARGS))


# -- references computed here -----------------------------------------------------------------
# tests/fixtures holds runs written by release 0.1.0 on another CPU. Their floats round as that
# CPU's kernels did (AVX2 there; AVX-512, Apple silicon or ATEN_CPU_CAPABILITY=default round
# otherwise), so a test that needs "the uninterrupted run" computes it on the machine running
# the test, once per test session; the fixtures only prove that an old run reads, replays,
# renders and resumes to the end (docs/runs.md, "What is bit-exact").

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory):
    """The fixture's search (``run_v1/config.json`` as stored), run uninterrupted here."""
    from cpnas.cli import main
    from cpnas.runs import load_run

    out = tmp_path_factory.mktemp("reference") / "run"
    argv = ["search", "--config", str(FIXTURES / "run_v1" / "config.json"), "--quiet",
            "--out", str(out)]
    assert main(argv) == 0
    return load_run(out)


@pytest.fixture(scope="session")
def resumed_mid_run(tmp_path_factory):
    """``run_v1_mid`` (0.1.0, stopped in round 0) resumed to the end here, unchanged."""
    import shutil

    from cpnas.cli import main
    from cpnas.runs import load_run

    run = Path(shutil.copytree(FIXTURES / "run_v1_mid", tmp_path_factory.mktemp("mid") / "run"))
    argv = ["search", "--config", str(run / "config.json"), "--quiet", "--out", str(run)]
    assert main(argv) == 0
    return load_run(run)
