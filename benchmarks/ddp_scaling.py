"""Samples per second of one search with 1 process and with 2 (torchrun, gloo), side by side.

    python benchmarks/ddp_scaling.py [--data synthetic:1024] [--cells 5] ... [--keep DIR]

Both runs are the same search: the same config, the same global batch and steps, one thread
per process (OMP_NUM_THREADS=1). The 2-process run splits every batch in two and averages the
gradients. The script checks that both logged the same event sequence (types, rounds, sampled
architectures) and prints samples/s of each (samples over the summed sample times, the time
spent training and validating) and the ratio, plus the wall time of each command.
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
    same = shape(figures[1][2]) == shape(figures[2][2])
    acc = lambda evs: [e["child_acc"] for e in evs if e["type"] == "SampleTrained"]  # noqa: E731
    drift = max(abs(a - b) for a, b in zip(acc(figures[1][2]), acc(figures[2][2])))
    print(f"same event sequence and sampled architectures: {'yes' if same else 'NO'}; "
          f"largest child-accuracy difference {drift:.3f} (batch norm sees half the batch)")
    print(f"speed-up, 2 vs 1 process: {figures[2][0] / figures[1][0]:.2f}x samples/s, "
          f"{figures[1][1] / figures[2][1]:.2f}x command wall time")
    if not same:
        raise SystemExit("the two runs logged different event sequences")


if __name__ == "__main__":
    main()
