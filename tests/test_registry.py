"""The op registry's facts (torch-free), the names it derives, and the views' fallback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cpnas import registry
from cpnas.config import SearchConfig
from cpnas.errors import ConfigError
from cpnas.registry import COLOUR_GROUPS, Cost, OpFacts, display_facts, op_facts, register_op
from cpnas.space import PRIMITIVES
from cpviz.cell import PALETTE, is_binarized, op_colour
from cpviz.summary import op_cost

# name: (family, binarized, colour group, kernel, dilation), written from the DARTS op names.
FACTS = {
    "none": ("none", False, "faded", 0, 1),
    "skip_connect": ("skip", False, "purple", 0, 1),
    "max_pool_3x3": ("max_pool", False, "orange", 3, 1),
    "avg_pool_3x3": ("avg_pool", False, "vermillion", 3, 1),
    "sep_conv_3x3": ("sep_conv", True, "blue", 3, 1),
    "sep_conv_5x5": ("sep_conv", True, "sky_blue", 5, 1),
    "dil_conv_3x3": ("dil_conv", True, "green", 3, 2),
    "dil_conv_5x5": ("dil_conv", True, "black", 5, 2),
}


def test_primitives_keep_the_darts_order():
    # The order is part of run ids and event payloads: it must never change.
    assert PRIMITIVES == ("none", "skip_connect", "max_pool_3x3", "avg_pool_3x3",
                          "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
    assert registry.op_names() == PRIMITIVES
    assert SearchConfig().ops == PRIMITIVES


@pytest.mark.parametrize("name", FACTS)
def test_facts_per_op(name):
    f = op_facts(name)
    assert (f.family, f.binarized, f.colour, f.kernel, f.dilation) == FACTS[name]
    assert display_facts(name) is f
    assert is_binarized(name) == f.binarized and op_colour(name) == PALETTE[f.colour]


# Today's summary numbers (before the registry), C=16 / 7 channels, out size 8 / 5.
COSTS = {  # name: {(channels, out_size, stride): Cost}
    "none": {(16, 8, 1): Cost(), (16, 8, 2): Cost(), (7, 5, 2): Cost()},
    "skip_connect": {(16, 8, 1): Cost(), (16, 8, 2): Cost(0, 256, 0, 16384),
                     (7, 5, 2): Cost(0, 49, 0, 1225)},
    "max_pool_3x3": {(16, 8, 1): Cost(), (16, 8, 2): Cost(), (7, 5, 2): Cost()},
    "avg_pool_3x3": {(16, 8, 1): Cost(), (16, 8, 2): Cost(), (7, 5, 2): Cost()},
    "sep_conv_3x3": {(16, 8, 1): Cost(400, 32, 25600, 0), (16, 8, 2): Cost(400, 32, 25600, 0),
                     (7, 5, 2): Cost(112, 14, 2800, 0)},
    "sep_conv_5x5": {(16, 8, 1): Cost(656, 32, 41984, 0), (16, 8, 2): Cost(656, 32, 41984, 0),
                     (7, 5, 2): Cost(224, 14, 5600, 0)},
    "dil_conv_3x3": {(16, 8, 1): Cost(400, 32, 25600, 0), (16, 8, 2): Cost(400, 32, 25600, 0),
                     (7, 5, 2): Cost(112, 14, 2800, 0)},
    "dil_conv_5x5": {(16, 8, 1): Cost(656, 32, 41984, 0), (16, 8, 2): Cost(656, 32, 41984, 0),
                     (7, 5, 2): Cost(224, 14, 5600, 0)},
}


@pytest.mark.parametrize("name", FACTS)
def test_summary_costs_are_unchanged_for_the_eight_ops(name):
    for (channels, size, stride), expected in COSTS[name].items():
        assert op_cost(name, channels, size, stride) == expected, (channels, size, stride)


# Ops that published genotypes use outside the registry: drawn from facts the name gives.
@pytest.mark.parametrize(("name", "family", "binarized", "colour", "cost"), [
    ("sep_conv_7x7", "sep_conv", True, "blue", Cost(16 * 49 + 256, 32, 64 * (16 * 49 + 256), 0)),
    ("dil_conv_7x7", "dil_conv", True, "green", Cost(16 * 49 + 256, 32, 64 * (16 * 49 + 256), 0)),
    ("conv_7x1_1x7", "conv", True, "sky_blue", Cost(256 * 14, 32, 64 * 256 * 14, 0)),
    ("conv_3x3", "conv", True, "sky_blue", Cost(256 * 9, 16, 64 * 256 * 9, 0)),
    ("bin_dil_conv_3x3", "dil_conv", True, "green", None),
    ("max_pool_5x5", "max_pool", False, "orange", Cost()),
    ("avg_pool_5x5", "avg_pool", False, "vermillion", Cost()),
    ("identity", "skip", False, "purple", Cost()),
    ("noise", "other", False, "black", None),
])
def test_display_facts_outside_the_registry(name, family, binarized, colour, cost):
    f = display_facts(name)
    assert (f.family, f.binarized, f.colour) == (family, binarized, colour)
    assert f.cost(16, 8, 1) == cost
    with pytest.raises(ConfigError, match=f"unknown op '{name}'"):
        op_facts(name)  # building stays strict


def test_summary_refuses_an_op_without_a_cost_formula():
    with pytest.raises(Exception, match="no formula for op 'noise'"):
        op_cost("noise", 16, 8, 1)


def test_unknown_op_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match=r"^unknown op 'noise' \(known: none, skip_connect,"):
        op_facts("noise")
    with pytest.raises(ConfigError, match=r"^ops: unknown op 'sep_conv_7x7' \(known: none,"):
        SearchConfig(ops=("none", "sep_conv_7x7"))


def test_registering_checks_names_families_and_colours(monkeypatch):
    with pytest.raises(ValueError, match="already registered"):
        register_op(OpFacts("none", "none", False, "faded"))
    with pytest.raises(ValueError, match="colour"):
        register_op(OpFacts("my_op", "conv", True, "red"))
    with pytest.raises(ValueError, match="family"):
        register_op(OpFacts("my_op", "attention", True, "blue"))
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    register_op(OpFacts("my_op", "conv", True, "sky_blue", registry.dense(1, 1), kernel=1))
    assert SearchConfig(ops=("none", "my_op")).ops == ("none", "my_op")  # searchable
    assert PRIMITIVES == registry.PRIMITIVES and "my_op" not in PRIMITIVES  # not a default
    assert op_cost("my_op", 4, 2, 1) == Cost(16, 4, 64, 0)


def test_every_colour_group_has_a_colour_in_the_views():
    assert set(PALETTE) == set(COLOUR_GROUPS)
    assert len({op_colour(op) for op in PRIMITIVES}) == len(PRIMITIVES)


def test_registry_imports_without_torch():
    code = "import sys, cpnas.registry, cpnas.space, cpnas; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_simulated_op_quality_is_derived_and_keeps_its_values():
    from cpnas.simulate import _quality

    assert {op: _quality(op) for op in PRIMITIVES} == {
        "none": -0.6, "skip_connect": 0.2, "max_pool_3x3": 0.0, "avg_pool_3x3": 0.05,
        "sep_conv_3x3": 0.5, "sep_conv_5x5": 0.4, "dil_conv_3x3": 0.35, "dil_conv_5x5": 0.3}
    assert _quality("noise") == 0.1
