"""Training during the search: the child/parent step (:class:`CPTrainer`) on a sampled
architecture of the two supernets. The final training of a genotype is :mod:`cpnas.final`.

Nothing here touches global state: models, optimizers, the data-order generator and the
center-loss buffer live on the trainer, so a data-parallel search runs one trainer per
rank (torchrun; cpnas.distributed shards each batch, rank 0 alone writes events and
checkpoints).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .batches import Batches
from .config import SearchConfig
from .data import Dataset
from .distributed import SINGLE, Dist, sync_batchnorm
from .errors import ConfigError
from .loop import SampleResult
from .loss import CenterLoss, ConvPair, binary_pairs, child_loss
from .model import SuperNet
from .ops import OpSpec
from .optim import augment, lr_at, make_optimizer, set_lr
from .runs.checkpoint import pack_tensors, unpack_tensors
from .space import edge_id

PROGRESS_PER_SAMPLE = 4  # Progress events per sample, at fixed steps (deterministic)


def progress_every(steps: int) -> int:
    return max(1, steps // PROGRESS_PER_SAMPLE)


def set_determinism(on: bool, device: torch.device) -> None:
    """``deterministic``: deterministic kernels (cuDNN, cuBLAS, scatter-adds), so a resume is
    exact on CUDA too; process-wide, as torch's switch is."""
    if not on:
        return
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True)


class Stopped(Exception):
    """Raised between steps when a stop was asked for; the partial sample is abandoned."""


