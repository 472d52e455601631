"""Child and parent accuracy per sampled architecture, and the per-op child-parent gap.

The gap A_P - A_C is what Eq. 4.15 weighs with beta_P. :func:`op_gap_data` averages it over
every sample that ran an op on some edge: the ops with the largest mean gap are the ones
that binarize worst.
"""

from __future__ import annotations

import functools
import math
import statistics
from typing import Any, NamedTuple

from ._imports import try_import
from .cell import op_colour
from .state import SearchState, as_state, require_state


class SamplePoint(NamedTuple):
    index: int  # 0-based position in the search
    round: int
    t: int
    s: int
    child_acc: float
    parent_acc: float
    gap: float  # parent - child
    z: float


class CurvesData(NamedTuple):
    points: tuple[SamplePoint, ...]
    round_starts: tuple[int, ...]  # sample index where each round begins
    beta: float | None
    in_flight: int = 0  # samples started and not scored yet: the next indices
    scoring: str = "sample"  # when they are scored: sample | sweep | round (the config's)


def curves_data(state: SearchState) -> CurvesData:
    state = require_state(state, "curves_data")
    points, starts, last_round = [], [], None
    for i, s in enumerate(state.samples):
        if s.round != last_round:
            starts.append(i)
            last_round = s.round
        points.append(SamplePoint(i, s.round, s.t, s.s, s.child_acc, s.parent_acc,
                                  s.parent_acc - s.child_acc, s.z))
    beta = state.config.get("beta")
    return CurvesData(tuple(points), tuple(starts), None if beta is None else float(beta),
                      len(state.in_flight), str(state.config.get("scoring", "sample")))


class OpGap(NamedTuple):
    op: str
    mean_gap: float  # mean over samples of A_P - A_C, each sample counted once per edge running op
    std_gap: float
    n: int  # (sample, edge) pairs
    samples: int  # distinct samples that ran the op somewhere


def op_gap_data(state: SearchState, cell: str | None = None) -> tuple[OpGap, ...]:
    """Mean child-parent gap per op, sorted worst (largest gap) first.

    ``cell`` restricts to the edges of one cell type ("normal" or "reduce"). A sample with
    no parent accuracy (the ``darts`` strategy trains no parent) has no gap and is skipped.
    """
    state = require_state(state, "op_gap_data")
    gaps: dict[str, list[float]] = {op: [] for op in state.ops}
    seen: dict[str, int] = dict.fromkeys(state.ops, 0)
    for s in state.samples:
        gap = s.parent_acc - s.child_acc
        if math.isnan(gap):
            continue
        used = set()
        for edge, op in s.arch.items():
            if cell is not None and not edge.startswith(cell + ":"):
                continue
            gaps.setdefault(op, []).append(gap)
            used.add(op)
        for op in used:
            seen[op] = seen.get(op, 0) + 1
    out = [
        OpGap(op, statistics.fmean(v) if v else math.nan, statistics.pstdev(v) if len(v) > 1 else 0.0,
              len(v), seen.get(op, 0))
        for op, v in gaps.items()
    ]
    return tuple(sorted(out, key=lambda g: (math.isnan(g.mean_gap), -_nan0(g.mean_gap), g.op)))


def _nan0(x: float) -> float:
    return 0.0 if math.isnan(x) else x


# -- renderers -------------------------------------------------------------------------------

# The op colours (Okabe & Ito) are reserved for ops; the curves take Paul Tol's "muted"
# indigo, teal and wine, colour-blind safe and distinct from every op colour.
CHILD, PARENT, GAP = "#44AA99", "#332288", "#882255"


def accuracy_curves(state: Any, *, height: int = 520) -> Any:
    """Child and parent validation accuracy per sample (top) and their gap (bottom)."""
    go = try_import("plotly.graph_objects", "the accuracy curves")
    return go.Figure(curves_spec(state, height=height))


