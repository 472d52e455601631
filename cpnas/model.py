"""DARTS-cell networks: the weight-sharing child and parent supernets, and fixed networks.

A supernet holds every candidate op on every edge but runs exactly one op per edge for a
sampled architecture (single path, docs/method.md "Weight sharing, single path"). A fixed network holds the
edges of one genotype. Both are built from the same :class:`Cell`, so the child (1-bit),
the parent (full precision) and the final networks share one definition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

import torch
from torch import nn

from .genotype import Genotype
from .ops import ConvBN, FactorizedReduce, OpSpec, build_op
from .shape import cell_layout, cell_widths
from .space import SearchSpace, edge_id


class Cell(nn.Module):
    """One DARTS cell; ``candidates`` maps (src, dst) -> the op names held on that edge."""

    def __init__(self, kind: str, c_pp: int, c_p: int, c: int, reduction_prev: bool,
                 candidates: Mapping[tuple[int, int], Iterable[str]], nodes: int,
                 spec: OpSpec, pre_spec: OpSpec, concat: Iterable[int] | None = None) -> None:
        super().__init__()
        self.kind, self.nodes, self.channels = kind, nodes, c
        self.drop_prob = 0.0  # drop-path probability (final training only, DARTS)
        self.reduction = kind == "reduce"
        self.concat = list(concat) if concat is not None else list(range(2, nodes + 2))
        self.pre0 = (FactorizedReduce(c_pp, c, pre_spec) if reduction_prev
                     else ConvBN(c_pp, c, 1, 1, 0, pre_spec))
        self.pre1 = ConvBN(c_p, c, 1, 1, 0, pre_spec)
        self.edges = nn.ModuleDict()
        for (src, dst), names in candidates.items():
            stride = 2 if self.reduction and src < 2 else 1
            self.edges[f"{src}_{dst}"] = nn.ModuleDict(
                {name: build_op(name, c, stride, spec) for name in names})

    def forward(self, s0: torch.Tensor, s1: torch.Tensor,
                chosen: Iterable[tuple[int, int, str]]) -> torch.Tensor:
        """``chosen`` lists (src, dst, op) to run; a ``none`` op contributes nothing."""
        states = [self.pre0(s0), self.pre1(s1)]
        by_dst: dict[int, list[tuple[int, str]]] = {}
        for src, dst, op in chosen:
            if op != "none":
                by_dst.setdefault(dst, []).append((src, op))
        n, _, h, w = states[1].shape
        if self.reduction:
            h, w = (h + 1) // 2, (w + 1) // 2
        for dst in range(2, self.nodes + 2):
            ins = by_dst.get(dst, [])
            if not ins:  # every input of this node is `none`
                states.append(states[1].new_zeros(n, self.channels, h, w))
                continue
            out = self._edge(ins[0][0], dst, ins[0][1], states)
            for src, op in ins[1:]:
                out = out + self._edge(src, dst, op, states)
            states.append(out)
        return torch.cat([states[i] for i in self.concat], dim=1)


    def _edge(self, src: int, dst: int, op: str, states: list[torch.Tensor]) -> torch.Tensor:
        module = self.edges[f"{src}_{dst}"][op]
        out = module(states[src])
        if self.drop_prob and self.training and not isinstance(module, nn.Identity):
            out = drop_path(out, self.drop_prob)  # DARTS: every op but the identity
        return out


def drop_path(x: torch.Tensor, prob: float) -> torch.Tensor:
    """Zero whole samples with probability ``prob`` and scale the rest by 1/(1-prob)."""
    keep = 1.0 - prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x * mask / keep


class _Net(nn.Module):
    """Stem -> cells -> global pool -> classifier; stem and classifier are full precision.

    ``distinct_inputs`` makes the stem twice as wide and splits its output in two halves,
    c_{k-2} and c_{k-1} of the first cell, instead of feeding it one tensor twice: the
    first cell's edges ``0->j`` and ``1->j`` are then different edges, at the cost of a few
    stem filters and no extra depth (docs/method.md "Signal").
    """

    def __init__(self, in_channels: int, num_classes: int, channels: int, layout: list[str],
                 stem_multiplier: int = 3, distinct_inputs: bool = False) -> None:
        super().__init__()
        c_stem = stem_multiplier * channels
        width = 2 * c_stem if distinct_inputs else c_stem
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(width))
        self.distinct_inputs = distinct_inputs
        self.layout = layout
        self.cells = nn.ModuleList()
        self.c_pp, self.c_p, self.c = c_stem, c_stem, channels

    def _add(self, cell: Cell) -> None:
        self.cells.append(cell)

    def inputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The first cell's two inputs, from the stem."""
        s = self.stem(x)
        if x.device.type == "cpu":
            # NHWC after the stem (a 1-channel input is NCHW and NHWC at once, so converting
            # the input did not reach the cells): 1x1 convs are then plain matmuls on a view
            # and max pooling takes mkldnn's fast NHWC path (measured, docs/benchmarks.md).
            s = s.contiguous(memory_format=torch.channels_last)
        return _halves(s) if self.distinct_inputs else (s, s)

    def _features(self, x: torch.Tensor, plan: list[list[tuple[int, int, str]]],
                  tap: Callable[[int, torch.Tensor], None] | None = None) -> torch.Tensor:
        """The pooled last feature map; ``tap(i, out)`` sees each cell's output."""
        s0, s1 = self.inputs(x)
        for i, (cell, chosen) in enumerate(zip(self.cells, plan)):
            s0, s1 = s1, cell(s0, s1, chosen)
            if tap is not None:
                tap(i, s1)
        return s1.mean(dim=(2, 3))  # the last feature map, pooled (center loss input)


