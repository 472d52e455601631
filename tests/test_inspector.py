"""The edge inspector: one edge's ops in one round, checked against the event log."""

from __future__ import annotations

import math

import pytest

from cpnas import events as ev
from cpnas.errors import CpnasError
from cpnas.simulate import simulate
from cpviz import dashboard as dsh
from cpviz.dashboard import Dashboard, simulated_runner
from cpviz.inspector import inspect_edge, inspector_html
from cpviz.state import replay

OPS = ["none", "skip_connect", "max_pool_3x3", "sep_conv_3x3"]


def _from_log(events, edge, rnd):
    """What the inspector must show, read straight from the events."""
    samples = {}
    for e in events:
        if isinstance(e, ev.SampleTrained) and e.round == rnd:
            samples.setdefault(e.arch[edge], []).append((e.child_acc, e.parent_acc, e.z))
    scored = next(e for e in events if isinstance(e, ev.RoundScored) and e.round == rnd)
    pruned = next(e for e in events if isinstance(e, ev.OpPruned) and e.round == rnd and e.edge == edge)
    return samples, scored, pruned


@pytest.mark.parametrize("rnd", [0, 1, 2])
def test_a_scored_round_matches_the_event_log(rnd):
    events = simulate(ops=OPS, nodes=2, repeats=2, seed=4)
    edge = "normal:1->3"
    d = inspect_edge(replay(events), edge, round=rnd)
    samples, scored, pruned = _from_log(events, edge, rnd)
    assert d.final and d.round == rnd and d.label == "normal c_{k-1}→1"
    assert [r.op for r in d.ops] == [op for op in OPS if op in scored.ev[edge]]  # the alive ops
    for r in d.ops:
        assert list(r.samples) == samples[r.op]
        assert r.zbar == pytest.approx(scored.zbar[edge][r.op])
        assert r.zbar == pytest.approx(sum(z for *_, z in samples[r.op]) / len(samples[r.op]))
        assert r.ev == scored.ev[edge][r.op]
        assert r.pruned == (r.op == pruned.op)
    assert d.pruned == pruned.op and [r.ev for r in d.ops if r.pruned] == [pruned.ev]
    others = {op: v for op, v in scored.ev[edge].items() if op != pruned.op}
    if others:
        assert d.next_op == min(others, key=others.get)
        assert d.margin == pytest.approx(others[d.next_op] - pruned.ev)
    page = __import__('html').unescape(inspector_html(d))
    assert f"{pruned.op} pruned: its ev was {d.margin:.4f} below the next lowest, {d.next_op}'s" in page


def test_a_round_in_progress_shows_running_means_and_no_prune_yet():
    events = simulate(ops=OPS, nodes=2, repeats=2, seed=4, stop_after=4 * 2 + 3)
    state = replay(events)
    d = inspect_edge(state, "reduce:0->2")
    assert d.round == 1 and not d.final and d.pruned is None and d.margin is None
    assert len(d.ops) == 3 and sum(len(r.samples) for r in d.ops) == 3
    assert all(math.isnan(r.zbar) for r in d.ops if not r.samples)
    assert "No op pruned yet" in inspector_html(d)


def test_a_round_just_started_shows_the_round_that_opened_it():
    events = simulate(ops=OPS, nodes=2, repeats=1, seed=4)
    first = next(i for i, e in enumerate(events) if isinstance(e, ev.RoundStarted) and e.round == 1)
    d = inspect_edge(replay(events[:first + 1]), "normal:0->2")
    assert d.round == 0 and d.final and d.pruned is not None


def test_bad_edge_or_round():
    state = replay(simulate(ops=OPS, nodes=2, seed=4))
    with pytest.raises(CpnasError, match="edge"):
        inspect_edge(state, "normal:0->9")
    with pytest.raises(CpnasError, match="round"):
        inspect_edge(state, "normal:0->2", round=7)


def test_the_dashboard_inspects_the_edge_picked_and_says_each_prune():
    dash = Dashboard({"ops": OPS, "nodes": 2, "repeats": 1, "seed": 3}, runner=simulated_runner(delay=0.0))
    dash.start()
    state = dash.join(timeout=30)
    assert [v for _, v in dash.edge_picker.options] == list(state.edges)
    assert dash.edge_picker.options[0][0] == "normal c_{k-2}→0"
    html = dash.inspect("reduce:1->2")
    assert html == inspector_html(inspect_edge(state, "reduce:1->2"))
    assert "reduce c_{k-1}→0" in html
    lines = state.prune_lines()
    assert len(lines) == 3 and lines[-1] in dash.prunes.value and lines[0] in dash.prunes.value
    assert dsh.prunes_html(state) == dash.prunes.value


def test_the_views_name_each_edge_as_the_inspectors_list_does():
    """A click on a heatmap row or a diagram edge picks the list's entry by its label (the
    page's script, checked in tests/test_lab_browser.py): the heatmap's rows (y: edge ids)
    are named by its axis's ticktext, the diagram's edges by data-edge-label, as the list."""
    import re
    from html import unescape

    dash = Dashboard({"ops": OPS, "nodes": 2, "repeats": 1, "seed": 3}, runner=simulated_runner(delay=0.0))
    dash.start()
    state = dash.join(timeout=30)
    listed = dict((v, k) for k, v in dash.edge_picker.options)
    axis = dash.heatmap.layout.yaxis
    assert dict(zip(axis.tickvals, axis.ticktext)) == listed
    assert set(dash.heatmap.data[0].y) == set(state.edges)
    for cell in ("normal", "reduce"):
        dash.diagram.selected_index = list(dash.diagrams).index(cell)
        drawn = dict(re.findall(r'data-edge="([^"]+)" data-edge-label="([^"]+)"',
                                unescape(dash.diagrams[cell].value)))
        assert drawn == {e: listed[e] for e in state.edges if e.startswith(cell + ":")}
    (script,) = dash.pick_script.outputs  # the page's click listener, in a hidden output
    js = script["data"]["application/javascript"]
    assert dash.pick_script.layout.display == "none"
    assert "plotly_click" in js and ".cpnas-edge-picker select" in js and "data-edge-label" in js
    assert dash.pick_script in dash.widget.children
