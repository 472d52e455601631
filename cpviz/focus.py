"""Focus mode for cell diagrams: hover a node, or pick it with a click, to see its edges.

Pure CSS, so it works alike in the live dashboard's HTML widget and in the static report
(no script): :func:`focus_html` takes Graphviz's SVG of a cell diagram, in which every node
and edge carries a ``<title>`` (``c_{k-2}``, ``c_{k-2}->0``; ``normal/c_{k-2}`` and
``normal/c_{k-2}->normal/0`` in a pair of cells), gives each node and edge the class names of
the nodes it touches, and adds ``:has()`` rules: while node X is hovered (or picked: a click
gives it the focus, which it keeps until a click elsewhere; a hovered node wins over a picked
one), every node and edge that does not touch X fades to :data:`FADE`, and a box over the
diagram's far side lists X's edges with their labels as HTML text at :data:`LIST_FONT_PX`, so
the focused labels are legible however small the drawing is scaled (a report's full diagram,
every op on every edge, is scaled far below 9 px in a page column).

Every edge of a state's cell also carries its edge id and screen name (``data-edge``,
``data-edge-label``): the dashboard's inspector picks an edge from a click on it.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from typing import NamedTuple

FADE = 0.15  # the opacity of what the focused node does not touch
LIST_FONT_PX = 12  # the focused edges' labels in the box beside the diagram
_SVG = "{http://www.w3.org/2000/svg}"
_MAX_INDEX = 64  # cpnas.limits: at most 16 nodes per cell, so any cell's indices fit


class Row(NamedTuple):
    """One line of an edge's label: its pieces as (text, colour or "", struck through)."""
    pieces: tuple[tuple[str, str, bool], ...]


class FocusEdge(NamedTuple):
    gid: str  # Graphviz's id of the edge's <g>: "edge3"
    src: str  # node titles, as in the SVG ("c_{k-2}", "normal/0")
    dst: str
    edge: str | None  # the edge id ("normal:0->2"); None for an edge into c_{k} or a genotype's
    rows: tuple[Row, ...]


class FocusNode(NamedTuple):
    gid: str  # "node3"
    title: str
    label: str  # the text drawn in it
    x: float  # its centre across the drawing, 0..1


def _index(gid: str) -> int:
    return int(re.sub(r"\D", "", gid))


def _cell_and_name(title: str, graph: str) -> tuple[str, str]:
    cell, _, name = title.rpartition("/")
    return (cell or graph), name


def _edge_id(src: str, dst: str, graph: str) -> str | None:
    """The edge id of an edge between two node titles, or None (into c_{k}, or not a cell's)."""
    from cpnas.space import edge_id

    from .cell import node_name

    names = {node_name(i): i for i in range(_MAX_INDEX)}
    (cell, a), (cell_b, b) = _cell_and_name(src, graph), _cell_and_name(dst, graph)
    if cell != cell_b or cell not in ("normal", "reduce") or a not in names or b not in names:
        return None
    return edge_id(cell, names[a], names[b])


def _rows(texts: list[ET.Element]) -> tuple[Row, ...]:
    """An edge label's <text> elements as lines: the pieces of one table row (y within half a
    line) left to right."""
    items = []
    for t in texts:
        text = "".join(t.itertext()).strip()
        if not text:
            continue
        items.append((float(t.get("y", 0)), float(t.get("x", 0)), float(t.get("font-size", 10)),
                      (text, t.get("fill", ""), "line-through" in t.get("text-decoration", ""))))
    items.sort(key=lambda it: (it[0], it[1]))
    rows: list[list[tuple[float, float, float, tuple]]] = []
    for it in items:
        if rows and abs(it[0] - rows[-1][0][0]) <= it[2] / 2:
            rows[-1].append(it)
        else:
            rows.append([it])
    return tuple(Row(tuple(p[3] for p in sorted(r, key=lambda p: p[1]))) for r in rows)


def parse_diagram(svg: str) -> tuple[list[FocusNode], list[FocusEdge]]:
    """The nodes and edges of Graphviz's SVG of a cell diagram (the ``<svg>`` element)."""
    root = ET.fromstring(svg)
    view = [float(v) for v in (root.get("viewBox") or "0 0 1 1").split()]
    width = view[2] or 1.0
    graph_g = root.find(f"{_SVG}g")
    graph = (graph_g.findtext(f"{_SVG}title") or "") if graph_g is not None else ""
    nodes, edges = [], []
    for g in root.iter(f"{_SVG}g"):
        kind, gid = g.get("class"), g.get("id", "")
        title = g.findtext(f"{_SVG}title") or ""
        if kind == "node":
            texts = g.findall(f"{_SVG}text")
            x = float(texts[0].get("x", 0)) if texts else 0.0
            nodes.append(FocusNode(gid, title, " ".join("".join(t.itertext()) for t in texts).strip() or title,
                                   min(1.0, max(0.0, x / width))))
        elif kind == "edge" and "->" in title:
            src, dst = title.split("->", 1)
            edges.append(FocusEdge(gid, src, dst, _edge_id(src, dst, graph),
                                   _rows(list(g.iter(f"{_SVG}text")))))
    ends = {e.src for e in edges} | {e.dst for e in edges}
    return [n for n in nodes if n.title in ends], edges  # a node no edge touches (a title) has no focus


