"""``Dashboard``: a live CP-NAS search (or a recorded one) as an ipywidgets layout.

The widgets only: the worker thread, the queue, the folded state, replay snapshots and
the redraw policy live in :class:`cpviz.live.LiveSearch` (``dash.live``), which tells this
view what to show. See ``docs/dashboard.md`` for the layout and the redraw policy.
"""

from __future__ import annotations

import functools
import html
import re
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cpnas.errors import CpnasError
from cpnas.events import Event
from cpnas.genotype import Genotype
from cpnas.space import PRIMITIVES

from . import state as st
from .figure_output import MIME, FigureOutput, mime_bundle
from .live import (
    LiveSearch,
    Runner,
    as_dict,
    describe,
    round_snapshots,
    search_runner,
    simulated_runner,
    with_params,
)
from .state import leading_genotype

# The parameters the dashboard exposes as widgets, with the SearchConfig field each sets.
PARAMS = ("beta", "repeats", "ops", "nodes", "sample_steps", "seed")

# Panel heights (px): a long view scrolls vertically inside its panel, never sideways.
# Tall enough for the teaching space (28 edges) whole: heatmap 610 px, timeline 618 px, the
# compact cell diagram up to ~570 px below its tabs (the end, with the genotype's caption, in
# a 1000 px output: JupyterLab at 1440 x 900; 530 px cut its last caption lines).
PANEL_HEIGHT = {"heatmap": 640, "timeline": 640, "diagram": 620, "curves": 400, "inspector": 420}

# The figures, in their panels' order. None has a width of its own: each takes its panel's
# width (plotly's autosize, redone on every redraw and, with ``responsive``, on every resize),
# so none is wider than its output at any notebook width (a fixed 1080 px for the curves cut
# off their last rounds and legend in a notebook with the file browser open).
FIGURES = ("heatmap", "timeline", "curves")

# The diagram takes its panel's width (its SVG scales to it).
STYLE = """<style>
.cpnas-dashboard .cpnas-diagram .widget-html { width: calc(100% - 4px); box-sizing: border-box; min-width: 0; }
.cpnas-dashboard .cpnas-diagram .widget-html-content { width: 100%; }
.cpnas-dashboard .cpnas-inspector td, .cpnas-dashboard .cpnas-inspector th {
  padding: 1px 10px 1px 0; line-height: 1.3; vertical-align: top; text-align: left; }
.cpnas-dashboard .cpnas-inspector .widget-html-content { line-height: 1.3; }
.cpnas-dashboard .cpnas-diagram g.edge[data-edge] { cursor: pointer; }
.cpnas-dashboard .cpnas-heatmap .nsewdrag { cursor: pointer !important; }
</style>"""

# Picking an edge for the inspector from the views: a click on a heatmap row (a cell, or the
# edge's name beside it) or on an edge of the cell diagram selects that edge in the inspector's
# list, as a pick in the list does (the list's change event; the kernel sees the new value).
# The figures are plotly's mime output, not widgets, so the click is caught in the page: one
# listener per page (the script runs once per dashboard shown; the flag keeps it to one). The
# heatmap's rows are edge ids (its y), named by the axis's ticktext, the list's labels.
PICK_JS = """(() => {
  if (window.__cpnasPickEdge) return;
  window.__cpnasPickEdge = true;
  const pick = (from, label) => {
    const dash = from.closest('.cpnas-dashboard');
    const list = dash && dash.querySelector('.cpnas-edge-picker select');
    const i = list ? [...list.options].findIndex(o => o.value === label) : -1;
    if (i < 0 || list.selectedIndex === i) return;
    list.selectedIndex = i;
    list.dispatchEvent(new Event('change', {bubbles: true}));
  };
  const label = (gd, edge) => {
    const ax = (gd.layout || {}).yaxis || {}, i = (ax.tickvals || []).indexOf(edge);
    return i < 0 ? null : ax.ticktext[i];
  };
  const hook = (gd) => {
    if (gd.__cpnasPickEdge || typeof gd.on !== 'function') return;
    gd.__cpnasPickEdge = true;
    gd.on('plotly_click', (d) => {
      const p = d && d.points && d.points[0], name = p && label(gd, p.y);
      if (name) pick(gd, name);
    });
  };
  document.addEventListener('mouseover', (ev) => {  // before any click: hook each new plot
    const gd = ev.target.closest && ev.target.closest('.cpnas-heatmap .js-plotly-plot');
    if (gd) hook(gd);
  }, true);
  document.addEventListener('click', (ev) => {
    if (!ev.target.closest) return;
    const edge = ev.target.closest('.cpnas-diagram g.edge[data-edge]');
    if (edge) return pick(edge, edge.getAttribute('data-edge-label'));
    // an edge's name left of its row (plotly's tick labels take no pointer events)
    const gd = ev.target.closest('.cpnas-heatmap .js-plotly-plot');
    const area = gd && gd.querySelector('.nsewdrag');
    if (!area || ev.clientX >= area.getBoundingClientRect().left) return;
    const tick = [...gd.querySelectorAll('.ytick')].find((t) => {
      const r = t.getBoundingClientRect();
      return ev.clientY >= r.top - 2 && ev.clientY <= r.bottom + 2;
    });
    if (tick) pick(gd, tick.textContent);
  }, true);
})();"""


