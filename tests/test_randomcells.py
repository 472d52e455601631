import random

import pytest

from cpnas.genotype import parse_genotype
from cpnas.randomcells import random_genotype, random_genotypes, uniform_arch
from cpnas.space import PRIMITIVES, SearchSpace


def test_every_node_has_two_distinct_earlier_inputs_and_no_none():
    for g in random_genotypes(50, seed=7):
        for cell in ("normal", "reduce"):
            nodes = g.nodes(cell)
            assert len(nodes) == 4
            for j, ins in enumerate(nodes):
                srcs = [src for _, src in ins]
                assert len(srcs) == 2 and len(set(srcs)) == 2
                assert all(0 <= s < j + 2 for s in srcs)
                assert all(op in PRIMITIVES and op != "none" for op, _ in ins)
        assert g.normal_concat == g.reduce_concat == (2, 3, 4, 5)


def test_plain_darts_text_round_trips():
    for g in random_genotypes(10, seed=1):
        text = str(g)
        assert "arity" not in text
        assert parse_genotype(text) == g


def test_seeded_distinct_and_prefix_stable():
    a, b = random_genotypes(20, seed=2026), random_genotypes(20, seed=2026)
    assert a == b
    assert len({str(g) for g in a}) == 20
    assert random_genotypes(5, seed=2026) == a[:5]
    assert random_genotypes(5, seed=2027) != a[:5]


def test_draws_cover_the_ops_and_inputs():
    ops, srcs = set(), set()
    for g in random_genotypes(40, seed=3):
        ops |= {op for op, _ in g.normal}
        srcs |= {src for op, src in g.nodes("normal")[3]}
    assert ops == set(PRIMITIVES) - {"none"}
    assert srcs == {0, 1, 2, 3, 4}


def test_teaching_space_and_bad_input():
    g = random_genotype(random.Random(0), ops=("none", "skip_connect", "sep_conv_3x3"), nodes=3)
    assert len(g.nodes("normal")) == 3 and g.ops() <= {"skip_connect", "sep_conv_3x3"}
    with pytest.raises(ValueError, match="none"):
        random_genotype(random.Random(0), ops=("none",))


def test_uniform_arch_runs_one_alive_op_per_edge():
    space = SearchSpace(nodes=3)
    arch = uniform_arch(space, random.Random(0))
    assert list(arch) == space.edges and set(arch.values()) <= set(space.ops)
