"""The DARTS-format genotype: derive it from a search, print it, and parse it safely.

The text form is DARTS's ``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3,
4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])``. It is parsed with :mod:`ast` and a
whitelist of node shapes, never with ``eval``: DARTS's own tools evaluate it, which runs
whatever code is pasted in.

DARTS gives every intermediate node exactly two inputs. The "keep every edge" mode can give
a node more or fewer, so a genotype may carry ``normal_arity`` / ``reduce_arity`` (inputs
per node). Both are left out of the text when every node has two, which keeps the DARTS
format exact.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import GenotypeError
from .limits import MAX_GENOTYPE_CHARS, MAX_NODES
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

_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")
_OPTIONAL = ("normal_arity", "reduce_arity")


def parse_genotype(text: str) -> Genotype:
    """Parse a DARTS genotype string without evaluating it.

    Accepts the text as the NAS repositories publish it: ``Genotype(...)`` with keyword or
    positional fields, an optional ``NAME = `` in front, lists or tuples, and
    ``range(2, 6)`` for concat (how a DARTS namedtuple prints).
    """
    if not isinstance(text, str):
        raise GenotypeError(f"a genotype must be text, got {type(text).__name__}")
    src = text.strip()
    if not src:
        raise GenotypeError("empty genotype text")
    if len(src) > MAX_GENOTYPE_CHARS:
        raise GenotypeError(f"genotype text of {len(src)} characters, over the limit of "
                            f"{MAX_GENOTYPE_CHARS} (cpnas.limits)")
    try:
        tree = ast.parse(src, mode="exec")
    except SyntaxError as exc:
        raise GenotypeError(f"genotype is not valid syntax: {exc.msg} (column {exc.offset})") from None
    except (RecursionError, MemoryError):  # the parser's own limit on nesting
        raise GenotypeError("genotype text is nested too deeply to be a genotype") from None
    if len(tree.body) != 1:
        raise GenotypeError("genotype must be a single Genotype(...) expression")
    stmt = tree.body[0]
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        node = stmt.value
    elif isinstance(stmt, ast.Expr):
        node = stmt.value
    else:
        raise GenotypeError("genotype must be a Genotype(...) expression")
    if not (isinstance(node, ast.Call) and _call_name(node) == "Genotype"):
        raise GenotypeError("genotype must be a call of Genotype(...)")
    values: dict[str, Any] = {}
    if len(node.args) > len(_FIELDS):
        raise GenotypeError("Genotype(...) takes at most 4 positional fields")
    for name, arg in zip(_FIELDS, node.args):
        values[name] = arg
    for kw in node.keywords:
        if kw.arg is None or kw.arg not in _FIELDS + _OPTIONAL:
            raise GenotypeError(f"Genotype(...) has an unknown field {kw.arg!r}")
        if kw.arg in values:
            raise GenotypeError(f"Genotype(...) gives {kw.arg!r} twice")
        values[kw.arg] = kw.value
    missing = [f for f in _FIELDS if f not in values]
    if missing:
        raise GenotypeError(f"Genotype(...) is missing {', '.join(missing)}")
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        if name in ("normal", "reduce"):
            kwargs[name] = _edge_list(name, value)
        else:
            kwargs[name] = _int_list(name, value)
    return Genotype(**kwargs)


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):  # genotypes.Genotype(...)
        return node.func.attr
    return None


def _edge_list(name: str, node: ast.AST) -> list[Edge]:
    if not isinstance(node, (ast.List, ast.Tuple)):
        raise GenotypeError(f"{name} must be a list of (op, input) pairs")
    out = []
    for item in node.elts:
        if not (isinstance(item, (ast.Tuple, ast.List)) and len(item.elts) == 2):
            raise GenotypeError(f"{name}: every entry must be an (op, input) pair")
        op, idx = item.elts
        if not (isinstance(op, ast.Constant) and isinstance(op.value, str)):
            raise GenotypeError(f"{name}: op names must be quoted strings")
        if not (isinstance(idx, ast.Constant) and type(idx.value) is int):
            raise GenotypeError(f"{name}: input indices must be integers")
        out.append((op.value, idx.value))
    return out


def _int_list(name: str, node: ast.AST) -> list[int]:
    if isinstance(node, ast.Call) and _call_name(node) == "range" and not node.keywords:
        bounds = [_int(name, a) for a in node.args]
        if not 1 <= len(bounds) <= 2:
            raise GenotypeError(f"{name}: range() takes 1 or 2 integers here")
        return list(range(*bounds))
    if not isinstance(node, (ast.List, ast.Tuple)):
        raise GenotypeError(f"{name} must be a list of integers or range(a, b)")
    return [_int(name, e) for e in node.elts]


def _int(name: str, node: ast.AST) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    raise GenotypeError(f"{name}: expected an integer")


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


# Published genotypes, as their repositories print them (for tests, notebooks and rendering).
DARTS_V2 = parse_genotype(
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)
PC_DARTS = parse_genotype(
    "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), "
    "('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), "
    "('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), "
    "('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=range(2, 6))"
)
PUBLISHED: dict[str, Genotype] = {"DARTS_V2": DARTS_V2, "PC_DARTS": PC_DARTS}
