"""The engine end to end on tiny configs (3 ops, 2 nodes, 2 cells, 2 steps per sample)."""

import threading

import pytest
import torch
from eventcmp import comparable

from cpnas import events as ev
from cpnas.config import SearchConfig
from cpnas.engine import search
from cpnas.errors import RunDirError
from cpnas.runs import read_events

TINY = dict(ops=("none", "skip_connect", "sep_conv_3x3"), nodes=2, cells=2, channels=4,
            sample_steps=2, batch_size=64, repeats=1, warmup_steps=4, device="cpu")


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    return search(SearchConfig(**TINY), out=out)


def test_event_stream_shape(full_run):
    events = full_run.events
    assert [e.seq for e in events] == list(range(len(events)))
    assert isinstance(events[0], ev.SearchStarted) and events[0].schema == ev.SCHEMA_VERSION
    assert isinstance(events[-1], ev.SearchFinished) and events[-1].status == "completed"
    types = [e.type for e in events]
    assert types.count("SampleTrained") == 3 + 2
    assert types.count("RoundStarted") == types.count("RoundScored") == 2
    assert types.count("OpPruned") == 2 * 10
    assert types.count("GenotypeDerived") == 1
    assert len({e.run_id for e in events}) == 1
    _checkpoint_after_each_sweep(events, sweep=True)


def _checkpoint_after_each_sweep(events, sweep):
    """Sweep scoring: a sweep trains its K samples (Progress), then scores all K, then one
    checkpoint. Without it, each sample trains, is scored and is checkpointed in turn."""
    k_of = {e.round: e.K for e in events if isinstance(e, ev.RoundStarted)}
    samples = [e for e in events if isinstance(e, ev.SampleTrained)]
    cks = [e for e in events if isinstance(e, ev.Checkpointed)]
    last = [e for e in samples if e.s == k_of[e.round] - 1]
    assert [(c.round, c.t, c.s) for c in cks] == [(e.round, e.t, e.s) for e in (last if sweep else samples)]
    for i, e in enumerate(events):
        if isinstance(e, ev.SampleTrained):
            nxt = [x for x in events[i + 1:] if not isinstance(x, ev.Progress)][0]
            if sweep and e.s < k_of[e.round] - 1:  # the sweep's next score, no training between
                assert isinstance(nxt, ev.SampleTrained) and nxt.s == e.s + 1
                assert events[i + 1] is nxt
            else:
                assert isinstance(nxt, ev.Checkpointed) and (nxt.round, nxt.t, nxt.s) == (e.round, e.t, e.s)


@pytest.mark.parametrize("scoring", ["sweep", "sample"])
def test_each_sample_is_announced_as_it_starts_training(full_run, tmp_path, scoring):
    """SampleStarted carries the architecture of every sample once, before its training (its
    Progress) and before its SampleTrained: under sweep scoring the sweep's K announcements
    come first, then its K scores. Old configs (announce_samples false) emit none."""
    events = full_run.events if scoring == "sweep" else \
        search(SearchConfig(**TINY, scoring=scoring), out=tmp_path / scoring).events
    started = [e for e in events if isinstance(e, ev.SampleStarted)]
    trained = [e for e in events if isinstance(e, ev.SampleTrained)]
    key = lambda e: (e.round, e.t, e.s)  # noqa: E731
    assert [(key(e), e.arch) for e in started] == [(key(e), e.arch) for e in trained]
    pos = {id(e): i for i, e in enumerate(events)}
    for a, b in zip(started, trained):
        progress = [e for e in events if isinstance(e, ev.Progress) and key(e) == key(a)]
        assert progress and all(pos[id(a)] < pos[id(p)] for p in progress)
        assert pos[id(a)] < pos[id(b)]
    if scoring == "sweep":  # a sweep of K = 3: three announced, then three scored
        kinds = [e.type for e in events if isinstance(e, (ev.SampleStarted, ev.SampleTrained))]
        assert kinds[:6] == ["SampleStarted"] * 3 + ["SampleTrained"] * 3
    legacy = search(SearchConfig(**TINY, announce_samples=False)).events
    assert not any(isinstance(e, ev.SampleStarted) for e in legacy)


def test_per_sample_scoring_checkpoints_every_sample(tmp_path):
    res = search(SearchConfig(**TINY, scoring="sample"), out=tmp_path / "legacy")
    _checkpoint_after_each_sweep(res.events, sweep=False)


