"""Samples per second of one search with 1 process and with 2 (torchrun, gloo), side by side.

    python benchmarks/ddp_scaling.py [--data synthetic:1024] [--cells 5] ... [--keep DIR]

Both runs are the same search: the same config, the same global batch and steps, one thread
per process (OMP_NUM_THREADS=1). The 2-process run splits every batch in two and averages the
gradients. The script checks that both logged the same events up to the first prune (the same
sampled architectures; after it, the prunes follow the accuracies, which on CPU move a little
because batch norm sees each rank's half batch) and prints samples/s (samples over the summed
sample times: training and validation) of each, the ratio on the samples both trained on the
same architecture, and the wall time of each command.
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
          "--sample-steps": "8", "--seed": "0"}


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


def shape(evs: list[dict]) -> list[tuple]:
    return [(e["type"], e.get("round"), e.get("t"), e.get("s"), json.dumps(e.get("arch")))
            for e in evs if e["type"] not in ("Progress",)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag, default in SEARCH.items():
        parser.add_argument(flag, default=default)
    parser.add_argument("--keep", help="keep the two run directories here")
    args = parser.parse_args()
    flags = [x for flag in SEARCH for x in (flag, getattr(args, flag[2:].replace("-", "_")))]
    base = Path(args.keep or tempfile.mkdtemp(prefix="ddp_scaling-"))
    base.mkdir(parents=True, exist_ok=True)
    print(f"search: {' '.join(flags)}; load before: {os.getloadavg()[0]:.2f}")
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
    one, two = (figures[n][2] for n in (1, 2))
    sam = [[e for e in evs if e["type"] == "SampleTrained"] for evs in (one, two)]
    # the samples both runs trained on the same architecture (all of round 0 at least: the
    # first prune depends on accuracies, which batch norm over half a batch moves on CPU)
    same = [i for i, (a, b) in enumerate(zip(*sam)) if a["arch"] == b["arch"]]
    rate = [len(same) / sum(s[i]["seconds"] for i in same) for s in sam]
    drift = max(abs(sam[0][i]["child_acc"] - sam[1][i]["child_acc"]) for i in same)
    round0 = shape([e for e in one if e.get("round", 0) == 0 and e["type"] != "OpPruned"])
    print(f"same events up to the first prune: "
          f"{'yes' if round0 == shape([e for e in two if e.get('round', 0) == 0 and e['type'] != 'OpPruned']) else 'NO'}; "
          f"same architecture in {len(same)} of {len(sam[0])} samples; largest child-accuracy "
          f"difference on them {drift:.3f} (CPU: batch norm over each rank's half batch)")
    print(f"speed-up, 2 vs 1 process, on the {len(same)} identical samples: "
          f"{rate[1] / rate[0]:.2f}x samples/s ({rate[0]:.4f} -> {rate[1]:.4f}); all samples "
          f"{figures[2][0] / figures[1][0]:.2f}x; command wall {figures[1][1] / figures[2][1]:.2f}x")
    if not same or 0 not in same:
        raise SystemExit("the two runs did not sample the same first architecture")

if __name__ == "__main__":
    main()
