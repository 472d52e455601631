"""``SearchConfig``: every knob of a search, validated once, JSON in and out.

Defaults are the teaching search on digits (METHOD.md): 8 ops, 4 nodes, T = 1, so 35
sampled architectures. The "make the 1-bit child learn" choices are fields, so each
departure from the book's Fig. 4.8 can be switched off (docs/method.md).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .data import VAL_FRACTION, check_spec
from .errors import ConfigError
from .optim import SCHEDULES
from .space import PRIMITIVES, SearchSpace

DEVICES = ("auto", "cpu", "cuda")
OPTIMIZERS = ("adam", "sgd")
GENOTYPE_MODES = ("top2", "all")
PRECISIONS = ("fp32", "bf16")

# Keys added after the first release, each with the value that reproduces the behaviour from
# before it existed. A stored config.json that lacks such a key takes this value, and the run
# id leaves out a key that holds it, so runs written by an older release keep their ids.
LEGACY: dict[str, Any] = {
    # the paper-scale training recipe (docs/scale.md): before it, SGD had momentum 0.9 and
    # weight decay 3e-4 built in, Adam none; the learning rate was constant, nothing was
    # augmented and a quarter of the non-test images were the validation split.
    "momentum": 0.9,
    "weight_decay": None,
    "lr_schedule": "constant",
    "lr_min": 0.0,
    "lr_warmup_steps": 0,
    "augment": False,
    "val_fraction": 0.25,
    # freeing pruned ops changes no number (they never run again), so old ids stand
    "free_pruned": True,
    # GPU readiness (docs/scale.md): before them, float32, NCHW on CUDA, torch's default kernels
    "precision": "fp32",
    "channels_last": False,
    "deterministic": False,
}


@dataclass(frozen=True)
class SearchConfig:
    data: str = "digits"  # "digits" | "synthetic[:n]" | "cifar10:<folder>" | a folder path
    ops: tuple[str, ...] = PRIMITIVES
    nodes: int = 4
    cells: int = 2  # normal + reduce: 8x8 digits need no deeper net (docs/benchmarks.md)
    channels: int = 8
    repeats: int = 1  # T: sweeps per round (Algorithm 9)
    sample_steps: int | None = None  # training steps per sampled arch; None = one epoch
    batch_size: int = 256  # fewer, larger steps: the cost is per op call, not per image
    lr: float = 0.003
    beta: float = 0.5  # beta_P of Eq. 4.15
    theta: float = 0.5  # filter MSE weight of Eq. 4.17 (0 = off)
    lam: float = 0.001  # center loss weight of Eq. 4.17 (0 = off)
    seed: int = 0
    device: str = "auto"
    # -- "making the 1-bit child learn" (METHOD.md); False restores the book's choice --------
    optimizer: str = "adam"  # the book's DARTS lineage uses "sgd"
    shortcut: bool = True  # Bi-Real real-valued shortcut around stride-1 conv ops
    bn_batch_stats: bool = True  # BN statistics from the evaluated batch, not running stats
    fp_preprocess: bool = True  # the cells' 1x1 preprocessing convs stay full precision
    genotype_mode: str = "top2"  # "top2" (DARTS) or "all" (every non-none edge)
    # -- the paper-scale training recipe (docs/scale.md; presets in cpnas/presets) ----------
    momentum: float = 0.9  # SGD only
    weight_decay: float | None = None  # None: Adam 0, SGD 3e-4 (DARTS)
    lr_schedule: str = "constant"  # or "cosine", over the whole search's steps
    lr_min: float = 0.0  # where the cosine ends
    lr_warmup_steps: int = 0  # linear learning-rate warm-up (not a supernet warm-up)
    augment: bool = False  # random crop (pad side/8) + horizontal flip, on the device
    val_fraction: float = VAL_FRACTION  # of the non-test images, scores the search
    free_pruned: bool = True  # drop pruned ops' weights + optimizer state (False keeps them)
    precision: str = "fp32"  # or "bf16": autocast of the forward passes (CUDA and CPU)
    channels_last: bool = False  # NHWC tensors on CUDA (the CPU path is NHWC already)
    deterministic: bool = False  # deterministic kernels: exact resume on CUDA too

    def __post_init__(self) -> None:
        ops = self.ops.split(",") if isinstance(self.ops, str) else self.ops
        if not isinstance(ops, (list, tuple)) or not all(isinstance(o, str) for o in ops):
            raise ConfigError(f"ops: must be a list of op names, got {self.ops!r}")
        object.__setattr__(self, "ops", tuple(o.strip() for o in ops))
        _check_ops(self.ops)
        for name in ("nodes", "cells", "channels", "repeats", "batch_size"):
            _int_at_least(name, getattr(self, name), 1)
        _int_at_least("seed", self.seed, 0)
        if self.sample_steps is not None:
            _int_at_least("sample_steps", self.sample_steps, 1)
        for name in ("beta", "theta", "lam", "lr"):
            object.__setattr__(self, name, _number(name, getattr(self, name)))
        for name in ("theta", "lam"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: must be >= 0 (0 switches the term off)")
        if self.lr <= 0:
            raise ConfigError(f"lr: must be > 0, got {self.lr}")
        _choice("device", self.device, DEVICES)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("genotype_mode", self.genotype_mode, GENOTYPE_MODES)
        self._check_recipe()
        for name in ("shortcut", "bn_batch_stats", "fp_preprocess", "augment",
                     "free_pruned", "channels_last", "deterministic"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}: must be true or false, got {getattr(self, name)!r}")
        if not isinstance(self.data, str):
            raise ConfigError(f"data: must be text, got {self.data!r}")
        check_spec(self.data)  # DataError naming "data:" for a missing folder

    def _check_recipe(self) -> None:
        for name in ("momentum", "lr_min", "val_fraction"):
            object.__setattr__(self, name, _number(name, getattr(self, name)))
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum: must be in [0, 1), got {self.momentum}")
        if self.weight_decay is not None:
            object.__setattr__(self, "weight_decay", _number("weight_decay", self.weight_decay))
            if self.weight_decay < 0:
                raise ConfigError(f"weight_decay: must be >= 0, got {self.weight_decay}")
        _choice("lr_schedule", self.lr_schedule, SCHEDULES)
        _choice("precision", self.precision, PRECISIONS)
        if not 0 <= self.lr_min <= self.lr:
            raise ConfigError(f"lr_min: must be in [0, lr={self.lr}], got {self.lr_min}")
        _int_at_least("lr_warmup_steps", self.lr_warmup_steps, 0)
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"val_fraction: must be in (0, 1), got {self.val_fraction}")

    # -- derived ------------------------------------------------------------------------------
    @property
    def space(self) -> SearchSpace:
        return SearchSpace(ops=self.ops, nodes=self.nodes)

    @property
    def n_samples(self) -> int:
        """Sampled architectures in the whole search: T * (K + (K-1) + ... + 2)."""
        k = len(self.ops)
        return self.repeats * (k * (k + 1) // 2 - 1)

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["ops"] = list(self.ops)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> SearchConfig:
        if not isinstance(data, dict):
            raise ConfigError(f"config: must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{unknown[0]}: unknown config key (known: {', '.join(sorted(known))})")
        return cls(**data)

    @classmethod
    def from_json_file(cls, path: str | Path) -> SearchConfig:
        return cls.from_dict(read_json(path))


def preset_names() -> list[str]:
    """The presets shipped in ``cpnas/presets`` (package data, so a pip install has them)."""
    from importlib.resources import files

    return sorted(p.name[:-5] for p in files("cpnas.presets").iterdir() if p.name.endswith(".json"))


def read_config_source(source: str) -> dict:
    """The config keys of ``source``: a JSON file's path, or the name of a shipped preset."""
    from importlib.resources import files

    if not Path(source).expanduser().exists() and source in preset_names():
        text = files("cpnas.presets").joinpath(f"{source}.json").read_text(encoding="utf-8")
        return json.loads(text)
    if not Path(source).expanduser().exists() and "/" not in source and not source.endswith(".json"):
        raise ConfigError(f"config: no file {source!r} and no preset of that name "
                          f"(presets: {', '.join(preset_names())})")
    values = read_json(Path(source).expanduser())
    if not isinstance(values, dict):
        raise ConfigError("config: the file must hold a JSON object")
    return values


def read_json(path: str | Path) -> Any:
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config: file {str(p)!r} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config: cannot read {str(p)!r} ({exc.__class__.__name__})") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config: {str(p)!r} is not JSON ({exc.msg}, line {exc.lineno})") from None


def _check_ops(ops: tuple[str, ...]) -> None:
    if not ops or ops == ("",):
        raise ConfigError("ops: the op set is empty; give at least 2 ops")
    unknown = [o for o in ops if o not in PRIMITIVES]
    if unknown:
        raise ConfigError(f"ops: unknown op {unknown[0]!r} (known: {', '.join(PRIMITIVES)})")
    if len(set(ops)) != len(ops):
        raise ConfigError(f"ops: duplicate op names in {list(ops)}")
    if len(ops) < 2:
        raise ConfigError("ops: give at least 2 ops, or there is nothing to search")


def _int_at_least(name: str, value: Any, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{name}: must be an integer >= {low}, got {value!r}")


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name}: must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name}: must be finite, got {value!r}")
    return float(value)


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}: must be one of {', '.join(allowed)}, got {value!r}")
