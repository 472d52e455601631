"""cpnas.scoring: the one implementation of the indicator, the round scores, the prune choice,
the survivor ranking, the leading genotype, the last-round accuracy, the sample count and
the cell layout."""

from __future__ import annotations

import math
import subprocess
import sys
from types import SimpleNamespace as S

import pytest

from cpnas import scoring
from cpnas.errors import GenotypeError


def test_scoring_imports_without_torch():
    code = "import sys, cpnas.scoring; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_indicator_is_equation_4_15():
    assert scoring.indicator(0.4, 0.9, 0.0) == 0.4  # the child alone
    assert scoring.indicator(0.4, 0.9, 1.0) == 0.9  # the parent alone
    assert scoring.indicator(0.4, 0.9, -1.0) == pytest.approx(-0.1)  # penalises the gap


def test_round_scores_are_the_mean_and_its_softmax():
    zs = {"normal:0->2": {"a": [0.2, 0.4], "b": [0.5], "c": []}, "normal:1->2": {"a": []}}
    zbar, ev = scoring.round_scores(zs)
    assert zbar == {"normal:0->2": {"a": pytest.approx(0.3), "b": 0.5}}  # unsampled left out
    e = ev["normal:0->2"]
    assert sum(e.values()) == pytest.approx(1.0)
    assert e["b"] / e["a"] == pytest.approx(math.exp(0.5 - 0.3))


def test_softmax_does_not_overflow():
    assert scoring.softmax({"a": 1000.0, "b": 1000.0}) == {"a": 0.5, "b": 0.5}


def test_prune_choice_is_argmin_and_ties_go_to_the_first_alive():
    assert scoring.prune_choice({"a": 0.3, "b": 0.1, "c": 0.6}, ["a", "b", "c"]) == "b"
    assert scoring.prune_choice({"a": 0.2, "b": 0.2}, ["b", "a"]) == "b"
    assert scoring.prune_choice({"a": 0.2, "b": 0.2}, ["a", "b"]) == "a"


def test_survivor_scores_average_every_sample_that_ran_the_survivor():
    samples = [S(arch={"e1": "a", "e2": "x"}, z=0.2), S(arch={"e1": "b", "e2": "x"}, z=0.6),
               S(arch={"e1": "a", "e2": "y"}, z=0.4)]
    got = scoring.survivor_scores(samples, {"e1": "a", "e2": "x", "e3": "z"})
    assert got["e1"] == pytest.approx(0.3) and got["e2"] == pytest.approx(0.4)
    assert math.isnan(got["e3"])


def test_leaders_take_the_best_alive_op():
    ev = {"e": {"a": 0.5, "b": 0.3, "c": 0.2}, "f": {"a": 0.1}}
    assert scoring.leaders(ev, {"e": ["b", "c"], "f": ["b"], "g": ["a"]}) == {"e": "b"}


def test_leading_genotype_keeps_the_leaders_ranked_by_search_wide_zbar():
    ev = {"normal:0->2": {"conv": 0.6, "none": 0.4}, "normal:1->2": {"skip": 0.7},
          "reduce:0->2": {"pool": 1.0}, "reduce:1->2": {"none": 1.0}}
    alive = {e: list(per) for e, per in ev.items()}
    samples = [S(arch={"normal:0->2": "conv", "normal:1->2": "skip", "reduce:0->2": "pool",
                       "reduce:1->2": "none"}, z=0.5)]
    geno = scoring.leading_genotype(samples, ev, alive, nodes=1)
    assert list(geno.edges("normal")) == [("conv", 0, 2), ("skip", 1, 2)]
    assert list(geno.edges("reduce")) == [("pool", 0, 2)]
    with pytest.raises(GenotypeError):
        scoring.leading_genotype(samples, {e: {"none": 1.0} for e in ev}, alive, nodes=1)


def test_last_round_accuracy_means_the_last_round_sampled():
    samples = [S(round=0, child_acc=0.1, parent_acc=0.2), S(round=1, child_acc=0.3, parent_acc=0.5),
               S(round=1, child_acc=0.5, parent_acc=0.7)]
    assert scoring.last_round_accuracy(samples) == pytest.approx((0.4, 0.6))
    assert scoring.last_round_accuracy([]) == (None, None)


def test_prune_line_says_a_round_in_words():
    from types import SimpleNamespace as P

    prunes = [P(round=2, edge=f"normal:{i}->5", op=op) for i, op in
              enumerate(["avg_pool_3x3"] * 3 + ["max_pool_3x3"] * 2 + ["none"])]
    assert scoring.prune_line(2, prunes) == (
        "Round 3: avg_pool_3x3 pruned on 3 edges, max_pool_3x3 on 2, none on 1 "
        "(each edge drops its alive op with the lowest ev)")
    assert scoring.prune_line(0, prunes[-1:]).startswith("Round 1: none pruned on 1 edge ")
    assert scoring.prune_line(4, []) == "Round 5: nothing pruned"
    later = [P(round=0, edge="normal:0->2", op="none"), *prunes]
    assert [line[:8] for line in scoring.prune_lines(later)] == ["Round 1:", "Round 3:"]
