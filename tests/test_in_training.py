"""The sample in training (SampleStarted): folded into the state, shown by every live view."""

from __future__ import annotations

import html
import re

from cpnas import events as ev
from cpnas.simulate import simulate
from cpviz import cell_graph, curves_data, heatmap_data
from cpviz.cell import short_op
from cpviz.curves import curves_spec
from cpviz.heatmap import heatmap_spec
from cpviz.state import SearchState, reduce

OPS = ("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3")


def _sweep_scored(events: list[ev.Event]) -> list[ev.Event]:
    """``events`` as sweep scoring orders them: a sweep's K SampleStarted, then its K
    SampleTrained (simulate validates each sample at once)."""
    out, held, k = [], [], 0
    for e in events:
        k = e.K if isinstance(e, ev.RoundStarted) else k
        if isinstance(e, ev.SampleTrained):
            held.append(e)
            if e.s == k - 1:  # the sweep's last sample: its scores, in order
                out, held = out + held, []
        else:
            out.append(e)
    return out + held


def _states(events):
    state, out = SearchState(), []
    for e in events:
        state = reduce(state, e)
        out.append(state)
    return out


def test_in_flight_holds_the_samples_started_and_not_scored_yet():
    events = _sweep_scored(simulate(ops=OPS, nodes=2, repeats=2, seed=3))
    kinds = [e.type for e in events if e.type in ("SampleStarted", "SampleTrained")]
    assert kinds[:8] == ["SampleStarted"] * 4 + ["SampleTrained"] * 4  # K = 4
    states = _states(events)
    assert max(len(s.in_flight) for s in states) == 4
    for e, s in zip(events, states):
        if isinstance(e, ev.SampleStarted):
            assert s.in_flight[-1] is e
        if isinstance(e, ev.SampleTrained):
            assert all((x.round, x.t, x.s) != (e.round, e.t, e.s) for x in s.in_flight)
    assert states[-1].in_flight == () and states[-1].at_round(1).in_flight == ()


def test_the_views_show_the_sample_in_training():
    events = _sweep_scored(simulate(ops=OPS, nodes=2, repeats=2, seed=3))
    state = [s for s in _states(events) if len(s.in_flight) == 3 and s.round == 1][0]
    arch = state.in_flight[-1].arch
    # the heatmap: an open square on each (edge, op) of the sample in training, and a key
    d = heatmap_data(state)
    assert {(c.edge, c.op) for row in d.cells for c in row if c.training} == set(arch.items())
    spec = heatmap_spec(state, slider=False)
    marks = spec["data"][1]
    assert set(zip(marks["y"], marks["x"])) == set(arch.items())
    assert "in training now" in spec["layout"]["annotations"][0]["text"]
    assert heatmap_spec(state, round=0, slider=False)["data"][1]["x"] == []  # an earlier round: none
    # the curves: a band over the three samples trained and not scored yet
    assert curves_data(state).in_flight == 3
    bands = [s for s in curves_spec(state)["layout"]["shapes"] if s["type"] == "rect"]
    n = len(state.samples)
    assert bands and all((b["x0"], b["x1"]) == (n - 0.5, n + 2.5) for b in bands)
    # the compact diagram: each edge names the op it runs now; the full table does not
    for cell in state.cell_types:
        src = cell_graph(state, cell, compact=True).source
        now = re.findall(r"▶ <FONT COLOR=\"#[0-9A-F]{6}\">([a-z_0-9]+)</FONT>", src)
        assert sorted(now) == sorted(short_op(op) for e, op in arch.items() if e.startswith(cell + ":"))
        assert "▶" not in cell_graph(state, cell).source


def test_a_compact_diagram_is_a_third_of_the_table_and_a_genotype_ignores_it():
    events = simulate(ops=("none", "skip_connect", "max_pool_3x3", "avg_pool_3x3", "sep_conv_3x3",
                           "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"), nodes=4, seed=1)
    state = [s for s in _states(events) if s.in_flight][0]
    size = lambda g: [float(v) for v in re.search(r'viewBox="([^"]+)"',  # noqa: E731
                                                   g.pipe(format="svg").decode()).group(1).split()[2:]]
    (w_table, h_table), (w_compact, h_compact) = size(cell_graph(state)), size(cell_graph(state, compact=True))
    assert h_compact * 2 < h_table and w_compact < w_table
    from cpviz.dashboard import diagram_svg

    assert "▶" in html.unescape(diagram_svg(state, "normal"))  # the dashboard's is compact
    geno = "DARTS_V2"
    assert cell_graph(geno, compact=True).source == cell_graph(geno).source
