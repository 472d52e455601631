"""Views of a study (``cpnas study``): accuracy per strategy, the paired differences against
CP-NAS at the default beta_P with their verdicts, accuracy and conv ops against beta_P, and
the cells found; ``study.html`` and notebook 06 both draw them from here.

:func:`study_data` is the data step (no plotly): it reads ``results.csv`` (or rows), groups
the test accuracies by strategy and by beta_P, as mean and sample std over seeds, and makes
the comparisons with :func:`cpnas.stats.compare` (paired by seed, one Holm family), the one
function behind every verdict. :func:`strategy_chart`, :func:`difference_chart` and
:func:`beta_chart` render it; :func:`write_study_html` writes the standalone, offline page.
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
from cpnas.stats import REFERENCE, Comparison, compare, label, search_sets
from cpnas.study import read_results

from ._imports import try_import
from .cell import OKABE_ITO
from .report import PAGE_CSS

BETA_NAMES = ("cpnas", "child-only", "parent-only")  # rows that are CP-NAS at some beta_P
METRICS = {"test_acc": "1-bit test accuracy", "test_acc_fp": "FP twin test accuracy"}


class Stat(NamedTuple):
    n: int
    mean: float
    std: float  # sample std over seeds (nan for one seed)
    values: tuple[float, ...]


class Group(NamedTuple):
    label: str  # strategy, or "cpnas β=<beta>" (with another name of the same searches)
    stats: dict[str, Stat]  # metric -> Stat (test_acc, test_acc_fp, conv_ops, search_seconds)
    seeds: tuple[int, ...]
    names: tuple[str, ...] = ()  # the rows' labels (cpnas.stats.label) this group stands for


class BetaPoint(NamedTuple):
    beta: float
    stats: dict[str, Stat]
    seeds: tuple[int, ...]


class StudyData(NamedTuple):
    rows: tuple[dict, ...]
    groups: tuple[Group, ...]  # in the order the grid lists them, one per distinct search set
    betas: tuple[BetaPoint, ...]  # CP-NAS rows by beta_P, sorted
    cells: tuple[tuple[str, tuple[str, ...]], ...]  # genotype -> the labels that found it
    reference: str = REFERENCE  # the row every comparison is made against
    comparisons: tuple[Comparison, ...] = ()  # 1-bit test accuracy, paired, one Holm family


def stat(values: Iterable[float | None]) -> Stat:
    vals = tuple(float(v) for v in values if v is not None and not math.isnan(float(v)))
    if not vals:
        return Stat(0, math.nan, math.nan, ())
    return Stat(len(vals), statistics.fmean(vals),
                statistics.stdev(vals) if len(vals) > 1 else math.nan, vals)


def _stats(rows: list[dict]) -> dict[str, Stat]:
    return {k: stat(r[k] for r in rows) for k in ("test_acc", "test_acc_fp", "conv_ops",
                                                  "search_seconds")}


def study_data(source: Any, reference: str = REFERENCE) -> StudyData:
    """From a study folder, a results.csv path, or rows as :func:`cpnas.study.read_results` gives.

    Two names for the same searches (``child-only`` and ``cpnas β=0``) make one group, under
    the swept name with the other in brackets."""
    if isinstance(source, (str, os.PathLike)):
        rows = read_results(source)
    else:
        rows = [dict(r) for r in source]
    if not rows:
        raise CpnasError("the study has no rows")
    by_label: dict[str, list[dict]] = {}
    for r in rows:
        by_label.setdefault(label(r), []).append(r)
    shown = {}  # the label kept for a search set -> (display label, every name of it)
    for first, names in search_sets(rows):
        others = [n for n in names if n != first]
        shown[first] = (f"{first} ({', '.join(others)})" if others else first, names)
    groups = tuple(Group(shown[k][0], _stats(v), tuple(r["seed"] for r in v), shown[k][1])
                   for k, v in by_label.items() if k in shown)
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
    comparisons = tuple(compare(rows, reference))
    return StudyData(tuple(rows), groups, betas, tuple((g, tuple(v)) for g, v in cells.items()),
                     reference, comparisons)


# -- renderers --------------------------------------------------------------------------------


def strategy_chart(data: Any, metric: str = "test_acc") -> Any:
    """The spread over seeds per strategy: a box (quartiles, whiskers, the mean dashed) with
    one dot per seed beside it. The axis spans the data, not 0-100: a box shows its own scale
    and does not exaggerate the way a cut-off bar would."""
    go = try_import("plotly.graph_objects", "the study views")
    d = data if isinstance(data, StudyData) else study_data(data)
    fig = go.Figure()
    for g in d.groups:
        rows = [r for r in d.rows if label(r) == (g.names or (g.label,))[0]
                and r.get(metric) is not None]
        fig.add_box(x=[g.label] * len(rows), y=[_pct(r[metric]) for r in rows], name=g.label,
                    boxpoints="all", jitter=0.5, pointpos=-1.6, boxmean=True,
                    marker={"color": OKABE_ITO["vermillion"], "size": 5},
                    line={"color": OKABE_ITO["blue"]}, fillcolor="rgba(86,180,233,0.25)",
                    text=[f"seed {r['seed']}" for r in rows], showlegend=False,
                    hovertemplate="%{x}, %{text}: %{y:.1f}%<extra></extra>")
    n = max((g.stats[metric].n for g in d.groups), default=0)
    fig.update_layout(title=f"{METRICS.get(metric, metric)} per strategy ({n} seeds: box = "
                            "quartiles, dashed = mean, a dot per seed)",
                      yaxis_title="test accuracy (%)", template="plotly_white")
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
                          annotation_text=name,
                          annotation_position="top left" if name == "random" else "bottom left")
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


def comparison_table(data: Any):
    """The verdicts: each other row against the reference (default cpnas β=0.5), paired by
    seed, in points of 1-bit test accuracy: mean difference (other minus reference), its
    bootstrap 95% CI, the paired permutation p-value and its Holm correction over the whole
    family, and the verdict. "too few seeds" where no p-value of the family could pass."""
    pd = try_import("pandas", "the study views")
    d = data if isinstance(data, StudyData) else study_data(data)
    out = []
    for c in d.comparisons:
        out.append({"vs " + c.reference: c.label, "seeds": c.n,
                    "difference (points)": _num(100 * c.mean_diff, "+.1f"),
                    "95% CI": f"[{_num(100 * c.ci_low, '+.1f')}, {_num(100 * c.ci_high, '+.1f')}]",
                    "p": "" if c.p is None else _p(c.p),
                    "p (Holm)": "" if c.p_holm is None else _p(c.p_holm), "verdict": c.verdict})
    return pd.DataFrame(out).set_index("vs " + d.reference) if out else pd.DataFrame()


def difference_chart(data: Any) -> Any:
    """Each comparison as a point with its 95% CI (points of 1-bit test accuracy, other minus
    the reference), coloured by the corrected verdict; 0 is the reference."""
    go = try_import("plotly.graph_objects", "the study views")
    d = data if isinstance(data, StudyData) else study_data(data)
    fig = go.Figure()
    colours = {"beyond noise: better": OKABE_ITO["green"],
               "beyond noise: worse": OKABE_ITO["vermillion"], "within noise": OKABE_ITO["blue"],
               "too few seeds": "#888888"}
    for verdict, colour in colours.items():
        cs = [c for c in d.comparisons if c.verdict == verdict]
        if not cs:
            continue
        fig.add_scatter(
            x=[100 * c.mean_diff for c in cs], y=[c.label for c in cs], mode="markers",
            name=verdict, marker={"color": colour, "size": 10},
            error_x={"type": "data", "symmetric": False,
                     "array": [_nan0(100 * (c.ci_high - c.mean_diff)) for c in cs],
                     "arrayminus": [_nan0(100 * (c.mean_diff - c.ci_low)) for c in cs]},
            customdata=[[c.n, "" if c.p_holm is None else _p(c.p_holm)] for c in cs],
            hovertemplate="%{y}: %{x:+.1f} points over %{customdata[0]} seeds, "
                          "Holm p %{customdata[1]}<extra></extra>")
    fig.add_vline(x=0, line_color="#444444", line_width=1)
    fig.update_layout(title=f"Paired difference against {d.reference} (mean, 95% CI)",
                      xaxis_title="1-bit test accuracy difference (points)",
                      template="plotly_white", height=120 + 36 * max(1, len(d.comparisons)),
                      yaxis={"autorange": "reversed"}, legend={"orientation": "h", "y": -0.3},
                      margin={"l": 120})
    return fig


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _num(x: float, fmt: str) -> str:
    return "" if math.isnan(x) else format(x, fmt)


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



def study_html(source: Any) -> str:
    """The whole page as one string; plotly.js is embedded once, nothing is fetched."""
    pio = try_import("plotly.io", "the study page")
    from .cell import cell_pair
    from .report import svg_block

    d = source if isinstance(source, StudyData) else study_data(source)
    figures = [("strategies", strategy_chart(d))]
    if d.comparisons:
        figures.append(("differences", difference_chart(d)))
    figures.append(("strategies-fp", strategy_chart(d, "test_acc_fp")))
    if d.betas:
        figures.append(("beta", beta_chart(d)))
    parts = ["<h1>CP-NAS study</h1>",
             f"<p>{len(d.rows)} grid points; accuracies are test accuracies of each found cell "
             "trained from scratch, as mean ± sample std over seeds.</p>",
             summary_table(d).to_html()]
    if d.comparisons:
        n = len(d.comparisons)
        parts += [f"<h2>Against {html.escape(d.reference)}</h2>",
                  f"<p>Paired by seed (a seed fixes the data split and every seed of the search "
                  f"and the training, for every strategy alike); mean difference in points of "
                  f"1-bit test accuracy with a bootstrap 95% CI; a paired permutation test, "
                  f"Holm-corrected over these {n} comparisons; beyond noise where the "
                  f"corrected p is under 0.05.</p>", comparison_table(d).to_html()]
    for i, (div_id, fig) in enumerate(figures):
        parts.append(pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0), div_id=div_id,
                                 include_mathjax=False,
                                 config={"displaylogo": False, "responsive": True}))
    parts.append("<h2>The cells found</h2>")
    for i, (text, who) in enumerate(d.cells):
        parts.append(f"<h3>{html.escape('; '.join(who))}</h3><pre>{html.escape(text)}</pre>")
        parts.append(svg_block(f"cell-{i}", cell_pair(parse_genotype(text))))
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>CP-NAS study'
            f"</title><style>{PAGE_CSS}</style></head><body>\n" + "\n".join(parts)
            + "\n</body></html>\n")


def write_study_html(study_dir: str | os.PathLike, out_path: str | os.PathLike | None = None) -> Path:
    """Write ``study.html`` (default: into the study folder) and return its path."""
    from .export import atomic_write_bytes

    out = Path(out_path) if out_path is not None else Path(study_dir) / "study.html"
    atomic_write_bytes(out, study_html(study_dir).encode("utf-8"))
    return out


__all__ = ["BetaPoint", "Group", "Stat", "StudyData", "beta_chart", "comparison_table",
           "difference_chart", "stat", "strategy_chart", "study_data", "study_html",
           "summary_table", "write_study_html"]
