"""The dashboard's widget model, driven directly: no browser, no kernel.

The search runs through the simulated runner (the real Algorithm 9 loop with synthetic
accuracies), so every test takes well under a second.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from cpnas import events as ev
from cpnas.errors import CpnasError, RunDirError
from cpnas.simulate import simulate
from cpviz import dashboard as dsh
from cpviz import live as live_mod
from cpviz import state as st
from cpviz.dashboard import Dashboard, figure_data, simulated_runner
from cpviz.figure_output import MIME, FigureOutput

OPS = ["none", "skip_connect", "max_pool_3x3", "sep_conv_3x3"]
CONFIG = {"ops": OPS, "nodes": 2, "repeats": 1, "beta": 0.5, "seed": 3}


def _view_data(name: str, state: st.SearchState) -> list[dict]:
    import plotly.graph_objects as go

    return figure_data(go.Figure(dsh.live_spec(name, state)))


def _assert_shows(dash: Dashboard, state: st.SearchState) -> None:
    """The figures shown hold exactly what the public views draw for ``state``, and each
    Output widget holds its figure as plotly's mime type (what JupyterLab renders)."""
    assert dash.live.shown == state
    assert figure_data(dash.heatmap) == _view_data("indicator_heatmap", state)
    assert figure_data(dash.timeline) == _view_data("pruning_timeline", state)
    assert figure_data(dash.curves) == _view_data("accuracy_curves", state)
    for panel in dash.figures.values():
        (out,) = panel.widget.outputs
        spec = out["data"][MIME]
        assert spec["data"] == figure_data(panel.figure)
        assert "width" not in spec["layout"] and spec["layout"].get("autosize") is not False
        assert spec["config"]["responsive"] is True  # each takes its panel's width
    for cell in ("reduce", "normal"):  # a hidden tab is drawn when it is selected
        dash.diagram.selected_index = list(dash.diagrams).index(cell)
        assert dash.shown_cell() == cell
        assert dash.diagrams[cell].value == dsh.diagram_svg(state, cell)


def _gated_runner(pause_after: int) -> dsh.Runner:
    """A simulated search that waits for Stop after ``pause_after`` samples: no races."""
    inner = simulated_runner(delay=0.0)

    def run(config, subscriber, stop, out):
        seen = []

        def gate(event):
            subscriber(event)
            if isinstance(event, ev.SampleTrained):
                seen.append(event)
                if len(seen) >= pause_after:
                    stop.wait(timeout=10)

        return inner(config, gate, stop, out)

    return run


def test_live_search_folds_every_event_and_matches_the_views():
    dash = Dashboard(CONFIG, runner=simulated_runner(delay=0.0))
    dash.start()
    state = dash.join(timeout=30)
    expected = simulate(ops=OPS, nodes=2, repeats=1, beta=0.5, seed=3)
    assert state.status == "completed"
    assert state.n_events == len(expected)
    assert state.genotype == st.replay(expected).genotype
    assert [s.z for s in state.samples] == [s.z for s in st.replay(expected).samples]
    _assert_shows(dash, state)
    assert dash.progress.value == 1.0
    assert "completed" in dash.status.value and "round 3/3" in dash.status.value
    assert not dash.start_button.disabled and dash.stop_button.disabled
    assert dash.error is None and dash.error_box.layout.display == "none"


def test_widget_parameters_reach_the_runner():
    seen = {}

    def runner(config, subscriber, stop, out):
        seen.update(config)

    dash = Dashboard({"data": "digits", **CONFIG}, runner=runner)
    dash.params["beta"].value = -1.5
    dash.start(seed=11, ops=["none", "sep_conv_3x3"])
    dash.join(timeout=10)
    assert seen == {"data": "digits", "ops": ["none", "sep_conv_3x3"], "nodes": 2, "repeats": 1,
                    "beta": -1.5, "seed": 11, "sample_steps": None}
    with pytest.raises(CpnasError, match="unknown dashboard parameter 'lr'"):
        dash.start(lr=0.1)


def test_every_parameter_widget_is_labelled_and_the_op_set_shows_every_op():
    dash = Dashboard(CONFIG, runner=lambda *a: None)
    labels = {k: dash.params[k].description for k in dash.params}
    assert all(labels.values()), labels
    assert labels["ops"] == "op set"
    assert dash.params["ops"].rows == len(dash.params["ops"].options) >= 8


