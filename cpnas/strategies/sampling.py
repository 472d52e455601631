"""Random genotypes under the DARTS rule, and the supernet path of a genotype (torch-free).

The DARTS rule: every intermediate node takes exactly two distinct inputs among the nodes
before it, each with one op other than ``none``; concat is every intermediate node.
"""

from __future__ import annotations

import random

from ..genotype import Genotype
from ..space import SearchSpace, edge_id


def random_genotype(rng: random.Random, space: SearchSpace) -> Genotype:
    """One genotype drawn uniformly under the DARTS rule (inputs, then ops)."""
    ops = [o for o in space.ops if o != "none"]
    if not ops:
        raise ValueError("a random genotype needs at least one op other than 'none'")
    cells = {}
    for cell in ("normal", "reduce"):
        edges = []
        for dst in range(2, space.nodes + 2):
            for src in sorted(rng.sample(range(dst), 2)):
                edges.append((rng.choice(ops), src))
        cells[cell] = tuple(edges)
    concat = tuple(range(2, space.nodes + 2))
    return Genotype(normal=cells["normal"], normal_concat=concat, reduce=cells["reduce"],
                    reduce_concat=concat)


def genotype_arch(genotype: Genotype, space: SearchSpace) -> dict[str, str]:
    """The one-op-per-edge supernet path that runs ``genotype``: its edges, ``none`` elsewhere."""
    arch = dict.fromkeys(space.edges, "none")
    for cell in space.cell_types:
        for op, src, dst in genotype.edges(cell):
            arch[edge_id(cell, src, dst)] = op
    return arch


def uniform_arch(rng: random.Random, space: SearchSpace) -> dict[str, str]:
    """One op per edge, each uniform over the space's ops (a single-path sample, SPOS)."""
    return {e: rng.choice(space.ops) for e in space.edges}


__all__ = ["genotype_arch", "random_genotype", "uniform_arch"]
