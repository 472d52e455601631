"""Cell diagrams: exact DOT edges for published genotypes, other shapes, search states."""

from __future__ import annotations

import json

import pytest
from dotread import edge_attrs, node_names, visible_edges

from cpnas.errors import CpnasError, GenotypeError
from cpnas.genotype import DARTS_V2, PC_DARTS, Genotype, parse_genotype
from cpnas.resolve import resolve
from cpnas.simulate import simulate
from cpviz import cell_graph, cell_pair, state_cell_data
from cpviz.cell import is_binarized, op_colour
from cpviz.state import SearchState, as_state, genotype_or_state, replay

K2, K1, OUT = "c_{k-2}", "c_{k-1}", "c_{k}"
NODES = {K2, K1, "0", "1", "2", "3", OUT}
CONCAT = {("0", OUT, None), ("1", OUT, None), ("2", OUT, None), ("3", OUT, None)}
dot_edges, dot_nodes = visible_edges, node_names


# Written out from the published genotypes (DARTS cnn/genotypes.py, PC-DARTS genotypes.py
# PC_DARTS_cifar), node by node: index 0 = c_{k-2}, 1 = c_{k-1}, j >= 2 = node j-2.
EXPECTED = {
    ("DARTS_V2", "normal"): {
        (K2, "0", "sep_conv_3x3"), (K1, "0", "sep_conv_3x3"),
        (K2, "1", "sep_conv_3x3"), (K1, "1", "sep_conv_3x3"),
        (K1, "2", "sep_conv_3x3"), (K2, "2", "skip_connect"),
        (K2, "3", "skip_connect"), ("0", "3", "dil_conv_3x3"),
    },
    ("DARTS_V2", "reduce"): {
        (K2, "0", "max_pool_3x3"), (K1, "0", "max_pool_3x3"),
        ("0", "1", "skip_connect"), (K1, "1", "max_pool_3x3"),
        (K2, "2", "max_pool_3x3"), ("0", "2", "skip_connect"),
        ("0", "3", "skip_connect"), (K1, "3", "max_pool_3x3"),
    },
    ("PC_DARTS", "normal"): {
        (K1, "0", "sep_conv_3x3"), (K2, "0", "skip_connect"),
        (K2, "1", "sep_conv_3x3"), (K1, "1", "dil_conv_3x3"),
        (K2, "2", "sep_conv_5x5"), (K1, "2", "sep_conv_3x3"),
        (K2, "3", "avg_pool_3x3"), (K1, "3", "dil_conv_3x3"),
    },
    ("PC_DARTS", "reduce"): {
        (K1, "0", "sep_conv_5x5"), (K2, "0", "max_pool_3x3"),
        (K1, "1", "sep_conv_5x5"), ("0", "1", "sep_conv_5x5"),
        (K2, "2", "sep_conv_3x3"), ("1", "2", "sep_conv_3x3"),
        (K1, "3", "sep_conv_3x3"), ("0", "3", "sep_conv_3x3"),
    },
}
GENOTYPES = {"DARTS_V2": DARTS_V2, "PC_DARTS": PC_DARTS}


@pytest.mark.parametrize("name,cell", sorted(EXPECTED))
def test_published_genotype_dot_is_exact(name, cell):
    g = cell_graph(GENOTYPES[name], cell)
    edges = dot_edges(g.source)
    assert len(edges) == 12  # 8 op edges + 4 concat edges, no duplicates
    assert set(edges) == EXPECTED[(name, cell)] | CONCAT
    assert dot_nodes(g.source) == NODES
    assert g.graph_attr["rankdir"] == "LR"


def test_pasted_text_renders_like_the_object():
    text = ("PC_DARTS_cifar = Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), "
            "('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), "
            "('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], normal_concat=range(2, 6), "
            "reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), "
            "('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 2)], reduce_concat=range(2, 6))")
    assert cell_graph(text, "reduce").source == cell_graph(PC_DARTS, "reduce").source