class CPTrainer:
    """One child (1-bit) and one parent (full precision) supernet trained side by side."""

    def __init__(self, config: SearchConfig, data: Dataset, device: torch.device,
                 dist: Dist = SINGLE) -> None:
        self.config, self.data, self.device, self.dist = config, data, device, dist
        if dist.active and min(config.batch_size, len(data.y_train)) % dist.world_size:
            raise ConfigError(f"batch_size: must be divisible by the {dist.world_size} processes, "
                              f"got {config.batch_size}")
        set_determinism(config.deterministic, device)
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
        self.child_opt = self._optimizer(self.child)
        self.parent_opt = self._optimizer(self.parent)
        self.batches = Batches(len(data.y_train), config.batch_size, config.seed)
        self.augment_gen = torch.Generator().manual_seed(config.seed + 1)
        self.steps_done = 0  # the learning rate is a function of it (cpnas.optim.lr_at)
        self._pairs: dict[tuple, list[ConvPair]] = {}

    def keep_only(self, alive: Mapping[str, Iterable[str]]) -> None:
        """Free the weights and optimizer state of every op that is no longer alive on its edge
        (``free_pruned``; the op never runs again, so no number changes). Idempotent; a resume
        calls it before loading the checkpoint, which holds the alive ops' state only."""
        if not self.config.free_pruned:
            return
        for net, opt in ((self.child, self.child_opt), (self.parent, self.parent_opt)):
            gone: set[int] = set()
            for cell in net.cells:
                for name, ops in cell.edges.items():
                    keep = alive[edge_id(cell.kind, *map(int, name.split("_")))]
                    for op in [o for o in ops if o not in keep]:
                        gone.update(id(p) for p in ops[op].parameters())
                        del ops[op]
            if gone:
                _drop_params(opt, gone)
        self._pairs = {k: v for k, v in self._pairs.items() if k[3] in alive[k[4]]}

    def _optimizer(self, net: nn.Module) -> torch.optim.Optimizer:
        c = self.config
        return make_optimizer(c.optimizer, net.parameters(), c.lr, c.momentum, c.weight_decay,
                              fused=c.fused_adam)

    @property
    def total_steps(self) -> int:
        """The steps the learning-rate schedule spans: the supernet warm-up's (``warm_up``
        takes CP steps too) and every sample's (``lr_span_warmup: false``: the samples' only)."""
        c = self.config
        return (c.warmup_steps if c.lr_span_warmup else 0) + c.n_samples * self.steps_per_sample

    def lr(self, step: int) -> float:
        c = self.config
        return lr_at(step, self.total_steps, c.lr, c.lr_schedule, c.lr_min, c.lr_warmup_steps)

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's shard of the global batch ``idx`` on the device, augmented when the
        config asks (the draws are made for the whole global batch, then sharded)."""
        rows = self.dist.shard(len(idx))
        local = idx[rows].to(self.device, non_blocking=True)
        x, y = self.data.x_train[local], self.data.y_train[local]
        if self.config.augment:
            x = augment(x, len(idx), rows, self.augment_gen, crop_flip=True)
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    def _net(self, spec: OpSpec, binary: bool) -> SuperNet:
        c = self.config
        s = OpSpec(binary=binary, shortcut=spec.shortcut, batch_stats=spec.batch_stats)
        net = SuperNet(c.space, self.data.in_channels, self.data.num_classes, c.channels,
                       c.cells, s, fp_preprocess=c.fp_preprocess,
                       distinct_inputs=c.distinct_inputs)
        net = sync_batchnorm(net, self.device, self.dist, c.sync_bn).to(self.device)
        return net.to(memory_format=torch.channels_last) if c.channels_last else net

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
                key = (i, src, dst, op, edge_id(cc.kind, src, dst))
                if key not in self._pairs:
                    name = f"{src}_{dst}"
                    self._pairs[key] = binary_pairs(cc.edges[name][op], pc.edges[name][op])
                out.extend(self._pairs[key])
            if not self.config.fp_preprocess:
                for pre in ("pre0", "pre1"):
                    out.extend(binary_pairs(getattr(cc, pre), getattr(pc, pre)))
        return out

    def step(self, arch: Mapping[str, str], idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of child and parent on the same batch; returns their training losses as
        detached device tensors (reading them is a host sync; ``train_sample`` does it at the
        Progress steps and once at the end of the sample)."""
        x, y = self.batch(idx)
        set_lr((self.child_opt, self.parent_opt), self.lr(self.steps_done))
        self.steps_done += 1
        _set_mode(self.child, True)
        _set_mode(self.parent, True)
        self.child_opt.zero_grad(set_to_none=True)
        self.parent_opt.zero_grad(set_to_none=True)
        with self._autocast():
            p_logits, _ = self.parent(x, arch)
            p_loss = F.cross_entropy(p_logits, y)  # L_parent = CE (Eq. 4.18)
            c_logits, feats = self.child(x, arch)
            c_loss = child_loss(F.cross_entropy(c_logits, y), self.pairs(arch), feats, y,
                                self.centers, self.config.theta, self.config.lam)  # Eq. 4.17
        (c_loss + p_loss).backward()  # disjoint graphs: the parent's filters are detached
        self.dist.average_gradients([*self.child.parameters(), *self.parent.parameters()])
        self.child_opt.step()
        self.parent_opt.step()
        if self.config.lam:
            self.centers.update(self.dist.gather(feats.detach()), self.dist.gather(y))
        return c_loss.detach(), p_loss.detach()

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16,
                              enabled=self.config.precision == "bf16")

    @torch.no_grad()
    def accuracy(self, arch: Mapping[str, str], chunk: int = 1024) -> tuple[float, float]:
        """Validation accuracy of child and parent on the same arch (Algorithm 9), in chunks
        of the validation split; each rank scores its shard of every chunk and the counts are
        summed. (BN takes its statistics from the evaluated batch by default: with ``sync_bn``
        the shards of a chunk are normalised together, as one process normalises the chunk,
        and every rank runs the same number of chunks.)"""
        _set_mode(self.child, False)
        _set_mode(self.parent, False)
        n = len(self.data.y_val)
        right = torch.zeros(2, dtype=torch.int64, device=self.device)
        with self._autocast():
            for i in range(0, n, chunk):
                rows = self.dist.shard(min(chunk, n - i))
                xb = self.data.x_val[i + rows.start:i + rows.stop]
                yb = self.data.y_val[i + rows.start:i + rows.stop]
                for j, net in enumerate((self.child, self.parent)):
                    right[j] += (net(xb, arch)[0].argmax(1) == yb).sum()
        c, p = self.dist.sum(right).tolist()  # the one host sync of the validation
        return c / n, p / n

    def train_sample(self, arch: Mapping[str, str],
                     on_step: Callable[[int, int, float, float], None] = lambda *a: None,
                     should_stop: Callable[[], bool] = lambda: False) -> SampleResult:
        """Train both nets on ``arch`` for one sample epoch, then validate both.

        ``on_step`` gets the global batch's losses (the ranks' means averaged) at the Progress
        steps only (reading a loss waits for the device); the outcome's losses are the means
        over every step and every rank, read once at the end of the sample.
        """
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
        every = progress_every(steps)
        sums = torch.zeros(2, dtype=torch.float64, device=self.device)  # as Python floats summed
        for i, idx in enumerate(self.batches.take(steps)):
            if should_stop():
                raise Stopped
            c, p = self.step(arch, idx)
            sums[0] += c.double()
            sums[1] += p.double()
            if (i + 1) % every == 0 or i + 1 == steps:
                if self.dist.active:  # the global batch's, as one process reports it
                    c, p = self.dist.sum(torch.stack([c, p]).float()) / self.dist.world_size
                on_step(i + 1, steps, float(c), float(p))
        self.dist.take_buffers(self.child, self.parent, self.centers)
        c_mean, p_mean = (self.dist.sum(sums) / (steps * self.dist.world_size)).tolist()
        return c_mean, p_mean

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
                             "data_order": self.batches.generator.get_state(),
                             "augment_order": self.augment_gen.get_state(),
                             "steps_done": self.steps_done})

    def load_state_dict(self, state: Mapping) -> None:
        state = unpack_tensors(state)  # a packed state, or the plain one of older checkpoints
        self.child.load_state_dict(state["child"])
        self.parent.load_state_dict(state["parent"])
        self.child_opt.load_state_dict(state["child_opt"])
        self.parent_opt.load_state_dict(state["parent_opt"])
        self.centers.load_state_dict(state["centers"])
        self.batches.generator.set_state(state["data_order"])
        if "augment_order" in state:  # absent from checkpoints written before it existed
            self.augment_gen.set_state(state["augment_order"])
        self.steps_done = int(state.get("steps_done", 0))


def _drop_params(opt: torch.optim.Optimizer, ids: set[int]) -> None:
    """Remove parameters (by id) and their state from ``opt``; the order of the rest is kept,
    so an optimizer state_dict saved after the drop loads into a fresh one dropped alike."""
    for group in opt.param_groups:
        group["params"] = [p for p in group["params"] if id(p) not in ids]
    for p in [p for p in opt.state if id(p) in ids]:
        del opt.state[p]


def _set_mode(net: nn.Module, training: bool) -> None:
    # train()/eval() walk every module of the supernet (every op on every edge): thousands
    # of calls per step, ~5% of the teaching search (cProfile). Walk only on a change; the
    # search sets modes only through the root, so its flag speaks for the whole tree.
    if net.training != training:
        net.train(training)
