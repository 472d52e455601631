"""``cpnas study``: the grid, bad input, --list, and a study killed and run again."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from cpnas import cli
from cpnas import events as ev
from cpnas.config import SearchConfig
from cpnas.engine import run_id_of
from cpnas.errors import ConfigError, RunDirError
from cpnas.runs import read_events
from cpnas.study import (
    COLUMNS,
    NAMES,
    StudySpec,
    Training,
    expand,
    quick,
    read_results,
    run_study,
)

ROOT = Path(__file__).resolve().parents[1]
TINY_SEARCH = {"ops": ("none", "skip_connect", "sep_conv_3x3"), "nodes": 1, "cells": 1,
               "channels": 2, "sample_steps": 1, "batch_size": 32, "repeats": 1, "warmup_steps": 0}
TINY = StudySpec(strategies=("cpnas", "darts", "random-pick"), betas=(0.5,), seeds=(0, 1),
                 search=TINY_SEARCH, training=Training(epochs=1, channels=2, cells=1))


def run_cli(argv, monkeypatch):
    """cpnas.cli.main with cpviz's study.html plugged in (the installed entry points may
    predate it)."""
    original = cli.entry_points

    def entry_points(group):
        eps = [e for e in original(group=group) if not (group == "cpnas.commands" and e.name == "study")]
        if group == cli.STUDY_OUTPUTS and not any(e.name == "html" for e in eps):
            eps.append(EntryPoint("html", "cpviz.study:write_study_html", group))
        return eps

    monkeypatch.setattr(cli, "entry_points", entry_points)
    return cli.main([str(a) for a in argv])


# -- the grid ---------------------------------------------------------------------------------


def test_the_default_grid():
    points = expand(StudySpec())
    assert len(points) == len(NAMES) * 3
    by = {(p.strategy, p.seed): p for p in points}
    assert by[("cpnas", 0)].beta == 0.5 and by[("cpnas", 0)].config.beta == 0.5
    assert by[("child-only", 1)].beta == 0.0 and by[("child-only", 1)].config.strategy == "cpnas"
    assert by[("parent-only", 2)].config.beta == 1.0
    for name in ("random", "random-pick", "darts"):
        assert by[(name, 0)].beta is None and by[(name, 0)].config.strategy == name
    assert {p.config.seed for p in points} == {0, 1, 2}


def test_the_beta_sweep_shares_searches_with_child_and_parent_only():
    spec = StudySpec(betas=(-1.0, 0.0, 0.5, 1.0, 2.0), seeds=(0, 1, 2))
    points = expand(spec)
    assert sum(p.strategy == "cpnas" for p in points) == 15
    assert sum(p.beta is None for p in points) == 9  # random, random-pick, darts x 3 seeds
    ids = {(p.strategy, p.beta, p.seed): p.run_id for p in points}
    assert ids[("child-only", 0.0, 1)] == ids[("cpnas", 0.0, 1)]
    assert ids[("parent-only", 1.0, 2)] == ids[("cpnas", 1.0, 2)]
    assert len(set(ids.values())) == 8 * 3  # 5 betas + random + random-pick + darts, 3 seeds


def test_conv_ops_counts_the_convolution_edges_of_both_cells():
    from cpnas.genotype import DARTS_V2, PC_DARTS
    from cpnas.study import conv_ops

    assert conv_ops(DARTS_V2) == 6  # 5 sep + 1 dil in the normal cell, pools and skips in reduce
    assert conv_ops(PC_DARTS) == 13


def test_quick_keeps_every_strategy_and_two_seeds():
    q = quick(StudySpec(seeds=(4, 5, 6)))
    assert q.strategies == NAMES and q.seeds == (4, 5)
    assert quick(StudySpec(seeds=(3,))).seeds == (3,)  # never a seed the user did not give
    assert SearchConfig(**q.search).n_samples < SearchConfig().n_samples


@pytest.mark.parametrize("kw,match", [
    ({"strategies": ("cpnas", "bnas")}, "unknown strategy 'bnas'"),
    ({"strategies": ()}, "at least one"),
    ({"seeds": (0, 0)}, "twice"),
    ({"seeds": (-1,)}, "seeds"),
    ({"betas": (float("nan"),)}, "finite"),
    ({"search": {"nodes": 0}}, "nodes"),
    ({"search": {"seed": 3}}, "set by the grid"),
    ({"search": {"data_seed": 3}}, "set by the grid"),
    ({"seeds": (2**32,)}, "over the limit"),
    ({"training": Training(cells=100)}, "train cells"),
    ({"training": Training(channels=5000)}, "train channels"),
    ({"training": Training(epochs=0)}, "epochs"),
])
def test_a_bad_grid_is_refused(kw, match):
    with pytest.raises(ConfigError, match=match):
        StudySpec(**kw)


# -- the command line -------------------------------------------------------------------------


@pytest.mark.parametrize("args,match", [
    (["--strategies", "cpnas,bnas"], "unknown strategy 'bnas'"),
    (["--seeds", "0,x"], "seeds"),
    (["--seeds", "0,,1"], "empty item"),
    (["--betas", "0,inf"], "finite"),
    (["--jobs", "0"], "jobs"),
    (["--preset", "fig5"], "invalid choice"),
])
def test_bad_flags_get_one_error_line(args, match, tmp_path, monkeypatch, capsys):
    out = tmp_path / "s"
    assert run_cli(["study", *args, "--out", out], monkeypatch) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and match in err[0]
    assert not out.exists()


def test_an_unusable_folder_is_refused(tmp_path, monkeypatch, capsys):
    file = tmp_path / "f"
    file.write_text("x")
    for out in (file, file / "sub"):
        assert run_cli(["study", "--quick", "--out", out], monkeypatch) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ")
    assert file.read_text() == "x"
    with pytest.raises(RunDirError):
        read_results(file)


def test_list_prints_one_runnable_search_line_per_search(tmp_path, monkeypatch, capsys):
    spec_args = ["--strategies", "cpnas,child-only,random,darts", "--betas", "0,1", "--seeds", "0,1",
                 "--sample-steps", "3"]
    assert run_cli(["study", *spec_args, "--list", "--out", tmp_path / "s"], monkeypatch) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 8  # child-only is cpnas at beta 0: one search, listed once
    assert not (tmp_path / "s").exists()  # --list runs and writes nothing
    parser = cli.build_parser()
    seen = set()
    for line in lines:
        args = parser.parse_args(shlex.split(line)[1:])
        assert args.command == "search"
        config = cli.search_config(args)
        assert config.sample_steps == 3
        seen.add((config.strategy, config.beta, config.seed))
        assert Path(args.out) == tmp_path / "s" / "searches" / run_id_of(config)
    assert ("cpnas", 0.0, 1) in seen and ("darts", 0.5, 0) in seen  # darts keeps the default
    assert len(seen) == 8


# -- running, cutting and running again -------------------------------------------------------


def _records(study: Path) -> list[dict]:
    path = study / "study.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _kill_when(proc, condition, timeout=300):
    end = time.time() + timeout
    while time.time() < end:
        if condition():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return
        if proc.poll() is not None:
            pytest.fail(f"the study ended before the cut (rc {proc.returncode})")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the cut point never came")


@pytest.mark.slow
def test_a_killed_study_run_again_redoes_nothing_that_was_finished(tmp_path):
    study = tmp_path / "study"
    points = sorted(expand(TINY), key=lambda p: p.seed)  # a study runs seed by seed
    order = list(dict.fromkeys(p.run_id for p in points))
    assert points[1].strategy == "darts"  # the second search checkpoints as it goes
    second = study / "searches" / order[1]

    def second_search_half_done():
        if not any(r["done"] == "train" for r in _records(study)):
            return False
        try:
            lines = (second / "events.jsonl").read_text().splitlines()
        except OSError:
            return False
        return sum('"Checkpointed"' in x for x in lines) >= 1 and '"SearchFinished"' not in lines[-1]

    code = ("import sys; from cpnas.study import run_study; from tests.test_study import TINY; "
            "run_study(TINY, sys.argv[1], jobs=1)")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code, str(study)], cwd=ROOT, env=env)
    _kill_when(proc, second_search_half_done)

    before = _records(study)
    assert [(r["done"], r["run"]) for r in before] == [("search", order[0]), ("train", order[0])]
    first_log = (study / "searches" / order[0] / "events.jsonl").read_bytes()
    first_train = (study / "searches" / order[0] / "standalone.json").read_bytes()

    rows = run_study(TINY, study, jobs=2)  # the same study again, in parallel processes

    after = _records(study)
    assert after[:2] == before
    for rid in order:  # every search and every training exactly once
        assert [r["done"] for r in after if r["run"] == rid] == ["search", "train"]
    assert (study / "searches" / order[0] / "events.jsonl").read_bytes() == first_log
    assert (study / "searches" / order[0] / "standalone.json").read_bytes() == first_train
    n = SearchConfig(**TINY_SEARCH).n_samples
    for p in expand(TINY):
        events = read_events(study / "searches" / p.run_id / "events.jsonl")
        kinds = [e.type for e in events]
        assert kinds.count("SearchStarted") == 1 and kinds.count("SearchFinished") == 1
        assert kinds.count("SampleTrained") == (0 if p.strategy == "random-pick" else n)
        assert isinstance(events[-1], ev.SearchFinished) and events[-1].status == "completed"

    assert len(rows) == len(expand(TINY))
    table = read_results(study)
    assert list(table[0]) == list(COLUMNS) and len(table) == len(rows)
    for row in table:
        assert 0.0 <= row["test_acc"] <= 1.0 and 0.0 <= row["test_acc_fp"] <= 1.0
        assert row["genotype"].startswith("Genotype(") and row["search_seconds"] >= 0
        assert (row["beta"] is None) == (row["strategy"] != "cpnas")
    run_study(TINY, study, jobs=1)  # a third time: nothing left to do
    assert _records(study) == after
    from cpnas.runs import RunDir

    for rid in order:  # standalone.json is the toolkit's: the run directory stays usable
        rd = RunDir(study / "searches" / rid)
        rd.claim()
        rd.release()


# -- frozen presets ---------------------------------------------------------------------------

FROZEN = {"fig4.9": "fig49.csv", "teaching": "default_study.csv"}
DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_a_frozen_preset_pins_every_key_and_its_run_ids_never_move(name, tmp_path, monkeypatch,
                                                                   capsys):
    import csv
    import dataclasses

    from cpnas.config import LEGACY
    from cpnas.study import preset_spec

    spec = preset_spec(name)
    fields = {f.name for f in dataclasses.fields(SearchConfig)}
    stored = json.loads((Path(cli.__file__).parent / "presets" / "study" / f"{name}.json").read_text())
    unpinned = fields - set(stored["search"]) - {"strategy", "seed", "data_seed"}
    # a key added after the freeze takes its old behaviour (LEGACY), never a new default
    assert unpinned <= set(LEGACY), f"add {sorted(unpinned - set(LEGACY))} to LEGACY"
    assert spec.split_per_seed
    with open(DATA / FROZEN[name], newline="") as f:
        committed = list(dict.fromkeys(r["run_dir"] for r in csv.DictReader(f)))
    assert [f"searches/{p.run_id}" for p in expand(spec)] == [
        r for r in committed]  # the committed table lists every grid point, in grid order
    assert run_cli(["study", "--preset", name, "--list", "--out", tmp_path / "s"], monkeypatch) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    listed = [Path(shlex.split(x)[shlex.split(x).index("--out") + 1]).name for x in lines]
    assert sorted(listed) == sorted({Path(r).name for r in committed})
    parser = cli.build_parser()
    for line in lines[:3] + lines[-3:]:  # every pinned key survives the line
        args = parser.parse_args(shlex.split(line)[1:])
        assert Path(args.out).name == run_id_of(cli.search_config(args))


def test_a_seed_sets_the_split_and_every_seed_of_a_grid_point():
    from cpnas.study import preset_spec, protocol_for

    spec = preset_spec("fig4.9")
    for p in expand(spec)[:60]:
        assert p.config.data_seed == p.config.seed == p.seed
        proto = protocol_for(p.config.to_dict(), spec.training)
        assert proto.data_seed == p.seed and proto.seeds == (p.seed,)
    assert not StudySpec(split_per_seed=False).split_per_seed
    assert {p.config.data_seed for p in expand(StudySpec(split_per_seed=False))} == {0}


def test_negative_betas_seed_ranges_and_flags_over_quick(tmp_path, monkeypatch, capsys):
    args = ["study", "--strategies", "cpnas", "--betas", "-1,-0.5", "--seeds", "3-5", "--quick",
            "--sample-steps", "5", "--list", "--out", tmp_path / "s"]
    assert run_cli(args, monkeypatch) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    parser = cli.build_parser()
    configs = [cli.search_config(parser.parse_args(shlex.split(x)[1:])) for x in lines]
    assert sorted((c.beta, c.seed) for c in configs) == [(b, s) for b in (-1.0, -0.5)
                                                          for s in (3, 4, 5)]
    assert {c.sample_steps for c in configs} == {5}  # --quick does not drop a flag given
    assert {c.nodes for c in configs} == {2}  # and still shrinks the space


def test_search_set_takes_any_key_under_the_flags(tmp_path):
    parser = cli.build_parser()
    args = parser.parse_args(["search", "--set", "genotype_mode=top2", "--set", "beta=-0.5",
                              "--set", "ops=[\"none\",\"skip_connect\"]", "--beta", "2"])
    c = cli.search_config(args)
    assert c.genotype_mode == "top2" and c.ops == ("none", "skip_connect") and c.beta == 2.0
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        cli.search_config(parser.parse_args(["search", "--set", "nokey"]))
    with pytest.raises(ConfigError, match="unknown config key"):
        cli.search_config(parser.parse_args(["search", "--set", "colour=red"]))


def test_the_study_runs_without_any_view_package(tmp_path, monkeypatch, capsys):
    """cpnas study is the engine's command: with cpviz unimportable it still runs, trains and
    writes results.csv (study.html is cpviz's addition, through cpnas.study_outputs)."""
    monkeypatch.setitem(sys.modules, "cpviz", None)  # import cpviz -> ImportError
    monkeypatch.setattr(cli, "entry_points", lambda group: [])
    out = tmp_path / "s"
    args = ["study", "--strategies", "random-pick", "--seeds", "0", "--quick", "--epochs", "1",
            "--train-channels", "2", "--train-cells", "1", "--jobs", "1", "--out", out]
    assert cli.main([str(a) for a in args]) == 0
    rows = read_results(out)
    assert len(rows) == 1 and rows[0]["test_acc"] is not None and rows[0]["seed"] == 0
    assert not (out / "study.html").exists()
    assert capsys.readouterr().out.strip() == str(out / "results.csv")
