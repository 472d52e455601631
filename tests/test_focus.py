"""Focus mode for cell diagrams (cpviz.focus): classes, CSS rules and lists from Graphviz's SVG.

The CSS itself is checked in a real browser (tests/test_report_browser.py: a hovered node
fades the other edges and lists its own legibly)."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

import pytest

from cpnas.genotype import DARTS_V2
from cpnas.simulate import simulate
from cpviz.cell import cell_graph, cell_pair, edge_label
from cpviz.dashboard import diagram_svg
from cpviz.export import render_bytes
from cpviz.focus import FADE, focus_html, parse_diagram
from cpviz.state import replay

OPS = ("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3")


@pytest.fixture(scope="module")
def state():
    return replay(simulate(ops=OPS, nodes=2, seed=3))


def _svg(graph) -> str:
    svg = render_bytes(graph, "svg").decode("utf-8")
    return svg[svg.find("<svg"):]


def test_nodes_and_edges_of_a_state_diagram(state):
    nodes, edges = parse_diagram(_svg(cell_graph(state, "normal")))
    assert sorted(n.title for n in nodes) == sorted(["c_{k-2}", "c_{k-1}", "0", "1", "c_{k}"])
    ids = {e.edge for e in edges if e.edge}
    assert ids == {e for e in state.edges if e.startswith("normal:")}  # every searched edge, by id
    assert sum(e.edge is None for e in edges) == 2  # the concat edges into c_{k}
    edge = next(e for e in edges if e.edge == "normal:0->2")
    assert (edge.src, edge.dst) == ("c_{k-2}", "0")
    ops = [r.pieces[0][0] for r in edge.rows]
    assert ops == list(OPS)  # one line per op, in the label's order
    struck = {r.pieces[0][0] for r in edge.rows if r.pieces[0][2]}
    assert struck == {op for op in OPS if state.pruned.get("normal:0->2", {}).get(op) is not None}


def test_a_pair_of_cells_keeps_its_cells_apart(state):
    nodes, edges = parse_diagram(_svg(cell_pair(state)))
    assert {n.title.split("/")[0] for n in nodes} == {"normal", "reduce"}
    assert {e.edge for e in edges if e.edge} == set(state.edges)


def test_focus_html_classes_rules_and_lists(state):
    svg = _svg(cell_graph(state, "normal"))
    out = focus_html(svg)
    assert out.startswith('<div class="cpnas-focus"><style>') and out.endswith("</div>")
    nodes, edges = parse_diagram(svg)
    by_title = {n.title: int(n.gid[4:]) for n in nodes}
    marked = ET.fromstring(out[out.find("<svg"):out.find("</svg>") + 6])
    ns = "{http://www.w3.org/2000/svg}"
    groups = {g.get("id"): g for g in marked.iter(f"{ns}g")}
    for e in edges:  # an edge touches its two ends, and names its edge id and screen name
        classes = groups[e.gid].get("class").split()
        assert {c for c in classes if c.startswith("cf-t")} == {f"cf-t{by_title[e.src]}", f"cf-t{by_title[e.dst]}"}
        if e.edge:
            assert groups[e.gid].get("data-edge") == e.edge
            assert groups[e.gid].get("data-edge-label") == edge_label(e.edge)
    zero = by_title["0"]
    node = groups[f"node{zero}"]
    assert node.get("tabindex") == "0" and f"cf-n{zero}" in node.get("class").split()
    # node 0 touches both inputs (its in-edges), node 1 and c_{k} (its out-edges)
    near = {c for c in node.get("class").split() if c.startswith("cf-t")}
    assert near == {f"cf-t{by_title[t]}" for t in ("0", "1", "c_{k-2}", "c_{k-1}", "c_{k}")}
    # node 1's in-edges from the inputs do not touch node 0: they fade while 0 is focused
    far = [e for e in edges if e.dst == "1" and e.src != "0"]
    assert far and all(f"cf-t{zero}" not in groups[e.gid].get("class").split() for e in far)
    # the rules: hover (or a pick, when nothing is hovered) fades what does not touch the node
    assert f".cpnas-focus:has(.cf-n{zero}:hover) :is(g.node,g.edge):not(.cf-t{zero}){{opacity:{FADE}}}" in out
    assert (f".cpnas-focus:not(:has(g.node:hover)):has(.cf-n{zero}:focus) .cf-list-{zero}"
            "{display:block}") in out
    # node 0's list names its 4 edges (2 in, to node 1, the concat out) with every op line
    listing = re.search(rf'<div class="cf-list cf-list-{zero} [^"]*"[^>]*>(.*?)</div>', out).group(1)
    text = html.unescape(re.sub("<[^>]+>", " ", listing))
    assert "node 0: 4 edges" in text
    assert all(f"{a} → {b}" in listing for a, b in (("c<sub>k-2</sub>", "0"), ("c<sub>k-1</sub>", "0"),
                                                    ("0", "1"), ("0", "c<sub>k</sub>")))
    assert all(op in text for op in OPS)


def test_the_dashboard_diagram_has_focus_mode(state):
    out = diagram_svg(state, "reduce")
    assert out.startswith('<div class="cpnas-focus">') and 'style="width:100%;max-width:' in out
    assert len(re.findall(r'data-edge="reduce:', out)) == len([e for e in state.edges if e.startswith("reduce:")])


def test_a_pair_s_titles_take_no_focus():
    nodes, _ = parse_diagram(_svg(cell_pair(DARTS_V2)))
    titles = {n.title for n in nodes}
    assert "normal/title" not in titles and "reduce/title" not in titles
    assert {"normal/0", "reduce/c_{k}"} <= titles


def test_markup_that_is_not_a_diagram_is_left_alone():
    assert focus_html("<svg xmlns='http://www.w3.org/2000/svg'><text>x</text></svg>").startswith("<svg")
    assert focus_html("not svg <") == "not svg <"