class SuperNet(_Net):
    """Every candidate op on every edge; ``forward(x, arch)`` runs one op per edge."""

    def __init__(self, space: SearchSpace, in_channels: int, num_classes: int, channels: int,
                 cells: int, spec: OpSpec, fp_preprocess: bool = True,
                 distinct_inputs: bool = False) -> None:
        layout = cell_layout(cells)
        super().__init__(in_channels, num_classes, channels, layout, distinct_inputs=distinct_inputs)
        self.space = space
        pre_spec = replace(spec, binary=False) if fp_preprocess else spec
        n = space.nodes
        cand = {(src, dst): space.ops for dst in range(2, n + 2) for src in range(dst)}
        c_last = channels
        for kind, c_pp, c_p, c, red_prev in cell_widths(layout, channels, 3 * channels, [n] * cells):
            self._add(Cell(kind, c_pp, c_p, c, red_prev, cand, n, spec, pre_spec))
            c_last = n * c
        self.classifier = nn.Linear(c_last, num_classes)
        self.feature_dim = c_last

    def plan(self, arch: Mapping[str, str]) -> list[list[tuple[int, int, str]]]:
        n = self.space.nodes
        return [[(src, dst, arch[edge_id(kind, src, dst)])
                 for dst in range(2, n + 2) for src in range(dst)] for kind in self.layout]

    def forward(self, x: torch.Tensor, arch: Mapping[str, str]) -> tuple[torch.Tensor, torch.Tensor]:
        feats = self._features(x, self.plan(arch))
        return self.classifier(feats), feats


class FixedNet(_Net):
    """The network of one genotype, trained from scratch (``cpnas train``)."""

    def __init__(self, genotype: Genotype, in_channels: int, num_classes: int, channels: int,
                 cells: int, spec: OpSpec, fp_preprocess: bool = True,
                 auxiliary: bool = False, distinct_inputs: bool = False) -> None:
        layout = cell_layout(cells)
        super().__init__(in_channels, num_classes, channels, layout, distinct_inputs=distinct_inputs)
        pre_spec = replace(spec, binary=False) if fp_preprocess else spec
        # DARTS' auxiliary head sits after the cell at 2/3 of the depth (the second reduction)
        self.aux_at = 2 * cells // 3 if auxiliary and cells >= 3 else None
        self.plans: list[list[tuple[int, int, str]]] = []
        outs = [len(getattr(genotype, f"{k}_concat")) for k in layout]
        c_last = channels
        for (kind, c_pp, c_p, c, red_prev), n_out in zip(
                cell_widths(layout, channels, 3 * channels, outs), outs):
            chosen = [(src, dst, op) for op, src, dst in genotype.edges(kind)]
            cand: dict[tuple[int, int], list[str]] = {}
            for src, dst, op in chosen:
                if op != "none":
                    cand.setdefault((src, dst), []).append(op)
            nodes = len(genotype.arity(kind))
            self._add(Cell(kind, c_pp, c_p, c, red_prev, cand, nodes, spec, pre_spec,
                           concat=getattr(genotype, f"{kind}_concat")))
            self.plans.append(chosen)
            c_last = n_out * c
            if len(self.plans) - 1 == self.aux_at:
                self.aux_head = AuxiliaryHead(c_last, num_classes)
        self.classifier = nn.Linear(c_last, num_classes)

    def forward(self, x: torch.Tensor, features: bool = False):
        """Logits; in training with an auxiliary head, (logits, auxiliary logits); with
        ``features`` (no auxiliary head) also the pooled last feature map (the center loss input)."""
        if self.aux_at is None or not self.training:
            feats = self._features(x, self.plans)
            return (self.classifier(feats), feats) if features else self.classifier(feats)
        aux: list[torch.Tensor] = []
        feats = self._features(x, self.plans,
                               lambda i, out: aux.append(self.aux_head(out)) if i == self.aux_at else None)
        return self.classifier(feats), aux[0]

    def set_drop_path(self, prob: float) -> None:
        for cell in self.cells:
            cell.drop_prob = prob


class AuxiliaryHead(nn.Module):
    """DARTS' CIFAR auxiliary classifier, full precision; the 5x5/3 average pool is adaptive
    (to 2x2) so that any image size works (on 32x32 inputs it sees 8x8 maps, as DARTS)."""

    def __init__(self, c: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128), nn.ReLU(), nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768), nn.ReLU())
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


def _halves(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The stem's two halves, each in the stem's memory format (a channel slice is strided)."""
    fmt = torch.channels_last if s.is_contiguous(memory_format=torch.channels_last) and s.dim() == 4 \
        else torch.contiguous_format
    a, b = s.chunk(2, dim=1)
    return a.contiguous(memory_format=fmt), b.contiguous(memory_format=fmt)
