"""Algorithm 9 without the networks: sampling without replacement, scoring and pruning.

The loop is pure Python. It asks an ``evaluate(round, t, s, arch)`` callable to train and
validate child and parent on one sampled architecture, and emits events through ``emit``.
The engine plugs the real child/parent trainer in; :func:`simulate` plugs in synthetic
accuracies, which gives viewers and tests a faithful event stream in milliseconds.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import events as ev
from .genotype import Genotype, derive_genotype
from .space import SearchSpace, parse_edge_id


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
Train = Callable[[int, int, int, dict[str, str]], tuple[float, float]]


@dataclass
class LoopState:
    """Where Algorithm 9 stands, in plain containers (so a checkpoint can hold it).

    ``round``, ``t`` and ``s`` point at the *next* sample; ``t == repeats`` means the round's
    sweeps are done and its scoring is next. ``perm`` is the current sweep's permutation
    (None before it is drawn) and ``zs`` the z scores of the current round (None before
    RoundStarted).
    """

    alive: dict[str, list[str]]
    round: int = 0
    t: int = 0
    s: int = 0
    perm: dict[str, list[str]] | None = None
    zs: dict[str, dict[str, list[float]]] | None = None
    pending: list[list[float]] | None = None  # losses of a sweep trained, not yet scored

    @classmethod
    def start(cls, space: SearchSpace) -> LoopState:
        return cls(alive={e: list(space.ops) for e in space.edges})

    @property
    def k(self) -> int:
        return len(next(iter(self.alive.values())))

    def to_dict(self) -> dict:
        return copy.deepcopy(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> LoopState:
        return cls(**copy.deepcopy(data))


def run_loop(
    space: SearchSpace,
    repeats: int,
    beta: float,
    evaluate: Evaluate,
    emit: Emit,
    rng: random.Random,
    should_stop: Callable[[], bool] = lambda: False,
    state: LoopState | None = None,
    on_sample: Callable[[LoopState, int, int, int], None] | None = None,
    train: Train | None = None,
) -> dict[str, str] | None:
    """Run rounds K, K-1, ..., 2 and return the surviving op per edge (None if stopped).

    ``emit(EventClass, fields)`` is called for RoundStarted, SampleTrained, RoundScored and
    OpPruned; the caller stamps seq, time and run_id. ``state`` resumes a loop where a
    checkpoint left it; ``on_sample(state, round, t, s)`` runs after every sample (the
    engine checkpoints there). All randomness comes from ``rng``. With ``train`` (sweep
    scoring) each sweep first trains its K samples (``train`` returns the child and parent
    training loss), then ``evaluate`` only validates them, all on the same weights.
    """
    st = state if state is not None else LoopState.start(space)
    while st.k > 1:
        k = st.k
        if st.zs is None:
            emit(ev.RoundStarted, {"round": st.round, "K": k,
                                   "alive": {e: list(o) for e, o in st.alive.items()}})
            st.zs = {e: {o: [] for o in ops} for e, ops in st.alive.items()}
        while st.t < repeats:
            if st.perm is None:
                # Sampling without replacement: one permutation of the alive ops per edge, so
                # every op on every edge gets exactly one z per sweep (the book's fairness).
                st.perm = {e: rng.sample(ops, len(ops)) for e, ops in st.alive.items()}
            while st.perm is not None:  # until this sweep's K samples are done
                if should_stop():
                    return None
                if train is not None and st.pending is None:
                    st.pending = [list(train(st.round, st.t, s, {e: p[s] for e, p in st.perm.items()}))
                                  for s in range(st.k)]
                _sample(st, space, beta, evaluate, emit, on_sample)
        _score_and_prune(st, space, emit)
    return {e: ops[0] for e, ops in st.alive.items()}


def _sample(st: LoopState, space: SearchSpace, beta: float, evaluate: Evaluate, emit: Emit,
            on_sample: Callable[[LoopState, int, int, int], None] | None) -> None:
    rnd, t, s = st.round, st.t, st.s
    arch = {e: st.perm[e][s] for e in space.edges}
    res = evaluate(rnd, t, s, arch)
    if st.pending is not None:  # trained with its sweep: the losses are from then
        res = dataclasses.replace(res, child_loss=st.pending[s][0], parent_loss=st.pending[s][1])
    z = indicator(res.child_acc, res.parent_acc, beta)  # Eq. 4.15
    for e, op in arch.items():
        st.zs[e][op].append(z)
    emit(ev.SampleTrained, {
        "round": rnd, "t": t, "s": s, "arch": arch,
        "child_loss": res.child_loss, "parent_loss": res.parent_loss,
        "child_acc": res.child_acc, "parent_acc": res.parent_acc, "z": z,
    })
    st.s += 1
    if st.s == st.k:  # the sweep is over
        st.s, st.t, st.perm, st.pending = 0, st.t + 1, None, None
    if on_sample is not None:
        on_sample(st, rnd, t, s)


def _score_and_prune(st: LoopState, space: SearchSpace, emit: Emit) -> None:
    zbar = {e: {o: sum(v) / len(v) for o, v in per.items()} for e, per in st.zs.items()}  # Eq. 4.16
    evs = {e: softmax(per) for e, per in zbar.items()}
    emit(ev.RoundScored, {"round": st.round, "zbar": zbar, "ev": evs})
    for e in space.edges:
        worst = prune_choice(evs[e], st.alive[e])
        st.alive[e].remove(worst)
        emit(ev.OpPruned, {"round": st.round, "edge": e, "op": worst, "ev": evs[e][worst],
                           "alive": list(st.alive[e])})
    st.round, st.t, st.s, st.perm, st.zs = st.round + 1, 0, 0, None, None


def survivor_scores(samples: Iterable[ev.SampleTrained], survivors: dict[str, str]) -> dict[str, float]:
    """Search-wide zbar of each survivor: the mean z of every sample that ran it on its edge.

    The genotype ranks edges by this, not by the last round's ev: with T = 1 the last round
    has two samples that cover every edge, so every survivor ends with the same ev and a
    ranking by it would be decided by the tie-break alone.
    """
    sums = {e: [0.0, 0] for e in survivors}
    for sample in samples:
        for e, op in sample.arch.items():
            if survivors.get(e) == op:
                sums[e][0] += sample.z
                sums[e][1] += 1
    return {e: (total / n if n else math.nan) for e, (total, n) in sums.items()}


def derive_from_events(
    events: list[ev.Event], survivors: dict[str, str], nodes: int, mode: str = "top2"
) -> tuple[Genotype, dict[str, dict]]:
    """The genotype of a finished search, and the GenotypeDerived ``edges`` payload."""
    last = [e for e in events if isinstance(e, ev.RoundScored)][-1]
    final_ev = {e: last.ev[e][op] for e, op in survivors.items()}
    zbar = survivor_scores((e for e in events if isinstance(e, ev.SampleTrained)), survivors)
    geno = derive_genotype(survivors, zbar, nodes, mode)
    kept = {(c, src, dst) for c in ("normal", "reduce") for _, src, dst in geno.edges(c)}
    edges = {
        e: {"op": op, "ev": final_ev[e], "zbar": zbar[e], "selected": parse_edge_id(e) in kept}
        for e, op in survivors.items()
    }
    return geno, edges
