"""Summaries as pandas tables: the per-edge outcome of a search, and a 1-bit model summary.

:func:`model_summary` is computed analytically from the genotype; cpviz never builds or
reads a model. The network is the DARTS evaluation network with docs/method.md's 1-bit child:

- stem: 3x3 conv, 3 -> stem_multiplier*C channels, full precision (FP);
- ``cells`` cells laid out as the engine builds them (:func:`cpnas.shape.cell_layout`:
  reduction cells at 1/3 and 2/3 of the depth, and normal + reduce for 2 cells); a
  reduction cell doubles C and halves the resolution (its ops on the two inputs have
  stride 2);
- each cell first maps its two inputs to C channels with 1x1 convs (a factorized reduce,
  two 1x1 convs to C/2 each, after a reduction cell); FP unless ``binary_preprocess``;
- ops on C channels at output resolution H (a stride-2 op outputs H/2), each op's cost from
  the op registry (:mod:`cpnas.registry`; ops outside it by their name's pattern):
  sep_conv_kxk and dil_conv_kxk = depth-wise kxk + point-wise 1x1 (Fig. 4.8):
  params C*k*k + C*C, MACs H*H*(C*k*k + C*C); conv_kxk: C*C*k*k; conv_kx1_1xk: 2*C*C*k;
  skip_connect with stride 2 = factorized reduce: C*C params (FP); pools, identity and
  none: no params and no MACs (pooling has no multiplies);
- the cell outputs len(concat)*C channels; the classifier is global pooling + a FP linear
  layer (C_last*classes + classes params, C_last*classes MACs).

Binary ops (every conv inside a cell: the registry's ``binarized`` fact) store 1 bit per
weight plus one FP scaling factor alpha per output channel. Memory = (binary params * 1 +
FP params * 32) / 1e6 Mbits. FLOPs = FP MACs + binary MACs / 64 (the Bi-Real Net / XNOR
convention: 64 binary ops per 64-bit popcount). BN parameters are not counted.
"""

from __future__ import annotations

import math
from typing import Any

from cpnas import scoring
from cpnas.errors import CpnasError
from cpnas.genotype import Genotype
from cpnas.registry import Cost, display_facts
from cpnas.resolve import resolve
from cpnas.shape import cell_layout, cell_widths
from cpnas.space import parse_edge_id

from ._imports import try_import
from .cell import edge_label
from .state import as_state, round_scores

# -- edge table ------------------------------------------------------------------------------


def edge_table(state: Any) -> Any:
    """One row per edge: its name on screen, survivor, its ev, the current leader, and the
    round each op fell in.

    Indexed by edge id (the events'); ``name`` is the edge as every view shows it
    (:func:`cpviz.cell.edge_label`). The op columns hold the round the op was pruned in,
    counted from 1 as on screen (the heatmap's r1, r2, ...), <NA> while it is alive.
    """
    pd = try_import("pandas", "the edge table")
    state = as_state(state)
    if not state.edges:
        raise CpnasError("the search state has no search space yet (no SearchStarted event)")
    current = round_scores(state).ev if state.round >= 0 else {}
    alive_ops = {edge: state.alive.get(edge, state.ops) for edge in state.edges}
    leaders = scoring.leaders(current, alive_ops)
    survivors = state.survivors()
    rows = []
    for edge in state.edges:
        cell, src, dst = parse_edge_id(edge)
        alive, evs, leader = alive_ops[edge], current.get(edge, {}), leaders.get(edge)
        info = state.genotype_edges.get(edge, {})
        row = {"edge": edge, "name": edge_label(edge), "cell": cell, "src": src, "dst": dst,
               "survivor": survivors.get(edge), "ev": float(info.get("ev", evs.get(survivors.get(edge), math.nan))),
               "leader": leader, "alive": len(alive), "selected": info.get("selected")}
        row.update({op: _from_one(state.pruned_round(edge, op)) for op in state.ops})
        rows.append(row)
    df = pd.DataFrame(rows).set_index("edge")
    for op in state.ops:
        df[op] = df[op].astype("Int64")
    return df


def _from_one(round: int | None) -> int | None:
    return None if round is None else round + 1


# -- model summary ---------------------------------------------------------------------------