NASNET = parse_genotype(
    "Genotype(normal=[('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 0), "
    "('sep_conv_3x3', 0), ('avg_pool_3x3', 1), ('skip_connect', 0), ('avg_pool_3x3', 0), "
    "('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 1)], normal_concat=[2, 3, 4, 5, 6], "
    "reduce=[('sep_conv_5x5', 1), ('sep_conv_7x7', 0), ('max_pool_3x3', 1), ('sep_conv_7x7', 0), "
    "('avg_pool_3x3', 1), ('sep_conv_5x5', 0), ('skip_connect', 3), ('avg_pool_3x3', 2), "
    "('sep_conv_3x3', 2), ('max_pool_3x3', 1)], reduce_concat=[4, 5, 6])"
)


def test_other_node_counts_concat_subsets_and_unknown_ops():
    g = cell_graph(NASNET, "reduce")
    edges = dot_edges(g.source)
    assert dot_nodes(g.source) == {K2, K1, "0", "1", "2", "3", "4", OUT}
    into_out = {src for src, dst, _ in edges if dst == OUT}
    assert into_out == {"2", "3", "4"}  # concat [4, 5, 6]: nodes 2..4 only
    assert (K2, "0", "sep_conv_7x7") in edges and ("1", "3", "skip_connect") in edges
    assert len(edges) == 10 + 3
    assert {src for src, dst, _ in dot_edges(cell_graph(NASNET, "normal").source) if dst == OUT} == {
        "0", "1", "2", "3", "4"}


def test_binarized_ops_are_marked():
    g = cell_graph(DARTS_V2, "normal")
    bold = [line for line in g.source.splitlines() if "style=bold" in line]
    assert len(bold) == 6 and all("conv" in line for line in bold)  # 5 sep + 1 dil
    assert "1-bit" in g.source
    plain = cell_graph(DARTS_V2, "normal", binary=False, legend=False).source
    assert "style=bold" not in plain and "1-bit" not in plain
    assert is_binarized("dil_conv_5x5") and not is_binarized("skip_connect")


def test_palette_is_okabe_ito_and_distinct_for_darts_ops():
    from cpnas.space import PRIMITIVES
    from cpviz.cell import OKABE_ITO

    colours = [op_colour(op) for op in PRIMITIVES]
    assert len(set(colours)) == len(PRIMITIVES)
    assert set(colours) - {"#9A9A9A"} <= set(OKABE_ITO.values())
    assert op_colour("sep_conv_7x7") == OKABE_ITO["blue"]  # family fallback


