"""TensorBoard and MLflow loggers (cpnas.trackers), read back with the trackers' own readers.

A tiny search on digits (3 ops, 2 nodes, 1 cell, 4 channels, 2 steps per sample, T = 2: 10
sampled architectures) logs to both; TensorBoard's EventAccumulator and MLflow's client on a
local SQLite store under tmp_path read what they hold. A search killed (SIGKILL) and resumed
logs every step once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorboard")
pytest.importorskip("mlflow")

from cpnas import cli  # noqa: E402
from cpnas.engine import search  # noqa: E402
from cpnas.trackers import (  # noqa: E402
    TRACKERS_FILE,
    MLflowLogger,
    TensorBoardLogger,
    log_standalone,
    logger_factories,
    read_tensorboard,
    read_trackers,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"data": "digits", "ops": ["none", "skip_connect", "sep_conv_3x3"], "nodes": 2,
          "cells": 1, "channels": 4, "sample_steps": 2, "repeats": 2, "seed": 7}
N_SAMPLES = 2 * (3 + 2)  # T * (K + (K - 1)) with K = 3
SEARCH_ARGS = ["search", "--data", "digits", "--ops", "none,skip_connect,sep_conv_3x3",
               "--nodes", "2", "--cells", "1", "--channels", "4", "--sample-steps", "2",
               "--repeats", "2", "--seed", "7", "--quiet"]
SAMPLE_TAGS = ["sample/child_acc", "sample/parent_acc", "sample/child_loss",
               "sample/parent_loss", "sample/z"]


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri)


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """One search through the API with both loggers (and cpviz's pictures and report)."""
    from cpviz.trackers import cell_images, report_html

    tmp = tmp_path_factory.mktemp("trackers")
    run = tmp / "run"
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    cwd = os.getcwd()
    os.chdir(tmp)  # MLflow's default artifact root (./mlruns) lands in tmp
    try:
        tb = TensorBoardLogger(run_dir=run, cell_images=cell_images, report=report_html)
        ml = MLflowLogger(uri, run_dir=run, cell_images=cell_images, report=report_html)
        result = search(CONFIG, out=run, subscribers=[tb, ml])
    finally:
        os.chdir(cwd)
    assert result.status == "completed"
    return {"run": run, "uri": uri, "result": result, "mlflow_run": ml.mlflow_run_id}


def test_tensorboard_holds_config_samples_rounds_cells_and_genotype(logged):
    from tensorboard.plugins.hparams import plugin_data_pb2

    acc = read_tensorboard(logged["run"] / "tensorboard")
    content = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    assert hparams["beta"].number_value == logged["result"].config.beta
    assert hparams["ops"].string_value == "none,skip_connect,sep_conv_3x3"
    assert hparams["repeats"].number_value == 2
    for tag in SAMPLE_TAGS:
        assert [e.step for e in acc.Scalars(tag)] == list(range(N_SAMPLES)), tag
    samples = logged["result"].samples
    assert [e.value for e in acc.Scalars("sample/z")] == pytest.approx([s.z for s in samples])
    rounds = len({s.round for s in samples})
    assert len(acc.Scalars("round/child_acc_mean")) == rounds
    assert len(acc.Histograms("round/zbar")) == rounds
    assert len(acc.Images("cell/normal")) == rounds  # each round's end
    assert len(acc.Images("genotype/reduce")) == 1
    text = acc.Tensors("genotype/text_summary")[-1].tensor_proto.string_val[0].decode()
    assert str(logged["result"].genotype) in text
    pruned = acc.Tensors("round/pruned/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "round 0" in pruned and "normal:" in pruned
    genotype_json = acc.Tensors("file/genotype.json/text_summary")[0].tensor_proto.string_val[0]
    assert str(logged["result"].genotype) in genotype_json.decode()


def test_mlflow_holds_params_metrics_and_artifacts(logged):
    client = _client(logged["uri"])
    exp = client.get_experiment_by_name("cpnas")
    runs = client.search_runs([exp.experiment_id],
                              filter_string=f"tags.`cpnas.run_id` = '{logged['result'].events[0].run_id}'")
    assert [r.info.run_id for r in runs] == [logged["mlflow_run"]]
    run = runs[0]
    assert run.info.run_name == "run" and run.info.status == "FINISHED"
    assert run.data.params["beta"] == str(logged["result"].config.beta)
    assert run.data.params["ops"] == "none,skip_connect,sep_conv_3x3"
    for tag in SAMPLE_TAGS:
        history = client.get_metric_history(run.info.run_id, tag)
        assert sorted(m.step for m in history) == list(range(N_SAMPLES)), tag
    assert run.data.tags["cpnas.genotype"] == str(logged["result"].genotype)
    top = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"genotype.json", "genotype.txt", "report.html", "cells", "rounds"} <= top
    local = client.download_artifacts(run.info.run_id, "genotype.json", str(logged["run"].parent))
    assert json.loads(Path(local).read_text())["genotype"] == str(logged["result"].genotype)
    cells = {a.path for a in client.list_artifacts(run.info.run_id, "cells")}
    assert {"cells/round_00_normal.png", "cells/genotype_reduce.png"} <= cells
    rounds = {a.path for a in client.list_artifacts(run.info.run_id, "rounds")}
    assert "rounds/round_00_scores.json" in rounds and "rounds/round_00_pruned.txt" in rounds


def test_the_run_directory_names_its_tracker_runs(logged):
    known = read_trackers(logged["run"])
    assert known["mlflow"]["run_id"] == logged["mlflow_run"]
    assert known["mlflow"]["tracking_uri"] == logged["uri"]
    assert Path(known["tensorboard"]["log_dir"]) == (logged["run"] / "tensorboard").resolve()


def test_train_logs_its_standalone_accuracy_to_the_run_s_trackers(logged, capsys):
    run = logged["run"]
    assert cli.main(["train", str(run), "--epochs", "1", "--device", "cpu"]) == 0
    assert "logged to mlflow" in capsys.readouterr().out
    test_acc = json.loads((run / "train.json").read_text())["binary"]["test_acc"]
    acc = read_tensorboard(run / "tensorboard")
    assert [(e.step, e.value) for e in acc.Scalars("standalone/test_acc")] == [
        (N_SAMPLES, pytest.approx(test_acc))]
    history = _client(logged["uri"]).get_metric_history(logged["mlflow_run"], "standalone/test_acc")
    assert [m.value for m in history] == [pytest.approx(test_acc)]


def test_a_run_without_trackers_logs_nowhere(tmp_path):  # cpnas train's call
    assert log_standalone(tmp_path, {"test_acc": 0.5}) == []


# -- the CLI ---------------------------------------------------------------------------------


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_both_loggers_are_found_by_name():
    assert {"tensorboard", "mlflow"} <= set(logger_factories())


@pytest.mark.parametrize("argv, says", [
    (["--log-to", "wandb", "--out", "{tmp}/r"], "unknown logger 'wandb'"),
    (["--log-to", "tensorboard"], "needs --out"),
    (["--log-to", ","], "name a logger"),
])
def test_bad_log_to_is_one_line(tmp_path, capsys, argv, says):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert cli.main([*SEARCH_ARGS, *argv]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("error: --log-to") and says in line


@pytest.mark.parametrize("name, module", [("mlflow", "mlflow"), ("tensorboard", "tensorboard")])
def test_a_missing_tracker_package_names_the_extra(tmp_path, capsys, monkeypatch, name, module):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    monkeypatch.delitem(sys.modules, "torch.utils.tensorboard", raising=False)  # as in a fresh process
    assert cli.main([*SEARCH_ARGS, "--log-to", name, "--out", str(tmp_path / "r")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "cpnas[trackers]" in line and f"'{module}'" in line
    assert not (tmp_path / "r").exists()  # refused before the search started


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# `cpnas search` that SIGKILLs itself at its second checkpoint, once the loggers have seen it:
# the same kill at the same point on any machine, however fast.
KILLED_AT_2 = """
import os, signal, sys
import cpnas.trackers as trackers
from cpnas import cli

make, seen = trackers.make_loggers, []

def kill_at_second_checkpoint(event):
    if event.type == "Checkpointed":
        seen.append(event)
        if len(seen) == 2:
            os.kill(os.getpid(), signal.SIGKILL)

trackers.make_loggers = lambda *a, **k: make(*a, **k) + [kill_at_second_checkpoint]
sys.exit(cli.main(sys.argv[1:]))
"""


def test_a_killed_and_resumed_search_logs_every_step_once(tmp_path):
    run, uri = tmp_path / "run", f"sqlite:///{tmp_path / 'mlflow.db'}"
    argv = [*SEARCH_ARGS, "--out", str(run), "--log-to", "tensorboard,mlflow", "--mlflow-uri", uri]
    killed = subprocess.run([sys.executable, "-c", KILLED_AT_2, *argv], cwd=tmp_path, env=_env(),
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert (run / "events.jsonl").read_text().count('"type":"Checkpointed"') == 2
    before = [e.step for e in read_tensorboard(run / "tensorboard").Scalars("sample/z")]
    assert before  # the resume has steps to skip
    before_ml = _client(uri).get_metric_history(read_trackers(run)["mlflow"]["run_id"], "sample/z")
    assert len(before_ml) >= len(before)
    done = subprocess.run([sys.executable, "-m", "cpnas.cli", *argv], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]

    acc = read_tensorboard(run / "tensorboard")
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 2  # one per process
    for tag in SAMPLE_TAGS:
        assert [e.step for e in acc.Scalars(tag)] == list(range(N_SAMPLES)), tag
    assert len(acc.Tensors("config/text_summary")) == 1

    client = _client(uri)
    runs = client.search_runs([client.get_experiment_by_name("cpnas").experiment_id])
    assert len(runs) == 1  # the resume went on in the same MLflow run
    assert runs[0].info.run_id == read_trackers(run)["mlflow"]["run_id"]
    assert runs[0].info.status == "FINISHED"
    for tag in SAMPLE_TAGS:
        steps = [m.step for m in client.get_metric_history(runs[0].info.run_id, tag)]
        assert sorted(steps) == list(range(N_SAMPLES)), tag
    assert (run / TRACKERS_FILE).is_file()


def test_the_declared_entry_points_load(monkeypatch):
    """pyproject.toml's cpnas.loggers and cpnas.tracker_views entries resolve, and the
    loggers find cpviz's pictures through them (as after `pip install -e .`)."""
    import importlib.metadata as md
    import tomllib

    import cpnas.trackers as trackers

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert set(declared[trackers.LOGGERS_GROUP]) == {"tensorboard", "mlflow"}
    assert set(declared[trackers.VIEWS_GROUP]) == {"cells", "report"}

    def fake(group: str):
        return [md.EntryPoint(name, value, group) for name, value in declared.get(group, {}).items()]

    monkeypatch.setattr(trackers, "entry_points", lambda group: fake(group))
    views = trackers.tracker_views()
    from cpviz.trackers import cell_images, report_html

    assert views == {"cells": cell_images, "report": report_html}
    assert set(logger_factories()) == {"tensorboard", "mlflow"}
    logger = TensorBoardLogger(run_dir="unused")
    assert logger.cell_images is cell_images and logger.report is report_html


def test_mlflow_goes_where_mlflow_would(monkeypatch, tmp_path):
    uri = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert MLflowLogger().uri == uri
    assert MLflowLogger("sqlite:///other.db").uri == "sqlite:///other.db"
