"""One standalone report.html for a run: it opens offline, with no network.

It holds the indicator heatmap with its round slider, the pruning timeline, the accuracy
curves and the per-op gap, the cell diagrams as inline SVG, and the summary tables.
plotly.js is embedded once, inline; nothing is fetched.
"""

from __future__ import annotations

import html
import json
import os
import re
from numbers import Integral
from pathlib import Path
from typing import Any

from cpnas import scoring
from cpnas.errors import CpnasError
from cpnas.genotype import Genotype, parse_genotype
from cpnas.resolve import resolve

from ._imports import try_import
from .export import atomic_write_bytes, ensure_dir, render_bytes
from .state import SearchState, state_of

PAGE_CSS = """
body { font-family: Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
pre { background: #f6f6f6; padding: 8px; white-space: pre-wrap; word-break: break-all; }
table.dataframe { border-collapse: collapse; font-size: 0.8em; }
table.dataframe td, table.dataframe th { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
.cell-diagram svg { max-width: 100%; height: auto; }
.meta td { padding: 2px 12px 2px 0; }
.table-wrap { max-width: 100%; overflow-x: auto; }
ol.prunes { padding-left: 1.5em; } ol.prunes li { margin: 2px 0; }
"""


def write_report(source: Any, out_path: str | os.PathLike | None = None) -> Path:
    """Write the report of a run (its directory, event log or events, or a SearchState) and
    return its path (default: ``<run dir>/report.html``)."""
    resolved = None if isinstance(source, SearchState) else resolve(source)
    state = source if resolved is None else state_of(resolved)
    if not state.edges:
        raise CpnasError("the run has no SearchStarted event: nothing to report")
    if out_path is None:
        if resolved is None or resolved.run_dir is None:
            raise CpnasError("out_path is needed when the source is not a run directory")
        out_path = resolved.run_dir / "report.html"
    out = Path(out_path)
    genotype = parse_genotype(state.genotype) if state.genotype else resolved and resolved.genotype
    page = report_html(state, genotype)
    ensure_dir(out.parent)
    atomic_write_bytes(out, page.encode("utf-8"))
    return out


def report_html(state: SearchState, genotype: Genotype | None = None) -> str:
    """The page as one string (see :func:`write_report`)."""
    pio = try_import("plotly.io", "the report")
    from .cell import cell_graph, cell_pair
    from .curves import accuracy_curves, op_gap_chart
    from .heatmap import indicator_heatmap
    from .summary import edge_table, model_summary
    from .timeline import pruning_timeline

    figures = [
        ("heatmap", "Indicator heatmap (Eq. 4.16: ev = softmax of zbar over the alive ops)",
         indicator_heatmap(state)),
        ("timeline", "Pruning timeline", pruning_timeline(state)),
        ("curves", "Child and parent accuracy per sampled architecture", accuracy_curves(state)),
        ("op-gap", "Which ops binarize worst: mean parent - child gap", op_gap_chart(state)),
    ]
    parts = [_header(state), _prunes_block(state)]
    if genotype is not None:
        parts.append("<h2>Searched cells</h2>")
        parts.append(f"<pre>{html.escape(str(genotype))}</pre>")
        parts.append(svg_block("genotype-cells", cell_pair(genotype)))
    parts.append("<h2>The search, edge by edge</h2>")
    for cell in state.cell_types:
        parts.append(f"<h3>{html.escape(cell)} cell</h3>")
        parts.append(svg_block(f"state-{cell}", cell_graph(state, cell)))
    for i, (div_id, title, fig) in enumerate(figures):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0), div_id=div_id,
                                 include_mathjax=False, auto_play=False, config={"displaylogo": False, "responsive": True}))
    parts.append("<h2>Edges</h2>")
    parts.append(_edges_block(edge_table(state), state.ops))
    if genotype is not None:
        parts.append(_model_block(state, genotype, model_summary))
    title = f"CP-NAS report {html.escape(state.run_id)}"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{PAGE_CSS}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


