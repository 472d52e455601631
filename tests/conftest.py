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
