"""``cpnas tune``: an Optuna study over search knobs, shared by processes through one storage.

Tiny settings: digits, 3 ops, 2 nodes, 1 cell, cpnas study's --quick training cut to 1 epoch,
T and the steps per sample in 1..2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from cpnas import cli  # noqa: E402
from cpnas.tune import _RoundReporter, make_objective, parse_range, tune_setup  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--quick", "--epochs", "1", "--set", "nodes=2", "--set", "cells=1",
        "--set", 'ops=["none","skip_connect","sep_conv_3x3"]', "--repeats", "1:2",
        "--sample-steps", "1:2"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_two_processes_share_one_study(tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    argv = [sys.executable, "-m", "cpnas.cli", "tune", *TINY, "--storage", storage,
            "--study-name", "shared", "--n-trials", "2", "--pruner", "none"]
    procs = [subprocess.Popen([*argv, "--out", str(tmp_path / f"machine{i}")], cwd=tmp_path,
                              env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
        assert f"optuna-dashboard {storage}" in out
    study = optuna.load_study(study_name="shared", storage=storage)
    trials = study.trials
    assert len(trials) == 4  # --n-trials per process, as Optuna's optimize
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    dirs = set()
    for t in trials:
        assert 0.0 <= t.value <= 1.0
        assert set(t.params) == {"beta", "repeats", "sample_steps", "lr"}
        run_dir = Path(t.user_attrs["run_dir"])
        dirs.add(run_dir)
        assert run_dir.name == f"trial-{t.number:04d}"
        result = json.loads((run_dir / "standalone.json").read_text())
        assert result["mean"] == pytest.approx(t.value)
        assert json.loads((run_dir / "genotype.json").read_text())["genotype"] == t.user_attrs["genotype"]
        config = json.loads((run_dir / "config.json").read_text())
        assert config["beta"] == pytest.approx(t.params["beta"])
        assert config["repeats"] == t.params["repeats"]
        assert sorted(t.intermediate_values) == [0, 1]  # each round's mean child accuracy
    assert len(dirs) == 4
    assert {p.parent.parent.name for p in dirs} == {"machine0", "machine1"}  # both worked


class _AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return True


def test_a_pruned_trial_stops_its_search_at_the_first_round(tmp_path):
    args = cli.build_parser().parse_args(["tune", *TINY, "--out", str(tmp_path)])
    base, knobs, training = tune_setup(args)
    study = optuna.create_study(direction="maximize", pruner=_AlwaysPrune())
    study.optimize(make_objective(base, knobs, tmp_path, training), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert list(trial.intermediate_values) == [0]
    events = (Path(trial.user_attrs["run_dir"]) / "events.jsonl").read_text().splitlines()
    assert json.loads(events[-1])["status"] == "stopped"
    rounds = {json.loads(e)["round"] for e in events if '"type":"SampleTrained"' in e}
    assert rounds == {0}  # stopped before round 1 trained


def test_the_reporter_reports_round_means():
    class Trial:
        reported: list = []

        def report(self, value, step):
            self.reported.append((step, value))

        def should_prune(self):
            return False

    from cpnas.events import RoundScored, SampleTrained

    stop = threading.Event()
    trial = Trial()
    reporter = _RoundReporter(trial, stop)
    for acc in (0.2, 0.4):
        reporter(SampleTrained(round=0, child_acc=acc))
    reporter(RoundScored(round=0))
    assert trial.reported == [(0, pytest.approx(0.3))] and not stop.is_set()


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("flags, says", [
    (["--storage", "nosuchdb://x/y"], "--storage 'nosuchdb://x/y'"),
    (["--storage", "sqlite:////nonexistent-dir/sub/x.db"], "--storage"),
    (["--beta", "1:-1"], "--beta: LO must not exceed HI"),
    (["--lr", "0:0.1"], "--lr: a log-scale range must be above 0"),
    (["--repeats", "a:b"], "--repeats: expected integers"),
    (["--repeats", "1:2:3"], "--repeats: expected LO:HI"),
    (["--sample-steps", "0:2"], "knob range: sample_steps"),
    (["--beta", "nan:1"], "--beta: the range must be finite"),
    (["--n-trials", "0"], "--n-trials: must be >= 1"),
])
def test_bad_storage_or_knob_range_is_one_line(tmp_path, capsys, flags, says):
    assert cli.main(["tune", *TINY, "--out", str(tmp_path / "t"), *flags]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("error: ") and says in line, line
    assert not list((tmp_path / "t").glob("*/trial-*"))  # no trial ran


def test_another_study_s_trial_folders_are_refused(tmp_path, capsys):
    (tmp_path / "t" / "cpnas-tune" / "trial-0000").mkdir(parents=True)
    assert cli.main(["tune", *TINY, "--out", str(tmp_path / "t")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "trial-0000 of another study" in line


def test_a_missing_optuna_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    assert cli.main(["tune", *TINY, "--out", str(tmp_path)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "'optuna'" in line and "cpnas[tune]" in line


def test_ranges():
    assert parse_range("0.5", "beta", False, False).low == 0.5
    knob = parse_range("1e-4:1e-2", "lr", False, True)
    assert (knob.low, knob.high, knob.log) == (1e-4, 1e-2, True)
    assert parse_range("3", "lr", False, True).log is False  # fixed: nothing to draw


def test_notebook_helper_draws_optuna_s_plots(tmp_path):
    pytest.importorskip("plotly")
    from cpnas.tune import tune_and_plot

    out = tune_and_plot(tmp_path, n_trials=2, epochs=1, set="nodes=2", repeats="1:2",
                        sample_steps="1:2", pruner="none", sampler_seed=0)
    assert len(out["trials"]) == 2
    assert out["parallel"].data and out["importance"].data


def test_each_trial_logs_to_the_trackers(tmp_path, capsys):
    from cpnas.trackers import read_tensorboard

    out = tmp_path / "t"
    assert cli.main(["tune", *TINY, "--out", str(out), "--n-trials", "1", "--pruner", "none",
                     "--sampler-seed", "0", "--log-to", "tensorboard"]) == 0
    (trial,) = optuna.load_study(study_name="cpnas-tune", storage=f"sqlite:///{out / 'optuna.db'}").trials
    assert trial.state == optuna.trial.TrialState.COMPLETE
    run_dir = Path(trial.user_attrs["run_dir"])
    acc = read_tensorboard(run_dir / "tensorboard")  # TensorBoard's own reader
    samples = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()
               if '"type":"SampleTrained"' in line]
    z = acc.Scalars("sample/z")
    assert [e.step for e in z] == list(range(len(samples))) and len(samples) > 0
    assert [e.value for e in z] == pytest.approx([s["z"] for s in samples])
    assert len(acc.Scalars("round/child_acc_mean")) == 2  # T in 1..2 sweeps, 3 ops: 2 rounds
    (standalone,) = acc.Scalars("standalone/test_acc")  # the trial's objective
    assert standalone.value == pytest.approx(trial.value) and standalone.step == len(samples)
    assert json.loads((run_dir / "trackers.json").read_text())["tensorboard"]


@pytest.mark.parametrize("log_to, says", [("nosuch", "unknown logger 'nosuch'"),
                                          (",", "--log-to: name a logger")])
def test_a_bad_log_to_is_refused_before_any_trial(tmp_path, capsys, log_to, says):
    assert cli.main(["tune", *TINY, "--out", str(tmp_path / "t"), "--log-to", log_to]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("error: ") and says in line, line
    assert not (tmp_path / "t").exists()  # no storage, no trial
