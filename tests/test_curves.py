"""Accuracy curves and the per-op child-parent gap, on a hand-made stream with known numbers."""

from __future__ import annotations

import math

import pytest

from cpnas import events as ev
from cpnas.simulate import simulate
from cpviz import accuracy_curves, curves_data, op_gap_chart, op_gap_data
from cpviz.state import replay

EDGES = ["normal:0->2", "normal:1->2", "reduce:0->2", "reduce:1->2"]
OPS = ["none", "skip_connect", "sep_conv_3x3"]


def _stream():
    space = {"ops": OPS, "nodes": 1, "cell_types": ["normal", "reduce"], "edges": EDGES}
    out = [ev.SearchStarted(seq=0, config={"beta": 0.5, "repeats": 1}, space=space)]

    def sample(rnd, s, arch, child, parent):
        out.append(ev.SampleTrained(seq=len(out), round=rnd, s=s, arch=dict(zip(EDGES, arch)),
                                    child_acc=child, parent_acc=parent, z=0.5 * (parent - child) + child))

    out.append(ev.RoundStarted(seq=len(out), round=0, K=3, alive={e: OPS for e in EDGES}))
    sample(0, 0, ["none", "skip_connect", "sep_conv_3x3", "none"], 0.2, 0.6)  # gap 0.4
    sample(0, 1, ["sep_conv_3x3", "none", "none", "skip_connect"], 0.5, 0.6)  # gap 0.1
    sample(0, 2, ["skip_connect", "sep_conv_3x3", "skip_connect", "sep_conv_3x3"], 0.4, 0.7)  # 0.3
    out.append(ev.RoundStarted(seq=len(out), round=1, K=2, alive={e: OPS[1:] for e in EDGES}))
    sample(1, 0, ["sep_conv_3x3"] * 4, 0.3, 0.9)  # gap 0.6
    return out


def test_curves_data():
    d = curves_data(replay(_stream()))
    assert [p.index for p in d.points] == [0, 1, 2, 3]
    assert [p.gap for p in d.points] == pytest.approx([0.4, 0.1, 0.3, 0.6])
    assert d.round_starts == (0, 3) and d.beta == 0.5


def test_op_gap_exact():
    gaps = {g.op: g for g in op_gap_data(replay(_stream()))}
    # sep_conv_3x3 ran on 1 + 1 + 2 + 4 edges: gaps 0.4, 0.1, 0.3*2, 0.6*4
    sep = gaps["sep_conv_3x3"]
    assert sep.n == 8 and sep.samples == 4
    assert sep.mean_gap == pytest.approx((0.4 + 0.1 + 0.6 + 2.4) / 8)
    none = gaps["none"]  # 2 edges in sample 0, 2 in sample 1
    assert none.n == 4 and none.mean_gap == pytest.approx((0.8 + 0.2) / 4)
    assert [g.op for g in op_gap_data(replay(_stream()))] == ["sep_conv_3x3", "skip_connect", "none"]
    normal = {g.op: g for g in op_gap_data(replay(_stream()), cell="normal")}
    assert normal["none"].n == 2 and normal["none"].mean_gap == pytest.approx(0.25)


def test_a_sample_without_a_parent_has_no_gap():
    stream = _stream()
    stream.append(ev.SampleTrained(seq=len(stream), round=1, s=1, arch=dict.fromkeys(EDGES, "none"),
                                   child_acc=0.5, parent_acc=math.nan, z=0.5))  # a darts sample
    gaps = {g.op: g for g in op_gap_data(replay(stream))}
    assert gaps["none"].n == 4 and gaps["none"].mean_gap == pytest.approx(0.25)
    assert gaps["none"].samples == 2


def test_unseen_op_has_no_gap():
    events = simulate(ops=("none", "skip_connect"), nodes=1, seed=0, stop_after=0)
    gaps = op_gap_data(replay(events))
    assert all(g.n == 0 and math.isnan(g.mean_gap) for g in gaps)
    assert len(op_gap_chart(events).data[0].x) == 0


def test_figures_carry_the_data():
    events = simulate(seed=8, stop_after=12)
    fig = accuracy_curves(events)
    state = replay(events)
    assert list(fig.data[0].y) == [s.parent_acc for s in state.samples]
    assert list(fig.data[1].y) == [s.child_acc for s in state.samples]
    assert list(fig.data[2].y) == pytest.approx([s.parent_acc - s.child_acc for s in state.samples])
    bars = op_gap_chart(events).data[0]
    assert list(bars.x) == [g.op for g in op_gap_data(replay(events))]


def test_curve_colours_are_not_op_colours():
    from cpnas.space import PRIMITIVES
    from cpviz.cell import PALETTE, op_colour
    from cpviz.curves import CHILD, GAP, PARENT

    taken = {op_colour(op) for op in PRIMITIVES} | set(PALETTE.values())
    assert {CHILD, PARENT, GAP}.isdisjoint(taken) and len({CHILD, PARENT, GAP}) == 3


def test_the_gap_axis_is_typeset_not_raw_text():
    fig = op_gap_chart(simulate(ops=("none", "skip_connect", "sep_conv_3x3"), nodes=2, seed=1))
    assert fig.layout.yaxis.title.text == "A<sub>P</sub> − A<sub>C</sub>"
    assert "A_P" not in fig.layout.yaxis.title.text
