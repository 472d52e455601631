"""Markdown tables of a finished study, for docs/study.md.

    python benchmarks/study_table.py benchmarks/data/fig49.csv
    python benchmarks/study_table.py runs/fig49            # a study folder works too

Per strategy: seeds, mean ± sample std of the 1-bit and FP-twin test accuracy, conv ops and
search seconds; the CP-NAS rows by beta_P; and every other row against ``cpnas β=0.5`` by
:func:`cpnas.stats.compare` (paired by seed, bootstrap 95% CI, paired permutation test,
Holm-corrected over the family), with the smallest paired difference the design detects at
alpha 0.05 and power 0.8.
"""

from __future__ import annotations

import argparse
import math

from cpnas.stats import minimum_detectable
from cpviz.study import Stat, comparison_table, study_data


def pm(s: Stat, scale: float = 100.0, digits: int = 1) -> str:
    if not s.n:
        return "-"
    std = "" if math.isnan(s.std) else f" ± {s.std * scale:.{digits}f}"
    return f"{s.mean * scale:.{digits}f}{std}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", help="a study folder or its results.csv")
    parser.add_argument("--against", default="cpnas β=0.5", help="the row the others are compared with")
    args = parser.parse_args()
    d = study_data(args.study, reference=args.against)

    print("| strategy | seeds | 1-bit test acc % | FP twin test acc % | conv ops | search s |")
    print("|---|---|---|---|---|---|")
    for g in d.groups:
        s = g.stats
        print(f"| {g.label} | {s['test_acc'].n} | {pm(s['test_acc'])} | {pm(s['test_acc_fp'])} "
              f"| {pm(s['conv_ops'], 1.0)} | {pm(s['search_seconds'], 1.0, 0)} |")
    print()
    print("| beta_P | searches | 1-bit test acc % | FP twin test acc % | conv ops |")
    print("|---|---|---|---|---|")
    for b in d.betas:
        s = b.stats
        print(f"| {b.beta:g} | {s['test_acc'].n} | {pm(s['test_acc'])} | {pm(s['test_acc_fp'])} "
              f"| {pm(s['conv_ops'], 1.0)} |")
    sweep = [r for r in d.rows if r["strategy"] == "cpnas" and r["test_acc"] is not None]
    if len({r["beta"] for r in sweep}) > 2:
        from scipy import stats

        print()
        print(f"| against beta_P, over the {len(sweep)} cpnas searches | Spearman rho | p |")
        print("|---|---|---|")
        for key, what in (("test_acc", "1-bit test acc"), ("conv_ops", "conv ops kept"),
                          ("test_acc_fp", "FP twin test acc")):
            pts = [(r["beta"], r[key]) for r in sweep if r[key] is not None]
            rho, p = stats.spearmanr(*zip(*pts))
            print(f"| {what} | {rho:+.2f} | {p:.2g} |")
    trained = [r for r in d.rows if r["test_acc"] is not None and r["conv_ops"] is not None]
    if len(trained) > 2:
        from scipy import stats

        print()
        print(f"| over the {len(trained)} trained searches | Spearman rho | p | range |")
        print("|---|---|---|---|")
        for key, what in (("test_acc", "conv ops vs 1-bit test acc"),
                          ("test_acc_fp", "conv ops vs FP twin test acc")):
            pts = [(r["conv_ops"], r[key]) for r in trained if r[key] is not None]
            if len(pts) < 3:
                continue
            rho, p = stats.spearmanr(*zip(*pts))
            vals = [v for _, v in pts]
            print(f"| {what} | {rho:+.2f} | {p:.2g} | {100 * min(vals):.1f}-{100 * max(vals):.1f}% |")
    if not d.comparisons:
        return
    print()
    table = comparison_table(d)
    print("| " + " | ".join([table.index.name, *table.columns]) + " |")
    print("|" + "---|" * (len(table.columns) + 1))
    for name, row in table.iterrows():
        print("| " + " | ".join([str(name), *(str(v) for v in row)]) + " |")
    m = len(d.comparisons)
    print()
    print(f"| vs {d.reference} | seeds | sd of paired differences (points) | "
          f"detectable at alpha 0.05 / {m}, power 0.8 (points) |")
    print("|---|---|---|---|")
    for c in d.comparisons:
        mde = minimum_detectable(c.sd_diff, c.n, m=m)
        print(f"| {c.label} | {c.n} | {100 * c.sd_diff:.1f} | {100 * mde:.1f} |")


if __name__ == "__main__":
    main()
