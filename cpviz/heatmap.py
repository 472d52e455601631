"""The indicator heatmap: edges x ops for one round, ev (Eq. 4.16's softmax) or zbar.

:func:`heatmap_data` is the data step (no plotly): per cell the value shown, the z values
behind it, zbar, ev and the sample count; ops pruned in an earlier round are masked and
carry the round they fell in. During a round in progress the numbers are the running means
of the samples so far, so a live view moves with every sample.

:func:`indicator_heatmap` renders it with one frame per round and a round slider, on a
fixed colour range (:func:`colour_range`), with a key for its marks.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

from cpnas import scoring
from cpnas.errors import CpnasError

from ._imports import try_import
from .cell import edge_label
from .state import SearchState, as_state, require_state, round_scores

VALUES = ("ev", "zbar")


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
    training: bool = False  # the op this edge runs in the sample in training now (SampleStarted)
    # a round in progress, an op not sampled yet in it: the previous round's value (its zbar;
    # its ev over the ops alive now), shown faded until the op has a z of its own; else NaN
    carried: float = math.nan


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


def heatmap_data(state: SearchState, value: str = "ev", round: int | None = None) -> HeatmapData:
    """The heatmap of one round (default: the latest) of a search state."""
    if value not in VALUES:
        raise CpnasError(f"value must be one of {list(VALUES)}, got {value!r}")
    state = require_state(state, "heatmap_data")
    if not state.edges:
        raise CpnasError("the search state has no search space yet (no SearchStarted event)")
    rnd = _pick_round(state, round)
    scores = round_scores(state, rnd)
    before = state.scores.get(rnd - 1) if not scores.final else None
    flight = state.in_flight[-1] if state.in_flight and state.in_flight[-1].round == rnd else None
    training = flight.arch if flight is not None else {}
    rows = []
    for edge in state.edges:
        survivor = state.survivors().get(edge)
        row = [_cell(state, scores, edge, op, value, survivor, training.get(edge) == op)
               for op in state.ops]
        rows.append(tuple(_carry(row, before, value) if before is not None else row))
    return HeatmapData(rnd, value, scores.final, tuple(state.edges), tuple(state.ops), tuple(rows))


def _pick_round(state: SearchState, round: int | None) -> int:
    latest = max(state.round, max(state.scores, default=-1), 0)
    if round is None:
        return latest
    if not isinstance(round, int) or not 0 <= round <= latest:
        raise CpnasError(f"round must be an integer in 0..{latest}, got {round!r}")
    return round


def _carry(row: list[HeatCell], before: Any, value: str) -> list[HeatCell]:
    """The previous round's scores on the cells of ``row`` not sampled yet in this round: its
    zbar, and its ev over the ops alive now (the softmax of that zbar over them)."""
    edge = row[0].edge
    zbar = {c.op: before.zbar[edge][c.op] for c in row
            if not c.masked and c.op in before.zbar.get(edge, {})}
    if not zbar:
        return row
    ev = scoring.softmax(zbar)
    return [c._replace(carried=float(zbar[c.op] if value == "zbar" else ev[c.op]))
            if not c.masked and not c.zs and c.op in zbar else c for c in row]


def _cell(state: SearchState, scores, edge: str, op: str, value: str, survivor: str | None,
          training: bool) -> HeatCell:
    pruned_in = state.pruned_round(edge, op)
    masked = pruned_in is not None and pruned_in < scores.round
    zs = () if masked else tuple(scores.zs.get(edge, {}).get(op, ()))
    zbar = math.nan if masked else float(scores.zbar.get(edge, {}).get(op, math.nan))
    ev = math.nan if masked else float(scores.ev.get(edge, {}).get(op, math.nan))
    shown = ev if value == "ev" else zbar
    return HeatCell(edge, op, shown, zbar, ev, zs, masked, pruned_in, op == survivor, training)


# -- renderer --------------------------------------------------------------------------------

# Diverging and colour-blind safe: the middle (an even softmax, 1/K) is pale, so noise around
# it stays pale; only ops clearly ahead (blue) or behind (brown) stand out.
COLORSCALE = "BrBG"
MISSING = "#F2F2F2"  # the plot background: a cell with no score yet (and none carried over)
PRUNED = "#6E6E6E"  # a cell whose op was pruned in an earlier round: dark, its rN in white
CARRIED_OPACITY = 0.45  # last round's score on a cell not sampled yet in this round
# a placeholder mark with every placement key, so it too overwrites what its index held
HIDDEN = {"visible": False, "x": 0, "y": 0, "xref": "paper", "yref": "paper", "yshift": 0,
          "xanchor": "center", "yanchor": "middle", "showarrow": False, "align": "center"}
HOVER_ZS = 8  # the z values a cell's hover lists (its latest); the count is always given
KEY = ("□ in training now · ★ survivor · ✕ pruned at this round's end<br>"
       "dark grey rN: pruned in round N · light grey: no score yet<br>"
       "faded: last round's score (not sampled yet in this round)")


def colour_range(d: HeatmapData, k: int) -> tuple[float, float, float]:
    """(zmin, zmid, zmax) of the colour scale: fixed per round, never stretched to the data.

    ev: 0 .. 2/K around the even share 1/K (K ops alive), so a 0.494 vs 0.506 split of two
    ops stays near the pale middle; zbar: the accuracy-like indicator on 0 .. 1.
    """
    if d.value == "ev":
        even = 1 / max(k, 1)
        return 0.0, even, 2 * even
    return 0.0, 0.5, 1.0


def indicator_heatmap(
    state: Any, value: str = "ev", round: int | None = None, *, height: int | None = None,
    slider: bool = True,
) -> Any:
    """Edges x ops heatmap; ``round`` picks the one shown first. With ``slider`` it carries a
    frame and a slider step per round (the live dashboard has its own slider: ``False``).
    Rounds are numbered from 1 on screen (events count them from 0)."""
    go = try_import("plotly.graph_objects", "the indicator heatmap")
    return go.Figure(heatmap_spec(state, value, round, height=height, slider=slider))


def heatmap_spec(
    state: Any, value: str = "ev", round: int | None = None, *, height: int | None = None,
    slider: bool = True,
) -> dict[str, Any]:
    """:func:`indicator_heatmap`'s figure as plain data (plotly's JSON schema: ``data``,
    ``layout``, ``frames``), not yet validated by plotly: ``go.Figure`` takes it as it is,
    and the live dashboard sends it to the page without that (costly) step."""
    state = as_state(state)
    shown = heatmap_data(state, value, round)
    rounds = list(range(heatmap_data(state, value).round + 1)) if slider else [shown.round]
    datas = {r: (shown if r == shown.round else heatmap_data(state, value, r)) for r in rounds}
    k = len(state.ops)
    layouts = {r: _frame_layout(d) for r, d in datas.items()}
    n_notes = max(len(lay["annotations"]) for lay in layouts.values())
    for lay in layouts.values():  # as many in every frame: a shorter list would leave stale marks
        lay["annotations"] += [{**HIDDEN, "text": ""}] * (n_notes - len(lay["annotations"]))
    layout = {
        **layouts[shown.round],
        "height": height or max(360, 15 * len(shown.edges) + 190),
        "autosize": True,
        "plot_bgcolor": MISSING,
        # categories and ranges stated, not derived from z: at a round's start no cell has a
        # value yet, and plotly would draw no axis and stack every mark on one point
        "xaxis": {"side": "top", "tickangle": -30, "tickfont": {"size": 10}, **_categories(shown.ops)},
        # rows in the space's order, named as every view names them (the events keep the ids)
        "yaxis": {"tickfont": {"size": 10}, **_categories(shown.edges, reverse=True),
                  "tickmode": "array", "tickvals": list(shown.edges),
                  "ticktext": [edge_label(e) for e in shown.edges]},
        "margin": {"l": 130, "r": 10, "t": 110, "b": 90},
    }
    spec: dict[str, Any] = {"data": _traces(shown, k), "layout": layout}
    if slider:  # every frame has every trace: a frame without one would leave it as it was
        layout["sliders"] = [_slider(rounds, shown.round)]
        spec["frames"] = [{"name": str(r), "data": _traces(d, k),
                           "layout": layouts[r]} for r, d in datas.items()]
    return spec


def _categories(names: Any, *, reverse: bool = False) -> dict:
    """A category axis over ``names`` in their order (the first on top when ``reverse``)."""
    names = list(names)
    ends = [-0.5, len(names) - 0.5]
    return {"type": "category", "categoryorder": "array", "categoryarray": names, "showgrid": False,
            "range": ends[::-1] if reverse else ends}


def _traces(d: HeatmapData, k: int) -> list[dict[str, Any]]:
    """This round's values, the sample in training, last round's values carried over (faded)
    and the pruned cells (dark): four traces, in this order, in every frame."""
    hover = [[_hover(c) for c in row] for row in d.cells]  # once: the three grids share it
    return [_trace(d, k, hover), _training_trace(d), _carried_trace(d, k, hover), _pruned_trace(d, hover)]


def _carried_trace(d: HeatmapData, k: int, hover: list[list[str]]) -> dict[str, Any]:
    zmin, zmid, zmax = colour_range(d, k - d.round)
    return {
        "type": "heatmap", "name": "last round", "z": d.matrix("carried"), "x": list(d.ops),
        "y": list(d.edges), "opacity": CARRIED_OPACITY, "showscale": False,
        "colorscale": _colorscale(), "zmin": zmin, "zmid": zmid, "zmax": zmax,
        "customdata": hover,
        "hovertemplate": "%{customdata}<extra></extra>", "hoverongaps": False, "xgap": 1, "ygap": 1,
    }


def _pruned_trace(d: HeatmapData, hover: list[list[str]]) -> dict[str, Any]:
    return {
        "type": "heatmap", "name": "pruned", "x": list(d.ops), "y": list(d.edges),
        "z": [[1 if c.masked else None for c in row] for row in d.cells],
        "colorscale": [[0, PRUNED], [1, PRUNED]], "zmin": 0, "zmax": 1, "showscale": False,
        "customdata": hover,
        "hovertemplate": "%{customdata}<extra></extra>", "hoverongaps": False, "xgap": 1, "ygap": 1,
    }


def _trace(d: HeatmapData, k: int, hover: list[list[str]]) -> dict[str, Any]:
    alive = k - d.round  # ops alive on every edge in this round
    zmin, zmid, zmax = colour_range(d, alive)
    title = (f"ev (K={alive})<br>{zmin:g} .. {zmax:.3g}<br>even = {zmid:.3g}" if d.value == "ev"
             else f"zbar<br>{zmin:g} .. {zmax:g}")
    return {
        "type": "heatmap",
        "z": d.matrix(),
        "x": list(d.ops),
        "y": list(d.edges),
        "customdata": hover,
        "hovertemplate": "%{customdata}<extra></extra>",
        "colorscale": _colorscale(),
        "zmin": zmin, "zmid": zmid, "zmax": zmax,
        "colorbar": {"title": {"text": title, "font": {"size": 10}}, "tickfont": {"size": 10},
                     "thickness": 12, "len": 0.9},
        "hoverongaps": True,
        "xgap": 1,
        "ygap": 1,
    }


@functools.cache
def _colorscale() -> list[list[Any]]:
    """COLORSCALE as stops: plotly.js knows fewer names than plotly.py, and a spec that skips
    plotly.py's validation must say what plotly.py would have resolved."""
    go = try_import("plotly.graph_objects", "the indicator heatmap")
    return [list(stop) for stop in go.Heatmap(colorscale=COLORSCALE).colorscale]


