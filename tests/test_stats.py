"""cpnas.stats: the paired, Holm-corrected comparisons behind every study verdict.

The references are computed here, on fixed data, by independent means (an enumeration of
every sign pattern, Holm's rule written out, scipy's own tests), never recorded floats.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as st

from cpnas.stats import (
    bootstrap_ci,
    compare,
    holm,
    icc_oneway,
    kendall_pairs,
    label,
    minimum_detectable,
    paired_diffs,
    percentile,
    sign_flip_p,
    smallest_p,
)


def _rows(name: str, values, beta=None) -> list[dict]:
    return [{"strategy": name, "beta": beta, "seed": s, "test_acc": v,
             "run_dir": f"searches/{name}{beta}-{s}"} for s, v in enumerate(values)]


def test_the_sign_flip_p_value_is_the_share_of_all_sign_patterns_as_extreme():
    d = [0.03, -0.01, 0.02, 0.05, 0.0, 0.01, -0.02, 0.04, 0.03, 0.01]
    observed = abs(np.mean(d))
    patterns = [abs(np.mean([s * x for s, x in zip(signs, d)]))
                for signs in itertools.product((1, -1), repeat=len(d))]
    expected = sum(p >= observed - 1e-12 for p in patterns) / len(patterns)
    assert sign_flip_p(d) == pytest.approx(expected, abs=1e-12)
    assert sign_flip_p([0.0, 0.0, 0.0]) == 1.0


def test_many_pairs_use_a_seeded_monte_carlo_close_to_the_t_test():
    rng = np.random.default_rng(1)
    d = rng.normal(0.01, 0.03, 50)
    p1, p2 = sign_flip_p(d, seed=3), sign_flip_p(d, seed=3)
    assert p1 == p2  # reproducible
    assert p1 == pytest.approx(st.ttest_1samp(d, 0).pvalue, abs=0.02)


def test_smallest_p_says_when_a_family_cannot_reject():
    assert smallest_p(2) == 0.5 and smallest_p(5) == 0.0625
    rows = _rows("cpnas", [0.8, 0.9], 0.5) + _rows("random", [0.7, 0.8])
    (c,) = compare(rows)
    assert c.n == 2 and c.p is None and c.verdict == "too few seeds"
    assert c.mean_diff == pytest.approx(-0.1)


def test_holm_matches_the_rule_written_out():
    p = [0.01, 0.04, 0.03, 0.005, None]
    adj = holm(p)
    # sorted: 0.005 (x5), 0.01 (x4), 0.03 (x3), 0.04 (x2), monotone, capped at 1; None counts in m
    assert adj[3] == pytest.approx(0.025)
    assert adj[0] == pytest.approx(0.04)
    assert adj[2] == pytest.approx(0.09)
    assert adj[1] == pytest.approx(0.09)
    assert adj[4] is None


def test_only_the_paired_test_sees_a_small_consistent_difference_under_a_large_seed_effect():
    rng = np.random.default_rng(0)
    seed_effect = rng.normal(0.85, 0.05, 20)  # an easy or a hard split moves both strategies
    ref = seed_effect + rng.normal(0, 0.003, 20)
    other = seed_effect + 0.01 + rng.normal(0, 0.003, 20)
    assert st.ttest_ind(other, ref, equal_var=False).pvalue > 0.3  # unpaired: nothing
    rows = _rows("cpnas", ref, 0.5) + _rows("random", other)
    (c,) = compare(rows)
    assert c.n == 20 and c.p < 1e-3 and c.verdict == "beyond noise: better"
    assert c.ci_low > 0 and c.ci_high < 0.02
    assert c.p == pytest.approx(st.ttest_rel(other, ref).pvalue, abs=2e-3)


def test_one_family_is_corrected_together_and_duplicates_are_listed_once():
    rng = np.random.default_rng(5)
    base = rng.normal(0.8, 0.05, 12)
    rows = _rows("cpnas", base, 0.5)
    rows += _rows("cpnas", base - 0.02 + rng.normal(0, 0.01, 12), 1.0)
    rows += [dict(r, strategy="parent-only") for r in rows[-12:]]  # same searches, another name
    rows += _rows("random", base + rng.normal(0, 0.01, 12))
    out = compare(rows)
    assert [c.label for c in out] == ["cpnas β=1", "random"]
    raw = [c.p for c in out]
    assert [c.p_holm for c in out] == holm(raw)
    assert out[0].verdict == "beyond noise: worse"


def test_pairs_are_matched_by_seed_not_by_position():
    rows = _rows("cpnas", [0.5, 0.6, 0.7], 0.5) + [
        {"strategy": "random", "beta": None, "seed": 2, "test_acc": 0.8, "run_dir": "a"},
        {"strategy": "random", "beta": None, "seed": 0, "test_acc": 0.6, "run_dir": "b"},
        {"strategy": "random", "beta": None, "seed": 7, "test_acc": 0.1, "run_dir": "c"},
        {"strategy": "random", "beta": None, "seed": 1, "test_acc": None, "run_dir": "d"}]
    assert paired_diffs(rows, "random") == pytest.approx({0: 0.1, 2: 0.1})
    assert label({"strategy": "cpnas", "beta": -1.0}) == "cpnas β=-1"
    assert label({"strategy": "darts", "beta": None}) == "darts"


def test_the_bootstrap_interval_holds_the_mean_and_narrows_with_seeds():
    rng = np.random.default_rng(2)
    d = rng.normal(0.02, 0.03, 50)
    lo, hi = bootstrap_ci(d)
    assert lo < np.mean(d) < hi
    lo10, hi10 = bootstrap_ci(d[:10])
    assert hi - lo < hi10 - lo10
    assert bootstrap_ci([0.01, 0.01, 0.01]) == (0.01, 0.01)


def test_the_detectable_difference_falls_with_the_square_root_of_the_seeds():
    a, b = minimum_detectable(0.04, 12, m=8), minimum_detectable(0.04, 48, m=8)
    assert 1.8 < a / b < 2.3
    # a power simulation agrees: at that difference the t test at alpha/m rejects ~80%
    rng = np.random.default_rng(0)
    mde = minimum_detectable(0.04, 30, m=4)
    hits = [st.ttest_1samp(rng.normal(mde, 0.04, 30), 0).pvalue < 0.05 / 4 for _ in range(2000)]
    assert 0.75 < np.mean(hits) < 0.85


def test_icc_is_the_architecture_share_of_the_variance():
    rng = np.random.default_rng(3)
    arch = rng.normal(0, 2.0, 400)[:, None]
    table = arch + rng.normal(0, 1.0, (400, 3))  # between 4, within 1: ICC 0.8
    assert icc_oneway(table) == pytest.approx(0.8, abs=0.05)
    assert icc_oneway(rng.normal(0, 1, (400, 3))) == pytest.approx(0.0, abs=0.05)


def test_kendall_pairs_and_the_sparse_ties():
    table = [[0.90, 0.91, 0.90], [0.80, 0.81, 0.82], [0.70, 0.69, 0.71]]
    assert kendall_pairs(table) == pytest.approx([1.0, 1.0, 1.0])
    near = [[0.9000, 0.9001], [0.9001, 0.9000], [0.5, 0.5]]
    assert kendall_pairs(near)[0] < kendall_pairs(near, resolution=1 / 360)[0] == pytest.approx(1.0)
    assert percentile(0.85, [0.7, 0.8, 0.85, 0.9]) == pytest.approx(62.5)
    assert math.isnan(percentile(0.5, []))
