"""Cells for papers: ``cpnas render --format tex`` (TikZ from Graphviz's layout), PNG at a
chosen resolution, and the animated GIF of a run from the CLI."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from cpnas import cli
from cpnas.genotype import parse_genotype
from cpnas.resolve import resolve
from cpviz.cell import node_label
from cpviz.export import export_cell
from cpviz.tikz import tex_label, tex_text

NODE = re.compile(r"^\s*\\node\[cpnode[^\]]*\] \((n\d+)\) at \(([-\d.]+),([-\d.]+)\) \{(.*)\};  % (.*)$")
EDGE = re.compile(r"^\s*\\draw\[cpedge[^\]]*\] (.*);  % (n\d+) -> (n\d+)$")
LABEL = re.compile(r"^\s*\\node\[cplabel[^\]]*\] at \([-\d.]+,[-\d.]+\) \{(.*)\};  % label of (n\d+) -> (n\d+)$")


def _tikz(path: Path) -> tuple[dict, list, dict]:
    nodes, edges, labels = {}, [], {}
    for line in path.read_text().splitlines():
        if m := NODE.match(line):
            nodes[m[1]] = m[4]
        elif m := EDGE.match(line):
            edges.append((m[2], m[3]))
        elif m := LABEL.match(line):
            labels[(m[2], m[3])] = m[1]
    return nodes, edges, labels


@pytest.mark.parametrize("cell", ["normal", "reduce"])
def test_tex_holds_the_cell_s_nodes_and_labelled_edges(tmp_path, capsys, cell):
    assert cli.main(["render", "DARTS_V2", "--format", "tex", "--out", str(tmp_path)]) == 0
    assert str(tmp_path / f"{cell}.tex") in capsys.readouterr().out
    text = (tmp_path / f"{cell}.tex").read_text()
    assert text.count("\\begin{tikzpicture}") == 1 and text.rstrip().endswith("\\end{tikzpicture}")
    assert "\\documentclass" not in text  # for \input in a paper
    nodes, edges, labels = _tikz(tmp_path / f"{cell}.tex")
    genotype = resolve("DARTS_V2").require()
    pairs = getattr(genotype, cell)
    concat = getattr(genotype, f"{cell}_concat")
    # every genotype edge is one labelled TikZ edge; the rest join the output
    assert len(labels) == len(pairs)
    assert Counter(v.replace("\\_", "_") for v in labels.values()) == Counter(op for op, _ in pairs)
    assert set(labels) <= set(edges)
    assert len(edges) == len(pairs) + len(concat)
    # each label underlined and tied to its edge (Graphviz's decorate line), in the label's colour
    ties = re.findall(r"\\draw\[cpdecor, draw=(\w+)\] \([-\d.,]+\)(?: -- \([-\d.,]+\))+;  % label of (n\d+) -> (n\d+), tied", text)
    assert sorted((t, h) for _, t, h in ties) == sorted(labels)
    # the labelled edges into each intermediate node: the genotype's two ops for it
    heads = sorted({h for _, h in labels}, key=lambda n: int(n[1:]))
    got = sorted(tuple(sorted(labels[e].replace("\\_", "_") for e in labels if e[1] == h)) for h in heads)
    want = sorted(tuple(sorted((pairs[2 * k][0], pairs[2 * k + 1][0]))) for k in range(len(pairs) // 2))
    assert got == want
    # an edge from the cell's inputs (j < 2) starts at a node that no labelled edge enters
    from_inputs = [e for e in labels if e[0] not in heads]
    assert len(from_inputs) == sum(j < 2 for _, j in pairs)
    # the inputs and the output are named in math, with real subscripts
    assert sum(bool(re.fullmatch(r"\$[A-Za-z]_\{[^}]*\}\$", v)) for v in nodes.values()) == 3
    assert len(nodes) == 2 + len(pairs) // 2 + 1


def test_tex_labels():
    assert tex_label("c_{k-2}") == "$c_{k-2}$"
    assert tex_label("<c<sub>k-1</sub>>") == "$c_{k-1}$"
    assert tex_label("<c<SUB>k</SUB>>") == "$c_{k}$"
    # the cell diagrams' labels, and as Graphviz's JSON gives them back (without the <...>)
    assert tex_label(node_label("c_{k-2}")) == "$c_{k-2}$"
    assert tex_label(node_label("c_{k}")[1:-1]) == "$c_{k}$"
    assert tex_label("2") == "2"
    assert tex_text("sep_conv_3x3") == "sep\\_conv\\_3x3"
    assert tex_text("50% & $x") == "50\\% \\& \\$x"


def _size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def test_png_at_300_dpi_has_about_three_times_the_pixels(tmp_path):
    (plain,) = export_cell("DARTS_V2", tmp_path / "96", ["png"], cells=("normal",))
    (fine,) = export_cell("DARTS_V2", tmp_path / "300", ["png"], cells=("normal",), dpi=300)
    (w0, h0), (w1, h1) = _size(plain.read_bytes()), _size(fine.read_bytes())
    assert 2.8 < w1 / w0 < 3.4 and 2.8 < h1 / h0 < 3.4


@pytest.mark.slow
def test_gif_of_a_run_from_the_cli_titles_its_frames(tmp_path, monkeypatch, capsys):
    import cpviz.cell
    from cpnas.engine import search

    run = tmp_path / "run"
    result = search({"data": "digits", "ops": ["none", "skip_connect", "sep_conv_3x3"],
                     "nodes": 2, "cells": 1, "channels": 4, "sample_steps": 1, "repeats": 1,
                     "seed": 3}, out=run)
    titles = []
    real = cpviz.cell.cell_graph

    def spy(source, cell="normal", **kw):
        titles.append((cell, kw.get("title")))
        return real(source, cell, **kw)

    monkeypatch.setattr(cpviz.cell, "cell_graph", spy)
    assert cli.main(["render", str(run), "--format", "gif", "--out", str(tmp_path / "g")]) == 0
    for cell in ("normal", "reduce"):
        gif = Image.open(tmp_path / "g" / f"{cell}.gif")
        frames = [t for c, t in titles if c == cell]
        assert gif.n_frames == len(frames) >= 2
        rounds = len({s.round for s in result.samples})
        assert frames[-1] == f"after round {rounds} of {rounds}"  # the last frame says it
        assert all(t and t.startswith("after round ") for t in frames)
    assert parse_genotype(str(result.genotype))  # a completed run
