import math
import random
from types import SimpleNamespace as NS

import pytest

from cpnas.randomcells import genotype_arch, random_genotypes
from cpnas.signal import (
    decision_stability,
    early_vs_late,
    elimination_rank,
    kendall_tau,
    position_bias,
    run_metrics,
    sample_prune_share,
    survivors_of,
    tau_with_ci,
)
from cpnas.simulate import simulate
from cpnas.space import SearchSpace


def test_kendall_tau_and_its_bootstrap_interval():
    x = list(range(20))
    assert kendall_tau(x, x) == pytest.approx(1.0)
    assert kendall_tau(x, x[::-1]) == pytest.approx(-1.0)
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))
    assert tau_with_ci(x, x).low == pytest.approx(1.0)
    rng = random.Random(0)
    noisy = [v + rng.gauss(0, 6) for v in x]
    ci = tau_with_ci(noisy, x, boot=500)
    assert ci.low <= ci.tau <= ci.high and ci.high - ci.low > 0.1
    assert -1 <= ci.low and ci.high <= 1 and ci.n == 20
    with pytest.raises(ValueError):
        kendall_tau([1, 2], [1])


def _samples(rounds):
    return [NS(round=r, t=0, z=z) for r, zs in enumerate(rounds) for z in zs]


def test_position_bias_only_counts_order_inside_a_round():
    assert position_bias(_samples([[1, 2, 3], [4, 5, 6]])) == pytest.approx(1.0)
    # z rises from round to round but falls inside each: only the within-round trend counts
    assert position_bias(_samples([[3, 2, 1], [6, 5, 4], [9, 8, 7]])) == pytest.approx(-1.0)
    # opposite trends in two rounds cancel when pooled
    assert position_bias(_samples([[1, 2, 3], [3, 2, 1]])) == pytest.approx(0.0)
    assert math.isnan(position_bias(_samples([[1]])))
    # two sweeps of one round, each flat inside, the second higher: a round trend, no sweep trend
    two = [NS(round=0, t=t, z=z) for t, zs in enumerate([[1, 2, 1.5], [5, 4, 4.5]]) for z in zs]
    assert position_bias(two) > 0.5
    assert position_bias(two, within="sweep") == pytest.approx(0.0)


def test_decision_stability_kappa_against_chance():
    a = {"e1": "x", "e2": "y", "e3": "x", "e4": "y"}
    same = decision_stability([a, dict(a)])
    assert same.agreement == 1.0 and same.kappa == pytest.approx(1.0)
    assert same.chance == pytest.approx(0.5) and same.histogram == {"x": 4, "y": 4}
    flipped = decision_stability([a, {e: ("y" if o == "x" else "x") for e, o in a.items()}])
    assert flipped.agreement == 0.0 and flipped.kappa == pytest.approx(-1.0)
    three = decision_stability([a, dict(a), {**a, "e1": "y"}])
    assert 0 < three.kappa < 1
    with pytest.raises(ValueError):
        decision_stability([a])


def test_early_vs_late_and_elimination_rank():
    first = {"e": {"a": 0.1, "b": 0.2, "c": 0.3}}
    assert early_vs_late(first, first) == pytest.approx(1.0)
    pruned = [NS(round=0, edge="e", op="c"), NS(round=1, edge="e", op="b")]
    rank = elimination_rank(pruned, {"e": "a"})
    assert rank == {"e": {"c": 0.0, "b": 1.0, "a": 2.0}}
    assert early_vs_late(first, rank) == pytest.approx(-1.0)


def test_run_metrics_on_a_simulated_search():
    events = simulate(repeats=1, seed=0)
    m = run_metrics(events)
    # T = 1: every op has one z per round, so round 0 prunes the worst sample's ops
    assert m["sample_prune_share"] == 1.0
    assert -1 <= m["position_bias"] <= 1 and -1 <= m["early_vs_late"] <= 1
    assert sample_prune_share(simulate(repeats=3, seed=0)) < 1.0
    surv = survivors_of(events)
    assert len(surv) == 28 and all(isinstance(o, str) for o in surv.values())


def test_genotype_arch_places_the_genotype_on_the_supernet():
    g = random_genotypes(1, seed=0)[0]
    arch = genotype_arch(g, SearchSpace())
    assert len(arch) == 28
    live = {e: o for e, o in arch.items() if o != "none"}
    assert len(live) == 16
    assert arch[f"normal:{g.normal[0][1]}->2"] == g.normal[0][0]
