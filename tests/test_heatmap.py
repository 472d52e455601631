"""The indicator heatmap: data step without plotly (masks, prune rounds, running means)."""

from __future__ import annotations

import math

import pytest

from cpnas import events as ev
from cpnas.errors import CpnasError
from cpnas.simulate import simulate
from cpviz import heatmap_data, indicator_heatmap
from cpviz.state import SearchState, reduce, replay

IN_ROUND_2 = 8 + 7 + 3  # samples: rounds 0 and 1 done, 3 samples into round 2


@pytest.fixture(scope="module")
def half():
    return replay(simulate(seed=5, stop_after=IN_ROUND_2))


@pytest.fixture(scope="module")
def full():
    return replay(simulate(seed=5))


def test_masks_and_prune_rounds_of_a_running_round(half):
    d = heatmap_data(half, round=2)
    assert d.round == 2 and not d.final
    assert len(d.edges) == 28 and len(d.ops) == 8
    for edge, row in zip(d.edges, d.cells):
        masked = {c.op: c.pruned_in for c in row if c.masked}
        assert masked == {op: rec.round for op, rec in half.pruned[edge].items()}
        assert sorted(masked.values()) == [0, 1]
        for c in row:
            if c.masked:
                assert math.isnan(c.value) and c.zs == ()
            elif c.zs:
                assert c.zbar == pytest.approx(sum(c.zs) / len(c.zs))  # Eq. 4.16 so far
        assert sum(len(c.zs) for c in row) == 3  # one op per edge per sample
    assert d.mask() == [[c.masked for c in row] for row in d.cells]


def test_a_finished_round_shows_the_engine_scores(full):
    scored = full.scores[0]
    d = heatmap_data(full, value="ev", round=0)
    assert d.final and not any(any(row) for row in d.mask())
    for edge, row in zip(d.edges, d.cells):
        assert {c.op: c.value for c in row} == pytest.approx(scored.ev[edge])
        assert sum(c.pruned_in == 0 for c in row) == 1
        assert all(len(c.zs) == 1 for c in row)
    z = heatmap_data(full, value="zbar", round=0)
    assert z.matrix()[0] == pytest.approx([scored.zbar[z.edges[0]][op] for op in z.ops])


def test_last_round_marks_survivors(full):
    d = heatmap_data(full)
    assert d.round == 6
    for edge, row in zip(d.edges, d.cells):
        assert [c.op for c in row if c.survivor] == [full.survivors()[edge]]
        assert sum(not c.masked for c in row) == 2


def test_live_view_moves_with_every_sample():
    state, seen = SearchState(), []
    for event in simulate(seed=6, stop_after=8 + 4):
        state = reduce(state, event)
        if isinstance(event, ev.SampleTrained) and event.round == 1:
            seen.append(heatmap_data(state).matrix())
    assert len(seen) == 4
    assert all(a != b for a, b in zip(seen, seen[1:]))


def test_bad_arguments(half):
    with pytest.raises(CpnasError, match="value"):
        heatmap_data(half, value="z")
    with pytest.raises(CpnasError, match="round"):
        heatmap_data(half, round=5)
    with pytest.raises(CpnasError, match="no search space"):
        heatmap_data(SearchState())


def test_figure_has_a_frame_and_slider_step_per_round(half):
    fig = indicator_heatmap(half, round=1)
    assert [f.name for f in fig.frames] == ["0", "1", "2"]
    assert len(fig.layout.sliders[0].steps) == 3 and fig.layout.sliders[0].active == 1
    d = heatmap_data(half, round=1)
    assert [list(r) for r in fig.data[0].z] == d.matrix()
    notes = [a.text for a in fig.layout.annotations]
    assert notes.count("r1") == 28  # masked in round 2 (on screen): the ops pruned in round 1
    assert notes.count("✕") == 28  # pruned at the end of round 2
    assert any("★ survivor" in n and "rN" in n for n in notes)  # a key for every mark
    assert [s.label for s in fig.layout.sliders[0].steps] == ["1", "2", "3"]  # rounds from 1
    assert "round 2" in fig.layout.title.text


def test_colour_range_is_fixed_around_an_even_share_and_stated(half):
    fig = indicator_heatmap(half, round=2)  # K = 6 alive in round 3 (on screen)
    trace = fig.data[0]
    assert (trace.zmin, trace.zmid, trace.zmax) == pytest.approx((0, 1 / 6, 2 / 6))
    assert "0 .. 0.333" in trace.colorbar.title.text
    live = indicator_heatmap(half, slider=False)
    assert not live.frames and not live.layout.sliders
    hover = fig.data[0].customdata
    assert any("samples: 1" in h for row in hover for h in row)


def test_axes_keep_every_edge_and_op_when_no_cell_has_a_value_yet():
    # the state just before round 2's first sample: every running mean is still empty, so
    # plotly could not derive the axes from z; they must be stated
    events = simulate(ops=["none", "skip_connect", "max_pool_3x3", "sep_conv_3x3"], nodes=2, seed=1)
    first = next(i for i, e in enumerate(events) if isinstance(e, ev.SampleTrained) and e.round == 1)
    state = replay(events[:first])
    d = heatmap_data(state)
    assert all(math.isnan(z) for row in d.matrix() for z in row if z is not None)
    layout = indicator_heatmap(state, slider=False).layout
    assert layout.xaxis.type == layout.yaxis.type == "category"
    assert list(layout.xaxis.categoryarray) == list(d.ops)
    assert list(layout.yaxis.categoryarray) == list(d.edges)
    assert list(layout.yaxis.range) == [len(d.edges) - 0.5, -0.5]  # the first edge on top


def test_frames_carry_the_same_number_of_fully_placed_marks(full):
    """Plotly merges a frame's annotations into the shown ones index by index: every frame
    holds as many, and each states its own references, so no mark inherits another's
    (a category placed on a paper reference drew at NaN in the browser)."""
    fig = indicator_heatmap(full)
    lists = [fig.layout.annotations, *(fr.layout.annotations for fr in fig.frames)]
    assert len({len(notes) for notes in lists}) == 1
    for notes in lists:
        for a in notes:
            assert a.xref is not None and a.yref is not None and a.xanchor is not None
            if a.visible is not False and a.xref == "x":
                assert a.x in fig.layout.xaxis.categoryarray and a.y in fig.layout.yaxis.categoryarray
