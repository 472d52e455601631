"""Data parallelism under torchrun: who this process is, the collectives, the rank-0 gate.

``torchrun --nproc_per_node N -m cpnas search ...`` starts N copies of the command. Each one:

- builds the same supernets from the same seed and samples the same architectures (every
  random draw comes from generators seeded alike and advanced alike);
- trains on its shard of every global batch; gradients are averaged with one all-reduce per
  dtype per step (:meth:`Dist.average_gradients`), so the weights stay identical;
- evaluates its shard of the validation split and sums the right answers across ranks;
- after every sample takes rank 0's buffers (BN running statistics, the center-loss
  centers), so every rank holds exactly rank 0's state, and a checkpoint of rank 0 restores
  all of them.

Rank 0 alone writes events, the checkpoint and the genotype; a resume reads the checkpoint on
rank 0 and broadcasts it, so the other ranks need no shared file system.

Batch norm normalises with the statistics of the global batch (``sync_bn``, on by default):
on GPUs the models use torch's ``SyncBatchNorm``; torch has no CPU implementation of it, so
on CPU (gloo) :class:`CpuSyncBatchNorm` takes its place. With the same global batch, a
search in 2 processes then computes what one process computes, up to float rounding.
``sync_bn: false`` normalises each rank's shard ("ghost batch norm").
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as tdist
from torch import nn


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def shard(self, n: int) -> slice:
        """The rows of an ``n``-row global batch this rank handles (contiguous, near-equal)."""
        return slice(self.rank * n // self.world_size, (self.rank + 1) * n // self.world_size)

    # -- collectives (no-ops in a single process) ----------------------------------------------
    def average_gradients(self, params: Iterable[nn.Parameter]) -> None:
        """Average the gradients of ``params`` across ranks: one flat all-reduce per dtype."""
        if not self.active:
            return
        grads = [p.grad for p in params if p.grad is not None]
        for dtype in sorted({g.dtype for g in grads}, key=str):
            same = [g for g in grads if g.dtype == dtype]
            flat = torch.cat([g.reshape(-1) for g in same])
            tdist.all_reduce(flat)
            flat /= self.world_size
            offset = 0
            for g in same:
                g.copy_(flat[offset:offset + g.numel()].view_as(g))
                offset += g.numel()

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        if self.active:
            tdist.all_reduce(values)
        return values

    def gather(self, t: torch.Tensor) -> torch.Tensor:
        """Every rank's ``t`` (same shape on every rank), concatenated in rank order."""
        if not self.active:
            return t
        parts = [torch.empty_like(t) for _ in range(self.world_size)]
        tdist.all_gather(parts, t.contiguous())
        return torch.cat(parts)

    def take_buffers(self, *modules: nn.Module) -> None:
        """Every rank takes rank 0's buffers (BN running stats, center-loss centers)."""
        if not self.active:
            return
        for m in modules:
            for b in m.buffers():
                tdist.broadcast(b, 0)

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on any (a stop asked of one rank)."""
        if not self.active:
            return flag
        device = "cuda" if tdist.get_backend() == "nccl" else "cpu"
        t = torch.tensor([int(flag)], device=device)
        tdist.all_reduce(t, op=tdist.ReduceOp.MAX)
        return bool(t.item())

    def from_main(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (pickled; for the resume state, once)."""
        if not self.active:
            return obj
        box = [obj if self.is_main else None]
        tdist.broadcast_object_list(box, 0)
        return box[0]

    def barrier(self) -> None:
        if self.active:
            tdist.barrier()

    @contextlib.contextmanager
    def main_first(self):
        """Rank 0 runs the block first (a download into the cache), then the other ranks."""
        if not self.is_main:
            self.barrier()
        yield
        if self.is_main:
            self.barrier()


SINGLE = Dist()
LEAVE_TIMEOUT_S = 30  # how long shutdown() waits for the other ranks to leave with it


def from_env() -> Dist:
    """The rank and world size torchrun put in the environment (a plain run is rank 0 of 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE
    return Dist(rank=int(os.environ["RANK"]), world_size=world,
                local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def current() -> Dist:
    """This process's place in the initialised process group (rank 0 of 1 when there is none)."""
    if tdist.is_available() and tdist.is_initialized():
        return Dist(rank=tdist.get_rank(), world_size=tdist.get_world_size(),
                    local_rank=int(os.environ.get("LOCAL_RANK", "0")))
    return SINGLE


def init(device: str) -> Dist:
    """Join torchrun's process group (NCCL for CUDA, gloo for CPU) when launched by torchrun;
    on CUDA each rank takes the GPU of its local rank. Returns this process's :class:`Dist`."""
    me = from_env()
    if not me.active or tdist.is_initialized():
        return current()
    cuda = device in ("cuda", "auto") and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(me.local_rank)
    tdist.init_process_group(backend="nccl" if cuda else "gloo")
    return current()


def shutdown() -> None:
    """Leave the process group; a group whose peers or launcher are gone is left anyway."""
    if tdist.is_available() and tdist.is_initialized():
        # Leave together: a gloo rank that tore its group down while its peer still worked
        # (rank 0 writing its files) aborted now and then ("terminate called without an active
        # exception", SIGABRT). Bounded: a peer that is gone or stuck ends the wait.
        if tdist.get_backend() == "gloo":
            with contextlib.suppress(RuntimeError, OSError):
                tdist.monitored_barrier(timeout=datetime.timedelta(seconds=LEAVE_TIMEOUT_S))
        try:
            tdist.destroy_process_group()
        except (RuntimeError, OSError):  # the store lived in the launcher, now gone
            pass


