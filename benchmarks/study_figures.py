"""The study pictures of docs/study.md, drawn from a committed results table.

    python benchmarks/study_figures.py benchmarks/data/fig49.csv --prefix docs/images/study_fig49

Writes PREFIX_strategies.png (1-bit accuracy per strategy), PREFIX_differences.png (the paired
differences against cpnas β=0.5 with their 95% CIs and corrected verdicts) and PREFIX_beta.png
(accuracy and conv ops against beta_P), with cpviz's own views and kaleido.
"""

from __future__ import annotations

import argparse

from cpviz.export import to_png
from cpviz.study import beta_chart, difference_chart, strategy_chart, study_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", help="a study folder or its results.csv")
    ap.add_argument("--prefix", required=True, help="path prefix of the PNGs")
    args = ap.parse_args()
    d = study_data(args.study)
    figures = {"strategies": (strategy_chart(d), 900, 480),
               "differences": (difference_chart(d), 900, None),
               "beta": (beta_chart(d), 1000, 460)}
    for name, (fig, width, height) in figures.items():
        height = height or int(fig.layout.height or 450)
        path = f"{args.prefix}_{name}.png"
        to_png(fig, path, width=width, height=height)
        print(path)


if __name__ == "__main__":
    main()