# -- formatting ------------------------------------------------------------------------------


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def samples_done(state: st.SearchState) -> float:
    """Finished samples plus the fraction of the one in training."""
    part = state.step / state.steps if state.steps and not state.done and not state.phase else 0.0
    return len(state.samples) + min(part, 0.999)


def prunes_html(state: st.SearchState) -> str:
    """The last round's prunes in words, the earlier rounds' in a fold ("" before any)."""
    lines = state.prune_lines()
    if not lines:
        return ""
    earlier = "".join(f"<li>{html.escape(line)}</li>" for line in lines[:-1])
    fold = (f"<details><summary>earlier rounds</summary><ol>{earlier}</ol></details>" if earlier else "")
    return f"<div class='cpnas-prune-line'>{html.escape(lines[-1])}</div>{fold}"


def status_line(state: st.SearchState, now: float | None = None, mode: str = "live") -> str:
    """``round r/R · K ops left per edge · sample s/K of sweep t/T · elapsed · ETA``, as the
    status widget shows it (words, not the method's letters K and t).

    Rounds count from 1 on screen (the events' ``round`` counts from 0). The ETA is the mean
    time per finished sample times the samples left, less the time the sample in training has
    run (never below what the samples after it need), so it counts down between samples
    instead of jumping with each one's progress. ``mode`` "replay" says so and gives no ETA;
    "stopping" says a Stop is on its way.
    """
    if state.status == "empty":
        return "not started"
    k_total = len(state.ops)
    rounds = max(1, k_total - 1)
    if mode == "replay":
        where = f"round {min(state.round + 1, rounds)}/{rounds}" if not state.done else \
            f"{state.status} after {_clock(state.elapsed)}"
        return f"replay · {where} · {len(state.samples)}/{state.total_samples} samples"
    elapsed = state.elapsed if state.done or now is None or state.started is None else now - state.started
    total = state.total_samples
    parts = [state.status]
    if state.phase and not state.done:
        parts.append(f"{state.phase} step {state.step}/{state.steps}" if state.steps else state.phase)
    elif state.round >= 0:
        parts += [f"round {state.round + 1}/{rounds}",
                  f"{state.K} op{'s' if state.K != 1 else ''} left per edge",
                  f"sample {state.s + 1}/{state.K} of sweep {state.t + 1}/{state.repeats}"]
    parts.append(f"{_clock(elapsed)} elapsed")
    eta = _eta(state, elapsed, total)
    if eta is not None:
        parts.append(f"ETA {_clock(eta)}")
    if mode == "stopping" and not state.done:
        parts.append("stopping…")
    return " · ".join(parts)


def _eta(state: st.SearchState, elapsed: float, total: int) -> float | None:
    """Seconds left: the mean time per finished sample (up to the last one's end) times the
    samples left, less the time since the last finished; at least the time of the samples
    after the one in training. None before the first sample ends or once the search is done."""
    n = len(state.samples)
    if state.done or not n or not total or state.started is None:
        return None
    last = state.samples[-1].time or state.started
    upto = max(1e-9, last - state.started)
    rate = upto / n
    since = max(0.0, elapsed - upto)
    left = total - n
    return max(rate * left - since, rate * max(left - 1, 0))


