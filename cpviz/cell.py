"""Cell diagrams (graphviz), in the DARTS convention.

Left to right: the inputs c_{k-2} and c_{k-1}, the intermediate nodes 0..n-1, the output
c_{k}; one labelled edge per op; an edge into c_{k} from every node in the concat list.

Two sources:
- a genotype (anything :func:`cpnas.resolve.resolve` takes: a Genotype, a DARTS namedtuple,
  DARTS text, a genotype file, ``FILE.py:NAME``, a published name, a run directory): the
  chosen op on each edge, as the NAS papers draw it, ``none`` edges dashed;
- a :class:`~cpviz.state.SearchState`: every edge with all its ops, alive ones labelled with
  their current ev, pruned ones struck through with the round they fell in, the final
  survivors drawn thick; or, ``compact``, each edge with the op of the sample in training
  and the op leading so far (the live dashboard's).

The data steps (:func:`genotype_cell_data`, :func:`state_cell_data`) return NamedTuples and
need no graphviz; :func:`cell_graph` and :func:`cell_pair` render them in a fixed node order
(c_{k-2} above c_{k-1}, the intermediate nodes in reading order, c_{k} last: :func:`_pin`),
node names with real subscripts (:func:`node_label`), labels in their edge's colour darkened
to WCAG AA contrast (:func:`label_colour`) and tied to their edge (Graphviz ``decorate``).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from cpnas import scoring
from cpnas.errors import CpnasError
from cpnas.genotype import Genotype
from cpnas.registry import display_facts
from cpnas.space import parse_edge_id

from ._imports import try_import
from .contrast import label_colour
from .state import SearchState, genotype_or_state, require_state, round_scores

# Okabe & Ito's colour-blind-safe palette; every colour also prints distinctly in grey.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
}
FADED = "#9A9A9A"
NODE_FILL = {"input": "#CDE8D6", "inner": "#CFE3F3", "output": "#F7F1B5"}
CONCAT_EDGE = "#6E6E6E"
PALETTE = {**OKABE_ITO, "faded": FADED}  # colour group (cpnas.registry.COLOUR_GROUPS) -> colour


def op_colour(op: str) -> str:
    """The colour of the op's colour group in the registry: one per DARTS op (yellow, too
    light for text, gives way to grey); other ops take their family's (black if unknown)."""
    return PALETTE[display_facts(op).colour]


def is_binarized(op: str) -> bool:
    """True for ops the 1-bit child binarizes: every convolution inside a cell (registry fact)."""
    return display_facts(op).binarized


def node_name(index: int) -> str:
    """DARTS index -> node name: 0 = c_{k-2}, 1 = c_{k-1}, j >= 2 = intermediate j-2."""
    if index == 0:
        return "c_{k-2}"
    if index == 1:
        return "c_{k-1}"
    return str(index - 2)


OUTPUT = "c_{k}"
_SUBSCRIPT = re.compile(r"^(?P<base>[^_{}]+)_\{(?P<sub>[^{}]*)\}$")
SUB_POINT_SIZE = 13  # the subscript of a node name, against the name's 18 pt


def node_parts(name: str) -> tuple[str, str]:
    """A node name as (base, subscript): ``'c_{k-2}'`` -> ``('c', 'k-2')``, ``'0'`` -> ``('0', '')``."""
    m = _SUBSCRIPT.match(name)
    return (m["base"], m["sub"]) if m else (name, "")


def node_label(name: str) -> str:
    """A node's Graphviz label: ``c_{k-2}`` as an HTML-like label with a real subscript
    (``<c<SUB>k-2</SUB>>``, set smaller), other names as they are. The node ids stay
    ``c_{k-2}``; :func:`cpviz.tikz.tex_label` turns the label into ``$c_{k-2}$``."""
    base, sub = node_parts(name)
    if not sub:
        return name
    return (f'<{html.escape(base)}<SUB><FONT POINT-SIZE="{SUB_POINT_SIZE}">'
            f"{html.escape(sub)}</FONT></SUB>>")


