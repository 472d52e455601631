"""Every kind of bad input gets one ``error:`` line and exit 2, and changes nothing.

Each case builds its input under ``tmp_path``, runs ``cpnas.cli.main`` in this process (the
refusals come before any search starts, so this table costs seconds), and checks: exit code
2, exactly one line on stderr starting with ``error:``, no traceback, and every file and
directory under ``tmp_path`` as it was (names, bytes and mtimes: nothing created, nothing
changed). The API cases check the same through the exception.
"""

from __future__ import annotations

import json
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import cpnas
from cpnas.cli import main
from cpnas.errors import CpnasError
from cpnas.runs.checkpoint import load_checkpoint_file, save_checkpoint_file
from cpnas.runs.lock import RunLock

FIXTURE = Path(__file__).parent / "fixtures" / "run_v1"
SEARCH = ["search", "--data", "digits", "--ops", "none,skip_connect,sep_conv_3x3", "--nodes", "2",
          "--cells", "1", "--channels", "4", "--sample-steps", "2", "--repeats", "2", "--seed",
          "7", "--quiet"]


def snapshot(root: Path) -> dict[str, object]:
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file()
            else "dir" for p in sorted(root.rglob("*"))}


# -- building inputs --------------------------------------------------------------------------


def new_out(tmp: Path, *flags: str) -> list[str]:
    """A search on a run dir that does not exist yet (it must not exist afterwards)."""
    return [*SEARCH, *flags, "--out", str(tmp / "new")]


def config_file(tmp: Path, text: str | bytes) -> list[str]:
    path = tmp / "cfg.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return ["search", "--config", str(path), "--quiet", "--out", str(tmp / "new")]


def run_copy(tmp: Path) -> Path:
    run = tmp / "run"
    shutil.copytree(FIXTURE, run)
    return run


def resume(tmp: Path, run: Path, *flags: str) -> list[str]:
    """The fixture's own search again: its recorded config, with the keys added since the
    release that wrote it at their LEGACY value (today's defaults differ: issue 10)."""
    from cpnas.config import stored_config

    cfg = stored_config(json.loads((FIXTURE / "config.json").read_text()), "fixture")
    path = tmp / "resume.json"
    path.write_text(json.dumps(cfg))
    return ["search", "--config", str(path), *SEARCH[1:], *flags, "--out", str(run)]


def on_run(edit: Callable[[Path], object], *flags: str) -> Callable[[Path], list[str]]:
    """Resume the fixture run after ``edit`` has broken something in it."""

    def setup(tmp: Path) -> list[str]:
        run = run_copy(tmp)
        edit(run)
        return resume(tmp, run, *flags)

    return setup


def edit_log(run: Path, line: int, change: Callable[[dict], object]) -> None:
    lines = (run / "events.jsonl").read_text().splitlines()
    event = json.loads(lines[line])
    change(event)
    lines[line] = json.dumps(event)
    (run / "events.jsonl").write_text("\n".join(lines) + "\n")


def edit_config(run: Path, value: object) -> None:
    (run / "config.json").write_text(value if isinstance(value, str) else json.dumps(value))


def resave_checkpoint(run: Path, run_id: str) -> None:
    path = run / "checkpoint.pt"
    save_checkpoint_file(path, load_checkpoint_file(path), run_id)