# -- the views -------------------------------------------------------------------------------


def live_spec(name: str, state: st.SearchState) -> dict[str, Any]:
    """The public view ``name`` as the dashboard draws it, as a plain spec (see
    :func:`cpviz.figure_output.mime_bundle`): no frames or view slider (the dashboard has
    its own); the curves as tall as their panel."""
    from .curves import curves_spec
    from .heatmap import heatmap_spec
    from .timeline import timeline_spec

    if name == "indicator_heatmap":
        return heatmap_spec(state, slider=False)
    if name == "accuracy_curves":
        return curves_spec(state, height=PANEL_HEIGHT["curves"] - 30)  # room for the output area
    if name == "pruning_timeline":
        return timeline_spec(state)
    raise CpnasError(f"unknown view {name!r}")


def diagram_svg(state: st.SearchState, cell: str) -> str:
    """One cell of ``state``, compact (``cell_graph(..., compact=True)``: the op in training
    and the leader per edge), as SVG markup that scales to its panel's width. The same DOT
    text (nothing in the cell changed) is not laid out again."""
    from .cell import cell_graph

    return _laid_out(cell_graph(state, cell, compact=True).source)


@functools.lru_cache(maxsize=8)
def _laid_out(source: str) -> str:
    """DOT text as SVG markup for an HTML widget, scaling to its panel's width, with its
    focus mode (:func:`cpviz.focus.focus_html`: hover or click a node to see its edges)."""
    from .export import render_bytes
    from .focus import focus_html

    svg = render_bytes(source, "svg", in_process=True).decode("utf-8")
    svg = svg[svg.find("<svg"):]  # drop the XML prolog and doctype: HTML widgets want the element
    # width 100% of the panel, never wider than drawn; the viewBox keeps the proportions
    return focus_html(re.sub(r'<svg width="([0-9.]+)pt" height="[0-9.]+pt"',
                             r'<svg style="width:100%;max-width:\1pt;height:auto"', svg, count=1))


# -- the dashboard ---------------------------------------------------------------------------


