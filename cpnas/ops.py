"""The candidate operations' torch builders, one per name of the op registry (timm-style).

The facts of each op (family, binarized, colour, cost) live in :mod:`cpnas.registry`, which
is torch-free; here each registered name gets the builder for its module.

Each op is built from one description, either binarized (the child: 1-bit weights and
inputs, the sign acting as the nonlinearity, Fig. 4.8) or full precision (the parent: ReLU
before each conv). Child and parent ops therefore hold their convolutions in the same order
with the same shapes, which is what the kernel-level CP loss pairs up (Eq. 4.17).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .binary import BinaryConv2d, Conv2d, is_tiny, layout_of, tap_matrices
from .errors import ConfigError
from .registry import OpFacts, op_facts


@dataclass(frozen=True)
class OpSpec:
    """How to build ops: ``binary`` (child) or not (parent), and the measured choices."""

    binary: bool = False
    shortcut: bool = True  # Bi-Real real-valued shortcut around stride-1 conv ops
    batch_stats: bool = True  # BN always from the current batch (no running statistics)


def norm(channels: int, spec: OpSpec) -> nn.BatchNorm2d:
    # Running statistics are polluted when many single-path archs share one BN (SPOS), so
    # the search can take BN statistics from the evaluated batch instead.
    return nn.BatchNorm2d(channels, track_running_stats=not spec.batch_stats)


class ConvBN(nn.Module):
    """act -> conv -> BN; act is ReLU (parent) or the sign inside the binarized conv (child)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 spec: OpSpec, dilation: int = 1, groups: int = 1) -> None:
        super().__init__()
        conv_cls = BinaryConv2d if spec.binary else Conv2d
        self.relu = not spec.binary
        self.conv = conv_cls(c_in, c_out, kernel, stride=stride, padding=padding,
                             dilation=dilation, groups=groups, bias=False)
        self.bn = norm(c_out, spec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.relu:
            x = F.relu(x)
        return self.bn(self.conv(x))


class SepConv(nn.Module):
    """Depth-wise kxk conv, BN, 1x1 conv, BN (Fig. 4.8); dilation 2 makes it dil_conv."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, dilation: int,
                 spec: OpSpec) -> None:
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.depthwise = ConvBN(c_in, c_in, kernel, stride, pad, spec, dilation, groups=c_in)
        self.pointwise = ConvBN(c_in, c_out, 1, 1, 0, spec)
        self.shortcut = spec.shortcut and stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.pointwise(self.depthwise(x))
        return out + x if self.shortcut else out  # Bi-Real: keep a real-valued path


class Zero(nn.Module):
    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return torch.zeros_like(x)
        return torch.zeros_like(x[:, :, :: self.stride, :: self.stride])


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset stride-2 1x1 convs (DARTS)."""

    def __init__(self, c_in: int, c_out: int, spec: OpSpec) -> None:
        super().__init__()
        conv_cls = BinaryConv2d if spec.binary else Conv2d
        self.relu = not spec.binary
        self.conv_1 = conv_cls(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = conv_cls(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = norm(c_out, spec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.relu:
            x = F.relu(x)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))  # same ceil(H/2) as the other ops
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class AvgPool3x3(nn.AvgPool2d):
    """3x3 average pool, padding 1, count_include_pad=False (DARTS).

    On a tiny CPU map it is one matmul with a constant (H*W, Ho*Wo) averaging matrix, the
    same sums as ``F.avg_pool2d`` (equal up to float rounding, tested) at ~1/5 of its cost.
    """

    def __init__(self, stride: int) -> None:
        super().__init__(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        if not is_tiny(x):
            return super().forward(x)
        mean = _mean_matrix(h, w, self.stride, x.device, x.dtype)
        out = (x.reshape(n * c, h * w) @ mean).reshape(n, c, (h - 1) // self.stride + 1, -1)
        return out.contiguous(memory_format=layout_of(x))


@functools.lru_cache(maxsize=32)
def _mean_matrix(h: int, w: int, stride: int, device: torch.device,
                 dtype: torch.dtype) -> torch.Tensor:
    taps = tap_matrices(h, w, 3, stride, 1, 1, device, dtype).sum(0)
    return taps / taps.sum(0, keepdim=True)  # each output over its in-map taps only


# name -> builder(channels, stride, spec), one per registered op (cpnas.registry holds the facts)
Builder = Callable[[int, int, OpSpec], nn.Module]
OPS: dict[str, Builder] = {}


def register_builder(*names: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register ``build(facts, channels, stride, spec)`` for ops whose facts are registered."""

    def register(build: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        for name in names:
            facts = op_facts(name)  # a builder needs its facts first
            if name in OPS:
                raise ValueError(f"op {name!r} already has a builder")
            OPS[name] = functools.partial(build, facts)
        return build

    return register


@register_builder("none")
def _zero(facts: OpFacts, c: int, stride: int, spec: OpSpec) -> nn.Module:
    return Zero(stride)


@register_builder("skip_connect")
def _skip(facts: OpFacts, c: int, stride: int, spec: OpSpec) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(c, c, spec)


@register_builder("max_pool_3x3")
def _max_pool(facts: OpFacts, c: int, stride: int, spec: OpSpec) -> nn.Module:
    return nn.MaxPool2d(facts.kernel, stride=stride, padding=facts.kernel // 2)


@register_builder("avg_pool_3x3")
def _avg_pool(facts: OpFacts, c: int, stride: int, spec: OpSpec) -> nn.Module:
    return AvgPool3x3(stride)


@register_builder("sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
def _separable(facts: OpFacts, c: int, stride: int, spec: OpSpec) -> nn.Module:
    return SepConv(c, c, facts.kernel, stride, facts.dilation, spec)


def build_op(name: str, channels: int, stride: int, spec: OpSpec) -> nn.Module:
    """Build a registered op; an unknown op, or one without a builder, is a ConfigError."""
    op_facts(name)
    if name not in OPS:
        raise ConfigError(f"op {name!r} has facts but no builder (register one in cpnas.ops)")
    return OPS[name](channels, stride, spec)


def convs(module: nn.Module) -> list[nn.Conv2d]:
    """The convolutions of a module in definition order (child and parent line up)."""
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]
