"""The search strategies: random genotypes under the DARTS rule, the strategy key, and real
(tiny) searches with each strategy, whose events the existing views render."""

from __future__ import annotations

import hashlib
import json
import math
import random

import pytest
from eventcmp import stop_then_resume

from cpnas import events as ev
from cpnas.config import LEGACY, SearchConfig, run_id_fields
from cpnas.engine import run_id_of, search
from cpnas.errors import ConfigError
from cpnas.genotype import parse_genotype
from cpnas.randomcells import genotype_arch
from cpnas.randomcells import random_genotype as draw
from cpnas.scoring import softmax
from cpnas.space import SearchSpace, edge_id
from cpnas.strategies import NAMED_BETAS, STRATEGIES

TINY = {"data": "digits", "ops": ("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3"),
        "nodes": 2, "cells": 2, "channels": 4, "sample_steps": 1, "batch_size": 32, "seed": 3,
        "repeats": 1, "warmup_steps": 0}
KINDS = {"SearchStarted", "RoundStarted", "Progress", "SampleStarted", "SampleTrained", "Checkpointed",
         "RoundScored", "OpPruned", "GenotypeDerived", "SearchFinished"}


# -- random genotypes (cpnas.randomcells, shared with the signal benchmark) ---------------------


def random_genotype(rng, space):
    return draw(rng, space.ops, space.nodes)


@pytest.mark.parametrize("ops,nodes", [(SearchSpace().ops, 4), (TINY["ops"], 2), (TINY["ops"], 1)])
def test_random_genotypes_are_valid_and_distinct(ops, nodes):
    space = SearchSpace(ops=ops, nodes=nodes)
    rng = random.Random(0)
    drawn = [random_genotype(rng, space) for _ in range(40)]
    for g in drawn:
        assert parse_genotype(str(g)) == g  # a genotype the parser accepts, unchanged
        for cell in ("normal", "reduce"):
            assert g.arity(cell) == (2,) * nodes  # the DARTS rule: two inputs per node
            for j, ins in enumerate(g.nodes(cell)):
                srcs = [src for _, src in ins]
                assert len(set(srcs)) == 2 and all(0 <= s < j + 2 for s in srcs)
                assert all(op in ops and op != "none" for op, _ in ins)
            assert list(getattr(g, f"{cell}_concat")) == list(range(2, nodes + 2))
    distinct = len({str(g) for g in drawn})
    assert distinct == 40 if nodes > 1 else distinct > 20  # 1 node: only 3^4 cells exist


def test_random_genotypes_follow_the_seed():
    space = SearchSpace()
    a = [random_genotype(random.Random(5), space) for _ in range(2)]
    b = [random_genotype(random.Random(5), space) for _ in range(2)]
    assert a == b and a[0] != random_genotype(random.Random(6), space)


def test_genotype_arch_runs_the_genotype_and_nothing_else():
    space = SearchSpace(ops=TINY["ops"], nodes=2)
    g = random_genotype(random.Random(1), space)
    arch = genotype_arch(g, space)
    assert set(arch) == set(space.edges)
    on = {edge_id(c, s, d): op for c in ("normal", "reduce") for op, s, d in g.edges(c)}
    assert {e: op for e, op in arch.items() if op != "none"} == on


# -- the config key ---------------------------------------------------------------------------


def test_strategy_key_is_checked_and_old_run_ids_stay():
    assert SearchConfig().strategy == "cpnas" and LEGACY["strategy"] == "cpnas"
    with pytest.raises(ConfigError, match="strategy"):
        SearchConfig(strategy="bnas")
    for name in NAMED_BETAS:  # study names, not config values
        with pytest.raises(ConfigError, match="strategy"):
            SearchConfig(strategy=name)
    stored = SearchConfig().to_dict()  # what a release without the key stored
    del stored["strategy"]
    assert SearchConfig.from_dict(stored).strategy == "cpnas"
    fields = run_id_fields(stored)  # LEGACY keys out, renamed keys as then spelled
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]
    assert run_id_of(SearchConfig()) == digest  # the id such a release gave the run
    ids = {run_id_of(SearchConfig(strategy=s)) for s in STRATEGIES}
    assert len(ids) == len(STRATEGIES)


# -- real tiny searches -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("strategies")
    return {s: search(SearchConfig(strategy=s, **TINY), out=root / s) for s in STRATEGIES}


