"""How CP-NAS scores, prunes and ranks: the one place every caller asks (torch-free).

The loop (:mod:`cpnas.loop`), the engine, the config, the networks and every viewer in
cpviz (state, dashboard, animation, summary) and the notebooks call these functions; none
keeps its own copy. Plain Python only, so a viewer can import it without torch.

- :func:`indicator`: z of one sample (Eq. 4.15).
- :func:`round_scores`: zbar (Eq. 4.16) and its softmax ev, per edge, of one round.
- :func:`prune_choice`: the op a round prunes on one edge (argmin ev).
- :func:`survivor_scores`: search-wide zbar, what the genotype ranks survivors by.
- :func:`edge_strengths` and :func:`darts_genotype`: the DARTS genotype rule (every node
  keeps its two strongest edges, each with its best op other than ``none``).
- :func:`leaders` and :func:`leading_genotype`: the cell a search stopped now would give.
- :func:`last_round_accuracy`: mean child and parent accuracy of the last round sampled.
- :func:`prune_line` and :func:`prune_lines`: what a round pruned, in words (every view's).
- :func:`n_samples`: how many architectures a whole search samples.

Samples are anything with ``arch`` (edge -> op), ``z``, ``round``, ``child_acc`` and
``parent_acc``: :class:`cpnas.events.SampleTrained` in practice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .genotype import Genotype, derive_genotype
from .space import CELL_TYPES, parse_edge_id

if TYPE_CHECKING:  # pragma: no cover
    from .events import SampleTrained

EdgeScores = dict[str, dict[str, float]]  # edge id -> op -> score


def indicator(child_acc: float, parent_acc: float, beta: float) -> float:
    """Eq. 4.15, as printed: z = beta_P * (A_P - A_C) + A_C."""
    return beta * (parent_acc - child_acc) + child_acc


def softmax(values: Mapping[str, float]) -> dict[str, float]:
    """Softmax over one edge's ops (shifted by the max, so large z's do not overflow)."""
    m = max(values.values())
    exps = {k: math.exp(v - m) for k, v in values.items()}
    total = sum(exps.values())
    return {k: e / total for k, e in exps.items()}


def round_scores(zs: Mapping[str, Mapping[str, Sequence[float]]]) -> tuple[EdgeScores, EdgeScores]:
    """(zbar, ev) of one round from its z's per edge and op.

    zbar is the mean z of each op over the round's sweeps (Eq. 4.16); ev is the softmax of
    zbar over the ops of the edge that have a z. Ops without a z yet are left out, so a
    round in progress scores what it has sampled so far; edges without any are left out.
    """
    zbar = {e: {o: sum(v) / len(v) for o, v in per.items() if v} for e, per in zs.items()}
    zbar = {e: per for e, per in zbar.items() if per}
    return zbar, {e: softmax(per) for e, per in zbar.items()}


def round_zs(samples: Iterable[SampleTrained]) -> dict[str, dict[str, list[float]]]:
    """The z's of ``samples`` per edge and op (every op a sample ran gets its z)."""
    zs: dict[str, dict[str, list[float]]] = {}
    for sample in samples:
        for edge, op in sample.arch.items():
            zs.setdefault(edge, {}).setdefault(op, []).append(sample.z)
    return zs


def prune_choice(ev_edge: Mapping[str, float], alive: Sequence[str]) -> str:
    """The op one edge loses this round: the alive op with the lowest ev.

    Ties go to the op listed first in ``alive`` (the edge's alive order, which is the
    search's op order with the pruned ops removed), so a tie is decided the same way on
    every run and every resume.
    """
    return min(alive, key=lambda op: ev_edge[op])


def survivor_scores(samples: Iterable[SampleTrained], survivors: Mapping[str, str]) -> dict[str, float]:
    """Search-wide zbar of each survivor: the mean z of every sample that ran it on its edge.

    The genotype ranks edges by this, not by the last round's ev: with T = 1 the last round
    has two samples that cover every edge, so every survivor ends with the same ev and a
    ranking by it would be decided by the tie-break alone (docs/method.md). NaN for a
    survivor no sample ran.
    """
    sums = {e: [0.0, 0] for e in survivors}
    for sample in samples:
        for e, op in sample.arch.items():
            if survivors.get(e) == op:
                sums[e][0] += sample.z
                sums[e][1] += 1
    return {e: (total / n if n else math.nan) for e, (total, n) in sums.items()}


# How each genotype rule (config ``genotype_mode``) turns the survivors into a genotype, in
# words: the views say it under the final cell (docs/method.md, "The genotype").
GENOTYPE_RULES = {
    "top2": "each node keeps its 2 input edges whose survivors scored highest over the whole "
            "search (mean z); an edge whose survivor is none is left out",
    "darts": "every edge offers its best op other than none (its survivor, or where none "
             "survived, the op pruned last); each node keeps its 2 strongest edges (latest to "
             "leave the race, then highest mean z)",
    "all": "every edge keeps its survivor; an edge whose survivor is none is left out",
}


