"""kill -9: a search killed at any point and resumed equals one that never stopped.

Real ``cpnas search`` subprocesses, on digits, with a tiny space (3 ops, 2 nodes, 1 cell,
4 channels, 2 steps per sample, T = 2: 10 sampled architectures). A watcher reads
``events.jsonl`` as it grows and sends the signal when a chosen line appears. Every
scenario runs at the same time as the others (2 cores), and each resume is the same command
again. Then each final run directory is compared with the uninterrupted run.

The bad-input checks call ``cpnas.cli.main`` in this process: they fail before any search
starts, so a subprocess would only add torch's import time.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

from cpnas import events as ev
from cpnas.errors import RunDirError
from cpnas.runs import RunDir, load_run, read_events

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SEARCH_ARGS = [
    "search", "--data", "digits", "--ops", "none,skip_connect,sep_conv_3x3", "--nodes", "2",
    "--cells", "1", "--channels", "4", "--sample-steps", "2", "--repeats", "2", "--seed", "7",
]
N_SAMPLES = 2 * (3 + 2)  # T * (K + (K-1)) with K = 3
N_SWEEPS = 2 * 2  # T sweeps in each of 2 rounds; sweep scoring checkpoints once per sweep
ROUND0_SWEEPS = 2
TIMEOUT = 240.0  # per scenario, generous: the machine is shared

Events = list[dict]
Trigger = Callable[[Events], bool]


def search_argv(out: Path, *extra: str) -> list[str]:
    return [*SEARCH_ARGS, "--out", str(out), *extra]


def _count(events: Events, kind: str) -> int:
    return sum(e["type"] == kind for e in events)


def at_start(events: Events) -> bool:
    """Before the first checkpoint: the search has only just begun."""
    return bool(events) and events[0]["type"] == "SearchStarted"


def after_checkpoint(n: int) -> Trigger:
    """Right after the n-th checkpoint of the whole log."""
    return lambda events: _count(events, "Checkpointed") >= n


def mid_sample(after: int) -> Trigger:
    """Inside a sample: a Progress line after the ``after``-th checkpoint."""

    def trigger(events: Events) -> bool:
        return _count(events, "Checkpointed") >= after and events[-1]["type"] == "Progress"

    return trigger


@dataclass
class Stage:
    trigger: Trigger | None = None  # None: let it finish
    sig: int = signal.SIGKILL
    # filled in when it ran
    returncode: int | None = None
    landed: str = ""  # the last event type in the log when the signal was sent
    output: str = ""
    last_event: dict | None = None  # the log's last line when the process had ended
    checkpoint: dict | None = None  # the checkpoint then (None: none, or unloadable)


@dataclass
class Scenario:
    name: str
    out: Path
    stages: list[Stage]
    current: int = 0
    proc: subprocess.Popen | None = None
    log_size: int = -1
    events: Events = field(default_factory=list)
    signalled: bool = False
    started: float = 0.0
    launched_ns: int = 0

    @property
    def done(self) -> bool:
        return self.current >= len(self.stages)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # One thread each: the scenarios run side by side, and every run uses the same kernels.
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _launch(sc: Scenario) -> None:
    stage = sc.stages[sc.current]
    log = open(sc.out.parent / f"{sc.name}.{sc.current}.log", "w")  # noqa: SIM115
    sc.proc = subprocess.Popen(
        [sys.executable, "-m", "cpnas.cli", *search_argv(sc.out)],
        stdout=log, stderr=subprocess.STDOUT, env=_env(), cwd=ROOT,
    )
    log.close()
    sc.signalled, sc.log_size, sc.events, sc.started = False, -1, [], time.monotonic()
    sc.launched_ns = time.time_ns()
    stage.returncode = None


def _read_log(sc: Scenario) -> None:
    path = sc.out / "events.jsonl"
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_size == sc.log_size or st.st_mtime_ns < sc.launched_ns:
        return  # unchanged, or still the previous stage's log: the resume has not begun
    sc.log_size = st.st_size
    events = []
    for line in path.read_bytes().split(b"\n"):
        try:
            events.append(json.loads(line))
        except ValueError:
            break  # a line still being written
    sc.events = events


def _poll(sc: Scenario) -> None:
    stage = sc.stages[sc.current]
    if stage.trigger is not None and not sc.signalled:
        _read_log(sc)
        if sc.events and stage.trigger(sc.events):
            sc.proc.send_signal(stage.sig)
            sc.signalled, stage.landed = True, sc.events[-1]["type"]
    rc = sc.proc.poll()
    if rc is None:
        if time.monotonic() - sc.started > TIMEOUT:
            sc.proc.kill()
            sc.proc.wait()
            raise AssertionError(f"{sc.name}: stage {sc.current} ran over {TIMEOUT} s")
        return
    stage.returncode = rc
    stage.output = (sc.out.parent / f"{sc.name}.{sc.current}.log").read_text(errors="replace")
    sc.log_size, sc.launched_ns = -1, 0
    _read_log(sc)
    stage.last_event = sc.events[-1] if sc.events else None
    try:
        stage.checkpoint = RunDir(sc.out).load_checkpoint()
    except RunDirError:
        stage.checkpoint = None
    sc.current += 1
    if not sc.done:
        _launch(sc)


def run_scenarios(scenarios: list[Scenario]) -> None:
    for sc in scenarios:
        _launch(sc)
    try:
        while not all(sc.done for sc in scenarios):
            for sc in scenarios:
                if not sc.done:
                    _poll(sc)
            time.sleep(0.003)
    finally:
        for sc in scenarios:
            if sc.proc is not None and sc.proc.poll() is None:
                sc.proc.kill()
                sc.proc.wait()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Scenario]:
    base = tmp_path_factory.mktemp("resume")
    plans = {
        "reference": [Stage()],
        # before the first checkpoint: the rerun starts afresh over the log's first lines
        "at_start": [Stage(at_start), Stage()],
        # mid-sample, in the middle of round 1
        "mid_sample": [Stage(mid_sample(ROUND0_SWEEPS + 1)), Stage()],
        # one directory, resumed again and again: right after a checkpoint (mid-round 0),
        # Ctrl-C inside a sample (a clean stop), and right after a later checkpoint
        "chain": [Stage(after_checkpoint(1)), Stage(mid_sample(2), signal.SIGINT),
                  Stage(after_checkpoint(ROUND0_SWEEPS + 1)), Stage()],
    }
    scenarios = [Scenario(name, base / name, stages) for name, stages in plans.items()]
    run_scenarios(scenarios)
    return {sc.name: sc for sc in scenarios}


# -- comparing runs --------------------------------------------------------------------------


def comparable(event: ev.Event, out: Path) -> dict:
    """The event without its times, its run's path, and its run id (checked on its own)."""
    d = event.without_time()
    d.pop("run_id")
    return json.loads(json.dumps(d).replace(str(out), "<run>"))