def op_cost(op: str, channels: int, out_size: int, stride: int) -> Cost:
    """Params and MACs of one op on ``channels`` channels with an out_size x out_size output."""
    cost = display_facts(op).cost(channels, out_size, stride)
    if cost is None:
        raise CpnasError(f"model_summary has no formula for op {op!r} (known: sep/dil_conv_kxk, "
                         "conv_kxk, conv_kx1_1xk, pools, skip_connect, none)")
    return cost


def _preprocess_cost(c_in: int, c_out: int, out_size: int, binary: bool) -> Cost:
    weights, macs = c_in * c_out, out_size * out_size * c_in * c_out
    if binary:
        return Cost(binary_params=weights, fp_params=c_out, binary_macs=macs)
    return Cost(fp_params=weights, fp_macs=macs)


def _cell_cost(genotype: Genotype, cell: str, c: int, size_in: int, binary_preprocess: bool,
               c_pp: int, c_p: int) -> Cost:
    stride_in = 2 if cell == "reduce" else 1
    out = size_in // stride_in
    # After a reduction cell, pp0 is a factorized reduce (two 1x1 convs to C/2 each): the same
    # c_pp*c weights and, at its output size size_in, the same MACs as a plain 1x1 conv.
    cost = _preprocess_cost(c_pp, c, size_in, binary_preprocess)
    cost += _preprocess_cost(c_p, c, size_in, binary_preprocess)
    for op, src, _dst in genotype.edges(cell):
        stride = stride_in if src < 2 else 1
        cost += op_cost(op, c, out, stride)
    return cost


def model_summary(
    genotype: Genotype | str,
    channels: int = 16,
    cells: int = 8,
    *,
    classes: int = 10,
    input_size: int = 32,
    input_channels: int = 3,
    stem_multiplier: int = 3,
    binary_preprocess: bool = False,
    distinct_inputs: bool = False,
) -> Any:
    """Per-layer params, binary and FP MACs, FLOPs and memory of the 1-bit network.

    ``distinct_inputs`` prices the engine's switch of that name: a stem twice as wide whose
    two halves are the first cell's two inputs (docs/method.md).

    Returns a DataFrame with rows stem, cell 0..cells-1 and classifier plus a ``total`` row;
    the formulas are in this module's docstring and in ``df.attrs["formulas"]``.
    """
    pd = try_import("pandas", "the model summary")
    geno = resolve(genotype).require()
    for name, value in (("channels", channels), ("cells", cells), ("classes", classes), ("input_size", input_size)):
        if not isinstance(value, int) or value < 1:
            raise CpnasError(f"model_summary: {name} must be a positive integer, got {value!r}")
    rows = []
    size = input_size
    c_stem = stem_multiplier * channels
    width = 2 * c_stem if distinct_inputs else c_stem
    rows.append(_row("stem", "stem", width, size, Cost(
        fp_params=input_channels * width * 9, fp_macs=size * size * input_channels * width * 9)))
    layout = cell_layout(cells)  # the engine's layout and widths, not a copy
    outs = [len(getattr(geno, f"{kind}_concat")) for kind in layout]
    c_p = c_stem
    for i, w in enumerate(cell_widths(layout, channels, c_stem, outs)):
        size_in = size
        cost = _cell_cost(geno, w.kind, w.c, size_in, binary_preprocess, w.c_pp, w.c_p)
        if w.kind == "reduce":
            size //= 2
        rows.append(_row(f"cell {i}", w.kind, w.c, size, cost))
        c_p = outs[i] * w.c
    rows.append(_row("classifier", "linear", classes, 1,
                     Cost(fp_params=c_p * classes + classes, fp_macs=c_p * classes)))
    total = sum((Cost(*(r[f] for f in Cost._fields)) for r in rows), Cost())
    rows.append(_row("total", "", None, None, total))
    df = pd.DataFrame(rows).set_index("layer")
    df = df.astype({"channels": "Int64", "resolution": "Int64"})
    df.attrs["formulas"] = __doc__
    df.attrs["fp32_mbits"] = 32 * (total.binary_params + total.fp_params) / 1e6
    return df


def _row(layer: str, kind: str, channels: int | None, resolution: int | None, cost: Cost) -> dict:
    return {
        "layer": layer, "kind": kind, "channels": channels, "resolution": resolution,
        **cost._asdict(),
        "params": cost.binary_params + cost.fp_params,
        "flops": cost.fp_macs + cost.binary_macs / 64,  # Bi-Real convention
        "memory_mbits": (cost.binary_params + 32 * cost.fp_params) / 1e6,
    }


__all__ = ["Cost", "edge_table", "model_summary", "op_cost"]