def _training_trace(d: HeatmapData) -> dict[str, Any]:
    """An open square on every cell of the sample in training now (none after its round)."""
    cells = [c for row in d.cells for c in row if c.training]
    return {
        "type": "scatter", "mode": "markers", "name": "in training now", "showlegend": False,
        "x": [c.op for c in cells], "y": [c.edge for c in cells], "hoverinfo": "skip",
        "marker": {"symbol": "square-open", "size": 13, "color": "#000000", "line": {"width": 2}},
    }


def _hover(c: HeatCell) -> str:
    return f"{edge_label(c.edge)} · {c.op}<br>{_hover_body(c)}"


def _hover_body(c: HeatCell) -> str:
    if c.masked:
        return f"pruned in round {c.pruned_in + 1}"
    if not c.zs and not math.isnan(c.carried):
        return f"not sampled yet in this round; last round's score (faded): {c.carried:.4f}"
    shown = c.zs[-HOVER_ZS:]  # a search with a large T: the last few, not thousands
    zs = ("… " if len(c.zs) > HOVER_ZS else "") + ", ".join(f"{z:.3f}" for z in shown) or "none yet"
    text = f"z: {zs}<br>zbar: {_fmt(c.zbar)}<br>ev: {_fmt(c.ev)}<br>samples: {len(c.zs)}"
    if c.pruned_in is not None:
        text += f"<br>pruned at the end of round {c.pruned_in + 1}"
    if c.survivor:
        text += "<br>survivor"
    if c.training:
        text += "<br>in the sample in training now"
    return text


