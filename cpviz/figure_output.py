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

import functools
import json
from typing import Any

MIME = "application/vnd.plotly.v1+json"


def mime_bundle(fig: Any, name: str = "figure") -> dict[str, Any]:
    """``fig`` (a ``go.Figure``, or a plain spec dict such as :func:`cpviz.heatmap.heatmap_spec`
    returns) as a display bundle: plotly's mime type, and a line of text for front ends
    without plotly's renderer (nbconvert, a terminal).

    A spec dict skips plotly.py's validation, which costs tens of milliseconds for a heatmap
    with its marks: the live dashboard redraws from specs. It gets the default template, as
    ``go.Figure`` would give it; tests check that both routes send the same JSON."""
    import plotly.io as pio

    if isinstance(fig, dict):
        layout = fig.get("layout", {})
        if "template" not in layout:
            layout = {**layout, "template": default_template()}
        text = pio.json.to_json_plotly({**fig, "layout": layout})  # NaN -> null, as plotly does
    else:
        text = pio.to_json(fig, validate=False, remove_uids=True)
    spec = json.loads(text)
    # responsive: a figure without a width of its own follows its output's width on resize
    spec["config"] = {"displaylogo": False, "responsive": True}
    return {MIME: spec, "text/plain": f"<plotly {name}>"}


def default_template() -> Any:
    """The layout template ``go.Figure`` gives a new figure (``plotly.io.templates.default``),
    as plain data; computed once per template name."""
    import plotly.io as pio

    return _template(str(pio.templates.default))


@functools.cache
def _template(name: str) -> Any:
    import plotly.graph_objects as go

    return go.Figure().layout.template.to_plotly_json()


class FigureOutput:
    """One plotly view as a widget: :attr:`widget` is the ``ipywidgets.Output`` that shows it;
    :attr:`figure` is the figure shown as a ``go.Figure`` (the data model: read it, not the
    widget), built from the spec only when read.

    ``width`` (px), when given, overrides the figure's width: the mime renderer draws at the
    figure's size, so the caller sizes it to its panel.
    """

    def __init__(self, name: str = "figure", width: int | None = None) -> None:
        import ipywidgets as w

        self.name, self.width = name, width
        self.spec: dict[str, Any] = {"data": [], "layout": {}}
        self._figure: Any = None
        self.widget = w.Output()

    @property
    def figure(self) -> Any:
        if self._figure is None:
            import plotly.graph_objects as go

            self._figure = go.Figure(self.spec)
        return self._figure

    def show(self, fig: Any) -> None:
        """Show ``fig`` (a spec dict or a ``go.Figure``) in place of the previous figure: one
        state message to the front end, which swaps the outputs in one step. The widget keeps
        the figure's height as its minimum, so the page does not jump while plotly draws."""
        spec = fig if isinstance(fig, dict) else fig.to_plotly_json()
        layout = dict(spec.get("layout", {}))
        if self.width is not None:
            layout["width"] = self.width
        if layout.get("height") is not None:
            self.widget.layout.min_height = f"{int(layout['height'])}px"  # sent only on change
        self.spec, self._figure = {**spec, "layout": layout}, None
        self.widget.outputs = ({"output_type": "display_data", "metadata": {},
                                "data": mime_bundle(self.spec, self.name)},)
