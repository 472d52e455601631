"""Genotype text -> the fields of a :class:`~cpnas.genotype.Genotype`, read with :mod:`ast`.

Nothing is evaluated: the text is parsed and only a whitelist of node shapes is read
(quoted op names, integers, lists, tuples, ``range(a, b)``, ``None``). DARTS's own tools
``eval`` genotype strings, which runs whatever code is pasted in.

A cell (``normal=`` / ``reduce=``) may come in the shapes the NAS repositories publish:

- flat ``(op, input)`` pairs, two per node (DARTS, PC-DARTS, P-DARTS, DrNAS, ...);
- one list or tuple of ``(op, input)`` pairs per node, any number per node (pt.darts,
  AutoDL-Projects);
- FairDARTS ``(op, to, from)`` triples, zero to many inputs per node.

Extra keyword fields are accepted when they are ``None`` (AutoDL-Projects' ``connectN=None,
connects=None``). A whole genotypes file is read as its top-level ``NAME = ...``
assignments (:func:`genotype_assignments`), following aliases such as ``DARTS = DARTS_V2``.
Input size (:mod:`cpnas.limits`), bracket nesting, node numbers and ``range`` lengths are
bounded, so no text can exhaust memory or recursion.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from .errors import GenotypeError
from .limits import MAX_FILE_BYTES, MAX_GENOTYPE_CHARS, MAX_NODES, MAX_OP_NAME_CHARS

MAX_DEPTH = 16  # brackets: a per-node cell needs 4 ( Genotype( [ ( ( )
FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")
OPTIONAL = ("normal_arity", "reduce_arity")
_SHAPES = "(op, input) pairs, one list of pairs per node, or FairDARTS (op, to, from) triples"
_BRACKETS = re.compile(r"[^()\[\]{}]+")


def check_size(text: str, what: str = "genotype text", limit: int = MAX_GENOTYPE_CHARS) -> None:
    """Refuse text too long or too deeply nested to be a genotype (before ast sees it)."""
    if len(text) > limit:
        raise GenotypeError(f"{what} of {len(text)} characters, over the limit of {limit} (cpnas.limits)")
    depth = deepest = 0
    for ch in _BRACKETS.sub("", text):
        depth += 1 if ch in "([{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise GenotypeError(f"{what} nests brackets {deepest} deep; a genotype needs at most {MAX_DEPTH}")


def _parse(text: str, what: str, limit: int = MAX_GENOTYPE_CHARS) -> ast.Module:
    check_size(text, what, limit)
    try:
        return ast.parse(text, mode="exec")
    except SyntaxError as exc:
        raise GenotypeError(f"{what} is not valid syntax: {exc.msg} (line {exc.lineno}, column {exc.offset})") from None
    except (RecursionError, MemoryError):  # deep unary chains such as ----...1
        raise GenotypeError(f"{what} is nested too deeply to be a genotype") from None


def genotype_fields(text: str) -> dict[str, Any]:
    """The fields of the one ``Genotype(...)`` expression in ``text`` (``NAME = `` allowed)."""
    if not isinstance(text, str):
        raise GenotypeError(f"a genotype must be text, got {type(text).__name__}")
    src = text.strip()
    if not src:
        raise GenotypeError("empty genotype text")
    tree = _parse(src, "genotype text")
    if len(tree.body) != 1:
        names = list(genotype_assignments(tree))
        found = f"the genotypes {name_list(names)}" if names else "no Genotype(...) assignment"
        raise GenotypeError(f"the text holds {len(tree.body)} statements ({found}); give one "
                            "Genotype(...), or save it as FILE.py and pick one with FILE.py:NAME")
    stmt = tree.body[0]
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        node = stmt.value
    elif isinstance(stmt, ast.Expr):
        node = stmt.value
    else:
        raise GenotypeError(f"expected a Genotype(...) expression, got {describe(stmt)}")
    return call_fields(node)


def genotype_assignments(source: str | ast.Module, what: str = "the file") -> dict[str, ast.Call]:
    """Top-level ``NAME = Genotype(...)`` of a genotypes file, aliases (``A = B``) followed."""
    tree = _parse(source, what, MAX_FILE_BYTES) if isinstance(source, str) else source
    values: dict[str, ast.expr] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            values[stmt.targets[0].id] = stmt.value
    out = {}
    for name in values:
        node, seen = values[name], {name}
        while isinstance(node, ast.Name) and node.id in values and node.id not in seen:
            seen.add(node.id)
            node = values[node.id]
        if isinstance(node, ast.Call) and _call_name(node) == "Genotype":
            out[name] = node
    return out


def call_fields(node: ast.AST) -> dict[str, Any]:
    """Keyword arguments for :class:`~cpnas.genotype.Genotype` from a ``Genotype(...)`` call."""
    if not (isinstance(node, ast.Call) and _call_name(node) == "Genotype"):
        raise GenotypeError(f"expected a call of Genotype(...), got {describe(node)}")
    values: dict[str, ast.expr] = {}
    for i, arg in enumerate(node.args):
        if i < len(FIELDS):
            values[FIELDS[i]] = arg
        elif not _is_none(arg):
            raise GenotypeError(f"Genotype(...) positional field {i + 1} is {describe(arg)}; "
                                "fields past the 4 DARTS ones must be None")
    for kw in node.keywords:
        if kw.arg is None:
            raise GenotypeError("Genotype(...) must not unpack **arguments")
        if kw.arg in values:
            raise GenotypeError(f"Genotype(...) gives {kw.arg!r} twice")
        if kw.arg in FIELDS + OPTIONAL:
            values[kw.arg] = kw.value
        elif not _is_none(kw.value):  # AutoDL-Projects' connectN=None, connects=None
            raise GenotypeError(f"Genotype(...) has an unknown field {kw.arg!r} = {describe(kw.value)} "
                                "(extra fields must be None)")
    missing = [f for f in FIELDS if f not in values]
    if missing:
        raise GenotypeError(f"Genotype(...) is missing {', '.join(missing)}")
    out: dict[str, Any] = {}
    for cell in ("normal", "reduce"):
        concat = _int_list(f"{cell}_concat", values[f"{cell}_concat"])
        edges, arity = _cell(cell, values[cell], max(concat, default=0))
        given = values.get(f"{cell}_arity")
        if given is not None:
            if arity is not None:
                raise GenotypeError(f"{cell}_arity is given, but {cell} already lists its inputs per node")
            arity = _int_list(f"{cell}_arity", given)
        out.update({cell: edges, f"{cell}_concat": concat, f"{cell}_arity": arity})
    return out


# -- cells -----------------------------------------------------------------------------------


def _cell(cell: str, node: ast.AST, concat_max: int) -> tuple[list[tuple[str, int]], list[int] | None]:
    """(edges, inputs per node or None for DARTS's two each) from any published shape."""
    if not isinstance(node, (ast.List, ast.Tuple)):
        raise GenotypeError(f"{cell} must be a list of {_SHAPES}; got {describe(node)}")
    kinds = [_entry_kind(cell, i, e) for i, e in enumerate(node.elts)]
    if len(set(kinds)) > 1:
        first = {k: kinds.index(k) for k in kinds}
        seen = ", ".join(f"{k} (entry {i})" for k, i in first.items())
        raise GenotypeError(f"{cell} mixes shapes: {seen}; use one of {_SHAPES}")
    kind = kinds[0] if kinds else "pair"
    if kind == "pair":
        return [_pair(cell, i, e) for i, e in enumerate(node.elts)], None
    if kind == "node":
        nodes = [[_pair(f"{cell} node {j}", i, e) for i, e in enumerate(n.elts)] for j, n in enumerate(node.elts)]
        return [e for n in nodes for e in n], [len(n) for n in nodes]
    return _triples(cell, node.elts, concat_max)


def _entry_kind(cell: str, i: int, node: ast.AST) -> str:
    if isinstance(node, (ast.List, ast.Tuple)):
        if node.elts and all(isinstance(e, (ast.List, ast.Tuple)) for e in node.elts):
            return "node"
        if not node.elts:
            return "node"  # a node with no inputs
        if len(node.elts) == 2:
            return "pair"
        if len(node.elts) == 3:
            return "triple"
    raise GenotypeError(f"{cell}: entry {i} is {describe(node)}; expected {_SHAPES}")


def _pair(cell: str, i: int, node: ast.AST) -> tuple[str, int]:
    if not (isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) == 2):
        raise GenotypeError(f"{cell}: entry {i} is {describe(node)}; expected an (op, input) pair")
    return _op(cell, i, node.elts[0]), _int(f"{cell}: entry {i} input", node.elts[1])


