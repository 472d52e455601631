"""One resolver: ``cpnas render`` and ``cpnas train`` take exactly the same inputs.

One table drives both commands. ``train`` is stopped where it would load its data, so the
test shows what it resolved and that a cell it cannot build is refused before any data.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

import cpnas.data
import cpnas.engine  # noqa: F401  (binds the real load_data before a test patches it)
import cpnas.resolve
from cpnas import cli
from cpnas.errors import GenotypeError
from cpnas.genotype import DARTS_V2, PC_DARTS, PUBLISHED, parse_genotype
from cpnas.resolve import resolve
from cpviz import cell_graph, cell_pair, export_cell, model_summary

CORPUS = Path(__file__).parent / "data" / "published_genotypes.py"

def _genotype(source):
    return resolve(source).require()


LONG = str(_genotype(f"{CORPUS}:DCO_EDGE_BS_64"))  # ~900 characters: too long for a file name


class DataLoaded(Exception):
    """Raised in place of loading data: train got past resolution and its checks."""


def _run_dir(root: Path, name: str, genotype) -> Path:
    d = root / name
    d.mkdir()
    (d / "genotype.json").write_text(json.dumps({"genotype": str(genotype)}), encoding="utf-8")
    (d / "config.json").write_text(json.dumps({"data": "digits", "seed": 3, "channels": 4}),
                                   encoding="utf-8")
    return d


def _files(tmp: Path) -> Path:
    (tmp / "g.json").write_text(json.dumps({"genotype": str(PC_DARTS)}), encoding="utf-8")
    (tmp / "g.txt").write_text("PC_DARTS_cifar = " + str(PC_DARTS) + "\n", encoding="utf-8")
    (tmp / "odd (copy) [1].json").write_text(json.dumps({"genotype": str(DARTS_V2)}), encoding="utf-8")
    _run_dir(tmp, "run", DARTS_V2)
    _run_dir(tmp, "run (2)", PC_DARTS)
    return tmp


# case -> (the argument, given the folder _files filled; the name it must resolve to)
INPUTS = {
    "run directory": (lambda t: t / "run", "DARTS_V2"),
    "run directory with '(' in its name": (lambda t: t / "run (2)", "PC_DARTS"),
    "genotype.json": (lambda t: t / "g.json", "PC_DARTS"),
    "a text file": (lambda t: t / "g.txt", "PC_DARTS"),
    "a path holding ( and [": (lambda t: t / "odd (copy) [1].json", "DARTS_V2"),
    "published name": (lambda t: "PDARTS", "PDARTS"),
    "long Genotype(...) string": (lambda t: LONG, "DCO_EDGE_BS_64"),
    "FILE.py:NAME": (lambda t: f"{CORPUS}:DrNAS_cifar10", "DrNAS_cifar10"),
    "FILE.py:ALIAS": (lambda t: f"{CORPUS}:PCDARTS", "PC_DARTS_cifar"),
    "per-node tuples, None fields": (lambda t: f"{CORPUS}:AutoDL_DARTS_V2", "DARTS_V2"),
    "per-node lists": (lambda t: f"{CORPUS}:PT_DARTS", "PT_DARTS"),
    "FairDARTS triples": (lambda t: f"{CORPUS}:FairDARTS_a", "FairDARTS_a"),
    "op outside the 8 (sep_conv_7x7)": (lambda t: f"{CORPUS}:NASNet", "NASNet"),
    "op outside the 8 (noise)": (lambda t: f"{CORPUS}:DARTS_S4_cifar100_1127869_2",
                                 "DARTS_S4_cifar100_1127869_2"),
    "op outside the 8 (conv_3x1_1x3)": (lambda t: f"{CORPUS}:SETN", "SETN"),
}


def _named(name: str):
    return PUBLISHED[name] if name in PUBLISHED else _genotype(f"{CORPUS}:{name}")


@pytest.fixture
def stop_at_data(monkeypatch):
    """Record what train checks, and stop it where it would load data."""
    seen = []
    real = cpnas.resolve.check_buildable

    def check(genotype):
        seen.append(genotype)
        real(genotype)

    def load_data(spec, seed):
        raise DataLoaded(spec, seed)

    monkeypatch.setattr(cpnas.resolve, "check_buildable", check)
    monkeypatch.setattr(cpnas.data, "load_data", load_data)
    return seen


@pytest.mark.parametrize("case", sorted(INPUTS))
def test_render_and_train_resolve_the_same_inputs(case, tmp_path, stop_at_data, capsys):
    make, name = INPUTS[case]
    arg = str(make(_files(tmp_path)))
    want = _named(name)
    assert _genotype(arg) == want
    # render
    assert cli.main(["render", arg, "--out", str(tmp_path / "cells"), "--format", "dot"]) == 0
    drawn = (tmp_path / "cells" / "reduce.dot").read_text(encoding="utf-8")
    assert drawn == cell_graph(want, "reduce").source
    # train: the same genotype; a cell it cannot build is refused before any data
    unbuildable = sorted(want.ops() - set(cpnas.resolve.buildable_ops()))
    capsys.readouterr()
    if unbuildable:
        assert cli.main(["train", arg, "--device", "cpu"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and unbuildable[0] in err[0], err
    else:
        with pytest.raises(DataLoaded) as info:
            cli.main(["train", arg, "--device", "cpu"])
        if case.startswith("run directory"):
            assert info.value.args == ("digits", 3)  # the run's config is used
    assert stop_at_data == [want]


BAD = {
    "a genotypes file without a name": (str(CORPUS), "name a genotype as"),
    "a name the file does not hold": (f"{CORPUS}:DARTS_V3", "no genotype 'DARTS_V3'"),
    "no such run directory": ("no/such/run", "no such run directory"),
    "no such .py file": ("missing.py:DARTS", "no such file"),
    "unknown published name": ("DARTS_V9", "no published genotype"),
    "syntax error": ("Genotype(normal=[('sep_conv_3x3', 0)", "not valid syntax"),
    "code instead of a genotype": ("__import__('os').system('touch pwned')", "Genotype"),
    "nested too deep": ("Genotype(normal=" + "[" * 200 + "]" * 200 + ")", "nests brackets"),
    "too long": ("Genotype(" + "0," * 1_100_000 + ")", "characters"),
    "unary chain": ("Genotype(normal=" + "-" * 90_000 + "1)", "nested too deeply"),
    "extra field with a value": (
        "Genotype(normal=[('skip_connect', 0), ('skip_connect', 1)], normal_concat=[2], "
        "reduce=[('skip_connect', 0), ('skip_connect', 1)], reduce_concat=[2], connectN=4)",
        "unknown field 'connectN'"),
    "mixed shapes": (
        "Genotype(normal=[('skip_connect', 0), [('skip_connect', 1)]], normal_concat=[2], "
        "reduce=[('skip_connect', 0), ('skip_connect', 1)], reduce_concat=[2])", "mixes shapes"),
    "a 4-tuple entry": (
        "Genotype(normal=[('skip_connect', 0, 1, 2)], normal_concat=[2], "
        "reduce=[('skip_connect', 0), ('skip_connect', 1)], reduce_concat=[2])", "4-element tuple"),
    "a range of a trillion nodes": (
        "Genotype(normal=[('skip_connect', 0), ('skip_connect', 1)], normal_concat=range(2, 10**12), "
        "reduce=[('skip_connect', 0), ('skip_connect', 1)], reduce_concat=[2])", "expected an integer"),
    "range(2, 1000000000000)": (
        "Genotype(normal=[('skip_connect', 0), ('skip_connect', 1)], normal_concat=range(2, 1000000000000), "
        "reduce=[('skip_connect', 0), ('skip_connect', 1)], reduce_concat=[2])", "over the limit of 16"),
    "a triple feeding node 10**9": (
        "Genotype(normal=[('skip_connect', 1000000000, 0)], normal_concat=[2], "
        "reduce=[('skip_connect', 0), ('skip_connect', 1)], reduce_concat=[2])", "over the limit of 16"),
    "a triple feeding an input": (
        "Genotype(normal=[('skip_connect', 1, 0)], normal_concat=[2], "
        "reduce=[('skip_connect', 0), ('skip_connect', 1)], reduce_concat=[2])", "feeds node 1"),
}


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("command", ["render", "train"])
def test_bad_input_is_one_line_and_exit_2(case, command, tmp_path, stop_at_data, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    arg, why = BAD[case]
    assert cli.main([command, arg, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and why in err[0], err
    assert len(err[0]) < 800
    assert not (tmp_path / "out").exists() and not (tmp_path / "pwned").exists()
    assert stop_at_data == []


def test_a_genotypes_file_lists_its_names(capsys):
    assert cli.main(["render", str(CORPUS)]) == 2
    err = capsys.readouterr().err
    assert "NASNet" in err and "PCDARTS" in err and "PT_DARTS" in err


def test_a_run_without_a_genotype_is_refused_by_train_and_drawn_as_its_state(tmp_path, capsys):
    from cpnas.simulate import simulate

    run = tmp_path / "run"
    run.mkdir()
    events = simulate(ops=("none", "skip_connect", "sep_conv_3x3"), nodes=2, seed=1)
    (run / "events.jsonl").write_text("".join(e.to_json() + "\n" for e in events), encoding="utf-8")
    assert resolve(str(run)).genotype is None
    assert cli.main(["train", str(run)]) == 2
    assert "no genotype.json yet" in capsys.readouterr().err
    assert "<S>" in cell_graph(run).source or "r0" in cell_graph(run).source


# -- objects with the four fields ------------------------------------------------------------

DartsGenotype = collections.namedtuple("Genotype", "normal normal_concat reduce reduce_concat")
AutoDLGenotype = collections.namedtuple(
    "Genotype", "normal normal_concat reduce reduce_concat connectN connects")


def test_darts_namedtuples_are_accepted_everywhere(tmp_path):
    darts = DartsGenotype(normal=list(DARTS_V2.normal), normal_concat=range(2, 6),
                          reduce=list(DARTS_V2.reduce), reduce_concat=[2, 3, 4, 5])
    nested = AutoDLGenotype(normal=[tuple(n) for n in DARTS_V2.nodes("normal")], normal_concat=[2, 3, 4, 5],
                            reduce=[tuple(n) for n in DARTS_V2.nodes("reduce")], reduce_concat=[2, 3, 4, 5],
                            connectN=None, connects=None)
    for obj in (darts, nested):
        assert _genotype(obj) == DARTS_V2
        assert cell_graph(obj, "reduce").source == cell_graph(DARTS_V2, "reduce").source
        assert cell_pair(obj).source == cell_pair(DARTS_V2).source
        assert model_summary(obj).equals(model_summary(DARTS_V2))
        paths = export_cell(obj, tmp_path / "cells", "dot")
        assert [p.name for p in paths] == ["normal.dot", "reduce.dot"]
    bad = DartsGenotype(normal=[("sep_conv_3x3", "zero")], normal_concat=[2], reduce=[], reduce_concat=[])
    with pytest.raises(GenotypeError, match="Genotype object"):
        cell_graph(bad)


def test_shapes_give_the_same_genotype_and_round_trip():
    flat = parse_genotype(str(DARTS_V2))
    nested = _genotype(f"{CORPUS}:AutoDL_DARTS_V2")
    assert flat == nested == DARTS_V2
    triples = _genotype(f"{CORPUS}:FairDARTS_a")
    assert triples.arity("normal") == (2, 0, 1, 1)
    assert parse_genotype(str(triples)) == triples
    assert len(LONG) > 255 and parse_genotype(LONG).arity("reduce") == (4, 6, 8, 10)
