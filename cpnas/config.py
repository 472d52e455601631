"""``SearchConfig``: every knob of a search, validated once, JSON in and out.

Defaults are the teaching search on digits (docs/method.md): 8 ops, 4 nodes, T = 2 (so 70
sampled architectures, and each op gets two z's per round), 2 steps of 128 per sample, no
warm-up, sweep scoring, fused Adam (docs/method.md "Signal"). The "make the 1-bit child
learn" choices are fields, so each departure from the book's Fig. 4.8 can be switched off
(docs/method.md).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import limits
from .errors import ConfigError
from .registry import op_facts
from .shape import n_samples
from .space import PRIMITIVES, SearchSpace
from .strategies import STRATEGIES

DEVICES = ("auto", "cpu", "cuda")
OPTIMIZERS = ("adam", "sgd")
GENOTYPE_MODES = ("darts", "top2", "all")
PRECISIONS = ("fp32", "bf16")
SCHEDULES = ("constant", "cosine")
# When a round's samples are validated (docs/method.md "Signal"): right after each one's own
# training, after its sweep's K trainings, or after all the round's T * K trainings.
SCORINGS = ("sample", "sweep", "round")

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
    "data_seed": None,  # None: the split follows ``seed`` (before: one seed for both)
    "distinct_inputs": False,  # the first cell read the stem output as both inputs
    "child_from_parent": False,  # child and parent were initialised independently
    "warmup_steps": 0,  # round 0 started on untrained supernets
    "scoring": "sample",  # each sample was validated right after its own training
    "strategy": "cpnas",  # the only search there was
    "fused_adam": False,  # torch's per-parameter Adam: the same update up to float rounding
    # -- several processes (docs/scale.md) --
    # batch norm over the global batch; one process is unchanged by it (before it, CPU
    # ranks normalised their shards: such a run's resume now syncs and is not bit-exact)
    "sync_bn": True,
    # the lr schedule's length counted the samples' steps only, not the supernet warm-up's,
    # so a cosine reached lr_min warmup_steps before the end
    "lr_span_warmup": False,
    # -- live views (docs/dashboard.md) --
    "announce_samples": False,  # no SampleStarted: a sample was known once validated
}

# Keys a release wrote that a later one renamed: old key -> (new key, {old value: new value}).
# A config that holds the old key reads as the new one; the run id is computed with the old
# key wherever the value has an old spelling, so those runs keep their ids (run_id_fields).
RENAMED: dict[str, tuple[str, dict[Any, Any]]] = {
    "score_per_sweep": ("scoring", {False: "sample", True: "sweep"}),
}

# The format of a config as a run stores it (config.json, checkpoint, SearchStarted). A stored
# config carries it as "config_version"; one without it is version 1.
CONFIG_VERSION = 1
VERSION_KEY = "config_version"

# (key, lowest, highest) of the integer keys; the highest is there so that a size that cannot
# fit is refused up front, with the limit named, not after minutes of building.
_INT_BOUNDS = (("nodes", 1, limits.MAX_NODES), ("cells", 1, limits.MAX_CELLS),
               ("channels", 1, limits.MAX_CHANNELS), ("repeats", 1, limits.MAX_REPEATS),
               ("batch_size", 1, limits.MAX_BATCH_SIZE), ("seed", 0, limits.MAX_SEED))


@dataclass(frozen=True)
class SearchConfig:
    data: str = "digits"  # "digits" | "synthetic[:n]" | "cifar10:<folder>" | a folder path
    ops: tuple[str, ...] = PRIMITIVES
    nodes: int = 4
    cells: int = 2  # normal + reduce: 8x8 digits need no deeper net (docs/benchmarks.md)
    channels: int = 8
    repeats: int = 2  # T: sweeps per round (Algorithm 9); T >= 2 gives each op its own evidence
    sample_steps: int | None = 2  # training steps per sampled arch; None = one epoch
    batch_size: int = 128  # 2 steps of 128 per sample: more updates for the cost (docs/benchmarks.md)
    lr: float = 0.003
    beta: float = 0.5  # beta_P of Eq. 4.15
    theta: float = 0.5  # filter MSE weight of Eq. 4.17 (0 = off)
    lam: float = 0.001  # center loss weight of Eq. 4.17 (0 = off)
    seed: int = 0
    device: str = "auto"
    # -- "making the 1-bit child learn" (docs/method.md); False restores the book's choice --------
    optimizer: str = "adam"  # the book's DARTS lineage uses "sgd"
    shortcut: bool = True  # Bi-Real real-valued shortcut around stride-1 conv ops
    bn_batch_stats: bool = True  # BN statistics from the evaluated batch, not running stats
    fp_preprocess: bool = True  # the cells' 1x1 preprocessing convs stay full precision
    # "darts": two strongest edges per node, each with its best non-none op; "top2": the rule
    # before (none survivors drop their edge); "all": every non-none edge (docs/method.md)
    genotype_mode: str = "darts"
    strategy: str = "cpnas"  # cpnas | random | random-pick | darts (cpnas.strategies)
    # -- signal (issue 10, docs/method.md "Signal"); LEGACY holds each key's old behaviour --
    data_seed: int | None = 0  # train/val/test split; None = follow ``seed``
    distinct_inputs: bool = True  # a second stem stage, so the first cell's inputs differ
    child_from_parent: bool = True  # the child starts from the parent's weights (Eq. 4.17)
    warmup_steps: int = 0  # uniform single-path CP steps (SPOS) before round 0; 64 measured no better
    scoring: str = "sweep"  # sample | sweep | round: when samples are validated (SCORINGS)
    fused_adam: bool = True  # torch's fused Adam kernel: ~5x cheaper than ~10 ops per parameter
    # -- the paper-scale training recipe (docs/scale.md; presets in cpnas/presets) ----------
    momentum: float = 0.9  # SGD only
    weight_decay: float | None = None  # None: Adam 0, SGD 3e-4 (DARTS)
    lr_schedule: str = "constant"  # or "cosine", over the whole search's steps
    lr_min: float = 0.0  # where the cosine ends
    lr_warmup_steps: int = 0  # linear learning-rate warm-up (not a supernet warm-up)
    augment: bool = False  # random crop (pad side/8) + horizontal flip, on the device
    val_fraction: float = 0.25  # of the non-test images (cpnas.data.VAL_FRACTION), scores the search
    free_pruned: bool = True  # drop pruned ops' weights + optimizer state (False keeps them)
    precision: str = "fp32"  # or "bf16": autocast of the forward passes (CUDA and CPU)
    channels_last: bool = False  # NHWC tensors on CUDA (the CPU path is NHWC already)
    deterministic: bool = False  # deterministic kernels: exact resume on CUDA too
    # -- several processes (docs/scale.md "torchrun") --
    sync_bn: bool = True  # batch norm over the global batch (False: each rank's shard)
    lr_span_warmup: bool = True  # the lr schedule spans the warm-up steps and the samples' steps
    # -- live views --
    announce_samples: bool = True  # a SampleStarted event (the architecture) as each sample starts training

    def __post_init__(self) -> None:
        ops = self.ops.split(",") if isinstance(self.ops, str) else self.ops
        if not isinstance(ops, (list, tuple)) or not all(isinstance(o, str) for o in ops):
            raise ConfigError(f"ops: must be a list of op names, got {_short(self.ops)}")
        object.__setattr__(self, "ops", tuple(o.strip() for o in ops))
        _check_ops(self.ops)
        for name, low, high in _INT_BOUNDS:
            check_int(name, getattr(self, name), low, high)
        check_int("warmup_steps", self.warmup_steps, 0, limits.MAX_STEPS)
        if self.data_seed is not None:
            check_int("data_seed", self.data_seed, 0, limits.MAX_SEED)
        if self.sample_steps is not None:
            check_int("sample_steps", self.sample_steps, 1, limits.MAX_STEPS)
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
        _choice("strategy", self.strategy, STRATEGIES)
        _choice("scoring", self.scoring, SCORINGS)
        self._check_recipe()
        for name in ("shortcut", "bn_batch_stats", "fp_preprocess", "augment",
                     "free_pruned", "channels_last", "deterministic", "distinct_inputs",
                     "child_from_parent", "fused_adam", "sync_bn", "lr_span_warmup",
                     "announce_samples"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}: must be true or false, got {_short(getattr(self, name))}")
        if not isinstance(self.data, str):
            raise ConfigError(f"data: must be text, got {_short(self.data)}")
        from .data import check_spec  # data.py loads torch; the config itself stays light

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
        check_int("lr_warmup_steps", self.lr_warmup_steps, 0, limits.MAX_STEPS)
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"val_fraction: must be in (0, 1), got {self.val_fraction}")

    # -- derived ------------------------------------------------------------------------------
    @property
    def space(self) -> SearchSpace:
        return SearchSpace(ops=self.ops, nodes=self.nodes)

    @property
    def split_seed(self) -> int:
        """The seed of the train/val/test split: ``data_seed``, or ``seed`` when it is None."""
        return self.seed if self.data_seed is None else self.data_seed

    @property
    def n_samples(self) -> int:
        """Sampled architectures in the whole search: T * (K + (K-1) + ... + 2)."""
        return n_samples(len(self.ops), self.repeats)

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["ops"] = list(self.ops)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> SearchConfig:
        """A config from keys and values; a stored config's ``config_version`` is checked."""
        if not isinstance(data, dict):
            raise ConfigError(f"config: must be a JSON object, got {type(data).__name__}")
        data = dict(data)
        _check_version(data.pop(VERSION_KEY, CONFIG_VERSION))
        data = _renamed(data, "config")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{unknown[0]}: unknown config key (known: {', '.join(sorted(known))})")
        return cls(**data)

    @classmethod
    def from_json_file(cls, path: str | Path) -> SearchConfig:
        return cls.from_dict(read_json(path))


