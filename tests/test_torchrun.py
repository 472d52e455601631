"""One search across 2 processes (torchrun, gloo on CPU): it completes with one contiguous
event log written by rank 0, and a process group killed with SIGKILL mid-search and started
again with the same command ends exactly like an uninterrupted run.

Real ``torchrun`` subprocesses (``python -m torch.distributed.run --standalone``), digits and
a tiny space (3 ops, 2 nodes, 2 cells, 4 channels, 2 steps per sample, T = 2: 10 samples).
The uninterrupted run and the killed one run side by side.
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

from cpnas.runs import read_events

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["search", "--data", "digits", "--ops", "none,skip_connect,sep_conv_3x3", "--nodes", "2",
        "--cells", "2", "--channels", "4", "--sample-steps", "2", "--repeats", "2",
        "--batch-size", "32", "--seed", "3", "--device", "cpu", "--quiet"]
TIMEOUT = 300.0


def _torchrun(out: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with open(log, "w") as f:
        return subprocess.Popen(
            [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
             "-m", "cpnas", *ARGS, "--out", str(out)],
            stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)


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
    ref, killed = base / "reference", base / "killed"
    ref_proc = _torchrun(ref, base / "reference.log")
    kill_proc = _torchrun(killed, base / "killed.0.log")
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
    resumed = _torchrun(killed, base / "killed.1.log")
    rc = {"reference": _wait(ref_proc, base / "reference.log"),
          "resumed": _wait(resumed, base / "killed.1.log")}
    return {"ref": ref, "killed": killed, "rc": rc, "landed": landed, "base": base}


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
