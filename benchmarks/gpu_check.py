"""One short check on a GPU machine (< 4 min): CUDA is used, a search runs, steps are cheap,
and what the paper-scale search would cost.

    python benchmarks/gpu_check.py                    # on a GPU machine
    python benchmarks/gpu_check.py --device cpu --tiny  # the same code path, tiny, on CPU

Needs only torch, numpy, pandas and scikit-learn. On CUDA it asserts that CUDA is available,
runs a short CP-NAS search with ``device="auto"`` on the synthetic CIFAR-shaped source
(3x32x32), checks it ran on the GPU, times step_cost on cuda, then runs the ``cifar10-paper``
search setting (8 cells, 16 channels, batch 64, SGD, cosine, augmentation) on CIFAR-shaped
synthetic data for a fixed number of samples, prints training and validation images/s and
projects the GPU-hours of the full search (35 samples, each one epoch on 25,000 images and a
validation on 25,000). ``--precision bf16`` / ``--channels-last`` time those switches.
Prints every figure for docs/benchmarks.md.
"""

from __future__ import annotations

import random
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


def paper_projection(device: str, tiny: bool, samples: int, precision: str,
                     channels_last: bool) -> None:
    """The cifar10-paper search for ``samples`` samples of ``steps`` steps on CIFAR-shaped data;
    images/s of the CP step (child + parent) and of validation, and the full search's cost."""
    from cpnas.config import read_config_source
    from cpnas.data import load_data
    from cpnas.train import CPTrainer

    values = {**read_config_source("cifar10-paper"), "data": "synthetic:2048",
              "device": device, "precision": precision, "channels_last": channels_last}
    steps = 10
    if tiny:  # the code path only, in seconds on a CPU
        values.update(cells=2, channels=4, batch_size=16, data="synthetic:200", nodes=2,
                      ops="none,skip_connect,sep_conv_3x3")
        steps = 2
    cfg = SearchConfig.from_dict({**values, "sample_steps": steps})
    dev = torch.device("cuda" if device == "cuda" else "cpu")
    data = load_data(cfg.data, cfg.seed, cfg.val_fraction).to(dev)
    trainer = CPTrainer(cfg, data, dev)
    rng = random.Random(0)
    train_s = val_s = 0.0
    n_val = len(data.y_val)
    for i in range(samples + 1):  # the first sample warms up (cuDNN autotune, allocator)
        arch = {e: rng.choice(cfg.ops) for e in cfg.space.edges}
        _sync(dev)
        t = time.perf_counter()
        for idx in trainer.batches.take(steps):
            trainer.step(arch, idx)
        _sync(dev)
        t_mid = time.perf_counter()
        trainer.accuracy(arch)
        _sync(dev)
        if i:
            train_s += t_mid - t
            val_s += time.perf_counter() - t_mid
    train_ips = samples * steps * cfg.batch_size / train_s
    val_ips = samples * n_val / val_s
    full_train = full_val = 25_000  # CIFAR-10's 50,000 training images, val_fraction 0.5
    n_samples = SearchConfig.from_dict(read_config_source("cifar10-paper")).n_samples
    hours = n_samples * (full_train / train_ips + full_val / val_ips) / 3600
    shape = "tiny" if tiny else f"{cfg.cells} cells, C={cfg.channels}, batch {cfg.batch_size}"
    print(f"paper-scale search ({shape}, {precision}{', channels-last' if channels_last else ''}, "
          f"{samples} samples x {steps} steps on {dev}): CP step {train_ips:.0f} images/s, "
          f"validation {val_ips:.0f} images/s")
    print(f"projected full cifar10-paper search ({n_samples} samples, one epoch of {full_train} "
          f"images + {full_val} validated each): {hours:.2f} device-hours on this device")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="GPU check and paper-scale projection")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--tiny", action="store_true", help="a tiny paper-shaped net (CPU check)")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--channels-last", action="store_true")
    args = parser.parse_args()
    if args.device == "cpu":
        paper_projection("cpu", args.tiny, args.samples, args.precision, args.channels_last)
        print("gpu_check (cpu): OK")
        return
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
    paper_projection("cuda", args.tiny, args.samples, args.precision, args.channels_last)
    if args.precision == "fp32":
        paper_projection("cuda", args.tiny, args.samples, "bf16", True)
    print("gpu_check: OK")


if __name__ == "__main__":
    main()
