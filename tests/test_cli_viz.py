"""``cpnas render`` and ``cpnas report``: handlers on an argparse parser, and bad input."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from cpnas.errors import CpnasError
from cpnas.genotype import DARTS_V2
from cpnas.simulate import simulate
from cpviz.cli import add_render_command, add_report_command

SMALL_OPS = ("none", "skip_connect", "max_pool_3x3", "sep_conv_3x3")


def run(argv):
    parser = argparse.ArgumentParser(prog="cpnas")
    sub = parser.add_subparsers(dest="command", required=True)
    add_render_command(sub)
    add_report_command(sub)
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


def make_run(path, **kw):
    events = simulate(ops=SMALL_OPS, nodes=2, seed=1, **kw)
    path.mkdir()
    (path / "events.jsonl").write_text("".join(e.to_json() + "\n" for e in events), encoding="utf-8")
    return events


def test_render_a_darts_string(tmp_path, capsys):
    assert run(["render", str(DARTS_V2), "--out", tmp_path / "cells", "--format", "svg,dot"]) == 0
    assert sorted(p.name for p in (tmp_path / "cells").iterdir()) == [
        "normal.dot", "normal.svg", "reduce.dot", "reduce.svg"]
    assert capsys.readouterr().out.count("\n") == 4
    assert "sep_conv_3x3" in (tmp_path / "cells" / "normal.dot").read_text()


def test_render_a_genotype_json_and_a_run_dir(tmp_path):
    events = make_run(tmp_path / "run")
    assert run(["render", tmp_path / "run", "--out", tmp_path / "a", "--format", "dot"]) == 0
    assert "<S>" in (tmp_path / "a" / "normal.dot").read_text()  # no genotype.json: the search view
    geno = events[-2].genotype
    (tmp_path / "run" / "genotype.json").write_text(json.dumps({"genotype": geno}), encoding="utf-8")
    assert run(["render", tmp_path / "run", "--out", tmp_path / "b", "--format", "png"]) == 0
    assert (tmp_path / "b" / "reduce.png").read_bytes()[:4] == b"\x89PNG"
    assert run(["render", tmp_path / "run" / "genotype.json", "--out", tmp_path / "c", "--format", "pdf"]) == 0
    assert (tmp_path / "c" / "normal.pdf").read_bytes()[:5] == b"%PDF-"


def test_report(tmp_path):
    make_run(tmp_path / "run")
    assert run(["report", tmp_path / "run"]) == 0
    assert (tmp_path / "run" / "report.html").is_file()
    assert run(["report", tmp_path / "run", "--out", tmp_path / "r.html"]) == 0
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


BAD_GENOTYPES = {
    "syntax error": ("Genotype(normal=[('sep_conv_3x3', 0)", "not valid syntax"),
    "op is not an identifier": (
        "Genotype(normal=[('sep-conv', 0), ('skip_connect', 1)], normal_concat=[2], "
        "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])", "not an identifier"),
    "edge to a later node": (
        "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 2)], normal_concat=[2], "
        "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])", "not before it"),
    "code instead of a genotype": ("__import__('os').system('touch pwned')", "Genotype"),
}


@pytest.mark.parametrize("case", sorted(BAD_GENOTYPES))
def test_bad_genotype(tmp_path, case):
    text, why = BAD_GENOTYPES[case]
    with pytest.raises(CpnasError, match=why) as info:
        run(["render", text, "--out", tmp_path / "out"])
    assert info.value.exit_code == 2 and "\n" not in str(info.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / "pwned").exists()


def test_bad_paths_and_formats(tmp_path):
    (tmp_path / "empty").mkdir()
    cases = [
        (["report", tmp_path / "empty"], "events"),
        (["render", tmp_path / "empty", "--out", tmp_path / "o"], "events"),
        (["render", tmp_path / "missing", "--out", tmp_path / "o"], "no such run directory"),
        (["report", tmp_path / "missing"], "not a run directory"),
        (["render", str(DARTS_V2), "--out", tmp_path / "o", "--format", "svg,webp"], "unsupported format 'webp'"),
        (["render", str(DARTS_V2), "--out", tmp_path / "o", "--format", "svg,gif"], "gif needs a run directory"),
        (["render", str(DARTS_V2), "--out", tmp_path / "o", "--format", "png", "--dpi", "0"], "--dpi"),
    ]
    for argv, why in cases:
        with pytest.raises(CpnasError, match=why) as info:
            run(argv)
        assert info.value.exit_code == 2 and "\n" not in str(info.value)
    assert not (tmp_path / "o").exists()


def test_through_the_cpnas_command(tmp_path):
    """The real CLI: one line on stderr and exit code 2."""
    base = [sys.executable, "-m", "cpnas.cli"]
    bad = subprocess.run(base + ["render", BAD_GENOTYPES["syntax error"][0], "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error:") and bad.stderr.strip().count("\n") == 0
    fmt = subprocess.run(base + ["render", str(DARTS_V2), "--out", str(tmp_path / "o"), "--format", "bmp"],
                         capture_output=True, text=True, timeout=120)
    assert fmt.returncode == 2 and "bmp" in fmt.stderr
    (tmp_path / "empty").mkdir()
    empty = subprocess.run(base + ["report", str(tmp_path / "empty")], capture_output=True, text=True, timeout=120)
    assert empty.returncode == 2 and empty.stderr.strip().count("\n") == 0
    ok = subprocess.run(base + ["render", str(DARTS_V2), "--out", str(tmp_path / "o"), "--format", "svg"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and (tmp_path / "o" / "normal.svg").is_file()
