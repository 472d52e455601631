"""Algorithm 9 without the networks: sampling without replacement, scoring and pruning.

The loop is pure Python. It asks an ``evaluate(round, t, s, arch)`` callable to train and
validate child and parent on one sampled architecture, and emits events through ``emit``.
The engine plugs the real child/parent trainer in; :func:`simulate` plugs in synthetic
accuracies, which gives viewers and tests a faithful event stream in milliseconds.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable

from . import events as ev
from .space import SearchSpace


@dataclass(frozen=True)
class SampleResult:
    child_acc: float
    parent_acc: float
    child_loss: float = math.nan
    parent_loss: float = math.nan


def indicator(child_acc: float, parent_acc: float, beta: float) -> float:
    """Eq. 4.15: z = beta_P * (A_P - A_C) + A_C."""
    return beta * (parent_acc - child_acc) + child_acc


def softmax(values: dict[str, float]) -> dict[str, float]:
    m = max(values.values())
    exps = {k: math.exp(v - m) for k, v in values.items()}
    total = sum(exps.values())
    return {k: e / total for k, e in exps.items()}


def prune_choice(ev_edge: dict[str, float], alive: list[str]) -> str:
    """argmin ev on one edge; ties go to the op listed first in the alive order."""
    return min(alive, key=lambda op: ev_edge[op])


Emit = Callable[[type[ev.Event], dict], None]
Evaluate = Callable[[int, int, int, dict[str, str]], SampleResult]


def run_loop(
    space: SearchSpace,
    repeats: int,
    beta: float,
    evaluate: Evaluate,
    emit: Emit,
    rng: random.Random,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, str] | None:
    """Run rounds K, K-1, ..., 2 and return the surviving op per edge (None if stopped).

    ``emit(EventClass, fields)`` is called for RoundStarted, SampleTrained, RoundScored and
    OpPruned; the caller stamps seq, time and run_id.
    """
    alive = {e: list(space.ops) for e in space.edges}
    k, rnd = len(space.ops), 0
    while k > 1:
        emit(ev.RoundStarted, {"round": rnd, "K": k, "alive": {e: list(o) for e, o in alive.items()}})
        zs: dict[str, dict[str, list[float]]] = {e: {o: [] for o in ops} for e, ops in alive.items()}
        for t in range(repeats):
            # Sampling without replacement: one permutation of the alive ops per edge, so
            # every op on every edge gets exactly one z per sweep (the book's fairness).
            perm = {e: rng.sample(ops, len(ops)) for e, ops in alive.items()}
            for s in range(k):
                if should_stop():
                    return None
                arch = {e: perm[e][s] for e in space.edges}
                res = evaluate(rnd, t, s, arch)
                z = indicator(res.child_acc, res.parent_acc, beta)  # Eq. 4.15
                for e, op in arch.items():
                    zs[e][op].append(z)
                emit(ev.SampleTrained, {
                    "round": rnd, "t": t, "s": s, "arch": arch,
                    "child_loss": res.child_loss, "parent_loss": res.parent_loss,
                    "child_acc": res.child_acc, "parent_acc": res.parent_acc, "z": z,
                })
        zbar = {e: {o: sum(v) / len(v) for o, v in per.items()} for e, per in zs.items()}  # Eq. 4.16
        evs = {e: softmax(per) for e, per in zbar.items()}
        emit(ev.RoundScored, {"round": rnd, "zbar": zbar, "ev": evs})
        for e in space.edges:
            worst = prune_choice(evs[e], alive[e])
            alive[e].remove(worst)
            emit(ev.OpPruned, {"round": rnd, "edge": e, "op": worst, "ev": evs[e][worst], "alive": list(alive[e])})
        k -= 1
        rnd += 1
    return {e: ops[0] for e, ops in alive.items()}