class Dashboard:
    """A live (or replayed) CP-NAS search: heatmap, pruning timeline, curves, cell diagram.

    ``config`` is a ``cpnas.SearchConfig`` or a dict of its fields; the widgets start from its
    values and override them on Start. ``runner`` runs the search in the worker thread
    (default :func:`search_runner`; :func:`simulated_runner` for a synthetic demo). ``out``
    is the run directory; Resume continues the run in it from its checkpoint. ``interval``
    and ``draw_budget``: see :class:`cpviz.live.LiveSearch`.
    """

    def __init__(self, config: Any = None, *, runner: Runner | None = None,
                 out: str | Path | None = None, refresh: float = 0.1,
                 interval: float | None = 2.0, draw_budget: float | None = 0.03,
                 autostart_pump: bool = True) -> None:
        self.live = LiveSearch(config, runner=runner, out=out, view=self, refresh=refresh,
                               interval=interval, draw_budget=draw_budget,
                               autostart_pump=autostart_pump)
        self._build(as_dict(self.live.config))

    # -- layout ------------------------------------------------------------------------------
    def _build(self, cfg: dict[str, Any]) -> None:
        import ipywidgets as w

        self.figures = {name: FigureOutput(name) for name in FIGURES}
        self.diagrams = {cell: w.HTML("<i>the cell diagram appears when the search starts</i>")
                         for cell in ("normal", "reduce")}
        self.diagram = w.Tab(children=list(self.diagrams.values()), titles=("normal cell", "reduce cell"))
        self._diagram_from: st.SearchState | None = None  # the state the diagrams show
        self._diagrams_stale: set[str] = set()  # hidden tabs, drawn when selected
        self.diagram.observe(lambda _: self._guard(self._draw_diagrams), names="selected_index")
        self.status = w.HTML(self._status_html("not started"))
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, description="search",
                                        layout=w.Layout(width="98%"))
        self.error_box = w.HTML("", layout=w.Layout(display="none"))
        # what the last round pruned, in words (cpnas.scoring.prune_line); every round's in a fold
        self.prunes = w.HTML("")
        # the edge inspector: pick an edge, see its ops' samples, zbar and ev this round
        self.edge_picker = w.Dropdown(options=[], description="inspect edge",
                                      style={"description_width": "initial"},
                                      layout=w.Layout(width="320px"))
        self.inspector_html = w.HTML("<i>pick an edge once the search has started</i>")
        self.inspector = w.VBox([self.edge_picker, self.inspector_html])
        self._inspected_from: st.SearchState | None = None
        self.edge_picker.observe(lambda _: self._guard(self._draw_inspector), names="value")
        # the page's listener that picks an edge from a click on the heatmap or the diagram
        self.pick_script = w.Output(layout=w.Layout(display="none"))
        self.pick_script.append_display_data(_javascript(PICK_JS))
        self.start_button = w.Button(description="Start", icon="play", button_style="success")
        self.stop_button = w.Button(description="Stop", icon="stop", button_style="danger",
                                    disabled=True)
        self.resume_button = w.Button(description="Resume", icon="forward", disabled=True)
        self.start_button.on_click(lambda _: self._guard(self.start))
        self.stop_button.on_click(lambda _: self._guard(self.stop))
        self.resume_button.on_click(lambda _: self._guard(self.resume))
        self.params = self._param_widgets(cfg, w)
        self.round_slider = w.IntSlider(description="round", min=1, max=1, value=1,
                                        continuous_update=True, layout=w.Layout(display="none"))
        self.round_slider.observe(self._on_slider, names="value")
        for name, widget in [*((n, f.widget) for n, f in self.figures.items()), ("diagram", self.diagram),
                             ("status", self.status), ("error", self.error_box),
                             ("start", self.start_button), ("stop", self.stop_button),
                             ("resume", self.resume_button), ("slider", self.round_slider),
                             ("prunes", self.prunes), ("inspector", self.inspector),
                             ("edge-picker", self.edge_picker)]:
            widget.add_class(f"cpnas-{name}")
        self.controls = w.VBox([
            w.HBox([self.start_button, self.stop_button, self.resume_button]),
            w.Box(list(self.params.values()), layout=w.Layout(flex_flow="row wrap")),
        ])

        def panel(child: Any, name: str, basis: str) -> Any:
            return w.Box([child], layout=w.Layout(  # block: the child takes the panel's width
                display="block", flex=f"1 1 {basis}", min_width=basis if basis.endswith("px") else "0",
                max_height=f"{PANEL_HEIGHT[name]}px",
                overflow="hidden auto", margin="0"))  # CSS: x hidden, y scrolls

        row = lambda *kids: w.Box(list(kids), layout=w.Layout(flex_flow="row wrap", width="100%"))  # noqa: E731
        self.widget = w.VBox([
            w.HTML(STYLE), self.pick_script, self.status, self.progress, self.error_box, self.controls, self.round_slider,
            self.prunes,
            row(panel(self.figures["heatmap"].widget, "heatmap", "550px"),
                panel(self.figures["timeline"].widget, "timeline", "550px")),
            row(panel(self.inspector, "inspector", "100%")),
            row(panel(self.diagram, "diagram", "100%")),
            row(panel(self.figures["curves"].widget, "curves", "100%")),
        ], layout=w.Layout(width="100%", overflow="hidden"))
        self.widget.add_class("cpnas-dashboard")

    @staticmethod
    def _param_widgets(cfg: dict[str, Any], w: Any) -> dict[str, Any]:
        ops = tuple(cfg.get("ops") or PRIMITIVES)
        style = {"description_width": "initial"}
        size = w.Layout(width="300px")
        names = list(PRIMITIVES) + [o for o in ops if o not in PRIMITIVES]
        return {
            "beta": w.FloatSlider(value=float(cfg.get("beta", 0.5)), min=-3.0, max=3.0, step=0.1,
                                  description="beta_P", style=style, layout=size),
            "repeats": w.IntSlider(value=int(cfg.get("repeats", 1)), min=1, max=max(5, int(cfg.get("repeats", 1))),
                                   description="T (repeats)", style=style, layout=size),
            "nodes": w.IntSlider(value=int(cfg.get("nodes", 4)), min=1, max=4,
                                 description="nodes", style=style, layout=size),
            "sample_steps": w.BoundedIntText(value=int(cfg.get("sample_steps") or 0), min=0,
                                             max=100000, description="sample steps (0 = epoch)",
                                             style=style, layout=size),
            "seed": w.IntText(value=int(cfg.get("seed", 0)), description="seed", style=style,
                              layout=size),
            # every op in view (one row each), none hidden behind a scroll bar
            "ops": w.SelectMultiple(options=names, value=ops, rows=len(names), description="op set",
                                    style=style, layout=size),
        }

    def param_values(self) -> dict[str, Any]:
        """The search parameters as the widgets set them."""
        vals = {k: self.params[k].value for k in PARAMS}
        vals["ops"] = list(vals["ops"])
        vals["sample_steps"] = vals["sample_steps"] or None  # 0 means a whole epoch
        return vals

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- the figures shown (``go.Figure``), and the controller's state, as attributes -------
    heatmap = property(lambda self: self.figures["heatmap"].figure)
    timeline = property(lambda self: self.figures["timeline"].figure)
    curves = property(lambda self: self.figures["curves"].figure)
    state = property(lambda self: self.live.state)
    result = property(lambda self: self.live.result)
    error = property(lambda self: self.live.error)
    running = property(lambda self: self.live.running)
    run_dir = property(lambda self: self.live.run_dir, doc="The run directory of the last search.")
    config = property(lambda self: self.live.config)

    # -- controls ----------------------------------------------------------------------------
    def _guard(self, action: Callable[[], Any]) -> None:
        """Button callbacks: an error goes to the error box, never to a log nobody reads."""
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - shown to the user, with its type
            self.show_error(describe(exc), traceback.format_exc())

    def start(self, **params: Any) -> Dashboard:
        """Start a fresh search with the widgets' parameters (keywords override them)."""
        for key, value in params.items():
            if key not in self.params:
                raise CpnasError(f"unknown dashboard parameter {key!r}; known: {', '.join(PARAMS)}")
            self.params[key].value = tuple(value) if key == "ops" else value
        self._hide_error()
        self.live.start(with_params(self.live.config, self.param_values()))
        return self

    def resume(self) -> Dashboard:
        """Continue the last search from its run directory's checkpoint."""
        self._hide_error()
        self.live.resume()
        return self

    def stop(self) -> None:
        """Ask the search to stop after the current step; the status says when it has."""
        self.stop_button.disabled = True
        self.live.stop()

    def pump(self) -> int:
        """Drain the queue, fold the events, refresh the widgets once. Returns events folded."""
        return self.live.pump()

    def join(self, timeout: float | None = None) -> st.SearchState:
        """Block until the search ends, pumping the widgets meanwhile (scripts and tests)."""
        return self.live.join(timeout)

    async def wait(self, timeout: float | None = None) -> st.SearchState:
        """``await dash.wait()`` in a cell: the final state; widgets and Stop keep working."""
        return await self.live.wait(timeout)

    def genotype(self) -> Genotype:
        """The found genotype (each edge's current favourite if the search was stopped)."""
        return self.live.genotype()

    # -- replay ------------------------------------------------------------------------------
    @classmethod
    def from_run(cls, path: str | Path, **kwargs: Any) -> Dashboard:
        """A dashboard over a recorded run directory, with a round slider."""
        return cls(**kwargs).replay(path)

    def replay(self, source: str | Path | Iterable[Event]) -> Dashboard:
        """Show a recorded run (a run directory, an events.jsonl, or events) round by round:
        the slider's position r is the start of round r; its last position is the end."""
        snapshots = self.live.replay(source)
        self.round_slider.max = max(1, len(snapshots))
        self.round_slider.value = len(snapshots)
        return self

    def _on_slider(self, change: dict) -> None:
        if self.live.mode == "replay" and 1 <= change["new"] <= len(self.live.snapshots):
            self._guard(lambda: self.live.show_snapshot(change["new"] - 1))

    # -- View: what the controller calls ----------------------------------------------------
    def show_status(self, state: st.SearchState, mode: str, now: float | None) -> None:
        self.status.value = self._status_html(status_line(state, now, mode))
        total = state.total_samples
        self.progress.value = min(1.0, samples_done(state) / total) if total else 0.0
        replay = mode == "replay"
        self.controls.layout.display = "none" if replay else "flex"
        self.progress.layout.display = "none" if replay else "flex"
        self.round_slider.layout.display = "flex" if replay else "none"

    def draw(self, old: st.SearchState | None, state: st.SearchState) -> bool:
        """Redraw what changed since ``old``: views are pure, so unchanged inputs (the same
        mapping objects, thanks to the reducer) mean an unchanged picture. False: nothing
        changed, nothing was sent."""
        changed = lambda *names: old is None or any(  # noqa: E731
            getattr(old, n) is not getattr(state, n) for n in names)
        drew = False
        if changed("samples", "scores", "alive", "in_flight"):
            self.figures["heatmap"].show(live_spec("indicator_heatmap", state))
            drew = True
        if changed("pruned", "alive", "round"):
            self.figures["timeline"].show(live_spec("pruning_timeline", state))
            drew = True
        if changed("samples", "in_flight"):
            self.figures["curves"].show(live_spec("accuracy_curves", state))
            drew = True
        if changed("samples", "alive", "genotype", "scores", "in_flight", "status"):
            self._diagram_from, self._diagrams_stale = state, set(self.diagrams)
            self._draw_diagrams()
            drew = True
        if changed("pruned"):
            self.prunes.value = prunes_html(state)
            drew = True
        if changed("edges", "samples", "scores", "pruned"):
            self._inspected_from = state
            self._draw_inspector()
            drew = True
        if state.status == "failed" and state.error:
            self.show_error(f"the search failed: {state.error}", "")
        return drew

    def inspect(self, edge: str) -> str:
        """Show ``edge`` (an edge id) in the inspector, as picking it in its list does; returns
        the inspector's HTML."""
        self.edge_picker.value = edge
        return self.inspector_html.value

    def _draw_inspector(self) -> None:
        from .cell import edge_label
        from .inspector import inspect_edge, inspector_html

        state = self._inspected_from
        if state is None or not state.edges:
            return
        options = [(edge_label(e), e) for e in state.edges]
        if list(self.edge_picker.options) != options:
            keep = self.edge_picker.value if self.edge_picker.value in state.edges else state.edges[0]
            self.edge_picker.options = options
            self.edge_picker.value = keep  # fires this again (value observer) when it changed
        edge = self.edge_picker.value
        if edge is None or state.round < 0:
            return
        self.inspector_html.value = inspector_html(inspect_edge(state, edge))

    def shown_cell(self) -> str:
        """The cell whose diagram tab is selected."""
        return list(self.diagrams)[self.diagram.selected_index or 0]

    def _draw_diagrams(self) -> None:
        """The selected tab's diagram, if the state moved since it was drawn: a hidden tab
        waits until it is selected (each diagram is a graphviz layout, the dearest view)."""
        state, cell = self._diagram_from, self.shown_cell()
        if state is None or cell not in self._diagrams_stale:
            return
        self._diagrams_stale.discard(cell)
        self.diagrams[cell].value = diagram_svg(state, cell) if cell in state.cell_types else ""

    def set_running(self, running: bool) -> None:
        self.start_button.disabled = running
        self.stop_button.disabled = not running
        self.resume_button.disabled = running or self.live.run_dir is None or \
            self.live.state.status == "completed"

    def show_error(self, message: str, trace: str) -> None:
        detail = (f"<details><summary>traceback</summary><pre>{html.escape(trace)}</pre></details>"
                  if trace else "")
        self.error_box.value = (f"<div style='color:#b00020;border:1px solid #b00020;padding:4px'>"
                                f"<b>error:</b> {html.escape(message)}{detail}</div>")
        self.error_box.layout.display = "block"

    def _hide_error(self) -> None:
        self.error_box.value = ""
        self.error_box.layout.display = "none"

    @staticmethod
    def _status_html(text: str) -> str:
        return f"<b>CP-NAS</b> · <span class='cpnas-status-text'>{html.escape(text)}</span>"


def _javascript(code: str) -> Any:
    from IPython.display import Javascript

    return Javascript(code)


def figure_data(fig: Any) -> list[dict[str, Any]]:
    """A figure's traces as the front end receives them: plain JSON (to compare what is
    shown with a view)."""
    return mime_bundle(fig)[MIME]["data"]


__all__ = ["Dashboard", "diagram_svg", "figure_data", "leading_genotype", "live_spec",
           "prunes_html",
           "round_snapshots", "search_runner", "simulated_runner", "status_line"]
