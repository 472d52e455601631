"""The run directory: atomic files, the append-only log, checkpoints, replay."""

from __future__ import annotations

import json
import os
import pickle
import random
import warnings
from pathlib import Path

import pytest
import torch

from cpnas import events as ev
from cpnas.config import LEGACY
from cpnas.errors import RunDirError
from cpnas.genotype import DARTS_V2, parse_genotype
from cpnas.runs import (
    Recorder,
    RunDir,
    TruncatedLogWarning,
    atomic_write_bytes,
    atomic_write_text,
    load_run,
    read_events,
)
from cpnas.simulate import simulate

TEACHING_OPS = ["none", "skip_connect", "max_pool_3x3", "sep_conv_3x3"]


@pytest.fixture(scope="module")
def events() -> list[ev.Event]:
    return simulate(ops=TEACHING_OPS, nodes=2, repeats=2, seed=3)


def record(run: RunDir, events: list[ev.Event], keep_before_seq: int | None = 0) -> Recorder:
    rec = run.recorder(keep_before_seq)
    for e in events:
        ev.notify(rec, e)
    rec.close()
    return rec


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


# -- construction ----------------------------------------------------------------------------


def test_rundir_creates_the_directory_and_writes_nothing_else(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "a" / "b")
    assert run.path.is_dir()
    assert list(run.path.iterdir()) == []
    assert run.events_path.name == "events.jsonl"
    assert run.config_path.name == "config.json"
    assert run.checkpoint_path.name == "checkpoint.pt"
    assert run.genotype_path.name == "genotype.json"
    assert not run.has_checkpoint()
    assert run.read_config() is None


def test_rundir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("keep me")
    with pytest.raises(RunDirError, match="is a file") as info:
        RunDir(f)
    assert "\n" not in str(info.value)
    assert f.read_text() == "keep me"


