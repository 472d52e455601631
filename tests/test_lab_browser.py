"""The live dashboard in a real JupyterLab, driven by headless Chromium (Playwright).

Starts JupyterLab on 127.0.0.1 over a temporary copy of ``notebooks/``, opens notebook 3,
runs all its cells, and reads the page while the search runs: the heatmap and the cell
diagram must change at least twice, Stop must end the search, and the browser console must
stay free of errors. Screenshots go to ``test-artifacts/``; the live one is also the
README's picture (``docs/images/dashboard.png``) when ``CPNAS_SAVE_SCREENSHOT=1``.

Outside CI the test skips (and says so) when /usr/bin/chromium or playwright is missing; in CI
(CI=true) it fails instead (the ``chromium`` fixture, tests/conftest.py).
Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
NOTEBOOK = "03_cpnas_live.ipynb"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"jupyter lab did not answer {url} within {timeout} s")


@contextlib.contextmanager
def running_lab(workdir: Path):
    """JupyterLab over a copy of notebooks/ in ``workdir``; yields (base url, token)."""
    root = workdir / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = workdir / "lab-settings"
    # no "get Jupyter news?" toast over the dashboard, and no request for it
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false", "checkForUpdates": false}')
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "CPNAS_QUICK": "1", "CPNAS_RUNS": str(workdir / "runs"),
           "JUPYTER_CONFIG_DIR": str(workdir / "jupyter-config"),
           "JUPYTER_RUNTIME_DIR": str(workdir / "jupyter-runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(workdir / "lab-workspaces")}
    cmd = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--allow-root",
           "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True"]
    log = (workdir / "lab.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", proc, timeout=90)
        yield f"http://127.0.0.1:{port}", token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(workdir / "lab.log", ARTIFACTS / "lab.log")


@pytest.fixture(scope="module")
def lab(chromium, tmp_path_factory):
    with running_lab(tmp_path_factory.mktemp("lab")) as server:
        yield server


_READ_DOM = """() => {
  const text = (sel) => { const n = document.querySelector(sel); return n ? n.textContent : null; };
  const html = (sel) => { const n = document.querySelector(sel); return n ? n.innerHTML : null; };
  return {
    status: text('.cpnas-status-text'),
    heatmap: html('.cpnas-heatmap .main-svg .heatmaplayer') || html('.cpnas-heatmap .main-svg'),
    diagram: html('.cpnas-diagram svg'),
  };
}"""


_KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""

# start "Run All" without awaiting it: the command's promise resolves only when all cells ran
_RUN_ALL = "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"

# every code cell has run and the kernel is idle again
_ALL_RUN = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  return !!k && k.status === 'idle' && cells.every(c => c.model.executionCount !== null);
}"""


# per code cell: its execution count and any error it printed, for a failure message
_CELL_STATES = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(c => c.model.type === 'code')
  .map(c => [c.model.executionCount, c.model.outputs.toJSON()
     .filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue).join('; ')])"""


def _digest(markup: str | None) -> str | None:
    return hashlib.sha1(markup.encode()).hexdigest()[:12] if markup else None


def _watch_until_changed(page, need: int, timeout: float) -> dict:
    """Poll the DOM while the search runs, until heatmap and diagram each took ``need`` new
    looks after their first one. Returns what was seen."""
    seen = {"heatmap": [], "diagram": [], "status": []}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dom = page.evaluate(_READ_DOM)
        status = dom["status"] or ""
        if status.startswith("running"):
            for key in ("heatmap", "diagram"):
                d = _digest(dom[key])
                if d and (not seen[key] or seen[key][-1] != d):
                    seen[key].append(d)
        if not seen["status"] or seen["status"][-1] != status:
            seen["status"].append(status)
        if min(len(seen["heatmap"]), len(seen["diagram"])) > need:
            return seen
        if status.startswith(("completed", "stopped", "failed")):
            break
        page.wait_for_timeout(150)
    return seen


def _shoot_dashboard(page, path: Path) -> None:
    """A picture of the whole dashboard: scrolled to the top of the notebook's viewport, so
    no part of it is outside the page when the clip is taken."""
    page.evaluate("() => document.querySelector('.cpnas-dashboard').scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    box = page.locator(".cpnas-dashboard").bounding_box()
    view = page.viewport_size
    clip = {"x": max(0, box["x"]), "y": max(0, box["y"]),
            "width": min(box["width"], view["width"] - max(0, box["x"])),
            "height": min(box["height"], view["height"] - max(0, box["y"]))}
    page.screenshot(path=str(path), clip=clip)


def test_live_dashboard_updates_stops_and_logs_no_errors(chromium, lab):
    base, token = lab
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with chromium.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium.executable, args=chromium.args)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.set_default_timeout(60_000)
            page.on("console", lambda m: m.type == "error" and errors.append(f"console: {m.text}"))
            page.on("pageerror", lambda exc: errors.append(f"page: {exc}"))
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=90_000)
            # the kernel must be up before "Run All", or the first cells queue behind its start
            page.wait_for_function(_KERNEL_IDLE, polling=250, timeout=90_000)
            page.evaluate(_RUN_ALL)
            page.wait_for_selector(".cpnas-dashboard", timeout=120_000)
            seen = _watch_until_changed(page, need=2, timeout=240)
            page.screenshot(path=str(ARTIFACTS / "lab-live.png"), full_page=False)
            assert len(seen["heatmap"]) >= 3, f"heatmap changed too rarely while running: {seen}"
            assert len(seen["diagram"]) >= 3, f"diagram changed too rarely while running: {seen}"
            assert seen["status"][-1].startswith("running"), f"the search ended before Stop: {seen['status']}"
            # Stop at once, while the search still runs; the dashboard picture comes after.
            page.locator(".cpnas-stop button, button.cpnas-stop").first.click(timeout=5_000)
            _shoot_dashboard(page, ARTIFACTS / "dashboard-live.png")
            if os.environ.get("CPNAS_SAVE_SCREENSHOT"):  # refresh the README picture
                shutil.copy(ARTIFACTS / "dashboard-live.png", ROOT / "docs" / "images" / "dashboard.png")
            page.wait_for_function(
                "() => (document.querySelector('.cpnas-status-text')||{}).textContent"
                "?.startsWith('stopped')", polling=250, timeout=120_000)
            status = page.evaluate(_READ_DOM)["status"]
            page.screenshot(path=str(ARTIFACTS / "lab-stopped.png"), full_page=False)
            # the notebook goes on after the stop; let it finish so late errors are caught too
            try:
                page.wait_for_function(_ALL_RUN, polling=500, timeout=300_000)
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "lab-timeout.png"), full_page=False)
                pytest.fail(f"notebook 3 did not finish after Stop: {page.evaluate(_CELL_STATES)}")
            page.screenshot(path=str(ARTIFACTS / "lab-end.png"), full_page=True)
        finally:
            browser.close()
    assert status.startswith("stopped"), status
    assert errors == [], "\n".join(errors)