def curves_spec(state: Any, *, height: int = 520) -> dict[str, Any]:
    """:func:`accuracy_curves`'s figure as plain data (plotly's JSON schema), not yet
    validated by plotly: ``go.Figure`` takes it as it is, the live dashboard sends it as it is."""
    d = curves_data(as_state(state))
    x = [p.index for p in d.points]
    hover = [f"round {p.round + 1}, t {p.t + 1}, s {p.s + 1}<br>z {p.z:.4f}" for p in d.points]
    traces = [
        {"type": "scatter", "x": x, "y": ys, "name": name, "mode": "lines+markers",
         "line": {"color": colour}, "marker": {"size": 4}, "text": hover,
         "hovertemplate": "%{y:.4f}<br>%{text}<extra>" + name + "</extra>", "xaxis": "x", "yaxis": "y"}
        for name, ys, colour in (("parent (full precision)", [p.parent_acc for p in d.points], PARENT),
                                 ("child (1-bit)", [p.child_acc for p in d.points], CHILD))
    ]
    traces.append({"type": "scatter", "x": x, "y": [p.gap for p in d.points], "name": "gap (parent - child)",
                   "mode": "lines+markers", "line": {"color": GAP, "dash": "dot"}, "marker": {"size": 4},
                   "hovertemplate": "%{y:.4f}<extra>gap</extra>", "xaxis": "x2", "yaxis": "y2"})
    # a line across both plots where each round starts, numbered from 1 on screen
    shapes = [{"type": "line", "x0": start - 0.5, "x1": start - 0.5, "xref": x, "y0": 0, "y1": 1,
               "yref": f"{y} domain", "line": {"color": "#BBBBBB", "width": 1}}
              for start in d.round_starts for x, y in (("x", "y"), ("x2", "y2"))]
    marks = [{"x": start - 0.5, "y": 1.02, "yref": "paper", "text": f"r{d.points[start].round + 1}",
              "showarrow": False, "xanchor": "left", "font": {"size": 10, "color": "#6E6E6E"}}
             for start in d.round_starts]
    band, note = _in_flight_band(d)
    shapes, marks = shapes + band, marks + note
    beta = "" if d.beta is None else f", beta_P = {d.beta:g}"
    grid = _grid()
    layout = {
        **grid, "height": height, "autosize": True,
        **({"shapes": shapes, "annotations": marks} if shapes else {}),  # plotly drops empty lists
        "title": {"text": f"Validation accuracy per sampled architecture{beta}", "font": {"size": 14}},
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.06, "yanchor": "bottom"},
        "margin": {"t": 90, "b": 50},
        "yaxis": {**grid["yaxis"], "title": {"text": "accuracy"}},
        "yaxis2": {**grid["yaxis2"], "title": {"text": "gap"}},
        "xaxis2": {**grid["xaxis2"], "title": {"text": "sampled architecture"}},
    }
    return {"data": traces, "layout": layout}


def _in_flight_band(d: CurvesData) -> tuple[list[dict], list[dict]]:
    """A grey band over the next indices: the samples started and not scored yet (under
    sweep or round scoring, the sweep or round trained so far), with a line saying so."""
    if not d.in_flight:
        return [], []
    x0, x1 = len(d.points) - 0.5, len(d.points) + d.in_flight - 0.5
    shapes = [{"type": "rect", "x0": x0, "x1": x1, "xref": x, "y0": 0, "y1": 1, "yref": f"{y} domain",
               "fillcolor": "#E3E3E3", "line": {"width": 0}, "layer": "below"}
              for x, y in (("x", "y"), ("x2", "y2"))]
    when = {"sweep": "scored at the sweep's end", "round": "scored at the round's end"}.get(d.scoring)
    text = "in training" if d.in_flight == 1 or when is None else f"{d.in_flight} trained, {when}"
    marks = [{"x": x1, "y": 0.98, "yref": "y domain", "text": text, "showarrow": False,
              "xanchor": "right", "yanchor": "top", "font": {"size": 10, "color": "#555555"}}]
    return shapes, marks


@functools.cache
def _grid() -> dict[str, Any]:
    """The two stacked plots' axes (domains, shared x), as ``make_subplots`` lays them out."""
    subplots = try_import("plotly.subplots", "the accuracy curves")
    fig = subplots.make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35],
                                 vertical_spacing=0.06)
    layout = fig.to_plotly_json()["layout"]
    return {k: v for k, v in layout.items() if k.startswith(("xaxis", "yaxis"))}


def op_gap_chart(state: Any, *, cell: str | None = None, height: int = 380) -> Any:
    """Per op, the mean child-parent gap: which ops lose most when binarized."""
    go = try_import("plotly.graph_objects", "the op gap chart")
    gaps = [g for g in op_gap_data(as_state(state), cell) if g.n]
    fig = go.Figure(go.Bar(
        x=[g.op for g in gaps], y=[g.mean_gap for g in gaps],
        error_y={"type": "data", "array": [g.std_gap for g in gaps], "visible": True},
        marker={"color": [op_colour(g.op) for g in gaps]},
        customdata=[[g.n, g.samples] for g in gaps],
        hovertemplate="%{x}<br>mean gap %{y:.4f}<br>%{customdata[0]} edge-samples in "
                      "%{customdata[1]} samples<extra></extra>",
    ))
    where = "" if cell is None else f" ({cell} cells)"
    fig.update_layout(height=height, title={"text": f"Mean parent - child accuracy gap per op{where}"},
                      yaxis={"title": {"text": GAP_TITLE}}, xaxis={"tickangle": -30})
    return fig


# the gap's axis title, typeset (plotly's sub tags render everywhere; LaTeX needs MathJax)
GAP_TITLE = "A<sub>P</sub> − A<sub>C</sub>"  # short: it runs along the chart's height

__all__ = ["GAP_TITLE", "CurvesData", "OpGap", "SamplePoint", "accuracy_curves", "curves_data", "curves_spec", "op_gap_chart", "op_gap_data"]
