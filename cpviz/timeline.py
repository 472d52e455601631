"""The pruning timeline: for every edge, how long each op stayed in the race.

An op alive in rounds 0..r and pruned at the end of round r has the span [0, r + 1); an op
still alive runs to the current round; the survivor runs to the end and is marked.
:func:`timeline_data` is the data step (no plotly), :func:`pruning_timeline` the renderer.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from cpnas.errors import CpnasError

from ._imports import try_import
from .cell import op_colour
from .state import as_state


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


def timeline_data(state: Any) -> TimelineData:
    """Every op's lifetime on every edge of a state (or events, or a run dir)."""
    state = as_state(state)
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
    """One row per edge, one segment per round: the segment of round r has the colour of the
    op the edge pruned at the end of round r, so a row reads left to right as the order in
    which its ops fell (grey: a round still running; a star: the survivor). Rounds are
    numbered from 1 on screen."""
    go = try_import("plotly.graph_objects", "the pruning timeline")
    return go.Figure(timeline_spec(state, height=height))


def timeline_spec(state: Any, *, height: int | None = None) -> dict[str, Any]:
    """:func:`pruning_timeline`'s figure as plain data (plotly's JSON schema), not yet
    validated by plotly: ``go.Figure`` takes it as it is, the live dashboard sends it as it is."""
    d = timeline_data(state)
    traces = []
    for op in d.ops:
        spans = [s for s in d.spans if s.op == op and s.status == "pruned"]
        traces.append({
            "type": "bar", "name": op, "orientation": "h", "y": [s.edge for s in spans],
            "base": [s.pruned_in for s in spans], "x": [1] * len(spans),
            "marker": {"color": op_colour(op), "line": {"color": "#FFFFFF", "width": 1}},
            "text": [op] * len(spans), "textposition": "inside", "insidetextanchor": "middle",
            "textfont": {"size": 9}, "customdata": [_hover(s) for s in spans],
            "hovertemplate": "%{y} · " + op + "<br>%{customdata}<extra></extra>", "legendgroup": op,
        })
    fallen = {e: sum(1 for s in d.spans if s.edge == e and s.status == "pruned") for e in d.edges}
    racing = [e for e in d.edges if d.reached > fallen[e]]
    traces.append({
        "type": "bar", "name": "round running", "orientation": "h", "y": racing,
        "base": [fallen[e] for e in racing], "x": [d.reached - fallen[e] for e in racing],
        "marker": {"color": "#E3E3E3"},
        "hovertemplate": "%{y}: no op pruned yet in this round<extra></extra>",
    })
    stars = [s for s in d.spans if s.status == "survivor"]
    traces.append({
        "type": "scatter", "name": "survivor", "mode": "markers", "x": [s.end for s in stars],
        "y": [s.edge for s in stars], "marker": {"symbol": "star", "size": 11, "color": "#000000"},
        "text": [s.op for s in stars], "hovertemplate": "%{y}: %{text} survived<extra></extra>",
    })
    rounds = list(range(d.n_rounds))
    layout = {
        "barmode": "overlay", "bargap": 0.2, "autosize": True,
        "uniformtext": {"minsize": 9, "mode": "hide"},  # an op name that does not fit: hover only
        "height": height or max(360, 16 * len(d.edges) + 170),
        # the title at the figure's top edge, the legend's rows (up to 3 at 540 px) below it
        "title": {"text": f"Pruning timeline: {d.reached} of {d.n_rounds} rounds", "font": {"size": 14},
                  "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 8}},
        "xaxis": {"title": {"text": "round (a segment: the op pruned at its end)"},
                  "range": [0, d.n_rounds + 0.4], "tickvals": [r + 0.5 for r in rounds],
                  "ticktext": [str(r + 1) for r in rounds]},
        "yaxis": {"autorange": "reversed", "tickfont": {"size": 10}},
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "font": {"size": 10}},
        "margin": {"l": 110, "r": 10, "t": 125, "b": 50},
    }
    return {"data": traces, "layout": layout}


def _hover(s: OpSpan) -> str:
    if s.status == "pruned":
        return f"alive in rounds {s.start + 1}..{s.pruned_in + 1}, pruned with ev {s.ev:.4f}"
    if s.status == "survivor":
        return "survived every round"
    return f"alive (rounds {s.start + 1}..{s.end} so far)"


__all__ = ["OpSpan", "TimelineData", "pruning_timeline", "timeline_data", "timeline_spec"]