def test_stop_ends_a_running_search_and_keeps_what_it_has():
    dash = Dashboard(CONFIG, runner=_gated_runner(pause_after=5))
    dash.start()
    assert dash.running and dash.start_button.disabled and not dash.stop_button.disabled
    deadline = time.monotonic() + 10
    while len(dash.state.samples) < 5 and time.monotonic() < deadline:
        dash.pump()
        time.sleep(0.01)
    dash.stop()
    state = dash.join(timeout=10)
    assert state.status == "stopped"
    assert 5 <= len(state.samples) < state.total_samples
    assert "stopped" in dash.status.value
    _assert_shows(dash, state)
    # round 1 (K=4) is done after 4 samples, so the leaders of round 1 give a genotype
    geno = dash.genotype()
    assert all(op != "none" for op, _ in geno.normal)


def test_one_pump_draws_once_however_many_events_are_queued(monkeypatch):
    dash = Dashboard(CONFIG)
    drawn = []
    monkeypatch.setattr(FigureOutput, "show", lambda self, fig: drawn.append(self.name))
    events = simulate(ops=OPS, nodes=2, repeats=1, beta=0.5, seed=3)
    dash.live.feed(events)
    assert dash.pump() == len(events)
    assert sorted(drawn) == ["curves", "heatmap", "timeline"]
    assert [d.reason for d in dash.live.draws] == ["first"]
    drawn.clear()
    assert dash.pump() == 0 and drawn == []  # nothing new: nothing redrawn


def test_errors_in_the_search_show_in_the_dashboard():
    def broken(config, subscriber, stop, out):
        for e in simulate(ops=OPS, nodes=2, stop_after=2):
            if not isinstance(e, ev.SearchFinished):
                subscriber(e)
        raise ValueError("the data loader broke")

    dash = Dashboard(CONFIG, runner=broken)
    dash.start()
    with pytest.raises(CpnasError, match="the search failed: ValueError: the data loader broke"):
        dash.join(timeout=10)
    state = dash.state
    assert dash.error == "ValueError: the data loader broke"
    assert "the data loader broke" in dash.error_box.value
    assert dash.error_box.layout.display == "block"
    assert len(state.samples) == 2 and not dash.start_button.disabled


def test_a_failed_search_finished_event_shows_its_text():
    events = simulate(ops=OPS, nodes=2, stop_after=1)[:-1]
    events.append(ev.SearchFinished(seq=len(events), status="failed", error="out of memory"))
    dash = Dashboard().replay(events)
    assert dash.state.status == "failed"
    assert "out of memory" in dash.error_box.value


def test_replay_steps_through_rounds_with_the_slider(tmp_path):
    events = simulate(ops=OPS, nodes=2, repeats=2, seed=5)
    log = tmp_path / "run" / "events.jsonl"
    log.parent.mkdir()
    log.write_text("".join(e.to_json() + "\n" for e in events))
    dash = Dashboard.from_run(log.parent)
    assert dash.round_slider.layout.display == "flex"
    assert (dash.round_slider.min, dash.round_slider.max) == (1, 4)  # rounds 1, 2, 3 start; the end
    final = st.replay(events)
    assert dash.state.genotype == final.genotype
    _assert_shows(dash, final)
    snaps = dsh.round_snapshots(events)
    dash.round_slider.value = 2  # the start of round 2: round 1 scored and pruned
    assert snaps[1].round == 1 and len(snaps[1].scores) == 1 and not snaps[1].samples[-1].round
    assert snaps[1] == final.at_round(1)  # one "state at round r" for the slider and the GIF
    _assert_shows(dash, snaps[1])
    assert "round 2/3" in dash.status.value


def test_replay_refuses_bad_logs_with_one_line(tmp_path):
    with pytest.raises(RunDirError, match="no event log"):
        Dashboard.from_run(tmp_path)
    bad = tmp_path / "events.jsonl"
    bad.write_text('{"type": "Nope"}\n{"type": "SearchFinished"}\n')
    with pytest.raises(RunDirError):
        Dashboard.from_run(bad)


def test_leading_genotype_of_a_stopped_search_uses_the_running_means():
    state = st.replay(simulate(ops=OPS, nodes=2, stop_after=2))
    geno = dsh.leading_genotype(state)
    # two samples ran: on every edge the favourite is the op of the sample with higher z
    best = max(state.samples, key=lambda s: s.z)
    by_edge = {e: best.arch[e] for e in state.edges if best.arch[e] != "none"}
    normal = {f"normal:{src}->{dst}": op for op, src, dst in geno.edges("normal")}
    assert normal and all(by_edge[e] == op for e, op in normal.items())
    empty = st.replay(simulate(ops=OPS, nodes=2, stop_after=0))
    with pytest.raises(CpnasError, match="has not scored a sample yet"):
        dsh.leading_genotype(empty)


