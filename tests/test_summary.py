"""Edge table and the analytic 1-bit model summary (hand-computed numbers)."""

from __future__ import annotations

import pytest

from cpnas.errors import CpnasError
from cpnas.genotype import DARTS_V2, parse_genotype
from cpnas.simulate import simulate
from cpviz import edge_table, model_summary
from cpviz.state import replay

TINY = parse_genotype(
    "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=[2], "
    "reduce=[('max_pool_3x3', 0), ('dil_conv_5x5', 1)], reduce_concat=[2])"
)


def test_edge_table_of_a_finished_search():
    events = simulate(seed=9)
    state = replay(events)
    df = edge_table(state)
    assert list(df.index) == list(state.edges)
    assert df.loc["normal:0->2", "name"] == "normal c_{k-2}→0"
    assert df["survivor"].to_dict() == state.survivors()
    for edge in state.edges:
        for op, rec in state.pruned[edge].items():
            assert df.loc[edge, op] == rec.round + 1  # counted from 1, as on screen
        assert df.loc[edge, state.survivors()[edge]] is __import__("pandas").NA
        assert df.loc[edge, "ev"] == pytest.approx(state.genotype_edges[edge]["ev"])
    assert df["selected"].sum() == 16


def test_edge_table_of_a_half_finished_search():
    df = edge_table(simulate(seed=9, stop_after=8 + 3))
    assert df["survivor"].isna().all() and (df["alive"] == 7).all()
    assert df["leader"].notna().all()  # running ev of round 1 picks a leader
    assert (df.drop(columns=["name", "cell", "src", "dst", "survivor", "ev", "leader", "alive", "selected"])
            .notna().sum(axis=1) == 1).all()


def test_model_summary_by_hand():
    df = model_summary(TINY, channels=4, cells=1, classes=2, input_size=8)
    # stem: 3x3 conv 3 -> 12: 324 params, 8*8*324 MACs, all FP
    assert df.loc["stem", "fp_params"] == 324 and df.loc["stem", "fp_macs"] == 64 * 324
    cell = df.loc["cell 0"]
    # preprocess 12 -> 4 twice (FP): 2 * 48 params; sep_conv_3x3 on C=4: 4*9 + 16 = 52 binary
    # weights and 2*4 alphas; skip_connect (stride 1): nothing
    assert cell["kind"] == "normal"
    assert cell["binary_params"] == 52 and cell["fp_params"] == 96 + 8
    assert cell["binary_macs"] == 64 * 52 and cell["fp_macs"] == 2 * 64 * 48
    assert df.loc["classifier", "fp_params"] == 4 * 2 + 2  # concat [2]: 1 * C channels
    total = df.loc["total"]
    assert total["binary_params"] == 52 and total["fp_params"] == 324 + 104 + 10
    assert total["memory_mbits"] == pytest.approx((52 + 32 * 438) / 1e6)
    assert total["flops"] == pytest.approx(20736 + 6144 + 8 + 64 * 52 / 64)
    assert "Mbits" in df.attrs["formulas"]


def test_reduction_cells_at_one_and_two_thirds():
    df = model_summary(DARTS_V2, channels=16, cells=8)
    kinds = df.loc[[f"cell {i}" for i in range(8)], "kind"].tolist()
    assert kinds == ["normal", "normal", "reduce", "normal", "normal", "reduce", "normal", "normal"]
    assert df.loc["cell 2", "channels"] == 32 and df.loc["cell 2", "resolution"] == 16
    assert df.loc["cell 7", "channels"] == 64 and df.loc["cell 7", "resolution"] == 8
    # DARTS_V2's reduce cell has only pools and skips: the stride-2 skips are FP factorized reduces
    assert df.loc["cell 2", "binary_params"] == 0 and df.loc["cell 2", "fp_params"] > 0
    binary = model_summary(DARTS_V2, channels=16, cells=8, binary_preprocess=True)
    assert binary.loc["total", "memory_mbits"] < df.loc["total", "memory_mbits"]


def test_model_summary_refuses_unknown_ops_and_bad_sizes():
    odd = parse_genotype(str(TINY).replace("dil_conv_5x5", "shuffle_op"))
    with pytest.raises(CpnasError, match="shuffle_op"):
        model_summary(odd, cells=3)
    with pytest.raises(CpnasError, match="channels"):
        model_summary(TINY, channels=0)
    with pytest.raises(CpnasError, match="genotype"):
        model_summary(simulate(seed=0, stop_after=3))


@pytest.mark.parametrize("cells", range(1, 9))
def test_summary_layout_is_the_built_networks(cells):
    """The report prices the cells the engine builds (the default 2 cells are normal + reduce)."""
    from cpnas.model import SuperNet
    from cpnas.ops import OpSpec
    from cpnas.space import SearchSpace

    net = SuperNet(SearchSpace(ops=("none", "skip_connect"), nodes=2), 1, 10, 2, cells,
                   OpSpec(binary=True))
    df = model_summary(DARTS_V2, channels=4, cells=cells, input_size=8)
    assert list(df["kind"].iloc[1:-2]) == [cell.kind for cell in net.cells]


@pytest.mark.parametrize("distinct", [False, True])
def test_summary_prices_the_stem_the_engine_builds(distinct):
    """distinct_inputs: the stem is twice as wide (its halves feed the first cell)."""
    from cpnas.model import FixedNet
    from cpnas.ops import OpSpec

    net = FixedNet(DARTS_V2, 1, 10, 4, 2, OpSpec(binary=True), distinct_inputs=distinct)
    df = model_summary(DARTS_V2, channels=4, cells=2, input_size=8, input_channels=1,
                       distinct_inputs=distinct)
    assert df.loc["stem", "fp_params"] == net.stem[0].weight.numel()
