"""A cell diagram as a TikZ picture for a paper: ``cpnas render ... --format tex``.

Graphviz lays the cell out (``dot -Tjson``, or the same layout from pygraphviz's bundled
libraries); this module turns its positions into TikZ: one node per Graphviz node at its
position and size, one path per edge along Graphviz's Bezier spline with its arrow tip, and
the edge's op name as a label at Graphviz's label position, underlined and tied to its edge
by Graphviz's own ``decorate`` line. Text is set in the document's
own fonts: node names such as ``c_{k-2}`` (or an HTML label ``c<sub>k-2</sub>``) become
math (``$c_{k-2}$``), op names are escaped text. The file holds the ``tikzpicture`` alone,
for ``\\input`` in a paper (``\\usepackage{tikz}``); docs/cpviz.md shows the lines.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from cpnas.errors import CpnasError

from ._imports import try_import
from .export import graphviz_backend
from .state import genotype_or_state

_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}"}
_HTML_TAG = re.compile(r"(?i)</?(?:sub|sup|font|b|i)\b[^>]*>")
_MATH_NAME = re.compile(r"^[A-Za-z](?:_\{[^{}$\\]*\}|_[A-Za-z0-9])?(?:\^\{[^{}$\\]*\})?$")


def layout(source: Any) -> dict[str, Any]:
    """Graphviz's layout of a ``graphviz.Digraph`` (or DOT text) as its JSON object."""
    text = source if isinstance(source, str) else source.source
    wanted = os.environ.get("CPNAS_GRAPHVIZ", "").strip().lower()
    if wanted != "dot" and graphviz_backend() == "pygraphviz":
        pygraphviz = try_import("pygraphviz", "TikZ export")
        data = pygraphviz.AGraph(string=text).draw(format="json", prog="dot")
    else:
        graphviz = try_import("graphviz", "TikZ export")
        data = graphviz.Source(text).pipe(format="json")
    return json.loads(data)


def tex_text(text: str) -> str:
    """Plain text with LaTeX's special characters escaped."""
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)


def tex_label(label: str) -> str:
    """A node's label: ``c_{k-2}`` / ``c<sub>k-2</sub>`` (with or without the ``<...>`` of an
    HTML-like label, and with ``<FONT>`` inside) as math, other text escaped."""
    text = label.strip()
    wrapped = text.startswith("<") and text.endswith(">")
    if wrapped or _HTML_TAG.search(text):  # an HTML-like label (Graphviz's JSON drops its <...>)
        text = text[1:-1] if wrapped else text
        text = re.sub(r"(?i)<sub>(.*?)</sub>", r"_{\1}", text)
        text = re.sub(r"(?i)<sup>(.*?)</sup>", r"^{\1}", text)
        text = re.sub(r"<[^>]*>", "", text)
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if _MATH_NAME.match(text):
        return f"${text}$"
    return tex_text(text)


def _point(text: str) -> tuple[float, float]:
    x, y = text.split(",")[:2]
    return float(x), float(y)


def _pt(p: tuple[float, float]) -> str:
    return f"({p[0]:.2f},{p[1]:.2f})"


def _color(name: str, colors: dict[str, str]) -> str:
    """A TikZ colour name for a Graphviz ``#RRGGBB`` (defined once, at the picture's top)."""
    m = re.fullmatch(r"#?([0-9A-Fa-f]{6})(?:[0-9A-Fa-f]{2})?", name or "")
    if not m:
        return {"": "black"}.get(name or "", name if re.fullmatch(r"[a-z]+", name or "") else "black")
    hexa = m.group(1).upper()
    return colors.setdefault(hexa, f"gv{hexa}")


def _spline(pos: str) -> tuple[list[tuple[float, float]], tuple[float, float] | None]:
    """Graphviz's edge ``pos``: the B-spline's points and the arrow's end point (``e,x,y``)."""
    points, end = [], None
    for part in pos.split(";")[0].split():
        if part.startswith("e,"):
            end = _point(part[2:])
        elif part.startswith("s,"):
            continue
        else:
            points.append(_point(part))
    return points, end


