"""``cpnas render`` and ``cpnas report``: cpviz's subcommands of the cpnas CLI (and
``study.html``, which ``cpnas study`` writes through the ``cpnas.study_outputs`` entry points).

cpnas finds them through the ``cpnas.commands`` entry points, so the engine never imports
cpviz. Each ``add_*_command(subparsers)`` adds one subcommand whose handler returns an exit
code; bad input raises :class:`cpnas.errors.CpnasError`, which the cpnas CLI prints as one
line (``error: ...``) with exit code 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cpnas.errors import CpnasError
from cpnas.resolve import ACCEPTS

from .export import FORMATS

# formats `cpnas render` writes beyond export_cell's (not in the default set)
EXTRA_FORMATS = ("tex", "gif")


def add_render_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "render",
        help="draw a genotype's normal and reduction cells (svg, pdf, png, dot, tex; gif for a run)",
        description="Write normal.<fmt> and reduce.<fmt> for a genotype. GENOTYPE is what "
        "cpnas train takes: " + ACCEPTS + ". A run directory without genotype.json is "
        "drawn as its search state.",
    )
    p.add_argument("genotype", metavar="GENOTYPE", help=ACCEPTS)
    p.add_argument("--out", default="cells", metavar="DIR", help="output directory (default: cells)")
    p.add_argument("--format", default=",".join(FORMATS), metavar="FMTS",
                   help=f"comma-separated formats out of {','.join(FORMATS + EXTRA_FORMATS)} "
                        f"(default: {','.join(FORMATS)}); tex: a TikZ picture for \\input in a "
                        "paper; gif: the cell across the rounds of a run (a run directory)")
    p.add_argument("--dpi", type=int, default=None,
                   help="resolution of png (default 96) and gif (default 72); 300 for print")
    p.add_argument("--no-binary", dest="binary", action="store_false",
                   help="do not mark the ops the 1-bit child binarizes")
    p.add_argument("--no-legend", dest="legend", action="store_false", help="no legend line")
    p.set_defaults(func=run_render)
    return p


def run_render(args: argparse.Namespace) -> int:
    from .export import export_cell

    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS + EXTRA_FORMATS]
    if unknown or not formats:
        raise CpnasError(f"unsupported format {unknown[0]!r}; choose from "
                         f"{', '.join(FORMATS + EXTRA_FORMATS)}" if unknown else
                         f"no format given; choose from {', '.join(FORMATS + EXTRA_FORMATS)}")
    if args.dpi is not None and not 10 <= args.dpi <= 1200:
        raise CpnasError(f"--dpi: must be in 10..1200, got {args.dpi}")
    plain = [f for f in formats if f in FORMATS]
    paths = []
    if "gif" in formats:  # a run's events, checked before anything is written
        from .gif import run_gifs

        paths += run_gifs(args.genotype, args.out, dpi=args.dpi)
    if plain:
        paths += export_cell(args.genotype, args.out, plain, binary=args.binary,
                             legend=args.legend, dpi=args.dpi)
    if "tex" in formats:
        from .tikz import export_tikz

        paths += export_tikz(args.genotype, args.out, binary=args.binary, legend=args.legend)
    for path in paths:
        print(path)
    return 0


def add_report_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report",
        help="write a standalone report.html for a run (opens offline)",
        description="Write one HTML page with the indicator heatmap, pruning timeline, "
        "curves, cell diagrams and summary tables of a run. It needs no network to open.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (with events.jsonl)")
    p.add_argument("--out", default=None, metavar="FILE", help="output file (default: RUN_DIR/report.html)")
    p.set_defaults(func=run_report)
    return p


def run_report(args: argparse.Namespace) -> int:
    from .report import write_report

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise CpnasError(f"{run_dir}: not a run directory")
    print(write_report(run_dir, args.out))
    return 0


__all__ = ["add_render_command", "add_report_command", "run_render", "run_report"]
