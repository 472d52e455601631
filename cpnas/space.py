"""The DARTS cell search space: operation names, nodes and stable edge ids.

The op names and their facts live in :mod:`cpnas.registry`; ``PRIMITIVES`` is its default set.

Indices follow DARTS: 0 = c_{k-2}, 1 = c_{k-1}, j >= 2 = intermediate node j-2. An edge id
is ``<cell>:<src>-><dst>``, e.g. ``normal:0->2`` or ``reduce:3->5``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConfigError
from .registry import PRIMITIVES  # the 8 DARTS ops, in registry order

CELL_TYPES: tuple[str, ...] = ("normal", "reduce")

_EDGE_RE = re.compile(r"^(?P<cell>[a-z_]+):(?P<src>\d+)->(?P<dst>\d+)$")


def edge_id(cell: str, src: int, dst: int) -> str:
    return f"{cell}:{src}->{dst}"


def parse_edge_id(edge: str) -> tuple[str, int, int]:
    """``'normal:0->2'`` -> ``('normal', 0, 2)``."""
    m = _EDGE_RE.match(edge)
    if m is None:
        raise ValueError(f"not an edge id: {edge!r} (expected '<cell>:<src>-><dst>')")
    return m["cell"], int(m["src"]), int(m["dst"])


def cell_edges(cell: str, nodes: int) -> list[str]:
    """Edge ids of one cell type in DARTS order: by destination, then source."""
    return [edge_id(cell, src, dst) for dst in range(2, nodes + 2) for src in range(dst)]


@dataclass(frozen=True)
class SearchSpace:
    """The ops on offer and the shape of the cell (``nodes`` intermediate nodes)."""

    ops: tuple[str, ...] = PRIMITIVES
    nodes: int = 4
    cell_types: tuple[str, ...] = CELL_TYPES

    def __post_init__(self) -> None:
        if not self.ops:
            raise ConfigError("ops: the op set is empty; give at least one op")
        if len(set(self.ops)) != len(self.ops):
            raise ConfigError(f"ops: duplicate op names in {list(self.ops)}")
        if not isinstance(self.nodes, int) or isinstance(self.nodes, bool) or self.nodes < 1:
            raise ConfigError(f"nodes: must be an integer >= 1, got {self.nodes!r}")

    @property
    def edges(self) -> list[str]:
        return [e for cell in self.cell_types for e in cell_edges(cell, self.nodes)]

    def to_dict(self) -> dict:
        return {
            "ops": list(self.ops),
            "nodes": self.nodes,
            "cell_types": list(self.cell_types),
            "edges": self.edges,
        }
