"""Time the teaching search end to end and print the last round's child/parent accuracy.

    .venv/bin/python benchmarks/search_time.py [--runs 2] [--threads N] [--device cpu]

The teaching search is ``cpnas search --data digits`` with every default: 8 ops, 4 nodes,
T = 1, hence 35 sampled architectures. Wall time and this process's CPU time are both
printed: on a shared machine the CPU time shows what the search itself costs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cpnas.config import SearchConfig  # noqa: E402
from cpnas.engine import search  # noqa: E402


def time_search(config: SearchConfig) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    res = search(config)
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
            "child_acc": res.child_acc, "parent_acc": res.parent_acc,
            "samples": len(res.samples), "genotype": str(res.genotype)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--data", default="digits")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = SearchConfig(device=a.device, data=a.data)
    print(f"teaching search: {cfg.n_samples} samples, {cfg.cells} cells, C={cfg.channels}, "
          f"batch {cfg.batch_size}, threads {torch.get_num_threads()}, device {a.device}")
    for i in range(a.runs):
        r = time_search(cfg)
        print(f"run {i + 1}: wall {r['wall_s']:.1f} s, cpu {r['cpu_s']:.1f} s, {r['samples']} samples, "
              f"last-round child {r['child_acc']:.1%}, parent {r['parent_acc']:.1%}")
    print(f"genotype: {r['genotype']}")


if __name__ == "__main__":
    main()
