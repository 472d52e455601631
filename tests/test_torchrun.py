"""One search across 2 processes (torchrun, gloo on CPU): it completes with one contiguous
event log written by rank 0, and a process group killed with SIGKILL mid-search and started
again with the same command ends exactly like an uninterrupted run.

With batch norm over the global batch (``sync_bn``, the CPU ``CpuSyncBatchNorm``), the
2-process search logs the same events as one process on the same global batch: the same
sampled architectures and pruned ops exactly, accuracies and losses up to float rounding.

Real ``torchrun`` subprocesses (``python -m torch.distributed.run --standalone``), digits and
a tiny space (3 ops, 2 nodes, 2 cells, 4 channels, 2 steps per sample, T = 2: 10 samples),
SGD at lr 0.01 without supernet warm-up: float rounding (sums split over 2 ranks) then stays
at rounding size; Adam (which turns near-zero gradients into full steps) and a long warm-up
at a high rate amplify it until accuracies differ by a few points (docs/scale.md).
The uninterrupted run, the killed one and the 1-process run run side by side.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from procs import children, wait_gone

from cpnas.runs import read_events

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["search", "--data", "digits", "--ops", "none,skip_connect,sep_conv_3x3", "--nodes", "2",
        "--cells", "2", "--channels", "4", "--sample-steps", "2", "--repeats", "2",
        "--batch-size", "32", "--seed", "3", "--optimizer", "sgd", "--lr", "0.01",
        "--device", "cpu", "--quiet"]
NO_WARMUP = {"warmup_steps": 0}
TIMEOUT = 300.0
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _launch(head: list[str], args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "w") as f:
        return subprocess.Popen([*head, "-m", "cpnas", *args], stdout=f, stderr=subprocess.STDOUT,
                                env=_env(), cwd=ROOT, start_new_session=True)


def _torchrun(out: Path, log: Path, config: Path) -> subprocess.Popen:
    return _launch(TORCHRUN, [*ARGS, "--config", str(config), "--out", str(out)], log)


def _types(out: Path) -> list[str]:
    try:
        lines = (out / "events.jsonl").read_bytes().split(b"\n")
    except FileNotFoundError:
        return []
    types = []
    for line in lines:
        try:
            types.append(json.loads(line)["type"])
        except ValueError:
            break
    return types


def _wait(proc: subprocess.Popen, log: Path) -> int:
    try:
        return proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"torchrun ran over {TIMEOUT} s:\n{log.read_text()[-3000:]}") from None


def _comparable(out: Path) -> list[dict]:
    rows = []
    for e in read_events(out / "events.jsonl"):
        d = e.without_time()
        d.pop("run_id")
        rows.append(json.loads(json.dumps(d).replace(str(out), "<run>")))
    return rows


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("torchrun")
    config = base / "no-warmup.json"
    config.write_text(json.dumps(NO_WARMUP))
    ref, killed, single = base / "reference", base / "killed", base / "single"
    ref_proc = _torchrun(ref, base / "reference.log", config)
    kill_proc = _torchrun(killed, base / "killed.0.log", config)
    one_proc = _launch([sys.executable], [*ARGS, "--config", str(config), "--out", str(single)],
                       base / "single.log")
    start = time.monotonic()
    while True:  # kill the whole group inside a sample of round 1 (after 2 checkpoints)
        types = _types(killed)
        # sweep scoring (the default) checkpoints once per sweep: 4 in this search
        if types.count("Checkpointed") >= 2 and types[-1] == "Progress":
            os.killpg(kill_proc.pid, signal.SIGKILL)
            break
        assert kill_proc.poll() is None, (base / "killed.0.log").read_text()[-3000:]
        assert time.monotonic() - start < TIMEOUT, "the killed run never reached round 1"
        time.sleep(0.01)
    kill_proc.wait()
    landed = types
    resumed = _torchrun(killed, base / "killed.1.log", config)
    rc = {"reference": _wait(ref_proc, base / "reference.log"),
          "resumed": _wait(resumed, base / "killed.1.log"),
          "single": _wait(one_proc, base / "single.log")}
    return {"ref": ref, "killed": killed, "single": single, "rc": rc, "landed": landed,
            "base": base}


def test_two_processes_complete_with_one_contiguous_log(runs):
    assert runs["rc"]["reference"] == 0, (runs["base"] / "reference.log").read_text()[-3000:]
    events = read_events(runs["ref"] / "events.jsonl")
    assert [e.seq for e in events] == list(range(len(events)))  # rank 0 alone wrote it
    assert events[0].provenance["world_size"] == 2 and events[-1].status == "completed"
    assert sum(e.type == "SampleTrained" for e in events) == 10
    assert (runs["ref"] / "genotype.json").is_file()


def test_a_killed_process_group_resumes_exactly(runs):
    assert runs["landed"].count("GenotypeDerived") == 0  # it was killed mid-search
    assert runs["rc"]["resumed"] == 0, (runs["base"] / "killed.1.log").read_text()[-3000:]
    assert _comparable(runs["killed"]) == _comparable(runs["ref"])
    genotype = lambda d: json.loads((d / "genotype.json").read_text())["genotype"]  # noqa: E731
    assert genotype(runs["killed"]) == genotype(runs["ref"])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_ranks_stop_when_their_launcher_is_killed_and_the_run_resumes(runs, tmp_path):
    """kill -9 of torchrun itself (it cannot pass the signal on; each rank has a process group
    of its own): every rank sees its parent gone and stops at the next sample boundary as a
    stop does, the log ends ``stopped``, the lock is free, and the same command resumes it to
    the uninterrupted result."""
    from cpnas.runs.lock import RunLock

    out, log = tmp_path / "orphaned", tmp_path / "orphaned.0.log"
    config = runs["base"] / "no-warmup.json"
    proc = _torchrun(out, log, config)
    start = time.monotonic()
    while _types(out).count("Checkpointed") < 1:  # mid-search, round 0
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() - start < TIMEOUT, "the search never checkpointed"
        time.sleep(0.01)
    ranks = children(proc.pid)
    assert len(ranks) == 2, ranks
    os.kill(proc.pid, signal.SIGKILL)  # the launcher alone
    proc.wait()
    left = wait_gone(ranks, 30)
    for pid in left:  # never leave them behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"ranks still running 30 s after the launcher died:\n{log.read_text()[-3000:]}"
    events = read_events(out / "events.jsonl")
    assert events[-1].type == "SearchFinished" and events[-1].status == "stopped"
    assert "the launcher (pid " in log.read_text() and "Traceback" not in log.read_text()
    RunLock(out).release()  # free: the same command can take it
    resumed = _torchrun(out, tmp_path / "orphaned.1.log", config)
    assert _wait(resumed, tmp_path / "orphaned.1.log") == 0
    assert _comparable(out) == _comparable(runs["ref"])


def _numbers_close(a, b, path: str = "") -> None:
    """Equal, floats up to ``TOLERANCE`` (a few of the 360 validation images, rounding of
    the losses), everything else exactly."""
    if isinstance(a, float) or isinstance(b, float):
        assert abs(a - b) <= TOLERANCE, f"{path}: {a} vs {b}"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _numbers_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _numbers_close(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


TOLERANCE = 0.01


def test_two_processes_log_the_events_of_one(runs):
    """The same global batch in 1 and in 2 processes: the same events."""
    assert runs["rc"]["single"] == 0, (runs["base"] / "single.log").read_text()[-3000:]
    one, two = (_comparable(runs[k]) for k in ("single", "ref"))  # no times, no provenance
    assert [e["type"] for e in one] == [e["type"] for e in two]
    pick = lambda rows, kind, keys: [{k: e[k] for k in keys} for e in rows if e["type"] == kind]  # noqa: E731
    for kind, keys in (("SampleTrained", ("round", "t", "s", "arch")),
                       ("OpPruned", ("round", "edge", "op"))):
        assert pick(one, kind, keys) == pick(two, kind, keys)  # exactly
    for a, b in zip(one, two):
        _numbers_close(a, b, a["type"])


# -- the other strategies and the final training under torchrun -----------------------------

GENOTYPE = ("Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('skip_connect', 0), "
            "('sep_conv_3x3', 2)], normal_concat=[2, 3], reduce=[('skip_connect', 0), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 2)], reduce_concat=[2, 3])")
TRAIN = ["train", GENOTYPE, "--data", "digits", "--epochs", "1", "--cells", "2", "--channels", "4",
         "--device", "cpu"]


@pytest.fixture(scope="module")
def others(tmp_path_factory):
    """darts and random-pick searches under torchrun, and `cpnas train` in 1 and 2 processes
    (the 1-process training beside the torchrun ones)."""
    base = tmp_path_factory.mktemp("others")
    protocol = base / "protocol.json"
    protocol.write_text(json.dumps({"batch_size": 32, "optimizer": "sgd", "lr": 0.01}))
    train = [*TRAIN, "--protocol", str(protocol)]
    procs = {
        "darts": _launch(TORCHRUN, [*ARGS, "--strategy", "darts", "--out", str(base / "darts")],
                         base / "darts.log"),
        "train1": _launch([sys.executable], [*train, "--out", str(base / "train1")],
                          base / "train1.log"),
    }
    rc = {"darts": _wait(procs["darts"], base / "darts.log")}
    procs["pick"] = _launch(TORCHRUN, [*ARGS, "--strategy", "random-pick", "--out",
                                       str(base / "pick")], base / "pick.log")
    rc["pick"] = _wait(procs["pick"], base / "pick.log")
    procs["train2"] = _launch(TORCHRUN, [*train, "--out", str(base / "train2")],
                              base / "train2.log")
    rc.update(train2=_wait(procs["train2"], base / "train2.log"),
              train1=_wait(procs["train1"], base / "train1.log"))
    return base, rc


def test_darts_is_refused_under_torchrun_before_anything_is_written(others):
    base, rc = others
    log = (base / "darts.log").read_text()
    assert rc["darts"] != 0, log[-3000:]
    refusals = [line for line in log.splitlines() if line.startswith("error: ")]
    # each rank refuses in one line; once the first rank exits, torchrun stops the other
    # (SIGTERM), which may come before that rank has printed its line: one or two lines
    assert 1 <= len(refusals) <= 2, log[-3000:]
    assert set(refusals) == {"error: strategy: darts runs in one process only, got 2 processes "
                             "(run it without torchrun)"}, log[-3000:]
    assert 'File "' + str(ROOT / "cpnas") not in log  # no traceback of ours
    assert not (base / "darts").exists()


def test_random_pick_runs_under_torchrun_and_rank0_alone_writes(others):
    from cpnas import search
    from cpnas.config import SearchConfig

    base, rc = others
    assert rc["pick"] == 0, (base / "pick.log").read_text()[-3000:]
    events = read_events(base / "pick" / "events.jsonl")
    assert [e.seq for e in events] == list(range(len(events)))
    assert events[0].provenance["world_size"] == 2 and events[-1].status == "completed"
    picked = json.loads((base / "pick" / "genotype.json").read_text())["genotype"]
    one = search(SearchConfig(data="digits", ops=("none", "skip_connect", "sep_conv_3x3"),
                              nodes=2, seed=3, strategy="random-pick", device="cpu"))
    assert picked == str(one.genotype)  # every rank draws what one process draws


def test_train_under_torchrun_rank0_writes_what_one_process_computes(others):
    base, rc = others
    for run in ("train1", "train2"):
        assert rc[run] == 0, (base / f"{run}.log").read_text()[-3000:]
    one, two = (json.loads((base / run / "train.json").read_text()) for run in ("train1", "train2"))
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert (base / "train2.log").read_text().count("results: ") == 1  # rank 0 alone reports
    assert sorted(p.name for p in (base / "train2").iterdir()) == ["train.json"]
    # the same global batches, batch norm over them: the same network up to float rounding
    for key in ("test_acc", "val_acc"):
        assert abs(one["binary"][key] - two["binary"][key]) <= TOLERANCE