def test_reference_run_completes(runs) -> None:
    ref = runs["reference"]
    assert ref.stages[0].returncode == 0, ref.stages[0].output
    events = read_events(ref.out)
    assert isinstance(events[-1], ev.SearchFinished) and events[-1].status == "completed"
    assert sum(isinstance(e, ev.SampleTrained) for e in events) == N_SAMPLES
    assert sum(isinstance(e, ev.Checkpointed) for e in events) == N_SWEEPS
    assert load_run(ref.out).genotype is not None


@pytest.mark.parametrize("name", ["at_start", "mid_sample", "chain"])
def test_every_kill_happened_and_every_resume_finished(runs, name) -> None:
    sc = runs[name]
    *interrupted, final = sc.stages
    for i, stage in enumerate(interrupted):
        expected = -stage.sig
        if stage.sig == signal.SIGINT:
            # Ctrl-C is a clean stop: an exit code of its own, not death by the signal
            assert stage.returncode not in (0, -signal.SIGINT), stage.output
        else:
            assert stage.returncode == expected, f"stage {i} ended {stage.returncode}: {stage.output}"
        assert stage.landed, f"stage {i} finished before its kill point"
    assert final.returncode == 0, final.output


@pytest.mark.parametrize("name", ["at_start", "mid_sample", "chain"])
def test_resumed_run_equals_the_uninterrupted_one(runs, name) -> None:
    ref, sc = runs["reference"], runs[name]
    want, got = read_events(ref.out), read_events(sc.out)
    # read_events already refuses a duplicated or missing seq; say it plainly as well
    assert [e.seq for e in got] == list(range(len(got)))
    assert len({e.run_id for e in got}) == 1
    assert [e.z for e in got if isinstance(e, ev.SampleTrained)] == [
        e.z for e in want if isinstance(e, ev.SampleTrained)
    ]
    assert [comparable(e, sc.out) for e in got] == [comparable(e, ref.out) for e in want]
    assert RunDir(sc.out).read_genotype() == RunDir(ref.out).read_genotype()
    assert load_run(sc.out).config == load_run(ref.out).config
    assert not list(sc.out.glob(".*.tmp")), "a temp file was left behind"


def test_resume_says_so(runs) -> None:
    chain = runs["chain"]
    for stage in chain.stages[1:]:  # each of these found a checkpoint
        assert "resum" in stage.output.lower(), stage.output


def test_ctrl_c_stops_cleanly_and_resumes(runs) -> None:
    stopped = runs["chain"].stages[1]
    assert stopped.landed == "Progress"
    last = stopped.last_event
    assert last is not None and last["type"] == "SearchFinished", last
    assert last["status"] == "stopped" and last["error"] is None
    assert stopped.checkpoint is not None  # intact, and the next stage resumed from it
    # the later stages cut the stop away again: the finished log has one SearchFinished
    events = read_events(runs["chain"].out)
    assert [e.status for e in events if isinstance(e, ev.SearchFinished)] == ["completed"]