def _header(state: SearchState) -> str:
    done = len(state.samples)
    child, parent = scoring.last_round_accuracy(state.samples)
    acc = ("-" if child is None else
           f"child (1-bit) {child:.4f} · parent (full precision) {parent:.4f} "
           f"(mean over round {state.samples[-1].round + 1}'s samples)")
    beta = state.config.get("beta")
    rows = [("run", state.run_id), ("status", state.status),
            ("beta_P", "-" if beta is None else f"{float(beta):g}"),
            ("validation accuracy, last round", acc),
            ("rounds", f"{max(state.round + 1, 0)} of {state.n_rounds}"),
            ("sampled architectures", f"{done} of {state.total_samples}"),
            ("ops", ", ".join(state.ops)), ("nodes", state.nodes),
            ("dataset", state.dataset.get("name", "")), ("device", state.device),
            ("wall seconds", f"{state.elapsed:.1f}")]
    if state.error:
        rows.append(("error", state.error))
    table = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    config = html.escape(json.dumps(dict(state.config), indent=1, sort_keys=True, default=str))
    return (f"<h1>CP-NAS search report</h1><table class=\"meta\">{table}</table>"
            f"<details><summary>config</summary><pre>{config}</pre></details>")


def _prunes_block(state: SearchState) -> str:
    """What each round pruned, in words (:func:`cpnas.scoring.prune_line`)."""
    lines = state.prune_lines()
    if not lines:
        return ""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return f'<h2>What each round pruned</h2><ol class="prunes" id="prunes">{items}</ol>'


def _edges_block(df: Any, ops: tuple[str, ...]) -> str:
    """The edge table as the page shows it: edges by their screen name, the op columns by
    their short names (the key below), inside the page column (it scrolls if it must)."""
    from .cell import short_op

    shown = df.set_index("name").drop(columns=["cell", "src", "dst"])
    shown.index.name = "edge"
    for op in ops:  # the heatmap's marks: r1 = pruned in the first round
        shown[op] = [f"r{v}" if isinstance(v, Integral) else "" for v in shown[op].tolist()]
    shown = shown.rename(columns={**{op: short_op(op) for op in ops}, "selected": "in genotype"})
    key = ", ".join(f"{short_op(op)} = {op}" for op in ops if short_op(op) != op)
    note = ("The op columns: the round each op was pruned in (r1 = the first, as in the heatmap); "
            "empty while it is alive." + (f" {key}." if key else ""))
    table = shown.to_html(na_rep="", float_format=lambda x: f"{x:.4f}")
    return f'<p>{html.escape(note)}</p><div class="table-wrap" id="edges">{table}</div>'


def svg_block(div_id: str, graph: Any) -> str:
    """A diagram as inline SVG with its focus mode (:func:`cpviz.focus.focus_html`: hover or
    click a node to see its edges, their labels listed legibly beside it)."""
    from .focus import focus_html

    svg = render_bytes(graph, "svg").decode("utf-8")
    svg = re.sub(r"^.*?(?=<svg)", "", svg, count=1, flags=re.S)  # drop the XML prolog and doctype
    return f'<div class="cell-diagram" id="{div_id}">{focus_html(svg)}</div>'


def _model_block(state: SearchState, genotype: Genotype, model_summary: Any) -> str:
    channels = int(state.config.get("channels", 16) or 16)
    cells = int(state.config.get("cells", 8) or 8)
    binary_pre = not state.config.get("fp_preprocess", True)  # the engine's switch (docs/method.md)
    shape = state.dataset.get("shape") or [3, 32, 32]  # (channels, height, width) of an input
    classes = int(state.dataset.get("classes", 10) or 10)
    try:
        df = model_summary(genotype, channels=channels, cells=cells, classes=classes,
                           input_size=int(shape[-1]), input_channels=int(shape[0]),
                           binary_preprocess=binary_pre,
                           distinct_inputs=bool(state.config.get("distinct_inputs", False)))
    except (CpnasError, TypeError, ValueError, IndexError) as exc:  # say why, keep the report
        return f"<h2>1-bit model summary</h2><p>{html.escape(str(exc))}</p>"
    note = (f"C = {channels}, {cells} cells, input {'x'.join(map(str, shape))}, {classes} classes, "
            f"1x1 preprocessing {'1-bit' if binary_pre else 'FP'}; binary params cost 1 bit, "
            "FP params 32 bits; FLOPs = FP MACs + binary MACs / 64.")
    return f"<h2>1-bit model summary</h2><p>{html.escape(note)}</p>" + df.to_html(na_rep="")


__all__ = ["report_html", "write_report"]
