"""report.html: standalone, offline, with every view in it."""

from __future__ import annotations

import json
import re

import pytest

from cpnas.errors import CpnasError, RunDirError
from cpnas.simulate import simulate
from cpviz import write_report

SMALL_OPS = ("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3")


def make_run(path, **kw):
    events = simulate(ops=SMALL_OPS, nodes=2, seed=kw.pop("seed", 3), **kw)
    path.mkdir(parents=True)
    (path / "events.jsonl").write_text("".join(e.to_json() + "\n" for e in events), encoding="utf-8")
    return events


def test_report_of_a_finished_run(tmp_path):
    events = make_run(tmp_path / "run")
    out = write_report(tmp_path / "run")
    assert out == tmp_path / "run" / "report.html"
    page = out.read_text(encoding="utf-8")
    for div in ("heatmap", "timeline", "curves", "op-gap"):
        assert f'id="{div}"' in page
    assert page.count("<svg") >= 3  # the genotype pair and one state diagram per cell
    for cell in ("genotype-cells", "state-normal", "state-reduce"):
        assert re.search(f'id="{cell}"><svg', page)
    assert events[-2].genotype in page.replace("&#x27;", "'")  # the DARTS string, escaped
    assert "1-bit model summary" in page and 'class="dataframe' in page
    # offline: plotly.js inline, nothing loaded from the network
    assert page.count("<script") >= 5
    assert not re.search(r'<script[^>]+src=', page)
    assert "<link" not in page  # (plotly.js mentions a topojson CDN; only geo plots use it)


def test_report_of_a_half_finished_run_and_from_events(tmp_path):
    events = make_run(tmp_path / "run", stop_after=5)
    out = write_report(tmp_path / "run", tmp_path / "elsewhere" / "r.html")
    page = out.read_text(encoding="utf-8")
    assert "stopped" in page and "Searched cells" not in page
    assert write_report(events, tmp_path / "ev.html").is_file()
    with pytest.raises(CpnasError, match="out_path"):
        write_report(events)


def test_report_reads_genotype_json_when_the_log_has_none(tmp_path):
    events = make_run(tmp_path / "run", stop_after=5)
    geno = simulate(ops=SMALL_OPS, nodes=2, seed=3)[-2].genotype
    (tmp_path / "run" / "genotype.json").write_text(json.dumps({"genotype": geno}), encoding="utf-8")
    page = write_report(tmp_path / "run").read_text(encoding="utf-8")
    assert "Searched cells" in page and not any(e.type == "GenotypeDerived" for e in events)


def test_report_bad_inputs(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirError):
        write_report(tmp_path / "empty")
    (tmp_path / "empty" / "events.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(RunDirError, match="no events"):
        write_report(tmp_path / "empty")
    assert not (tmp_path / "empty" / "report.html").exists()
