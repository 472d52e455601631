"""The pruning timeline: spans end where ops were pruned; one survivor per edge."""

from __future__ import annotations

import pytest

from cpnas.errors import CpnasError
from cpnas.simulate import simulate
from cpviz import pruning_timeline, timeline_data
from cpviz.cell import edge_label, short_op
from cpviz.state import SearchState, replay


@pytest.fixture(scope="module")
def full_events():
    return simulate(seed=7)


def test_spans_of_a_finished_search(full_events):
    state = replay(full_events)
    d = timeline_data(state)
    assert d.n_rounds == 7 and d.reached == 7 and len(d.spans) == 28 * 8
    derived = full_events[-2].edges  # GenotypeDerived
    for edge in d.edges:
        spans = [s for s in d.spans if s.edge == edge]
        assert d.survivor(edge) == state.survivors()[edge] == derived[edge]["op"]
        pruned = [s for s in spans if s.status == "pruned"]
        assert sorted(s.end for s in pruned) == [1, 2, 3, 4, 5, 6, 7]  # one op falls per round
        for s in pruned:
            assert s.end == s.pruned_in + 1 == state.pruned[edge][s.op].round + 1
            assert s.ev == state.pruned[edge][s.op].ev
        assert [s.end for s in spans if s.status == "survivor"] == [7]


def test_spans_of_a_half_finished_search():
    state = replay(simulate(seed=7, stop_after=8 + 7 + 6 + 1))  # round 3 running
    d = timeline_data(state)
    assert d.reached == 4
    for edge in d.edges:
        assert d.survivor(edge) is None
        alive = [s for s in d.spans if s.edge == edge and s.status == "alive"]
        assert len(alive) == 5 and all(s.end == 4 for s in alive)
        assert sorted(s.end for s in d.spans if s.edge == edge and s.status == "pruned") == [1, 2, 3]


def test_not_started_and_empty():
    started = replay(simulate(seed=0)[:1])  # only SearchStarted
    d = timeline_data(started)
    assert d.reached == 0 and all(s.end == 0 and s.status == "alive" for s in d.spans)
    with pytest.raises(CpnasError):
        timeline_data(SearchState())


def test_figure(full_events):
    fig = pruning_timeline(full_events)
    bars = [t for t in fig.data if t.type == "bar" and t.name != "round running"]
    ops = timeline_data(replay(full_events)).ops
    assert [t.legendgroup for t in bars] == list(ops)
    assert [t.name for t in bars][:3] == ["none", "skip = skip_connect", "max3 = max_pool_3x3"]
    # one segment per (edge, round): 28 edges x 7 rounds, each an op pruned at its end
    assert sum(len(t.y) for t in bars) == 28 * 7
    for t in bars:
        assert all(w == 1 for w in t.x) and all(0 <= b < 7 for b in t.base)
    assert list(fig.layout.xaxis.ticktext) == [str(r) for r in range(1, 8)] + ["survivor"]
    # every segment named by its op's short name (readable without the colours)
    names = [t for t in fig.data if t.name == "op names"][0]
    fell = {(s.edge, s.pruned_in + 0.5): s.op for s in timeline_data(replay(full_events)).spans if s.status == "pruned"}
    assert {(y, x): t for x, y, t in zip(names.x, names.y, names.text)} == {
        k: short_op(op) for k, op in fell.items()}
    # the survivor by its op's name, right of the last round (not a symbol)
    survivors = [t for t in fig.data if t.name == "survivor"][0]
    assert survivors.mode == "text" and len(survivors.x) == 28
    assert dict(zip(survivors.y, survivors.text)) == replay(full_events).survivors()


def test_short_names_and_edge_labels():
    assert [short_op(o) for o in ("none", "skip_connect", "max_pool_3x3", "avg_pool_3x3",
                                  "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")] \
        == ["none", "skip", "max3", "avg3", "sep3", "sep5", "dil3", "dil5"]
    assert edge_label("normal:0->2") == "normal c_{k-2}→0"
    assert edge_label("reduce:1->5") == "reduce c_{k-1}→3"
    assert edge_label("reduce:3->4") == "reduce 1→2"
