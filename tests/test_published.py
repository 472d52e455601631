"""Published genotypes in every shape render with exactly their edges.

The corpus (tests/data/published_genotypes.py) is the repositories' text, read through
``FILE.py:NAME``. The expected edges below are written out by hand from that text, node by
node (not produced by the parser under test), and the DOT is read back with Graphviz's own
parser. Notation: ``SRC>DST op`` with SRC in k2 (c_{k-2}), k1 (c_{k-1}) or an intermediate
node 0..4, DST an intermediate node; the short op names are spelled out by ``OPS``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from dotread import edge_attrs, node_names, positions, visible_edges

from cpnas.genotype import DARTS_V2, PC_DARTS
from cpnas.resolve import resolve
from cpviz import cell_graph, cell_pair
from cpviz.contrast import contrast

CORPUS = Path(__file__).parent / "data" / "published_genotypes.py"
OPS = {"s3": "sep_conv_3x3", "s5": "sep_conv_5x5", "s7": "sep_conv_7x7", "d3": "dil_conv_3x3",
       "d5": "dil_conv_5x5", "mp": "max_pool_3x3", "ap": "avg_pool_3x3", "sk": "skip_connect"}
NAMES = {"k2": "c_{k-2}", "k1": "c_{k-1}"}
ALL4, ALL5 = "0 1 2 3", "0 1 2 3 4"

# name: {cell: (edges, concat nodes)}
EXPECTED: dict[str, dict[str, tuple[str, str]]] = {
    "NASNet": {
        "normal": ("k1>0 s5, k2>0 s3, k2>1 s5, k2>1 s3, k1>2 ap, k2>2 sk, k2>3 ap, k2>3 ap, "
                   "k1>4 s3, k1>4 sk", ALL5),
        "reduce": ("k1>0 s5, k2>0 s7, k1>1 mp, k2>1 s7, k1>2 ap, k2>2 s5, 1>3 sk, 0>3 ap, "
                   "0>4 s3, k1>4 mp", "2 3 4"),
    },
    "AmoebaNet": {
        "normal": ("k2>0 ap, k1>0 mp, k2>1 s3, 0>1 s5, k2>2 s3, 1>2 ap, k1>3 s3, k1>3 sk, "
                   "k2>4 sk, k1>4 ap", "2 3 4"),
        "reduce": ("k2>0 ap, k1>0 s3, k2>1 mp, 0>1 s7, k2>2 s7, k1>2 ap, k2>3 mp, k1>3 mp, "
                   "k2>4 conv_7x1_1x7, 3>4 s3", "1 2 4"),
    },
    "DARTS": {
        "normal": ("k1>0 s3, k2>0 s3, k2>1 sk, k1>1 s3, k2>2 sk, k1>2 s3, k2>3 s3, 0>3 sk", ALL4),
        "reduce": ("k2>0 mp, k1>0 mp, 0>1 sk, k2>1 mp, k2>2 mp, 0>2 sk, 0>3 sk, k2>3 ap", ALL4),
    },
    "PC_DARTS_cifar": {
        "normal": ("k1>0 s3, k2>0 sk, k2>1 s3, k1>1 d3, k2>2 s5, k1>2 s3, k2>3 ap, k1>3 d3", ALL4),
        "reduce": ("k1>0 s5, k2>0 mp, k1>1 s5, 0>1 s5, k2>2 s3, 1>2 s3, k1>3 s3, 0>3 s3", ALL4),
    },
    "PC_DARTS_image": {
        "normal": ("k1>0 sk, k2>0 s3, k2>1 s3, k1>1 sk, k1>2 s3, 1>2 s3, k1>3 s3, 2>3 d5", ALL4),
        "reduce": ("k2>0 s3, k1>0 sk, 0>1 d5, k1>1 mp, 0>2 s3, k1>2 s3, k2>3 s5, 1>3 s3", ALL4),
    },
    "PDARTS": {
        "normal": ("k2>0 sk, k1>0 d3, k2>1 sk, k1>1 s3, k1>2 s3, 1>2 s3, k2>3 s3, 2>3 d5", ALL4),
        "reduce": ("k2>0 ap, k1>0 s5, k2>1 s3, 0>1 d5, k2>2 mp, k1>2 d3, k1>3 d3, 1>3 d5", ALL4),
    },
    "ENASNet": {
        "normal": ("k1>0 s3, k1>0 sk, k1>1 s5, k2>1 sk, k2>2 ap, k1>2 s3, k2>3 s3, k1>3 ap, "
                   "k1>4 s5, k2>4 ap", ALL5),
        "reduce": ("k2>0 s5, k1>0 s3, k1>1 s3, k1>1 ap, k1>2 s3, k1>2 ap, k1>3 ap, 2>3 s5, "
                   "3>4 s3, k2>4 s5", ALL5),
    },
    "GDAS_V1": {
        "normal": ("k2>0 sk, k1>0 sk, k2>1 sk, 0>1 s5, 1>2 s3, k2>2 sk, 2>3 s5, 1>3 s3", ALL4),
        "reduce": ("k2>0 s5, k1>0 s3, 0>1 s5, k1>1 s5, 0>2 d5, k1>2 s3, k2>3 s5, 0>3 s5", ALL4),
    },
    "FairDARTS_a": {  # node 1 of the normal cell has no input
        "normal": ("k2>0 s3, k1>0 s5, k2>2 mp, k2>3 s3", ALL4),
        "reduce": ("k2>0 mp, k1>0 ap, k2>1 ap, k1>1 d5, k2>2 ap, k1>2 s5, k2>3 sk, k1>3 sk", ALL4),
    },
    "FairDARTS_b": {
        "normal": ("k2>0 s3, k1>0 s3, k1>1 s3, k2>2 d3, k1>2 s5, k1>3 d5", ALL4),
        "reduce": ("k2>0 sk, k1>0 d3, k2>1 sk, k1>1 d3, k2>2 mp, k1>2 s3, 0>3 sk, k2>3 mp", ALL4),
    },
    "FairDARTS_c": {
        "normal": ("k2>0 mp, k1>0 s5, k2>2 d3, 0>2 d5, 1>3 sk, k2>3 s3", ALL4),
        "reduce": ("k1>0 d3, k2>0 d5, k2>1 d3, k1>1 s3, k2>2 s5, 1>2 s5, k2>3 s5, k1>3 sk", ALL4),
    },
    "DCO_EDGE_BS_64": {
        "normal": ("k2>0 d3, k2>0 s3, k1>0 s3, k1>0 d3, k2>1 mp, k2>1 s5, k1>1 d3, k2>2 mp, "
                   "k2>3 d5", ALL4),
        "reduce": ("k2>0 s5, k2>0 sk, k1>0 d5, k1>0 sk, "
                   "k2>1 sk, k2>1 mp, k1>1 mp, k1>1 s3, 0>1 sk, 0>1 s5, "
                   "k2>2 mp, k2>2 ap, k1>2 d5, k1>2 s3, 0>2 s5, 0>2 sk, 1>2 sk, 1>2 s5, "
                   "k2>3 mp, k2>3 ap, k1>3 d5, k1>3 d3, 0>3 sk, 0>3 s5, 1>3 s5, 1>3 d5, "
                   "2>3 d3, 2>3 sk", ALL4),
    },
    "DrNAS_cifar10": {
        "normal": ("k2>0 s3, k1>0 s5, k1>1 s3, 0>1 s3, k2>2 sk, k1>2 s3, 0>3 s3, 1>3 d5", ALL4),
        "reduce": ("k2>0 mp, k1>0 s5, 0>1 d5, k1>1 s5, k1>2 s5, 1>2 d5, 2>3 sk, k1>3 s5", ALL4),
    },
    "DrNAS_imagenet": {
        "normal": ("k1>0 s3, k2>0 s3, k2>1 s3, k1>1 s3, k2>2 s3, 1>2 d3, k2>3 sk, k1>3 s3", ALL4),
        "reduce": ("k2>0 mp, k1>0 s3, k2>1 s3, 0>1 sk, k2>2 s3, 0>2 s3, 1>3 s3, k1>3 s3", ALL4),
    },
    "DARTS_S4_cifar100_1127869_2": {
        "normal": ("k2>0 s3, k1>0 s3, k2>1 s3, 0>1 noise, 1>2 noise, k1>2 noise, 2>3 noise, "
                   "1>3 noise", ALL4),
        "reduce": ("k2>0 s3, k1>0 s3, k2>1 s3, 0>1 s3, k2>2 s3, k1>2 s3, k2>3 s3, k1>3 s3", ALL4),
    },
    "DARTS_S2_cifar10_1127900_1": {
        "normal": ("k2>0 s3, k1>0 sk, 0>1 s3, k1>1 sk, 1>2 s3, 0>2 s3, 2>3 s3, 1>3 s3", ALL4),
        "reduce": ("k2>0 s3, k1>0 s3, 0>1 s3, k2>1 s3, 1>2 s3, k1>2 s3, 2>3 s3, 1>3 s3", ALL4),
    },
    "PNASNet": {
        "normal": ("k2>0 s5, k2>0 mp, k1>1 s7, k1>1 mp, k1>2 s5, k1>2 s3, 2>3 s3, k1>3 mp, "
                   "k2>4 s3, k1>4 sk", ALL5),
        "reduce": ("k2>0 s5, k2>0 mp, k1>1 s7, k1>1 mp, k1>2 s5, k1>2 s3, 2>3 s3, k1>3 mp, "
                   "k2>4 s3, k1>4 sk", ALL5),
    },
    "AutoDL_DARTS_V2": {
        "normal": ("k2>0 s3, k1>0 s3, k2>1 s3, k1>1 s3, k1>2 s3, k2>2 sk, k2>3 sk, 0>3 d3", ALL4),
        "reduce": ("k2>0 mp, k1>0 mp, 0>1 sk, k1>1 mp, k2>2 mp, 0>2 sk, 0>3 sk, k1>3 mp", ALL4),
    },
    "SETN": {
        "normal": ("k2>0 sk, k1>0 s5, k2>1 s5, k1>1 s3, k1>2 s5, 1>2 s5, k1>3 mp, "
                   "2>3 conv_3x1_1x3", ALL4),
        "reduce": ("k2>0 s3, k1>0 s5, k2>1 ap, k1>1 s5, k2>2 ap, k1>2 s5, k2>3 ap, k1>3 sk", ALL4),
    },
    "AutoDL_GDAS_V1": {
        "normal": ("k2>0 sk, k1>0 sk, k2>1 sk, 0>1 s5, 1>2 s3, k2>2 sk, 2>3 s5, 1>3 s3", ALL4),
        "reduce": ("k2>0 s5, k1>0 s3, 0>1 s5, k1>1 s5, 0>2 d5, k1>2 s3, k2>3 s5, k1>3 s5", ALL4),
    },
    "PT_DARTS": {
        "normal": ("k2>0 s3, k1>0 s3, k1>1 s3, 0>1 d3, k1>2 s3, 0>2 s3, k1>3 s3, 2>3 d3", ALL4),
        "reduce": ("k2>0 mp, k1>0 mp, k2>1 mp, 0>1 sk, k2>2 mp, 0>2 sk, k2>3 mp, 0>3 sk", ALL4),
    },
}
# Aliases in the corpus and copies of the same cells in another shape or repository.
SAME = {"PCDARTS": "PC_DARTS_cifar", "FairDARTS": "FairDARTS_a", "AutoDL_NASNet": "NASNet"}
SHAPES = {"flat pairs": "DARTS", "5-node cells": "NASNet", "per-node tuples + None fields": "SETN",
          "per-node lists": "PT_DARTS", "FairDARTS triples": "DCO_EDGE_BS_64",
          "a node with no input": "FairDARTS_a", "ops outside the 8": "DARTS_S4_cifar100_1127869_2"}


def expected(name: str, cell: str) -> tuple[Counter, set[str]]:
    edges, concat = EXPECTED[SAME.get(name, name)][cell]
    out = Counter()
    for item in edges.split(", "):
        link, op = item.split(" ")
        src, dst = link.split(">")
        out[(NAMES.get(src, src), dst, OPS.get(op, op))] += 1
    return out, set(concat.split())


@pytest.mark.parametrize("name", sorted([*EXPECTED, *SAME]))
@pytest.mark.parametrize("cell", ["normal", "reduce"])
def test_every_published_cell_renders_exactly_its_edges(name, cell):
    g = cell_graph(f"{CORPUS}:{name}", cell)
    edges = visible_edges(g.source)
    ops, concat = expected(name, cell)
    assert Counter((s, d, lab) for s, d, lab in edges if lab) == ops
    assert {s for s, d, lab in edges if d == "c_{k}"} == concat
    assert all(lab is None for s, d, lab in edges if d == "c_{k}")
    inner = {d for _, d, _ in ops} | concat | {s for s, _, _ in ops}
    assert node_names(g.source) >= inner | {"c_{k-2}", "c_{k-1}", "c_{k}"}


def test_the_corpus_covers_every_shape():
    for shape, name in SHAPES.items():
        assert name in EXPECTED, shape
    assert resolve(f"{CORPUS}:PCDARTS").require() == resolve(f"{CORPUS}:PC_DARTS_cifar").require()
    assert resolve(f"{CORPUS}:AutoDL_DARTS_V2").require() == DARTS_V2  # nested tuples, same cells
    assert resolve(f"{CORPUS}:PC_DARTS_cifar").require() == PC_DARTS


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_inputs_are_pinned_left_and_the_output_right(name):
    # ENASNet's reduce cell: c_{k-2} feeds only nodes 0 and 4, and used to drift right.
    for cell in ("normal", "reduce"):
        x = positions(cell_graph(f"{CORPUS}:{name}", cell).source)
        inputs, out = [x["c_{k-2}"], x["c_{k-1}"]], x["c_{k}"]
        inner = [v for k, v in x.items() if k not in ("c_{k-2}", "c_{k-1}", "c_{k}")]
        assert max(inputs) < min(inner) and max(inner) < out, (cell, x)
        assert inputs[0] == inputs[1]  # one rank


def test_pinned_in_both_cells_of_a_pair():
    x = positions(cell_pair(f"{CORPUS}:ENASNet").source)
    for cell in ("normal", "reduce"):
        mine = {k.split("/", 1)[1]: v for k, v in x.items() if k.startswith(cell + "/")}
        inner = [v for k, v in mine.items() if k not in ("c_{k-2}", "c_{k-1}", "c_{k}", "title")]
        assert max(mine["c_{k-2}"], mine["c_{k-1}"]) < min(inner) and max(inner) < mine["c_{k}"]
    # stacked (one cell above the other, never side by side): the pair is as wide as one cell
    y = positions(cell_pair(f"{CORPUS}:ENASNet").source, axis=1)
    spans = [[v for k, v in y.items() if k.startswith(cell + "/")] for cell in ("normal", "reduce")]
    assert min(spans[0]) > max(spans[1]) or min(spans[1]) > max(spans[0]), spans


def test_labels_take_their_edge_colour_and_none_is_dashed():
    text = ("Genotype(normal=[('none', 0), ('sep_conv_3x3', 1), ('max_pool_3x3', 0), "
            "('noise', 2)], normal_concat=[2, 3], reduce=[('sep_conv_5x5', 0), "
            "('avg_pool_3x3', 1), ('skip_connect', 0), ('dil_conv_5x5', 2)], reduce_concat=[2, 3])")
    for cell in ("normal", "reduce"):
        for e in edge_attrs(cell_graph(text, cell).source):
            if not e.get("label"):
                continue
            edge, font = e["color"], e["fontcolor"]
            assert contrast(font) >= 4.5, e  # WCAG AA for text on white
            # the same hue: the label colour is the edge colour scaled down, channel by channel
            a = [int(edge[i:i + 2], 16) for i in (1, 3, 5)]
            b = [int(font[i:i + 2], 16) for i in (1, 3, 5)]
            k = max(b) / max(a) if max(a) else 0.0  # black stays black
            assert all(abs(bb - aa * k) <= 1.5 for aa, bb in zip(a, b)), e
            assert ("dashed" in e.get("style", "")) == (e["label"] == "none"), e
