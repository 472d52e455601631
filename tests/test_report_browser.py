"""The report of a recorded run, opened in the real browser (headless Chromium, offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpnas.simulate import simulate
from cpviz import write_report

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.browser

# the heatmap's marks drawn on screen: row (edge id) -> their texts
_DRAWN_MARKS = """(() => {
  const g = document.getElementById('heatmap'), notes = g._fullLayout.annotations, out = {};
  for (const el of g.querySelectorAll('.annotation[data-index]')) {
    const a = notes[+el.getAttribute('data-index')];
    if (!a || a.yref !== 'y' || a.visible === false) continue;
    (out[a.y] = out[a.y] || []).push(el.textContent);
  }
  return out; })()"""


# per edge of a diagram (its <title>): computed opacity; and the node lists shown
_FOCUS = """(div) => {
  const box = document.getElementById(div);
  const edges = Object.fromEntries([...box.querySelectorAll('g.edge')].map(g =>
      [g.querySelector('title').textContent, +getComputedStyle(g).opacity]));
  const lists = [...box.querySelectorAll('.cf-list')].filter(l => getComputedStyle(l).display !== 'none')
    .map(l => { const r = l.getBoundingClientRect(), b = box.getBoundingClientRect();
      return {node: l.dataset.node, text: l.innerText, subs: [...l.querySelectorAll('sub')].map(e => e.textContent), inside: r.left >= b.left - 1 && r.right <= b.right + 1,
              px: Math.min(...[l, ...l.querySelectorAll('*')].filter(e => e.getClientRects().length)
                           .map(e => parseFloat(getComputedStyle(e).fontSize)))}; });
  return {edges, lists}; }"""


def _check_focus_mode(page) -> None:
    """Hover node 0 of the normal cell's full diagram (every op on every edge, its labels
    scaled below 9 px): the edges that do not touch it fade, its own stay, and a box lists
    its edges with every op line, at 9 px or more; a click pins it, a click elsewhere lets go."""
    node = page.locator('#state-normal g.node:has(title:text-is("0"))')
    assert page.evaluate(_FOCUS, "state-normal")["lists"] == []  # nothing focused: no list
    node.hover()
    page.wait_for_function("() => [...document.querySelectorAll('#state-normal .cf-list')]"
                           ".some(l => getComputedStyle(l).display === 'block')")
    seen = page.evaluate(_FOCUS, "state-normal")
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    page.locator("#state-normal").screenshot(path=str(ROOT / "test-artifacts" / "report-focus.png"))
    mine = {t for t in seen["edges"] if "0" in t.split("->")}
    assert mine == {"c_{k-2}->0", "c_{k-1}->0", "0->1", "0->2", "0->c_{k}"}
    assert all(seen["edges"][t] == 1 for t in mine), seen["edges"]
    assert all(abs(op - 0.15) < 1e-6 for t, op in seen["edges"].items() if t not in mine), seen["edges"]
    (shown,) = seen["lists"]
    assert shown["node"] == "0" and shown["inside"] and shown["px"] >= 9, shown
    # node names with real subscripts, as drawn: c<sub>k-2</sub> reads "ck-2"
    assert "node 0: 5 edges" in shown["text"] and "ck-2 → 0" in shown["text"]
    assert {"k-2", "k-1", "k"} <= set(shown["subs"]), shown
    assert all(op in shown["text"] for op in ("none", "skip_connect", "sep_conv_3x3", "dil_conv_3x3"))
    node.click()  # picked: it stays focused with the mouse elsewhere
    page.mouse.move(1, 1)
    page.wait_for_function("() => !document.querySelector('#state-normal g.node:hover')")
    assert [x["node"] for x in page.evaluate(_FOCUS, "state-normal")["lists"]] == ["0"]
    page.locator("h1").click()  # a click elsewhere lets go
    page.wait_for_function("() => !document.querySelector('#state-normal g.node:focus')")
    seen = page.evaluate(_FOCUS, "state-normal")
    assert seen["lists"] == [] and all(op == 1 for op in seen["edges"].values())


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    events = simulate(ops=("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3", "dil_conv_3x3"),
                      nodes=3, seed=11)
    (run / "events.jsonl").write_text("".join(e.to_json() + "\n" for e in events), encoding="utf-8")
    return write_report(run)


def test_report_in_headless_chromium(chromium, report):
    problems, requests = [], []
    with chromium.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium.executable, args=chromium.args)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: problems.append(str(exc)))

            def route(r):  # offline: anything but the file itself is recorded and refused
                if r.request.url.startswith("file://"):
                    return r.continue_()
                requests.append(r.request.url)
                return r.abort()

            page.route("**/*", route)
            page.goto(report.as_uri(), wait_until="load")
            page.wait_for_function(
                "document.querySelectorAll('.plotly-graph-div .main-svg').length >= 4")
            plots = page.eval_on_selector_all(
                ".plotly-graph-div", "els => els.map(e => [e.id, e.querySelectorAll('svg').length])")
            assert {pid for pid, n_svg in plots if n_svg > 0} == {"heatmap", "timeline", "curves", "op-gap"}
            # the heatmap drew its cells and its round slider
            assert page.locator("#heatmap .heatmaplayer image, #heatmap .hm image").count() >= 1
            assert page.locator("#heatmap .slider-container").count() == 1
            n_steps = page.evaluate("document.getElementById('heatmap').layout.sliders[0].steps.length")
            assert n_steps == 4
            page.evaluate("Plotly.animate('heatmap', ['0'], {frame: {duration: 0}, transition: {duration: 0}})")
            page.wait_for_function(
                "document.getElementById('heatmap').layout.title.text.endsWith('round 1')")  # frame 0: round 1 on screen
            # every frame draws its marks on every row (the first rows only, before: a mark
            # inherited "visible: false" from an earlier frame's placeholder at its index)
            edges = page.evaluate("document.getElementById('heatmap').layout.yaxis.categoryarray")
            assert len(edges) == 18
            for r in range(n_steps):
                page.evaluate(f"Plotly.animate('heatmap', ['{r}'], {{frame: {{duration: 0}}, "
                              "transition: {duration: 0}})")
                page.wait_for_function(
                    f"document.getElementById('heatmap').layout.title.text.endsWith('round {r + 1}')")
                drawn = page.evaluate(_DRAWN_MARKS)
                assert set(drawn) == set(edges), f"frame {r}: marks on {len(set(drawn))} of 18 rows"
                for edge in edges:  # rN per op pruned before, ✕ this round's prune, ★ the survivor
                    assert sorted(drawn[edge]) == sorted([f"r{i + 1}" for i in range(r)] + ["✕", "★"])
            # the edges table stays inside the page column
            widths = page.evaluate("[document.querySelector('#edges table').getBoundingClientRect().right,"
                                   " document.querySelector('h1').parentElement.getBoundingClientRect().right]")
            assert widths[0] <= widths[1] + 0.5
            diagrams = page.locator(".cell-diagram svg")
            assert diagrams.count() == 3
            texts = page.eval_on_selector_all(
                "#state-normal svg text", "els => els.map(e => [e.textContent, e.getAttribute('baseline-shift')])")
            assert ["k", "sub"] in texts and ["k-2", "sub"] in texts  # c_{k}, c_{k-2}: real subscripts
            assert ["sep_conv_3x3", None] in texts and not any("{" in t for t, _ in texts)
            assert page.locator("table.dataframe").count() == 2
            _check_focus_mode(page)
            out = ROOT / "test-artifacts"
            out.mkdir(exist_ok=True)
            page.screenshot(path=str(out / "report.png"), full_page=False)
            page.locator("#heatmap").screenshot(path=str(out / "report-heatmap.png"))
        finally:
            browser.close()
    assert problems == []
    assert requests == []
