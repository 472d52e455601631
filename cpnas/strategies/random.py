"""``random`` and ``random-pick``: the baselines a search must beat (docs/study.md).

``random`` is random search with weight sharing (Li & Talwalkar 2019) on the same budget
as ``cpnas``: the child and parent supernets are trained for ``config.n_samples`` samples,
each a path drawn uniformly (one op per edge), with the same trainer and steps as CP-NAS.
Then :data:`CANDIDATES` genotypes drawn under the DARTS rule are scored, without training,
by the same child-parent indicator (Eq. 4.15 at the config's beta_P) on the validation
split, and the best is kept. ``random-pick`` draws one genotype and trains nothing.

Events: RoundStarted and SampleTrained (round 0) for the training; one RoundScored whose
zbar is the mean z of the scored candidates per (edge, op); GenotypeDerived.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field

from .. import events
from ..distributed import SINGLE
from ..genotype import Genotype, parse_genotype
from ..randomcells import genotype_arch, random_genotype, uniform_arch
from ..scoring import indicator, round_scores
from ..train import CPTrainer

CANDIDATES = 50  # genotypes scored by the trained supernets (evaluation only: no training)


@dataclass
class RandomState:
    """``done``: samples trained; ``started``: RoundStarted emitted; ``best``: the kept genotype."""

    done: int = 0
    started: bool = False
    best: str | None = None
    best_z: float | None = None
    scored: dict = field(default_factory=dict)  # edge -> op -> mean z of the candidates

    def to_dict(self) -> dict:
        return copy.deepcopy(dataclasses.asdict(self))


class RandomSearch:
    name = "random"
    data_parallel = True  # CPTrainer shards every batch (random-pick: nothing to shard)

    def trainer(self, config, data, device, dist=SINGLE) -> CPTrainer:
        return CPTrainer(config, data, device, dist)

    def start(self, config) -> RandomState:
        return RandomState()

    def state_from_dict(self, data: dict) -> RandomState:
        return RandomState(**copy.deepcopy(data))

    def run(self, ctx) -> dict[str, str] | None:
        st, cfg, space = ctx.loop, ctx.config, ctx.config.space
        if not st.started:
            ctx.emit(events.RoundStarted, {"round": 0, "K": len(space.ops),
                                       "alive": {e: list(space.ops) for e in space.edges}})
            st.started = True
        while st.done < cfg.n_samples:
            if ctx.should_stop():
                return None
            s = st.done
            arch = uniform_arch(space, ctx.rng)
            res = ctx.evaluate(0, 0, s, arch)
            emit_sample(ctx.emit, 0, 0, s, arch, res,
                        indicator(res.child_acc, res.parent_acc, cfg.beta))
            st.done += 1
            ctx.checkpoint(st, 0, 0, s)
        if st.best is None:
            self._score(ctx, st)
        return genotype_arch(parse_genotype(st.best), space)

    def _score(self, ctx, st: RandomState) -> None:
        cfg, space = ctx.config, ctx.config.space
        zs: dict[str, dict[str, list[float]]] = {e: {} for e in space.edges}
        best, best_z = None, None
        for _ in range(CANDIDATES):
            geno = random_genotype(ctx.rng, space.ops, space.nodes)
            arch = genotype_arch(geno, space)
            z = indicator(*ctx.trainer.accuracy(arch), cfg.beta)
            for e, op in arch.items():
                zs[e].setdefault(op, []).append(z)
            if best_z is None or z > best_z:
                best, best_z = geno, z
        zbar, evs = round_scores(zs)
        ctx.emit(events.RoundScored, {"round": 0, "zbar": zbar, "ev": evs})
        st.best, st.best_z, st.scored = str(best), best_z, zbar

    def derive(self, state: RandomState, stream, survivors, config):
        return _kept(parse_genotype(state.best), survivors, state.best_z)


class RandomPick(RandomSearch):
    name = "random-pick"

    def trainer(self, config, data, device, dist=SINGLE) -> _NoTraining:
        return _NoTraining()

    def run(self, ctx) -> dict[str, str] | None:
        st, space = ctx.loop, ctx.config.space
        if st.best is None:
            st.best = str(random_genotype(ctx.rng, space.ops, space.nodes))
        return genotype_arch(parse_genotype(st.best), space)


class _NoTraining:
    """random-pick's trainer: it trains nothing (a warm-up is skipped too)."""

    steps_per_sample = 0

    def warm_up(self, *args) -> None:
        pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state) -> None:
        pass


def _kept(geno: Genotype, survivors: dict[str, str], z: float | None):
    """The genotype and the GenotypeDerived ``edges`` payload: every edge of the path."""
    score = 0.0 if z is None else z  # random-pick scores nothing (events hold no NaN)
    edges = {e: {"op": op, "ev": score, "zbar": score, "selected": op != "none"}
             for e, op in survivors.items()}
    return geno, edges


def emit_sample(emit, rnd: int, t: int, s: int, arch: dict[str, str], res, z: float) -> None:
    """SampleTrained for one trained sample and its score ``z``."""
    emit(events.SampleTrained, {
        "round": rnd, "t": t, "s": s, "arch": arch,
        "child_loss": res.child_loss, "parent_loss": res.parent_loss,
        "child_acc": res.child_acc, "parent_acc": res.parent_acc,
        "z": z, "seconds": res.seconds,
    })


STRATEGY = {"random": RandomSearch(), "random-pick": RandomPick()}
