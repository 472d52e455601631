"""cpviz: the views of a CP-NAS search.

Every view is a function of a :class:`SearchState` (folded from the event stream by the
pure :func:`reduce`) or of a genotype. Each has a data step that needs no plotly and a
renderer that returns a figure (plotly ``go.Figure``) or a diagram (``graphviz.Digraph``);
views never display anything themselves.
"""

from .animate import animate_cells
from .cell import cell_graph, cell_pair, genotype_cell_data, state_cell_data
from .curves import accuracy_curves, curves_data, op_gap_chart, op_gap_data
from .export import export_cell, graphviz_backend, render_bytes, to_png
from .heatmap import heatmap_data, indicator_heatmap
from .report import write_report
from .state import SearchState, as_state, reduce, replay, round_scores
from .study import (
    beta_chart,
    comparison_table,
    difference_chart,
    strategy_chart,
    study_data,
    write_study_html,
)
from .summary import edge_table, model_summary
from .timeline import pruning_timeline, timeline_data


def __getattr__(name: str):
    # The live Dashboard pulls in ipywidgets; import it only when it is asked for.
    if name == "Dashboard":
        from .dashboard import Dashboard

        return Dashboard
    raise AttributeError(f"module 'cpviz' has no attribute {name!r}")


__all__ = [
    "Dashboard",
    "SearchState",
    "accuracy_curves",
    "animate_cells",
    "beta_chart",
    "as_state",
    "cell_graph",
    "cell_pair",
    "comparison_table",
    "curves_data",
    "difference_chart",
    "edge_table",
    "export_cell",
    "genotype_cell_data",
    "graphviz_backend",
    "heatmap_data",
    "indicator_heatmap",
    "model_summary",
    "op_gap_chart",
    "op_gap_data",
    "pruning_timeline",
    "reduce",
    "render_bytes",
    "replay",
    "round_scores",
    "state_cell_data",
    "strategy_chart",
    "study_data",
    "timeline_data",
    "to_png",
    "write_report",
    "write_study_html",
]
