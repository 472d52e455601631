"""Plotly figures in ipywidgets, without ``go.FigureWidget``.

plotly 7's ``FigureWidget`` is an anywidget: its front end must load and start plotly.js
(~4.8 MB) within anywidget's fixed 2 s, or the widget's model is dead ("[anywidget] Failed
to initialize model.") and the figure never renders. On a busy machine (a laptop whose
kernel runs a search) that limit is missed. A :class:`FigureOutput` shows a ``go.Figure``
in an ``ipywidgets.Output`` as plotly's mime type instead; JupyterLab renders it with the
``jupyterlab-plotly`` extension that ships with plotly, which loads plotly.js once per page
with no time limit. See ``docs/dashboard.md`` ("Rendering").
"""

from __future__ import annotations

import json
from typing import Any

MIME = "application/vnd.plotly.v1+json"


def mime_bundle(fig: Any, name: str = "figure") -> dict[str, Any]:
    """``fig`` as a display bundle: plotly's mime type, and a line of text for front ends
    without plotly's renderer (nbconvert, a terminal)."""
    import plotly.io as pio

    spec = json.loads(pio.to_json(fig, validate=False, remove_uids=True))
    spec["config"] = {"displaylogo": False}
    return {MIME: spec, "text/plain": f"<plotly {name}>"}


class FigureOutput:
    """One plotly view as a widget: :attr:`figure` is the ``go.Figure`` shown (the data model:
    read it, not the widget); :attr:`widget` is the ``ipywidgets.Output`` that shows it.

    ``width`` (px), when given, overrides the figure's width: the mime renderer draws at the
    figure's size, so the caller sizes it to its panel.
    """

    def __init__(self, name: str = "figure", width: int | None = None) -> None:
        import ipywidgets as w
        import plotly.graph_objects as go

        self.name, self.width = name, width
        self.figure = go.Figure()
        self.widget = w.Output()

    def show(self, fig: Any) -> None:
        """Show ``fig`` in place of the previous figure: one state message to the front end,
        which swaps the outputs in one step. The widget keeps the figure's height as its
        minimum, so the page does not jump while plotly draws the new one."""
        if self.width is not None:
            fig.layout.width = self.width
        if fig.layout.height is not None:
            self.widget.layout.min_height = f"{int(fig.layout.height)}px"  # sent only on change
        self.figure = fig
        self.widget.outputs = ({"output_type": "display_data", "metadata": {},
                                "data": mime_bundle(fig, self.name)},)
