"""Read DOT back with Graphviz's own parser (pygraphviz), for exact-edge tests."""

from __future__ import annotations

import pygraphviz


def visible_edges(source: str) -> list[tuple[str, str, str | None]]:
    """(src, dst, label) of every drawn edge; invisible layout edges are left out."""
    g = pygraphviz.AGraph(string=source)
    out = []
    for e in g.edges():
        if e.attr.get("style") == "invis":
            continue
        out.append((str(e[0]), str(e[1]), e.attr.get("label") or None))
    return out


def edge_attrs(source: str) -> list[dict[str, str]]:
    """The attributes of every visible edge, with src, dst and label."""
    g = pygraphviz.AGraph(string=source)
    return [{"src": str(e[0]), "dst": str(e[1]), **dict(e.attr)} for e in g.edges()
            if e.attr.get("style") != "invis"]


def node_names(source: str) -> set[str]:
    return {str(n) for n in pygraphviz.AGraph(string=source).nodes()}


def positions(source: str, axis: int = 0) -> dict[str, float]:
    """x (``axis=0``) or y (``axis=1``, growing upwards) of every node after the dot layout
    (rankdir=LR: x is the rank)."""
    g = pygraphviz.AGraph(string=source)
    g.layout(prog="dot")
    return {str(n): float(n.attr["pos"].split(",")[axis]) for n in g.nodes()}
