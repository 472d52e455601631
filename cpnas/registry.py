"""The op registry: one entry of facts per candidate operation, torch-free.

Each op is registered once here, by name, with the facts every part of the toolkit reads:

- ``family``: ``none``, ``skip``, ``max_pool``, ``avg_pool``, ``pool`` (other pools),
  ``sep_conv``, ``dil_conv``, ``conv`` or ``other``;
- ``binarized``: the child's version holds 1-bit convolutions (``skip_connect`` does not
  count: the identity at stride 1; its stride-2 factorized reduce is built 1-bit in the
  child but drawn and costed full precision, a known gap);
- ``colour``: the colour group the views draw it in, a name cpviz maps to its palette;
- ``kernel``, ``dilation``: the op's receptive field, used by its builder and its cost;
- ``weights``: conv weights and per-channel scaling factors as a function of channels and
  stride, from which :meth:`OpFacts.cost` gives parameters and multiply-accumulates.

:data:`PRIMITIVES` (the default op set, in the order run ids and events depend on) is the
built-in names in registration order. The torch builders in :mod:`cpnas.ops` register
against these names; a builder without facts is refused, and a test holds the two lists
equal. :func:`op_facts` is strict (an unknown op is a :class:`ConfigError` naming it);
:func:`display_facts` serves the views, which must also draw ops published genotypes use
outside the registry (``sep_conv_7x7``, ``noise``, ``bin_dil_conv_3x3``, ...): it derives
their facts from the name, by the one pattern table :data:`_NAME_PATTERNS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from .errors import ConfigError

# (channels, stride) -> (conv weights, per-output-channel scaling factors)
Weights = Callable[[int, int], tuple[int, int]]


class Cost(NamedTuple):
    """Parameters and multiply-accumulates, split by 1-bit and full precision (FP)."""

    binary_params: int = 0
    fp_params: int = 0
    binary_macs: int = 0
    fp_macs: int = 0

    def __add__(self, other: Cost) -> Cost:  # type: ignore[override]
        return Cost(*(a + b for a, b in zip(self, other)))


# -- the cost formulas (C channels in and out; pools, none and identity have none) -----------


def no_weights(channels: int, stride: int) -> tuple[int, int]:
    return 0, 0


def separable(kernel: int) -> Weights:
    """Depth-wise kxk + point-wise 1x1 (Fig. 4.8): C*k*k + C*C weights, C alphas per conv."""
    return lambda c, stride: (c * kernel * kernel + c * c, 2 * c)


def dense(kh: int, kw: int) -> Weights:
    """A plain kh x kw conv: C*C*kh*kw weights."""
    return lambda c, stride: (c * c * kh * kw, c)


def factorized(k1: int, k2: int) -> Weights:
    """conv_{k1}x1_1x{k2}: a k1x1 then a 1xk2 conv, C*C*(k1 + k2) weights."""
    return lambda c, stride: (c * c * (k1 + k2), 2 * c)


def skip_weights(channels: int, stride: int) -> tuple[int, int]:
    """Identity at stride 1; at stride 2 a factorized reduce, two 1x1 convs to C/2 (C*C)."""
    return (channels * channels, 0) if stride == 2 else (0, 0)


@dataclass(frozen=True)
class OpFacts:
    """What the toolkit knows about one op, apart from how torch builds it."""

    name: str
    family: str
    binarized: bool
    colour: str
    weights: Weights | None = no_weights  # None: no cost formula (a name-derived op)
    kernel: int = 0
    dilation: int = 1

    def cost(self, channels: int, out_size: int, stride: int) -> Cost | None:
        """Params and MACs on ``channels`` channels with an out_size x out_size output.

        Binarized ops store their weights in 1 bit and their scaling factors in FP; the
        others are FP throughout. ``None`` if there is no formula for this op.
        """
        if self.weights is None:
            return None
        weights, scales = self.weights(channels, stride)
        macs = out_size * out_size * weights
        if self.binarized:
            return Cost(binary_params=weights, fp_params=scales, binary_macs=macs)
        return Cost(fp_params=weights, fp_macs=macs)  # scaling factors come with binarizing


FAMILIES = ("none", "skip", "max_pool", "avg_pool", "pool", "sep_conv", "dil_conv", "conv", "other")
CONV_FAMILIES = frozenset({"sep_conv", "dil_conv", "conv"})
# Okabe & Ito's colour-blind-safe palette (cpviz holds the colours), plus grey for `none`.
COLOUR_GROUPS = ("orange", "sky_blue", "green", "yellow", "blue", "vermillion", "purple",
                 "black", "faded")

_REGISTRY: dict[str, OpFacts] = {}


def register_op(facts: OpFacts) -> OpFacts:
    """Add an op's facts; its torch builder registers in :mod:`cpnas.ops` under the same name."""
    if facts.name in _REGISTRY:
        raise ValueError(f"op {facts.name!r} is already registered")
    if facts.family not in FAMILIES or facts.colour not in COLOUR_GROUPS:
        raise ValueError(f"op {facts.name!r}: family must be one of {FAMILIES} and colour one "
                         f"of {COLOUR_GROUPS}; got {facts.family!r}, {facts.colour!r}")
    _REGISTRY[facts.name] = facts
    return facts


