"""Views of a study (``cpnas study``): accuracy per strategy, accuracy and conv ops against
beta_P, and the cells found; ``study.html`` and notebook 06 both draw them from here.

:func:`study_data` is the data step (no plotly): it reads ``results.csv`` (or rows) and
groups the test accuracies by strategy and by beta_P, as mean and sample std over seeds.
:func:`strategy_chart` and :func:`beta_chart` render it; :func:`write_study_html` writes the
standalone, offline page.
"""

from __future__ import annotations

import html
import math
import os
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from cpnas.errors import CpnasError
from cpnas.genotype import parse_genotype
from cpnas.study import SWEPT, read_results

from ._imports import try_import
from .cell import OKABE_ITO
from .report import _CSS as PAGE_CSS

BETA_NAMES = ("cpnas", "child-only", "parent-only")  # rows that are CP-NAS at some beta_P
METRICS = {"test_acc": "1-bit test accuracy", "test_acc_fp": "FP twin test accuracy"}


class Stat(NamedTuple):
    n: int
    mean: float
    std: float  # sample std over seeds (nan for one seed)
    values: tuple[float, ...]


class Group(NamedTuple):
    label: str  # strategy, or "cpnas β=<beta>"
    stats: dict[str, Stat]  # metric -> Stat (test_acc, test_acc_fp, conv_ops, search_seconds)
    seeds: tuple[int, ...]


class BetaPoint(NamedTuple):
    beta: float
    stats: dict[str, Stat]
    seeds: tuple[int, ...]


class StudyData(NamedTuple):
    rows: tuple[dict, ...]
    groups: tuple[Group, ...]  # in the order the grid lists them
    betas: tuple[BetaPoint, ...]  # CP-NAS rows by beta_P, sorted
    cells: tuple[tuple[str, tuple[str, ...]], ...]  # genotype -> the labels that found it


def stat(values: Iterable[float | None]) -> Stat:
    vals = tuple(float(v) for v in values if v is not None and not math.isnan(float(v)))
    if not vals:
        return Stat(0, math.nan, math.nan, ())
    return Stat(len(vals), statistics.fmean(vals),
                statistics.stdev(vals) if len(vals) > 1 else math.nan, vals)


def label(row: dict) -> str:
    if row["strategy"] in SWEPT and row.get("beta") is not None:
        return f"{row['strategy']} β={row['beta']:g}"
    return row["strategy"]


def _stats(rows: list[dict]) -> dict[str, Stat]:
    return {k: stat(r[k] for r in rows) for k in ("test_acc", "test_acc_fp", "conv_ops",
                                                  "search_seconds")}


def study_data(source: Any) -> StudyData:
    """From a study folder, a results.csv path, or rows as :func:`cpnas.study.read_results` gives."""
    if isinstance(source, (str, os.PathLike)):
        rows = read_results(source)
    else:
        rows = [dict(r) for r in source]
    if not rows:
        raise CpnasError("the study has no rows")
    by_label: dict[str, list[dict]] = {}
    for r in rows:
        by_label.setdefault(label(r), []).append(r)
    groups = tuple(Group(k, _stats(v), tuple(r["seed"] for r in v)) for k, v in by_label.items())
    by_beta: dict[float, dict[str, dict]] = {}
    for r in rows:
        if r["strategy"] in BETA_NAMES and r.get("beta") is not None:
            by_beta.setdefault(float(r["beta"]), {})[r["run_dir"]] = r  # one search, one point
    betas = tuple(BetaPoint(b, _stats(list(v.values())), tuple(r["seed"] for r in v.values()))
                  for b, v in sorted(by_beta.items()))
    cells: dict[str, list[str]] = {}
    for r in rows:
        if r.get("genotype"):
            cells.setdefault(r["genotype"], []).append(f"{label(r)}, seed {r['seed']}")
    return StudyData(tuple(rows), groups, betas, tuple((g, tuple(v)) for g, v in cells.items()))


# -- renderers --------------------------------------------------------------------------------


def strategy_chart(data: Any, metric: str = "test_acc") -> Any:
    """Mean ± std over seeds per strategy (bars), with one point per seed."""
    go = try_import("plotly.graph_objects", "the study views")
    d = data if isinstance(data, StudyData) else study_data(data)
    x = [g.label for g in d.groups]
    fig = go.Figure()
    fig.add_bar(x=x, y=[_pct(g.stats[metric].mean) for g in d.groups], name="mean over seeds",
                marker_color=OKABE_ITO["sky_blue"], opacity=0.6,
                error_y={"type": "data", "array": [_pct(g.stats[metric].std) for g in d.groups]},
                hovertemplate="%{x}: %{y:.1f}% ± %{error_y.array:.1f}<extra></extra>")
    px, py, text = [], [], []
    for g in d.groups:
        rows = [r for r in d.rows if label(r) == g.label and r.get(metric) is not None]
        px += [g.label] * len(rows)
        py += [_pct(r[metric]) for r in rows]
        text += [f"seed {r['seed']}" for r in rows]
    fig.add_scatter(x=px, y=py, mode="markers", name="one seed", text=text,
                    marker={"color": OKABE_ITO["vermillion"], "size": 8},
                    hovertemplate="%{x}, %{text}: %{y:.1f}%<extra></extra>")
    fig.update_layout(title=f"{METRICS.get(metric, metric)} per strategy (mean ± std over seeds)",
                      yaxis_title="test accuracy (%)", template="plotly_white",
                      legend={"orientation": "h", "y": -0.25})
    return fig