def flip_checkpoint(run: Path) -> None:
    """64 bytes flipped inside the state's tensors (a damaged disk block)."""
    import torch

    from cpnas.runs.checkpoint import payload_bytes

    resave_checkpoint(run, "ed3fd15b96b4")
    path = run / "checkpoint.pt"
    payload = payload_bytes(torch.load(path, weights_only=True))
    data = bytearray(path.read_bytes())
    at = data.find(payload[len(payload) // 2:len(payload) // 2 + 64])
    assert at > 0
    data[at:at + 64] = bytes(b ^ 0xFF for b in data[at:at + 64])
    path.write_bytes(bytes(data))


def newer_checkpoint(run: Path) -> None:
    import torch

    torch.save({"format": "cpnas.checkpoint", "version": 99, "state": {}}, run / "checkpoint.pt")


def checkpoint_dir(run: Path) -> None:
    (run / "checkpoint.pt").unlink()
    (run / "checkpoint.pt").mkdir()


def cifar(tmp: Path, batches: dict[str, object]) -> list[str]:
    folder = tmp / "cifar"
    folder.mkdir()
    for name, content in batches.items():
        if content == "dir":
            (folder / name).mkdir()
        elif isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_bytes(pickle.dumps(content))
    return ["search", "--data", f"cifar10:{folder}", "--quiet", "--out", str(tmp / "new")]


def batch(n: int, labels: list[int] | None = None) -> dict:
    return {b"data": np.zeros((n, 3 * 32 * 32), np.uint8),
            b"labels": labels if labels is not None else [i % 10 for i in range(n)]}


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def linked_log(tmp: Path) -> list[str]:
    """A run with its config and no checkpoint whose events.jsonl links to a user's file: a
    fresh start would truncate the log, that is the user's file."""
    run = tmp / "run"
    run.mkdir()
    shutil.copy(FIXTURE / "config.json", run / "config.json")
    (run / "events.jsonl").symlink_to(write(tmp, "mine.txt", "the user's own notes\n"))
    return resume(tmp, run)


def user_study(tmp: Path, *names: str) -> list[str]:
    """A folder of the user's own files under the names a study writes."""
    folder = tmp / "mine"
    folder.mkdir()
    for name in names:
        write(folder, name, "the user's own\n")
    return ["study", "--quick", "--out", str(folder)]


def fifo(tmp: Path, name: str = "pipe") -> Path:
    """A FIFO with no writer: opening it for reading would block forever."""
    import os

    path = tmp / name
    os.mkfifo(path)
    return path


def deep_json(depth: int = 40_000) -> str:
    return "[" * depth + "]" * depth


def replace_with_fifo(run: Path, name: str) -> None:
    (run / name).unlink()
    fifo(run, name)


def deep_log_line(run: Path) -> None:
    lines = (run / "events.jsonl").read_text().splitlines()
    lines[5] = '{"type": "Progress", "x": ' + deep_json() + '}'
    (run / "events.jsonl").write_text("\n".join(lines) + "\n")


LONG_OP = ("Genotype(normal=[('%s', 0), ('skip_connect', 1)], normal_concat=[2], "
           "reduce=[('sep_conv_3x3', 0), ('skip_connect', 1)], reduce_concat=[2])" % ("x" * 30_000))
NEGATIVE_INPUT = ("Genotype(normal=[('sep_conv_3x3', -1), ('skip_connect', 0)], normal_concat=[2], "
                  "reduce=[('sep_conv_3x3', 0), ('skip_connect', 1)], reduce_concat=[2])")
LONG_NAME = "x" * 300  # over NAME_MAX (255)
LONG_PATH = "/".join(["d" * 50] * 100)  # 5,099 bytes, over PATH_MAX


def locked(tmp: Path) -> list[str]:
    run = run_copy(tmp)
    locked.held = RunLock(run)  # another writer, as far as flock can tell
    return resume(tmp, run)


# -- the table: (id, setup -> argv, a fragment the error line must hold) ---------------------

CLI_CASES: list[tuple[str, Callable[[Path], list[str]], str]] = [
    ("nodes-0", lambda t: new_out(t, "--nodes", "0"), "nodes: must be an integer >= 1"),
    ("nodes-negative", lambda t: new_out(t, "--nodes", "-1"), "nodes"),
    ("nodes-text", lambda t: new_out(t, "--nodes", "abc"), "nodes: must be an integer"),
    ("nodes-huge", lambda t: new_out(t, "--nodes", "1000"), "over the limit of 16"),
    ("cells-0", lambda t: new_out(t, "--cells", "0"), "cells"),
    ("cells-huge", lambda t: new_out(t, "--cells", "10000"), "over the limit of 64"),
    ("channels-0", lambda t: new_out(t, "--channels", "0"), "channels"),
    ("channels-huge", lambda t: new_out(t, "--channels", "100000"), "over the limit of 4096"),
    ("seed-negative", lambda t: new_out(t, "--seed", "-1"), "seed: must be an integer >= 0"),
    ("seed-2**32", lambda t: new_out(t, "--seed", "4294967296"), "over the limit of 4294967295"),
    ("repeats-0", lambda t: new_out(t, "--repeats", "0"), "repeats"),
    ("repeats-huge", lambda t: new_out(t, "--repeats", "100000"), "over the limit of 1000"),
    ("steps-0", lambda t: new_out(t, "--sample-steps", "0"), "sample_steps"),
    ("steps-huge", lambda t: new_out(t, "--sample-steps", "100000000"), "over the limit"),
    ("batch-0", lambda t: new_out(t, "--batch-size", "0"), "batch_size"),
    ("batch-huge", lambda t: new_out(t, "--batch-size", "1000000"), "over the limit"),
    ("lr-0", lambda t: new_out(t, "--lr", "0"), "lr: must be > 0"),
    ("lr-negative", lambda t: new_out(t, "--lr", "-1"), "lr: must be > 0"),
    ("lr-nan", lambda t: new_out(t, "--lr", "nan"), "lr: must be finite"),
    ("lr-inf", lambda t: new_out(t, "--lr", "inf"), "lr: must be finite"),
    ("beta-nan", lambda t: new_out(t, "--beta", "nan"), "beta: must be finite"),
    ("theta-negative", lambda t: new_out(t, "--theta", "-1"), "theta: must be >= 0"),
    ("lam-negative", lambda t: new_out(t, "--lam", "-1"), "lam: must be >= 0"),
    ("ops-empty", lambda t: new_out(t, "--ops", ""), "ops"),
    ("ops-unknown", lambda t: new_out(t, "--ops", "none,nope"), "unknown op 'nope'"),
    ("ops-one", lambda t: new_out(t, "--ops", "none"), "at least 2"),
    ("ops-duplicate", lambda t: new_out(t, "--ops", "none,none"), "duplicate"),
    ("data-no-folder", lambda t: new_out(t, "--data", str(t / "nowhere")), "does not exist"),
    ("data-synthetic-20", lambda t: new_out(t, "--data", "synthetic:20"), ">= 50"),
    ("data-synthetic-text", lambda t: new_out(t, "--data", "synthetic:abc"), ">= 50"),
    ("data-synthetic-huge", lambda t: new_out(t, "--data", "synthetic:99999999999"),
     "over the limit"),
    ("data-digits-arg", lambda t: new_out(t, "--data", "digits:5"), "takes no argument"),
    ("device-unknown", lambda t: new_out(t, "--device", "tpu"), "invalid choice"),
    ("flag-unknown", lambda t: new_out(t, "--bogus"), "unrecognized arguments"),
    ("config-missing", lambda t: ["search", "--config", str(t / "no.json"), "--out",
                                  str(t / "new")], "not found"),
    ("config-not-json", lambda t: config_file(t, "{nodes: 2"), "is not JSON"),
    ("config-a-list", lambda t: config_file(t, "[1, 2]"), "JSON object"),
    ("config-unknown-key", lambda t: config_file(t, '{"wat": 1}'), "unknown config key"),
    ("config-nested-deep", lambda t: config_file(t, "[" * 100_000), "nested too deeply"),
    ("config-400-digits", lambda t: config_file(t, '{"nodes": %s}' % ("9" * 400)),
     "over the limit of 16"),
    ("config-5000-digits", lambda t: config_file(t, '{"nodes": %s}' % ("9" * 5000)), "digits"),
    ("config-nodes-true", lambda t: config_file(t, '{"nodes": true}'), "nodes"),
    ("config-nodes-2.5", lambda t: config_file(t, '{"nodes": 2.5}'), "nodes"),
    ("config-ops-number", lambda t: config_file(t, '{"ops": 5}'), "ops"),
    ("config-mode-unknown", lambda t: config_file(t, '{"genotype_mode": "x"}'), "genotype_mode"),
    ("config-bool-as-text", lambda t: config_file(t, '{"shortcut": "yes"}'), "shortcut"),
    ("config-data-number", lambda t: config_file(t, '{"data": 5}'), "data: must be text"),
    ("config-newer-version", lambda t: config_file(t, '{"config_version": 99}'), "newer cpnas"),
    ("config-not-utf8", lambda t: config_file(t, b"\xff\xfe{"), "cannot read"),
    ("cifar-3-images", lambda t: cifar(t, {"data_batch_1": batch(3)}), "too few images"),
    ("cifar-one-class", lambda t: cifar(t, {"data_batch_1": batch(300, [3] * 300)}),
     "holds only class 3; a search needs images of at least 2 classes"),
    ("cifar-negative-labels", lambda t: cifar(t, {"data_batch_1": batch(60, [-1] * 60)}),
     "labels outside"),
    ("cifar-batch-a-dir", lambda t: cifar(t, {"data_batch_1": batch(60), "data_batch_2": "dir"}),
     "cannot read"),
    ("cifar-not-a-pickle", lambda t: cifar(t, {"data_batch_1": b"not a pickle"}),
     "not a CIFAR-10 batch"),
    ("out-is-a-file", lambda t: [*SEARCH, "--out", str(write(t, "f", "x"))], "is a file"),
    ("out-under-a-file", lambda t: [*SEARCH, "--out", str(write(t, "f", "x") / "run")],
     "is a file"),
    ("out-in-proc", lambda t: [*SEARCH, "--out", "/proc/cpnas-run"], "cannot create"),
    ("out-holds-foreign-files", lambda t: [*SEARCH, "--out", str(write(t, "notes.txt", "x").parent)],
     "did not write (notes.txt)"),
    ("out-log-without-config", lambda t: [*SEARCH, "--out",
                                          str(write(t, "events.jsonl", "mine\n").parent)],
     "without its config.json"),
    ("checkpoint-a-dir", on_run(checkpoint_dir), "checkpoint.pt is a directory"),
    ("resume-other-config", on_run(lambda r: None, "--beta", "0.9"), "beta: 0.5 -> 0.9"),
    ("checkpoint-garbage", on_run(lambda r: (r / "checkpoint.pt").write_bytes(b"\x00" * 99)),
     "not a loadable cpnas checkpoint"),
    ("checkpoint-flipped", on_run(flip_checkpoint), "damaged"),
    ("checkpoint-newer", on_run(newer_checkpoint), "checkpoint version 99"),
    ("checkpoint-other-run", on_run(lambda r: resave_checkpoint(r, "0123456789ab")),
     "belongs to run '0123456789ab'"),
    ("config.json-not-json", on_run(lambda r: edit_config(r, "{")), "not JSON"),
    ("config.json-a-list", on_run(lambda r: edit_config(r, [1])), "JSON object"),
    ("config.json-newer", on_run(lambda r: edit_config(r, {"config_version": 2})),
     "newer cpnas"),
    ("log-schema-2", on_run(lambda r: edit_log(r, 0, lambda e: e.update(schema=2))),
     "schema version 2"),
    ("log-of-another-run", on_run(lambda r: [edit_log(r, i, lambda e: e.update(run_id="x"))
                                             for i in range(67)]), "belongs to run 'x'"),
    ("log-two-runs-mixed", on_run(lambda r: edit_log(r, 5, lambda e: e.update(run_id="x"))),
     "two runs mixed"),
    ("log-field-wrong-type", on_run(lambda r: edit_log(r, 4, lambda e: e.update(child_acc="high"))),
     "SampleTrained.child_acc is text"),
    ("log-behind-checkpoint", on_run(lambda r: (r / "events.jsonl").write_text(
        "".join((r / "events.jsonl").read_text().splitlines(True)[:5]))), "events are lost"),
    ("run-locked", locked, "another search is writing this run (pid"),
    ("train-bad-text", lambda t: ["train", "Genotype(nope"], "not valid syntax"),
    ("train-nested-deep", lambda t: ["train", "Genotype(" + "[" * 5000], "genotype"),
    ("train-huge-text", lambda t: ["train", "Genotype(" + "x" * 200_000 + ")"],
     "over the limit of 100000"),
    ("train-json-not-genotype", lambda t: ["train", str(write(t, "g.json", '{"a": 1}'))],
     "not a genotype file"),
    ("train-epochs-0", lambda t: ["train", "DARTS_V2", "--epochs", "0"], "epochs"),
    ("train-channels-negative", lambda t: ["train", "DARTS_V2", "--channels", "-1"], "channels"),
    ("train-channels-0", lambda t: ["train", "DARTS_V2", "--channels", "0"], "channels"),
    ("train-cells-0", lambda t: ["train", "DARTS_V2", "--cells", "0"], "cells"),
    ("train-seed-negative", lambda t: ["train", "DARTS_V2", "--seed", "-1"], "seed"),
    ("train-out-a-file", lambda t: ["train", "DARTS_V2", "--out", str(write(t, "f", "x"))],
     "is a file"),
    ("train-out-in-proc", lambda t: ["train", "DARTS_V2", "--out", "/proc/cpnas"],
     "cannot create"),
    ("train-no-such-run", lambda t: ["train", str(t / "runs" / "nothing")], "no such run"),
    ("render-bad-text", lambda t: ["render", "Genotype(x", "--out", str(t / "cells")],
     "not valid syntax"),
    ("render-out-in-proc", lambda t: ["render", str(FIXTURE), "--out", "/proc/cells"],
     "cannot create"),
    ("render-out-a-file", lambda t: ["render", str(FIXTURE), "--out", str(write(t, "f", "x"))],
     "not a directory"),
    ("render-out-under-a-file", lambda t: ["render", str(FIXTURE), "--out",
                                           str(write(t, "f", "x") / "cells")], "cannot create"),
    ("report-out-under-a-file", lambda t: ["report", str(run_copy(t)), "--out",
                                           str(write(t, "f", "x") / "r.html")], "not a directory"),
    ("report-not-a-dir", lambda t: ["report", str(t / "nothing")], "not a run directory"),
    ("report-out-in-proc", lambda t: ["report", str(run_copy(t)), "--out", "/proc/r.html"],
     "cannot write"),
    ("report-log-schema-2", lambda t: ["report", str(on_run(
        lambda r: edit_log(r, 0, lambda e: e.update(schema=2)))(t)[-1])], "schema version 2"),
    # issue 20: no command writes over a run's own files, or through a link out of a run
    *[(f"report-out-its-{name}", (lambda n: lambda t: (lambda r: [
        "report", str(r), "--out", str(r / n)])(run_copy(t)))(name), f"the run's own {name}")
      for name in ("events.jsonl", "checkpoint.pt", "config.json", "genotype.json")],
    ("out-log-a-symlink", linked_log, "events.jsonl is a symbolic link"),
    ("study-out-users-results", lambda t: user_study(t, "results.csv", "study.html"),
     "but no searches/"),
    ("study-out-users-log", lambda t: user_study(t, "study.jsonl"), "but no searches/"),
    ("study-out-foreign-files", lambda t: user_study(t, "notes.txt"),
     "did not write (notes.txt)"),
    ("study-out-a-link", lambda t: (lambda d: (d.mkdir(), (d / "searches").mkdir(),
                                                (d / "results.csv").symlink_to(write(t, "m", "x")),
                                                ["study", "--quick", "--out", str(d)])[-1])(
        t / "s"), "results.csv is a symbolic link"),
    # issue 20: reads. Devices, FIFOs and sockets are refused before a byte is read
    ("config-dev-zero", lambda t: ["search", "--config", "/dev/zero", "--out", str(t / "new")],
     "a character device, not a file"),
    ("config-dev-urandom", lambda t: ["search", "--config", "/dev/urandom", "--out",
                                      str(t / "new")], "a character device, not a file"),
    ("config-a-fifo", lambda t: ["search", "--config", str(fifo(t)), "--out", str(t / "new")],
     "a FIFO (named pipe), not a file"),
    ("render-dev-zero", lambda t: ["render", "/dev/zero", "--out", str(t / "cells")],
     "a character device, not a file"),
    ("train-genotype-a-fifo", lambda t: ["train", str(fifo(t))], "a FIFO (named pipe)"),
    ("checkpoint-a-fifo", on_run(lambda r: replace_with_fifo(r, "checkpoint.pt")),
     "checkpoint.pt is a device, FIFO or socket"),
    ("report-log-a-fifo", lambda t: ["report", str(on_run(
        lambda r: replace_with_fifo(r, "events.jsonl"))(t)[-1])], "a FIFO (named pipe)"),
    # ... and JSON nested too deeply, inside a wrapper too
    ("genotype-json-wrapper-deep", lambda t: ["render", str(write(
        t, "g.json", '{"genotype": ' + deep_json() + '}')), "--out", str(t / "cells")],
     "nested too deeply"),
    ("train-genotype-json-deep", lambda t: ["train", str(write(
        t, "g.json", '{"genotype": "x", "edges": ' + deep_json() + '}'))], "nested too deeply"),
    ("config.json-nested-deep", on_run(lambda r: edit_config(r, '{"a": ' + deep_json() + '}')),
     "nested too deeply"),
    ("log-line-nested-deep", on_run(deep_log_line), "line 6 is not a JSON event (nested too deeply"),
    ("report-log-line-nested-deep", lambda t: ["report", str(on_run(deep_log_line)(t)[-1])],
     "nested too deeply"),
    ("run-genotype-nested-deep", lambda t: ["train", str(on_run(lambda r: write(
        r, "genotype.json", '{"genotype": ' + deep_json() + '}'))(t)[-1])], "nested too deeply"),
    # ... op names by a length limit, indices and sizes with the right reason
    ("render-op-name-30000", lambda t: ["render", str(write(t, "g.txt", LONG_OP)), "--out",
                                        str(t / "cells")], "over the limit of 100"),
    ("train-genotype-index-negative", lambda t: ["train", NEGATIVE_INPUT],
     "-1 is negative; node indices count from 0"),
    ("data-synthetic-expression", lambda t: new_out(t, "--data", "synthetic:10**15"),
     "is an expression, and cpnas never evaluates one"),
    ("data-synthetic-15-digits", lambda t: new_out(t, "--data", "synthetic:" + "9" * 15),
     "over the limit of 10000000"),
    # issue 20: every limit at once is refused by the memory estimate, before anything exists
    ("every-limit-at-once", lambda t: new_out(t, "--nodes", "16", "--cells", "64", "--channels",
                                              "4096"), "this search needs at least 57.5 TB of memory"),
    # ENAMETOOLONG as one line, for every command's paths
    ("search-out-name-too-long", lambda t: new_out(t)[:-1] + [str(t / LONG_NAME)],
     "300 bytes long; the system takes 255"),
    ("search-out-path-too-long", lambda t: new_out(t)[:-1] + [str(t / LONG_PATH)],
     "the system takes 4095"),
    ("search-config-name-too-long", lambda t: ["search", "--config", str(t / LONG_NAME)],
     "--config: a name in the path is 300 bytes"),
    ("search-config-path-too-long", lambda t: ["search", "--config", str(t / LONG_PATH)],
     "--config: the path is"),
    ("render-out-too-long", lambda t: ["render", "DARTS_V2", "--out", str(t / LONG_NAME)],
     "--out: a name in the path"),
    ("train-out-too-long", lambda t: ["train", "DARTS_V2", "--out", str(t / LONG_PATH)],
     "--out: the path is"),
    ("study-out-too-long", lambda t: ["study", "--quick", "--out", str(t / LONG_NAME)],
     "--out: a name in the path"),
    ("report-out-too-long", lambda t: ["report", str(run_copy(t)), "--out", str(t / LONG_NAME)],
     "--out: a name in the path"),
]


@pytest.mark.parametrize("setup,fragment", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_bad_input_is_refused_in_one_line_and_changes_nothing(setup, fragment, tmp_path, capsys):
    argv = setup(tmp_path)
    before = snapshot(tmp_path)
    capsys.readouterr()
    try:
        code = main(argv)
    finally:
        held = getattr(locked, "held", None)
        if held is not None:
            held.release()
            locked.held = None
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0]
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before


# (id, setup -> the call to make, fragment)
API_CASES: list[tuple[str, Callable[[Path], Callable[[], object]], str]] = [
    ("search-bad-config", lambda t: lambda: cpnas.search({"nodes": 0}, out=t / "new"), "nodes"),
    ("search-out-a-file", lambda t: (lambda f: lambda: cpnas.search({}, out=f))(write(t, "f", "x")),
     "is a file"),
    ("load_run-missing", lambda t: lambda: cpnas.load_run(t / "nothing"), "does not exist"),
    ("load_run-no-log", lambda t: lambda: cpnas.load_run(t), "no events.jsonl"),
    ("load_run-empty-log", lambda t: (lambda d: lambda: cpnas.load_run(d))(
        write(t, "events.jsonl", "").parent), "no events"),
    ("parse_genotype-deep", lambda t: lambda: cpnas.parse_genotype("[" * 100_000), "genotype"),
    ("config-from-a-list", lambda t: lambda: cpnas.SearchConfig.from_dict([]), "JSON object"),
]


@pytest.mark.parametrize("setup,fragment", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_bad_input_to_the_api_is_one_line_and_changes_nothing(setup, fragment, tmp_path):
    call = setup(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(CpnasError) as info:
        call()
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("argv", [
    [*SEARCH, "--out", ""], ["render", "DARTS_V2", "--out", ""], ["train", "DARTS_V2", "--out", ""],
    ["study", "--quick", "--out", ""], ["report", str(FIXTURE), "--out", ""],
    ["search", "--config", "", "--out", "new"],
], ids=["search", "render", "train", "study", "report", "config"])
def test_an_empty_path_is_refused(argv, tmp_path, monkeypatch, capsys) -> None:
    """``--out ""`` is not the current folder (``Path("")`` is ``.``): refused, nothing written."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "an empty path" in lines[0]
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(CpnasError, match="empty path"):
        cpnas.RunDir("")


def test_render_into_a_run_is_recognised_and_the_run_still_resumes(tmp_path, capsys) -> None:
    """``render RUN --out RUN`` draws the cells beside the log; the run knows those files
    (as it knows report.html), so the same search still resumes there."""
    run = run_copy(tmp_path)
    assert main(["render", str(run), "--out", str(run), "--format", "dot"]) == 0
    assert main(["report", str(run)]) == 0
    assert {p.name for p in run.iterdir()} >= {"normal.dot", "reduce.dot", "report.html"}
    assert main(resume(tmp_path, run)) == 0, capsys.readouterr().err


def test_a_search_that_cannot_fit_is_refused_with_the_estimate_and_the_memory(
        tmp_path, monkeypatch, capsys) -> None:
    """The estimate and the memory available (RAM, or the cgroup's limit) are both in the one
    line, and the run directory is never created."""
    from cpnas import memory

    monkeypatch.setattr(memory, "available", lambda device="cpu": (10**6, "RAM available"))
    assert main(new_out(tmp_path)) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("error: this search needs at least ") and "\n" not in line
    assert "and 1.0 MB is RAM available" in line and "2 supernets of" in line
    assert list(tmp_path.iterdir()) == []


def test_the_memory_estimate_counts_the_supernets_parameters() -> None:
    """Each op counted once per width and stride on the meta device, times its edges: the
    parameters of a real supernet, up to its stem and classifier."""
    import torch

    from cpnas.memory import supernet_params
    from cpnas.model import SuperNet
    from cpnas.ops import OpSpec

    cfg = cpnas.SearchConfig(nodes=3, cells=3, channels=8)
    with torch.device("meta"):
        net = SuperNet(cfg.space, 3, 10, cfg.channels, cfg.cells, OpSpec(binary=True))
    real = sum(p.numel() for p in net.parameters())
    assert 0.98 * real <= supernet_params(cfg, 3, 10, binary=True) <= 1.05 * real


def test_a_study_whose_search_holds_a_deeply_nested_genotype_reads_it_as_not_done(tmp_path):
    """The study reads its searches through the one genotype reader: a ``genotype.json``
    nested 40,000 deep is a refused run (its row stays empty), not a RecursionError."""
    from cpnas.study import StudySpec, collect, expand

    spec = StudySpec(strategies=("cpnas",), seeds=(0,))
    run = tmp_path / "searches" / expand(spec)[0].run_id
    shutil.copytree(FIXTURE, run)
    (run / "genotype.json").write_text('{"genotype": ' + deep_json() + '}')
    (row,) = collect(spec, tmp_path)
    assert row["genotype"] == "" and row["run_dir"] == f"searches/{run.name}"


def test_the_table_covers_at_least_60_kinds() -> None:
    assert len(CLI_CASES) + len(API_CASES) >= 60
    assert len({c[0] for c in CLI_CASES + API_CASES}) == len(CLI_CASES) + len(API_CASES)


def test_an_internal_error_still_shows_a_traceback(monkeypatch, tmp_path) -> None:
    """No blanket except: a bug is not dressed up as bad input (exit 2)."""
    from cpnas import config

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug, not bad input")

    monkeypatch.setattr(config.SearchConfig, "from_dict", bug)
    with pytest.raises(ZeroDivisionError):
        main([*SEARCH, "--out", str(tmp_path / "new")])
