"""The run directory: its files, the config check on resume, and reading a run back.

A run directory holds::

    config.json     the config with its defaults filled in          (atomic write)
    events.jsonl    one event a line, flushed after every event     (append only)
    checkpoint.pt   the latest search state                         (atomic replace)
    genotype.json   the result: {"genotype": DARTS string, ...}     (atomic write)

The log is fsynced before each checkpoint replaces the old one, so a checkpoint never gets
ahead of its log. Each guarantee is listed with its test in ``docs/runs.md``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import events as ev
from ..errors import GenotypeError, RunDirError
from ..genotype import Genotype, parse_genotype
from .checkpoint import load_checkpoint_file, save_checkpoint_file
from .files import atomic_write_text, dump_json, read_json, writable
from .log import LOG_NAME, Recorder, read_events


def _genotype_from_file(path: Path) -> Genotype:
    data = read_json(path, "genotype file")
    if not isinstance(data, dict) or not isinstance(data.get("genotype"), str):
        raise RunDirError(f'{path}: not a genotype file (expected {{"genotype": "Genotype(...)"}})')
    try:
        return parse_genotype(data["genotype"])
    except GenotypeError as exc:
        raise RunDirError(f"{path}: not a genotype: {exc}") from None


# -- the config check -------------------------------------------------------------------------


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
    """One run directory. Construction checks it can be used and creates it if needed."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.events_path = self.path / LOG_NAME
        self.config_path = self.path / "config.json"
        self.checkpoint_path = self.path / "checkpoint.pt"
        self.genotype_path = self.path / "genotype.json"
        self._recorder: Recorder | None = None
        self._prepare()

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def _prepare(self) -> None:
        p = self.path
        if p.exists() and not p.is_dir():
            raise RunDirError(f"{p}: the run directory is a file; give a directory path")
        try:
            p.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(f"{p}: cannot create the run directory ({exc.strerror})") from None
        if not writable(p):
            raise RunDirError(f"{p}: the run directory cannot be written; choose another --out")

    # -- config --------------------------------------------------------------------------
    def read_config(self) -> dict | None:
        if not self.config_path.exists():
            return None
        return _read_config(self.config_path)

    def check_config(self, cfg: dict) -> None:
        """Refuse ``cfg`` if it differs from the recorded config; change nothing."""
        old = self.read_config()
        if old is None:
            return
        diff = _config_diff(old, cfg)
        if diff:
            raise RunDirError(
                f"{self.path}: the config differs from the one this run was started with "
                f"({'; '.join(diff)}); resume with the recorded config or use another --out"
            )

    def write_config(self, cfg: dict) -> None:
        atomic_write_text(self.config_path, dump_json(cfg))

    # -- checkpoint ----------------------------------------------------------------------
    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.is_file()

    def save_checkpoint(self, state: dict) -> None:
        """Replace ``checkpoint.pt`` atomically; the log reaches the disk first."""
        if self._recorder is not None:
            self._recorder.sync()  # the log reaches the disk before the checkpoint that needs it
        save_checkpoint_file(self.checkpoint_path, state)

    def load_checkpoint(self) -> dict:
        return load_checkpoint_file(self.checkpoint_path)

    # -- genotype ------------------------------------------------------------------------
    def write_genotype(self, genotype: Genotype, extra: dict | None = None) -> None:
        extra = dict(extra or {})
        if "genotype" in extra:
            raise ValueError("extra must not contain the key 'genotype'")
        atomic_write_text(self.genotype_path, dump_json({"genotype": str(genotype), **extra}))

    def read_genotype(self) -> Genotype:
        return _genotype_from_file(self.genotype_path)

    # -- event log -----------------------------------------------------------------------
    def recorder(self, keep_before_seq: int | None = None) -> Recorder:
        """The subscriber that appends events to ``events.jsonl``.

        ``keep_before_seq``: on resume, pass the seq of the first event the resumed search
        will emit. The log is cut back to the events before it (the search emits the rest
        again, identically). A fresh search passes 0, which drops what a run killed before
        its first checkpoint left behind.
        """
        if self._recorder is not None:
            self._recorder.close()
        self._recorder = Recorder(self.events_path, keep_before_seq)
        return self._recorder


def _read_config(path: Path) -> dict:
    data = read_json(path, "config")
    if not isinstance(data, dict):
        raise RunDirError(f"{path}: the config must be a JSON object")
    return data


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
    config_path = path / "config.json"
    config = _read_config(config_path) if config_path.exists() else dict(events[0].config)
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


__all__ = ["Run", "RunDir", "load_run"]
