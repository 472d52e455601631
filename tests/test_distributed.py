"""Fast checks of the torchrun plumbing that need no process group (tests/test_torchrun.py
runs real ones): which strategies may run in several processes."""

from __future__ import annotations

import pytest

from cpnas.distributed import SINGLE, Dist
from cpnas.errors import ConfigError
from cpnas.strategies import STRATEGIES, check_strategy


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_only_darts_is_refused_in_several_processes(strategy):
    check_strategy(strategy, SINGLE)  # one process: every strategy
    if strategy == "darts":
        with pytest.raises(ConfigError, match="strategy: darts runs in one process only, got 2"):
            check_strategy(strategy, Dist(rank=1, world_size=2))
    else:
        check_strategy(strategy, Dist(rank=1, world_size=2))
