"""Paired, corrected comparisons of a study's strategies (docs/study.md "How a verdict is made").

Torch-free; numpy and scipy. One function, :func:`compare`, makes every verdict that
``study.html``, notebook 06 and ``benchmarks/study_table.py`` show:

- **Paired by seed.** In a study a seed fixes the data split, the search's seed and the final
  training's seed for every strategy alike (``cpnas.study``), so two strategies are compared
  on their per-seed *differences*, which removes what the seed does to both (an easy split, a
  lucky initialisation) from the noise.
- **The estimate** is the mean paired difference (other minus reference) with a bootstrap 95%
  confidence interval (BCa; percentile where BCa cannot be computed, e.g. all differences
  equal).
- **The test** is a two-sided paired permutation test (sign flips of the differences) on their
  mean: exact up to 2**16 sign patterns, Monte Carlo with a fixed seed beyond.
- **One family.** Every comparison shown (every other strategy and every other beta_P against
  the reference) is corrected together by Holm's step-down method; "beyond noise" only where
  the corrected p-value is under alpha.
- **Too few seeds.** With n pairs the smallest p-value a sign-flip test can give is 2 / 2**n;
  where that cannot get under Holm's first threshold (alpha / m), no p-value is printed and
  the comparison says so (quick mode's two seeds).

:func:`minimum_detectable` gives the smallest true difference a design detects with a given
power, for the "if nothing separates" sentence; :func:`icc_oneway` and :func:`kendall_pairs`
measure how well a data set separates architectures (benchmarks/groundtruth.py).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ALPHA = 0.05
EXACT_UP_TO = 16  # pairs: 2**16 sign patterns are enumerated; beyond, Monte Carlo
N_RESAMPLES = 20_000
REFERENCE = "cpnas β=0.5"  # the default beta_P: the row every other is compared with


def label(row: dict) -> str:
    """A study row's group: the strategy, with its beta_P where the strategy sweeps it."""
    from .study import SWEPT

    if row["strategy"] in SWEPT and row.get("beta") is not None:
        return f"{row['strategy']} β={float(row['beta']):g}"
    return row["strategy"]


@dataclass(frozen=True)
class Comparison:
    """One strategy (``label``) against the reference, on the seeds both have."""

    label: str
    reference: str
    n: int  # paired seeds
    mean_diff: float  # mean over seeds of (label - reference), in the metric's units
    ci_low: float  # bootstrap 95% CI of mean_diff
    ci_high: float
    p: float | None  # paired permutation test, two-sided; None: too few seeds for the family
    p_holm: float | None  # Holm-corrected over the family
    verdict: str  # "beyond noise: better", "beyond noise: worse", "within noise", "too few seeds"
    sd_diff: float = math.nan  # sample std of the paired differences

    @property
    def beyond_noise(self) -> bool:
        return self.verdict.startswith("beyond")


def paired_diffs(rows: Iterable[dict], other: str, reference: str = REFERENCE,
                 metric: str = "test_acc") -> dict[int, float]:
    """seed -> (other - reference) for every seed where both rows have the metric."""
    by: dict[str, dict[int, float]] = {}
    for r in rows:
        v = r.get(metric)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        by.setdefault(label(r), {})[int(r["seed"])] = float(v)
    a, b = by.get(other, {}), by.get(reference, {})
    return {s: a[s] - b[s] for s in sorted(set(a) & set(b))}


def sign_flip_p(diffs: Sequence[float], seed: int = 0) -> float:
    """Two-sided paired permutation test of mean(diffs) = 0 (scipy's sign flips)."""
    import numpy as np
    from scipy import stats

    d = np.asarray(diffs, dtype=float)
    if len(d) == 0:
        return math.nan
    if not np.any(d):
        return 1.0
    n_resamples = np.inf if len(d) <= EXACT_UP_TO else N_RESAMPLES
    res = stats.permutation_test((d,), np.mean, permutation_type="samples",
                                 n_resamples=n_resamples, alternative="two-sided",
                                 random_state=np.random.default_rng(seed))
    return float(min(1.0, res.pvalue))


def smallest_p(n: int) -> float:
    """The smallest two-sided p-value a sign-flip test on n pairs can give."""
    return 1.0 if n < 1 else min(1.0, 2.0 / 2.0 ** n)