def edge_strengths(samples: Iterable[Any], pruned: Iterable[Any],
                   survivors: Mapping[str, str]) -> dict[str, tuple[str, tuple[int, float]]]:
    """Each edge's best op other than ``none`` and its strength, for the DARTS genotype rule.

    The best op is the survivor, or, where ``none`` survived, the op pruned last; its
    strength is (the round it left the race, the survivor counting as one round past the
    last; its search-wide zbar). Edges whose ops are all ``none`` are left out.
    ``pruned`` are OpPruned events (``round``, ``edge``, ``op``).
    """
    out_round: dict[str, dict[str, int]] = {}
    for p in pruned:
        out_round.setdefault(p.edge, {})[p.op] = p.round
    final = 1 + max((r for per in out_round.values() for r in per.values()), default=-1)
    best: dict[str, tuple[str, int]] = {}
    for edge, survivor in survivors.items():
        left = {**out_round.get(edge, {}), survivor: final}
        cands = [(r, op) for op, r in left.items() if op != "none"]
        if cands:
            r, op = max(cands)
            best[edge] = (op, r)
    zbar = survivor_scores(samples, {e: op for e, (op, _) in best.items()})
    return {e: (op, (r, zbar[e])) for e, (op, r) in best.items()}


def darts_genotype(samples: Iterable[Any], pruned: Iterable[Any], survivors: Mapping[str, str],
                   nodes: int, cell_types: Sequence[str] = CELL_TYPES) -> Genotype:
    """DARTS's rule: every edge offers its best non-``none`` op (:func:`edge_strengths`);
    each node keeps its two strongest edges, so every node has exactly two inputs."""
    strengths = edge_strengths(samples, pruned, survivors)
    # One scale for every edge: the rank by (round left, zbar); ties go to the lower source
    # index, as derive_genotype breaks them.
    order = sorted(strengths, key=lambda e: (strengths[e][1][0], _num(strengths[e][1][1]),
                                             -parse_edge_id(e)[1]))
    rank = {e: float(i) for i, e in enumerate(order)}
    return derive_genotype({e: op for e, (op, _) in strengths.items()}, rank, nodes, mode="top2",
                           cell_types=tuple(cell_types) or CELL_TYPES)


def _num(x: float) -> float:
    return -math.inf if math.isnan(x) else x


def leaders(ev: Mapping[str, Mapping[str, float]], alive: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Each edge's favourite: its alive op with the highest ev (ties: first in alive order).

    Edges where no alive op has an ev are left out.
    """
    out = {}
    for edge, ops in alive.items():
        scored = [op for op in ops if op in ev.get(edge, {})]
        if scored:
            out[edge] = max(scored, key=lambda op: ev[edge][op])
    return out


def leading_genotype(samples: Iterable[SampleTrained], ev: Mapping[str, Mapping[str, float]],
                     alive: Mapping[str, Sequence[str]], nodes: int, mode: str = "top2",
                     cell_types: Sequence[str] = CELL_TYPES) -> Genotype:
    """The genotype a search would return if it stopped now.

    ``ev`` is the latest round's ev (running means for a round in progress), ``alive`` the
    ops still in the race, ``samples`` every sample so far. Each edge keeps its
    :func:`leaders` op, and the nodes keep their inputs ranked as the finished search ranks
    survivors (:func:`survivor_scores`). GenotypeError when no edge has a non-none leader.
    """
    samples = list(samples)
    if mode == "darts":  # every edge offers its best alive op other than `none`
        alive = {e: [o for o in ops if o != "none"] for e, ops in alive.items()}
        mode = "top2"
    chosen = leaders(ev, alive)
    return derive_genotype(chosen, survivor_scores(samples, chosen), nodes, mode=mode,
                           cell_types=tuple(cell_types) or CELL_TYPES)


def last_round_accuracy(samples: Iterable[Any]) -> tuple[float | None, float | None]:
    """Mean child and parent validation accuracy over the last round that has samples."""
    samples = list(samples)
    if not samples:
        return None, None
    last = [s for s in samples if s.round == samples[-1].round]
    return (sum(s.child_acc for s in last) / len(last),
            sum(s.parent_acc for s in last) / len(last))


def prune_line(round: int, prunes: Iterable[Any]) -> str:
    """One round's prunes in words, rounds counted from 1 as on screen: ``"Round 3:
    avg_pool_3x3 pruned on 9 edges, max_pool_3x3 on 5, none on 1 (each edge drops its alive
    op with the lowest ev)"``. ``prunes`` are that round's OpPruned events (``op``); the ops
    most often pruned come first (ties in name order)."""
    counts: dict[str, int] = {}
    for p in prunes:
        counts[p.op] = counts.get(p.op, 0) + 1
    if not counts:
        return f"Round {round + 1}: nothing pruned"
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = [f"{op} on {n}" for op, n in ranked]
    first = ranked[0][1]
    parts[0] = f"{ranked[0][0]} pruned on {first} edge{'s' if first != 1 else ''}"
    return f"Round {round + 1}: " + ", ".join(parts) + " (each edge drops its alive op with the lowest ev)"


def prune_lines(pruned: Iterable[Any]) -> list[str]:
    """:func:`prune_line` for every round in ``pruned`` (OpPruned events: ``round``, ``op``),
    in round order."""
    by_round: dict[int, list[Any]] = {}
    for p in pruned:
        by_round.setdefault(p.round, []).append(p)
    return [prune_line(r, by_round[r]) for r in sorted(by_round)]


__all__ = [
    "GENOTYPE_RULES",
    "darts_genotype",
    "edge_strengths",
    "indicator",
    "last_round_accuracy",
    "leaders",
    "leading_genotype",
    "prune_choice",
    "prune_line",
    "prune_lines",
    "round_scores",
    "round_zs",
    "softmax",
    "survivor_scores",
]
