"""``LiveSearch``: the dashboard's controller, with no widget in it.

It owns the worker thread that runs the search, the queue the search's events arrive on,
the folded :class:`~cpviz.state.SearchState`, the replay snapshots and the redraw policy.
A view (``cpviz.Dashboard``, or a test's recorder) plugs in as a :class:`View` and is told
what to show; everything a test needs is a public method or attribute here.

Threads and loops, and why:

- The search runs in a worker thread. Its only subscriber is ``queue.put``: the worker never
  touches a view, and a queue put costs microseconds, so the search barely notices it.
- The kernel side drains the queue and folds the events with :func:`cpviz.state.reduce`.
  Inside Jupyter that happens in an asyncio task on the kernel's own running loop, every
  ``refresh`` seconds: widget messages leave from the main thread only.
- ``await live.wait()`` keeps the task and the widgets going while a later cell waits.
  Outside a kernel (scripts, tests) there is no running loop: call :meth:`LiveSearch.pump`
  yourself, or :meth:`LiveSearch.join`, which pumps until the worker ends.

Redraw policy (:meth:`LiveSearch.draw_due`): the status line on every pump; the figures at
the first state, at every round end (a new round or new scores), at the end of the search,
and otherwise every ``interval`` seconds while the budget allows. ``draw_budget`` is the
largest share of wall time redrawing may take, kept as credit: it accrues at ``draw_budget``
seconds per second (at most :data:`BUDGET_WINDOW` seconds' worth), every redraw spends its
cost, and an interval redraw waits while the credit is spent. So the budget caps the
redraws' share over time, and one dear redraw (a round's end) does not push the next one
far away. The first redraw of a run is free of it: it builds what later ones reuse
(imports, templates, the first Graphviz start). A view whose ``draw`` returns False drew
nothing (nothing it shows changed): that costs no interval and is not recorded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import queue
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from cpnas.errors import CpnasError, RunDirError
from cpnas.events import Event
from cpnas.genotype import Genotype
from cpnas.resolve import resolve
from cpnas.runs.layout import LOG_NAME
from cpnas.space import PRIMITIVES

from . import state as st

Runner = Callable[[Any, Callable[[Event], None], threading.Event, "Path | None"], Any]

BUDGET_WINDOW = 10.0  # s: the draw budget's credit holds at most this many seconds' worth


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
        cfg = as_dict(config)
        return simulate(
            ops=cfg.get("ops", PRIMITIVES), nodes=int(cfg.get("nodes", 4)),
            repeats=int(cfg.get("repeats", 1)), beta=float(cfg.get("beta", 0.5)),
            seed=int(cfg.get("seed", 0)), subscribers=[subscriber],
            stop=stop, delay=delay,
        )

    return run


def as_dict(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if dataclasses.is_dataclass(config):
        return dataclasses.asdict(config)
    return dict(config)


def with_params(config: Any, params: dict[str, Any]) -> Any:
    """The base config with ``params`` on top, in the config's own type."""
    if dataclasses.is_dataclass(config):
        names = {f.name for f in dataclasses.fields(config)}
        return dataclasses.replace(config, **{k: v for k, v in params.items() if k in names})
    return {**as_dict(config), **params}


