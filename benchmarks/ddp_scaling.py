"""Samples per second of one search with 1 process and with 2 (torchrun, gloo), side by side.

    python benchmarks/ddp_scaling.py [--data synthetic:1024] [--cells 5] ... [--keep DIR]
                                     [--no-sync-bn]

Both runs are the same search: the same config, the same global batch and steps, one thread
per process (OMP_NUM_THREADS=1). The 2-process run splits every batch in two, normalises
with the global batch's statistics (``sync_bn``) and averages the gradients, so it computes
what the 1-process run computes up to float rounding. The search is SGD at lr 0.01 without
supernet warm-up (a config file the script writes): there the rounding stays at rounding
size, where Adam or a long warm-up at a high rate would amplify it (docs/scale.md).

It prints samples/s (samples over the summed sample times: training and validation) of each
run, the ratio, the wall time of each command, and whether the two logged identical events
(``identical events: yes``: the same sampled architectures and pruned ops exactly,
accuracies within 0.01) or the first event where they part.
Figures go to docs/benchmarks.md with the machine and its load (``uptime``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEARCH = {"--data": "synthetic:1024", "--ops": "none,skip_connect,sep_conv_3x3,max_pool_3x3",
          "--nodes": "4", "--cells": "5", "--channels": "16", "--batch-size": "64",
          "--sample-steps": "8", "--seed": "0", "--optimizer": "sgd", "--lr": "0.01"}
CONFIG = {"warmup_steps": 0}  # keys without a flag, through --config
TOLERANCE = 0.01  # accuracies and losses; architectures and prunes must match exactly


def run(nproc: int, out: Path, flags: list[str]) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    head = ([sys.executable, "-m", "cpnas"] if nproc == 1 else
            [sys.executable, "-m", "torch.distributed.run", "--standalone",
             "--nproc_per_node", str(nproc), "-m", "cpnas"])
    t = time.perf_counter()
    subprocess.run([*head, "search", *flags, "--device", "cpu", "--quiet", "--out", str(out)],
                   env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def events(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]


def differs(x, y) -> bool:
    """Values that differ: floats by more than TOLERANCE, anything else at all."""
    if isinstance(x, float) and isinstance(y, float):
        return abs(x - y) > TOLERANCE
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() != y.keys() or any(differs(x[k], y[k]) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) != len(y) or any(differs(a, b) for a, b in zip(x, y))
    return x != y


def first_difference(one: list[dict], two: list[dict]) -> str | None:
    """None when both logs hold the same events (times, provenance, paths aside); else the
    first difference, in words."""
    if [e["type"] for e in one] != [e["type"] for e in two]:
        return "the event types differ"
    for a, b in zip(one, two):
        for key in sorted((set(a) | set(b)) - {"time", "seconds", "provenance", "path"}):
            if differs(a.get(key), b.get(key)):
                return f"seq {a['seq']} {a['type']}.{key}: {a.get(key)!r} vs {b.get(key)!r}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag, default in SEARCH.items():
        parser.add_argument(flag, default=default)
    parser.add_argument("--keep", help="keep the two run directories here")
    parser.add_argument("--no-sync-bn", action="store_true",
                        help="sync_bn false: each rank's batch norm over its shard (the cost "
                             "of the CPU sync batch norm, by difference)")
    args = parser.parse_args()
    flags = [x for flag in SEARCH for x in (flag, getattr(args, flag[2:].replace("-", "_")))]
    base = Path(args.keep or tempfile.mkdtemp(prefix="ddp_scaling-"))
    base.mkdir(parents=True, exist_ok=True)
    print(f"search: {' '.join(flags)}; load before: {os.getloadavg()[0]:.2f}")
    config = base / "config.json"
    config.write_text(json.dumps({**CONFIG, **({"sync_bn": False} if args.no_sync_bn else {})}))
    flags += ["--config", str(config)]
    figures = {}
    for nproc in (1, 2):
        out = base / f"np{nproc}"
        wall = run(nproc, out, flags)
        evs = events(out)
        samples = [e for e in evs if e["type"] == "SampleTrained"]
        busy = sum(e["seconds"] for e in samples)
        figures[nproc] = (len(samples) / busy, wall, evs)
        world = evs[0].get("provenance", {}).get("world_size", 1)
        print(f"{nproc} process(es) (world_size {world}): {len(samples)} samples, "
              f"{len(samples) / busy:.3f} samples/s, command wall {wall:.1f} s; "
              f"load after: {os.getloadavg()[0]:.2f}")
    differ = first_difference(figures[1][2], figures[2][2])
    picks = [choices(figures[n][2]) for n in (1, 2)]
    gap = max((abs(a[k] - b[k]) for a, b in zip(*(samples_of(figures[n][2]) for n in (1, 2)))
               for k in ("child_acc", "parent_acc")), default=0.0)
    print(f"speed-up, 2 vs 1 process: {figures[2][0] / figures[1][0]:.2f}x samples/s "
          f"({figures[1][0]:.4f} -> {figures[2][0]:.4f}); command wall "
          f"{figures[1][1] / figures[2][1]:.2f}x; identical events: "
          f"{'yes' if differ is None else 'no (' + differ + ')'}; sampled architectures, "
          f"prunes and genotype: {'same' if picks[0] == picks[1] else 'DIFFER'}; largest "
          f"accuracy difference {gap:.4f}")


def samples_of(evs: list[dict]) -> list[dict]:
    return [e for e in evs if e["type"] == "SampleTrained"]


def choices(evs: list[dict]) -> list:
    """What the search chose, in order: sampled architectures, pruned ops, the genotype."""
    keys = {"SampleTrained": ("arch",), "OpPruned": ("edge", "op"), "GenotypeDerived": ("genotype",)}
    return [(e["type"], *(e[k] for k in keys[e["type"]])) for e in evs if e["type"] in keys]


if __name__ == "__main__":
    main()