def test_result_and_files(full_run):
    assert full_run.status == "completed" and full_run.genotype is not None
    derived = [e for e in full_run.events if isinstance(e, ev.GenotypeDerived)][0]
    assert derived.genotype == str(full_run.genotype)
    assert set(derived.edges) == set(SearchConfig(**TINY).space.edges)
    last = [e for e in full_run.events if isinstance(e, ev.SampleTrained) and e.round == 1]
    assert full_run.child_acc == pytest.approx(sum(e.child_acc for e in last) / 2)
    assert full_run.parent_acc == pytest.approx(sum(e.parent_acc for e in last) / 2)
    logged = read_events(full_run.out)
    assert comparable(logged) == comparable(full_run.events)
    assert (full_run.out / "genotype.json").is_file() and (full_run.out / "config.json").is_file()


def test_each_sample_reports_its_real_seconds(full_run):
    from cpnas.frames import samples_frame

    assert all(e.seconds > 0 for e in full_run.samples)
    assert (samples_frame(read_events(full_run.out))["seconds"] > 0).all()


def test_same_seed_same_events(full_run):
    again = search(SearchConfig(**TINY))
    twice = search(SearchConfig(**TINY))
    assert comparable(again.events) == comparable(twice.events)
    no_seq = [{k: v for k, v in e.items() if k != "seq"} for e in comparable(full_run.events)
              if e["type"] != "Checkpointed"]  # a run without a directory takes no checkpoints
    assert [{k: v for k, v in e.items() if k != "seq"} for e in comparable(again.events)] == no_seq
    other = search(SearchConfig(**{**TINY, "seed": 1}))
    assert [e.z for e in other.samples] != [e.z for e in again.samples]


@pytest.mark.parametrize("stop_at", [1, 4, 7])
def test_stop_then_resume_matches_an_uninterrupted_run(full_run, tmp_path, stop_at):
    """Stop after `stop_at` training steps (mid-sample or between samples), then resume."""
    stop = threading.Event()
    steps = [0]

    def count(e):
        if isinstance(e, ev.Progress):
            steps[0] += 1
            if steps[0] == stop_at:
                stop.set()

    first = search(SearchConfig(**TINY), subscribers=[count], out=tmp_path, stop=stop)
    assert first.status == "stopped" and first.genotype is None
    assert first.events[-1].status == "stopped"
    seen = []
    resumed = search(SearchConfig(**TINY), subscribers=[seen.append], out=tmp_path)
    assert resumed.status == "completed"
    assert resumed.genotype == full_run.genotype
    assert [e.z for e in resumed.samples] == [e.z for e in full_run.samples]
    assert comparable(read_events(tmp_path)) == comparable(full_run.events)
    # replayed + live: the whole stream, its SearchStarted marked as resumed (not in the log)
    from_checkpoint = any(isinstance(e, ev.Checkpointed) for e in first.events)
    assert seen[0].resumed is resumed.events[0].resumed is from_checkpoint
    assert not full_run.events[0].resumed
    assert comparable(seen)[1:] == comparable(full_run.events)[1:]
    assert {**comparable(seen)[0], "resumed": False} == comparable(full_run.events)[0]
    assert not read_events(tmp_path)[0].resumed
    assert sum(isinstance(e, ev.SearchStarted) for e in read_events(tmp_path)) == 1


def test_ctrl_c_is_a_clean_stop(tmp_path):
    def interrupt(e):  # in round 1, after round 0's sweep was checkpointed
        if isinstance(e, ev.SampleTrained) and (e.round, e.s) == (1, 0):
            raise KeyboardInterrupt

    res = search(SearchConfig(**TINY), subscribers=[interrupt], out=tmp_path)
    assert res.status == "stopped"
    assert (tmp_path / "checkpoint.pt").is_file()


def test_a_failing_subscriber_is_detached_and_the_run_goes_on(full_run):
    calls = []

    def broken(e):
        calls.append(e)
        raise ValueError("viewer bug")

    with pytest.warns(RuntimeWarning, match="viewer bug"):
        res = search(SearchConfig(**TINY), subscribers=[broken])
    assert len(calls) == 1 and res.status == "completed"
    assert res.genotype == full_run.genotype


