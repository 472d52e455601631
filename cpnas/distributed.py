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

Batch norm sees each rank's shard: on GPUs the models use ``SyncBatchNorm`` (statistics over
the global batch); torch has no CPU implementation of it, so on CPU each rank normalises
with its shard's statistics ("ghost batch norm", as DDP without SyncBatchNorm does).
"""

from __future__ import annotations

import contextlib
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
    if tdist.is_available() and tdist.is_initialized():
        tdist.destroy_process_group()


def sync_batchnorm(net: nn.Module, device: torch.device, me: Dist) -> nn.Module:
    """``SyncBatchNorm`` on CUDA when data parallel (global-batch statistics); unchanged
    otherwise (torch has no CPU SyncBatchNorm: ghost batch norm, see the module docs)."""
    if me.active and device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(net)
    return net