def edge_label(edge: str) -> str:
    """An edge id as every view shows it: ``'normal:0->2'`` -> ``'normal c_{k-2}→0'``, in the
    diagrams' node names (0 and 1 are the inputs c_{k-2} and c_{k-1}; the intermediate nodes
    count from 0). The events keep the ids; only the screen uses this."""
    cell, src, dst = parse_edge_id(edge)
    return f"{cell} {node_name(src)}→{node_name(dst)}"


_SHORT_FAMILY = {"max_pool": "max", "avg_pool": "avg", "sep_conv": "sep", "dil_conv": "dil",
                 "conv": "conv", "pool": "pool"}


def short_op(op: str) -> str:
    """A short name that fits a narrow segment: ``sep_conv_3x3`` -> ``sep3``,
    ``skip_connect`` -> ``skip``, ``max_pool_3x3`` -> ``max3``; other ops keep their name."""
    facts = display_facts(op)
    if facts.family == "skip":
        return "skip"
    if facts.family in _SHORT_FAMILY and facts.kernel:
        return f"{_SHORT_FAMILY[facts.family]}{facts.kernel}"
    return op


# -- data steps ------------------------------------------------------------------------------


class CellEdge(NamedTuple):
    src: str
    dst: str
    op: str  # "" for the concat edges into c_{k}
    binary: bool


class CellDiagram(NamedTuple):
    cell: str
    nodes: tuple[str, ...]
    edges: tuple[CellEdge, ...]


def genotype_cell_data(genotype: Genotype, cell: str = "normal") -> CellDiagram:
    """Nodes and labelled edges of one cell of a genotype (DARTS convention)."""
    _check_cell_name(cell)
    n = len(genotype.arity(cell))
    nodes = (node_name(0), node_name(1), *(node_name(j + 2) for j in range(n)), OUTPUT)
    edges = [
        CellEdge(node_name(src), node_name(dst), op, is_binarized(op))
        for op, src, dst in genotype.edges(cell)
    ]
    concat = getattr(genotype, f"{cell}_concat")
    edges += [CellEdge(node_name(i), OUTPUT, "", False) for i in concat]
    return CellDiagram(cell, nodes, tuple(edges))


class OpMark(NamedTuple):
    op: str
    status: str  # alive | pruned | survivor
    ev: float | None  # current ev (alive) or the ev it was pruned with
    pruned_in: int | None
    binary: bool


class StateEdge(NamedTuple):
    edge: str
    src: str
    dst: str
    ops: tuple[OpMark, ...]
    survivor: str | None  # the last op standing, once only one is left
    selected: bool | None  # kept in the derived genotype (None before it exists)
    training: str | None = None  # the op of the sample in training now (SampleStarted)

    def leader(self) -> OpMark | None:
        """The alive op with the highest ev so far (None before any has one)."""
        scored = [m for m in self.ops if m.status != "pruned" and m.ev is not None and not math.isnan(m.ev)]
        return max(scored, key=lambda m: m.ev) if scored else None


def state_cell_data(state: SearchState, cell: str = "normal") -> tuple[StateEdge, ...]:
    """Every edge of one cell with each op's status, current ev and prune round."""
    state = require_state(state, "state_cell_data")
    if not state.edges:
        raise CpnasError("the search state has no search space yet (no SearchStarted event)")
    if cell not in state.cell_types:
        raise CpnasError(f"cell must be one of {list(state.cell_types)}, got {cell!r}")
    current = round_scores(state) if state.round >= 0 else None
    last = state.last_scores()
    flight = state.in_flight[-1] if state.in_flight and state.in_flight[-1].round == state.round else None
    out = []
    for edge in state.edges:
        c, src, dst = parse_edge_id(edge)
        if c != cell:
            continue
        alive = state.alive.get(edge, state.ops)
        survivor = alive[0] if len(alive) == 1 else None
        marks = []
        for op in state.ops:
            rec = state.pruned.get(edge, {}).get(op)
            if rec is not None:
                marks.append(OpMark(op, "pruned", rec.ev, rec.round, is_binarized(op)))
                continue
            value = _current_ev(current, last, edge, op)
            status = "survivor" if op == survivor else "alive"
            marks.append(OpMark(op, status, value, None, is_binarized(op)))
        info = state.genotype_edges.get(edge)
        selected = bool(info["selected"]) if info is not None and "selected" in info else None
        out.append(StateEdge(edge, node_name(src), node_name(dst), tuple(marks), survivor, selected,
                             flight.arch.get(edge) if flight is not None else None))
    return tuple(out)