@pytest.mark.slow
def test_every_strategy_completes_with_the_same_event_kinds(runs):
    cfg = SearchConfig(**TINY)
    for name, res in runs.items():
        assert res.status == "completed", name
        kinds = {e.type for e in res.events}
        assert kinds <= KINDS, name
        assert parse_genotype(str(res.genotype)) == res.genotype
        derived = [e for e in res.events if isinstance(e, ev.GenotypeDerived)]
        assert len(derived) == 1 and derived[0].genotype == str(res.genotype)
        n = len(res.samples)
        assert n == (0 if name == "random-pick" else cfg.n_samples), name  # one budget
        if n:
            assert {e.type for e in res.events} >= {"RoundStarted", "SampleTrained", "RoundScored"}


@pytest.mark.slow
def test_random_search_keeps_a_scored_candidate(runs):
    res = runs["random"]
    scored = [e for e in res.events if isinstance(e, ev.RoundScored)]
    assert len(scored) == 1
    arch = genotype_arch(res.genotype, SearchConfig(**TINY).space)
    for e, op in arch.items():  # the kept cell's ops were among the scored candidates
        assert op in scored[0].zbar[e]
    assert res.genotype != runs["random-pick"].genotype


@pytest.mark.slow
def test_darts_scores_are_the_softmax_of_its_weights(runs):
    res = runs["darts"]
    scored = [e for e in res.events if isinstance(e, ev.RoundScored)]
    assert [e.round for e in scored] == list(range(len(TINY["ops"]) - 1))
    for e in scored:
        for edge, alpha in e.zbar.items():
            want = softmax(alpha)
            assert all(math.isclose(e.ev[edge][o], want[o], rel_tol=1e-6) for o in alpha)
    assert not [e for e in res.events if isinstance(e, ev.OpPruned)]  # DARTS keeps every op
    for e in res.samples:  # no parent: its fields repeat the child's, z is the child's accuracy
        assert e.parent_acc == e.child_acc == e.z and e.parent_loss == e.child_loss
    derived = [e for e in res.events if isinstance(e, ev.GenotypeDerived)][0]
    last = scored[-1]
    for edge, info in derived.edges.items():  # the best op other than none, by weight
        best = max((o for o in last.ev[edge] if o != "none"), key=last.ev[edge].get)
        assert info["op"] == best


@pytest.mark.slow
def test_darts_events_render_in_the_existing_views(runs, tmp_path):
    pytest.importorskip("plotly")
    from cpviz import (
        as_state,
        cell_graph,
        cell_pair,
        heatmap_data,
        indicator_heatmap,
        pruning_timeline,
        timeline_data,
        write_report,
    )

    state = as_state(runs["darts"].out)
    last = max(state.scores)
    data = heatmap_data(state, "ev", round=last)
    for row in data.cells:  # the heatmap shows softmax(alpha), no op masked
        for c in row:
            assert not c.masked
            assert math.isclose(c.value, state.scores[last].ev[c.edge][c.op], rel_tol=1e-9)
    assert len(indicator_heatmap(state).data) >= 1
    spans = timeline_data(state).spans
    assert spans and all(s.status == "alive" for s in spans)
    assert len(pruning_timeline(state).data) >= 1
    for cell in ("normal", "reduce"):
        assert "digraph" in cell_graph(state, cell).source
    assert "digraph" in cell_pair(runs["darts"].genotype).source
    page = write_report(runs["darts"].out, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Indicator heatmap" in page and page.count("<svg") >= 2


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["darts", "random"])
def test_a_stopped_search_resumes_to_the_same_result(strategy, runs, tmp_path):
    cfg = SearchConfig(strategy=strategy, **TINY)
    resumed = stop_then_resume(cfg, tmp_path / "run",
                               lambda e: isinstance(e, ev.SampleTrained) and e.s == 2)
    assert resumed.genotype == runs[strategy].genotype
    strip = [e.without_time() for e in runs[strategy].events if e.type != "Checkpointed"]
    again = [e.without_time() for e in resumed.events if e.type != "Checkpointed"]
    for e in strip + again:
        for key in ("run_id", "seq", "path", "resumed"):  # resumed: the resumed stream says so
            e.pop(key, None)
    def text(events):  # as JSON text, so floats compare exactly as written
        return [json.dumps(e, sort_keys=True) for e in events if e["type"] != "SearchFinished"]

    assert text(again) == text(strip)