def _svg_size(graph) -> tuple[float, float]:
    import re

    from cpviz.export import render_bytes

    svg = render_bytes(graph, "svg").decode()
    w, h = re.search(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"', svg).groups()
    return float(w), float(h)


def test_cell_pair_stacks_the_cells_so_the_pair_is_as_wide_as_one_cell():
    pair_w, pair_h = _svg_size(cell_pair(DARTS_V2))
    one_w = max(_svg_size(cell_graph(DARTS_V2, c))[0] for c in ("normal", "reduce"))
    assert pair_w <= 1.15 * one_w  # side by side it was twice as wide
    assert pair_h > pair_w / 2


def test_cell_pair_has_both_cells():
    g = cell_pair(DARTS_V2)
    src = g.source
    # no clusters (Graphviz's crossing minimisation does not keep a node order inside one):
    # each cell is titled by a text node above its inputs
    assert "cluster" not in src
    assert '"normal/title" [label="normal cell"' in src and '"reduce/title" [label="reduce cell"' in src
    edges = dot_edges(src)
    labelled = [(s, d, lab) for s, d, lab in edges if lab]
    assert len(labelled) == 16
    assert ("normal/" + K2, "normal/0", "sep_conv_3x3") in labelled
    assert ("reduce/0", "reduce/1", "skip_connect") in labelled


def test_state_diagram_of_a_half_finished_search():
    state = replay(simulate(seed=4, stop_after=8 + 7 + 2))  # round 2, two samples in
    data = state_cell_data(state, "normal")
    assert len(data) == 14
    for e in data:
        pruned = {m.op: m.pruned_in for m in e.ops if m.status == "pruned"}
        assert pruned == {op: rec.round for op, rec in state.pruned[e.edge].items()}
        assert sorted(pruned.values()) == [0, 1]
        assert e.survivor is None and e.selected is None
        assert all(m.ev is not None for m in e.ops)  # running ev of round 2 or last ev
    src = cell_graph(state, "normal").source
    for e in data:
        for m in e.ops:
            if m.status == "pruned":
                assert f"<S>{m.op}</S>" in src
    assert src.count("<S>") == 14 * 2
    assert "round 3 of 7" in src


def test_state_diagram_of_a_finished_search_marks_survivors():
    state = replay(simulate(seed=4))
    data = state_cell_data(state, "reduce")
    assert {e.edge: e.survivor for e in data} == {
        k: v for k, v in state.survivors().items() if k.startswith("reduce:")}
    assert sum(bool(e.selected) for e in data) == 8  # top-2 inputs for each of 4 nodes
    src = cell_graph(state, "reduce").source
    assert src.count("penwidth=3") == 14
    assert src.count("<S>") == 14 * 7
    assert src.count("<B>") == 14  # the survivor's name stands out


@pytest.mark.parametrize("compact", [False, True])
def test_state_labels_are_tied_to_their_edge_in_its_colour(compact):
    """Every op label is tied to its edge by Graphviz's decorate line, which takes the
    fontcolor: the edge's colour (a black tick on a grey edge read as a mark of its own); the
    label's text keeps its own colours, black where none is given."""
    state = replay(simulate(ops=("none", "skip_connect", "sep_conv_3x3"), nodes=2, seed=0, stop_after=4))
    labelled = [a for a in edge_attrs(cell_graph(state, "normal", compact=compact).source) if a.get("label")]
    assert len(labelled) == len([e for e in state.edges if e.startswith("normal:")])
    for attrs in labelled:
        assert attrs["decorate"] == "true" and attrs["fontcolor"] == attrs["color"], attrs
        assert attrs["label"].startswith('<FONT COLOR="#000000">'), attrs["label"]


def test_state_diagram_needs_a_space():
    with pytest.raises(CpnasError, match="no search space"):
        cell_graph(SearchState())


def test_one_resolver_tags_runs_and_genotypes(tmp_path):
    """cpnas.resolve tags what it was given; cpviz folds a run's events once, and draws a
    run's genotype once the search wrote one."""
    events = simulate(ops=("none", "skip_connect", "sep_conv_3x3"), nodes=2, seed=0)
    run = tmp_path / "run"
    run.mkdir()
    log = run / "events.jsonl"
    log.write_text("".join(e.to_json() + "\n" for e in events), encoding="utf-8")
    whole = replay(events)
    for given in (lambda: run, lambda: str(run), lambda: log, lambda: events, lambda: iter(events)):
        resolved = resolve(given())
        assert resolved.kind == "run" and resolved.genotype is None
        assert list(resolved.events) == events
        assert genotype_or_state(given()) == whole
    assert resolve(run).run_dir == run and resolve(log).run_dir is None
    assert resolve([]).kind == "run" and as_state([]) == SearchState()
    (run / "genotype.json").write_text(json.dumps({"genotype": str(DARTS_V2)}), encoding="utf-8")
    assert resolve(run).kind == "run" and genotype_or_state(run) == DARTS_V2
    assert as_state(run) == whole  # a finished run is still a search to the views that show one
    assert genotype_or_state(log) == whole  # the log alone is the search
    for genotype in (DARTS_V2, str(DARTS_V2), "DARTS_V2"):
        assert resolve(genotype).kind == "genotype" and genotype_or_state(genotype) == DARTS_V2
        with pytest.raises(CpnasError, match="a genotype has no search to show"):
            as_state(genotype)
    with pytest.raises(CpnasError, match="no genotype.json yet|not a genotype"):
        resolve(log).require()
    with pytest.raises(CpnasError, match="expected a list of events"):
        resolve([events[0], "text"])
    with pytest.raises(CpnasError, match="state_cell_data takes a SearchState"):
        state_cell_data(run)
    bad = tmp_path / "bad.json"
    bad.write_text('{"genotype": "Genotype(normal=[(\'sep-conv\', 0)"}', encoding="utf-8")
    with pytest.raises(GenotypeError, match="bad.json"):
        genotype_or_state(bad)
    with pytest.raises(CpnasError):
        genotype_or_state(tmp_path / "nothing-here")
    with pytest.raises(CpnasError):
        cell_graph(DARTS_V2, "middle")


def test_pair_of_a_space_with_one_cell_type():
    from cpnas import events as ev

    edges = ["normal:0->2", "normal:1->2"]
    space = {"ops": ["none", "sep_conv_3x3"], "nodes": 1, "cell_types": ["normal"], "edges": edges}
    state = replay([ev.SearchStarted(seq=0, space=space),
                    ev.RoundStarted(seq=1, round=0, K=2, alive={e: space["ops"] for e in edges})])
    src = cell_pair(state).source
    assert '"normal/title"' in src and '"reduce/' not in src
    assert len([e for e in dot_edges(src) if e[1] == "normal/0"]) == 2
    with pytest.raises(CpnasError, match="cell must be one of"):
        cell_graph(state, "reduce")


# the leading ops of a stopped teaching search: the widest cells the notebooks draw
WIDE = Genotype(
    normal=[("dil_conv_3x3", 0), ("dil_conv_3x3", 1), ("sep_conv_3x3", 2), ("avg_pool_3x3", 1),
            ("dil_conv_5x5", 3), ("sep_conv_5x5", 0), ("skip_connect", 4)],
    normal_concat=[2, 3, 4, 5], normal_arity=[1, 2, 2, 2],
    reduce=[("sep_conv_5x5", 0), ("max_pool_3x3", 1), ("sep_conv_3x3", 0), ("dil_conv_5x5", 1),
            ("dil_conv_5x5", 1), ("dil_conv_3x3", 2), ("dil_conv_5x5", 0), ("dil_conv_3x3", 4)],
    reduce_concat=[2, 3, 4, 5])


def test_a_wide_genotype_is_scaled_to_a_notebooks_width():
    from cpviz.cell import FIT_WIDTH_IN

    # the leading ops of a stopped teaching search: 1052 pt wide unscaled, 630 pt (840 px) after
    wide = WIDE
    for graph in (cell_pair(wide), cell_graph(wide, "normal")):
        assert _svg_size(graph)[0] <= 72 * FIT_WIDTH_IN + 1
    assert _svg_size(cell_graph(DARTS_V2, "normal"))[0] < 72 * FIT_WIDTH_IN  # a small one keeps its size


def test_the_final_compact_diagram_marks_the_genotype_and_says_how_it_was_derived():
    from cpnas import scoring
    from cpnas.genotype import Genotype
    from cpnas.simulate import simulate
    from cpviz.cell import short_op
    from cpviz.state import replay

    state = replay(simulate(seed=5))
    geno = Genotype.parse(state.genotype)
    for cell in ("normal", "reduce"):
        src = cell_graph(state, cell, compact=True).source
        caption = src[src.rindex("label="):]
        assert "in training now" not in caption and "▶" not in src  # the search has ended
        assert "the search has completed" in caption and "solid edges: the genotype's" in caption
        assert scoring.GENOTYPE_RULES["top2"].split()[0] in caption
        # every genotype edge drawn solid and thick in its op's colour, the others dashed
        solid = [line for line in src.splitlines() if "penwidth=3" in line and "style=solid" in line]
        assert len(solid) == len(geno.edges(cell))
        for op, _, _ in geno.edges(cell):
            assert f"<B>{short_op(op)}</B>" in src
        assert src.count("style=dashed") == 14 - len(geno.edges(cell))


def test_a_scaled_genotype_keeps_its_labels_readable():
    """At FIT_WIDTH_IN the widest teaching cells' text (labels, caption) stays at 9 px or more."""
    import re

    from cpviz.cell import FIT_WIDTH_IN

    wide = WIDE
    svg = cell_pair(wide).pipe(format="svg").decode()
    width_pt = float(re.search(r'<svg width="([0-9.]+)pt"', svg).group(1))
    scale = float(re.search(r'<g id="graph0" class="graph" transform="scale\(([0-9.]+)', svg).group(1))
    assert width_pt <= 72 * FIT_WIDTH_IN + 1 and 72 * FIT_WIDTH_IN * 4 / 3 <= 850  # px
    assert scale < 1  # it was scaled down
    smallest = min(float(x) for x in re.findall(r'font-size="([0-9.]+)"', svg))  # pt, unscaled
    assert smallest * 4 / 3 * scale >= 9  # every text, in px on screen
