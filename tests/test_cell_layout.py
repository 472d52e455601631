"""The cell diagrams' node order and node names, read back from Graphviz's SVG.

Every cell, alone or in a pair, of a genotype or a search state, and every GIF frame: c_{k-2}
above c_{k-1}, the intermediate nodes 0, 1, 2, ... in reading order (top to bottom within a
column, columns left to right), c_{k} right of them all; the normal cell above the reduce
cell. Node names are drawn as c with a real subscript (a ``baseline-shift="sub"`` text
element), never as ``c_{k-2}`` text.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from dotread import svg_nodes

from cpnas.genotype import PUBLISHED
from cpnas.simulate import simulate
from cpviz import cell_graph, cell_pair
from cpviz.animate import animation_states, genotype_frames
from cpviz.export import render_bytes
from cpviz.state import replay

K2, K1, OUT = "c_{k-2}", "c_{k-1}", "c_{k}"
CORPUS = Path(__file__).parent / "data" / "published_genotypes.py"
CORPUS_NAMES = [n.targets[0].id for n in ast.parse(CORPUS.read_text()).body
                if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
                and getattr(n.value.func, "id", "") == "Genotype"]
SUBSCRIPTS = {K2: "k-2", K1: "k-1", OUT: "k"}


def _check_order(svg: bytes, prefix: str = "") -> None:
    nodes = svg_nodes(svg)
    mine = {k[len(prefix):]: v for k, v in nodes.items() if k.startswith(prefix)}
    inner = sorted((k for k in mine if k.isdigit()), key=int)
    assert inner, sorted(mine)
    order = [K2, K1, *inner, OUT]
    for upper, lower in zip(order, order[1:]):
        a, b = mine[upper], mine[lower]
        same_column = abs(a.x - b.x) < 1
        assert (same_column and a.y < b.y) or b.x > a.x + 1, (prefix, upper, a, lower, b)
    assert abs(mine[K2].x - mine[K1].x) < 1  # the inputs share the first column
    assert mine[OUT].x > max(v.x for k, v in mine.items() if k != OUT)
    for name, sub in SUBSCRIPTS.items():  # c with a real subscript, not "c_{k-2}" as text
        assert mine[name].parts == (("c", None), (sub, "sub")), (prefix, name, mine[name])
        assert mine[name].math() == name


def _check_pair(svg: bytes, cells=("normal", "reduce")) -> None:
    for cell in cells:
        _check_order(svg, f"{cell}/")
    nodes = svg_nodes(svg)
    for cell in cells:  # each cell's title above its inputs
        assert nodes[f"{cell}/title"].parts == ((f"{cell} cell", None),)
        assert nodes[f"{cell}/title"].y < nodes[f"{cell}/{K2}"].y
    drawn = lambda cell: [v.y for k, v in nodes.items() if k.startswith(cell + "/") and k != f"{cell}/title"]  # noqa: E731
    for upper, lower in zip(cells, cells[1:]):  # the first cell above, every node of it
        assert max(drawn(upper)) < min(drawn(lower))


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_cells_in_reading_order_with_subscripts(name):
    for cell in ("normal", "reduce"):
        _check_order(render_bytes(cell_graph(name, cell), "svg"))
    _check_pair(render_bytes(cell_pair(name), "svg"))


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_corpus_cells_in_reading_order(name):
    # other node counts, concat subsets, nodes with no input, inputs feeding only late nodes
    source = f"{CORPUS}:{name}"
    for cell in ("normal", "reduce"):
        _check_order(render_bytes(cell_graph(source, cell), "svg"))
    _check_pair(render_bytes(cell_pair(source), "svg"))


def test_search_states_and_frames_in_reading_order():
    state = replay(simulate(seed=0))
    half = replay(simulate(seed=4, stop_after=8 + 7 + 2))  # a round in progress
    for s in (state, half):
        for cell in ("normal", "reduce"):
            _check_order(render_bytes(cell_graph(s, cell), "svg"))
            _check_order(render_bytes(cell_graph(s, cell, compact=True), "svg"))
        _check_pair(render_bytes(cell_pair(s), "svg"))
    # the GIF's frames, both styles: the same order in every frame
    frames = [cell_graph(snap, "normal") for snap in animation_states(state)]
    frames += [cell_graph(g, "reduce", title=f"after round {n}") for n, g in genotype_frames(state)]
    assert len(frames) >= 4
    for graph in frames:
        _check_order(render_bytes(graph, "svg"))
