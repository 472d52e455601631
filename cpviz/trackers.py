"""The views the experiment trackers show (``cpnas.tracker_views`` entry points).

cpnas's TensorBoard and MLflow loggers (:mod:`cpnas.trackers`) log numbers with torch and
the trackers' clients alone; the pictures need Graphviz, so cpviz lends them:

- ``cells``: :func:`cell_images`, the events so far -> the normal and reduction cell
  diagrams as PNG bytes (the search state: the ops alive on each edge; at the end the
  survivors);
- ``report``: :func:`report_html`, a run directory -> its ``report.html``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .export import render_bytes


def cell_images(events: list[Any], cells: tuple[str, ...] = ("normal", "reduce"),
                dpi: int = 96) -> dict[str, bytes]:
    """PNG bytes of each cell's diagram for the state the events reach."""
    from .cell import cell_graph
    from .state import as_state

    state = as_state(events)
    out = {}
    for cell in cells:
        graph = cell_graph(state, cell)
        graph.attr(dpi=str(dpi))
        out[cell] = render_bytes(graph, "png", in_process=True)
    return out


def report_html(run_dir: str | os.PathLike) -> Path:
    """Write (or rewrite) the run's report.html and return its path."""
    from .report import write_report

    return write_report(Path(run_dir))


__all__ = ["cell_images", "report_html"]