def op_names() -> tuple[str, ...]:
    """Every registered op, in registration order."""
    return tuple(_REGISTRY)


def op_facts(name: str) -> OpFacts:
    """The facts of a registered op; an unknown op is a ConfigError that names it."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown op {name!r} (known: {', '.join(_REGISTRY)})") from None


# The 8 DARTS ops. Each takes its own colour, so the views tell all 8 apart.
for _facts in (
    OpFacts("none", "none", False, "faded"),
    OpFacts("skip_connect", "skip", False, "purple", skip_weights),
    OpFacts("max_pool_3x3", "max_pool", False, "orange", kernel=3),
    OpFacts("avg_pool_3x3", "avg_pool", False, "vermillion", kernel=3),
    OpFacts("sep_conv_3x3", "sep_conv", True, "blue", separable(3), kernel=3),
    OpFacts("sep_conv_5x5", "sep_conv", True, "sky_blue", separable(5), kernel=5),
    OpFacts("dil_conv_3x3", "dil_conv", True, "green", separable(3), kernel=3, dilation=2),
    OpFacts("dil_conv_5x5", "dil_conv", True, "black", separable(5), kernel=5, dilation=2),
):
    register_op(_facts)

PRIMITIVES: tuple[str, ...] = op_names()

# -- facts for any name, for the views --------------------------------------------------------

# First match wins: (substring of the name, family, colour). Every conv family is binarized
# (the child binarizes every convolution in a cell).
_NAME_PATTERNS = (
    ("sep_conv", "sep_conv", "blue"),
    ("dil_conv", "dil_conv", "green"),
    ("conv", "conv", "sky_blue"),
    ("max_pool", "max_pool", "orange"),
    ("avg_pool", "avg_pool", "vermillion"),
    ("pool", "pool", "orange"),
    ("skip", "skip", "purple"),
    ("identity", "skip", "purple"),
    ("none", "none", "faded"),
)
_SEPARABLE = re.compile(r"^(sep|dil)_conv_(\d+)x(\d+)$")
_DENSE = re.compile(r"^conv_(\d+)x(\d+)$")
_FACTORIZED = re.compile(r"^conv_(\d+)x1_1x(\d+)$")


def display_facts(name: str) -> OpFacts:
    """The registered facts, or facts derived from the name for an op outside the registry.

    Derived: family and colour by :data:`_NAME_PATTERNS` (``other`` and black if none
    matches); binarized for the conv families; a cost for ``sep_conv_kxk``,
    ``dil_conv_kxk``, ``conv_kxk``, ``conv_kx1_1xk``, pools, ``identity`` and ``none``.
    """
    if name in _REGISTRY:
        return _REGISTRY[name]
    matches = ((family, colour) for sub, family, colour in _NAME_PATTERNS if sub in name)
    family, colour = next(matches, ("other", "black"))
    weights: Weights | None = None
    kernel, dilation = 0, 1
    if m := _SEPARABLE.match(name):
        weights = separable(int(m[2]))
        kernel, dilation = int(m[2]), 2 if m[1] == "dil" else 1
    elif m := _DENSE.match(name):
        weights = dense(int(m[1]), int(m[2]))
    elif m := _FACTORIZED.match(name):
        weights = factorized(int(m[1]), int(m[2]))
    elif family in ("max_pool", "avg_pool", "pool", "none") or name == "identity":
        weights = no_weights
    return OpFacts(name, family, family in CONV_FAMILIES, colour, weights, kernel, dilation)


__all__ = [
    "COLOUR_GROUPS",
    "CONV_FAMILIES",
    "Cost",
    "FAMILIES",
    "OpFacts",
    "PRIMITIVES",
    "display_facts",
    "op_facts",
    "op_names",
    "register_op",
]
