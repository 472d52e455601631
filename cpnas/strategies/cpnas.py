"""The ``cpnas`` strategy: Algorithm 9 as :mod:`cpnas.loop` runs it (the default)."""

from __future__ import annotations

from ..distributed import SINGLE
from ..loop import LoopState, derive_from_events, run_loop
from ..train import CPTrainer


class CPNAS:
    name = "cpnas"
    data_parallel = True  # CPTrainer shards every batch across the processes

    def trainer(self, config, data, device, dist=SINGLE) -> CPTrainer:
        return CPTrainer(config, data, device, dist)

    def start(self, config) -> LoopState:
        return LoopState.start(config.space)

    def state_from_dict(self, data: dict) -> LoopState:
        return LoopState.from_dict(data)

    def run(self, ctx) -> dict[str, str] | None:
        cfg = ctx.config
        ahead = cfg.scoring != "sample"  # train a sweep or a round, then score it (one weights)
        return run_loop(cfg.space, cfg.repeats, cfg.beta, ctx.validate if ahead else ctx.evaluate,
                        ctx.emit, ctx.rng, should_stop=ctx.should_stop, state=ctx.loop,
                        on_sample=ctx.checkpoint, train=ctx.train if ahead else None,
                        train_ahead=cfg.scoring)

    def derive(self, state, stream, survivors, config):
        return derive_from_events(stream, survivors, config.nodes, config.genotype_mode)


STRATEGY = CPNAS()
