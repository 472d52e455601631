"""The tidy tables: shapes, columns, and agreement with the events they come from."""

from __future__ import annotations

import math

import pytest

from cpnas import events as ev
from cpnas.frames import (
    ARCH_PREFIX,
    PRUNE_COLUMNS,
    SAMPLE_COLUMNS,
    SCORE_COLUMNS,
    prunes_frame,
    samples_frame,
    scores_frame,
)
from cpnas.scoring import indicator
from cpnas.simulate import simulate

OPS = ["none", "skip_connect", "max_pool_3x3", "sep_conv_3x3"]
NODES, REPEATS, BETA = 2, 3, 0.7


@pytest.fixture(scope="module")
def events() -> list[ev.Event]:
    return simulate(ops=OPS, nodes=NODES, repeats=REPEATS, beta=BETA, seed=11)


@pytest.fixture(scope="module")
def edges(events) -> list[str]:
    return events[0].space["edges"]


def test_samples_frame_has_one_row_per_sample(events, edges) -> None:
    df = samples_frame(events)
    samples = [e for e in events if isinstance(e, ev.SampleTrained)]
    # T * (K + (K-1) + ... + 2) sampled architectures
    assert len(df) == len(samples) == REPEATS * sum(range(2, len(OPS) + 1))
    assert list(df.columns) == [*SAMPLE_COLUMNS, *(ARCH_PREFIX + e for e in edges)]
    assert len(edges) == 2 * sum(range(2, NODES + 2))
    assert df["seq"].tolist() == [e.seq for e in samples]
    assert str(df["seq"].dtype) == "int64" and str(df["z"].dtype) == "float64"
    for row, e in zip(df.itertuples(index=False), samples):
        assert (row.round, row.t, row.s) == (e.round, e.t, e.s)
        assert row.gap == pytest.approx(e.parent_acc - e.child_acc)
        assert row.z == pytest.approx(indicator(e.child_acc, e.parent_acc, BETA))  # Eq. 4.15
    for edge in edges:
        assert df[ARCH_PREFIX + edge].tolist() == [e.arch[edge] for e in samples]


def test_samples_frame_shows_fair_sampling(events, edges) -> None:
    # Within each sweep (round, t), every alive op on every edge is sampled exactly once.
    df = samples_frame(events)
    for (rnd, _t), sweep in df.groupby(["round", "t"]):
        k = len(OPS) - rnd
        assert len(sweep) == k
        for edge in edges:
            assert sweep[ARCH_PREFIX + edge].nunique() == k


def test_scores_frame_matches_round_scored(events, edges) -> None:
    df = scores_frame(events)
    assert list(df.columns) == list(SCORE_COLUMNS)
    rounds = len(OPS) - 1
    assert len(df) == len(edges) * sum(len(OPS) - r for r in range(rounds))
    assert (df["n_samples"] == REPEATS).all()
    sums = df.groupby(["round", "edge"])["ev"].sum()
    assert sums.to_numpy() == pytest.approx(1.0)  # ev is a softmax over the alive ops
    scored = {e.round: e for e in events if isinstance(e, ev.RoundScored)}
    for row in df.itertuples(index=False):
        assert row.zbar == scored[row.round].zbar[row.edge][row.op]
        assert row.ev == scored[row.round].ev[row.edge][row.op]


def test_zbar_is_the_mean_z_of_the_samples(events, edges) -> None:
    samples, scores = samples_frame(events), scores_frame(events)
    edge = edges[3]
    for row in scores[scores["edge"] == edge].itertuples(index=False):
        mine = samples[(samples["round"] == row.round) & (samples[ARCH_PREFIX + edge] == row.op)]
        assert len(mine) == row.n_samples
        assert mine["z"].mean() == pytest.approx(row.zbar)  # Eq. 4.16


def test_prunes_frame_removes_the_lowest_ev(events, edges) -> None:
    df = prunes_frame(events)
    scores = scores_frame(events)
    assert list(df.columns) == list(PRUNE_COLUMNS)
    assert len(df) == len(edges) * (len(OPS) - 1)
    for row in df.itertuples(index=False):
        on_edge = scores[(scores["round"] == row.round) & (scores["edge"] == row.edge)]
        assert row.ev == on_edge["ev"].min()
        assert row.op not in row.alive_after
        assert row.n_alive == len(row.alive_after) == len(OPS) - 1 - row.round
    last = df[df["round"] == len(OPS) - 2]
    assert (last["n_alive"] == 1).all()
    # every op is pruned at most once per edge
    assert not df.duplicated(["edge", "op"]).any()


def test_frames_of_no_events_are_empty_with_their_columns() -> None:
    for fn, cols in ((samples_frame, SAMPLE_COLUMNS), (scores_frame, SCORE_COLUMNS),
                     (prunes_frame, PRUNE_COLUMNS)):
        df = fn([])
        assert df.empty and list(df.columns) == list(cols)


def test_frames_of_a_stopped_run(edges) -> None:
    stopped = simulate(ops=OPS, nodes=NODES, repeats=REPEATS, seed=11, stop_after=5)
    samples = samples_frame(stopped)
    assert len(samples) == 5
    assert list(samples.columns)[len(SAMPLE_COLUMNS):] == [ARCH_PREFIX + e for e in edges]
    assert scores_frame(stopped).empty  # no round finished: nothing scored yet
    assert prunes_frame(stopped).empty


def test_samples_frame_keeps_nan_losses() -> None:
    e = ev.SampleTrained(seq=0, arch={"normal:0->2": "none"}, child_acc=0.5, parent_acc=0.75)
    df = samples_frame([e])
    assert math.isnan(df.loc[0, "child_loss"])
    assert df.loc[0, "gap"] == 0.25
    assert list(df.columns)[-1] == "arch:normal:0->2"  # edges seen in samples when no space