def bootstrap_ci(diffs: Sequence[float], seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Bootstrap CI of the mean (BCa; percentile where BCa is undefined)."""
    import warnings

    import numpy as np
    from scipy import stats

    d = np.asarray(diffs, dtype=float)
    if len(d) < 2:
        return (math.nan, math.nan)
    if np.all(d == d[0]):
        return (float(d[0]), float(d[0]))
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.bootstrap((d,), np.mean, confidence_level=level, n_resamples=10_000,
                                  method=method, random_state=np.random.default_rng(seed))
        lo, hi = res.confidence_interval
        if math.isfinite(lo) and math.isfinite(hi):
            return (float(lo), float(hi))
    return (math.nan, math.nan)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values over the whole list (None stays None but counts in
    the family: a comparison shown is a comparison made)."""
    m = len(pvalues)
    order = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    out: list[float | None] = [None] * m
    running = 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def search_sets(rows: Iterable[dict]) -> list[tuple[str, tuple[str, ...]]]:
    """The rows' labels grouped by the searches they name, in the rows' order: (the label kept,
    every label of those searches). Two names for one set of searches (``child-only`` and
    ``cpnas β=0``: the same configs) are one group, kept under the swept ``cpnas`` name."""
    runs: dict[str, set] = {}
    for r in rows:
        runs.setdefault(label(r), set()).add(r.get("run_dir") or (label(r), r["seed"]))
    by_set: dict[frozenset, list[str]] = {}
    for name, rs in runs.items():
        by_set.setdefault(frozenset(rs), []).append(name)
    return [(next((n for n in names if n.startswith("cpnas")), names[0]), tuple(names))
            for names in by_set.values()]


def compare(rows: Iterable[dict], reference: str = REFERENCE, metric: str = "test_acc",
            others: Sequence[str] | None = None, alpha: float = ALPHA,
            seed: int = 0) -> list[Comparison]:
    """Every other group of ``rows`` against ``reference``: paired by seed, one Holm family.

    ``rows`` are ``results.csv`` rows (:func:`cpnas.study.read_results`). ``others`` picks and
    orders the comparisons (default: every other label, in the order the rows list them, a
    label whose searches are exactly the reference's, such as ``child-only`` beside ``cpnas
    β=0``, listed once). Returns [] when no row carries the reference.
    """
    rows = list(rows)
    sets = search_sets(rows)
    if not any(reference in names for _, names in sets):
        return []
    reference = next(kept for kept, names in sets if reference in names)
    if others is None:
        others = [kept for kept, _ in sets if kept != reference]
    m = len(others)
    raw = []
    for name in others:
        d = list(paired_diffs(rows, name, reference, metric).values())
        usable = len(d) >= 2 and smallest_p(len(d)) <= alpha / max(m, 1)
        raw.append((name, d, sign_flip_p(d, seed) if usable else None))
    adjusted = holm([p for _, _, p in raw])
    out = []
    for (name, d, p), ph in zip(raw, adjusted):
        mean = sum(d) / len(d) if d else math.nan
        lo, hi = bootstrap_ci(d, seed)
        if p is None:
            verdict = "too few seeds"
        elif ph is not None and ph < alpha:
            verdict = "beyond noise: better" if mean > 0 else "beyond noise: worse"
        else:
            verdict = "within noise"
        sd = statistics.stdev(d) if len(d) > 1 else math.nan
        out.append(Comparison(name, reference, len(d), mean, lo, hi, p, ph, verdict, sd))
    return out


def minimum_detectable(sd_diff: float, n: int, alpha: float = ALPHA, m: int = 1,
                       power: float = 0.8) -> float:
    """The smallest true mean paired difference that a two-sided test at alpha / m (Holm's
    first, strictest threshold) detects with ``power``, for differences of std ``sd_diff``
    over ``n`` seeds (the paired t approximation: (t_{1-a/2} + t_power) * sd / sqrt(n))."""
    from scipy import stats

    if n < 2 or not math.isfinite(sd_diff):
        return math.nan
    a = alpha / m
    return float((stats.t.ppf(1 - a / 2, n - 1) + stats.t.ppf(power, n - 1)) * sd_diff / math.sqrt(n))


def icc_oneway(table: Sequence[Sequence[float]]) -> float:
    """ICC(1): the share of the variance that is between rows (architectures) rather than
    within them (seeds), from a one-way random-effects ANOVA over a full table (rows x seeds)."""
    import numpy as np

    x = np.asarray(table, dtype=float)
    n, k = x.shape
    if n < 2 or k < 2:
        return math.nan
    grand = x.mean()
    msb = k * ((x.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    msw = ((x - x.mean(axis=1, keepdims=True)) ** 2).sum() / (n * (k - 1))
    return float((msb - msw) / (msb + (k - 1) * msw))


def kendall_pairs(table: Sequence[Sequence[float]], resolution: float | None = None) -> list[float]:
    """Kendall's tau-b between every pair of seed columns of ``table`` (rows x seeds). With
    ``resolution``, values are first rounded to multiples of it, so differences smaller than
    one test image count as ties (the sparse Kendall tau of Ning et al. 2020)."""
    import numpy as np
    from scipy import stats

    x = np.asarray(table, dtype=float)
    if resolution:
        x = np.round(x / resolution) * resolution
    out = []
    for i in range(x.shape[1]):
        for j in range(i + 1, x.shape[1]):
            out.append(float(stats.kendalltau(x[:, i], x[:, j]).statistic))
    return out


def percentile(value: float, population: Sequence[float]) -> float:
    """Share (%) of ``population`` strictly below ``value``, ties counted half."""
    pop = list(population)
    if not pop:
        return math.nan
    below = sum(p < value for p in pop) + 0.5 * sum(p == value for p in pop)
    return 100.0 * below / len(pop)


__all__ = ["ALPHA", "REFERENCE", "Comparison", "bootstrap_ci", "compare", "holm", "icc_oneway",
           "kendall_pairs", "label", "minimum_detectable", "paired_diffs", "percentile",
           "search_sets", "sign_flip_p", "smallest_p"]
