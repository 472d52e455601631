"""Exports: cell files in every format (both Graphviz backends), PNGs of figures, the GIF."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET

import pytest
from dotread import svg_nodes

from cpnas.errors import CpnasError
from cpnas.genotype import DARTS_V2, PC_DARTS
from cpnas.simulate import simulate
from cpviz import animate_cells, export_cell, graphviz_backend, indicator_heatmap, to_png
from cpviz import export as export_mod
from cpviz.animate import animation_states
from cpviz.state import replay

SMALL_OPS = ("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3")
HEADERS = {"svg": b"<?xml", "pdf": b"%PDF-", "png": b"\x89PNG\r\n\x1a\n"}


def _check_files(paths, formats):
    assert sorted(p.name for p in paths) == sorted(f"{c}.{f}" for c in ("normal", "reduce") for f in formats)
    for p in paths:
        data = p.read_bytes()
        fmt = p.suffix[1:]
        if fmt in HEADERS:
            assert data.startswith(HEADERS[fmt]), p
        if fmt == "svg":
            root = ET.fromstring(data)
            assert root.tag.endswith("svg")
            nodes = svg_nodes(data)  # the inputs and the output: c with a real subscript
            assert {n: nodes[n].parts for n in ("c_{k-2}", "c_{k}")} == {
                "c_{k-2}": (("c", None), ("k-2", "sub")), "c_{k}": (("c", None), ("k", "sub"))}
            assert nodes["c_{k-1}"].math() == "c_{k-1}"
            assert not any("{" in t.text for t in root.iter() if t.tag.endswith("text") and t.text)
        if fmt == "dot":
            assert data.decode().startswith(f"digraph {p.stem}")
        if fmt == "pdf":
            assert data.rstrip().endswith(b"%%EOF")


@pytest.mark.parametrize("backend", ["dot", "pygraphviz"])
def test_export_cell_every_format(tmp_path, monkeypatch, backend):
    if backend == "dot" and not shutil.which("dot"):
        pytest.skip("no dot on PATH")
    if backend == "pygraphviz":
        pytest.importorskip("pygraphviz")
    monkeypatch.setenv("CPNAS_GRAPHVIZ", backend)
    assert graphviz_backend() == backend
    paths = export_cell(PC_DARTS, tmp_path / "cells")
    _check_files(paths, ("svg", "pdf", "png", "dot"))
    svg = ET.fromstring((tmp_path / "cells" / "reduce.svg").read_bytes())
    labels = [t.text for t in svg.iter() if t.tag.endswith("text")]
    assert labels.count("sep_conv_3x3") == 4 and labels.count("sep_conv_5x5") == 3


def test_backend_choice(monkeypatch):
    monkeypatch.delenv("CPNAS_GRAPHVIZ", raising=False)
    assert graphviz_backend() == ("dot" if shutil.which("dot") else "pygraphviz")
    monkeypatch.setenv("CPNAS_GRAPHVIZ", "neato")
    with pytest.raises(CpnasError, match="CPNAS_GRAPHVIZ"):
        graphviz_backend()
    monkeypatch.delenv("CPNAS_GRAPHVIZ")
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(export_mod, "_has_pygraphviz", lambda: False)
    with pytest.raises(CpnasError, match="apt-get install graphviz") as info:
        export_cell(DARTS_V2, "unused", ["svg"])
    assert "\n" not in str(info.value)


def test_bad_formats_and_paths_write_nothing(tmp_path):
    with pytest.raises(CpnasError, match="unsupported format 'gif'"):
        export_cell(DARTS_V2, tmp_path / "out", ["svg", "gif"])
    with pytest.raises(CpnasError, match="no format"):
        export_cell(DARTS_V2, tmp_path / "out", [])
    assert not (tmp_path / "out").exists()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CpnasError, match="not a directory"):
        export_cell(DARTS_V2, blocker, "svg")
    paths = export_cell(DARTS_V2, tmp_path / "some", "svg,dot")
    _check_files(paths, ("svg", "dot"))
    assert sorted(os.listdir(tmp_path / "some")) == ["normal.dot", "normal.svg", "reduce.dot", "reduce.svg"]


def test_export_of_a_search_state(tmp_path):
    state = replay(simulate(ops=SMALL_OPS, nodes=2, seed=1, stop_after=5))
    paths = export_cell(state, tmp_path, ["svg"])
    _check_files(paths, ("svg",))
    assert "<S>" in export_mod.render_bytes(__import__("cpviz").cell_graph(state), "dot").decode()


def test_gif_has_a_frame_per_round(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    events = simulate(ops=SMALL_OPS, nodes=2, seed=2)
    out = animate_cells(events, tmp_path / "anim" / "normal.gif", dpi=40)
    assert out.read_bytes()[:6] == b"GIF89a"
    with Image.open(out) as im:
        assert im.n_frames == 4  # rounds K = 4, 3, 2, then the survivors
    half = replay(simulate(ops=SMALL_OPS, nodes=2, seed=2, stop_after=5))
    assert [s.round for s in animation_states(half)] == [0, 1, 1]
    with Image.open(animate_cells(half, tmp_path / "half.gif", cell="reduce", dpi=40)) as im:
        assert im.n_frames == 3
    with pytest.raises(CpnasError, match="nothing to animate"):
        animate_cells(events[:1], tmp_path / "none.gif")


def test_to_png_needs_a_browser(tmp_path, monkeypatch):
    fig = indicator_heatmap(simulate(ops=SMALL_OPS, nodes=1, seed=0))
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chrome"))
    with pytest.raises(CpnasError, match="apt-get install chromium"):
        to_png(fig, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_to_png_with_the_machines_chromium(tmp_path, monkeypatch):
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    try:
        export_mod.find_browser()
    except CpnasError:
        if os.environ.get("CI"):
            raise
        pytest.skip("no Chrome/Chromium on this machine (CI unset)")
    fig = indicator_heatmap(simulate(ops=SMALL_OPS, nodes=1, seed=0))
    out = to_png(fig, tmp_path / "figs" / "heatmap.png", width=500, height=400, scale=1)
    data = out.read_bytes()
    assert data.startswith(HEADERS["png"])
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (500, 400)


def test_genotype_style_gif_ends_with_the_derived_cell(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    from cpnas.genotype import parse_genotype
    from cpviz.animate import genotype_frames, leading_genotype

    events = simulate(ops=SMALL_OPS, nodes=2, seed=2)
    state = replay(events)
    frames = genotype_frames(state)
    assert [n for n, _ in frames] == [1, 2, 3]
    assert frames[-1][1] == parse_genotype(state.genotype)
    first = leading_genotype(state, 0)  # leaders among the ops that survived round 0
    for cell in ("normal", "reduce"):
        kept = first.edges(cell)
        assert 1 <= len(kept) <= 4  # at most the top-2 inputs of each of the 2 nodes
        for op, src, dst in kept:
            edge = f"{cell}:{src}->{dst}"
            ev0 = state.scores[0].ev[edge]
            survivors_of_round_0 = [o for o in SMALL_OPS if state.pruned[edge].get(o) is None
                                    or state.pruned[edge][o].round > 0]
            assert op == max(survivors_of_round_0, key=ev0.get)
    out = animate_cells(state, tmp_path / "g.gif", style="genotype", dpi=40)
    with Image.open(out) as im:
        assert im.n_frames == 3
    with pytest.raises(CpnasError, match="style"):
        animate_cells(state, tmp_path / "x.gif", style="movie")
