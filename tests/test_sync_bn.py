"""The CPU synchronised batch norm (``cpnas.distributed.CpuSyncBatchNorm``): 2 processes on
gloo, each normalising its half of a batch, compute what one ``BatchNorm2d`` computes over the
whole batch: outputs, input and weight gradients, running statistics; in eval mode without
running statistics (the search's default) too. Outside a process group it is BatchNorm2d.
"""

from __future__ import annotations

import pytest
import torch
import torch.distributed as tdist
import torch.multiprocessing as mp
from torch import nn

from cpnas.distributed import SINGLE, CpuSyncBatchNorm, Dist, sync_batchnorm

WORLD, N, C = 2, 12, 5  # rank 1 gets rows 6..11 of a 12-row batch


def _inputs(track: bool):
    gen = torch.Generator().manual_seed(0)
    x = [3.0 + 2.0 * torch.randn(N, C, 4, 4, generator=gen) for _ in range(2)]  # 2 steps
    g = [torch.randn(N, C, 4, 4, generator=gen) for _ in range(2)]  # d loss / d output
    ref = nn.BatchNorm2d(C, momentum=0.3, track_running_stats=track)
    with torch.no_grad():
        ref.weight.copy_(1 + torch.randn(C, generator=gen))
        ref.bias.copy_(torch.randn(C, generator=gen))
    return x, g, ref


def _run(bn: nn.Module, x, g, rows: slice):
    """Two training steps, then eval; per step the output, d x and d weight / bias."""
    out = []
    for xs, gs in zip(x, g):
        xs = xs[rows].clone().requires_grad_()
        bn.weight.grad = bn.bias.grad = None
        y = bn.train()(xs)
        (y * gs[rows]).sum().backward()
        out.append((y.detach(), xs.grad, bn.weight.grad.clone(), bn.bias.grad.clone()))
    with torch.no_grad():
        out.append((bn.eval()(x[0][rows]),))
    return out


def _rank(rank: int, store: str) -> None:
    tdist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    try:
        me = Dist(rank=rank, world_size=WORLD)
        for track in (True, False):
            x, g, ref = _inputs(track)
            want = _run(ref, x, g, slice(None))
            x, g, bn = _inputs(track)
            net = sync_batchnorm(nn.Sequential(bn), torch.device("cpu"), me)
            assert isinstance(net[0], CpuSyncBatchNorm) and net[0].weight is bn.weight
            rows = me.shard(N)
            got = _run(net[0], x, g, rows)
            for w, h in zip(want, got):
                torch.testing.assert_close(h[0], w[0][rows], rtol=1e-5, atol=1e-5)  # output
                if len(w) > 1:
                    torch.testing.assert_close(h[1], w[1][rows], rtol=1e-4, atol=1e-5)  # d x
                    for mine, full in zip(h[2:], w[2:]):  # d weight, d bias: summed over ranks
                        tdist.all_reduce(mine)
                        torch.testing.assert_close(mine, full, rtol=1e-4, atol=1e-5)
            if track:
                for name in ("running_mean", "running_var", "num_batches_tracked"):
                    torch.testing.assert_close(getattr(net[0], name), getattr(ref, name))
    finally:
        tdist.destroy_process_group()


def test_two_gloo_ranks_equal_one_batchnorm_over_the_whole_batch(tmp_path):
    mp.spawn(_rank, args=(str(tmp_path / "store"),), nprocs=WORLD, join=True)


def test_one_process_is_plain_batchnorm():
    net = nn.Sequential(nn.Conv2d(1, 3, 1), nn.BatchNorm2d(3))
    assert sync_batchnorm(net, torch.device("cpu"), SINGLE) is net
    assert type(net[1]) is nn.BatchNorm2d
    x, g, ref = _inputs(True)
    bn = CpuSyncBatchNorm.convert(nn.Sequential(_inputs(True)[2]))[0]  # no process group
    for w, h in zip(_run(ref, x, g, slice(None)), _run(bn, x, g, slice(None))):
        for a, b in zip(w, h):
            assert torch.equal(a, b)


@pytest.mark.parametrize("on", [False, True])
def test_the_switch_off_keeps_batchnorm2d(on):
    net = nn.Sequential(nn.BatchNorm2d(3))
    out = sync_batchnorm(net, torch.device("cpu"), Dist(rank=0, world_size=2), on=on)
    assert isinstance(out[0], CpuSyncBatchNorm) is on
