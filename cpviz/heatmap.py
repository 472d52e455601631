"""The indicator heatmap: edges x ops for one round, ev (Eq. 4.16's softmax) or zbar.

:func:`heatmap_data` is the data step (no plotly): per cell the value shown, the z values
behind it, zbar, ev and the sample count; ops pruned in an earlier round are masked and
carry the round they fell in. During a round in progress the numbers are the running means
of the samples so far, so a live view moves with every sample.

:func:`indicator_heatmap` renders it with one frame per round and a round slider.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from cpnas.errors import CpnasError

from ._imports import try_import
from .state import SearchState, as_state, round_scores

VALUES = ("ev", "zbar")
COLORSCALE = "Cividis"  # perceptually uniform and colour-blind safe


class HeatCell(NamedTuple):
    edge: str
    op: str
    value: float  # NaN when masked or not sampled yet
    zbar: float
    ev: float
    zs: tuple[float, ...]  # the z of every sample that ran this op on this edge this round
    masked: bool  # pruned before this round
    pruned_in: int | None  # the round the op fell in (this one or an earlier one)
    survivor: bool  # the last op left on its edge


class HeatmapData(NamedTuple):
    round: int
    value: str
    final: bool  # False while the round is still running (running means)
    edges: tuple[str, ...]  # rows
    ops: tuple[str, ...]  # columns
    cells: tuple[tuple[HeatCell, ...], ...]  # [row][column]

    def matrix(self, field: str = "value") -> list[list[float | None]]:
        """One field as a rows x columns list (None where NaN), e.g. for plotly's z."""
        return [[_none_if_nan(getattr(c, field)) for c in row] for row in self.cells]

    def mask(self) -> list[list[bool]]:
        return [[c.masked for c in row] for row in self.cells]


def _none_if_nan(x: Any) -> Any:
    return None if isinstance(x, float) and math.isnan(x) else x


def heatmap_data(state: Any, value: str = "ev", round: int | None = None) -> HeatmapData:
    """The heatmap of one round (default: the latest) of a state, events or run dir."""
    if value not in VALUES:
        raise CpnasError(f"value must be one of {list(VALUES)}, got {value!r}")
    state = as_state(state)
    if not state.edges:
        raise CpnasError("the search state has no search space yet (no SearchStarted event)")
    rnd = _pick_round(state, round)
    scores = round_scores(state, rnd)
    rows = []
    for edge in state.edges:
        survivor = state.survivors().get(edge)
        rows.append(tuple(_cell(state, scores, edge, op, value, survivor) for op in state.ops))
    return HeatmapData(rnd, value, scores.final, tuple(state.edges), tuple(state.ops), tuple(rows))


def _pick_round(state: SearchState, round: int | None) -> int:
    latest = max(state.round, max(state.scores, default=-1), 0)
    if round is None:
        return latest
    if not isinstance(round, int) or not 0 <= round <= latest:
        raise CpnasError(f"round must be an integer in 0..{latest}, got {round!r}")
    return round


def _cell(state: SearchState, scores, edge: str, op: str, value: str, survivor: str | None) -> HeatCell:
    pruned_in = state.pruned_round(edge, op)
    masked = pruned_in is not None and pruned_in < scores.round
    zs = () if masked else tuple(scores.zs.get(edge, {}).get(op, ()))
    zbar = math.nan if masked else float(scores.zbar.get(edge, {}).get(op, math.nan))
    ev = math.nan if masked else float(scores.ev.get(edge, {}).get(op, math.nan))
    shown = ev if value == "ev" else zbar
    return HeatCell(edge, op, shown, zbar, ev, zs, masked, pruned_in, op == survivor)


# -- renderer --------------------------------------------------------------------------------


def indicator_heatmap(
    state: Any, value: str = "ev", round: int | None = None, *, height: int | None = None
) -> Any:
    """Edges x ops heatmap with a round slider; ``round`` picks the one shown first."""
    go = try_import("plotly.graph_objects", "the indicator heatmap")
    state = as_state(state)
    shown = heatmap_data(state, value, round)
    rounds = list(range(heatmap_data(state, value).round + 1))
    datas = {r: (shown if r == shown.round else heatmap_data(state, value, r)) for r in rounds}
    fig = go.Figure(
        data=[_trace(go, shown)],
        frames=[go.Frame(name=str(r), data=[_trace(go, d)], layout=_frame_layout(d)) for r, d in datas.items()],
    )
    fig.update_layout(
        **_frame_layout(shown),
        height=height or max(360, 18 * len(shown.edges) + 160),
        xaxis={"side": "top", "tickangle": -30},
        yaxis={"autorange": "reversed", "tickfont": {"size": 10}},
        margin={"l": 110, "r": 20, "t": 110, "b": 70},
        sliders=[_slider(rounds, shown.round)],
    )
    return fig


def _trace(go: Any, d: HeatmapData) -> Any:
    label = "ev" if d.value == "ev" else "zbar"
    return go.Heatmap(
        z=d.matrix(),
        x=list(d.ops),
        y=list(d.edges),
        customdata=[[_hover(c) for c in row] for row in d.cells],
        hovertemplate="%{y} · %{x}<br>%{customdata}<extra></extra>",
        colorscale=COLORSCALE,
        colorbar={"title": {"text": label}},
        hoverongaps=True,
        xgap=1,
        ygap=1,
    )


def _hover(c: HeatCell) -> str:
    if c.masked:
        return f"pruned in round {c.pruned_in}"
    zs = ", ".join(f"{z:.3f}" for z in c.zs) or "none yet"
    text = f"z: {zs}<br>zbar: {_fmt(c.zbar)}<br>ev: {_fmt(c.ev)}<br>samples: {len(c.zs)}"
    if c.pruned_in is not None:
        text += f"<br>pruned at the end of round {c.pruned_in}"
    if c.survivor:
        text += "<br>survivor"
    return text


def _fmt(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.4f}"


def _frame_layout(d: HeatmapData) -> dict:
    notes = []
    for row in d.cells:
        for c in row:
            if c.masked:
                notes.append({"x": c.op, "y": c.edge, "text": f"r{c.pruned_in}", "showarrow": False,
                              "font": {"size": 9, "color": "#6E6E6E"}})
            elif c.pruned_in == d.round:
                notes.append({"x": c.op, "y": c.edge, "text": "✕", "showarrow": False,
                              "font": {"size": 11, "color": "#D55E00"}})
            elif c.survivor:
                notes.append({"x": c.op, "y": c.edge, "text": "★", "showarrow": False,
                              "font": {"size": 11, "color": "#E69F00"}})
    status = "" if d.final else " (running: samples so far)"
    title = f"Indicator {d.value} per edge and op, round {d.round}{status}"
    return {"annotations": notes, "title": {"text": title}}


def _slider(rounds: list[int], active: int) -> dict:
    steps = [
        {"label": str(r), "method": "animate",
         "args": [[str(r)], {"mode": "immediate", "frame": {"duration": 0, "redraw": True},
                             "transition": {"duration": 0}}]}
        for r in rounds
    ]
    return {"active": rounds.index(active), "currentvalue": {"prefix": "round "}, "steps": steps,
            "pad": {"t": 30}}


__all__ = ["HeatCell", "HeatmapData", "heatmap_data", "indicator_heatmap"]
