"""Tidy pandas tables of a run's events, like optuna's ``trials_dataframe``.

One row per observation, one column per variable, so a plot or a groupby needs no
reshaping. Their columns are a stable interface for notebooks and user code (cpviz's views
read the same events folded into its ``SearchState``).

- :func:`samples_frame`: one row per ``SampleTrained``.
- :func:`scores_frame`: one row per (round, edge, op) with ``zbar`` and ``ev``.
- :func:`prunes_frame`: one row per ``OpPruned``.

pandas is imported inside the functions: the engine itself needs only torch and the
standard library.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .events import Event, OpPruned, RoundScored, SampleTrained, SearchStarted

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

ARCH_PREFIX = "arch:"

SAMPLE_COLUMNS: tuple[str, ...] = (
    "seq", "round", "t", "s", "child_acc", "parent_acc", "gap", "z",
    "child_loss", "parent_loss", "seconds",
)
SCORE_COLUMNS: tuple[str, ...] = ("round", "edge", "op", "zbar", "ev", "n_samples")
PRUNE_COLUMNS: tuple[str, ...] = ("round", "edge", "op", "ev", "alive_after", "n_alive")

_INT = ("seq", "round", "t", "s", "n_samples", "n_alive")
_FLOAT = ("child_acc", "parent_acc", "gap", "z", "child_loss", "parent_loss", "seconds",
          "zbar", "ev")


def _frame(rows: list[dict], columns: Iterable[str]) -> pd.DataFrame:
    import pandas as pd

    columns = list(columns)
    df = pd.DataFrame(rows, columns=columns)
    types = {c: "int64" for c in _INT if c in df.columns}
    types.update({c: "float64" for c in _FLOAT if c in df.columns})
    types.update({c: "object" for c in df.columns if c not in types})
    return df.astype(types)


def _edges(events: list[Event]) -> list[str]:
    """Edge ids in the space's order (from SearchStarted), else in first-seen order."""
    for e in events:
        if isinstance(e, SearchStarted) and e.space.get("edges"):
            return list(e.space["edges"])
    seen: dict[str, None] = {}
    for e in events:
        if isinstance(e, SampleTrained):
            seen.update(dict.fromkeys(e.arch))
    return list(seen)


def samples_frame(events: Iterable[Event]) -> pd.DataFrame:
    """One row per sampled architecture.

    Columns: seq, round, t, s, child_acc, parent_acc, gap (= parent_acc - child_acc, the
    "performance loss" of Eq. 4.15), z, child_loss, parent_loss, seconds, then one
    ``arch:<edge id>`` column per edge holding the op sampled there.
    """
    events = list(events)
    edges = _edges(events)
    rows = []
    for e in events:
        if not isinstance(e, SampleTrained):
            continue
        row = {
            "seq": e.seq, "round": e.round, "t": e.t, "s": e.s,
            "child_acc": e.child_acc, "parent_acc": e.parent_acc,
            "gap": e.parent_acc - e.child_acc, "z": e.z,
            "child_loss": e.child_loss, "parent_loss": e.parent_loss, "seconds": e.seconds,
        }
        row.update({ARCH_PREFIX + edge: e.arch.get(edge) for edge in edges})
        rows.append(row)
    return _frame(rows, [*SAMPLE_COLUMNS, *(ARCH_PREFIX + edge for edge in edges)])


def scores_frame(events: Iterable[Event]) -> pd.DataFrame:
    """One row per (round, edge, alive op) of every scored round.

    Columns: round, edge, op, zbar (Eq. 4.16, the mean z of the op on that edge over the T
    sweeps), ev (softmax of zbar over the edge's alive ops) and n_samples (how many z's
    the mean is over: T for a complete round).
    """
    events = list(events)
    counts: Counter[tuple[int, str, str]] = Counter()
    for e in events:
        if isinstance(e, SampleTrained):
            counts.update((e.round, edge, op) for edge, op in e.arch.items())
    rows = []
    for e in events:
        if not isinstance(e, RoundScored):
            continue
        for edge, per_op in e.zbar.items():
            for op, zbar in per_op.items():
                rows.append({
                    "round": e.round, "edge": edge, "op": op, "zbar": zbar,
                    "ev": e.ev.get(edge, {}).get(op, float("nan")),
                    "n_samples": counts[(e.round, edge, op)],
                })
    return _frame(rows, SCORE_COLUMNS)


def prunes_frame(events: Iterable[Event]) -> pd.DataFrame:
    """One row per pruned op.

    Columns: round, edge, op, ev (its ev when it was removed: the lowest on the edge),
    alive_after (tuple of the ops left on the edge) and n_alive (how many).
    """
    rows = [
        {"round": e.round, "edge": e.edge, "op": e.op, "ev": e.ev,
         "alive_after": tuple(e.alive), "n_alive": len(e.alive)}
        for e in events
        if isinstance(e, OpPruned)
    ]
    return _frame(rows, PRUNE_COLUMNS)


__all__ = [
    "ARCH_PREFIX",
    "PRUNE_COLUMNS",
    "SAMPLE_COLUMNS",
    "SCORE_COLUMNS",
    "prunes_frame",
    "samples_frame",
    "scores_frame",
]