def focus_css(indices: list[int]) -> str:
    """The rules for nodes ``indices`` (Graphviz's node numbers), scoped to each
    ``.cpnas-focus`` box, so that many diagrams on one page keep apart."""
    fade = f"{{opacity:{FADE}}}"
    rules = [
        ".cpnas-focus{position:relative}",
        ".cpnas-focus g.node{cursor:pointer;outline:none}",
        ".cpnas-focus g.node:focus>:is(polygon,ellipse,path){stroke-width:3px}",
        f".cpnas-focus .cf-list{{display:none;position:absolute;top:4px;z-index:2;max-width:min(420px,60%);"
        f"box-sizing:border-box;padding:4px 8px;background:rgba(255,255,255,.94);border:1px solid #bbb;"
        f"border-radius:3px;font:{LIST_FONT_PX}px/1.35 Helvetica,Arial,sans-serif;color:#222;"
        f"pointer-events:none;text-align:left}}",
        ".cpnas-focus .cf-list.cf-right{right:4px}.cpnas-focus .cf-list.cf-left{left:4px}",
        ".cpnas-focus .cf-list ul{margin:2px 0 0;padding-left:1.1em}.cpnas-focus .cf-list li{margin:1px 0}",
    ]
    hover = ".cpnas-focus:has(.cf-n{i}:hover)"
    picked = ".cpnas-focus:not(:has(g.node:hover)):has(.cf-n{i}:focus)"
    for i in indices:
        for when in (hover, picked):
            sel = when.format(i=i)
            rules.append(f"{sel} :is(g.node,g.edge):not(.cf-t{i}){fade}")
            rules.append(f"{sel} .cf-list-{i}{{display:block}}")
    return "<style>" + "\n".join(rules) + "</style>"


def _row_html(row: Row) -> str:
    out = []
    for text, colour, struck in row.pieces:
        piece = html.escape(text)
        if struck:
            piece = f"<s>{piece}</s>"
        if colour and colour not in ("black", "#000000"):
            piece = f'<span style="color:{html.escape(colour)}">{piece}</span>'
        out.append(piece)
    return " ".join(out)


def _shown(title: str) -> str:
    """A node as the list names it, in HTML: its name with a real subscript (as drawn:
    c<sub>k-2</sub>), after its cell in a pair of cells."""
    from .cell import node_parts

    cell, _, name = title.rpartition("/")
    base, sub = node_parts(name)
    shown = html.escape(base) + (f"<sub>{html.escape(sub)}</sub>" if sub else "")
    return f"{html.escape(cell)} {shown}" if cell else shown


def _node_list(node: FocusNode, edges: list[FocusEdge]) -> str:
    mine = [e for e in edges if node.title in (e.src, e.dst)]
    items = []
    for e in mine:
        ends = f"{_shown(e.src)} → {_shown(e.dst)}"
        body = "<br>".join(_row_html(r) for r in e.rows) if e.rows else "<i>concatenated into the output</i>"
        items.append(f"<li><b>{ends}</b>: {body}</li>")
    side = "cf-right" if node.x < 0.5 else "cf-left"  # the side away from the node
    head = f"node {_shown(node.title)}: {len(mine)} edge{'s' if len(mine) != 1 else ''}"
    return (f'<div class="cf-list cf-list-{_index(node.gid)} {side}" data-node="{html.escape(node.title)}">'
            f"<b>{head}</b><ul>{''.join(items)}</ul></div>")


def focus_html(svg: str) -> str:
    """Graphviz's SVG of a cell diagram (the ``<svg>`` element, no XML prolog) in a
    ``div.cpnas-focus`` with its focus mode: the nodes and edges classed, the CSS rules and
    one hidden list per node. Markup Graphviz did not make (no node titled) is returned
    unchanged."""
    try:
        nodes, edges = parse_diagram(svg)
    except ET.ParseError:
        return svg
    if not nodes:
        return svg
    by_title = {n.title: n for n in nodes}
    touches: dict[str, set[int]] = {n.gid: {_index(n.gid)} for n in nodes}
    extra: dict[str, str] = {}
    for e in edges:
        ends = {_index(by_title[t].gid) for t in (e.src, e.dst) if t in by_title}
        for t in (e.src, e.dst):
            if t in by_title:
                touches[by_title[t].gid] |= ends
        touches[e.gid] = ends
        if e.edge:
            from .cell import edge_label

            extra[e.gid] = (f' data-edge="{html.escape(e.edge)}" '
                            f'data-edge-label="{html.escape(edge_label(e.edge))}"')
    for n in nodes:
        extra[n.gid] = ' tabindex="0"'

    def classed(m: re.Match) -> str:
        gid, kind = m.group(1), m.group(2)
        if gid not in touches:
            return m.group(0)
        names = " ".join(f"cf-t{i}" for i in sorted(touches[gid]))
        own = f" cf-n{_index(gid)}" if kind == "node" else ""
        return f'<g id="{gid}" class="{kind}{own} {names}"{extra.get(gid, "")}>'

    marked = re.sub(r'<g id="((?:node|edge)\d+)" class="(node|edge)">', classed, svg)
    lists = "".join(_node_list(n, edges) for n in nodes)
    return (f'<div class="cpnas-focus">{focus_css(sorted(_index(n.gid) for n in nodes))}'
            f"{marked}{lists}</div>")


__all__ = ["FADE", "LIST_FONT_PX", "focus_css", "focus_html", "parse_diagram"]