def test_an_engine_error_ends_with_failed_and_is_reraised(monkeypatch):
    from cpnas import train

    def boom(self, arch, idx):
        raise RuntimeError("out of\nmemory")

    monkeypatch.setattr(train.CPTrainer, "step", boom)
    seen = []
    with pytest.raises(RuntimeError):
        search(SearchConfig(**TINY), subscribers=[seen.append])
    assert seen[-1].type == "SearchFinished" and seen[-1].status == "failed"
    assert seen[-1].error == "out of memory"


def test_resume_with_another_config_is_refused_and_changes_nothing(full_run):
    before = {p.name: p.read_bytes() for p in full_run.out.iterdir()}
    with pytest.raises(RunDirError, match="beta"):
        search(SearchConfig(**{**TINY, "beta": 0.9}), out=full_run.out)
    assert {p.name: p.read_bytes() for p in full_run.out.iterdir()} == before


def test_checkpoint_holds_plain_state(full_run):
    import io

    from cpnas.runs.checkpoint import payload_bytes

    outer = torch.load(full_run.out / "checkpoint.pt", weights_only=True)
    assert outer["run_id"] == full_run.events[0].run_id
    state = torch.load(io.BytesIO(payload_bytes(outer)), weights_only=True)
    assert {"trainer", "rng", "loop", "seq", "run_id", "elapsed"} <= set(state)
    assert set(state["rng"]) == {"python", "numpy", "torch", "cuda"}
    # The last checkpoint follows the last sample: the last round's scoring is still to come.
    assert (state["loop"]["round"], state["loop"]["t"]) == (1, 1)
    assert full_run.survivors["normal:0->2"] in state["loop"]["alive"]["normal:0->2"]
    assert len(state["loop"]["alive"]["normal:0->2"]) == 2


def test_digits_search_carries_signal():
    """The one real-data integration test: a short search on digits learns."""
    cfg = SearchConfig(ops=("none", "max_pool_3x3", "sep_conv_3x3"), nodes=2, cells=2,
                       sample_steps=12, batch_size=64, lr=0.01, device="cpu")
    res = search(cfg)
    assert res.status == "completed"
    child = [e.child_acc for e in res.samples]
    parent = [e.parent_acc for e in res.samples]
    assert max(parent) > 0.6 and sum(child) / len(child) > 0.25  # chance is 0.1


def test_a_sample_trained_ahead_counts_its_training_in_its_seconds(tmp_path, monkeypatch):
    """Sweep scoring trains a sweep's samples, then validates them: a SampleTrained's
    ``seconds`` still holds its training (on a clock that ticks 1 s per reading, training
    and validation each read it twice: at least 2 s, where validation alone gives 1)."""
    import itertools
    import time

    ticks = itertools.count()
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(ticks)))
    res = search(SearchConfig(**{**TINY, "scoring": "sweep"}))
    assert all(e.seconds >= 2 for e in res.samples)


# -- declared hooks ---------------------------------------------------------------------------


def test_every_event_has_one_documented_hook_and_a_misspelt_one_is_refused():
    import inspect

    from cpnas.errors import ConfigError
    from cpnas.events import EVENT_TYPES, HOOKS, Callback, check_subscriber

    assert set(HOOKS) == set(EVENT_TYPES)
    for hook in HOOKS.values():
        method = getattr(Callback, hook)
        assert inspect.getdoc(method), f"{hook} has no docstring"
    seen = []

    class Good(Callback):
        def on_sample_trained(self, e):
            seen.append(e.type)

    class Misspelt(Callback):
        def on_sampel_trained(self, e):
            seen.append(e.type)

    class NotACallback:  # a plain object with on_event is checked too
        def on_event(self, e):
            pass

        def on_round_ended(self, e):
            pass

    check_subscriber(Good())
    check_subscriber(NotACallback.on_event)  # a plain callable has nothing to check
    for bad, name in ((Misspelt(), "on_sampel_trained"), (NotACallback(), "on_round_ended")):
        with pytest.raises(ConfigError, match=name):
            check_subscriber(bad)
    with pytest.raises(ConfigError, match="on_sampel_trained"):
        search(TINY, subscribers=[Misspelt()])
    events = []
    result = search(TINY, subscribers=[Good(), events.append])
    assert seen == [e.type for e in events if e.type == "SampleTrained"] and seen
    assert result.status == "completed"
