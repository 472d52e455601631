"""Markdown tables of a finished study, for docs/study.md.

    python benchmarks/study_table.py runs/fig49

Per strategy: seeds, mean ± sample std of the 1-bit and FP-twin test accuracy, conv ops and
search seconds; the CP-NAS rows by beta_P; and each strategy against ``cpnas β=0.5``: the
difference of means and its standard error sqrt(s1²/n1 + s2²/n2), "within noise" when the
difference is under two standard errors.
"""

from __future__ import annotations

import argparse
import math

from cpviz.study import Stat, study_data


def pm(s: Stat, scale: float = 100.0, digits: int = 1) -> str:
    if not s.n:
        return "-"
    std = "" if math.isnan(s.std) else f" ± {s.std * scale:.{digits}f}"
    return f"{s.mean * scale:.{digits}f}{std}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", help="a cpnas study folder (with results.csv)")
    parser.add_argument("--against", default="cpnas β=0.5", help="the row the others are compared with")
    args = parser.parse_args()
    d = study_data(args.study)

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
    print()
    ref = {g.label: g.stats["test_acc"] for g in d.groups}.get(args.against)
    if ref is None:
        return
    print(f"| vs {args.against} | difference (points) | standard error | verdict |")
    print("|---|---|---|---|")
    for g in d.groups:
        s = g.stats["test_acc"]
        if g.label == args.against or s.n < 2 or ref.n < 2:
            continue
        diff = ref.mean - s.mean
        se = math.sqrt(ref.std ** 2 / ref.n + s.std ** 2 / s.n)
        verdict = "within noise" if abs(diff) < 2 * se else "beyond noise"
        print(f"| {g.label} | {100 * diff:+.1f} | {100 * se:.1f} | {verdict} |")


if __name__ == "__main__":
    main()
