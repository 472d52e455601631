"""The run directory: its files, the config check on resume, and reading a run back.

A run directory holds::

    config.json     the config with its defaults filled in          (atomic write)
    events.jsonl    one event a line, flushed after every event     (append only)
    checkpoint.pt   the latest search state                         (atomic replace)
    genotype.json   the result: {"genotype": DARTS string, ...}     (atomic write)

    run.lock        the writer's lock: pid, host, start time          (held while searching)

The log is fsynced before each checkpoint replaces the old one, so a checkpoint never gets
ahead of its log. A search :meth:`~RunDir.claim` claims the directory (takes the lock) before it
writes, and refuses a directory that holds what the toolkit did not write. Each guarantee
is listed with its test in ``docs/runs.md``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import events as ev
from ..config import stored_config, to_stored
from ..errors import ConfigError, GenotypeError, RunDirError
from ..genotype import Genotype, parse_genotype
from .checkpoint import load_checkpoint_file, save_checkpoint_file
from .files import atomic_write_text, check_dir_target, dump_json, read_json
from .genotype_file import read_genotype_file
from .layout import (
    CHECKPOINT_NAME,
    CONFIG_NAME,
    GENOTYPE_NAME,
    LOG_NAME,
    OURS,
    RUN_FILES,
    TEMP,
    check_write_target,
    is_run_dir,
)
from .lock import RunLock
from .log import Recorder, read_events


def _genotype_from_file(path: Path) -> Genotype:
    """The run's genotype.json, through the one genotype-file reader (runs/genotype_file.py)."""
    try:
        return read_genotype_file(path)
    except GenotypeError as exc:
        raise RunDirError(str(exc)) from None


def read_run_config(path: Path) -> dict | None:
    """A run directory's recorded config (LEGACY keys filled, format checked), or None."""
    config_path = path / CONFIG_NAME
    if not config_path.exists():
        return None
    try:
        return stored_config(read_json(config_path, "config"), str(config_path))
    except ConfigError as exc:
        raise RunDirError(str(exc)) from None


# -- the config check -------------------------------------------------------------------------


def check_same_config(old: dict, new: dict, where: str) -> None:
    """Refuse ``new`` unless it equals the stored ``old`` key by key (LEGACY keys filled on
    both sides: a key either lacks means its old behaviour)."""
    try:
        old, new = stored_config(old, where), stored_config(new, where)
    except ConfigError as exc:
        raise RunDirError(str(exc)) from None
    diff = _config_diff(old, new)
    if diff:
        raise RunDirError(
            f"{where}: the config differs from the one this run was started with "
            f"({'; '.join(diff)}); resume with the recorded config or use another --out"
        )


def _config_diff(old: dict, new: dict) -> list[str]:
    # Compare the JSON forms, so a tuple and the list it was recorded as are equal.
    old_j = json.loads(json.dumps(old, default=ev._json_default))
    new_j = json.loads(json.dumps(new, default=ev._json_default))
    missing = object()
    out = []
    for key in sorted(set(old_j) | set(new_j)):
        a, b = old_j.get(key, missing), new_j.get(key, missing)
        if not _same(a, b):
            shown_a = "(unset)" if a is missing else json.dumps(a)
            shown_b = "(unset)" if b is missing else json.dumps(b)
            out.append(f"{key}: {shown_a} -> {shown_b}")
    return out


