"""The ``cpnas search`` flags and ``--set KEY=VALUE``, torch-free: the CLI builds its parser
from them and ``cpnas study --list`` writes command lines with them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import ConfigError

# flag -> config key (None default = not given, so a --config file value stands)
SEARCH_FLAGS: list[tuple[str, str, Any, str]] = [
    ("--data", "data", str, "digits | synthetic[:n] | cifar10 | mnist | fashion-mnist (downloaded "
                            "into the cache on first use) | <kind>:<folder> | a CIFAR-10 folder"),
    ("--ops", "ops", str, "comma-separated op names (default: the 8 DARTS ops)"),
    ("--nodes", "nodes", int, "intermediate nodes per cell"),
    ("--cells", "cells", int, "cells in the network"),
    ("--channels", "channels", int, "channels of the first cell"),
    ("--repeats", "repeats", int, "T, sweeps per round"),
    ("--sample-steps", "sample_steps", int, "training steps per sample"),
    ("--batch-size", "batch_size", int, "mini-batch size"),
    ("--lr", "lr", float, "learning rate"),
    ("--beta", "beta", float, "beta_P of Eq. 4.15"),
    ("--theta", "theta", float, "filter MSE weight, Eq. 4.17 (0 = off)"),
    ("--lam", "lam", float, "center loss weight, Eq. 4.17 (0 = off)"),
    ("--seed", "seed", int, "random seed"),
    ("--optimizer", "optimizer", str, "adam | sgd"),
    ("--momentum", "momentum", float, "SGD momentum"),
    ("--weight-decay", "weight_decay", float, "weight decay (default: Adam 0, SGD 3e-4)"),
    ("--lr-schedule", "lr_schedule", str, "constant | cosine (over the whole search)"),
    ("--lr-min", "lr_min", float, "where the cosine schedule ends"),
    ("--lr-warmup-steps", "lr_warmup_steps", int, "linear learning-rate warm-up steps"),
    ("--val-fraction", "val_fraction", float, "share of the non-test images that score the search"),
    ("--strategy", "strategy", str, "cpnas | random | random-pick | darts"),
    ("--warmup-steps", "warmup_steps", int, "uniform single-path CP steps before round 0"),
    ("--scoring", "scoring", str, "when samples are validated: sample (after its own training) | "
                                  "sweep (after its sweep's) | round (after its round's)"),
]


def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` items as config keys; VALUE is read as JSON, else taken as text."""
    import json

    out: dict[str, Any] = {}
    for item in items:
        key, eq, text = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"--set: expected KEY=VALUE, got {item[:60]!r}")
        try:
            out[key.strip()] = json.loads(text)
        except (ValueError, RecursionError):
            out[key.strip()] = text
    return out


def set_value_text(value: Any) -> str:
    """VALUE of a ``--set KEY=VALUE`` that :func:`parse_set` reads back as ``value``."""
    import json

    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value  # plain text stays plain
    return json.dumps(value)


__all__ = ["SEARCH_FLAGS", "parse_set", "set_value_text"]