@pytest.mark.parametrize("where", ["under_a_file", "proc", "proc_new"])
def test_rundir_that_cannot_be_written_is_refused(tmp_path: Path, where: str) -> None:
    # chmod does not stop root, so use places no one can write: below a regular file, and
    # /proc (an existing directory; root passes os.access on it, yet nothing can be made).
    (tmp_path / "f").write_text("x")
    path = {"under_a_file": tmp_path / "f" / "run", "proc": Path("/proc"),
            "proc_new": Path("/proc/cpnas-run")}[where]
    with pytest.raises(RunDirError) as info:
        RunDir(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_rundir_without_write_permission_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    try:
        with pytest.raises(RunDirError, match="cannot be written"):
            RunDir(d)
    finally:
        d.chmod(0o700)


# -- atomic writes and the config -------------------------------------------------------------


def test_atomic_writes_replace_and_leave_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two ü")
    assert target.read_text(encoding="utf-8") == "two ü"
    atomic_write_bytes(tmp_path / "y.bin", b"\x00\x01")
    assert (tmp_path / "y.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt", "y.bin"]


def test_atomic_write_that_fails_keeps_the_old_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "x.txt"
    atomic_write_text(target, "old")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(RunDirError, match="cannot write it .No space left on device.; the old"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_stale_temp_file_of_a_killed_writer_is_cleaned(tmp_path: Path) -> None:
    stale = tmp_path / ".config.json.abc123.tmp"
    stale.write_text("half")
    RunDir(tmp_path).write_config({"a": 1})
    assert not stale.exists()


def test_config_round_trip_and_check(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    cfg = {**LEGACY, "ops": ("none", "skip_connect"), "nodes": 2, "beta": 0.5, "cutout": False}
    run.write_config(cfg)
    assert run.read_config() == {**LEGACY, "ops": ["none", "skip_connect"], "nodes": 2,
                                 "beta": 0.5, "cutout": False}  # LEGACY fills later keys
    run.check_config(cfg)  # the same config, tuple vs list, passes
    run.check_config({**cfg, "nodes": 2.0})  # 2 and 2.0 are the same number
    before = snapshot(tmp_path)
    with pytest.raises(RunDirError) as info:
        run.check_config({**cfg, "beta": 1.0, "cutout": 0, "seed": 1})
    msg = str(info.value)
    assert "\n" not in msg
    assert "beta: 0.5 -> 1.0" in msg
    assert "cutout: false -> 0" in msg  # a bool is not an int
    assert "seed: (unset) -> 1" in msg
    assert "nodes" not in msg and "ops" not in msg
    assert snapshot(tmp_path) == before


def test_check_config_without_a_recorded_config_passes(tmp_path: Path) -> None:
    RunDir(tmp_path).check_config({"anything": 1})
    assert list(tmp_path.iterdir()) == []


def test_config_that_is_not_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{nope")
    with pytest.raises(RunDirError, match="config is not JSON"):
        RunDir(tmp_path).read_config()
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(RunDirError, match="JSON object"):
        RunDir(tmp_path).read_config()


# -- checkpoints -------------------------------------------------------------------------------


def _state() -> dict:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    return {
        "child": model.state_dict(),
        "optim": opt.state_dict(),
        "rng": {"python": random.Random(5).getstate(), "torch": torch.get_rng_state()},
        "alive": {"normal:0->2": ["none", "sep_conv_3x3"]},
        "zs": {"normal:0->2": {"none": [0.25, 0.5]}},
        "position": (1, 0, 2),
        "next_seq": 17,
    }


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    state = _state()
    run.save_checkpoint(state)
    assert run.has_checkpoint()
    back = run.load_checkpoint()
    assert back["child"]["weight"].equal(state["child"]["weight"])
    assert back["optim"]["state"][0]["exp_avg"].equal(state["optim"]["state"][0]["exp_avg"])
    r = random.Random()
    r.setstate(back["rng"]["python"])
    assert r.random() == random.Random(5).random()
    assert back["rng"]["torch"].equal(state["rng"]["torch"])
    assert back["alive"] == state["alive"] and back["zs"] == state["zs"]
    assert back["position"] == (1, 0, 2) and back["next_seq"] == 17
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_checkpoint_replace_keeps_only_the_latest(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.save_checkpoint({"n": 1})
    run.save_checkpoint({"n": 2})
    assert run.load_checkpoint() == {"n": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_checkpoint_refuses_state_that_weights_only_cannot_load(tmp_path: Path) -> None:
    import numpy as np

    run = RunDir(tmp_path)
    with pytest.raises(TypeError, match=r"state\['rng'\]\['numpy'\]\[1\] is a numpy"):
        run.save_checkpoint({"rng": {"numpy": ("MT19937", np.zeros(3, dtype=np.uint32))}})
    assert not run.has_checkpoint()
    assert list(tmp_path.iterdir()) == []


class _Exploit:
    """A pickle that, if loaded with full pickle, creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _bad_checkpoints(path: Path, marker: Path) -> dict[str, bytes | None]:
    buf_torch = path.parent / "t.pt"
    torch.save({"state": _Exploit(marker)}, buf_torch)
    exploit_zip = buf_torch.read_bytes()
    buf_torch.unlink()
    torch.save({"weight": torch.ones(2)}, buf_torch)  # a torch file, but not a checkpoint
    other_torch = buf_torch.read_bytes()
    buf_torch.unlink()
    return {
        "empty": b"",
        "text": b"this is not a checkpoint\n",
        "json": json.dumps({"format": "cpnas.checkpoint"}).encode(),
        "pickle_exploit": pickle.dumps(_Exploit(marker)),
        "torch_exploit": exploit_zip,
        "torch_other": other_torch,
        "truncated": None,  # filled below from a real checkpoint
    }


@pytest.mark.parametrize(
    "kind",
    ["empty", "text", "json", "pickle_exploit", "torch_exploit", "torch_other", "truncated"],
)
def test_unloadable_checkpoint_is_refused_and_runs_no_code(tmp_path: Path, kind: str) -> None:
    run = RunDir(tmp_path / "run")
    marker = tmp_path / "pwned"
    data = _bad_checkpoints(run.checkpoint_path, marker)[kind]
    if data is None:
        run.save_checkpoint(_state())
        data = run.checkpoint_path.read_bytes()[:300]
    run.checkpoint_path.write_bytes(data)
    with pytest.raises(RunDirError) as info:
        run.load_checkpoint()
    msg = str(info.value)
    assert "\n" not in msg and "checkpoint" in msg
    assert not marker.exists()
    assert run.checkpoint_path.read_bytes() == data  # refused, not touched
    if kind == "torch_exploit":
        assert "io.open" in msg and "nothing from it was run" in msg


def test_missing_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="no checkpoint"):
        RunDir(tmp_path).load_checkpoint()


def test_checkpoint_of_another_version_is_refused(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    torch.save({"format": "cpnas.checkpoint", "version": 99, "state": {}}, run.checkpoint_path)
    with pytest.raises(RunDirError, match="version 99"):
        run.load_checkpoint()


# -- genotype ----------------------------------------------------------------------------------


def test_genotype_round_trip_with_extra(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.write_genotype(DARTS_V2, {"edges": {"normal:0->2": {"op": "sep_conv_3x3"}}})
    data = json.loads(run.genotype_path.read_text())
    assert data["genotype"] == str(DARTS_V2)
    assert data["edges"]["normal:0->2"]["op"] == "sep_conv_3x3"
    assert run.read_genotype() == DARTS_V2
    with pytest.raises(ValueError):
        run.write_genotype(DARTS_V2, {"genotype": "x"})


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '["Genotype"]',
        '{"geno": "x"}',
        '{"genotype": 3}',
        '{"genotype": "__import__(\'os\').system(\'touch pwned\')"}',
        '{"genotype": "Genotype(normal=[(\'sep_conv_3x3\', 7)], normal_concat=[2], '
        'reduce=[], reduce_concat=[2])"}',
    ],
)
def test_file_that_is_not_a_genotype_is_refused(tmp_path: Path, text: str) -> None:
    run = RunDir(tmp_path)
    run.genotype_path.write_text(text)
    with pytest.raises(RunDirError) as info:
        run.read_genotype()
    assert "\n" not in str(info.value) and "genotype" in str(info.value)
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


# -- the recorder ------------------------------------------------------------------------------


def test_recorder_writes_one_flushed_line_per_event(tmp_path: Path, events) -> None:
    run = RunDir(tmp_path)
    rec = run.recorder(0)
    for i, e in enumerate(events[:5]):
        ev.notify(rec, e)
        # flushed: another reader sees every event at once, without a close
        lines = run.events_path.read_text().splitlines()
        assert len(lines) == i + 1
        assert ev.event_from_json(lines[-1]) == e
    rec.close()
    assert run.events_path.read_text().count("\n") == 5


def test_recorder_appends_and_refuses_duplicates_and_gaps(tmp_path: Path, events) -> None:
    run = RunDir(tmp_path)
    record(run, events[:4])
    rec = run.recorder()  # plain append continues after seq 3
    assert rec.last_seq == 3
    with pytest.raises(RunDirError, match="seq 3"):
        rec.on_event(events[3])  # a duplicate
    with pytest.raises(RunDirError, match="seq 5"):
        rec.on_event(events[5])  # a gap
    rec.on_event(events[4])
    rec.close()
    assert [e.seq for e in read_events(run.events_path)] == [0, 1, 2, 3, 4]


def test_recorder_cuts_back_to_the_checkpoint(tmp_path: Path, events) -> None:
    run = RunDir(tmp_path)
    record(run, events[:20])
    data = run.events_path.read_bytes()
    with open(run.events_path, "ab") as f:
        f.write(b'{"type":"SampleTr')  # killed mid-line
    rec = run.recorder(keep_before_seq=12)
    assert rec.last_seq == 11
    assert run.events_path.read_bytes() == b"".join(data.splitlines(keepends=True)[:12])
    for e in events[12:]:  # the resumed search emits the tail again
        rec.on_event(e)
    rec.close()
    assert read_events(run.events_path) == events


def test_fresh_recorder_drops_a_run_killed_before_its_first_checkpoint(tmp_path, events):
    run = RunDir(tmp_path)
    record(run, events[:6])
    record(run, events, keep_before_seq=0)
    assert read_events(run.events_path) == events


def test_recorder_drops_a_partial_last_line_before_appending(tmp_path: Path, events) -> None:
    run = RunDir(tmp_path)
    record(run, events[:3])
    with open(run.events_path, "ab") as f:
        f.write(events[3].to_json().encode()[:25])
    rec = run.recorder()
    rec.on_event(events[3])
    rec.close()
    assert read_events(run.events_path) == events[:4]


def test_recorder_keeps_a_whole_last_event_that_lost_its_newline(tmp_path, events) -> None:
    run = RunDir(tmp_path)
    run.events_path.write_text("".join(e.to_json() + "\n" for e in events[:2]) + events[2].to_json())
    rec = run.recorder(keep_before_seq=3)
    rec.on_event(events[3])
    rec.close()
    assert read_events(run.events_path) == events[:4]


def test_recorder_refuses_to_resume_a_log_that_lost_events(tmp_path: Path, events) -> None:
    run = RunDir(tmp_path)
    record(run, events[:5])
    before = snapshot(tmp_path)
    with pytest.raises(RunDirError, match="ends at seq 4.*after seq 9"):
        run.recorder(keep_before_seq=10)
    assert snapshot(tmp_path) == before
    (tmp_path / "events.jsonl").unlink()
    with pytest.raises(RunDirError, match="log is missing"):
        run.recorder(keep_before_seq=10)


def test_recorder_is_a_callback_for_simulate(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    rec = run.recorder(0)
    live = simulate(ops=TEACHING_OPS, nodes=2, seed=1, subscribers=[rec])
    rec.close()
    assert read_events(tmp_path) == live


def test_checkpoint_syncs_the_log_first(tmp_path: Path, events, monkeypatch) -> None:
    run = RunDir(tmp_path)
    rec = run.recorder(0)
    rec.on_event(events[0])
    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.readlink(f"/proc/self/fd/{fd}")))
    run.save_checkpoint({"n": 1})
    assert synced[0] == str(run.events_path)
    rec.close()


# -- replay ------------------------------------------------------------------------------------


def test_read_events_of_a_truncated_log_warns_where_it_ended(tmp_path: Path, events) -> None:
    run = RunDir(tmp_path)
    record(run, events[:10])
    with open(run.events_path, "ab") as f:
        f.write(events[10].to_json().encode()[:40])
    with pytest.warns(TruncatedLogWarning, match=r"line 11 is cut short.*ends at line 10, seq 9"):
        got = read_events(run.events_path)
    assert got == events[:10]


def test_read_events_of_a_whole_log_does_not_warn(tmp_path: Path, events) -> None:
    run = RunDir(tmp_path)
    record(run, events)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_events(run.events_path) == events


@pytest.mark.parametrize("bad", ["{broken", "[1, 2]", '{"type": "Nope", "seq": 3}', ""])
def test_read_events_reports_a_corrupt_line_with_its_number(tmp_path, events, bad) -> None:
    run = RunDir(tmp_path)
    lines = [e.to_json() for e in events[:6]]
    lines[3] = bad
    run.events_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RunDirError, match="line 4"):
        read_events(run.events_path)


def test_read_events_refuses_duplicated_or_missing_seq(tmp_path: Path, events) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(e.to_json() + "\n" for e in [*events[:4], events[3], events[4]]))
    with pytest.raises(RunDirError, match="line 5 has seq 3, expected 4"):
        read_events(path)
    path.write_text("".join(e.to_json() + "\n" for e in [*events[:4], *events[5:7]]))
    with pytest.raises(RunDirError, match="line 5 has seq 5, expected 4"):
        read_events(path)


@pytest.mark.parametrize("schema", [0, 2, "1"])
def test_read_events_refuses_another_schema_version(tmp_path: Path, events, schema) -> None:
    first = events[0].to_dict()
    first["schema"] = schema
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(first) + "\n" + "".join(e.to_json() + "\n" for e in events[1:]))
    with pytest.raises(RunDirError, match="schema version") as info:
        read_events(path)
    assert "line 1" in str(info.value) and "\n" not in str(info.value)


def test_read_events_wants_a_log_that_starts_with_search_started(tmp_path, events) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(e.to_json() + "\n" for e in events[1:]))
    with pytest.raises(RunDirError, match="starts with SearchStarted"):
        read_events(path)


def test_load_run_gives_config_events_genotype_and_frames(tmp_path: Path, events) -> None:
    run = RunDir(tmp_path)
    run.write_config({"nodes": 2, "beta": 0.5})
    record(run, events)
    derived = [e for e in events if isinstance(e, ev.GenotypeDerived)][0]
    loaded = load_run(tmp_path)
    assert loaded.path == tmp_path
    assert loaded.config == {**LEGACY, "nodes": 2, "beta": 0.5}
    assert loaded.events == events
    assert loaded.genotype == parse_genotype(derived.genotype)  # from the event
    assert loaded.status == "completed"
    n_samples = sum(isinstance(e, ev.SampleTrained) for e in events)
    assert len(loaded.samples_frame()) == n_samples
    assert len(loaded.prunes_frame()) == sum(isinstance(e, ev.OpPruned) for e in events)
    assert not loaded.scores_frame().empty
    run.write_genotype(DARTS_V2)  # genotype.json wins over the event
    assert load_run(tmp_path).genotype == DARTS_V2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "events.jsonl",
                                                          "genotype.json"]


def test_load_run_of_an_unfinished_run(tmp_path: Path) -> None:
    stopped = simulate(ops=TEACHING_OPS, nodes=2, seed=2, stop_after=5)
    record(RunDir(tmp_path), stopped[:-1])  # killed: no SearchFinished, no config.json
    loaded = load_run(tmp_path)
    assert loaded.genotype is None
    assert loaded.status == "interrupted"
    assert loaded.config == {**LEGACY, **stopped[0].config}


def test_load_run_refuses_what_is_not_a_run(tmp_path: Path, events) -> None:
    with pytest.raises(RunDirError, match="does not exist"):
        load_run(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunDirError, match="not a directory"):
        load_run(tmp_path / "file")
    with pytest.raises(RunDirError, match="no events.jsonl"):
        load_run(tmp_path)
    (tmp_path / "events.jsonl").write_text("")
    with pytest.raises(RunDirError, match="no events"):
        load_run(tmp_path)


def test_load_run_refuses_a_bad_genotype_file(tmp_path: Path, events) -> None:
    run = RunDir(tmp_path)
    record(run, events)
    run.genotype_path.write_text('{"genotype": "Genotype(normal=1)"}')
    with pytest.raises(RunDirError, match="not a genotype"):
        load_run(tmp_path)


def test_load_run_writes_nothing(tmp_path: Path, events) -> None:
    run = RunDir(tmp_path)
    record(run, events)
    before = snapshot(tmp_path)
    load_run(tmp_path)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("damage", ["schema", "middle_line"])
def test_recorder_refuses_a_log_it_cannot_continue_and_changes_nothing(tmp_path, events, damage):
    run = RunDir(tmp_path)
    lines = [e.to_json() for e in events[:8]]
    if damage == "schema":
        first = events[0].to_dict()
        first["schema"] = 2
        lines[0] = json.dumps(first)
    else:
        lines[4] = lines[4][:30]
    run.events_path.write_text("\n".join(lines) + "\n" + lines[-1][:10])  # and a partial tail
    before = snapshot(tmp_path)
    with pytest.raises(RunDirError, match="schema version 2" if damage == "schema" else "line 5"):
        run.recorder(keep_before_seq=3)
    assert snapshot(tmp_path) == before


def test_fresh_recorder_empties_even_a_damaged_log(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.events_path.write_text('{"type": "SearchStarted", "schema": 9}\nnot json\n')
    rec = run.recorder(keep_before_seq=0)
    assert rec.last_seq == -1
    rec.close()
    assert run.events_path.read_bytes() == b""
