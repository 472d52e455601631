"""Ground truth: N random genotypes trained stand-alone, committed.

Two ground truths, one script:

- the signal benchmark's (default): ``cpnas.randomcells.random_genotypes(20, 2026)`` in the
  teaching space, trained with ``cpnas.standalone.Protocol()`` (1-bit, 2 cells, C = 8, 10
  epochs, seeds 0 and 1, one split) -> ``benchmarks/data/groundtruth.json``;
- a study preset's (``--preset fig4.9``): ``--n`` genotypes drawn under the DARTS rule in the
  preset's space, each trained under the study's own protocol (``cpnas.study.protocol_for``:
  the preset's training, the 1-bit net only) once per seed, where seed s also fixes the data
  split, exactly as the study's grid point of seed s trains its found cell -> e.g.
  ``benchmarks/data/groundtruth_fig49.json``. Resumable: cells already in the output file
  under the same protocol are kept, and the file is rewritten every few cells.

Both are drawn once (never picked or tuned) and keep every seed's test accuracy.

    OMP_NUM_THREADS=1 python benchmarks/groundtruth.py                        # ~15 min, one core
    OMP_NUM_THREADS=1 python benchmarks/groundtruth.py --preset fig4.9 --n 100 --seeds 0,1,2 \\
        --jobs 2 --out benchmarks/data/groundtruth_fig49.json
"""

from __future__ import annotations

import argparse
import dataclasses
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
    ap.add_argument("--preset", help="a study preset (fig4.9, teaching): its space and protocol")
    ap.add_argument("--seeds", default="0,1,2", help="with --preset: the study seeds to train at")
    ap.add_argument("--jobs", type=int, default=1, help="with --preset: cells trained at once")
    args = ap.parse_args()
    if args.preset:
        preset_truth(args)
        return
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


# -- a study preset's ground truth -------------------------------------------------------------


def _protocols(preset: str, seeds: list[int]) -> list[Protocol]:
    """The study's protocol of each seed (its split, its training seed), 1-bit only."""
    from cpnas.study import expand, preset_spec, protocol_for

    spec = dataclasses.replace(preset_spec(preset), seeds=tuple(seeds), strategies=("random-pick",))
    return [dataclasses.replace(protocol_for(p.config.to_dict(), spec.training), fp_twin=False)
            for p in expand(spec)]


def _train_cell(genotype: str, protocols: list[dict]) -> dict:
    """One cell at every seed (a worker's task): test and val accuracy per seed."""
    from cpnas.genotype import parse_genotype
    from cpnas.standalone import train_standalone

    g = parse_genotype(genotype)
    test, val = [], []
    for pd in protocols:
        res = train_standalone(g, Protocol(**pd))
        test += res.test
        val += res.val
    return {"genotype": genotype, "test": test, "val": val, "fp_test": [],
            "mean": sum(test) / len(test)}


def preset_truth(args) -> None:
    from cpnas.study import preset_spec

    spec = preset_spec(args.preset)
    ops, nodes = spec.search["ops"], spec.search["nodes"]
    seeds = [int(s) for s in args.seeds.split(",")]
    protocols = [p.to_dict() for p in _protocols(args.preset, seeds)]
    genos = [str(g) for g in random_genotypes(args.n, SEED, ops=ops, nodes=nodes)]
    out = Path(args.out)
    command = (f"OMP_NUM_THREADS=1 python benchmarks/groundtruth.py --preset {args.preset} "
               f"--n {args.n} --seeds {args.seeds} --jobs {args.jobs} --out {args.out}")
    head = {"command": command,
            "sampler": {"function": "cpnas.randomcells.random_genotypes", "n": args.n,
                        "seed": SEED, "ops": list(ops), "nodes": nodes},
            "protocol": protocols[0],
            "protocols": protocols,  # one per seed: seed s trains on split s, as the study does
            "score": "1-bit test accuracy per seed (the study's protocol of that seed)"}
    done: dict[str, dict] = {}
    if out.exists():
        old = json.loads(out.read_text())
        if old.get("protocols") == protocols:
            done = {r["genotype"]: r for r in old["results"]}
    todo = [g for g in genos if g not in done]
    t0 = time.time()
    print(f"{len(genos)} cells x {len(seeds)} seeds; {len(done)} done", flush=True)

    def write(final: bool) -> None:
        rows = [done[g] for g in genos if g in done]
        report = {**head, "complete": final and len(rows) == len(genos),
                  "seconds": round(time.time() - t0, 1), "results": rows}
        atomic_write_text(out, json.dumps(report, indent=1) + "\n")

    if args.jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_train_cell, g, protocols) for g in todo]
            for i, fut in enumerate(as_completed(futures)):
                r = fut.result()
                done[r["genotype"]] = r
                print(f"[{time.time() - t0:6.0f}s] {len(done)}/{len(genos)} test {r['test']}",
                      flush=True)
                if i % 5 == 4:
                    write(False)
    else:
        for i, g in enumerate(todo):
            done[g] = _train_cell(g, protocols)
            print(f"[{time.time() - t0:6.0f}s] {len(done)}/{len(genos)} test {done[g]['test']}",
                  flush=True)
            if i % 5 == 4:
                write(False)
    write(True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