def _current_ev(current, last, edge: str, op: str) -> float | None:
    for scores in (current, last):
        if scores is not None and op in scores.ev.get(edge, {}):
            return float(scores.ev[edge][op])
    return None


def _check_cell_name(cell: str) -> None:
    if cell not in ("normal", "reduce"):
        raise CpnasError(f"cell must be 'normal' or 'reduce', got {cell!r}")


# -- renderers -------------------------------------------------------------------------------

_GRAPH_ATTR = {"rankdir": "LR", "fontname": "Helvetica", "bgcolor": "white"}
_NODE_ATTR = {
    "style": "filled",
    "shape": "rect",
    "fontname": "Helvetica",
    "fontsize": "18",
    "height": "0.5",
    "width": "0.5",
    "penwidth": "1.5",
}
_EDGE_ATTR = {"fontname": "Helvetica", "fontsize": "14", "arrowsize": "0.8"}
LEGEND_1BIT = "bold edges: 1-bit ops (binarized weights and activations)"
# A genotype's diagram is scaled down to at most this many inches wide (630 pt, 840 px): it
# then fits a notebook's output in JupyterLab as it opens (file browser shown: ~850 px at
# 1280 x 800), its edge labels at 11 px or more for the teaching space's widest cells. A
# search state's diagram is scaled by its container instead (the dashboard). The files that
# export_cell writes are the same drawing: vectors (SVG, PDF) scale back up losslessly.
FIT_WIDTH_IN = 8.75


def cell_graph(
    source: Any,
    cell: str = "normal",
    *,
    binary: bool = True,
    legend: bool = True,
    title: str | None = None,
    compact: bool = False,
) -> Any:
    """The diagram of one cell as a ``graphviz.Digraph`` (renders inline in Jupyter).

    ``source``: a genotype in any form :func:`cpnas.resolve.resolve` takes, a run (directory,
    event log or events: its genotype once derived, else its search state) or a SearchState. ``binary`` marks the ops the 1-bit child binarizes (bold, with a
    legend line when ``legend``).

    ``compact`` (a search state): each edge says only the op it runs in the sample in
    training now and the op leading so far (highest ev), not a table of every op: about a
    third of the height, so the live dashboard shows a cell whole. A genotype ignores it.
    """
    graphviz = try_import("graphviz", "cell diagrams")
    g = graphviz.Digraph(name=cell, graph_attr=_GRAPH_ATTR, node_attr=_NODE_ATTR, edge_attr=_EDGE_ATTR)
    resolved = genotype_or_state(source)
    if compact and isinstance(resolved, SearchState):  # narrow: text >= 9 px at 848 px wide
        g.attr(ranksep="0.25")
    caption = _draw_cell(g, resolved, cell, prefix="", binary=binary, compact=compact)
    _fit(g, resolved)
    label = [title] if title else []
    if legend and caption:
        label.append(caption)
    if label:
        g.attr(label="\\n".join(label), labelloc="b", fontsize="12")
    return g


def cell_pair(source: Any, *, binary: bool = True, legend: bool = True) -> Any:
    """Normal and reduction cells stacked in one Digraph, the normal cell above, each titled
    ("normal cell") above its inputs: stacked, the pair is as wide as one cell, so it fits a
    notebook's width. No cluster frames: Graphviz does not keep the node order inside a
    cluster (:func:`_pin`)."""
    graphviz = try_import("graphviz", "cell diagrams")
    resolved = genotype_or_state(source)
    g = graphviz.Digraph(name="cells", graph_attr=_GRAPH_ATTR, node_attr=_NODE_ATTR, edge_attr=_EDGE_ATTR)
    captions = set()
    cells = resolved.cell_types if isinstance(resolved, SearchState) else ("normal", "reduce")
    for cell in cells:
        g.node(f"{cell}/title", label=f"{cell} cell", shape="plaintext", style="", fontsize="18")
        captions.add(_draw_cell(g, resolved, cell, prefix=f"{cell}/", binary=binary))
    with g.subgraph() as same:  # each cell's title above its inputs, the first cell above
        same.attr(rank="same")
        column = [f"{cell}/{name}" for cell in cells for name in ("title", node_name(0), node_name(1))]
        for upper, lower in zip(column, column[1:]):
            same.edge(upper, lower, style="invis")
    captions.discard("")
    _fit(g, resolved)
    if legend and captions:
        g.attr(label="\\n".join(sorted(captions)), labelloc="b", fontsize="12")
    return g


