"""Search strategies on one 1-bit space, one data set and one training budget.

Every strategy runs inside the engine (:func:`cpnas.search`): the same run directory,
checkpoints, resume and event kinds. What differs is how the supernet is trained and how
the cell is chosen (docs/study.md):

- ``cpnas``: Algorithm 9, the child-parent indicator with the config's beta_P;
- ``random``: a child and a parent supernet trained along uniformly drawn paths for the
  same number of samples, then random genotypes (DARTS rule) scored by the same indicator,
  the best kept (random search with weight sharing, Li & Talwalkar 2019);
- ``random-pick``: one genotype drawn uniformly, no search and no training (the floor);
- ``darts``: first-order DARTS on the binarized supernet (mixed ops, architecture weights).

This module holds the names only (``import cpnas`` stays light); :func:`get` loads one.
A strategy object has ``trainer(config, data, device, dist)``, ``start(config)``,
``state_from_dict(d)``, ``run(ctx)``, ``derive(state, stream, survivors, config)`` and
``data_parallel`` (whether it runs under torchrun: ``cpnas`` and ``random`` shard every
batch across the processes, ``random-pick`` trains nothing, ``darts`` is refused there);
``ctx`` is the engine's run (config, trainer, emit, rng, stop, should_stop, stop_within,
evaluate, checkpoint); ``trainer`` takes the run's ``dist`` (cpnas.distributed).
"""

from __future__ import annotations

import importlib
from typing import Any

STRATEGIES: tuple[str, ...] = ("cpnas", "random", "random-pick", "darts")
# Names a study may use for a strategy at a fixed beta_P (Eq. 4.15 at its two ends).
NAMED_BETAS: dict[str, tuple[str, float]] = {"child-only": ("cpnas", 0.0),
                                             "parent-only": ("cpnas", 1.0)}
_MODULES = {"cpnas": "cpnas", "random": "random", "random-pick": "random", "darts": "darts"}


def check_strategy(strategy: str, me: Any) -> None:
    """Under torchrun (``me``, a :class:`cpnas.distributed.Dist`, is active), a strategy that
    cannot share a search across processes is refused on every rank (``data_parallel``:
    darts), before anything is written."""
    from ..errors import ConfigError

    if me.active and not get(strategy).data_parallel:
        raise ConfigError(f"strategy: {strategy} runs in one process only, got {me.world_size} "
                          "processes (run it without torchrun)")


def get(name: str) -> Any:
    """The strategy object for a config's ``strategy`` value (imports torch)."""
    module = importlib.import_module(f"{__name__}.{_MODULES[name]}")
    return module.STRATEGY[name] if isinstance(module.STRATEGY, dict) else module.STRATEGY


__all__ = ["NAMED_BETAS", "STRATEGIES", "check_strategy", "get"]
