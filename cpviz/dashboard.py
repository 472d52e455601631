"""``Dashboard``: a live CP-NAS search (or a recorded one) as an ipywidgets layout.

Threads and loops, and why:

- The search runs in a worker thread. Its only subscriber is ``queue.put``: the worker never
  touches a widget, and a queue put costs microseconds, so the search barely notices it.
- The kernel side drains the queue and folds the events with :func:`cpviz.state.reduce`.
  Inside Jupyter that happens in an asyncio task on the kernel's own running loop (the one
  that executes cells), every ``refresh`` seconds: widget messages then leave from the main
  thread, at most ``1 / refresh`` times a second, however fast the search emits.
- Between cells the kernel's loop is idle, so the task runs and Stop clicks are handled.
  ``await dash.wait()`` keeps both going while a later cell waits for the result
  (ipykernel dispatches widget messages while an async cell awaits).
- Outside a kernel (scripts, tests) there is no running loop: call :meth:`Dashboard.pump`
  yourself, or :meth:`Dashboard.join`, which pumps until the worker ends.

Every failure of the search ends up in the error box with its message: exceptions in the
worker are caught and queued, and a ``SearchFinished(status="failed")`` shows its text.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import json
import math
import queue
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cpnas.errors import CpnasError, RunDirError
from cpnas.events import Event
from cpnas.genotype import Genotype
from cpnas.runs import read_events
from cpnas.space import PRIMITIVES

from . import state as st
from .state import leading_genotype

# The parameters the dashboard exposes as widgets, with the SearchConfig field each sets.
PARAMS = ("beta", "repeats", "ops", "nodes", "sample_steps", "seed")

Runner = Callable[[Any, Callable[[Event], None], threading.Event, "Path | None"], Any]


# -- runners: what the worker thread calls -------------------------------------------------


def search_runner(config: Any, subscriber: Callable, stop: threading.Event, out: Path | None) -> Any:
    """The real engine: ``cpnas.search`` on ``config`` (a SearchConfig or a dict of its fields)."""
    from cpnas.config import SearchConfig
    from cpnas.engine import search

    if isinstance(config, dict):
        config = SearchConfig.from_dict(config)
    return search(config, subscribers=[subscriber], out=out, stop=stop)


def simulated_runner(delay: float = 0.05) -> Runner:
    """A runner over :func:`cpnas.simulate.simulate`: the real Algorithm 9 loop with synthetic
    accuracies, ``delay`` seconds per sample. For demos and tests; nothing it shows is a result."""
    from cpnas.simulate import simulate

    def run(config: Any, subscriber: Callable, stop: threading.Event, out: Path | None) -> Any:
        cfg = _as_dict(config)
        return simulate(
            ops=cfg.get("ops", PRIMITIVES), nodes=int(cfg.get("nodes", 4)),
            repeats=int(cfg.get("repeats", 1)), beta=float(cfg.get("beta", 0.5)),
            seed=int(cfg.get("seed", 0)), subscribers=[subscriber],
            stop=stop, delay=delay,
        )

    return run


def _as_dict(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if dataclasses.is_dataclass(config):
        return dataclasses.asdict(config)
    return dict(config)


def _with_params(config: Any, params: dict[str, Any]) -> Any:
    """The base config with the widgets' values on top, in the config's own type."""
    if dataclasses.is_dataclass(config):
        names = {f.name for f in dataclasses.fields(config)}
        return dataclasses.replace(config, **{k: v for k, v in params.items() if k in names})
    return {**_as_dict(config), **params}


# -- messages from the worker that are not engine events -------------------------------------


@dataclasses.dataclass(frozen=True)
class _WorkerEnded:
    result: Any = None
    error: str | None = None  # "Type: message" when the runner raised
    trace: str = ""


# -- the views -------------------------------------------------------------------------------


def _view(name: str) -> Callable:
    """cpviz's public view ``name``: the dashboard shows exactly what the views return."""
    import cpviz

    return getattr(cpviz, name)


# -- reading a run ---------------------------------------------------------------------------


def round_snapshots(events: Iterable[Event]) -> list[st.SearchState]:
    """States a replay slider steps through: the start of every round, then the end."""
    return st.round_starts(st.replay(events))