def preset_names(folder: str = "") -> list[str]:
    """The presets shipped in ``cpnas/presets`` (search configs) or ``cpnas/presets/train``
    (final-training protocols): package data, so a pip install has them."""
    from importlib.resources import files

    where = files("cpnas.presets").joinpath(folder) if folder else files("cpnas.presets")
    return sorted(p.name[:-5] for p in where.iterdir() if p.name.endswith(".json"))


def read_config_source(source: str, folder: str = "") -> dict:
    """The keys of ``source``: a JSON file's path, or the name of a shipped preset (in
    ``cpnas/presets/<folder>``). A file wins over a preset of the same name."""
    from importlib.resources import files

    path = Path(source).expanduser()
    if not path.exists() and source in preset_names(folder):
        where = files("cpnas.presets").joinpath(folder) if folder else files("cpnas.presets")
        return json.loads(where.joinpath(f"{source}.json").read_text(encoding="utf-8"))
    if not path.exists() and "/" not in source and not source.endswith(".json"):
        raise ConfigError(f"config: no file {source!r} and no preset of that name "
                          f"(presets: {', '.join(preset_names(folder))})")
    values = read_json(path)
    if not isinstance(values, dict):
        raise ConfigError("config: the file must hold a JSON object")
    return values


def stored_config(data: Any, where: str) -> dict[str, Any]:
    """A config as a run stored it, read the way this release writes it.

    Its format version is checked (a newer one is refused) and dropped, and each key listed
    in :data:`LEGACY` that it lacks takes its old-behaviour value, so an old run compares
    equal to, and keeps the run id of, the same config today. ``where`` names the source in
    the error.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the config must be a JSON object, got {type(data).__name__}")
    data = dict(data)
    try:
        _check_version(data.pop(VERSION_KEY, CONFIG_VERSION))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    data = _renamed(data, where)
    return {**{k: v for k, v in LEGACY.items() if k not in data}, **data}


def _renamed(data: dict[str, Any], where: str) -> dict[str, Any]:
    """``data`` with each :data:`RENAMED` old key replaced by its new key and value."""
    for old, (new, values) in RENAMED.items():
        if old not in data:
            continue
        value = data.pop(old)
        if not any(type(value) is type(k) and value == k for k in values):
            raise ConfigError(f"{where}: {old}: must be one of "
                              f"{', '.join(json.dumps(v) for v in values)}, got {_short(value)} "
                              f"(it is now {new!r})")
        if new in data and data[new] != values[value]:
            raise ConfigError(f"{where}: {old} ({json.dumps(value)}) and {new} "
                              f"({_short(data[new])}) disagree; give {new} only")
        data[new] = values[value]
    return data


def run_id_fields(config: dict[str, Any]) -> dict[str, Any]:
    """The keys a run id digests: a key at its :data:`LEGACY` value is left out, and a renamed
    key whose value has an old spelling is written as the old key (:data:`RENAMED`), so a
    run that an older release wrote keeps its id."""
    fields = {k: v for k, v in config.items() if not (k in LEGACY and v == LEGACY[k])}
    for old, (new, values) in RENAMED.items():
        spelled = {v: k for k, v in values.items()}
        if new in fields and fields[new] in spelled:
            fields[old] = spelled[fields.pop(new)]
    return fields


def to_stored(config: dict[str, Any]) -> dict[str, Any]:
    """What a run stores: the config with its format version."""
    return {VERSION_KEY: CONFIG_VERSION, **config}


def _check_version(version: Any) -> None:
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"{VERSION_KEY}: must be an integer >= 1, got {version!r}")
    if version > CONFIG_VERSION:
        raise ConfigError(f"{VERSION_KEY}: {version} was written by a newer cpnas; this one "
                          f"reads up to {CONFIG_VERSION} (upgrade cpnas)")


def read_json(path: str | Path) -> Any:
    from .reading import NotReadable, read_regular_text

    p = Path(path)
    try:
        return json.loads(read_regular_text(p, limits.MAX_FILE_BYTES))  # no device or FIFO
    except NotReadable as exc:
        raise ConfigError(f"config: {str(p)!r}: {exc}; a config is a JSON file of a few "
                          "hundred bytes") from None
    except FileNotFoundError:
        raise ConfigError(f"config: file {str(p)!r} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config: cannot read {str(p)!r} ({exc.__class__.__name__})") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config: {str(p)!r} is not JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise ConfigError(f"config: {str(p)!r} is nested too deeply to be a config") from None
    except ValueError as exc:  # Python's limit on the digits of an integer
        raise ConfigError(f"config: {str(p)!r}: {exc}") from None


def _check_ops(ops: tuple[str, ...]) -> None:
    if not ops or ops == ("",):
        raise ConfigError("ops: the op set is empty; give at least 2 ops")
    for op in ops:
        try:
            op_facts(op)
        except ConfigError as exc:
            raise ConfigError(f"ops: {exc}") from None
    if len(set(ops)) != len(ops):
        raise ConfigError(f"ops: duplicate op names in {list(ops)}")
    if len(ops) < 2:
        raise ConfigError("ops: give at least 2 ops, or there is nothing to search")


def check_int(name: str, value: Any, low: int, high: int) -> None:
    """Refuse ``value`` unless it is an integer in [low, high]; the message names the bound."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{name}: must be an integer >= {low}, got {_short(value)}")
    if value > high:
        raise ConfigError(f"{name}: {_short(value)} is over the limit of {high} "
                          "(cpnas.limits)")


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 200 else "a huge number"
    return text if len(text) <= 60 else text[:57] + "..."


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name}: must be a number, got {_short(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer too big for a float
        number = math.inf
    if not math.isfinite(number):
        raise ConfigError(f"{name}: must be finite, got {_short(value)}")
    return number


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}: must be one of {', '.join(allowed)}, got {_short(value)}")
