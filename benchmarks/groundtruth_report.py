"""Can this data set, at this protocol, tell architectures apart? Report of a ground truth.

    python benchmarks/groundtruth_report.py benchmarks/data/groundtruth_fig49.json \\
        --study benchmarks/data/fig49.csv

From a ground truth of random cells trained at several seeds (benchmarks/groundtruth.py):

- the intraclass correlation ICC(1): the share of the variance of a cell's test accuracy
  that is architecture rather than seed (cpnas.stats.icc_oneway);
- the seed-to-seed Kendall tau between the seeds' rankings of the same cells: the ceiling
  any evaluator can reach against one seed's training; and the sparse tau, where accuracies
  within one test image (1/360 on digits) count as ties;
- the spread of the cells' mean accuracies against the seed noise;
- with ``--study``: each found cell's percentile among the random cells, at the seeds the
  ground truth and the study share (seed s: the same split and training seed in both).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

from cpnas.stats import icc_oneway, kendall_pairs, label, percentile
from cpnas.study import read_results

RESOLUTION = 1 / 360  # one image of digits' test split


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("truth", help="a ground-truth JSON (benchmarks/groundtruth.py)")
    ap.add_argument("--study", help="a study's results.csv or folder: percentiles of its cells")
    ap.add_argument("--signal", help="benchmarks/data/signal.json: its found cells' percentiles "
                                     "(mean over seeds) among the ground truth's cells")
    args = ap.parse_args()
    d = json.loads(Path(args.truth).read_text())
    rows = d["results"]
    seeds = [p["seeds"][0] for p in d["protocols"]] if "protocols" in d else d["protocol"]["seeds"]
    table = [r["test"] for r in rows if len(r["test"]) == len(seeds)]
    n, k = len(table), len(seeds)
    means = [statistics.fmean(t) for t in table]
    within = math.sqrt(statistics.fmean(statistics.variance(t) for t in table))
    taus = kendall_pairs(table)
    sparse = kendall_pairs(table, RESOLUTION)
    q = statistics.quantiles(means, n=10)
    print(f"ground truth: {n} random cells x {k} seeds ({', '.join(map(str, seeds))}), "
          f"{d.get('command', '')}")
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| ICC(1): share of variance that is architecture | {icc_oneway(table):.2f} |")
    print(f"| seed-to-seed Kendall tau (mean over {len(taus)} seed pairs) | "
          f"{statistics.fmean(taus):.2f} ({', '.join(f'{t:.2f}' for t in taus)}) |")
    print(f"| sparse Kendall tau (ties within 1/360) | {statistics.fmean(sparse):.2f} |")
    print(f"| cells' mean test accuracy: mean, 10th-90th percentile | {100 * statistics.fmean(means):.1f}%, "
          f"{100 * q[0]:.1f}-{100 * q[-1]:.1f}% |")
    print(f"| std of the cells' means (between architectures) | {100 * statistics.stdev(means):.2f} points |")
    print(f"| seed std within a cell (pooled) | {100 * within:.2f} points |")
    bulk = [t for t, m in zip(table, means) if q[0] <= m <= q[-1]]
    print(f"| ICC(1) of the cells between the 10th and 90th percentile ({len(bulk)} cells) | "
          f"{icc_oneway(bulk):.2f} |")
    print(f"| seed-to-seed Kendall tau of those cells | {statistics.fmean(kendall_pairs(bulk)):.2f} |")
    if args.signal:
        signal = json.loads(Path(args.signal).read_text())
        print()
        print("| signal run | search seed | found cell's mean test acc | percentile among the cells' means |")
        print("|---|---|---|---|")
        for name, run in signal.items():
            for i, cell in enumerate(run.get("found", [])):
                print(f"| {name} | {i} | {100 * cell['mean']:.1f}% | {percentile(cell['mean'], means):.0f} |")
    if not args.study:
        return
    columns = {s: [t[i] for t in table] for i, s in enumerate(seeds)}
    found: dict[str, list[tuple[int, float]]] = {}
    for r in read_results(args.study):
        if r["seed"] in columns and r["test_acc"] is not None:
            found.setdefault(label(r), []).append(
                (r["seed"], percentile(r["test_acc"], columns[r["seed"]])))
    print()
    print("| found by | seeds | percentile among the random cells (per seed) | mean percentile |")
    print("|---|---|---|---|")
    for name, pts in found.items():
        pts.sort()
        print(f"| {name} | {len(pts)} | {', '.join(f'{p:.0f}' for _, p in pts)} | "
              f"{statistics.fmean(p for _, p in pts):.0f} |")


if __name__ == "__main__":
    main()