def tikz_picture(source: Any) -> str:
    """The TikZ code (a ``tikzpicture`` environment) of a diagram's Graphviz layout."""
    data = layout(source)
    colors: dict[str, str] = {}
    body: list[str] = []
    names: dict[int, str] = {}
    for obj in data.get("objects", []):
        if "pos" not in obj or "invis" in obj.get("style", ""):  # a subgraph (rank=same), a layout aid
            continue
        gvid = obj["_gvid"]
        names[gvid] = f"n{gvid}"
        x, y = _point(obj["pos"])
        width, height = float(obj.get("width", 0.5)) * 72, float(obj.get("height", 0.5)) * 72
        fill = _color(obj.get("fillcolor", "white"), colors) if "filled" in obj.get("style", "") else "white"
        body.append(f"  \\node[cpnode, fill={fill}, minimum width={width:.1f}bp, "
                    f"minimum height={height:.1f}bp] (n{gvid}) at ({x:.2f},{y:.2f}) "
                    f"{{{tex_label(obj.get('label', obj.get('name', '')))}}};"
                    f"  % {tex_comment(obj.get('name', ''))}")
    for edge in data.get("edges", []):
        points, end = _spline(edge.get("pos", ""))
        if not points or "invis" in edge.get("style", ""):  # the layout's invisible edges (cpviz.cell._pin)
            continue
        color = _color(edge.get("color", "black"), colors)
        width = float(edge.get("penwidth", 1.0))
        path = _pt(points[0])
        for i in range(1, len(points) - 2, 3):
            path += f" .. controls {_pt(points[i])} and {_pt(points[i + 1])} .. {_pt(points[i + 2])}"
        if end is not None:
            path += f" -- {_pt(end)}"
        tail, head = names.get(edge["tail"], "?"), names.get(edge["head"], "?")
        body.append(f"  \\draw[cpedge, draw={color}, line width={width:.1f}bp] {path};"
                    f"  % {tail} -> {head}")
        if edge.get("label") and edge.get("lp"):
            fontcolor = _color(edge.get("fontcolor", edge.get("color", "black")), colors)
            body.append(f"  \\node[cplabel, text={fontcolor}] at {_pt(_point(edge['lp']))} "
                        f"{{{tex_text(edge['label'])}}};  % label of {tail} -> {head}")
            for op in edge.get("_ldraw_", []):  # decorate: the label's underline, tied to its edge
                if op.get("op") == "L" and len(op.get("points", [])) >= 2:
                    line = " -- ".join(_pt((float(x), float(y))) for x, y in op["points"])
                    body.append(f"  \\draw[cpdecor, draw={fontcolor}] {line};  % label of {tail} -> {head}, tied")
    if data.get("label") and data.get("lp"):
        body.append(f"  \\node[cpcaption] at {_pt(_point(data['lp']))} {{{tex_text(data['label'])}}};")
    head = ["% A cell of CP-NAS as TikZ, from Graphviz's layout (cpnas render --format tex).",
            "% In a paper: \\usepackage{tikz} in the preamble, then \\input{this file};",
            "% scale it to the column with \\resizebox{\\linewidth}{!}{\\input{this file}}.",
            "\\begin{tikzpicture}[x=1bp, y=1bp, >=stealth,",
            "  cpnode/.style={draw, rectangle, line width=1bp, inner sep=2bp},",
            "  cpedge/.style={->},",
            "  cplabel/.style={font=\\footnotesize, inner sep=1bp},",
            "  cpdecor/.style={line width=0.5bp},",
            "  cpcaption/.style={font=\\scriptsize}]"]
    head += [f"  \\definecolor{{{name}}}{{HTML}}{{{hexa}}}" for hexa, name in colors.items()]
    return "\n".join(head + body + ["\\end{tikzpicture}", ""])


def tex_comment(text: str) -> str:
    return " ".join(str(text).split())


def export_tikz(source: Any, out_dir: str | os.PathLike, *,
                cells: tuple[str, ...] = ("normal", "reduce"), binary: bool = True,
                legend: bool = True) -> list[Path]:
    """Write ``normal.tex`` and ``reduce.tex`` (TikZ pictures) for anything
    :func:`cpviz.cell_graph` takes; return the paths."""
    from .cell import cell_graph
    from .export import write_files

    resolved = genotype_or_state(source)
    pictures = []
    for cell in cells:
        graph = cell_graph(resolved, cell, binary=binary, legend=legend)
        try:
            pictures.append((f"{cell}.tex", tikz_picture(graph).encode("utf-8")))
        except (ValueError, KeyError) as exc:
            raise CpnasError(f"TikZ export: Graphviz's layout could not be read ({exc})") from None
    return write_files(out_dir, pictures)


__all__ = ["export_tikz", "layout", "tex_label", "tex_text", "tikz_picture"]