def beta_chart(data: Any, metric: str = "test_acc") -> Any:
    """CP-NAS against beta_P: accuracy (left) and conv ops kept (right), mean ± std and
    per seed; random search's mean ± std as a band, the no-search floor as a line."""
    subplots = try_import("plotly.subplots", "the study views")
    d = data if isinstance(data, StudyData) else study_data(data)
    fig = subplots.make_subplots(rows=1, cols=2, subplot_titles=(
        METRICS.get(metric, metric), "conv ops kept (both cells)"))
    for col, key, scale in ((1, metric, 100.0), (2, "conv_ops", 1.0)):
        b = [p.beta for p in d.betas]
        fig.add_scatter(x=b, y=[p.stats[key].mean * scale for p in d.betas], row=1, col=col,
                        mode="lines+markers", name="cpnas, mean ± std", showlegend=col == 1,
                        line={"color": OKABE_ITO["blue"]},
                        error_y={"type": "data", "array": [_nan0(p.stats[key].std) * scale
                                                           for p in d.betas]})
        xs = [p.beta for p in d.betas for _ in p.stats[key].values]
        ys = [v * scale for p in d.betas for v in p.stats[key].values]
        fig.add_scatter(x=xs, y=ys, row=1, col=col, mode="markers", name="one seed",
                        showlegend=col == 1, marker={"color": OKABE_ITO["vermillion"], "size": 7})
        for name, colour in (("random", "green"), ("random-pick", "grey")):
            g = next((g for g in d.groups if g.label == name), None)
            if g is None or not g.stats[key].n:
                continue
            s = g.stats[key]
            fig.add_hline(y=s.mean * scale, row=1, col=col, line_dash="dash",
                          line_color=OKABE_ITO.get(colour, "#999999"),
                          annotation_text=name, annotation_position="top left")
            if s.n > 1 and name == "random":
                fig.add_hrect(y0=(s.mean - s.std) * scale, y1=(s.mean + s.std) * scale,
                              row=1, col=col, fillcolor=OKABE_ITO["green"], opacity=0.12,
                              line_width=0)
    fig.update_xaxes(title_text="beta_P (Eq. 4.15)")
    fig.update_yaxes(title_text="test accuracy (%)", row=1, col=1)
    fig.update_yaxes(title_text="conv ops", row=1, col=2)
    fig.update_layout(title="CP-NAS against beta_P", template="plotly_white",
                      legend={"orientation": "h", "y": -0.25})
    return fig


def summary_table(data: Any):
    """One line per strategy: seeds, mean ± std of both accuracies, conv ops, search time."""
    pd = try_import("pandas", "the study views")
    d = data if isinstance(data, StudyData) else study_data(data)
    out = []
    for g in d.groups:
        s = g.stats
        out.append({"strategy": g.label, "seeds": s["test_acc"].n,
                    "1-bit acc %": _pm(s["test_acc"]), "FP twin acc %": _pm(s["test_acc_fp"]),
                    "conv ops": _pm(s["conv_ops"], 1.0), "search s": _pm(s["search_seconds"], 1.0)})
    return pd.DataFrame(out).set_index("strategy")


def _pm(s: Stat, scale: float = 100.0) -> str:
    if not s.n:
        return ""
    std = "" if math.isnan(s.std) else f" ± {s.std * scale:.1f}"
    return f"{s.mean * scale:.1f}{std}"


def _pct(x: float) -> float:
    return x * 100.0


def _nan0(x: float) -> float:
    return 0.0 if math.isnan(x) else x


# -- the page ---------------------------------------------------------------------------------

_CSS = PAGE_CSS  # one look for every standalone page (report.py)


def study_html(source: Any) -> str:
    """The whole page as one string; plotly.js is embedded once, nothing is fetched."""
    pio = try_import("plotly.io", "the study page")
    from .cell import cell_pair
    from .report import _svg_block

    d = source if isinstance(source, StudyData) else study_data(source)
    figures = [("strategies", strategy_chart(d)), ("strategies-fp", strategy_chart(d, "test_acc_fp"))]
    if d.betas:
        figures.append(("beta", beta_chart(d)))
    parts = ["<h1>CP-NAS study</h1>",
             f"<p>{len(d.rows)} grid points; accuracies are test accuracies of each found cell "
             "trained from scratch, as mean ± sample std over seeds.</p>",
             summary_table(d).to_html()]
    for i, (div_id, fig) in enumerate(figures):
        parts.append(pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0), div_id=div_id,
                                 include_mathjax=False,
                                 config={"displaylogo": False, "responsive": True}))
    parts.append("<h2>The cells found</h2>")
    for i, (text, who) in enumerate(d.cells):
        parts.append(f"<h3>{html.escape('; '.join(who))}</h3><pre>{html.escape(text)}</pre>")
        parts.append(_svg_block(f"cell-{i}", cell_pair(parse_genotype(text))))
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>CP-NAS study'
            f"</title><style>{_CSS}</style></head><body>\n" + "\n".join(parts)
            + "\n</body></html>\n")


def write_study_html(study_dir: str | os.PathLike, out_path: str | os.PathLike | None = None) -> Path:
    """Write ``study.html`` (default: into the study folder) and return its path."""
    from .export import atomic_write_bytes

    out = Path(out_path) if out_path is not None else Path(study_dir) / "study.html"
    atomic_write_bytes(out, study_html(study_dir).encode("utf-8"))
    return out


__all__ = ["BetaPoint", "Group", "Stat", "StudyData", "beta_chart", "stat", "strategy_chart",
           "study_data", "study_html", "summary_table", "write_study_html"]
