"""Ground truth for the signal benchmark: N random genotypes trained stand-alone, committed.

The genotypes are drawn once by ``cpnas.randomcells.random_genotypes(N, SEED)`` (never picked
or tuned) and trained with ``cpnas.standalone.Protocol()`` (1-bit, 2 cells, C = 8, 10 epochs,
seeds 0 and 1, scored on digits' test split). Writes ``benchmarks/data/groundtruth.json``.

    OMP_NUM_THREADS=1 python benchmarks/groundtruth.py            # ~15 min on one core
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from cpnas.randomcells import random_genotypes
from cpnas.runs import atomic_write_text
from cpnas.standalone import Protocol, standalone_table

N, SEED = 20, 2026
OUT = Path(__file__).parent / "data" / "groundtruth.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=N)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    protocol = Protocol()
    genos = random_genotypes(args.n, SEED)
    t0 = time.time()

    def progress(i, res):
        print(f"[{time.time() - t0:6.0f}s] {i + 1}/{len(genos)} test {res.test} mean {res.mean:.4f}",
              flush=True)

    rows = standalone_table(genos, protocol, on_result=progress)
    report = {"command": "OMP_NUM_THREADS=1 python benchmarks/groundtruth.py",
              "sampler": {"function": "cpnas.randomcells.random_genotypes", "n": args.n, "seed": SEED},
              "protocol": protocol.to_dict(), "score": "1-bit test accuracy, mean over seeds",
              "seconds": round(time.time() - t0, 1), "results": [r.to_dict() for r in rows]}
    atomic_write_text(Path(args.out), json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