# -- formatting ------------------------------------------------------------------------------


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def samples_done(state: st.SearchState) -> float:
    """Finished samples plus the fraction of the one in training."""
    part = state.step / state.steps if state.steps and not state.done else 0.0
    return len(state.samples) + min(part, 0.999)


def status_line(state: st.SearchState, now: float | None = None) -> str:
    """``round r/R · K · sample s/K · t/T · elapsed · ETA``, as the status widget shows it."""
    if state.status == "empty":
        return "not started"
    k_total = len(state.ops)
    elapsed = state.elapsed if state.done or now is None or state.started is None else now - state.started
    done, total = samples_done(state), state.total_samples
    parts = [state.status]
    if state.round >= 0:
        parts += [f"round {state.round + 1}/{max(1, k_total - 1)}", f"K={state.K}",
                  f"sample {state.s + 1}/{state.K}", f"t {state.t + 1}/{state.repeats}"]
    parts.append(f"{_clock(elapsed)} elapsed")
    if not state.done and done > 0 and total:
        parts.append(f"ETA {_clock(elapsed / done * (total - done))}")
    return " · ".join(parts)


# -- the dashboard ---------------------------------------------------------------------------


class Dashboard:
    """A live (or replayed) CP-NAS search: heatmap, pruning timeline, curves, cell diagram.

    ``config`` is a ``cpnas.SearchConfig`` or a dict of its fields; the widgets start from its
    values and override them on Start. ``runner`` runs the search in the worker thread
    (default :func:`search_runner`; :func:`simulated_runner` for a synthetic demo). ``out``
    is the run directory; Resume continues the run in it from its checkpoint.
    """

    def __init__(self, config: Any = None, *, runner: Runner | None = None,
                 out: str | Path | None = None, refresh: float = 0.1,
                 autostart_pump: bool = True, draw_budget: float | None = 0.03) -> None:
        self.config = config if config is not None else {}
        self.runner = runner or search_runner
        self.out = Path(out) if out is not None else None
        self.refresh = refresh
        self.autostart_pump = autostart_pump
        # At most this share of wall time goes to redrawing figures while a search runs
        # (None: redraw on every change). Drawing holds the GIL, which the search shares; the
        # default keeps the dashboard's cost on the search under the 3% aim (docs/dashboard.md).
        self.draw_budget = draw_budget
        self._next_draw = 0.0
        self.state = st.SearchState()
        self.result: Any = None
        self.error: str | None = None
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._task: asyncio.Task | None = None
        self._shown: st.SearchState | None = None
        self._snapshots: list[st.SearchState] = []
        self._build()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        import ipywidgets as w
        import plotly.graph_objects as go

        cfg = _as_dict(self.config)
        self.heatmap = go.FigureWidget()
        self.timeline = go.FigureWidget()
        self.curves = go.FigureWidget()
        self.diagram = w.HTML("<i>the cell diagram appears when the search starts</i>")
        self.status = w.HTML(self._status_html("not started"))
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, description="search",
                                        layout=w.Layout(width="98%"))
        self.error_box = w.HTML("", layout=w.Layout(display="none"))
        self.start_button = w.Button(description="Start", icon="play", button_style="success")
        self.stop_button = w.Button(description="Stop", icon="stop", button_style="danger",
                                    disabled=True)
        self.resume_button = w.Button(description="Resume", icon="forward", disabled=True)
        self.start_button.on_click(lambda _: self._guard(self.start))
        self.stop_button.on_click(lambda _: self._guard(self.stop))
        self.resume_button.on_click(lambda _: self._guard(self.resume))
        self.params = self._param_widgets(cfg, w)
        self.round_slider = w.IntSlider(description="round", min=0, max=0, value=0,
                                        continuous_update=True, layout=w.Layout(display="none"))
        self.round_slider.observe(self._on_slider, names="value")
        for name, widget in [("heatmap", self.heatmap), ("timeline", self.timeline),
                             ("curves", self.curves), ("diagram", self.diagram),
                             ("status", self.status), ("error", self.error_box),
                             ("start", self.start_button), ("stop", self.stop_button),
                             ("resume", self.resume_button), ("slider", self.round_slider)]:
            widget.add_class(f"cpnas-{name}")
        for fig in (self.heatmap, self.timeline, self.curves):
            fig.layout.height = 340
        controls = w.HBox([self.start_button, self.stop_button, self.resume_button])
        knobs = w.GridBox(list(self.params.values()),
                          layout=w.Layout(grid_template_columns="repeat(3, 33%)"))
        self.widget = w.VBox([
            self.status, self.progress, self.error_box, controls, knobs, self.round_slider,
            w.HBox([w.Box([self.heatmap], layout=w.Layout(width="55%")),
                    w.Box([self.diagram], layout=w.Layout(width="45%", overflow="auto"))]),
            w.HBox([w.Box([self.timeline], layout=w.Layout(width="50%")),
                    w.Box([self.curves], layout=w.Layout(width="50%"))]),
        ])
        self.widget.add_class("cpnas-dashboard")

    @staticmethod
    def _param_widgets(cfg: dict[str, Any], w: Any) -> dict[str, Any]:
        ops = tuple(cfg.get("ops") or PRIMITIVES)
        style = {"description_width": "initial"}
        return {
            "beta": w.FloatSlider(value=float(cfg.get("beta", 0.5)), min=-3.0, max=3.0, step=0.1,
                                  description="beta_P", style=style),
            "repeats": w.IntSlider(value=int(cfg.get("repeats", 1)), min=1, max=5,
                                   description="T (repeats)", style=style),
            "nodes": w.IntSlider(value=int(cfg.get("nodes", 4)), min=1, max=4,
                                 description="nodes", style=style),
            "sample_steps": w.BoundedIntText(value=int(cfg.get("sample_steps") or 0), min=0,
                                             max=100000, description="sample steps (0 = epoch)",
                                             style=style),
            "seed": w.IntText(value=int(cfg.get("seed", 0)), description="seed", style=style),
            "ops": w.SelectMultiple(options=list(PRIMITIVES) + [o for o in ops if o not in PRIMITIVES],
                                    value=ops, rows=4, description="op set", style=style),
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

    # -- controls ----------------------------------------------------------------------------
    def _guard(self, action: Callable[[], Any]) -> None:
        """Button callbacks: an error goes to the error box, never to a log nobody reads."""
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - shown to the user, with its type
            self._show_error(_describe(exc), traceback.format_exc())

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def start(self, **params: Any) -> Dashboard:
        """Start a fresh search with the widgets' parameters (keywords override them)."""
        for key, value in params.items():
            if key not in self.params:
                raise CpnasError(f"unknown dashboard parameter {key!r}; known: {', '.join(PARAMS)}")
            self.params[key].value = tuple(value) if key == "ops" else value
        out = self.out
        if out is not None and (out / "events.jsonl").exists():
            out = Path(tempfile.mkdtemp(prefix=out.name + "-", dir=out.parent))
        return self._launch(_with_params(self.config, self.param_values()), out, fresh=True)

    def resume(self) -> Dashboard:
        """Continue the last search from its run directory's checkpoint."""
        if self._run_dir is None:
            raise CpnasError("nothing to resume: start a search with a run directory first")
        return self._launch(self._last_config, self._run_dir, fresh=False)

    def stop(self) -> None:
        """Ask the search to stop after the current step; the status says when it has."""
        self._stop.set()
        self.stop_button.disabled = True
        self.status.value = self._status_html(status_line(self.state, time.time()) + " · stopping…")

    def _launch(self, config: Any, out: Path | None, fresh: bool) -> Dashboard:
        if self.running:
            raise CpnasError("a search is already running; press Stop first")
        self._stop = threading.Event()
        self._last_config, self._run_dir = config, out
        self.result = self.error = None
        self._next_draw = 0.0
        if fresh:
            self.state, self._shown = st.SearchState(), None
        self._hide_error()
        self.round_slider.layout.display = "none"
        self._worker = threading.Thread(target=self._work, args=(config, out, self._stop),
                                        name="cpnas-search", daemon=True)
        self._set_buttons(running=True)
        self._worker.start()
        if self.autostart_pump:
            self._start_pump()
        return self

    _run_dir: Path | None = None
    _last_config: Any = None

    @property
    def run_dir(self) -> Path | None:
        """The run directory of the last search started (None if it keeps no files)."""
        return self._run_dir

    def _work(self, config: Any, out: Path | None, stop: threading.Event) -> None:
        """The worker thread: runs the search; touches nothing but the queue."""
        try:
            result = self.runner(config, self._queue.put, stop, out)
        except BaseException as exc:  # noqa: BLE001 - carried to the kernel side and shown
            self._queue.put(_WorkerEnded(error=_describe(exc), trace=traceback.format_exc()))
        else:
            self._queue.put(_WorkerEnded(result=result))

    # -- the kernel side ---------------------------------------------------------------------
    def _start_pump(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no kernel loop (a script, a test): the caller pumps
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._pump_forever())

    async def _pump_forever(self) -> None:
        while True:
            self.pump()
            if not self.running and self._queue.empty():
                self.pump()
                return
            await asyncio.sleep(self.refresh)

    def pump(self) -> int:
        """Drain the queue, fold the events, refresh the widgets once. Returns events folded."""
        n, state = 0, self.state
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _WorkerEnded):
                self._worker_ended(item)
                continue
            state = st.reduce(state, item)
            n += 1
        self.state = state
        try:
            self._render(state, live=True)
        except Exception as exc:  # noqa: BLE001 - a view failing must not kill the pump
            self._show_error("the dashboard could not draw: " + _describe(exc), traceback.format_exc())
        return n

    def _worker_ended(self, item: _WorkerEnded) -> None:
        self.result = item.result
        if item.error:
            self.error = item.error
            self._show_error(item.error, item.trace)
        self._set_buttons(running=False)

    def join(self, timeout: float | None = None) -> st.SearchState:
        """Block until the search ends, pumping the widgets meanwhile (scripts and tests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.running or not self._queue.empty():
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"the search did not end within {timeout} s")
            self.pump()
            time.sleep(self.refresh)
        self.pump()
        return self._final_state()

    async def wait(self, timeout: float | None = None) -> st.SearchState:
        """``await dash.wait()`` in a cell: the final state; widgets and Stop keep working."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.running or not self._queue.empty():
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"the search did not end within {timeout} s")
            if self._task is None or self._task.done():
                self.pump()
            await asyncio.sleep(self.refresh)
        self.pump()
        return self._final_state()

    def _final_state(self) -> st.SearchState:
        if self.error:  # shown in the error box too; raising stops a "Run All" right here
            raise CpnasError(f"the search failed: {self.error}")
        return self.state

    def genotype(self) -> Genotype:
        """The found genotype (each edge's current favourite if the search was stopped)."""
        mode = self.state.config.get("genotype_mode") or _as_dict(self.config).get("genotype_mode")
        return leading_genotype(self.state, mode=mode or "top2")

    # -- replay ------------------------------------------------------------------------------
    @classmethod
    def from_run(cls, path: str | Path, **kwargs: Any) -> Dashboard:
        """A dashboard over a recorded run directory, with a round slider."""
        dash = cls(**kwargs)
        return dash.replay(path)

    def replay(self, source: str | Path | Iterable[Event]) -> Dashboard:
        """Show a recorded run (a run directory, an events.jsonl, or events) round by round."""
        if self.running:
            raise CpnasError("a search is running; stop it before replaying a run")
        events = read_events(source) if isinstance(source, (str, Path)) else list(source)
        if not events:
            raise RunDirError(f"{source}: the event log is empty")
        self._snapshots = round_snapshots(events)
        self.state, self._shown = self._snapshots[-1], None
        self.round_slider.max = len(self._snapshots) - 1
        self.round_slider.value = len(self._snapshots) - 1
        self.round_slider.layout.display = "flex"
        self._set_buttons(running=False)
        self._render(self.state, live=False)
        if self.state.error:
            self._show_error(self.state.error, "")
        return self

    def _on_slider(self, change: dict) -> None:
        if self._snapshots and 0 <= change["new"] < len(self._snapshots):
            self._guard(lambda: self._render(self._snapshots[change["new"]], live=False))

    # -- drawing -----------------------------------------------------------------------------
    def _render(self, state: st.SearchState, live: bool) -> None:
        """Redraw what changed since the last draw: views are pure, so unchanged inputs
        (the same mapping objects, thanks to the reducer) mean an unchanged picture."""
        old = self._shown
        now = time.time() if live else None
        self.status.value = self._status_html(status_line(state, now))
        total = state.total_samples
        self.progress.value = min(1.0, samples_done(state) / total) if total else 0.0
        if state.status == "empty" or old is state:  # the reducer gives a new state per event
            self._shown = state
            return
        if live and not state.done and time.monotonic() < self._next_draw:
            return  # over the draw budget: the next pump after _next_draw catches up
        t0 = time.monotonic()
        self._draw_views(old, state)
        if self.draw_budget:
            self._next_draw = t0 + (time.monotonic() - t0) / self.draw_budget
        self._shown = state

    def _draw_views(self, old: st.SearchState | None, state: st.SearchState) -> None:
        changed = lambda *names: old is None or any(  # noqa: E731
            getattr(old, n) is not getattr(state, n) for n in names)
        # The heatmap and the diagram show the running means of the round in progress, so
        # they move with every sample; the timeline only when an op falls.
        if changed("samples", "scores", "alive"):
            _copy_figure(self.heatmap, _view("indicator_heatmap")(state))
        if changed("pruned", "alive"):
            _copy_figure(self.timeline, _view("pruning_timeline")(state))
        if changed("samples"):
            _copy_figure(self.curves, _view("accuracy_curves")(state))
        if changed("samples", "alive", "genotype", "scores"):
            self.diagram.value = _svg(_view("cell_pair")(state))
        if state.status == "failed" and state.error:
            self._show_error(f"the search failed: {state.error}", "")

    def _set_buttons(self, running: bool) -> None:
        self.start_button.disabled = running
        self.stop_button.disabled = not running
        self.resume_button.disabled = running or self._run_dir is None or \
            self.state.status == "completed"

    @staticmethod
    def _status_html(text: str) -> str:
        return f"<b>CP-NAS</b> · <span class='cpnas-status-text'>{html.escape(text)}</span>"

    def _show_error(self, message: str, trace: str) -> None:
        detail = (f"<details><summary>traceback</summary><pre>{html.escape(trace)}</pre></details>"
                  if trace else "")
        self.error_box.value = (f"<div style='color:#b00020;border:1px solid #b00020;padding:4px'>"
                                f"<b>error:</b> {html.escape(message)}{detail}</div>")
        self.error_box.layout.display = "block"

    def _hide_error(self) -> None:
        self.error_box.value = ""
        self.error_box.layout.display = "none"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, CpnasError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _copy_figure(target: Any, fig: Any) -> None:
    """Make the FigureWidget ``target`` show ``fig``, in one message to the front end."""
    same_shape = len(target.data) == len(fig.data) and all(
        a.type == b.type for a, b in zip(target.data, fig.data))
    if not same_shape:
        with target.batch_update():
            target.data = []
        target.add_traces(list(fig.data))
    with target.batch_update():
        if same_shape:
            for old, new in zip(target.data, fig.data):
                old.update(new.to_plotly_json(), overwrite=True)
        height = target.layout.height
        layout = fig.layout.to_plotly_json()
        # A widget holds no animation frames, so a view's round slider would point at
        # nothing; the dashboard has its own round slider for replays.
        layout.pop("sliders", None)
        layout.pop("updatemenus", None)
        target.layout.update(layout, overwrite=True)
        target.layout.height = fig.layout.height or height


def _svg(diagram: Any) -> str:
    """SVG markup of a graphviz diagram (or of whatever the view already rendered)."""
    from .export import render_bytes  # dot where installed, else pygraphviz's bundled one

    if isinstance(diagram, str):
        return diagram
    svg = render_bytes(diagram, "svg").decode("utf-8")
    start = svg.find("<svg")  # drop the XML prolog and doctype: HTML widgets want the element
    return svg[start:] if start >= 0 else svg


def figure_data(fig: Any) -> list[dict[str, Any]]:
    """A figure's traces as plain JSON-able dicts (to compare a widget with a view).

    ``uid`` is left out: a FigureWidget stamps one on every trace it holds.
    """
    traces = [{k: v for k, v in t.to_plotly_json().items() if k != "uid"} for t in fig.data]
    return json.loads(json.dumps(traces, default=_plain))


def _plain(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    raise TypeError(type(obj).__name__)


__all__ = ["Dashboard", "figure_data", "leading_genotype", "round_snapshots",
           "search_runner", "simulated_runner", "status_line"]
