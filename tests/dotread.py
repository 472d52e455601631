"""Read DOT back with Graphviz's own parser (pygraphviz), for exact-edge tests; read the
nodes of Graphviz's SVG (their places and label parts), for layout and subscript tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import NamedTuple

import pygraphviz

SVG = "{http://www.w3.org/2000/svg}"


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


class SvgNode(NamedTuple):
    x: float  # the centre of the node's shape (else of its first text element): x to the right,
    y: float  # y downwards (SVG), in the drawing's units
    parts: tuple[tuple[str, str | None], ...]  # (text, baseline-shift) of each text element

    def math(self) -> str:
        """The label as TeX-like text: a subscript part (``baseline-shift="sub"``) as ``_{...}``."""
        return "".join(f"_{{{t}}}" if shift == "sub" else t for t, shift in self.parts)


def svg_nodes(svg: bytes | str) -> dict[str, SvgNode]:
    """Graphviz SVG's nodes by id (``<g class="node"><title>id</title> ... <text>``), with
    their label's text elements; nodes without text (invisible ones) are left out."""
    root = ET.fromstring(svg)
    out = {}
    for g in root.iter(f"{SVG}g"):
        texts = g.findall(f"{SVG}text")
        if g.get("class") != "node" or not texts:
            continue
        parts = tuple((t.text or "", t.get("baseline-shift")) for t in texts)
        shape = g.find(f"{SVG}polygon")
        if shape is not None:
            xs, ys = zip(*(map(float, p.split(",")) for p in shape.get("points").split()))
            x, y = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        else:
            x, y = float(texts[0].get("x")), float(texts[0].get("y"))
        out[g.find(f"{SVG}title").text] = SvgNode(x, y, parts)
    return out
