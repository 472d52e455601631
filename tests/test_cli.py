import json

import pytest

from cpnas import cli
from cpnas.runs import read_events

TINY = ["--ops", "none,skip_connect,sep_conv_3x3", "--nodes", "2", "--cells", "2",
        "--channels", "4", "--sample-steps", "2", "--device", "cpu"]


def _one_line_error(capsys, key):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert key in err[0]
    assert "Traceback" not in err[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert cli.main(["search", *TINY, "--quiet", "--out", str(out)]) == 0
    return out


def test_search_writes_the_run_and_prints_the_summary(run_dir, capsys):
    for name in ("events.jsonl", "config.json", "genotype.json", "checkpoint.pt"):
        assert (run_dir / name).is_file(), name
    config = json.loads((run_dir / "config.json").read_text())
    assert config["nodes"] == 2 and config["ops"] == ["none", "skip_connect", "sep_conv_3x3"]
    assert config["beta"] == 0.5  # defaults filled in
    assert read_events(run_dir)[-1].status == "completed"


def test_summary_table_lists_every_edge(run_dir, capsys):
    assert cli.main(["search", *TINY, "--quiet", "--out", str(run_dir)]) == 0  # resumes, re-finishes
    out = capsys.readouterr().out
    assert "survivor" in out and "last-round mean val accuracy: child" in out
    assert any(line.startswith("edge") and "zbar" in line for line in out.splitlines())
    genotype = json.loads((run_dir / "genotype.json").read_text())
    zbar = genotype["edges"]["normal:0->2"]["zbar"]
    row = next(line for line in out.splitlines() if line.startswith("normal:0->2 "))
    assert f"{zbar:.3f}" in row.split()  # the column the genotype ranks by
    for edge in ("normal:0->2", "normal:2->3", "reduce:1->3"):
        assert edge in out
    assert "genotype: Genotype(" in out
    # what each round pruned, in words, rounds counted from 1
    events = read_events(run_dir)
    from cpnas.events import OpPruned
    from cpnas.scoring import prune_lines

    lines = prune_lines(e for e in events if isinstance(e, OpPruned))
    assert len(lines) == 2 and lines[0].startswith("Round 1: ") and all(line in out for line in lines)
    assert "@1" in row and "@0" not in row


def test_the_progress_bar_says_each_round_in_words(capsys):
    from cpnas.simulate import simulate

    bar = cli.ProgressBar(total=5)
    events = simulate(ops=("none", "skip_connect", "sep_conv_3x3"), nodes=2, seed=1,
                      subscribers=[bar])
    err = capsys.readouterr().err
    from cpnas.events import OpPruned
    from cpnas.scoring import prune_lines

    for line in prune_lines(e for e in events if isinstance(e, OpPruned)):
        assert line in err


def test_config_file_and_flags_override(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"ops": ["none", "sep_conv_3x3"], "nodes": 3, "beta": 1.0}))
    args = cli.build_parser().parse_args(["search", "--config", str(path), "--nodes", "2"])
    cfg = cli.search_config(args)
    assert cfg.nodes == 2 and cfg.beta == 1.0 and cfg.ops == ("none", "sep_conv_3x3")


@pytest.mark.parametrize("argv, key", [
    (["search", "--ops", "none,conv_9x9"], "ops"),
    (["search", "--beta", "abc"], "beta"),
    (["search", "--nodes", "0"], "nodes"),
    (["search", "--ops", ""], "ops"),
    (["search", "--data", "cifar10:/no/such/dir"], "data"),
    (["search", "--device", "tpu"], "device"),
    (["search", "--config", "/no/such.json"], "config"),
    (["train", "Genotype(normal=__import__('os'))"], "normal"),
])
def test_bad_input_is_one_line_and_exit_2(argv, key, capsys):
    assert cli.main(argv) == 2
    _one_line_error(capsys, key)


def test_resume_with_another_config_exits_2_and_changes_nothing(run_dir, capsys):
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    assert cli.main(["search", *TINY, "--beta", "0.9", "--quiet", "--out", str(run_dir)]) == 2
    _one_line_error(capsys, "beta")
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before


def test_run_dir_that_is_a_file_exits_2(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert cli.main(["search", *TINY, "--quiet", "--out", str(f)]) == 2
    _one_line_error(capsys, "file")


def test_train_a_run_directory(run_dir, capsys):
    assert cli.main(["train", str(run_dir), "--epochs", "1", "--fp-twin", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "1-bit: test accuracy" in out and "full-precision twin: test accuracy" in out
    report = json.loads((run_dir / "train.json").read_text())
    assert 0.0 <= report["binary"]["test_acc"] <= 1.0 and "fp_twin" in report


def test_train_a_published_genotype_string(tmp_path, capsys):
    assert cli.main(["train", "DARTS_V2", "--epochs", "1", "--channels", "4", "--device", "cpu",
                     "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "train.json").read_text())["genotype"].startswith("Genotype(")


def test_plugins_come_from_the_entry_point_group(monkeypatch, capsys):
    class EP:
        name = "hello"

        def load(self):
            def add(sub):
                p = sub.add_parser("hello")
                p.set_defaults(func=lambda args: 7)
            return add

    class Broken:
        name = "broken"

        def load(self):
            raise ImportError("no such package")

    monkeypatch.setattr(cli, "entry_points", lambda group: [EP(), Broken()])
    assert cli.main(["hello"]) == 7


def test_an_offline_download_is_one_line_and_writes_no_run(tmp_path, monkeypatch, capsys):
    from cpnas import download

    missing = download.Remote("train-images-idx3-ubyte.gz", (tmp_path / "gone.gz").as_uri(), "0" * 32)
    monkeypatch.setitem(download.REMOTES, "mnist", (missing,))
    monkeypatch.delenv(download.CACHE_ENV, raising=False)
    monkeypatch.setattr(download.os, "environ", dict(download.os.environ))  # --data-dir sets it
    assert cli.main(["search", *TINY, "--data", "mnist", "--data-dir", str(tmp_path / "cache"),
                     "--quiet", "--out", str(tmp_path / "run")]) == 2
    _one_line_error(capsys, str(tmp_path / "cache" / "mnist"))
    assert not (tmp_path / "run" / "events.jsonl").exists()