def _fit(g: Any, source: Genotype | SearchState) -> None:
    if not isinstance(source, SearchState):  # no "!": smaller drawings keep their size
        g.attr(size=f"{FIT_WIDTH_IN:g},{10 * FIT_WIDTH_IN:g}")


def _draw_cell(g: Any, source: Genotype | SearchState, cell: str, *, prefix: str, binary: bool,
               compact: bool = False) -> str:
    """Draw one cell into ``g``; return the legend line it needs ("" for none)."""
    if isinstance(source, Genotype):
        return _draw_genotype(g, genotype_cell_data(source, cell), prefix, binary)
    return _draw_state(g, source, cell, prefix, binary, compact)


def _add_nodes(g: Any, names: Iterable[str], prefix: str) -> None:
    for name in names:
        kind = "output" if name == OUTPUT else "input" if name.startswith("c_") else "inner"
        g.node(prefix + name, label=node_label(name), fillcolor=NODE_FILL[kind])


def _pin(g: Any, nodes: Iterable[str], drawn: set[tuple[str, str]], concat: set[str],
         prefix: str) -> None:
    """Draw the edges into c_{k} (from ``concat``) and hold the DARTS reading order, the same
    in every cell, pair and frame: c_{k-2} above c_{k-1} on the first rank; the intermediate
    nodes 0, 1, 2, ... top to bottom within a rank, never left of an earlier one; c_{k}
    right of every node.

    Ranks: node j shares the rank of node j-1 unless one of its inputs sits on that rank or
    later; then it goes one rank right of its latest input (``rank=same`` groups, and an
    invisible edge from node j-1 where j starts a new rank). Order within a rank: invisible
    flat edges between the group's nodes in order (DOT keeps a flat edge's tail above its
    head under ``rankdir=LR``). Crossing minimisation chose the order before: DARTS_V2's
    normal cell stacked 2, 1, 0, and the inputs swapped between the two cells of a pair.
    Flat edges do not hold inside a Graphviz cluster (neither does ``ordering``, reliably),
    so no cell is drawn in one (:func:`cell_pair` titles its cells instead). Invisible edges
    also hold a node with no drawn edge from the inputs right of them (ENASNet's reduce cell,
    whose c_{k-2} feeds only nodes 0 and 4, drifted right) and every node left of c_{k}."""
    nodes = list(nodes)
    inputs = (node_name(0), node_name(1))
    inner = [n for n in nodes if n not in (*inputs, OUTPUT)]
    rank = dict.fromkeys(inputs, 0)
    previous = None
    for name in inner:
        start = 1 + max((rank[src] for src, dst in drawn if dst == name and src in rank), default=0)
        rank[name] = start if previous is None else max(start, rank[previous])
        if previous is not None and rank[name] > rank[previous]:
            g.edge(prefix + previous, prefix + name, style="invis")  # right of the previous node
        previous = name
    for r in sorted(set(rank.values())):
        group = [prefix + name for name in rank if rank[name] == r]
        with g.subgraph() as same:
            same.attr(rank="same")
            for upper, lower in zip(group, group[1:]):
                same.edge(upper, lower, style="invis")
            if len(group) == 1:
                same.node(group[0])
    for name in nodes[:-1]:
        if name in concat:
            g.edge(prefix + name, prefix + OUTPUT, color=CONCAT_EDGE)
        elif name in inner:
            g.edge(prefix + name, prefix + OUTPUT, style="invis")
    for name in inner:  # an input feeding only late nodes drifted right (ENASNet's reduce cell)
        if not any((src, name) in drawn for src in inputs):
            g.edge(prefix + inputs[1], prefix + name, style="invis")


