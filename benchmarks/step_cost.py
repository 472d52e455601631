"""Cost of one training step, side by side, at the same channels and batch.

- CP step: child (1-bit) and parent (full precision) forward + backward + update on one
  sampled architecture (what the search does per step, CP loss included);
- single FP: one full-precision network of that same architecture;
- mixed-op: a DARTS-style supernet running all ops on every edge (softmax-weighted sum).

    .venv/bin/python benchmarks/step_cost.py [--channels 8 --batch 256 --cells 2 --device cpu]

Prints ms per step (median of --steps timed steps after warm-up) and the ratios. The aim:
CP <= 2.3x single FP, and >= 3x cheaper than mixed-op.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cpnas.config import SearchConfig  # noqa: E402
from cpnas.data import load_data  # noqa: E402
from cpnas.model import SuperNet  # noqa: E402
from cpnas.ops import OpSpec  # noqa: E402
from cpnas.train import CPTrainer  # noqa: E402


def mixed_forward(net: SuperNet, x: torch.Tensor, alphas: dict[str, torch.Tensor]) -> torch.Tensor:
    """DARTS's continuous relaxation: every op on every edge, weighted by softmax(alpha)."""
    s0 = s1 = net.stem(x)
    if x.device.type == "cpu":  # the same NHWC as SuperNet._features, for a like-for-like step
        s0 = s1 = s1.contiguous(memory_format=torch.channels_last)
    for cell in net.cells:
        states = [cell.pre0(s0), cell.pre1(s1)]
        for dst in range(2, cell.nodes + 2):
            total = 0
            for src in range(dst):
                ops = cell.edges[f"{src}_{dst}"]
                w = F.softmax(alphas[cell.kind][dst - 2][src], dim=0)
                total = total + sum(w[i] * op(states[src]) for i, op in enumerate(ops.values()))
            states.append(total)
        s0, s1 = s1, torch.cat(states[2:], dim=1)
    return net.classifier(s1.mean(dim=(2, 3)))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _time(fn, device, warmup: int, steps: int) -> float:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(steps):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1000


def measure(device: str = "cpu", channels: int = 8, batch: int = 256, cells: int = 2,
            data: str = "digits", warmup: int = 3, steps: int = 10, seed: int = 0) -> dict:
    dev = torch.device(device)
    cfg = SearchConfig(data=data, channels=channels, batch_size=batch, cells=cells,
                       device=device, seed=seed)
    ds = load_data(data, seed).to(dev)
    rng = random.Random(seed)
    arch = {e: rng.choice(cfg.ops) for e in cfg.space.edges}
    idx = torch.arange(min(batch, len(ds.y_train)))
    x, y = ds.x_train[idx.to(dev)], ds.y_train[idx.to(dev)]

    trainer = CPTrainer(cfg, ds, dev)
    cp = _time(lambda: trainer.step(arch, idx), dev, warmup, steps)

    torch.manual_seed(seed)
    spec = OpSpec(binary=False, shortcut=cfg.shortcut, batch_stats=cfg.bn_batch_stats)
    fp = SuperNet(cfg.space, ds.in_channels, ds.num_classes, channels, cells, spec).to(dev)
    fp_opt = torch.optim.Adam(fp.parameters(), lr=cfg.lr)

    def fp_step():
        fp_opt.zero_grad(set_to_none=True)
        F.cross_entropy(fp(x, arch)[0], y).backward()
        fp_opt.step()

    single = _time(fp_step, dev, warmup, steps)

    n = cfg.nodes
    alphas = {k: [[torch.zeros(len(cfg.ops), device=dev, requires_grad=True) for _ in range(j + 2)]
                  for j in range(n)] for k in ("normal", "reduce")}
    mixed_opt = torch.optim.Adam(fp.parameters(), lr=cfg.lr)

    def mixed_step():
        mixed_opt.zero_grad(set_to_none=True)
        F.cross_entropy(mixed_forward(fp, x, alphas), y).backward()
        mixed_opt.step()

    mixed = _time(mixed_step, dev, warmup, max(3, steps // 2))
    return {"device": str(dev), "channels": channels, "batch": batch, "cells": cells,
            "data": data, "threads": torch.get_num_threads(), "cp_ms": cp, "single_fp_ms": single,
            "mixed_op_ms": mixed, "cp_over_fp": cp / single, "mixed_over_cp": mixed / cp}


def report(r: dict) -> str:
    return (f"[{r['device']}, {r['data']}, C={r['channels']}, batch={r['batch']}, "
            f"cells={r['cells']}, threads={r['threads']}]\n"
            f"  CP step (child+parent) {r['cp_ms']:8.1f} ms\n"
            f"  single FP step         {r['single_fp_ms']:8.1f} ms\n"
            f"  mixed-op step (DARTS)  {r['mixed_op_ms']:8.1f} ms\n"
            f"  CP / single FP = {r['cp_over_fp']:.2f}x (aim <= 2.3)   "
            f"mixed-op / CP = {r['mixed_over_cp']:.2f}x (aim >= 3)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--cells", type=int, default=2)
    p.add_argument("--data", default="digits")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    print(report(measure(a.device, a.channels, a.batch, a.cells, a.data, steps=a.steps)))


if __name__ == "__main__":
    main()