def test_a_kill_leaves_a_loadable_checkpoint(runs) -> None:
    for name in ("mid_sample", "chain"):
        for stage in runs[name].stages[:-1]:
            assert stage.checkpoint is not None, f"{name}: {stage.landed}"
            ck = stage.checkpoint
            assert stage.last_event["seq"] >= ck["seq"] - 1  # the log is never behind it


# -- refused resumes change nothing ------------------------------------------------------------


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


def cli(argv: list[str], capsys, quiet: bool = True) -> tuple[int, str]:
    from cpnas.cli import main

    rc = main([*argv, "--quiet"] if quiet and argv[0] == "search" else argv)
    err = capsys.readouterr().err.strip()
    return rc, err


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def finished_copy(runs, tmp_path) -> Path:
    """A copy of the finished reference run (it still holds its last checkpoint)."""
    dst = tmp_path / "run"
    shutil.copytree(runs["reference"].out, dst)  # copy2 keeps the mtimes
    assert (dst / "checkpoint.pt").is_file()
    return dst


def test_resume_with_another_config_is_refused(finished_copy: Path, capsys) -> None:
    before = snapshot(finished_copy)
    rc, err = cli(search_argv(finished_copy, "--beta", "0.9", "--nodes", "3"), capsys)
    assert rc == 2
    line = _one_line_error(err)
    assert "beta: 0.5 -> 0.9" in line and "nodes: 2 -> 3" in line
    assert snapshot(finished_copy) == before


def test_refused_resume_prints_only_its_error_line(finished_copy: Path, capsys) -> None:
    # With the progress bar on (the default), a refusal must still be one line on stderr.
    before = snapshot(finished_copy)
    rc, err = cli(search_argv(finished_copy, "--beta", "0.9"), capsys, quiet=False)
    assert rc == 2
    assert "beta: 0.5 -> 0.9" in _one_line_error(err)
    assert snapshot(finished_copy) == before


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _corrupt(kind: str, path: Path, marker: Path) -> None:
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "other_format":
        path.write_text('{"this is": "json, not a checkpoint"}')
    elif kind == "pickle_with_code":
        path.write_bytes(pickle.dumps({"state": _Exploit(marker)}))
    elif kind == "torch_with_code":
        torch.save({"format": "cpnas.checkpoint", "version": 1, "state": _Exploit(marker)}, path)


@pytest.mark.parametrize("kind", ["empty", "other_format", "pickle_with_code", "torch_with_code"])
def test_corrupt_checkpoint_is_refused_by_the_cli(finished_copy, tmp_path, capsys, kind) -> None:
    marker = tmp_path / "code-ran"
    _corrupt(kind, finished_copy / "checkpoint.pt", marker)
    before = snapshot(finished_copy)
    rc, err = cli(search_argv(finished_copy), capsys)
    assert rc == 2
    assert "checkpoint" in _one_line_error(err)
    assert not marker.exists()
    assert snapshot(finished_copy) == before


def test_events_of_another_schema_are_refused(finished_copy: Path, capsys) -> None:
    log = finished_copy / "events.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    first = json.loads(lines[0])
    first["schema"] = 2
    log.write_text(json.dumps(first) + "\n" + "".join(lines[1:]))
    before = snapshot(finished_copy)
    for argv in (search_argv(finished_copy), ["report", str(finished_copy)]):
        rc, err = cli(argv, capsys)
        assert rc == 2, argv
        assert "schema version 2" in _one_line_error(err)
        assert snapshot(finished_copy) == before  # no cut log, no half report.html


def test_genotype_file_that_is_not_a_genotype_is_refused(finished_copy, tmp_path, capsys) -> None:
    (finished_copy / "genotype.json").write_text('{"genotype": "Genotype(normal=[(\'x\', 9)])"}')
    before = snapshot(finished_copy)
    cells = tmp_path / "cells"
    for argv in (["render", str(finished_copy), "--out", str(cells)],
                 ["train", str(finished_copy), "--epochs", "1"]):
        rc, err = cli(argv, capsys)
        assert rc == 2, argv
        assert "genotype" in _one_line_error(err)
        assert snapshot(finished_copy) == before
    assert not cells.exists() or not list(cells.iterdir())


@pytest.mark.parametrize("where", ["a_file", "under_a_file", "proc", "under_proc"])
def test_bad_run_dirs_are_refused_by_the_cli(tmp_path: Path, capsys, where: str) -> None:
    f = tmp_path / "a_file"
    f.write_text("keep me")
    out = {"a_file": f, "under_a_file": f / "run", "proc": Path("/proc"),
           "under_proc": Path("/proc/cpnas-run")}[where]
    rc, err = cli(search_argv(out), capsys)
    assert rc == 2
    assert str(out) in _one_line_error(err)
    assert f.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
