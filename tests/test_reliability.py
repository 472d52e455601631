"""Issue 11's guarantees that are not a single refusal: one writer, old runs keeping their
ids under new config keys, integrity, immutable events."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from eventcmp import comparable

import cpnas
from cpnas import config as config_mod
from cpnas import engine
from cpnas import events as ev
from cpnas.cli import main
from cpnas.errors import RunDirError
from cpnas.runs import RunDir, read_events
from cpnas.runs.lock import LOCK_NAME, RunLock

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
# The fixture's own config.json first: keys added since release 0.1.0 take their LEGACY value
# (today's defaults differ, issue 10); the flags repeat what it holds.
SEARCH = ["search", "--config", str(FIXTURES / "run_v1" / "config.json"), "--data", "digits", "--ops", "none,skip_connect,sep_conv_3x3", "--nodes", "2",
          "--cells", "1", "--channels", "4", "--sample-steps", "2", "--repeats", "2", "--seed",
          "7", "--quiet"]
RUN_ID = "ed3fd15b96b4"


def copy_run(name: str, tmp: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp / name))


# -- one writer -------------------------------------------------------------------------------


def test_a_second_lock_is_refused_naming_the_holder(tmp_path: Path) -> None:
    held = RunLock(tmp_path)
    with pytest.raises(RunDirError, match=rf"another search is writing this run \(pid {os.getpid()} on "):
        RunLock(tmp_path)
    held.release()
    RunLock(tmp_path).release()  # free again


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    code = ("import sys, time; from cpnas.runs.lock import RunLock; "
            "RunLock(__import__('pathlib').Path(sys.argv[1])); print('held', flush=True); time.sleep(60)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                            env=env, text=True)
    assert proc.stdout.readline().strip() == "held"
    with pytest.raises(RunDirError, match=f"pid {proc.pid}"):
        RunLock(tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    RunLock(tmp_path).release()  # the kernel dropped the lock with the process


def test_readers_read_a_locked_run(tmp_path: Path) -> None:
    run = copy_run("run_v1", tmp_path)
    held = RunLock(run)
    try:
        assert cpnas.load_run(run).status == "completed"
        assert main(["report", str(run), "--out", str(tmp_path / "r.html")]) == 0
    finally:
        held.release()


@pytest.mark.slow
def test_two_searches_started_together_one_runs_and_equals_a_solo_run(tmp_path: Path,
                                                                       reference_run) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "cpnas.cli", *SEARCH, "--out", str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert refused.strip().splitlines() == [refused.strip()]
    assert "another search is writing this run (pid " in refused
    solo = reference_run  # the same search, run alone on this machine
    both = cpnas.load_run(out)
    assert str(both.genotype) == str(solo.genotype)
    assert comparable(both.events) == comparable(solo.events)


def test_a_refused_search_leaves_no_lock_file_and_no_directory(tmp_path: Path) -> None:
    run = copy_run("run_v1", tmp_path)
    assert main([*SEARCH, "--beta", "0.9", "--out", str(run)]) == 2
    assert not (run / LOCK_NAME).exists()
    assert main([*SEARCH, "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "n")]) == 2
    assert not (tmp_path / "n").exists()


# -- old runs keep their ids ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _ConfigWithANewKey(config_mod.SearchConfig):
    made_up: int = 0  # a key "added after 0.1.0"


@pytest.fixture
def new_key(monkeypatch):
    """A release whose config gained ``made_up``; set LEGACY["made_up"] in the test."""
    monkeypatch.setattr(config_mod, "SearchConfig", _ConfigWithANewKey)
    monkeypatch.setattr(engine, "SearchConfig", _ConfigWithANewKey)
    monkeypatch.setattr(config_mod, "LEGACY", dict(config_mod.LEGACY))  # today's keys stay
    return config_mod.LEGACY


def test_an_old_run_keeps_its_id_and_resumes_after_a_new_key(new_key, tmp_path: Path,
                                                              resumed_mid_run) -> None:
    new_key["made_up"] = 0  # the new key's default is the old behaviour
    run = copy_run("run_v1_mid", tmp_path)
    stored = RunDir(run).read_config()
    assert stored["made_up"] == 0  # filled from LEGACY
    assert engine.run_id_of(_ConfigWithANewKey.from_dict(stored)) == RUN_ID
    assert main([*SEARCH, "--out", str(run)]) == 0
    resumed = cpnas.load_run(run)
    assert {e.run_id for e in resumed.events} == {RUN_ID}
    # exactly the same fixture resumed on this machine before the key existed
    assert comparable(resumed.events) == comparable(resumed_mid_run.events)


def test_an_old_run_is_refused_when_the_new_key_would_change_it(new_key, tmp_path, capsys):
    new_key["made_up"] = 1  # the old behaviour is 1, today's default 0: not the same search
    run = copy_run("run_v1_mid", tmp_path)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in run.iterdir())
    flags = [a for i, a in enumerate(SEARCH) if "--config" not in SEARCH[max(0, i - 1):i + 1]]
    assert main([*flags, "--out", str(run)]) == 2  # flags only: today's defaults elsewhere
    assert "made_up: 1 -> 0" in capsys.readouterr().err
    assert sorted((p.name, p.stat().st_mtime_ns) for p in run.iterdir()) == before


def test_config_json_carries_its_format_version(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "r")
    rd.write_config({"nodes": 2})
    assert json.loads(rd.config_path.read_text())["config_version"] == config_mod.CONFIG_VERSION
    assert rd.read_config() == {**config_mod.LEGACY, "nodes": 2}  # LEGACY fills the rest


# -- integrity --------------------------------------------------------------------------------


def test_checkpoint_round_trips_with_its_run_id(tmp_path: Path) -> None:
    import torch

    rd = RunDir(tmp_path / "r")
    rd.save_checkpoint({"w": torch.arange(5), "run_id": "abc"}, run_id="abc")
    assert rd.load_checkpoint(run_id="abc")["w"].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(RunDirError, match="belongs to run 'abc'"):
        rd.load_checkpoint(run_id="xyz")


def test_a_version_1_checkpoint_still_loads() -> None:
    state = RunDir(FIXTURES / "run_v1_mid").load_checkpoint(run_id=RUN_ID)
    assert state["run_id"] == RUN_ID and state["seq"] == 17


# -- immutable events -------------------------------------------------------------------------


def test_events_are_immutable_all_the_way_down() -> None:
    e = ev.OpPruned(round=0, edge="normal:0->2", op="none", alive=["skip_connect"])
    g = ev.GenotypeDerived(edges={"normal:0->2": {"op": "skip_connect", "ev": 0.5}})
    for mutate in (lambda: e.alive.append("x"), lambda: e.alive.__setitem__(0, "x"),
                   lambda: g.edges.pop("normal:0->2"),
                   lambda: g.edges["normal:0->2"].update(op="none")):
        with pytest.raises(TypeError, match="immutable"):
            mutate()
    assert e.alive == ["skip_connect"] and g.edges["normal:0->2"]["op"] == "skip_connect"
    assert ev.event_from_json(g.to_json()) == g
    assert pickle.loads(pickle.dumps(g)) == g and copy.deepcopy(e) == e


def test_a_subscriber_that_mutates_events_cannot_change_the_result(tmp_path: Path,
                                                                  reference_run) -> None:
    def vandal(event: ev.Event) -> None:
        if isinstance(event, ev.OpPruned):
            event.alive.clear()

    cfg = cpnas.SearchConfig.from_dict(cpnas.load_run(FIXTURES / "run_v1").config)
    with pytest.warns(RuntimeWarning, match="immutable"):
        result = cpnas.search(cfg, subscribers=[vandal], out=tmp_path / "r")
    assert str(result.genotype) == str(reference_run.genotype)


def test_a_log_is_read_whole_or_refused(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    shutil.copy(FIXTURES / "run_v1" / "events.jsonl", log)
    assert len(read_events(log)) == 67
