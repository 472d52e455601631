"""The edge inspector: why one edge kept or dropped each op in one round.

:func:`inspect_edge` is the data step (no widgets): for every op alive on the edge in the
round, the samples that ran it there (child and parent validation accuracy and z, Eq. 4.15),
their mean zbar (Eq. 4.16) and ev (its softmax over the edge's alive ops); once the round is
scored, the op it pruned (the lowest ev) and how far that ev lay below the next lowest op's.
During a round in progress the numbers are running means, as in the heatmap
(:func:`cpviz.state.round_scores`). :func:`inspector_html` renders it as a small HTML table
(the live dashboard's inspector panel).
"""

from __future__ import annotations

import html
import math
from typing import NamedTuple

from cpnas.errors import CpnasError

from .cell import edge_label
from .state import SearchState, require_state, round_scores


class OpSamples(NamedTuple):
    op: str
    samples: tuple[tuple[float, float, float], ...]  # (child_acc, parent_acc, z) per sample
    zbar: float  # NaN before a sample ran the op in this round
    ev: float
    pruned: bool  # the op this round pruned on the edge


class EdgeInspection(NamedTuple):
    edge: str
    label: str  # the edge as every view names it
    round: int  # 0-based, as in the events; shown from 1
    final: bool  # the round is scored (False: running means)
    ops: tuple[OpSamples, ...]  # the ops alive on the edge in the round, in the space's order
    pruned: str | None  # the op the round pruned (None until it is scored)
    next_op: str | None  # the alive op with the next lowest ev
    margin: float | None  # ev(next_op) - ev(pruned): how clear the prune was


def inspect_edge(state: SearchState, edge: str, round: int | None = None) -> EdgeInspection:
    """One edge in one round (default: the latest round with a sample or a score)."""
    state = require_state(state, "inspect_edge")
    if edge not in state.edges:
        raise CpnasError(f"edge must be one of the space's edges, got {edge!r}")
    rnd = _latest(state) if round is None else round
    if not isinstance(rnd, int) or not 0 <= rnd <= max(state.round, 0):
        raise CpnasError(f"round must be an integer in 0..{max(state.round, 0)}, got {round!r}")
    scores = round_scores(state, rnd)
    pruned = next((op for op, rec in state.pruned.get(edge, {}).items() if rec.round == rnd), None)
    alive = [op for op in state.ops if (rec := state.pruned.get(edge, {}).get(op)) is None or rec.round >= rnd]
    samples = [s for s in state.round_samples(rnd) if s.arch.get(edge) in alive]
    rows = []
    for op in alive:
        ran = tuple((s.child_acc, s.parent_acc, s.z) for s in samples if s.arch[edge] == op)
        rows.append(OpSamples(op, ran, float(scores.zbar.get(edge, {}).get(op, math.nan)),
                              float(scores.ev.get(edge, {}).get(op, math.nan)), op == pruned))
    next_op = margin = None
    if pruned is not None:
        evs = {r.op: r.ev for r in rows}
        others = [op for op in alive if op != pruned and not math.isnan(evs[op])]
        if others:
            next_op = min(others, key=lambda op: evs[op])
            margin = evs[next_op] - evs[pruned]
    return EdgeInspection(edge, edge_label(edge), rnd, scores.final, tuple(rows), pruned, next_op, margin)


def _latest(state: SearchState) -> int:
    """The round in progress if it has a sample, else the last scored one (a round that has
    just started shows the scores behind the prune that opened it)."""
    if state.round_samples(state.round) or state.round in state.scores:
        return max(state.round, 0)
    return max(state.scores, default=max(state.round, 0))


def inspector_html(d: EdgeInspection, *, max_samples: int = 6) -> str:
    """The inspection as an HTML table: one row per alive op (its samples' child, parent and z,
    zbar, ev), the pruned op marked, and a line saying why it fell."""
    status = "scored" if d.final else "running means so far"
    head = (f"<b>{html.escape(d.label)}</b>, round {d.round + 1} ({status})"
            "<table class='cpnas-inspector-table'><tr><th>op</th><th>samples: child / parent → z</th>"
            "<th>zbar</th><th>ev</th><th></th></tr>")
    rows = []
    for r in d.ops:
        shown = r.samples[-max_samples:]
        cells = "<br>".join(f"{c:.4f} / {p:.4f} → {z:.4f}" for c, p, z in shown) or "none yet"
        if len(r.samples) > len(shown):
            cells = f"… {len(r.samples) - len(shown)} more<br>" + cells
        mark = "pruned (lowest ev)" if r.pruned else ""
        rows.append(f"<tr data-op='{html.escape(r.op)}'><td>{html.escape(r.op)}</td><td>{cells}</td>"
                    f"<td class='zbar'>{_fmt(r.zbar)}</td><td class='ev'>{_fmt(r.ev)}</td>"
                    f"<td>{mark}</td></tr>")
    if d.pruned is None:
        why = "No op pruned yet in this round: the op with the lowest ev at its end falls."
    elif d.next_op is None:
        why = f"{d.pruned} pruned: the only op scored."
    else:
        why = (f"{d.pruned} pruned: its ev was {d.margin:.4f} below the next lowest, "
               f"{d.next_op}'s.")
    return head + "".join(rows) + f"</table><div class='cpnas-inspector-why'>{html.escape(why)}</div>"


def _fmt(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.4f}"


__all__ = ["EdgeInspection", "OpSamples", "inspect_edge", "inspector_html"]
