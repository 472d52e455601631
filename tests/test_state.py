"""The reducer: a replayed log gives the same state as the live stream; snapshots per round."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import pytest

from cpnas import events as ev
from cpnas.errors import CpnasError, RunDirError
from cpnas.simulate import simulate
from cpviz.state import SearchState, as_state, reduce, replay, round_scores

OPS4 = ("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3")


def _write_log(path, events):
    path.write_text("".join(e.to_json() + "\n" for e in events), encoding="utf-8")


def test_replayed_log_equals_live_stream(tmp_path):
    live = [SearchState()]
    events = simulate(seed=3, repeats=2, subscribers=[lambda e: live.append(reduce(live[-1], e))])
    _write_log(tmp_path / "events.jsonl", events)
    replayed = as_state(tmp_path)
    assert replayed == live[-1]
    assert replayed.status == "completed" and replayed.n_events == len(events)
    assert len(replayed.samples) == replayed.total_samples == 2 * 35
    assert replayed.survivors() == {e: d["op"] for e, d in replayed.genotype_edges.items()}


def _plain(value):
    """A deep copy in plain dicts and tuples, sharing no object with ``value``."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def _events_whose_input_changed(reducer, events):
    state, changed = SearchState(), []
    for event in events:
        before = _plain(state)
        after = reducer(state, event)
        if _plain(state) != before:
            changed.append(type(event).__name__)
        state = after
    return changed


def test_reduce_is_pure():
    events = simulate(ops=OPS4, nodes=2, seed=0)
    assert {type(e) for e in events} >= {ev.SearchStarted, ev.RoundStarted, ev.SampleTrained,
                                         ev.RoundScored, ev.OpPruned, ev.GenotypeDerived,
                                         ev.SearchFinished}
    assert _events_whose_input_changed(reduce, events) == []

    def counting_in_place(state, event):  # the impurity this test exists to catch
        object.__setattr__(state, "n_events", state.n_events + 1)
        return reduce(state, event)

    assert len(_events_whose_input_changed(counting_in_place, events)) == len(events)


def test_at_round_matches_the_live_state_at_each_round_start():
    snapshots = {}
    state = SearchState()
    for event in simulate(seed=1):
        state = reduce(state, event)
        if isinstance(event, ev.RoundStarted):
            snapshots[event.round] = state
    for rnd, live in snapshots.items():
        past = state.at_round(rnd)
        assert past.alive == live.alive
        assert past.pruned == live.pruned
        assert past.samples == live.samples
        assert past.scores == live.scores
        assert all(len(ops) == 8 - rnd for ops in past.alive.values())
    assert state.at_round(state.n_rounds) is state


def test_running_scores_end_at_the_engine_scores():
    """Just before RoundScored, the running means of the samples equal the engine's zbar."""
    state, checked = SearchState(), 0
    for event in simulate(seed=2, repeats=2):
        if isinstance(event, ev.RoundScored):
            running = round_scores(state, event.round)
            assert not running.final
            for edge, per in event.zbar.items():
                for op, zbar in per.items():
                    assert math.isclose(running.zbar[edge][op], zbar, rel_tol=1e-12)
                    assert len(running.zs[edge][op]) == 2  # T = 2: one z per sweep
                    assert math.isclose(running.ev[edge][op], event.ev[edge][op], rel_tol=1e-9)
            checked += 1
        state = reduce(state, event)
        if isinstance(event, ev.RoundScored):
            assert round_scores(state, event.round).final
    assert checked == 7


def test_half_finished_state():
    state = replay(simulate(seed=0, stop_after=10))
    assert state.status == "stopped"
    assert state.round == 1 and len(state.samples) == 10
    assert not state.survivors()
    assert all(len(p) == 1 and next(iter(p.values())).round == 0 for p in state.pruned.values())


def test_a_run_dir_with_a_cut_last_line_replays(tmp_path):
    events = simulate(ops=OPS4, nodes=2, seed=0)
    text = "".join(e.to_json() + "\n" for e in events)
    (tmp_path / "events.jsonl").write_text(text + events[-1].to_json()[:17], encoding="utf-8")
    with pytest.warns(UserWarning):
        loaded = as_state(tmp_path)
    assert loaded == replay(events)


def test_bad_sources(tmp_path):
    with pytest.raises(CpnasError, match="no such run directory"):
        as_state(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "events.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(RunDirError, match="no events"):
        as_state(tmp_path / "empty")
    with pytest.raises(CpnasError):
        as_state(42)
    with pytest.raises(CpnasError):
        as_state([1, 2, 3])


def test_running_ev_is_scaled_to_the_ops_sampled_so_far():
    one = replay(simulate(ops=OPS4, nodes=2, stop_after=1))  # one sample: one op per edge
    scores = round_scores(one)
    assert not scores.final
    for per in scores.ev.values():
        assert len(per) == 1 and next(iter(per.values())) == pytest.approx(1 / len(OPS4))
    three = round_scores(replay(simulate(ops=OPS4, nodes=2, stop_after=3)))
    for per in three.ev.values():
        assert sum(per.values()) == pytest.approx(3 / len(OPS4))


def test_progress_before_round_0_is_a_warm_up_phase():
    events = simulate(ops=OPS4, nodes=2, stop_after=0)
    start = next(e for e in events if isinstance(e, ev.SearchStarted))
    state = reduce(reduce(SearchState(), start), ev.Progress(seq=1, round=-1, step=3, steps=10))
    assert state.phase == "warm-up" and (state.step, state.steps) == (3, 10)
    after = reduce(state, ev.RoundStarted(seq=2, round=0, K=4, alive={e: OPS4 for e in state.edges}))
    assert after.phase == "" and after.round == 0


def test_the_genotype_rule_of_the_config_is_used_darts_included():
    state = replay(simulate(ops=OPS4, nodes=2, seed=1))
    darts = dataclasses.replace(state, config={**state.config, "genotype_mode": "darts"})
    assert darts.genotype_mode == "darts"
    assert dataclasses.replace(state, config={}).genotype_mode == "top2"