def test_the_kernel_loop_pumps_and_wait_returns_the_final_state():
    async def session():
        dash = Dashboard(CONFIG, runner=simulated_runner(delay=0.005), refresh=0.02, draw_budget=None)
        dash.start()
        assert dash.live.task is not None  # the pump runs on the loop, like the kernel's
        state = await dash.wait(timeout=30)
        return dash, state

    dash, state = asyncio.run(session())
    assert state.status == "completed" and dash.live.task.done()
    _assert_shows(dash, state)


def test_the_worker_never_touches_a_widget(monkeypatch):
    touched = []
    import ipywidgets

    original = ipywidgets.Widget.send_state

    def spy(self, *args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            touched.append(type(self).__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ipywidgets.Widget, "send_state", spy)
    dash = Dashboard(CONFIG, runner=simulated_runner(delay=0.0))
    dash.start()
    dash.join(timeout=30)
    assert touched == []


def test_status_line_counts_round_sample_and_eta():
    events = simulate(ops=OPS, nodes=2, repeats=2, stop_after=5)
    state = st.replay(e for e in events if not isinstance(e, ev.SearchFinished))
    import dataclasses

    # samples 10 s apart: the 5th ended at 50 s (a mean of 10 s per sample), 13 more to go
    samples = tuple(dataclasses.replace(x, time=state.started + 10.0 * (i + 1))
                    for i, x in enumerate(state.samples))
    state = dataclasses.replace(state, samples=samples)
    line = dsh.status_line(state, now=state.started + 53.0)
    assert line.startswith("running · round 1/3 · 4 ops left per edge · sample 1/4 of sweep 2/2 "
                           "· 0:53 elapsed · ETA ")
    assert "K=" not in line and " t " not in line  # words, not the method's letters
    assert line.endswith("ETA 2:07")  # 13 * 10 s, less the 3 s the 6th has run
    # it counts down with the clock between samples, and never below the samples after this one
    assert dsh.status_line(state, now=state.started + 58.0).endswith("ETA 2:02")
    assert dsh.status_line(state, now=state.started + 90.0).endswith("ETA 2:00")


class _Clock:
    """A monotonic clock the test moves by hand (the draw policy reads time.monotonic)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_redraws_every_interval_at_every_round_end_and_at_the_end(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(live_mod.time, "monotonic", clock)
    # one event per sample (SampleTrained), so the slices below are samples
    events = [e for e in simulate(ops=OPS, nodes=2, seed=3) if not isinstance(e, ev.SampleStarted)]
    dash = Dashboard(CONFIG, interval=2.0, draw_budget=0.03)
    starts = [i for i, e in enumerate(events) if isinstance(e, ev.RoundStarted)]
    dash.live.feed(events[:3])  # SearchStarted, RoundStarted, a sample
    dash.pump()
    assert [d.reason for d in dash.live.draws] == ["first"]
    dash.live.feed(events[3:4])
    dash.pump()  # the same instant: under the interval, no redraw ...
    assert len(dash.live.draws) == 1 and "sample 2/4" in dash.status.value  # ... the status moves
    clock.now += 2.0
    dash.pump()  # nothing new since: nothing to draw
    dash.live.feed(events[4:5])
    dash.pump()
    assert [d.reason for d in dash.live.draws] == ["first", "interval"]
    dash.live.feed(events[5:starts[1] + 1])  # the end of round 1: scores, prunes, round 2
    dash.pump()
    assert dash.live.draws[-1].reason == "round"
    dash.live.feed(events[starts[1] + 1:])
    dash.pump()
    assert dash.live.draws[-1].reason == "end"
    _assert_shows(dash, st.replay(events))


def test_the_budget_caps_the_redraws_share_and_a_dear_redraw_costs_no_long_gap(monkeypatch):
    """The draw budget is credit: 3% of the time accrues (at most 10 s' worth), each redraw
    spends its cost, an interval redraw waits while it is spent. The first redraw is free."""
    clock = _Clock()
    monkeypatch.setattr(live_mod.time, "monotonic", clock)
    cost = {"s": 0.3}

    class SlowView(live_mod.NullView):
        def draw(self, old, new):
            clock.now += cost["s"]

    events = simulate(ops=OPS, nodes=2, seed=3)
    first = [i for i, e in enumerate(events) if isinstance(e, ev.SampleTrained)][0] + 1
    steps = iter(range(1, 10**6))

    def tick() -> list:
        """Something new to show (a training step), never a round end."""
        return [ev.Progress(seq=first + 1, round=0, step=next(steps), steps=10**6)]

    def run(view, seconds: float, start: int = 0) -> live_mod.LiveSearch:
        """Pump every 0.1 s for ``seconds``, with something new each time."""
        live = live_mod.LiveSearch(view=view, interval=2.0, draw_budget=0.03)
        live.feed(events[:first])
        live.pump()
        while clock.now < start + seconds:
            clock.now += 0.1
            live.feed(tick())
            live.pump()
        return live

    slow = run(SlowView(), 120.0, start=1000)
    later = slow.draws[1:]
    assert all(d.reason == "interval" for d in later) and len(later) >= 10
    spent, span = sum(d.seconds for d in later), slow.draws[-1].at + 0.3 - slow.draws[0].at
    assert spent <= 0.03 * span + 0.3  # the share holds, to within one redraw
    assert min(b.at - a.at for a, b in zip(later, later[1:])) >= 2.0
    cost["s"] = 0.0
    cheap = run(live_mod.NullView(), 20.0, start=int(clock.now) + 1)
    gaps = [round(b.at - a.at, 1) for a, b in zip(cheap.draws, cheap.draws[1:])]
    assert gaps and set(gaps) <= {2.0, 2.1}  # a cheap redraw: every 2 s (the interval; 0.1 s pumps)
    # a dear redraw (0.25 s, a round end) after a quiet stretch: the next comes 2 s later,
    # not 0.25 / 0.03 = 8.3 s later as a per-redraw budget would have it
    live = live_mod.LiveSearch(view=SlowView(), interval=2.0, draw_budget=0.03)
    cost["s"] = 0.25
    live.feed(events[:first])
    live.pump()  # first: free
    for wait in (10.0, 2.0):  # on 0.3 s of credit, then on 0.05 + 0.06
        clock.now += wait
        live.feed(tick())
        live.pump()
    assert [d.reason for d in live.draws] == ["first", "interval", "interval"]


def test_a_new_run_clears_the_last_runs_marks():
    dash = Dashboard(CONFIG, runner=simulated_runner(delay=0.0))
    dash.start(beta=2.0)
    done = dash.join(timeout=30)
    assert done.pruned
    dash.start(beta=-1.0, **{"seed": 9})
    assert dash.state.status == "empty" and dash.live.shown is None
    again = dash.join(timeout=30)
    # the second run is the new one: its own config, id and events, none of the first's
    assert again.config["beta"] == -1.0 and again.config["seed"] == 9
    assert done.config["beta"] == 2.0 and again.run_id != done.run_id
    assert dash.state.run_id == again.run_id  # the view folds the new run alone
    _assert_shows(dash, again)


def test_replay_mode_says_replay_and_hides_the_live_controls():
    dash = Dashboard().replay(simulate(ops=OPS, nodes=2, seed=5))
    assert dash.status.value.count("replay") == 1
    assert "ETA" not in dash.status.value and "running" not in dash.status.value
    assert dash.controls.layout.display == "none" and dash.progress.layout.display == "none"
    assert dash.round_slider.layout.display == "flex"
    assert (dash.round_slider.min, dash.round_slider.max) == (1, 4)


def test_a_warm_up_shows_progress_before_the_first_round():
    events = simulate(ops=OPS, nodes=2, seed=3)
    dash = Dashboard(CONFIG)
    dash.live.feed(events[:1] + [ev.Progress(seq=1, round=-1, step=40, steps=100)])
    dash.pump()
    assert "warm-up step 40/100" in dash.status.value


def test_stop_before_any_sample_gives_a_one_line_error_for_the_genotype():
    def waits_for_stop(config, subscriber, stop, out):  # a search that never gets to a sample
        events = simulate(ops=OPS, nodes=2, stop_after=0)
        for e in events[:-1]:
            subscriber(e)
        stop.wait(timeout=10)
        subscriber(ev.SearchFinished(seq=len(events), status="stopped"))

    dash = Dashboard(CONFIG, runner=waits_for_stop)
    dash.start()
    dash.stop()
    state = dash.join(timeout=10)
    assert state.status == "stopped" and not state.samples
    assert "stopped" in dash.status.value and dash.error is None
    with pytest.raises(CpnasError, match="has not scored a sample yet"):
        dash.genotype()


def test_the_controller_imports_no_widget_library():
    import subprocess
    import sys

    code = "import sys, cpviz.live; assert not {'ipywidgets', 'plotly'} & set(sys.modules), sys.modules.keys()"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_figures_are_shown_as_plotly_mime_output_without_figurewidget():
    """FigureWidget (an anywidget) must load plotly.js within 2 s in the browser or never
    render; the dashboard shows its figures as plotly's mime type in Output widgets instead."""
    import subprocess
    import sys

    import plotly.graph_objects as go

    panel = FigureOutput("heatmap", width=300)
    panel.show(go.Figure(go.Scatter(x=[0, 1], y=[float("nan"), 2.0]), layout={"height": 250}))
    (out,) = panel.widget.outputs
    assert out["output_type"] == "display_data" and out["data"]["text/plain"] == "<plotly heatmap>"
    spec = out["data"][MIME]
    assert spec["data"][0]["y"] == [None, 2.0]  # plain JSON: NaN as null
    assert spec["layout"]["width"] == 300 and panel.figure.layout.width == 300
    assert panel.widget.layout.min_height == "250px"  # the page keeps its height while it redraws
    panel.show(go.Figure(go.Bar(x=[1], y=[1])))
    assert len(panel.widget.outputs) == 1 and panel.widget.outputs[0]["data"][MIME]["data"][0]["type"] == "bar"
    # a dashboard that draws all its views never loads anywidget
    code = ("import sys; from cpviz.dashboard import Dashboard, simulated_runner\n"
            "d = Dashboard({'ops': ['none', 'skip_connect', 'max_pool_3x3'], 'nodes': 1},"
            " runner=simulated_runner(delay=0.0)); d.start(); d.join(timeout=30)\n"
            "assert d.heatmap.data and 'anywidget' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_only_the_selected_diagram_tab_is_redrawn(monkeypatch):
    dash = Dashboard(CONFIG)
    drawn = []
    real = dsh.diagram_svg
    monkeypatch.setattr(dsh, "diagram_svg", lambda state, cell: drawn.append(cell) or real(state, cell))
    events = simulate(ops=OPS, nodes=2, repeats=1, beta=0.5, seed=3)
    dash.live.feed(events[:-5])
    dash.pump()
    assert drawn == ["normal"] and "<svg" in dash.diagrams["normal"].value
    dash.diagram.selected_index = 1  # the reduce tab: drawn now, from the same state
    assert drawn == ["normal", "reduce"] and "<svg" in dash.diagrams["reduce"].value
    dash.diagram.selected_index = 0  # nothing new since: no redraw
    dash.diagram.selected_index = 1
    assert drawn == ["normal", "reduce"]
    dash.live.feed(events[-5:])
    dash.pump()  # the end: the tab on show is redrawn, the other waits
    assert drawn == ["normal", "reduce", "reduce"]


def _states(events: list) -> list[st.SearchState]:
    """Every state a live dashboard can see while ``events`` arrive one by one."""
    out, state = [], st.SearchState()
    for e in events:
        state = st.reduce(state, e)
        out.append(state)
    return out


@pytest.mark.parametrize("name", ["indicator_heatmap", "pruning_timeline", "accuracy_curves"])
def test_a_live_spec_sends_what_plotly_would_send_after_validation(name):
    """The dashboard sends plain specs, skipping plotly.py's validation (tens of ms a redraw):
    the JSON must be what ``go.Figure`` would send, at a round's start, mid-round, at a round
    end, at the end, and with NaN accuracies (a strategy with no parent)."""
    import dataclasses

    import plotly.graph_objects as go

    from cpviz.figure_output import mime_bundle

    events = simulate(ops=OPS, nodes=2, repeats=2, beta=0.5, seed=3)
    no_parent = [dataclasses.replace(e, parent_acc=float("nan")) if isinstance(e, ev.SampleTrained) else e
                 for e in events]
    states = _states(events)
    firsts = [i for i, e in enumerate(events) if isinstance(e, ev.SampleTrained)]
    prunes = [i for i in range(1, len(states)) if states[i].pruned is not states[i - 1].pruned]
    picks = [states[0], states[firsts[0]], states[firsts[3]], states[prunes[0]], states[-1],
             _states(no_parent)[-1]]
    for state in picks:
        spec = dsh.live_spec(name, state)
        sent = mime_bundle(spec)[MIME]
        assert sent == mime_bundle(go.Figure(spec))[MIME]
        assert sent["layout"]["template"]  # the look go.Figure would give it
    assert None in mime_bundle(dsh.live_spec("accuracy_curves", picks[-1]))[MIME]["data"][0]["y"]

