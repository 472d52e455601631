"""Runs written by release 0.1.0 (tests/fixtures) still replay, render, report and resume.

Their floats came from another CPU (whose kernels round otherwise than this one may), so a
resumed old run is checked for its ids, its events' kinds and a contiguous log, not bit for
bit; bit-exact resumption is checked against runs made here (test_resume.py, test_faults.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cpnas
from cpnas.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
FINISHED = FIXTURES / "run_v1"
MID = FIXTURES / "run_v1_mid"
GENOTYPE = ("Genotype(normal=[('skip_connect', 0), ('sep_conv_3x3', 1)], normal_concat=[2, 3], "
            "reduce=[('sep_conv_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 0)], "
            "reduce_concat=[2, 3], normal_arity=[0, 2], reduce_arity=[2, 1])")


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def test_finished_old_run_replays() -> None:
    run = cpnas.load_run(FINISHED)
    assert run.status == "completed"
    assert str(run.genotype) == GENOTYPE
    assert [e.seq for e in run.events] == list(range(67))
    assert len(run.samples_frame()) == 10
    assert {e.run_id for e in run.events} == {"ed3fd15b96b4"}


def test_mid_search_old_run_resumes_to_the_end(tmp_path: Path, capsys) -> None:
    run_dir = _copy(MID, tmp_path)
    kept = (MID / "events.jsonl").read_text().splitlines()
    argv = ["search", "--config", str(run_dir / "config.json"), "--quiet", "--out", str(run_dir)]
    assert main(argv) == 0
    run = cpnas.load_run(run_dir)
    assert run.status == "completed" and run.genotype is not None
    finished = cpnas.load_run(FINISHED)
    assert [e.type for e in run.events] == [e.type for e in finished.events]
    assert [e.seq for e in run.events] == list(range(len(finished.events)))  # contiguous
    assert {e.run_id for e in run.events} == {"ed3fd15b96b4"}
    # the old lines before its checkpoint's stay as written (the Checkpointed line is
    # emitted again on resume); the rest is new here
    assert (run_dir / "events.jsonl").read_text().splitlines()[:17] == kept[:17]
    assert len(run.genotype.normal) == len(finished.genotype.normal)


def test_old_run_renders_and_reports(tmp_path: Path) -> None:
    cells = tmp_path / "cells"
    assert main(["render", str(FINISHED), "--out", str(cells), "--format", "dot"]) == 0
    assert sorted(p.name for p in cells.iterdir()) == ["normal.dot", "reduce.dot"]
    report = tmp_path / "report.html"
    assert main(["report", str(FINISHED), "--out", str(report)]) == 0
    assert "skip_connect" in report.read_text(encoding="utf-8")
