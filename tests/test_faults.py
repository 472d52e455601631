"""Faults during a search: each ends it with one line (or a stop), loses nothing, and a later
resume gives exactly the uninterrupted run: ``tests/fixtures/run_v1``'s config, run here
(the ``reference_run`` fixture, tests/conftest.py; the fixture's own floats came from
another CPU).

In-process where an injected error does the job; real processes for the file-size limit
(RLIMIT_FSIZE: as root, chmod does not stop writes) and for signals.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eventcmp import comparable
from procs import children, wait_gone

import cpnas
from cpnas import events as ev
from cpnas.cli import main
from cpnas.errors import NonFiniteError
from cpnas.runs import RunDir, read_events
from cpnas.runs.log import Recorder

ROOT = Path(__file__).resolve().parents[1]
FINISHED = Path(__file__).parent / "fixtures" / "run_v1"
# The fixture's own config.json, read as stored (keys added since take their LEGACY values),
# so these runs reproduce the 0.1.0 fixture whatever today's defaults are.
SEARCH = ["search", "--config", str(FINISHED / "config.json"), "--quiet"]


def assert_resumes_to_the_reference(run: Path, capsys, ref) -> None:
    capsys.readouterr()
    assert main([*SEARCH, "--out", str(run)]) == 0, capsys.readouterr().err
    got = cpnas.load_run(run)
    assert str(got.genotype) == str(ref.genotype)
    assert comparable(got.events) == comparable(ref.events)


def one_error_line(err: str, fragment: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], err
    assert "Traceback" not in err


def assert_strict_json(log: Path) -> None:
    """Every line is JSON without NaN or Infinity (which JSON does not have)."""
    def refuse(constant: str):
        raise AssertionError(f"{constant} in {log}")

    for line in log.read_text().splitlines():
        json.loads(line, parse_constant=refuse)


class _FullDisk:
    """A log file whose writes fail as on a full disk."""

    def __init__(self, real) -> None:
        self.real = real

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str):
        return getattr(self.real, name)


def test_a_failed_log_write_ends_the_search_in_one_line_and_resumes_exactly(
        tmp_path, monkeypatch, capsys, reference_run) -> None:
    real = Recorder.on_event

    def on_event(self, event):
        if event.seq == 14 and self._file is not None:  # the disk fills up once
            self._file = _FullDisk(self._file)
        real(self, event)

    monkeypatch.setattr(Recorder, "on_event", on_event)
    run = tmp_path / "run"
    assert main([*SEARCH, "--out", str(run)]) == 2
    one_error_line(capsys.readouterr().err, "cannot append to the event log (No space left on "
                                            "device); it ends at seq 13")
    assert [e.seq for e in read_events(run)] == list(range(14))  # the log stops, whole
    assert RunDir(run).load_checkpoint()["seq"] <= 14  # never ahead of the log
    monkeypatch.undo()
    assert_resumes_to_the_reference(run, capsys, reference_run)


def test_a_failed_genotype_write_ends_failed_and_resumes_exactly(tmp_path, monkeypatch, capsys,
                                                                 reference_run) -> None:
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if str(dst).endswith("genotype.json"):
            raise OSError(errno.EIO, "Input/output error")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    run = tmp_path / "run"
    assert main([*SEARCH, "--out", str(run)]) == 2
    one_error_line(capsys.readouterr().err, "genotype.json: cannot write it (Input/output error)")
    last = read_events(run)[-1]
    assert isinstance(last, ev.SearchFinished) and last.status == "failed"
    assert not (run / "genotype.json").exists()
    monkeypatch.undo()
    assert_resumes_to_the_reference(run, capsys, reference_run)


def test_a_run_directory_deleted_mid_run_ends_in_one_line(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    seen = []

    def vandal(event: ev.Event) -> None:
        if isinstance(event, ev.Checkpointed):
            seen.append(event)
            if len(seen) == 2:
                shutil.rmtree(run)

    cfg = cpnas.SearchConfig.from_dict(cpnas.load_run(FINISHED).config)
    with pytest.raises(cpnas.RunDirError, match="checkpoint.pt: cannot write there"):
        cpnas.search(cfg, subscribers=[vandal], out=run)
    assert not run.exists()


def test_nan_losses_end_failed_and_never_reach_json(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main([*SEARCH, "--lr", "1e30", "--out", str(run)]) == 2
    one_error_line(capsys.readouterr().err, "child_loss is nan")
    assert_strict_json(run / "events.jsonl")
    last = read_events(run)[-1]
    assert isinstance(last, ev.SearchFinished) and last.status == "failed"
    assert not (run / "genotype.json").exists()


def test_an_infinite_score_is_refused_before_it_is_written(monkeypatch, tmp_path) -> None:
    from cpnas import train

    real = train.CPTrainer.train_sample

    def inf_acc(self, *args, **kwargs):
        return dataclasses.replace(real(self, *args, **kwargs), child_acc=float("inf"))

    monkeypatch.setattr(train.CPTrainer, "train_sample", inf_acc)
    cfg = cpnas.SearchConfig.from_dict(cpnas.load_run(FINISHED).config)
    with pytest.raises(NonFiniteError, match="is inf"):
        cpnas.search(cfg, out=tmp_path / "run")
    assert_strict_json(tmp_path / "run" / "events.jsonl")


def test_search_started_records_its_provenance(tmp_path) -> None:
    cfg = cpnas.SearchConfig.from_dict(cpnas.load_run(FINISHED).config)
    started = cpnas.search(cfg, out=tmp_path / "run").events[0]
    prov = started.provenance
    assert prov["cpnas"] == cpnas.__version__ and prov["world_size"] == 1
    assert prov["device"] == started.device and prov["threads"] >= 1
    assert isinstance(prov["command"], list) and "torch" in prov and "git_commit" in prov
    # the machine, which says why two runs' floats may differ (docs/runs.md)
    import torch
    assert prov["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert isinstance(prov["cpu"], str) and prov["cpu"] and prov["machine"]
    assert prov["gpu"] is None  # a CPU run names no GPU
    assert read_events(tmp_path / "run")[0].provenance == prov


def test_a_lost_rank_is_one_line_naming_it() -> None:
    """What gloo raises in the survivor when its peer died (kill -9 of one rank) becomes one
    line naming the lost rank; any other error stays itself (a bug is still a traceback)."""
    from cpnas.distributed import Dist, peer_lost
    from cpnas.errors import PeerLostError

    gloo = RuntimeError("[../third_party/gloo/gloo/transport/tcp/pair.cc:534] Connection closed "
                        "by peer [127.0.0.1]:41327")
    lost = peer_lost(gloo, Dist(rank=0, world_size=2))
    assert isinstance(lost, PeerLostError) and "\n" not in str(lost)
    assert str(lost).startswith("rank 1 was lost (Connection closed by peer")
    assert "rank 0 stops too" in str(lost) and "run the same command to resume" in str(lost)
    assert "one of ranks 0, 2, 3" in str(peer_lost(gloo, Dist(rank=1, world_size=4)))
    assert peer_lost(RuntimeError("shape mismatch"), Dist(rank=0, world_size=2)) is None
    assert peer_lost(gloo, Dist()) is None  # one process has no peers


# -- real processes ---------------------------------------------------------------------------


def _cli(out: Path, preexec=None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "cpnas.cli", *SEARCH, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
                            preexec_fn=preexec)


def _wait_for_line(log: Path, kind: str, count: int, proc: subprocess.Popen) -> None:
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if log.exists() and log.read_text().count(f'"type":"{kind}"') >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"no {count} x {kind} in the log (exit {proc.poll()})")


def _file_size_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))


@pytest.mark.slow
def test_a_file_size_limit_at_the_checkpoint_ends_failed_in_one_line(tmp_path, capsys,
                                                                    reference_run) -> None:
    run = tmp_path / "run"
    proc = _cli(run, preexec=_file_size_limit)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err
    one_error_line(err, "checkpoint.pt: cannot write it (File too large)")
    assert not (run / "checkpoint.pt").exists() and not list(run.glob(".checkpoint.pt.*"))
    last = read_events(run)[-1]
    assert isinstance(last, ev.SearchFinished) and last.status == "failed"
    assert_resumes_to_the_reference(run, capsys, reference_run)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_at_a_step_boundary_and_resumes_exactly(signum, tmp_path, capsys,
                                                               reference_run) -> None:
    run = tmp_path / "run"
    proc = _cli(run)
    _wait_for_line(run / "events.jsonl", "Checkpointed", 2, proc)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err
    last = read_events(run)[-1]
    assert isinstance(last, ev.SearchFinished) and last.status == "stopped"
    assert_resumes_to_the_reference(run, capsys, reference_run)


@pytest.mark.slow
def test_a_second_signal_exits_at_once_and_the_run_still_resumes(tmp_path, capsys,
                                                                 reference_run) -> None:
    run = tmp_path / "run"
    proc = _cli(run)
    _wait_for_line(run / "events.jsonl", "Checkpointed", 2, proc)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=240)
    assert proc.returncode == 128 + signal.SIGTERM
    assert_resumes_to_the_reference(run, capsys, reference_run)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_a_study_killed_with_sigkill_leaves_no_worker_running(tmp_path) -> None:
    """``cpnas study --jobs 2`` killed -9: its two workers and the resource tracker end too
    (within seconds: each worker polls its parent, cpnas.parent), instead of running their
    searches to the end."""
    study = tmp_path / "study"
    code = ("import sys; from cpnas.study import run_study; from tests.test_study import TINY; "
            "run_study(TINY, sys.argv[1], jobs=2)")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code, str(study)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:  # both workers are searching
        if len(list(study.glob("searches/*/events.jsonl"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read()
    kids = children(proc.pid)
    assert len(kids) >= 3, kids  # 2 workers and the resource tracker
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = wait_gone(kids, 30)
    for pid in left:  # never leave them behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == [], "still running 30 s after the study was killed"