def _triples(cell: str, entries: list[ast.expr], concat_max: int):
    """FairDARTS (op, to, from): group by the node fed, in order; nodes may get none."""
    by_node: dict[int, list[tuple[str, int]]] = {}
    for i, e in enumerate(entries):
        op = _op(cell, i, e.elts[0])
        to, src = (_int(f"{cell}: entry {i} {k}", v) for k, v in zip(("to", "from"), e.elts[1:]))
        if to < 2:
            raise GenotypeError(f"{cell}: entry {i} ({op!r}, {to}, {src}) feeds node {to}, "
                                "an input of the cell (FairDARTS triples are (op, to, from))")
        by_node.setdefault(to, []).append((op, src))
    last = max([concat_max, *by_node])
    if last - 1 > MAX_NODES:
        raise GenotypeError(f"{cell}: a triple feeds node {last}, over the limit of {MAX_NODES} "
                            "nodes (cpnas.limits)")
    edges = [e for to in range(2, last + 1) for e in by_node.get(to, [])]
    return edges, [len(by_node.get(to, [])) for to in range(2, last + 1)]


def _op(cell: str, i: int, node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if len(node.value) > MAX_OP_NAME_CHARS:  # drawn and stored whole: Graphviz chokes
            raise GenotypeError(f"{cell}: entry {i} has an op name of {len(node.value)} "
                                f"characters, over the limit of {MAX_OP_NAME_CHARS} "
                                "(cpnas.limits)")
        return node.value
    raise GenotypeError(f"{cell}: entry {i} has {describe(node)} as its op; op names must be quoted strings")


def _int_list(name: str, node: ast.AST) -> list[int]:
    if isinstance(node, ast.Call) and _call_name(node) == "range" and not node.keywords:
        bounds = [_int(name, a) for a in node.args]
        if not 1 <= len(bounds) <= 2:
            raise GenotypeError(f"{name}: range() takes 1 or 2 integers here")
        if len(range(*bounds)) > MAX_NODES + 2:
            raise GenotypeError(f"{name}: {len(range(*bounds))} nodes, over the limit of "
                                f"{MAX_NODES} (cpnas.limits)")
        return list(range(*bounds))
    if not isinstance(node, (ast.List, ast.Tuple)):
        raise GenotypeError(f"{name} must be a list of integers or range(a, b); got {describe(node)}")
    return [_int(name, e) for e in node.elts]


def _int(name: str, node: ast.AST) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) is int):
        raise GenotypeError(f"{name}: -{node.operand.value} is negative; node indices count "
                            "from 0 (0 and 1 are the cell's inputs)")
    raise GenotypeError(f"{name}: expected an integer, got {describe(node)}")


# -- helpers ---------------------------------------------------------------------------------


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):  # genotypes.Genotype(...)
        return node.func.attr
    return None


def name_list(names: list[str], most: int = 30) -> str:
    """Names for a one-line message: the first ``most``, then how many more."""
    if not names:
        return "none"
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def describe(node: ast.AST) -> str:
    """A short description of what the text holds at ``node``, for error messages."""
    if isinstance(node, ast.Constant):
        text = repr(node.value)
        return f"{type(node.value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"
    if isinstance(node, (ast.List, ast.Tuple)):
        kind = "list" if isinstance(node, ast.List) else "tuple"
        return f"a {len(node.elts)}-element {kind}"
    if isinstance(node, ast.Call):
        name = _call_name(node)
        return f"a call of {name}()" if name else "a call"
    if isinstance(node, ast.Name):
        return f"the name {node.id}"
    return f"a {type(node).__name__} expression"
