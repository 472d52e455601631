"""The DARTS-format genotype: derive it from a search, print it, and parse it safely.

The text form is DARTS's ``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3,
4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])``. It is parsed with :mod:`ast` and a
whitelist of node shapes, never with ``eval`` (:mod:`cpnas.genotype_text`, which also reads
the other published shapes).

DARTS gives every intermediate node exactly two inputs. The "keep every edge" mode can give
a node more or fewer, so a genotype may carry ``normal_arity`` / ``reduce_arity`` (inputs
per node). Both are left out of the text when every node has two, which keeps the DARTS
format exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import GenotypeError
from .genotype_text import call_fields, genotype_assignments, genotype_fields
from .limits import MAX_NODES
from .space import parse_edge_id

Edge = tuple[str, int]  # (op, input index)


@dataclass(frozen=True)
class Genotype:
    normal: tuple[Edge, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Edge, ...]
    reduce_concat: tuple[int, ...]
    normal_arity: tuple[int, ...] | None = None
    reduce_arity: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        for cell in ("normal", "reduce"):
            edges = tuple((str(op), int(i)) for op, i in getattr(self, cell))
            object.__setattr__(self, cell, edges)
            concat = tuple(int(i) for i in getattr(self, f"{cell}_concat"))
            object.__setattr__(self, f"{cell}_concat", concat)
            arity = getattr(self, f"{cell}_arity")
            if arity is not None:
                arity = tuple(int(a) for a in arity)
                if all(a == 2 for a in arity) and sum(arity) == len(edges):
                    arity = None
                object.__setattr__(self, f"{cell}_arity", arity)
            _check_cell(cell, edges, concat, getattr(self, f"{cell}_arity"))

    # -- shape ------------------------------------------------------------------------------
    def arity(self, cell: str) -> tuple[int, ...]:
        given = getattr(self, f"{cell}_arity")
        if given is not None:
            return given
        return (2,) * (len(getattr(self, cell)) // 2)

    def nodes(self, cell: str) -> list[list[Edge]]:
        """The inputs of each intermediate node, in order."""
        edges, out, pos = getattr(self, cell), [], 0
        for a in self.arity(cell):
            out.append(list(edges[pos : pos + a]))
            pos += a
        return out

    def edges(self, cell: str) -> list[tuple[str, int, int]]:
        """``(op, src, dst)`` in DARTS index space (dst >= 2)."""
        return [
            (op, src, j + 2) for j, ins in enumerate(self.nodes(cell)) for op, src in ins
        ]

    def ops(self) -> set[str]:
        return {op for cell in ("normal", "reduce") for op, _ in getattr(self, cell)}

    # -- text -------------------------------------------------------------------------------
    def __str__(self) -> str:
        def cell(edges: Iterable[Edge]) -> str:
            return "[" + ", ".join(f"({op!r}, {i})" for op, i in edges) + "]"

        parts = [
            f"normal={cell(self.normal)}",
            f"normal_concat={list(self.normal_concat)}",
            f"reduce={cell(self.reduce)}",
            f"reduce_concat={list(self.reduce_concat)}",
        ]
        for name in ("normal_arity", "reduce_arity"):
            if getattr(self, name) is not None:
                parts.append(f"{name}={list(getattr(self, name))}")
        return "Genotype(" + ", ".join(parts) + ")"

    __repr__ = __str__

    def to_dict(self) -> dict[str, Any]:
        return {"genotype": str(self)}

    @classmethod
    def parse(cls, text: str) -> Genotype:
        return parse_genotype(text)


def _check_cell(
    cell: str, edges: tuple[Edge, ...], concat: tuple[int, ...], arity: tuple[int, ...] | None
) -> None:
    if not edges:
        raise GenotypeError(f"{cell}: the cell has no edges")
    for op, _ in edges:
        if not op.isidentifier():
            raise GenotypeError(f"{cell}: op name {op!r} is not an identifier")
    if arity is None:
        if len(edges) % 2:
            raise GenotypeError(
                f"{cell}: {len(edges)} edges; DARTS cells have 2 per node "
                f"(give {cell}_arity=[...] for other shapes)"
            )
        arity = (2,) * (len(edges) // 2)
    elif sum(arity) != len(edges) or any(a < 0 for a in arity):
        raise GenotypeError(f"{cell}_arity {list(arity)} does not add up to {len(edges)} edges")
    if len(arity) > MAX_NODES:
        raise GenotypeError(f"{cell}: {len(arity)} nodes, over the limit of {MAX_NODES} "
                            "(cpnas.limits)")
    pos = 0
    for j, a in enumerate(arity):
        for op, src in edges[pos : pos + a]:
            if src < 0 or src >= j + 2:
                raise GenotypeError(
                    f"{cell}: edge ({op!r}, {src}) into node {j + 2} points at node {src}, "
                    f"which is not before it"
                )
        pos += a
    n = len(arity)
    for i in concat:
        if i < 0 or i >= n + 2:
            raise GenotypeError(f"{cell}_concat: node {i} does not exist (the cell has {n})")


# -- parsing ---------------------------------------------------------------------------------


def parse_genotype(text: str) -> Genotype:
    """Parse a DARTS genotype string without evaluating it (:mod:`cpnas.genotype_text`).

    Accepts the text as the NAS repositories publish it: ``Genotype(...)`` with keyword or
    positional fields, an optional ``NAME = `` in front, lists or tuples, ``range(2, 6)``
    for concat (how a DARTS namedtuple prints), flat pairs, per-node lists, FairDARTS
    triples and ``None``-valued extra fields.
    """
    return Genotype(**genotype_fields(text))


# -- derivation ------------------------------------------------------------------------------


def derive_genotype(
    survivors: Mapping[str, str],
    zbar: Mapping[str, float],
    nodes: int,
    mode: str = "top2",
    cell_types: tuple[str, ...] = ("normal", "reduce"),
) -> Genotype:
    """Build the genotype from the op left on every edge (docs/method.md, "The genotype").

    ``survivors`` maps edge id -> surviving op; ``zbar`` maps edge id -> that op's
    search-wide zbar (:func:`cpnas.scoring.survivor_scores`), the score edges are ranked by.
    ``top2`` keeps, for each node, the two incoming edges with the highest zbar among
    survivors other than ``none`` (DARTS); ``all`` keeps every non-none edge. A ``none``
    survivor means the edge is absent. Ties break toward the lower source index.
    """
    if mode not in ("top2", "all"):
        raise ValueError(f"mode must be 'top2' or 'all', got {mode!r}")
    cells: dict[str, list[Edge]] = {}
    arities: dict[str, list[int]] = {}
    for cell in ("normal", "reduce"):
        name = cell if cell in cell_types else cell_types[0]
        by_dst: dict[int, list[tuple[float, int, str]]] = {d: [] for d in range(2, nodes + 2)}
        for edge, op in survivors.items():
            c, src, dst = parse_edge_id(edge)
            if c != name or op == "none":
                continue
            by_dst[dst].append((float(zbar.get(edge, 0.0)), src, op))
        edges: list[Edge] = []
        arity: list[int] = []
        for dst in range(2, nodes + 2):
            cands = sorted(by_dst[dst], key=lambda x: (-x[0], x[1]))
            if mode == "top2":
                cands = cands[:2]
            cands.sort(key=lambda x: x[1])
            edges.extend((op, src) for _, src, op in cands)
            arity.append(len(cands))
        cells[cell] = edges
        arities[cell] = arity
    concat = list(range(2, nodes + 2))
    return Genotype(
        normal=tuple(cells["normal"]),
        normal_concat=tuple(concat),
        reduce=tuple(cells["reduce"]),
        reduce_concat=tuple(concat),
        normal_arity=tuple(arities["normal"]),
        reduce_arity=tuple(arities["reduce"]),
    )


# Published genotypes, their text as the repositories print it (DARTS quark0/darts
# cnn/genotypes.py; PC-DARTS yuhuixu1993/PC-DARTS genotypes.py PC_DARTS_cifar; P-DARTS
# chenxin061/pdarts genotypes.py), read like any genotypes file.
_PUBLISHED_TEXT = """
DARTS_V1 = Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])
DARTS_V2 = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])
PC_DARTS = Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=range(2, 6))
PDARTS = Genotype(normal=[('skip_connect', 0), ('dil_conv_3x3', 1), ('skip_connect', 0),('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3',0), ('dil_conv_5x5', 4)], normal_concat=range(2, 6), reduce=[('avg_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('dil_conv_5x5', 2), ('max_pool_3x3', 0), ('dil_conv_3x3', 1), ('dil_conv_3x3', 1), ('dil_conv_5x5', 3)], reduce_concat=range(2, 6))
"""
PUBLISHED: dict[str, Genotype] = {
    name: Genotype(**call_fields(call)) for name, call in genotype_assignments(_PUBLISHED_TEXT).items()
}
DARTS_V2 = PUBLISHED["DARTS_V2"]
PC_DARTS = PUBLISHED["PC_DARTS"]
