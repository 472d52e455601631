"""The pruning timeline: for every edge, how long each op stayed in the race.

An op alive in rounds 0..r and pruned at the end of round r has the span [0, r + 1); an op
still alive runs to the current round; the survivor runs to the end and is marked.
:func:`timeline_data` is the data step (no plotly), :func:`pruning_timeline` the renderer.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from cpnas.errors import CpnasError

from ._imports import try_import
from .cell import edge_label, op_colour, short_op
from .contrast import contrast, label_colour
from .state import SearchState, as_state, require_state


class OpSpan(NamedTuple):
    edge: str
    op: str
    start: int  # round it entered (always 0: every op starts alive)
    end: int  # exclusive: pruned_in + 1, or the rounds reached so far
    status: str  # pruned | alive | survivor
    pruned_in: int | None
    ev: float | None  # the ev it was pruned with


class TimelineData(NamedTuple):
    edges: tuple[str, ...]
    ops: tuple[str, ...]
    n_rounds: int  # rounds in the whole search
    reached: int  # rounds started so far
    spans: tuple[OpSpan, ...]  # edge-major, ops in space order

    def survivor(self, edge: str) -> str | None:
        return next((s.op for s in self.spans if s.edge == edge and s.status == "survivor"), None)


def timeline_data(state: SearchState) -> TimelineData:
    """Every op's lifetime on every edge of a search state."""
    state = require_state(state, "timeline_data")
    if not state.edges:
        raise CpnasError("the search state has no search space yet (no SearchStarted event)")
    reached = state.round + 1
    survivors = state.survivors()
    spans = []
    for edge in state.edges:
        for op in state.ops:
            rec = state.pruned.get(edge, {}).get(op)
            if rec is not None:
                spans.append(OpSpan(edge, op, 0, rec.round + 1, "pruned", rec.round, rec.ev))
            elif survivors.get(edge) == op:
                spans.append(OpSpan(edge, op, 0, state.n_rounds, "survivor", None, None))
            else:
                spans.append(OpSpan(edge, op, 0, max(reached, 0), "alive", None, None))
    return TimelineData(tuple(state.edges), tuple(state.ops), state.n_rounds, max(reached, 0), tuple(spans))


def pruning_timeline(state: Any, *, height: int | None = None) -> Any:
    """One row per edge, in the heatmap's order (the space's, fixed as rounds pass), one
    segment per round: the segment of round r has the colour and the short name (``sep3``
    for sep_conv_3x3; the legend pairs them) of the op the edge pruned at the end of round
    r, so a row reads left to right as the order in which its ops fell (grey: a round still
    running); the survivor's name ends the row. Rounds are numbered from 1 on screen."""
    go = try_import("plotly.graph_objects", "the pruning timeline")
    return go.Figure(timeline_spec(state, height=height))


def timeline_spec(state: Any, *, height: int | None = None) -> dict[str, Any]:
    """:func:`pruning_timeline`'s figure as plain data (plotly's JSON schema), not yet
    validated by plotly: ``go.Figure`` takes it as it is, the live dashboard sends it as it is."""
    d = timeline_data(as_state(state))
    labels = {e: edge_label(e) for e in d.edges}
    traces = []
    for op in d.ops:
        spans = [s for s in d.spans if s.op == op and s.status == "pruned"]
        traces.append({
            "type": "bar", "name": f"{short_op(op)} = {op}" if short_op(op) != op else op,
            "orientation": "h", "y": [s.edge for s in spans],
            "base": [s.pruned_in for s in spans], "x": [1] * len(spans),
            "marker": {"color": op_colour(op), "line": {"color": "#FFFFFF", "width": 1}},
            "customdata": [[labels[s.edge], _hover(s)] for s in spans],
            "hovertemplate": "%{customdata[0]} · " + op + "<br>%{customdata[1]}<extra></extra>",
            "legendgroup": op,
        })
    fallen = {e: sum(1 for s in d.spans if s.edge == e and s.status == "pruned") for e in d.edges}
    racing = [e for e in d.edges if d.reached > fallen[e]]
    traces.append({
        "type": "bar", "name": "round running", "orientation": "h", "y": racing,
        "base": [fallen[e] for e in racing], "x": [d.reached - fallen[e] for e in racing],
        "marker": {"color": "#E3E3E3"}, "customdata": [labels[e] for e in racing],
        "hovertemplate": "%{customdata}: no op pruned yet in this round<extra></extra>",
    })
    fell = [s for s in d.spans if s.status == "pruned"]
    traces.append({  # each segment's short op name, as text over it (bar text hides when tight)
        "type": "scatter", "name": "op names", "mode": "text", "showlegend": False,
        "x": [s.pruned_in + 0.5 for s in fell], "y": [s.edge for s in fell],
        "text": [short_op(s.op) for s in fell], "hoverinfo": "skip",
        "textfont": {"size": 10, "color": [_ink(op_colour(s.op)) for s in fell]},
    })
    survivors = [s for s in d.spans if s.status == "survivor"]
    traces.append({  # the survivor by name, right of the last round (no symbol to decode)
        "type": "scatter", "name": "survivor", "mode": "text", "showlegend": False,
        "x": [s.end + 0.08 for s in survivors], "y": [s.edge for s in survivors],
        "text": [s.op for s in survivors], "textposition": "middle right",
        "textfont": {"size": 10, "color": [label_colour(op_colour(s.op)) for s in survivors]},
        "customdata": [labels[s.edge] for s in survivors],
        "hovertemplate": "%{customdata}: %{text} survived every round<extra></extra>",
    })
    rounds = list(range(d.n_rounds))
    edges = list(d.edges)
    layout = {
        "barmode": "overlay", "bargap": 0.12, "autosize": True, "plot_bgcolor": "#FFFFFF",
        "height": height or max(360, 16 * len(d.edges) + 170),
        # the title at the figure's top edge, the legend's rows (up to 3 at 540 px) below it
        "title": {"text": f"Pruning timeline: {d.reached} of {d.n_rounds} rounds", "font": {"size": 14},
                  "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 8}},
        "xaxis": {"title": {"text": "round (a segment: the op pruned at its end)"},
                  "range": [0, d.n_rounds + SURVIVOR_ROOM],
                  "tickvals": [r + 0.5 for r in rounds] + [d.n_rounds + SURVIVOR_ROOM / 2],
                  "ticktext": [str(r + 1) for r in rounds] + ["survivor"]},
        # the heatmap's row order, stated: rows never move as rounds pass
        "yaxis": {"type": "category", "categoryorder": "array", "categoryarray": edges,
                  "range": [len(edges) - 0.5, -0.5], "tickmode": "array", "tickvals": edges,
                  "ticktext": [labels[e] for e in edges], "tickfont": {"size": 10}},
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "font": {"size": 10}},
        "margin": {"l": 130, "r": 10, "t": 125, "b": 50},
    }
    return {"data": traces, "layout": layout}


def _ink(colour: str) -> str:
    """Black or white, whichever reads better on ``colour``."""
    return "#FFFFFF" if contrast(colour, "#FFFFFF") >= contrast(colour, "#000000") else "#000000"


SURVIVOR_ROOM = 1.9  # rounds' worth of x axis right of the last round, for the survivor's name


def _hover(s: OpSpan) -> str:
    if s.status == "pruned":
        return f"alive in rounds {s.start + 1}..{s.pruned_in + 1}, pruned with ev {s.ev:.4f}"
    if s.status == "survivor":
        return "survived every round"
    return f"alive (rounds {s.start + 1}..{s.end} so far)"


__all__ = ["OpSpan", "TimelineData", "pruning_timeline", "timeline_data", "timeline_spec"]