def describe(exc: BaseException) -> str:
    """An exception as the user reads it: a CpnasError's message, else ``Type: message``."""
    if isinstance(exc, CpnasError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def round_snapshots(events: Iterable[Event]) -> list[st.SearchState]:
    """States a replay steps through: the start of every round, then the end."""
    return st.round_starts(st.replay(events))


@dataclasses.dataclass(frozen=True)
class _WorkerEnded:
    result: Any = None
    error: str | None = None  # "Type: message" when the runner raised
    trace: str = ""


class View(Protocol):
    """What a controller tells its view. Every method runs on the kernel's (main) thread."""

    def show_status(self, state: st.SearchState, mode: str, now: float | None) -> None: ...
    def draw(self, old: st.SearchState | None, new: st.SearchState) -> bool | None: ...
    def show_error(self, message: str, trace: str) -> None: ...
    def set_running(self, running: bool) -> None: ...


class NullView:
    """A view that shows nothing (scripts, benchmarks)."""

    def show_status(self, state: st.SearchState, mode: str, now: float | None) -> None:
        pass

    def draw(self, old: st.SearchState | None, new: st.SearchState) -> bool | None:
        return None

    def show_error(self, message: str, trace: str) -> None:
        pass

    def set_running(self, running: bool) -> None:
        pass


@dataclasses.dataclass(frozen=True)
class Draw:
    """One redraw of the figures: when it started (monotonic s), how long it took, why."""

    at: float
    seconds: float
    reason: str  # first | round | end | interval | replay


class LiveSearch:
    """A search in a worker thread (or a recorded one), folded into states for a view.

    ``interval``: seconds between redraws of the figures while the search runs (None: on
    every pump that brings something new). ``draw_budget``: the largest share of wall time
    the redraws may take (None: no cap).
    """

    def __init__(self, config: Any = None, *, runner: Runner | None = None,
                 out: str | Path | None = None, view: View | None = None,
                 refresh: float = 0.1, interval: float | None = 2.0,
                 draw_budget: float | None = 0.03, autostart_pump: bool = True) -> None:
        self.config = config if config is not None else {}
        self.runner = runner or search_runner
        self.out = Path(out) if out is not None else None
        self.view: View = view or NullView()
        self.refresh = refresh
        self.interval = interval
        self.draw_budget = draw_budget
        self.autostart_pump = autostart_pump
        self.state = st.SearchState()
        self.shown: st.SearchState | None = None  # the state the figures show
        self.mode = "idle"  # idle | live | replay
        self.snapshots: list[st.SearchState] = []
        self.draws: list[Draw] = []  # every redraw of the current run, for benchmarks
        self.result: Any = None
        self.error: str | None = None
        self.run_dir: Path | None = None  # of the last search started (None: keeps no files)
        self.last_config: Any = None
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.task: asyncio.Task | None = None  # the pump on the kernel's loop, if any
        self._next_draw = 0.0
        self._credit, self._credit_at = 0.0, 0.0  # the draw budget's credit (s) and when

    # -- controls ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    @property
    def stopping(self) -> bool:
        return self.running and self._stop.is_set()

    def start(self, config: Any = None) -> LiveSearch:
        """Start a fresh search (``config``, default the one given at construction)."""
        out = self.out
        if out is not None and (out / LOG_NAME).exists():
            out = Path(tempfile.mkdtemp(prefix=out.name + "-", dir=out.parent))
        return self._launch(self.config if config is None else config, out, fresh=True)

    def resume(self) -> LiveSearch:
        """Continue the last search from its run directory's checkpoint."""
        if self.run_dir is None:
            raise CpnasError("nothing to resume: start a search with a run directory first")
        return self._launch(self.last_config, self.run_dir, fresh=False)

    def stop(self) -> None:
        """Ask the search to stop after the current step."""
        self._stop.set()
        self.view.show_status(self.state, "stopping", time.time())

    def _launch(self, config: Any, out: Path | None, fresh: bool) -> LiveSearch:
        if self.running:
            raise CpnasError("a search is already running; press Stop first")
        self._stop = threading.Event()
        self.last_config, self.run_dir = config, out
        self.result = self.error = None
        self.mode, self.snapshots, self.draws, self._next_draw = "live", [], [], 0.0
        self._credit, self._credit_at = 0.0, time.monotonic()
        if fresh:  # nothing of the previous run stays on screen
            self.state, self.shown = st.SearchState(), None
        self._worker = threading.Thread(target=self._work, args=(config, out, self._stop),
                                        name="cpnas-search", daemon=True)
        self.view.set_running(True)
        self._worker.start()
        if self.autostart_pump:
            self._start_pump()
        return self

    def _work(self, config: Any, out: Path | None, stop: threading.Event) -> None:
        """The worker thread: runs the search; touches nothing but the queue."""
        try:
            result = self.runner(config, self._queue.put, stop, out)
        except BaseException as exc:  # noqa: BLE001 - carried to the kernel side and shown
            self._queue.put(_WorkerEnded(error=describe(exc), trace=traceback.format_exc()))
        else:
            self._queue.put(_WorkerEnded(result=result))

    def feed(self, events: Iterable[Event]) -> None:
        """Queue events as if the worker had sent them (a gate a test or a demo controls)."""
        if self.mode != "live":
            self.mode, self.state, self.shown, self.draws = "live", st.SearchState(), None, []
            self._next_draw, self._credit, self._credit_at = 0.0, 0.0, time.monotonic()
        for e in events:
            self._queue.put(e)

    # -- the kernel side ---------------------------------------------------------------------
    def _start_pump(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no kernel loop (a script, a test): the caller pumps
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._pump_forever())

    async def _pump_forever(self) -> None:
        while True:
            self.pump()
            if not self.running and self._queue.empty():
                self.pump()
                return
            await asyncio.sleep(self.refresh)

    def pump(self) -> int:
        """Drain the queue, fold the events, update the view once. Returns events folded."""
        n, state, ended = 0, self.state, None
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _WorkerEnded):
                ended = item
                continue
            state = st.reduce(state, item)
            n += 1
        self.state = state
        self._show(state, live=True)
        if ended is not None:
            self._worker_ended(ended)
        return n

    def _worker_ended(self, item: _WorkerEnded) -> None:
        self.result = item.result
        if item.error:
            self.error = item.error
            self.view.show_error(item.error, item.trace)
        self.view.set_running(False)

    def join(self, timeout: float | None = None) -> st.SearchState:
        """Block until the search ends, pumping meanwhile (scripts and tests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.running or not self._queue.empty():
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"the search did not end within {timeout} s")
            self.pump()
            time.sleep(self.refresh)
        self.pump()
        return self._final_state()

    async def wait(self, timeout: float | None = None) -> st.SearchState:
        """``await live.wait()`` in a cell: the final state; widgets and Stop keep working."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.running or not self._queue.empty():
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"the search did not end within {timeout} s")
            if self.task is None or self.task.done():
                self.pump()
            await asyncio.sleep(self.refresh)
        self.pump()
        return self._final_state()

    def _final_state(self) -> st.SearchState:
        if self.error:  # shown by the view too; raising stops a "Run All" right here
            raise CpnasError(f"the search failed: {self.error}")
        return self.state

    def genotype(self) -> Genotype:
        """The found genotype (each edge's current favourite if the search was stopped).

        A search stopped before its first sample has no favourite: a one-line CpnasError.
        """
        mode = self.state.config.get("genotype_mode") or as_dict(self.config).get("genotype_mode")
        return st.leading_genotype(self.state, mode=mode or None)

    # -- replay ------------------------------------------------------------------------------
    def replay(self, source: str | Path | Iterable[Event]) -> list[st.SearchState]:
        """Load a recorded run (a run directory, an events.jsonl, or events); show its end.
        Returns the snapshots a slider steps through (round starts, then the end)."""
        if self.running:
            raise CpnasError("a search is running; stop it before replaying a run")
        events = list(resolve(source).events)  # one line for anything but a run
        if not events:
            raise RunDirError(f"{source}: the event log is empty")
        self.mode, self.draws = "replay", []
        self.snapshots = round_snapshots(events)
        self.state, self.shown = self.snapshots[-1], None
        self.view.set_running(False)
        self.show_snapshot(len(self.snapshots) - 1)
        if self.state.error:
            self.view.show_error(self.state.error, "")
        return self.snapshots

    def show_snapshot(self, index: int) -> st.SearchState:
        """Show replay snapshot ``index`` (0: the start of round 1; last: the end)."""
        if not 0 <= index < len(self.snapshots):
            raise CpnasError(f"snapshot index must be in 0..{len(self.snapshots) - 1}, got {index}")
        shown = self.snapshots[index]
        self._show(shown, live=False)
        return shown

    # -- drawing -----------------------------------------------------------------------------
    def draw_due(self, state: st.SearchState, now: float) -> str | None:
        """Why the figures should be redrawn for ``state`` now (None: not yet)."""
        old = self.shown
        if state.status == "empty" or old is state:
            return None
        if old is None or old.run_id != state.run_id:
            return "first"
        if state.done:
            return "end"
        if state.round != old.round or state.scores is not old.scores or state.pruned is not old.pruned:
            return "round"
        if now >= self._next_draw and self.credit(now) > 0:
            return "interval"
        return None

    def credit(self, now: float) -> float:
        """Seconds of redrawing the budget allows at ``now`` (inf without a budget)."""
        if not self.draw_budget:
            return float("inf")
        earned = self._credit + self.draw_budget * max(0.0, now - self._credit_at)
        return min(earned, self.draw_budget * BUDGET_WINDOW)

    def _show(self, state: st.SearchState, live: bool) -> None:
        self.view.show_status(state, self.mode if not self.stopping else "stopping",
                              time.time() if live else None)
        now = time.monotonic()
        reason = self.draw_due(state, now) if live else ("replay" if state is not self.shown else None)
        if reason is None:
            return
        old, self.shown = self.shown, state
        drew = None
        try:
            drew = self.view.draw(old, state)
        except Exception as exc:  # noqa: BLE001 - a view failing must not kill the pump
            self.view.show_error("the dashboard could not draw: " + describe(exc),
                                 traceback.format_exc())
        if drew is False:  # nothing the view shows changed
            return
        end = time.monotonic()
        self.draws.append(Draw(now, end - now, reason))
        if live:
            spent = 0.0 if reason == "first" else end - now
            self._credit, self._credit_at = self.credit(end) - spent, end
            self._next_draw = now + (self.interval or 0.0)


__all__ = ["BUDGET_WINDOW", "Draw", "LiveSearch", "NullView", "Runner", "View", "as_dict", "describe",
           "round_snapshots", "search_runner", "simulated_runner", "with_params"]
