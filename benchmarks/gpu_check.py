"""One short check on a GPU machine (< 4 min): CUDA is used, a search runs, steps are cheap.

    python benchmarks/gpu_check.py

Needs only torch, numpy, pandas and scikit-learn. It asserts that CUDA is available,
runs a short CP-NAS search with ``device="auto"`` on the synthetic CIFAR-shaped source
(3x32x32), checks it ran on the GPU, then times step_cost on cuda, and prints every figure
for docs/benchmarks.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from step_cost import measure, report  # noqa: E402

from cpnas import events as ev  # noqa: E402
from cpnas.config import SearchConfig  # noqa: E402
from cpnas.engine import search  # noqa: E402


def main() -> None:
    assert torch.cuda.is_available(), "no CUDA device visible to torch"
    print(f"torch {torch.__version__}, GPU {torch.cuda.get_device_name(0)}")
    cfg = SearchConfig(data="synthetic:4096", device="auto", cells=5, channels=16,
                       batch_size=256, sample_steps=10)
    started: list[ev.SearchStarted] = []
    t = time.perf_counter()
    res = search(cfg, subscribers=[lambda e: started.append(e) if e.type == "SearchStarted" else None])
    wall = time.perf_counter() - t
    assert started and started[0].device.startswith("cuda"), started[0].device
    assert res.status == "completed", res.status
    print(f"search (synthetic 3x32x32, 8 ops, 4 nodes, 5 cells, C=16, batch 256, 10 steps/sample, "
          f"{len(res.samples)} samples): {wall:.1f} s on {started[0].device}; last-round child "
          f"{res.child_acc:.1%}, parent {res.parent_acc:.1%}")
    print(f"genotype: {res.genotype}")
    for channels, batch in ((16, 256), (36, 96)):
        print(report(measure("cuda", channels=channels, batch=batch, cells=5, data="synthetic:2048",
                             steps=10)))
    print("gpu_check: OK")


if __name__ == "__main__":
    main()
