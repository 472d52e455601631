"""Final training (``cpnas train``): a genotype trained from scratch, 1-bit or its
full-precision twin, under a training protocol, in one process or under torchrun.

A :class:`Protocol` is the recipe: the ``teaching`` one (Adam, cosine, 30 epochs, the
search's width and depth) is the default; ``cifar10-paper`` is the evaluation protocol of the
DARTS lineage (momentum SGD with a cosine schedule, crop + flip + cutout, drop-path, an
auxiliary head, 20 cells of 36 channels, 600 epochs). Protocols ship as package data in
``cpnas/presets/train/`` and load by name or path (``--protocol``); docs/scale.md lists
where each value comes from.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import limits
from .batches import Batches
from .config import OPTIMIZERS, check_int, read_config_source
from .data import Dataset
from .distributed import SINGLE, Dist, sync_batchnorm
from .errors import ConfigError
from .genotype import Genotype
from .loss import CenterLoss, binary_pairs, child_loss
from .model import FixedNet
from .ops import OpSpec
from .optim import augment, lr_at, make_optimizer, set_lr


@dataclass(frozen=True)
class Protocol:
    epochs: int = 30
    channels: int | None = None  # None: the search's (the run's config), else 8
    cells: int | None = None  # None: the search's, else 3
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 0.003
    lr_min: float = 0.0  # the schedule is cosine from lr to lr_min
    momentum: float = 0.9  # SGD only
    weight_decay: float | None = None  # None: Adam 0, SGD 3e-4
    augment: bool = False  # random crop (pad side/8) + horizontal flip
    cutout: int = 0  # side of the cutout square (0 = off)
    drop_path: float = 0.0  # drop-path probability at the last epoch (rises linearly from 0)
    auxiliary: float = 0.0  # weight of the auxiliary head's loss (0 = no head)
    grad_clip: float = 0.0  # max gradient norm (0 = off)
    sync_bn: bool = True  # under torchrun: batch norm over the global batch (docs/scale.md)

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs, 1, limits.MAX_STEPS)
        check_int("batch_size", self.batch_size, 1, limits.MAX_BATCH_SIZE)
        check_int("cutout", self.cutout, 0, limits.MAX_CHANNELS)
        for name, high in (("channels", limits.MAX_CHANNELS), ("cells", limits.MAX_CELLS)):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 1, high)
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer: must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        for name in ("lr", "lr_min", "momentum", "drop_path", "auxiliary", "grad_clip",
                     *(("weight_decay",) if self.weight_decay is not None else ())):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name}: must be a number >= 0, got {value!r}")
        if self.lr <= 0 or self.lr_min > self.lr:
            raise ConfigError(f"lr: must be > 0 and >= lr_min, got lr={self.lr}, lr_min={self.lr_min}")
        if self.momentum >= 1 or self.drop_path >= 1:
            raise ConfigError("momentum, drop_path: must be < 1")
        for name in ("augment", "sync_bn"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}: must be true or false, got {getattr(self, name)!r}")

    @classmethod
    def load(cls, source: str) -> Protocol:
        """A protocol by name (``teaching``, ``cifar10-paper``) or from a JSON file."""
        values = read_config_source(source, folder="train")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{unknown[0]}: unknown protocol key (known: {', '.join(sorted(known))})")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrainResult:
    binary: bool
    epochs: int
    test_acc: float
    val_acc: float
    train_loss: float


def train_genotype(genotype: Genotype, data: Dataset, *, binary: bool = True, epochs: int | None = None,
                   channels: int = 8, cells: int = 3, seed: int = 0,
                   device: torch.device | str = "cpu", fp_preprocess: bool = True,
                   shortcut: bool = True, protocol: Protocol | None = None, dist: Dist = SINGLE,
                   batch_size: int | None = None, lr: float | None = None,
                   distinct_inputs: bool = False, cp_loss: bool = False, theta: float = 0.5,
                   lam: float = 0.001,
                   on_epoch: Callable[[int, float, float], None] = lambda *a: None) -> TrainResult:
    """Train the genotype from scratch (1-bit, or its full-precision twin) and test it.

    ``protocol`` (default: the teaching one) sets the recipe; its ``channels`` / ``cells``,
    when set, win over the arguments; ``epochs``, ``batch_size`` and ``lr`` override the
    protocol's. ``distinct_inputs`` builds the run's two-input stem (docs/method.md "Signal").

    ``cp_loss`` trains the 1-bit network with the search's Child-Parent loss (Eq. 4.17,
    weights ``theta`` and ``lam``): its full-precision parent is trained alongside on the
    same batches (CE), and the child starts from the parent's weights.
    """
    p = protocol or Protocol()
    p = dataclasses.replace(p, epochs=epochs or p.epochs, channels=p.channels or channels,
                            cells=p.cells or cells, batch_size=batch_size or p.batch_size,
                            lr=lr or p.lr)
    device = torch.device(device)
    if dist.active and min(p.batch_size, len(data.y_train)) % dist.world_size:
        raise ConfigError(f"batch_size: must be divisible by the {dist.world_size} processes, "
                          f"got {p.batch_size}")
    threads = torch.get_num_threads()
    try:
        if device.type == "cpu" and data.x_train.shape[-1] <= 16:
            torch.set_num_threads(1)  # tiny images: threads only add synchronisation
        return _Final(genotype, data.to(device), binary, p, seed, device, fp_preprocess,
                      shortcut, dist, distinct_inputs,
                      (theta, lam) if cp_loss and binary else None).run(on_epoch)
    finally:
        torch.set_num_threads(threads)


class _Final:
    def __init__(self, genotype, data, binary, p: Protocol, seed, device, fp_preprocess,
                 shortcut, dist: Dist, distinct_inputs: bool = False,
                 cp: tuple[float, float] | None = None) -> None:
        self.data, self.binary, self.p, self.device, self.dist = data, binary, p, device, dist
        self.cp = cp

        def build(bin_: bool) -> nn.Module:
            spec = OpSpec(binary=bin_, shortcut=shortcut, batch_stats=False)  # running stats
            net = FixedNet(genotype, data.in_channels, data.num_classes, p.channels, p.cells,
                           spec, fp_preprocess=fp_preprocess, auxiliary=p.auxiliary > 0,
                           distinct_inputs=distinct_inputs)
            return sync_batchnorm(net, device, dist, p.sync_bn).to(device)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = build(binary)
            self.parent = build(False) if cp is not None else None
        self.nets = [self.net] + ([self.parent] if self.parent is not None else [])
        if self.parent is not None:
            self.net.load_state_dict(self.parent.state_dict())  # the child starts from its parent
            self.pairs = binary_pairs(self.net, self.parent)
            self.centers = CenterLoss(data.num_classes, self.net.classifier.in_features).to(device)
        self.opts = [make_optimizer(p.optimizer, n.parameters(), p.lr, p.momentum, p.weight_decay)
                     for n in self.nets]
        self.opt = self.opts[0]
        self.batches = Batches(len(data.y_train), p.batch_size, seed)
        self.augment_gen = torch.Generator().manual_seed(seed + 1)

    def run(self, on_epoch) -> TrainResult:
        p, data = self.p, self.data
        total = p.epochs * self.batches.per_epoch
        loss = torch.tensor(math.nan)
        step = 0
        for epoch in range(p.epochs):
            for n in self.nets:
                n.set_drop_path(p.drop_path * epoch / p.epochs)  # DARTS: rises linearly
                n.train()
            for idx in self.batches.take(self.batches.per_epoch):
                set_lr(self.opts, lr_at(step, total, p.lr, "cosine", p.lr_min))
                step += 1
                loss = self._step(idx)
            self.dist.take_buffers(*self.nets)  # BN running statistics: rank 0's on every rank
            on_epoch(epoch + 1, float(loss), self.accuracy(data.x_val, data.y_val))
        return TrainResult(self.binary, p.epochs, self.accuracy(data.x_test, data.y_test),
                           self.accuracy(data.x_val, data.y_val), float(loss))

    def _step(self, idx: torch.Tensor) -> torch.Tensor:
        p = self.p
        rows = self.dist.shard(len(idx))
        local = idx[rows].to(self.device, non_blocking=True)
        x, y = self.data.x_train[local], self.data.y_train[local]
        x = augment(x, len(idx), rows, self.augment_gen, crop_flip=p.augment, cutout=p.cutout)
        for o in self.opts:
            o.zero_grad(set_to_none=True)
        if self.parent is None:
            loss = self._ce(self.net(x), y)
            total = loss
        else:  # Eq. 4.17 for the child, CE for the parent (Eq. 4.18)
            net, aux = self.net, []
            tap = None if net.aux_at is None else (
                lambda i, o: aux.append(net.aux_head(o)) if i == net.aux_at else None)
            feats = net._features(x, net.plans, tap)
            logits = net.classifier(feats)
            ce = F.cross_entropy(logits, y) + (p.auxiliary * F.cross_entropy(aux[0], y) if aux else 0)
            loss = child_loss(ce, self.pairs, feats, y, self.centers, *self.cp)
            total = loss + self._ce(self.parent(x), y)
        total.backward()
        for n, o in zip(self.nets, self.opts):
            self.dist.average_gradients(n.parameters())
            if p.grad_clip:
                nn.utils.clip_grad_norm_(n.parameters(), p.grad_clip)
            o.step()
        if self.parent is not None and self.cp[1]:
            self.centers.update(self.dist.gather(feats.detach()), self.dist.gather(y))
        return loss.detach()

    def _ce(self, out, y: torch.Tensor) -> torch.Tensor:
        if isinstance(out, tuple):  # (logits, auxiliary logits)
            return F.cross_entropy(out[0], y) + self.p.auxiliary * F.cross_entropy(out[1], y)
        return F.cross_entropy(out, y)

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor, y: torch.Tensor, chunk: int = 1024) -> float:
        """Accuracy over ``x``; each rank scores its shard and the counts are summed."""
        self.net.eval()
        rows = self.dist.shard(len(y))
        xs, ys = x[rows], y[rows]
        right = torch.zeros((), dtype=torch.int64, device=self.device)
        for i in range(0, len(ys), chunk):
            right += (self.net(xs[i:i + chunk]).argmax(1) == ys[i:i + chunk]).sum()
        return int(self.dist.sum(right)) / max(1, len(y))