def _draw_genotype(g: Any, data: CellDiagram, prefix: str, binary: bool) -> str:
    _add_nodes(g, data.nodes, prefix)
    marked = False
    for e in data.edges:
        if not e.op:  # concat into the output: drawn by _pin, in the nodes' order
            continue
        colour = op_colour(e.op)
        # decorate: the label underlined and tied to its edge by a line, so a label placed
        # where edges cross still names one edge
        attrs = {"label": e.op, "color": colour, "fontcolor": label_colour(colour), "penwidth": "1.5",
                 "decorate": "true"}
        if e.op == "none":
            attrs["style"] = "dashed"  # as in the search-state view: the edge carries nothing
        elif binary and e.binary:
            attrs.update(style="bold", penwidth="3")
            marked = True
        g.edge(prefix + e.src, prefix + e.dst, **attrs)
    _pin(g, data.nodes, {(e.src, e.dst) for e in data.edges if e.op},
         {e.src for e in data.edges if not e.op}, prefix)
    return LEGEND_1BIT if marked else ""


def _draw_state(g: Any, state: SearchState, cell: str, prefix: str, binary: bool,
                compact: bool = False) -> str:
    edges = state_cell_data(state, cell)
    nodes = [node_name(i) for i in range(state.nodes + 2)] + [OUTPUT]
    _add_nodes(g, nodes, prefix)
    # the compact (dashboard) diagram, once the genotype is derived: (src, dst) -> its op
    chosen = _genotype_ops(state, cell) if compact else {}
    for e in edges:
        label = _now_and_lead(e, binary, chosen.get((e.src, e.dst))) if compact else _ops_table(e.ops, binary)
        attrs = {"label": label, "color": FADED, "penwidth": "1", "fontsize": "10", "decorate": "true"}
        if compact and e.survivor is None and e.training is not None and not state.done:
            attrs.update(color=op_colour(e.training), penwidth="2.5")  # the sampled cell, drawn
        if e.survivor is not None:
            attrs.update(color=op_colour(e.survivor), penwidth="3")
            if e.survivor == "none" or e.selected is False:
                attrs["style"] = "dashed"  # the edge is absent from the derived genotype
        if chosen:  # the genotype's edges solid in their op's colour; the rest dashed and faded
            op = chosen.get((e.src, e.dst))
            attrs.update({"color": op_colour(op), "penwidth": "3", "style": "solid"} if op else
                         {"color": FADED, "penwidth": "1", "style": "dashed"})
        # the tie line (decorate) takes the fontcolor: the edge's colour, not black; the
        # label's own text stays black where no FONT colours it
        attrs.update(fontcolor=attrs["color"], label=f'<<FONT COLOR="#000000">{label[1:-1]}</FONT>>')
        g.edge(prefix + e.src, prefix + e.dst, **attrs)
    _pin(g, nodes, {(e.src, e.dst) for e in edges}, set(nodes[2:-1]), prefix)
    tail = f"round {state.round + 1} of {state.n_rounds}" if state.round >= 0 else "not started"
    if compact and state.round >= 0 and edges and not state.done:
        alive = sum(m.status != "pruned" for m in edges[0].ops)
        tail += f", {alive} op{'s' if alive > 1 else ''} alive per edge"
    if compact and state.done:
        lines = [f"the search has {state.status}: each edge names its survivor"
                 + (" (its current favourite: the search stopped early)" if state.status != "completed" else "")]
        if chosen:
            lines += ["solid edges: the genotype's; dashed: left out",
                      *_wrap(f"the genotype: {scoring.GENOTYPE_RULES[state.genotype_mode]}", 95)]
    elif compact:
        lines = [f"{tail}; ▶ the op each edge runs in the sample in training now (its colour)",
                 "lead: the alive op with the highest ev so far"]
    else:
        lines = [f"{tail}; struck ops were pruned in the round shown (r1 = the first)"]
    if compact:
        lines += _wrap(" · ".join(f"{short_op(op)} = {op}" for op in state.ops if short_op(op) != op), 95)
    if binary:
        lines.append("1b: op binarized in the 1-bit child" + ("" if chosen else "; thick edges: the op that survived"))
    return "\\n".join(lines)


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken at spaces (a caption line as
    wide as the diagram would widen it)."""
    import textwrap

    return textwrap.wrap(text, width) or [""]


def _genotype_ops(state: SearchState, cell: str) -> dict[tuple[str, str], str]:
    """(src node, dst node) -> op of each edge the derived genotype keeps in ``cell``; empty
    before there is one."""
    if not state.genotype:
        return {}
    geno = Genotype.parse(state.genotype)
    return {(node_name(src), node_name(dst)): op for op, src, dst in geno.edges(cell)}


def _now_and_lead(e: StateEdge, binary: bool, chosen: str | None = None) -> str:
    """A compact HTML-like label: the op in training now, the op leading (or the survivor),
    by their short names (``sep3``; the caption pairs them with the full ones), so the
    diagram is narrow enough to keep its text at 9 px or more in a notebook's width."""
    tag = lambda op: " 1b" if binary and is_binarized(op) else ""  # noqa: E731
    coloured = lambda op, text: f'<FONT COLOR="{label_colour(op_colour(op))}">{text}</FONT>'  # noqa: E731
    lead = e.leader()
    if chosen is not None and chosen != e.survivor:  # the genotype took another op here
        rows = [coloured(chosen, f"<B>{html.escape(short_op(chosen))}</B>") + tag(chosen),
                f'<FONT COLOR="{CONCAT_EDGE}">survivor {html.escape(short_op(e.survivor or "-"))}</FONT>']
    elif e.survivor is not None:
        value = "" if lead is None else f" {lead.ev:.3f}"
        rows = [coloured(e.survivor, f"<B>{html.escape(short_op(e.survivor))}</B>") + tag(e.survivor) + value]
    else:
        rows = ([f"▶ {coloured(e.training, html.escape(short_op(e.training)))}{tag(e.training)}"]
                if e.training else [])
        if lead is not None:
            rows.append(f'<FONT COLOR="{CONCAT_EDGE}">lead {html.escape(short_op(lead.op))} {lead.ev:.3f}</FONT>')
        rows = rows or ["&#8203;"]  # nothing sampled yet: an empty label, kept one line high
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
    cells = "".join(f'<TR><TD ALIGN="LEFT">{r}</TD></TR>' for r in rows)
    return f"<{table}{cells}</TABLE>>"


