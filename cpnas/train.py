"""Training: the child/parent step of the search, and the final training of a genotype.

Nothing here touches global state: models, optimizers, the data-order generator and the
center-loss buffer live on the trainer, so a data-parallel search (torchrun, one trainer
per rank, rank 0 alone writing events and checkpoints) can wrap it later.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .binary import BinaryConv2d
from .config import SearchConfig
from .data import Dataset
from .genotype import Genotype
from .loop import SampleResult
from .loss import CenterLoss, ConvPair, child_loss
from .model import FixedNet, SuperNet
from .ops import OpSpec, convs
from .runs.checkpoint import pack_tensors, unpack_tensors


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=3e-4)


class Batches:
    """Shuffled mini-batches from a seeded generator whose state is checkpointable."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.n, self.batch_size = n, min(batch_size, n)
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def per_epoch(self) -> int:
        return max(1, self.n // self.batch_size)  # drop the ragged tail: BN uses batch stats

    def take(self, steps: int) -> list[torch.Tensor]:
        out: list[torch.Tensor] = []
        while len(out) < steps:
            perm = torch.randperm(self.n, generator=self.generator)
            for i in range(self.per_epoch):
                out.append(perm[i * self.batch_size:(i + 1) * self.batch_size])
        return out[:steps]


class Stopped(Exception):
    """Raised between steps when a stop was asked for; the partial sample is abandoned."""


class CPTrainer:
    """One child (1-bit) and one parent (full precision) supernet trained side by side."""

    def __init__(self, config: SearchConfig, data: Dataset, device: torch.device) -> None:
        self.config, self.data, self.device = config, data, device
        spec = OpSpec(binary=False, shortcut=config.shortcut, batch_stats=config.bn_batch_stats)
        with torch.random.fork_rng(devices=[]):  # reproducible init without touching the caller's RNG
            torch.manual_seed(config.seed)
            self.child = self._net(spec, binary=True)
            self.parent = self._net(spec, binary=False)
        if config.child_from_parent:
            # The child starts as the parent's binarization, so Eq. 4.17's filter MSE pairs
            # related filters from the first step (docs/method.md "Signal").
            self.child.load_state_dict(self.parent.state_dict())
        self.centers = CenterLoss(data.num_classes, self.child.feature_dim).to(device)
        self.child_opt = make_optimizer(config.optimizer, self.child.parameters(), config.lr)
        self.parent_opt = make_optimizer(config.optimizer, self.parent.parameters(), config.lr)
        self.batches = Batches(len(data.y_train), config.batch_size, config.seed)
        self._pairs: dict[tuple, list[ConvPair]] = {}

    def _net(self, spec: OpSpec, binary: bool) -> SuperNet:
        c = self.config
        s = OpSpec(binary=binary, shortcut=spec.shortcut, batch_stats=spec.batch_stats)
        return SuperNet(c.space, self.data.in_channels, self.data.num_classes, c.channels,
                        c.cells, s, fp_preprocess=c.fp_preprocess,
                        distinct_inputs=c.distinct_inputs).to(self.device)

    @property
    def steps_per_sample(self) -> int:
        return self.config.sample_steps or self.batches.per_epoch

    # -- the CP step ------------------------------------------------------------------------
    def pairs(self, arch: Mapping[str, str]) -> list[ConvPair]:
        """(child conv, parent conv) for every binarized conv the sampled arch runs."""
        out: list[ConvPair] = []
        for i, chosen in enumerate(self.child.plan(arch)):
            cc, pc = self.child.cells[i], self.parent.cells[i]
            for src, dst, op in chosen:
                if op == "none":
                    continue
                key = (i, src, dst, op)
                if key not in self._pairs:
                    name = f"{src}_{dst}"
                    self._pairs[key] = _binary_pairs(cc.edges[name][op], pc.edges[name][op])
                out.extend(self._pairs[key])
            if not self.config.fp_preprocess:
                for pre in ("pre0", "pre1"):
                    out.extend(_binary_pairs(getattr(cc, pre), getattr(pc, pre)))
        return out

    def step(self, arch: Mapping[str, str], idx: torch.Tensor) -> tuple[float, float]:
        """One step of child and parent on the same batch; returns their training losses."""
        idx = idx.to(self.device)
        x, y = self.data.x_train[idx], self.data.y_train[idx]
        _set_mode(self.child, True)
        _set_mode(self.parent, True)
        self.child_opt.zero_grad(set_to_none=True)
        self.parent_opt.zero_grad(set_to_none=True)
        p_logits, _ = self.parent(x, arch)
        p_loss = F.cross_entropy(p_logits, y)  # L_parent = CE (Eq. 4.18)
        c_logits, feats = self.child(x, arch)
        c_loss = child_loss(F.cross_entropy(c_logits, y), self.pairs(arch), feats, y,
                            self.centers, self.config.theta, self.config.lam)  # Eq. 4.17
        (c_loss + p_loss).backward()  # disjoint graphs: the parent's filters are detached
        self.child_opt.step()
        self.parent_opt.step()
        if self.config.lam:
            self.centers.update(feats, y)
        return float(c_loss.detach()), float(p_loss.detach())

    @torch.no_grad()
    def accuracy(self, arch: Mapping[str, str], chunk: int = 1024) -> tuple[float, float]:
        """Validation accuracy of child and parent on the same arch (Algorithm 9)."""
        _set_mode(self.child, False)
        _set_mode(self.parent, False)
        x, y = self.data.x_val, self.data.y_val
        right = [0, 0]
        for i in range(0, len(y), chunk):
            xb, yb = x[i:i + chunk], y[i:i + chunk]
            for j, net in enumerate((self.child, self.parent)):
                right[j] += int((net(xb, arch)[0].argmax(1) == yb).sum())
        return right[0] / len(y), right[1] / len(y)

    def train_sample(self, arch: Mapping[str, str],
                     on_step: Callable[[int, int, float, float], None] = lambda *a: None,
                     should_stop: Callable[[], bool] = lambda: False) -> SampleResult:
        """Train both nets on ``arch`` for one sample epoch, then validate both."""
        t0 = time.perf_counter()
        c_loss, p_loss = self.train_steps(arch, on_step, should_stop)
        c_acc, p_acc = self.accuracy(arch)
        return SampleResult(child_acc=c_acc, parent_acc=p_acc, child_loss=c_loss,
                            parent_loss=p_loss, seconds=time.perf_counter() - t0)

    def train_steps(self, arch: Mapping[str, str],
                    on_step: Callable[[int, int, float, float], None] = lambda *a: None,
                    should_stop: Callable[[], bool] = lambda: False) -> tuple[float, float]:
        """One sample epoch of CP steps on ``arch``; the mean child and parent training loss."""
        steps = self.steps_per_sample
        c_sum = p_sum = 0.0
        for i, idx in enumerate(self.batches.take(steps)):
            if should_stop():
                raise Stopped
            c, p = self.step(arch, idx)
            c_sum, p_sum = c_sum + c, p_sum + p
            on_step(i + 1, steps, c, p)
        return c_sum / steps, p_sum / steps

    def warm_up(self, steps: int, rng, should_stop: Callable[[], bool] = lambda: False) -> None:
        """``steps`` CP steps, each on a uniformly drawn single path (SPOS) before round 0."""
        from .randomcells import uniform_arch

        for idx in self.batches.take(steps) if steps else []:
            if should_stop():
                raise Stopped
            self.step(uniform_arch(self.config.space, rng), idx)

    # -- checkpoint -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The whole trainer, its tensors packed into one flat buffer per dtype.

        Two supernets and their Adam states are ~4300 small tensors; ``torch.save`` pickles
        each one (0.2-0.35 s per checkpoint, measured), packed it writes a handful.
        """
        return pack_tensors({"child": self.child.state_dict(), "parent": self.parent.state_dict(),
                             "child_opt": self.child_opt.state_dict(),
                             "parent_opt": self.parent_opt.state_dict(),
                             "centers": self.centers.state_dict(),
                             "data_order": self.batches.generator.get_state()})

    def load_state_dict(self, state: Mapping) -> None:
        state = unpack_tensors(state)  # a packed state, or the plain one of older checkpoints
        self.child.load_state_dict(state["child"])
        self.parent.load_state_dict(state["parent"])
        self.child_opt.load_state_dict(state["child_opt"])
        self.parent_opt.load_state_dict(state["parent_opt"])
        self.centers.load_state_dict(state["centers"])
        self.batches.generator.set_state(state["data_order"])


def _set_mode(net: nn.Module, training: bool) -> None:
    # train()/eval() walk every module of the supernet (every op on every edge): thousands
    # of calls per step, ~5% of the teaching search (cProfile). Walk only on a change; the
    # search sets modes only through the root, so its flag speaks for the whole tree.
    if net.training != training:
        net.train(training)


def _binary_pairs(child: nn.Module, parent: nn.Module) -> list[ConvPair]:
    return [(c, p) for c, p in zip(convs(child), convs(parent)) if isinstance(c, BinaryConv2d)]


# -- final training (cpnas train) ------------------------------------------------------------


@dataclass(frozen=True)
class TrainResult:
    binary: bool
    epochs: int
    test_acc: float
    val_acc: float
    train_loss: float


def train_genotype(genotype: Genotype, data: Dataset, *, binary: bool = True, epochs: int = 30,
                   channels: int = 8, cells: int = 3, batch_size: int = 64, lr: float = 0.003,
                   seed: int = 0, device: torch.device | str = "cpu",
                   fp_preprocess: bool = True, shortcut: bool = True,
                   distinct_inputs: bool = False, cp_loss: bool = False, theta: float = 0.5,
                   lam: float = 0.001,
                   on_epoch: Callable[[int, float, float], None] = lambda *a: None) -> TrainResult:
    """Train the genotype from scratch (1-bit, or its full-precision twin) and test it.

    ``cp_loss`` trains the 1-bit network with the search's Child-Parent loss (Eq. 4.17,
    weights ``theta`` and ``lam``): its full-precision parent is trained alongside on the
    same batches (CE), and the child starts from the parent's weights.
    """
    threads = torch.get_num_threads()
    try:
        if torch.device(device).type == "cpu" and data.x_train.shape[-1] <= 16:
            torch.set_num_threads(1)  # tiny images: threads only add synchronisation
        return _train_genotype(genotype, data, binary, epochs, channels, cells, batch_size, lr,
                               seed, torch.device(device), fp_preprocess, shortcut,
                               distinct_inputs, (theta, lam) if cp_loss and binary else None,
                               on_epoch)
    finally:
        torch.set_num_threads(threads)


def _train_genotype(genotype, data, binary, epochs, channels, cells, batch_size, lr, seed,
                    device, fp_preprocess, shortcut, distinct_inputs, cp, on_epoch) -> TrainResult:
    data = data.to(device)

    def build(bin_: bool) -> FixedNet:
        spec = OpSpec(binary=bin_, shortcut=shortcut, batch_stats=False)  # a fixed net: running stats
        return FixedNet(genotype, data.in_channels, data.num_classes, channels, cells, spec,
                        fp_preprocess=fp_preprocess, distinct_inputs=distinct_inputs).to(device)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build(binary)
        parent = build(False) if cp is not None else None
    nets = [net] + ([parent] if parent is not None else [])
    if parent is not None:
        net.load_state_dict(parent.state_dict())  # the child starts from its parent
        pairs = _binary_pairs(net, parent)
        centers = CenterLoss(data.num_classes, net.classifier.in_features).to(device)
    batches = Batches(len(data.y_train), batch_size, seed)
    opts = [torch.optim.Adam(n.parameters(), lr=lr) for n in nets]
    scheds = [torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=epochs * batches.per_epoch)
              for o in opts]
    loss = math.nan
    for epoch in range(epochs):
        for n in nets:
            n.train()
        for idx in batches.take(batches.per_epoch):
            idx = idx.to(device)
            x, y = data.x_train[idx], data.y_train[idx]
            for o in opts:
                o.zero_grad(set_to_none=True)
            if parent is None:
                out = F.cross_entropy(net(x), y)
                total = out
            else:  # Eq. 4.17 for the child, CE for the parent (Eq. 4.18)
                logits, feats = net(x, features=True)
                out = child_loss(F.cross_entropy(logits, y), pairs, feats, y, centers, *cp)
                total = out + F.cross_entropy(parent(x), y)
            total.backward()
            for o, sc in zip(opts, scheds):
                o.step()
                sc.step()
            if parent is not None and cp[1]:
                centers.update(feats, y)
            loss = float(out.detach())
        on_epoch(epoch + 1, loss, _accuracy(net, data.x_val, data.y_val))
    return TrainResult(binary, epochs, _accuracy(net, data.x_test, data.y_test),
                       _accuracy(net, data.x_val, data.y_val), loss)


@torch.no_grad()
def _accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 1024) -> float:
    net.eval()
    right = sum(int((net(x[i:i + chunk]).argmax(1) == y[i:i + chunk]).sum())
                for i in range(0, len(y), chunk))
    return right / max(1, len(y))
