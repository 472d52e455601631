"""How well does a CPTrainer's z rank the committed random genotypes? (issue 10, step 3)

Trains one child/parent pair of supernets with uniformly sampled single paths (SPOS-style,
a new architecture every ``--arch-steps`` steps) and, every ``--every`` steps, scores the
ground-truth genotypes (``benchmarks/data/groundtruth.json``) on the validation split:
z = beta * (A_P - A_C) + A_C for beta 0 (child only), 0.5 (default) and 1 (parent only).
Prints Kendall tau against stand-alone accuracy, with a 95% bootstrap CI.

    OMP_NUM_THREADS=1 python benchmarks/evaluator.py --steps 280 --every 70 [--set key=value ...]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch

from cpnas.config import SearchConfig
from cpnas.data import load_data
from cpnas.genotype import parse_genotype
from cpnas.randomcells import genotype_arch, random_genotypes, uniform_arch
from cpnas.signal import tau_with_ci
from cpnas.train import CPTrainer

TRUTH = Path(__file__).parent / "data" / "groundtruth.json"
N, SEED = 20, 2026  # as benchmarks/groundtruth.py draws them
BETAS = (0.0, 0.5, 1.0)


def load_truth(path: Path = TRUTH):
    """The committed genotypes and their stand-alone accuracies (None before the file exists)."""
    if not path.is_file():
        return random_genotypes(N, SEED), None
    rows = json.loads(path.read_text())["results"]
    return [parse_genotype(r["genotype"]) for r in rows], [r["mean"] for r in rows]


def score(trainer: CPTrainer, genotypes) -> list[tuple[float, float]]:
    """(A_C, A_P) of every genotype on the validation split, with the trainer's weights."""
    return [trainer.accuracy(genotype_arch(g, trainer.config.space)) for g in genotypes]


def taus(accs: list[tuple[float, float]], truth: list[float]) -> dict[float, object]:
    return {b: tau_with_ci([b * (p - c) + c for c, p in accs], truth) for b in BETAS}


def parse_set(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = json.loads(value)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=280)
    ap.add_argument("--every", type=int, default=70)
    ap.add_argument("--arch-steps", type=int, default=1, help="steps per sampled architecture")
    ap.add_argument("--set", nargs="*", default=[], help="SearchConfig overrides, key=JSON value")
    ap.add_argument("--json", help="also write the scores here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = SearchConfig(device="cpu", **parse_set(args.set))
    genos, truth = load_truth()
    trainer = CPTrainer(cfg, load_data(cfg.data, cfg.split_seed), torch.device("cpu"))
    rng = random.Random(cfg.seed)
    t0, train_s, rows = time.time(), 0.0, []
    print(f"config overrides {args.set or 'none'}; arch every {args.arch_steps} steps", flush=True)
    batches = trainer.batches.take(args.steps)
    arch = None
    for i, idx in enumerate(batches):
        if i % args.arch_steps == 0:
            arch = uniform_arch(cfg.space, rng)
        t1 = time.time()
        trainer.step(arch, idx)
        train_s += time.time() - t1
        if (i + 1) % args.every == 0:
            accs = score(trainer, genos)
            tb = taus(accs, truth) if truth else {}
            mc = sum(c for c, _ in accs) / len(accs)
            mp = sum(p for _, p in accs) / len(accs)
            rows.append({"steps": i + 1, "train_s": round(train_s, 1), "child": mc, "parent": mp,
                         "accs": accs, **{f"tau_beta{b}": [t.tau, t.low, t.high] for b, t in tb.items()}})
            print(f"steps {i + 1:4d} train {train_s:6.1f}s child {mc:.3f} parent {mp:.3f} | "
                  + " | ".join(f"beta {b}: {t}" for b, t in tb.items()), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"set": args.set, "arch_steps": args.arch_steps,
                                               "rows": rows}, indent=1))
    print(f"total {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
