"""cpnas.shape: sample counts, the cell layout and DARTS's channel bookkeeping."""

from __future__ import annotations

import pytest

from cpnas.config import SearchConfig
from cpnas.shape import cell_layout, cell_widths, n_samples


@pytest.mark.parametrize(("k", "repeats", "n"), [(8, 1, 35), (3, 2, 10), (2, 3, 6), (1, 1, 0)])
def test_n_samples_is_t_times_k_down_to_2(k, repeats, n):
    assert n_samples(k, repeats) == n
    if k > 1:
        assert SearchConfig(ops=SearchConfig().ops[:k], repeats=repeats).n_samples == n


def test_cell_layout_puts_reductions_at_thirds_and_two_cells_are_normal_and_reduce():
    assert cell_layout(1) == ["normal"]
    assert cell_layout(2) == ["normal", "reduce"]
    assert cell_layout(8) == ["normal", "normal", "reduce", "normal", "normal",
                              "reduce", "normal", "normal"]


def test_widths_double_at_each_reduction_and_follow_the_concatenation():
    w = list(cell_widths(cell_layout(5), 8, 24, [4, 4, 4, 2, 4]))
    assert [x.kind for x in w] == ["normal", "reduce", "normal", "reduce", "normal"]
    assert [x.c for x in w] == [8, 16, 16, 32, 32]
    assert (w[0].c_pp, w[0].c_p) == (24, 24)  # the stem feeds both inputs
    assert (w[1].c_pp, w[1].c_p) == (24, 32)  # 4 nodes x 8
    assert (w[2].c_pp, w[2].c_p) == (32, 64) and w[2].reduction_prev
    assert w[4].c_p == 2 * 32 and w[4].reduction_prev and w[4].c_pp == 4 * 16


def test_the_supernet_and_the_summary_use_these_widths():
    import torch

    from cpnas.genotype import DARTS_V2
    from cpnas.model import FixedNet
    from cpnas.ops import OpSpec

    net = FixedNet(DARTS_V2, 1, 10, channels=8, cells=5, spec=OpSpec(binary=False))
    widths = list(cell_widths(cell_layout(5), 8, 24, [4] * 5))
    assert net.classifier.in_features == 4 * widths[-1].c
    assert net(torch.zeros(2, 1, 16, 16)).shape == (2, 10)