def _ops_table(ops: tuple[OpMark, ...], binary: bool) -> str:
    """An HTML-like label: one row per op, alive ones with ev, pruned ones struck."""
    rows = []
    for m in ops:
        name = html.escape(m.op)
        tag = " 1b" if binary and m.binary else ""
        if m.status == "pruned":
            cells = (
                f'<TD ALIGN="LEFT"><FONT COLOR="{FADED}"><S>{name}</S>{tag}</FONT></TD>'
                f'<TD ALIGN="RIGHT"><FONT COLOR="{FADED}">r{m.pruned_in + 1}</FONT></TD>'
            )
        else:
            value = "-" if m.ev is None or math.isnan(m.ev) else f"{m.ev:.3f}"
            text = f"<B>{name}</B>" if m.status == "survivor" else name
            cells = (
                f'<TD ALIGN="LEFT"><FONT COLOR="{label_colour(op_colour(m.op))}">{text}</FONT>{tag}</TD>'
                f'<TD ALIGN="RIGHT">{value}</TD>'
            )
        rows.append(f"<TR>{cells}</TR>")
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
    return f"<{table}{''.join(rows)}</TABLE>>"


__all__ = [
    "CellDiagram",
    "CellEdge",
    "OKABE_ITO",
    "OpMark",
    "StateEdge",
    "cell_graph",
    "cell_pair",
    "edge_label",
    "genotype_cell_data",
    "is_binarized",
    "node_name",
    "op_colour",
    "short_op",
    "state_cell_data",
]
