"""``SearchState``: everything the views need, folded from the event stream.

``reduce(state, event)`` is pure: it never mutates ``state`` and returns a new one. Replay is
``functools.reduce(reduce, events, SearchState())``; live is the same fold fed from a
queue, so a recorded run and a live run look the same to every view.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from cpnas import scoring
from cpnas.config import GENOTYPE_MODES
from cpnas.errors import CpnasError
from cpnas.events import (
    Event,
    GenotypeDerived,
    OpPruned,
    Progress,
    RoundScored,
    RoundStarted,
    SampleStarted,
    SampleTrained,
    SearchFinished,
    SearchStarted,
)
from cpnas.genotype import Genotype
from cpnas.resolve import Resolved, resolve
from cpnas.shape import n_samples

_EMPTY: Mapping = MappingProxyType({})


@dataclass(frozen=True)
class PruneRecord:
    round: int
    ev: float


class PrunedOp(NamedTuple):
    round: int
    edge: str
    op: str
    ev: float


@dataclass(frozen=True)
class SearchState:
    run_id: str = ""
    config: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    ops: tuple[str, ...] = ()
    nodes: int = 0
    cell_types: tuple[str, ...] = ()
    edges: tuple[str, ...] = ()
    dataset: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    device: str = ""
    seed: int = 0
    status: str = "empty"  # empty | running | completed | stopped | failed
    error: str | None = None
    # position
    round: int = -1
    K: int = 0
    t: int = 0
    s: int = 0
    step: int = 0
    steps: int = 0
    phase: str = ""  # "" in the rounds; "warm-up" while Progress comes before round 0
    # the search
    alive: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _EMPTY)  # edge -> ops still in the race
    pruned: Mapping[str, Mapping[str, PruneRecord]] = field(default_factory=lambda: _EMPTY)  # edge -> op -> when it fell
    samples: tuple[SampleTrained, ...] = ()
    # samples started (SampleStarted) and not validated yet, oldest first: under sweep (round)
    # scoring the sweep's (round's) samples trained so far; the last is the one in training
    in_flight: tuple[SampleStarted, ...] = ()
    scores: Mapping[int, RoundScored] = field(default_factory=lambda: _EMPTY)  # round -> zbar and ev
    genotype: str | None = None
    genotype_edges: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: _EMPTY)
    # bookkeeping
    last_seq: int = -1
    started: float | None = None
    updated: float | None = None
    seconds: float | None = None  # wall seconds reported by SearchFinished
    n_events: int = 0

    # -- derived -------------------------------------------------------------------------
    @property
    def repeats(self) -> int:
        return int(self.config.get("repeats", 1) or 1)

    @property
    def total_samples(self) -> int:
        """Sampled architectures in the whole search: T * (K + (K-1) + ... + 2)."""
        return n_samples(len(self.ops), self.repeats)

    @property
    def genotype_mode(self) -> str:
        """The config's genotype rule ("top2", a run's rule before the key existed, when the
        config does not name a known one)."""
        mode = self.config.get("genotype_mode", "top2")
        return mode if mode in GENOTYPE_MODES else "top2"

    @property
    def elapsed(self) -> float:
        if self.seconds is not None:
            return self.seconds
        if self.started is None or self.updated is None:
            return 0.0
        return max(0.0, self.updated - self.started)

    @property
    def done(self) -> bool:
        return self.status in ("completed", "stopped", "failed")

    def survivors(self) -> dict[str, str]:
        """Edge -> its op, for edges where exactly one op is left."""
        return {e: ops[0] for e, ops in self.alive.items() if len(ops) == 1}

    def last_scores(self) -> RoundScored | None:
        return self.scores[max(self.scores)] if self.scores else None

    @property
    def n_rounds(self) -> int:
        """Rounds in the whole search: K = len(ops), ..., 2."""
        return max(0, len(self.ops) - 1)

    def pruned_round(self, edge: str, op: str) -> int | None:
        """The round ``op`` fell in on ``edge``, or None while it is alive."""
        rec = self.pruned.get(edge, {}).get(op)
        return None if rec is None else rec.round

    def prunes(self, round: int | None = None) -> list[PrunedOp]:
        """The ops pruned (in ``round``, or in every round), edge by edge in the space's order."""
        return [PrunedOp(r.round, e, op, r.ev) for e in self.edges for op, r in self.pruned.get(e, {}).items()
                if round is None or r.round == round]

    def prune_lines(self) -> list[str]:
        """Every round's prunes in words (:func:`cpnas.scoring.prune_line`)."""
        return scoring.prune_lines(self.prunes())

    def round_samples(self, round: int) -> tuple[SampleTrained, ...]:
        return tuple(s for s in self.samples if s.round == round)

    def at_round(self, round: int) -> SearchState:
        """The search as it stood when ``round`` started (before its first sample).

        Built from the state alone (no event log needed): prunes, scores and samples of
        earlier rounds are kept. A round past the last one gives the finished state.
        """
        if round >= self.n_rounds or round > self.round:
            return self
        pruned = {
            e: {o: r for o, r in per.items() if r.round < round} for e, per in self.pruned.items()
        }
        alive = {
            e: tuple(o for o in self.ops if o not in pruned.get(e, {})) for e in self.edges
        }
        return dataclasses.replace(
            self,
            status="running",
            round=round,
            K=len(self.ops) - max(round, 0),
            t=0,
            s=0,
            alive=_frozen(alive),
            pruned=_frozen({e: _frozen(p) for e, p in pruned.items() if p}),
            samples=tuple(s for s in self.samples if s.round < round),
            scores=_frozen({r: sc for r, sc in self.scores.items() if r < round}),
            genotype=None,
            genotype_edges=_EMPTY,
            in_flight=(),
        )


