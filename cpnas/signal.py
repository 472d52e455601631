"""Signal metrics: does the search's indicator rank architectures, and how well?

Torch-free (numpy and scipy). Four measures, after the one-shot literature (SPOS; Ning et
al. 2020, "A Surgery of the Neural Architecture Evaluators") and issue 10:

- :func:`tau_with_ci`: Kendall tau (tau-b) between an evaluator's scores and stand-alone
  accuracies, with a percentile bootstrap confidence interval over architectures.
- :func:`position_bias`: pooled within-round rank correlation between z and the sample's
  position in its round (pruning compares ops inside one round, so a trend there biases it).
- :func:`decision_stability`: agreement of per-edge survivors across searches with
  different seeds, as a kappa against chance from the survivors' op frequencies.
- :func:`early_vs_late`: Kendall tau between the round-0 ranking of every edge's ops and the
  final ranking (the book's p.100 claim), to be read against a control that never prunes.

:func:`run_metrics` computes the run-based ones from a finished run's events.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall tau-b (ties counted as scipy does); nan when either side is constant."""
    from scipy.stats import kendalltau

    if len(x) != len(y):
        raise ValueError(f"kendall_tau: {len(x)} scores against {len(y)}")
    if len(x) < 2:
        return math.nan
    return float(kendalltau(x, y).statistic)


@dataclass(frozen=True)
class TauCI:
    tau: float
    low: float
    high: float
    n: int
    level: float = 0.95

    def __str__(self) -> str:
        return f"{self.tau:+.2f} [{self.low:+.2f}, {self.high:+.2f}] (n={self.n})"


def tau_with_ci(scores: Sequence[float], truth: Sequence[float], boot: int = 2000,
                seed: int = 0, level: float = 0.95) -> TauCI:
    """Kendall tau and its percentile bootstrap CI (architectures resampled with replacement)."""
    n = len(scores)
    tau = kendall_tau(scores, truth)
    rng = random.Random(seed)
    taus = []
    for _ in range(boot):
        idx = [rng.randrange(n) for _ in range(n)]
        t = kendall_tau([scores[i] for i in idx], [truth[i] for i in idx])
        if not math.isnan(t):
            taus.append(t)
    taus.sort()
    if not taus:
        return TauCI(tau, math.nan, math.nan, n, level)
    lo = taus[int((1 - level) / 2 * (len(taus) - 1))]
    hi = taus[int((1 + level) / 2 * (len(taus) - 1))]
    return TauCI(tau, lo, hi, n, level)


def _centered_ranks(values: Sequence[float]) -> list[float]:
    from scipy.stats import rankdata

    r = rankdata(values)
    m = float(r.mean())
    return [float(v) - m for v in r]


def position_bias(samples: Iterable, within: str = "round") -> float:
    """Pooled within-round Spearman rho between z and the sample's position in its round.

    ``samples`` are SampleTrained events (or anything with ``round``, ``t`` and ``z``) in
    the order they ran. Ranks are taken inside each round and centred, then pooled, so the
    training-time trend *across* rounds does not count; only a trend inside one round,
    where pruning compares ops, does. ``within="sweep"`` ranks inside each sweep instead:
    every op has one sample per sweep, so a trend from sweep to sweep shifts every op alike
    and only a trend inside a sweep can bias the prune. nan when no group has two samples.
    """
    by_round: dict[tuple, list[float]] = {}
    for s in samples:
        key = (s.round,) if within == "round" else (s.round, s.t)
        by_round.setdefault(key, []).append(float(s.z))
    num = sz = sp = 0.0
    for zs in by_round.values():
        if len(zs) < 2:
            continue
        rz, rp = _centered_ranks(zs), _centered_ranks(range(len(zs)))
        num += sum(a * b for a, b in zip(rz, rp))
        sz += sum(a * a for a in rz)
        sp += sum(b * b for b in rp)
    return num / math.sqrt(sz * sp) if sz > 0 and sp > 0 else math.nan


@dataclass(frozen=True)
class Stability:
    agreement: float  # share of (edge, pair of searches) with the same survivor
    chance: float  # the agreement expected from the survivors' op frequencies alone
    kappa: float  # (agreement - chance) / (1 - chance)
    histogram: dict[str, int]  # surviving ops over every search and edge


