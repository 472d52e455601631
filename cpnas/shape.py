"""The shape of a search and of its networks, torch-free: how many samples a search runs, the
cell types by depth, and the channel widths of every cell (DARTS's bookkeeping). The
supernets and the fixed network (:mod:`cpnas.model`), the model summary
(:mod:`cpviz.summary`) and the config (:mod:`cpnas.config`) read them here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple


def n_samples(n_ops: int, repeats: int) -> int:
    """Sampled architectures in a whole search: T * (K + (K-1) + ... + 2), 0 below 2 ops."""
    return repeats * sum(range(2, n_ops + 1))


def cell_layout(cells: int) -> list[str]:
    """Cell types by depth: reduction cells at 1/3 and 2/3 of the depth (DARTS).

    Two cells are normal + reduce, so both cell types are always trained from 2 cells up;
    a single cell is normal only (its reduce edges are scored but never run).
    """
    if cells == 1:
        return ["normal"]
    if cells == 2:
        return ["normal", "reduce"]
    reduce_at = {cells // 3, 2 * cells // 3}
    return ["reduce" if i in reduce_at else "normal" for i in range(cells)]


class CellWidths(NamedTuple):
    kind: str  # normal | reduce
    c_pp: int  # channels of input c_{k-2}
    c_p: int  # channels of input c_{k-1}
    c: int  # channels of every node of this cell
    reduction_prev: bool  # the cell before was a reduction (c_{k-2} is at twice the resolution)


def cell_widths(layout: Sequence[str], channels: int, stem_channels: int,
                out_nodes: Sequence[int]) -> Iterator[CellWidths]:
    """Per cell, DARTS's channel bookkeeping: a reduction cell doubles C; a cell's output is
    the concatenation of its ``out_nodes`` nodes (``n_out * C`` channels); the stem feeds
    ``stem_channels`` to both inputs of the first cell."""
    c_pp = c_p = stem_channels
    c, reduction_prev = channels, False
    for kind, n_out in zip(layout, out_nodes):
        if kind == "reduce":
            c *= 2
        yield CellWidths(kind, c_pp, c_p, c, reduction_prev)
        c_pp, c_p, reduction_prev = c_p, n_out * c, kind == "reduce"


__all__ = ["CellWidths", "cell_layout", "cell_widths", "n_samples"]