def round_starts(state: SearchState) -> list[SearchState]:
    """The state at the start of every round reached, then ``state`` itself (if different)."""
    frames = [state.at_round(r) for r in range(max(state.round, 0) + 1)]
    if frames[-1] is not state:
        frames.append(state)
    return frames


def _frozen(d: Mapping) -> Mapping:
    return MappingProxyType(dict(d))


def reduce(state: SearchState, event: Event) -> SearchState:
    """Fold one event into the state. Pure: returns a new state."""
    common: dict[str, Any] = {
        "last_seq": max(state.last_seq, event.seq),
        "updated": event.time or state.updated,
        "n_events": state.n_events + 1,
    }
    if isinstance(event, SearchStarted):
        space = event.space
        edges = tuple(space.get("edges", ()))
        ops = tuple(space.get("ops", ()))
        # Every SearchStarted opens a stream from its start (a resumed search re-delivers the
        # events before its checkpoint), so the state starts afresh.
        return dataclasses.replace(
            SearchState(),
            **common,
            run_id=event.run_id,
            config=_frozen(event.config),
            ops=ops,
            nodes=int(space.get("nodes", 0)),
            cell_types=tuple(space.get("cell_types", ())),
            edges=edges,
            dataset=_frozen(event.dataset),
            device=event.device,
            seed=event.seed,
            status="running",
            error=None,
            alive=_frozen({e: ops for e in edges}),
            started=event.time,
        )
    if isinstance(event, RoundStarted):
        return dataclasses.replace(
            state,
            **common,
            round=event.round,
            K=event.K,
            t=0,
            s=0,
            phase="",
            alive=_frozen({e: tuple(o) for e, o in event.alive.items()}),
            in_flight=(),
        )
    if isinstance(event, SampleStarted):
        return dataclasses.replace(
            state, **common, t=event.t, s=event.s, step=0, in_flight=state.in_flight + (event,)
        )
    if isinstance(event, SampleTrained):
        key = (event.round, event.t, event.s)
        return dataclasses.replace(
            state,
            **common,
            round=event.round,
            t=event.t,
            s=event.s,
            step=0,
            samples=state.samples + (event,),
            in_flight=tuple(x for x in state.in_flight if (x.round, x.t, x.s) != key),
        )
    if isinstance(event, Progress):
        # Progress of a phase before the rounds (a warm-up: round < 0) moves the step count
        # too, so a long stretch without samples still shows it is alive.
        phase = "warm-up" if event.round < 0 else state.phase
        return dataclasses.replace(
            state, **common, t=event.t, s=event.s, step=event.step, steps=event.steps, phase=phase
        )
    if isinstance(event, RoundScored):
        scores = dict(state.scores)
        scores[event.round] = event
        return dataclasses.replace(state, **common, scores=_frozen(scores))
    if isinstance(event, OpPruned):
        alive = dict(state.alive)
        alive[event.edge] = tuple(event.alive)
        pruned = {e: dict(p) for e, p in state.pruned.items()}
        pruned.setdefault(event.edge, {})[event.op] = PruneRecord(event.round, event.ev)
        return dataclasses.replace(
            state,
            **common,
            alive=_frozen(alive),
            pruned=_frozen({e: _frozen(p) for e, p in pruned.items()}),
        )
    if isinstance(event, GenotypeDerived):
        return dataclasses.replace(
            state,
            **common,
            genotype=event.genotype,
            genotype_edges=_frozen({e: _frozen(v) for e, v in event.edges.items()}),
        )
    if isinstance(event, SearchFinished):
        return dataclasses.replace(
            state, **common, status=event.status, error=event.error, seconds=event.seconds,
            in_flight=(),
        )
    return dataclasses.replace(state, **common)  # Checkpointed and unknown kinds