def _fmt(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.4f}"


def _frame_layout(d: HeatmapData) -> dict:
    # The key first, and every mark with all of its placement keys: a frame's annotations
    # merge into the shown ones index by index, so a mark that left a key out would inherit
    # the previous frame's value at its index (a paper-referenced x for a category: NaN).
    # Every mark says ``visible: True``: a frame's placeholder (HIDDEN) at the same index in
    # an earlier frame set it False, and a mark without the key would inherit that (the
    # report showed its marks on the first rows only).
    notes = [{"text": KEY, "visible": True, "xref": "paper", "yref": "paper", "x": 0, "y": 0, "yshift": -8,
              "xanchor": "left", "yanchor": "top", "showarrow": False, "align": "left",
              "font": {"size": 10, "color": "#444444"}}]
    for row in d.cells:
        for c in row:
            if c.masked:
                mark = (f"r{c.pruned_in + 1}", 9, "#FFFFFF")
            elif c.pruned_in == d.round:
                mark = ("✕", 11, "#000000")
            elif c.survivor:
                mark = ("★", 11, "#000000")
            else:
                continue
            notes.append({"x": c.op, "y": c.edge, "text": mark[0], "visible": True, "xref": "x", "yref": "y",
                          "yshift": 0, "xanchor": "center", "yanchor": "middle",
                          "showarrow": False, "align": "center",
                          "font": {"size": mark[1], "color": mark[2]}})
    status = "" if d.final else " (running means)"
    title = f"Indicator {d.value} per edge and op, round {d.round + 1}{status}"
    return {"annotations": notes, "title": {"text": title, "font": {"size": 14}}}


def _slider(rounds: list[int], active: int) -> dict:
    steps = [
        {"label": str(r + 1), "method": "animate",
         "args": [[str(r)], {"mode": "immediate", "frame": {"duration": 0, "redraw": True},
                             "transition": {"duration": 0}}]}
        for r in rounds
    ]
    return {"active": rounds.index(active), "currentvalue": {"prefix": "round "}, "steps": steps,
            "pad": {"t": 30}}


__all__ = ["HeatCell", "HeatmapData", "colour_range", "heatmap_data", "heatmap_spec", "indicator_heatmap"]