def decision_stability(survivors: Sequence[Mapping[str, str]]) -> Stability:
    """Per-edge survivor agreement across searches, as a kappa against chance.

    Cohen's kappa for two searches, averaged over every pair for more; chance is computed
    from the pooled frequencies of the surviving ops (so it is Scott's pi / Fleiss' kappa:
    one op distribution for every search, since the searches are exchangeable).
    """
    if len(survivors) < 2:
        raise ValueError("decision_stability: give the survivors of at least two searches")
    edges = sorted(survivors[0])
    hist = Counter(s[e] for s in survivors for e in edges)
    total = sum(hist.values())
    chance = sum((c / total) ** 2 for c in hist.values())
    pairs = [(a, b) for i, a in enumerate(survivors) for b in survivors[i + 1:]]
    agree = statistics.fmean(sum(a[e] == b[e] for e in edges) / len(edges) for a, b in pairs)
    kappa = (agree - chance) / (1 - chance) if chance < 1 else math.nan
    return Stability(agree, chance, kappa, dict(hist.most_common()))


def early_vs_late(first: Mapping[str, Mapping[str, float]],
                  last: Mapping[str, Mapping[str, float]]) -> float:
    """Mean over edges of Kendall tau between two rankings of the same ops on each edge.

    ``first`` is round 0's zbar per edge and op; ``last`` is the final ranking: for a pruning
    search :func:`elimination_rank` (later pruned = better), for the no-pruning control the
    last round's zbar. Edges whose ranking is constant on either side are skipped.
    """
    taus = []
    for e, scores in first.items():
        ops = [o for o in scores if o in last.get(e, {})]
        t = kendall_tau([scores[o] for o in ops], [last[e][o] for o in ops])
        if not math.isnan(t):
            taus.append(t)
    return statistics.fmean(taus) if taus else math.nan


def elimination_rank(pruned: Iterable, survivors: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """Per edge, each op's final rank from OpPruned events: the round it was pruned in
    (0 = first out), the survivor one past the last round."""
    out: dict[str, dict[str, float]] = {}
    for p in pruned:
        out.setdefault(p.edge, {})[p.op] = float(p.round)
    for e, op in survivors.items():
        out.setdefault(e, {})[op] = float(len(out[e]))
    return out


def sample_prune_share(events: Sequence) -> float:
    """Share of edges whose round-0 pruned op sat in the round's worst-z sample.

    1.0 means round 0 dropped one sampled architecture, not per-op evidence (T = 1).
    """
    from .events import OpPruned, SampleTrained

    r0 = [e for e in events if isinstance(e, SampleTrained) and e.round == 0]
    pruned = [e for e in events if isinstance(e, OpPruned) and e.round == 0]
    if not r0 or not pruned:
        return math.nan
    worst = min(r0, key=lambda s: s.z).arch
    return sum(worst.get(p.edge) == p.op for p in pruned) / len(pruned)


def run_metrics(events: Sequence) -> dict[str, float]:
    """The run-based metrics of one finished (or partial) search, from its events."""
    from .events import OpPruned, RoundScored, SampleTrained

    samples = [e for e in events if isinstance(e, SampleTrained)]
    scored = [e for e in events if isinstance(e, RoundScored)]
    pruned = [e for e in events if isinstance(e, OpPruned)]
    out = {"position_bias": position_bias(samples),
           "position_bias_sweep": position_bias(samples, within="sweep"),
           "sample_prune_share": sample_prune_share(events),
           "early_vs_late": math.nan}
    if scored and pruned:
        alive: dict[str, set[str]] = {}
        for p in pruned:
            alive.setdefault(p.edge, set(scored[0].zbar[p.edge])).discard(p.op)
        if all(len(v) == 1 for v in alive.values()):
            survivors = {e: next(iter(v)) for e, v in alive.items()}
            out["early_vs_late"] = early_vs_late(scored[0].zbar, elimination_rank(pruned, survivors))
    return out


def survivors_of(events: Sequence) -> dict[str, str]:
    """Each edge's surviving op in a finished run (its last OpPruned ``alive``)."""
    from .events import OpPruned

    out: dict[str, str] = {}
    for p in events:
        if isinstance(p, OpPruned) and len(p.alive) == 1:
            out[p.edge] = p.alive[0]
    return out