# what gloo (and NCCL) say when the process at the other end of a connection has died
_LOST = ("Connection closed by peer", "Connection reset by peer", "Broken pipe",
         "connection closed", "Connection refused", "NCCL communicator was aborted")


def peer_lost(exc: BaseException, me: Dist):
    """A collective that failed because another rank died, as one line naming the lost rank
    (:class:`~cpnas.errors.PeerLostError`); None for any other error (a bug stays one)."""
    from .errors import PeerLostError

    if not me.active or not isinstance(exc, RuntimeError):
        return None
    text = " ".join(str(exc).split())
    if not any(s in text for s in _LOST):
        return None
    reason = next(s for s in _LOST if s in text)
    others = [r for r in range(me.world_size) if r != me.rank]
    who = (f"rank {others[0]}" if len(others) == 1
           else f"one of ranks {', '.join(map(str, others))}")
    return PeerLostError(f"{who} was lost ({reason}: its process ended); rank {me.rank} stops "
                         "too: run the same command to resume")


def sync_batchnorm(net: nn.Module, device: torch.device, me: Dist, on: bool = True) -> nn.Module:
    """Batch norm over the global batch when data parallel and ``on``: torch's
    ``SyncBatchNorm`` on CUDA, :class:`CpuSyncBatchNorm` on CPU; ``net`` unchanged otherwise
    (one process, or ``on`` false: each rank normalises its shard)."""
    if not (me.active and on):
        return net
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(net)
    return CpuSyncBatchNorm.convert(net)


class _AllReduce(torch.autograd.Function):
    """A summing all-reduce that autograd differentiates: the backward all-reduces the
    gradient (what ``torch.distributed.nn.functional.all_reduce`` does; that one warns of
    its deprecation in torch 2.13, and its replacement is private)."""

    @staticmethod
    def forward(ctx, t: torch.Tensor) -> torch.Tensor:  # noqa: D102
        t = t.clone(memory_format=torch.contiguous_format)
        tdist.all_reduce(t)
        return t

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return _AllReduce.apply(grad)


class CpuSyncBatchNorm(nn.BatchNorm2d):
    """``BatchNorm2d`` whose batch statistics are the global batch's, for gloo on CPU.

    Each rank computes its shard's per-channel mean and variance (``var_mean``: stable), turns
    them into count, sum and sum of squares in float64, and one differentiable all-reduce
    (:class:`_AllReduce`, whose backward all-reduces the gradients) sums them over the ranks, so both the output and the backward are those of
    ``BatchNorm2d`` over the whole global batch. Running statistics are updated from the
    global moments as ``BatchNorm2d`` does (unbiased variance, ``momentum`` or the cumulative
    average). When the running statistics are used (eval with ``track_running_stats``), or
    outside a process group, it is plain ``BatchNorm2d``.

    Every rank must call it the same number of times in the same order (the same sampled
    architecture, the same number of validation chunks): it is a collective.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch_stats = self.training or self.running_mean is None
        if not (batch_stats and tdist.is_initialized() and tdist.get_world_size() > 1):
            return super().forward(x)
        self._check_input_dim(x)
        xf = x.float()  # bf16 under autocast: the statistics in float32 at least
        n_local = xf.numel() // xf.shape[1]
        if n_local:
            var, mean = torch.var_mean(xf, dim=(0, 2, 3), correction=0)
            mean, var = mean.double(), var.double()
            moments = torch.stack([torch.full_like(mean, n_local), n_local * mean,
                                   n_local * (var + mean * mean)])
        else:  # an empty shard adds nothing, but joins the collective
            moments = xf.new_zeros(3, xf.shape[1], dtype=torch.float64)
        count, total, squares = _AllReduce.apply(moments)
        mean = total / count
        var = (squares / count - mean * mean).clamp(min=0.0)
        if self.training and self.track_running_stats:
            self._update_running(mean.detach(), var.detach(), count[0].item())
        # y = x * alpha + beta, alpha = invstd * weight, beta = bias - mean * alpha: torch's
        # CPU kernel's form, so a constant channel lands exactly on ``bias`` as there (a
        # ReLU after it then sees the same sign)
        alpha, mean = torch.rsqrt(var + self.eps).float(), mean.float()
        if self.affine:
            alpha = alpha * self.weight
            beta = self.bias - mean * alpha
        else:
            beta = -mean * alpha
        return (xf * alpha[None, :, None, None] + beta[None, :, None, None]).to(x.dtype)

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, var: torch.Tensor, count: float) -> None:
        self.num_batches_tracked.add_(1)
        m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased = var * (count / max(count - 1.0, 1.0))
        self.running_mean.mul_(1 - m).add_(mean.to(self.running_mean.dtype), alpha=m)
        self.running_var.mul_(1 - m).add_(unbiased.to(self.running_var.dtype), alpha=m)

    @classmethod
    def convert(cls, module: nn.Module) -> nn.Module:
        """``module`` with every ``BatchNorm2d`` replaced by this class, sharing its parameters
        and buffers (as ``SyncBatchNorm.convert_sync_batchnorm`` does)."""
        if type(module) is nn.BatchNorm2d:
            new = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats)
            if module.affine:
                new.weight, new.bias = module.weight, module.bias
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                setattr(new, name, getattr(module, name))
            new.train(module.training)
            return new
        for name, child in module.named_children():
            module._modules[name] = cls.convert(child)
        return module