def replay(events: Iterable[Event], state: SearchState | None = None) -> SearchState:
    """Fold a whole stream (a list, a file's events) into one state."""
    return functools.reduce(reduce, events, state or SearchState())


# -- scores of a round, finished or in progress ----------------------------------------------


@dataclass(frozen=True)
class RoundScores:
    """zbar, ev and the z values per (edge, op) of one round.

    For a finished round they are the engine's RoundScored numbers; for the round in
    progress they are the running means of the samples so far (``final`` is False), so a
    live view moves with every sample; their ev is scaled to the share of the edge's ops
    sampled so far (1/K is even, as in a finished round).
    """

    round: int
    final: bool
    zbar: Mapping[str, Mapping[str, float]]
    ev: Mapping[str, Mapping[str, float]]
    zs: Mapping[str, Mapping[str, tuple[float, ...]]]


def round_scores(state: SearchState, round: int | None = None) -> RoundScores:
    """Scores of ``round`` (default: the latest round with a sample or a score)."""
    if round is None:
        round = max(state.round, max(state.scores, default=-1))
    zs = scoring.round_zs(state.round_samples(round))
    frozen_zs = _frozen({e: _frozen({o: tuple(v) for o, v in per.items()}) for e, per in zs.items()})
    scored = state.scores.get(round)
    if scored is not None:
        return RoundScores(round, True, scored.zbar, scored.ev, frozen_zs)
    zbar, evs = scoring.round_scores(zs)  # Eq. 4.16 over the samples so far
    # Early in a round an edge has run only some of its ops, and a softmax over those few
    # would give 1.0 to a lone op. Scaled by the share of the edge's ops sampled so far, the
    # running ev sums to that share, so 1/K means "even" at every point of the round.
    evs = {e: {o: v * len(per) / max(len(per), len(state.alive.get(e, ()))) for o, v in per.items()}
           for e, per in evs.items()}
    return RoundScores(round, False, _frozen(zbar), _frozen(evs), frozen_zs)


def leading_genotype(state: SearchState, round: int | None = None, mode: str | None = None) -> Genotype:
    """The cell the search gives, or would give if it stopped now (``round`` None) or right
    after ``round`` was pruned.

    Now: the derived genotype once there is one; else each edge's alive op with the highest
    ev of the latest round (running means if that round is in progress). After ``round``:
    each edge's op with the highest ev of that round among those it did not prune. Either
    way the nodes rank their inputs as the engine ranks survivors, by search-wide zbar
    (:func:`cpnas.scoring.leading_genotype`). ``mode`` defaults to the config's rule.
    """
    mode = mode or state.genotype_mode
    if round is None:
        if state.genotype:
            return Genotype.parse(state.genotype)
        latest = round_scores(state) if state.samples or state.scores else None
        if latest is None or not latest.ev:
            raise CpnasError("the search has not scored a sample yet, so no op is ahead on any edge")
        ev, alive, samples = latest.ev, state.alive, state.samples
    else:
        ev = state.scores[round].ev
        alive = state.at_round(round + 1).alive
        samples = tuple(s for s in state.samples if s.round <= round)
    return scoring.leading_genotype(samples, ev, alive, state.nodes, mode=mode,
                                    cell_types=state.cell_types)


# -- where a state comes from ----------------------------------------------------------------


def as_state(source: Any) -> SearchState:
    """The search a view shows: a SearchState as it is, else what :func:`cpnas.resolve.resolve`
    names (a run directory, an event log, a list of events), folded once. A genotype has no
    search: one line says so."""
    if isinstance(source, SearchState):
        return source
    return state_of(resolve(source))


def state_of(resolved: Resolved) -> SearchState:
    """The SearchState of a resolved run (its events folded); one line for a genotype."""
    return replay(resolved.events)


def genotype_or_state(source: Any) -> Genotype | SearchState:
    """What a cell diagram draws: a SearchState as it is; a genotype, or a run's genotype once
    its search wrote one; else the run's search state (a search in progress)."""
    if isinstance(source, SearchState):
        return source
    resolved = resolve(source)
    return resolved.genotype if resolved.genotype is not None else state_of(resolved)


def require_state(state: Any, who: str) -> SearchState:
    """``state`` if it is a SearchState (the data steps take one); else one line saying how to
    make one."""
    if not isinstance(state, SearchState):
        raise CpnasError(f"{who} takes a SearchState, got {type(state).__name__} "
                         "(cpviz.as_state(run_dir or events) makes one)")
    return state


__all__ = [
    "PruneRecord",
    "PrunedOp",
    "RoundScores",
    "SearchState",
    "as_state",
    "genotype_or_state",
    "leading_genotype",
    "reduce",
    "replay",
    "round_scores",
    "require_state",
    "round_starts",
    "state_of",
]
