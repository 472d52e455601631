"""Random DARTS genotypes: the reference architectures a weight-sharing evaluator is judged on.

Torch-free. Each intermediate node draws two *distinct* inputs among its predecessors (the
two cell inputs and the earlier intermediate nodes), each with an op drawn uniformly from
the ops other than ``none``: DARTS's own rule for a discrete cell, so every draw is a plain
DARTS genotype (two inputs per node, concat = all intermediate nodes). The draw depends on
the seed alone (``random.Random(seed)``), so a committed list of genotypes can be redrawn
and checked.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .genotype import Genotype
from .space import PRIMITIVES

CELLS = ("normal", "reduce")


def _cell(rng: random.Random, ops: Sequence[str], nodes: int) -> list[tuple[str, int]]:
    edges: list[tuple[str, int]] = []
    for dst in range(2, nodes + 2):
        for src in sorted(rng.sample(range(dst), 2)):
            edges.append((rng.choice(ops), src))
    return edges


def random_genotype(rng: random.Random, ops: Sequence[str] = PRIMITIVES, nodes: int = 4) -> Genotype:
    """One genotype under the DARTS rule, drawn from ``rng`` (normal cell first, then reduce)."""
    choices = [o for o in ops if o != "none"]
    if not choices:
        raise ValueError("random_genotype: the op set has no op other than 'none'")
    if nodes < 1:
        raise ValueError(f"random_genotype: nodes must be >= 1, got {nodes}")
    cells = {c: _cell(rng, choices, nodes) for c in CELLS}
    concat = tuple(range(2, nodes + 2))
    return Genotype(normal=tuple(cells["normal"]), normal_concat=concat,
                    reduce=tuple(cells["reduce"]), reduce_concat=concat)


def random_genotypes(n: int, seed: int, ops: Sequence[str] = PRIMITIVES,
                     nodes: int = 4) -> list[Genotype]:
    """``n`` genotypes drawn in order from ``random.Random(seed)`` (duplicates are redrawn)."""
    rng = random.Random(seed)
    out: list[Genotype] = []
    seen: set[str] = set()
    while len(out) < n:
        g = random_genotype(rng, ops, nodes)
        if str(g) not in seen:
            seen.add(str(g))
            out.append(g)
    return out


def genotype_arch(genotype: Genotype, space) -> dict[str, str]:
    """The one-op-per-edge supernet path that runs ``genotype``: its edges, ``none`` elsewhere."""
    from .space import edge_id

    arch = dict.fromkeys(space.edges, "none")
    for cell in space.cell_types:
        for op, src, dst in genotype.edges(cell):
            arch[edge_id(cell, src, dst)] = op
    return arch


def uniform_arch(space, rng: random.Random) -> dict[str, str]:
    """One single-path architecture of the supernet: an op drawn uniformly on every edge."""
    return {e: rng.choice(space.ops) for e in space.edges}
