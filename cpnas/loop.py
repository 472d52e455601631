"""Algorithm 9 without the networks: sampling without replacement, scoring and pruning.

The loop is pure Python. It asks an ``evaluate(round, t, s, arch)`` callable to train and
validate child and parent on one sampled architecture, and emits events through ``emit``.
The engine plugs the real child/parent trainer in; :func:`cpnas.simulate.simulate` plugs in
synthetic accuracies, which gives viewers and tests a faithful event stream in
milliseconds. The scoring itself (Eqs. 4.15-4.16, the prune choice, the survivor ranking)
is :mod:`cpnas.scoring`'s.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from . import events
from .genotype import Genotype, derive_genotype
from .scoring import darts_genotype, indicator, prune_choice, round_scores, survivor_scores
from .space import SearchSpace, parse_edge_id


@dataclass(frozen=True)
class SampleResult:
    """What training and validating one sampled architecture gave (child and parent)."""

    child_acc: float
    parent_acc: float
    child_loss: float = math.nan
    parent_loss: float = math.nan
    seconds: float = 0.0  # wall time of the training and validation


Emit = Callable[[type[events.Event], dict], None]
Evaluate = Callable[[int, int, int, dict[str, str]], SampleResult]
Train = Callable[[int, int, int, dict[str, str]], tuple[float, float]]
OnSample = Callable[["LoopState", int, int, int], None]


@dataclass
class LoopState:
    """Where Algorithm 9 stands, in plain containers (so a checkpoint can hold it).

    ``round``, ``t`` and ``s`` point at the *next* sample; ``t == repeats`` means the round's
    sweeps are done and its scoring is next. ``perm`` is the current sweep's permutation
    (None before it is drawn) and ``zs`` the z scores of the current round (None before
    RoundStarted). ``pending`` holds the training losses of samples trained ahead of their
    scoring and not scored yet, the current sweep's first (sweep or round scoring; None
    otherwise); ``queued`` the permutations of the round's later sweeps, already trained
    (round scoring).
    """

    alive: dict[str, list[str]]
    round: int = 0
    t: int = 0
    s: int = 0
    perm: dict[str, list[str]] | None = None
    zs: dict[str, dict[str, list[float]]] | None = None
    pending: list[list[float]] | None = None
    queued: list[dict[str, list[str]]] = dataclasses.field(default_factory=list)

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
    on_sample: OnSample | None = None,
    train: Train | None = None,
    train_ahead: str = "sweep",
) -> dict[str, str] | None:
    """Run rounds K, K-1, ..., 2 and return the surviving op per edge (None if stopped).

    Algorithm 9, one named step per line of it: each round starts, then T sweeps each draw
    a permutation and train and score its K samples; then the round is scored and every
    edge prunes one op. ``emit(EventClass, fields)`` is called for RoundStarted,
    SampleTrained, RoundScored and OpPruned; the caller stamps seq, time and run_id.
    ``state`` resumes the loop where a checkpoint left it (any point between two steps);
    ``on_sample(state, round, t, s)`` runs after every sample (the engine checkpoints
    there). All randomness comes from ``rng``. Another strategy (another score or prune
    rule) would replace :func:`score_round` and :func:`prune`; the sampling stays.

    With ``train``, samples are trained ahead of their scoring (``train(round, t, s, arch)``
    returns the child and parent training loss) and ``evaluate`` only validates them:
    ``train_ahead="sweep"`` trains a sweep's K samples, then scores them (sweep scoring);
    ``"round"`` trains all T sweeps of the round, then scores its T * K samples (round
    scoring), so every sample of a round is scored with the same weights. The sweeps'
    permutations are drawn in the same order either way.
    """
    st = state if state is not None else LoopState.start(space)
    while st.k > 1:
        if st.zs is None:
            start_round(st, emit)
        while st.t < repeats:  # one sample per pass; the sweep advances t
            if st.perm is None:
                draw_sweep(st, rng)
            if should_stop():
                return None
            if train is not None and st.pending is None:
                if train_ahead == "round":
                    train_round(st, train, rng, repeats)
                else:
                    train_sweep(st, train)
            train_and_score_sample(st, beta, evaluate, emit, on_sample)
        prune(st, score_round(st, emit), emit)
    return {e: ops[0] for e, ops in st.alive.items()}


def start_round(st: LoopState, emit: Emit) -> None:
    """A new round with K alive ops per edge: announce it and open its z lists."""
    emit(events.RoundStarted, {"round": st.round, "K": st.k,
                               "alive": {e: list(o) for e, o in st.alive.items()}})
    st.zs = {e: {o: [] for o in ops} for e, ops in st.alive.items()}


def draw_sweep(st: LoopState, rng: random.Random) -> None:
    """Sampling without replacement: one permutation of the alive ops per edge, so every
    op on every edge gets exactly one z per sweep (the book's fairness)."""
    st.perm = _permutation(st, rng)


def _permutation(st: LoopState, rng: random.Random) -> dict[str, list[str]]:
    return {e: rng.sample(ops, len(ops)) for e, ops in st.alive.items()}


def _train_all(st: LoopState, train: Train, perms: list[dict[str, list[str]]]) -> None:
    """Train sweeps ``st.t``, ``st.t + 1``, ... of ``perms`` in order; keep their losses."""
    st.pending = [list(train(st.round, t, s, {e: p[s] for e, p in perm.items()}))
                  for t, perm in enumerate(perms, st.t) for s in range(st.k)]


def train_sweep(st: LoopState, train: Train) -> None:
    """Sweep scoring: train the sweep's K samples one after the other, keep their losses."""
    _train_all(st, train, [st.perm])


def train_round(st: LoopState, train: Train, rng: random.Random, repeats: int) -> None:
    """Round scoring: draw the round's remaining sweeps (the same draws, in the same order,
    as one sweep at a time) and train all of them before any is scored."""
    st.queued = [_permutation(st, rng) for _ in range(st.t + 1, repeats)]
    _train_all(st, train, [st.perm, *st.queued])


def train_and_score_sample(st: LoopState, beta: float, evaluate: Evaluate, emit: Emit,
                           on_sample: OnSample | None) -> None:
    """Sample s of the sweep: train and validate it, give its z (Eq. 4.15) to each of its
    (edge, op) pairs, then move to the next sample (the next sweep after the K-th)."""
    rnd, t, s = st.round, st.t, st.s
    arch = {e: perm[s] for e, perm in st.perm.items()}
    res = evaluate(rnd, t, s, arch)
    if st.pending is not None:  # trained with its sweep: the losses are from then
        res = dataclasses.replace(res, child_loss=st.pending[s][0], parent_loss=st.pending[s][1])
    z = indicator(res.child_acc, res.parent_acc, beta)
    for e, op in arch.items():
        st.zs[e][op].append(z)
    emit(events.SampleTrained, {
        "round": rnd, "t": t, "s": s, "arch": arch,
        "child_loss": res.child_loss, "parent_loss": res.parent_loss,
        "child_acc": res.child_acc, "parent_acc": res.parent_acc, "z": z,
        "seconds": res.seconds,
    })
    st.s += 1
    if st.s == st.k:  # the sweep is over
        st.s, st.t = 0, st.t + 1
        if st.queued:  # round scoring: the round's next sweep, trained already
            st.perm, st.queued, st.pending = st.queued[0], st.queued[1:], st.pending[st.k:]
        else:
            st.perm, st.pending = None, None
    if on_sample is not None:
        on_sample(st, rnd, t, s)


def score_round(st: LoopState, emit: Emit) -> dict[str, dict[str, float]]:
    """zbar (Eq. 4.16) and ev of the round's alive ops; returns ev."""
    zbar, ev = round_scores(st.zs)
    emit(events.RoundScored, {"round": st.round, "zbar": zbar, "ev": ev})
    return ev


def prune(st: LoopState, ev: dict[str, dict[str, float]], emit: Emit) -> None:
    """Remove the op with the lowest ev on every edge, and move to the next round."""
    for e, alive in st.alive.items():
        worst = prune_choice(ev[e], alive)
        alive.remove(worst)
        emit(events.OpPruned, {"round": st.round, "edge": e, "op": worst, "ev": ev[e][worst],
                               "alive": list(alive)})
    st.round, st.t, st.s, st.perm, st.zs = st.round + 1, 0, 0, None, None


def derive_from_events(
    stream: list[events.Event], survivors: dict[str, str], nodes: int, mode: str = "top2"
) -> tuple[Genotype, dict[str, dict]]:
    """The genotype of a finished search, and the GenotypeDerived ``edges`` payload."""
    last = [e for e in stream if isinstance(e, events.RoundScored)][-1]
    final_ev = {e: last.ev[e][op] for e, op in survivors.items()}
    samples = [e for e in stream if isinstance(e, events.SampleTrained)]
    zbar = survivor_scores(samples, survivors)
    if mode == "darts":
        pruned = [e for e in stream if isinstance(e, events.OpPruned)]
        geno = darts_genotype(samples, pruned, survivors, nodes)
    else:
        geno = derive_genotype(survivors, zbar, nodes, mode)
    kept = {(c, src, dst) for c in ("normal", "reduce") for _, src, dst in geno.edges(c)}
    edges = {
        e: {"op": op, "ev": final_ev[e], "zbar": zbar[e], "selected": parse_edge_id(e) in kept}
        for e, op in survivors.items()
    }
    return geno, edges