def _same(a: Any, b: Any) -> bool:
    """JSON values equal, with 1 == 1.0 but True != 1, and NaN equal to itself."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b or (
        isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b
    )


# -- the directory ----------------------------------------------------------------------------


class RunDir:
    """One run directory.

    Construction checks that the path can be used and holds nothing foreign, and (unless
    ``create=False``) creates it. A search instead constructs with ``create=False`` and
    calls :meth:`claim` (directory and lock), undone by :meth:`release` when it wrote nothing.
    """

    def __init__(self, path: str | os.PathLike, create: bool = True) -> None:
        if not os.fspath(path):  # Path("") is ".": the run would land in the current folder
            raise RunDirError("the run directory is an empty path; give a directory")
        self.path = Path(path)
        self.events_path = self.path / LOG_NAME
        self.config_path = self.path / CONFIG_NAME
        self.checkpoint_path = self.path / CHECKPOINT_NAME
        self.genotype_path = self.path / GENOTYPE_NAME
        self._recorder: Recorder | None = None
        self._lock: RunLock | None = None
        self._created_dir = False
        self._wrote = False
        self._check()
        if create:
            self._make()

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def _check(self) -> None:
        """Refuse a path that cannot hold a run, or a directory that is not (only) ours."""
        check_dir_target(self.path, "run directory")
        if self.path.exists():
            _check_contents(self.path)

    def _make(self) -> None:
        if self.path.is_dir():
            return
        try:
            self.path.mkdir(parents=True)
        except OSError as exc:
            raise RunDirError(f"{self.path}: cannot create the run directory ({exc.strerror})") from None
        self._created_dir = True

    # -- the one writer ------------------------------------------------------------------
    def claim(self) -> None:
        """Create the directory if needed and take its lock; RunDirError naming the holder."""
        self._make()
        try:
            self._lock = RunLock(self.path)
        except RunDirError:
            self.release()
            raise

    def release(self) -> None:
        """Free the lock. When nothing was written, also remove what :meth:`claim` created,
        so a refused search leaves the directory as it found it."""
        if self._recorder is not None:
            self._recorder.close()
        if self._lock is not None:
            self._lock.release(undo=not self._wrote)
            self._lock = None
        if self._created_dir and not self._wrote:
            try:
                self.path.rmdir()  # only if empty: never anyone else's files
            except OSError:
                pass
            self._created_dir = False

    # -- config --------------------------------------------------------------------------
    def read_config(self) -> dict | None:
        """The recorded config (LEGACY keys filled, format checked), or None."""
        return read_run_config(self.path)

    def check_config(self, cfg: dict) -> None:
        """Refuse ``cfg`` if it differs from the recorded config; change nothing."""
        if self.config_path.exists():
            check_same_config(read_json(self.config_path, "config"), cfg, str(self.path))

    def write_config(self, cfg: dict) -> None:
        atomic_write_text(self.config_path, dump_json(to_stored(cfg)), own=True)
        self._wrote = True

    # -- checkpoint ----------------------------------------------------------------------
    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.is_file()

    def save_checkpoint(self, state: dict, run_id: str = "") -> None:
        """Replace ``checkpoint.pt`` atomically; the log reaches the disk first."""
        if self._recorder is not None:
            self._recorder.sync()  # the log reaches the disk before the checkpoint that needs it
        self._wrote = True
        save_checkpoint_file(self.checkpoint_path, state, run_id)

    def load_checkpoint(self, run_id: str | None = None) -> dict:
        return load_checkpoint_file(self.checkpoint_path, run_id)

    # -- genotype ------------------------------------------------------------------------
    def write_genotype(self, genotype: Genotype, extra: dict | None = None) -> None:
        extra = dict(extra or {})
        if "genotype" in extra:
            raise ValueError("extra must not contain the key 'genotype'")
        self._wrote = True
        atomic_write_text(self.genotype_path, dump_json({"genotype": str(genotype), **extra}),
                          own=True)

    def read_genotype(self) -> Genotype:
        return _genotype_from_file(self.genotype_path)

    # -- event log -----------------------------------------------------------------------
    def recorder(self, keep_before_seq: int | None = None, run_id: str | None = None) -> Recorder:
        """The subscriber that appends events to ``events.jsonl``.

        ``keep_before_seq``: on resume, pass the seq of the first event the resumed search
        will emit. The log is cut back to the events before it (the search emits the rest
        again, identically). A fresh search passes 0, which drops what a run killed before
        its first checkpoint left behind. ``run_id``: the log's events must belong to it.
        """
        if self._recorder is not None:
            self._recorder.close()
        self._recorder = Recorder(self.events_path, keep_before_seq, run_id)
        self._wrote = True
        return self._recorder


def _entry_kind(entry: Path) -> str:
    if entry.is_dir():
        return "a directory"
    if entry.is_file():
        return "a file"
    return "a device, FIFO or socket, not a file"  # /dev/zero would read forever


def _check_contents(path: Path) -> None:
    """Refuse a directory holding what the toolkit did not write, or a run without its config.

    A symbolic link is never ours: writing the log through one (``events.jsonl`` linking
    to a user's file) would truncate that file and write the log into it."""
    foreign, wrong_kind, links = [], [], []
    for entry in sorted(path.iterdir()):
        kind = OURS.get(entry.name)
        temp = TEMP.fullmatch(entry.name)
        if entry.is_symlink():
            links.append(entry.name)
        elif kind is None and not (temp and temp["name"] in OURS):
            foreign.append(entry.name)
        elif kind is not None and (not entry.is_file() if kind == "file" else not entry.is_dir()):
            wrong_kind.append(f"{entry.name} is {_entry_kind(entry)}")
    if links:
        raise RunDirError(f"{path}: {', '.join(links[:3])} is a symbolic link; cpnas never "
                          "writes through a link out of a run directory: replace it with the "
                          "file itself, or use another --out")
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise RunDirError(f"{path}: holds files cpnas did not write ({shown}); refusing to "
                          "write there: give a new or empty directory, or a run directory")
    if wrong_kind:
        raise RunDirError(f"{path}: not a usable run directory ({'; '.join(wrong_kind)})")
    has_run = any((path / name).exists() for name in (LOG_NAME, CHECKPOINT_NAME, GENOTYPE_NAME))
    if has_run and not (path / CONFIG_NAME).exists():
        raise RunDirError(f"{path}: a run without its {CONFIG_NAME}; cpnas cannot tell which "
                          "config wrote it, so it is left alone: use another --out")


# -- reading a run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """A recorded run: its config, its events and (when it finished) its genotype."""

    path: Path
    config: dict
    events: list
    genotype: Genotype | None

    def samples_frame(self):
        from ..frames import samples_frame

        return samples_frame(self.events)

    def scores_frame(self):
        from ..frames import scores_frame

        return scores_frame(self.events)

    def prunes_frame(self):
        from ..frames import prunes_frame

        return prunes_frame(self.events)

    @property
    def status(self) -> str:
        """completed / stopped / failed, or ``interrupted`` for a log with no end."""
        last = self.events[-1]
        return last.status if isinstance(last, ev.SearchFinished) else "interrupted"


def load_run(path: str | os.PathLike) -> Run:
    """Read a run directory without writing to it: config, events and genotype.

    The config comes from ``config.json`` (or the first event when that file is absent);
    the genotype from ``genotype.json`` (or the ``GenotypeDerived`` event), else None.
    """
    path = Path(path)
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "does not exist"
        raise RunDirError(f"{path}: {what}; give a run directory")
    if not (path / LOG_NAME).exists():
        raise RunDirError(f"{path}: not a run directory (no {LOG_NAME})")
    events = read_events(path / LOG_NAME)
    config_path = path / CONFIG_NAME
    stored = read_json(config_path, "config") if config_path.exists() else dict(events[0].config)
    try:
        config = stored_config(stored, str(config_path))
    except ConfigError as exc:
        raise RunDirError(str(exc)) from None
    return Run(path=path, config=config, events=events, genotype=_run_genotype(path, events))


def _run_genotype(path: Path, events: list[ev.Event]) -> Genotype | None:
    if (path / "genotype.json").exists():
        return _genotype_from_file(path / "genotype.json")
    derived = [e for e in events if isinstance(e, ev.GenotypeDerived)]
    if not derived:
        return None
    try:
        return parse_genotype(derived[-1].genotype)
    except GenotypeError as exc:
        raise RunDirError(f"{path}: the GenotypeDerived event holds no genotype: {exc}") from None


__all__ = ["OURS", "RUN_FILES", "Run", "RunDir", "check_same_config", "check_write_target",
           "is_run_dir", "load_run"]
