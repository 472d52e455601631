"""A run on disk: the event log, the config, the checkpoint and the genotype.

A run directory holds::

    config.json     the config with its defaults filled in          (atomic write)
    events.jsonl    one event a line, flushed after every event     (append only)
    checkpoint.pt   the latest search state                         (atomic replace)
    genotype.json   the result: {"genotype": DARTS string, ...}     (atomic write)

Guarantees (each is tested; see ``docs/runs.md``):

- Every file except the log is replaced atomically (temp file in the same directory,
  fsync, ``os.replace``), so a kill at any moment leaves the old file or the new one,
  never half of one.
- The log is only ever appended to, one whole line per event, flushed per event. The one
  exception is the cut on resume: a resumed search regenerates, identically, every event
  after its checkpoint, so :meth:`RunDir.recorder` first truncates the log back to the
  events before the checkpoint's ``seq``. The log then ends with no duplicated seq and no
  gap. The log is fsynced before each checkpoint replaces the old one, so a checkpoint
  never gets ahead of its log.
- A checkpoint is loaded with ``torch.load(weights_only=True)``: a file that is not a
  cpnas checkpoint, or a pickle that would run code, is refused and none of its code runs.
- Readers tolerate a log whose last line was cut short by a kill, and say where it ended.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from . import events as ev
from .errors import GenotypeError, RunDirError
from .genotype import Genotype, parse_genotype

CHECKPOINT_FORMAT = "cpnas.checkpoint"
CHECKPOINT_VERSION = 1


class TruncatedLogWarning(UserWarning):
    """The last line of an event log was cut short (the writer was killed mid-line)."""


# -- atomic files ----------------------------------------------------------------------------


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _remove_stale_temps(path: Path) -> None:
    """Remove temp files a killed writer of ``path`` left behind (one writer per run dir)."""
    for stale in path.parent.glob(_temp_prefix(path) + "*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _fsync_dir(directory: Path) -> None:
    # The rename itself must reach the disk too, or a power cut can undo it.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _atomic_file(path: str | os.PathLike):
    """Yield a binary temp file next to ``path``; on success it replaces ``path``."""
    path = Path(path)
    _remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; run files and exports are meant to be shared
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` all at once: temp file in the same dir, fsync, rename."""
    with _atomic_file(path) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, allow_nan=True, default=ev._json_default) + "\n"


def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunDirError(f"{path}: no {what} here") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{path}: cannot read the {what} ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunDirError(
            f"{path}: the {what} is not JSON ({exc.msg} at line {exc.lineno})"
        ) from None


def _genotype_from_file(path: Path) -> Genotype:
    data = _read_json(path, "genotype file")
    if not isinstance(data, dict) or not isinstance(data.get("genotype"), str):
        raise RunDirError(f'{path}: not a genotype file (expected {{"genotype": "Genotype(...)"}})')
    try:
        return parse_genotype(data["genotype"])
    except GenotypeError as exc:
        raise RunDirError(f"{path}: not a genotype: {exc}") from None


# -- checkpoints: plain tensors and containers only -------------------------------------------

_PLAIN = (type(None), bool, int, float, complex, str, bytes)


def _check_plain(obj: Any, where: str = "state") -> None:
    """Raise TypeError naming the first value ``torch.load(weights_only=True)`` would refuse.

    Catching this at save time, not at resume time, is the point: a checkpoint that cannot
    be loaded is found out by the run that wrote it.
    """
    import collections

    import torch

    if isinstance(obj, (*_PLAIN, torch.Tensor, torch.dtype, torch.device, torch.Size)):
        return
    if type(obj) in (dict, collections.OrderedDict):
        for key, value in obj.items():
            if not isinstance(key, _PLAIN):
                raise TypeError(f"{where}: key {key!r} is a {type(key).__name__}")
            _check_plain(value, f"{where}[{key!r}]")
        return
    if type(obj) in (list, tuple, set):
        for i, value in enumerate(obj):
            _check_plain(value, f"{where}[{i}]")
        return
    raise TypeError(
        f"{where} is a {type(obj).__module__}.{type(obj).__name__}; a checkpoint holds only "
        "tensors, numbers, strings and dict/list/tuple/set (torch.load(weights_only=True) refuses "
        "anything else)"
    )


def _why_unloadable(exc: Exception) -> str:
    import pickle

    text = str(exc)
    code = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if code:  # the pickle names a callable: loading it would run code
        return f"it asks to call {code[1]}; refused, nothing from it was run"
    if isinstance(exc, pickle.UnpicklingError):
        return "not a torch file, or one holding objects other than tensors and containers"
    if "zip archive" in text or "central directory" in text:
        return "a torch zip file that is cut short or damaged"
    return "not a torch file"


def _load_checkpoint_file(path: Path) -> dict:
    import torch

    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise RunDirError(f"{path}: no checkpoint here") from None
    if size == 0:
        raise RunDirError(
            f"{path}: the checkpoint is empty (0 bytes); delete it to start the search afresh"
        )
    try:
        # weights_only: the unpickler accepts tensors and plain containers only, so a
        # crafted pickle cannot run code (DARTS-era tools load checkpoints with full pickle).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds here; every one means "refused"
        raise RunDirError(
            f"{path}: not a loadable cpnas checkpoint ({_why_unloadable(exc)}); "
            "delete it to start the search afresh"
        ) from None
    if not (isinstance(data, dict) and data.get("format") == CHECKPOINT_FORMAT
            and isinstance(data.get("state"), dict)):
        raise RunDirError(f"{path}: a torch file, but not a cpnas checkpoint")
    if data.get("version") != CHECKPOINT_VERSION:
        raise RunDirError(
            f"{path}: checkpoint version {data.get('version')!r}; this cpnas reads version "
            f"{CHECKPOINT_VERSION}"
        )
    return data["state"]


# -- the run directory -----------------------------------------------------------------------


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


class RunDir:
    """One run directory. Construction checks it can be used and creates it if needed."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.events_path = self.path / "events.jsonl"
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
        if not _writable(p):
            raise RunDirError(f"{p}: the run directory cannot be written; choose another --out")

    # -- config --------------------------------------------------------------------------
    def read_config(self) -> dict | None:
        if not self.config_path.exists():
            return None
        data = _read_json(self.config_path, "config")
        if not isinstance(data, dict):
            raise RunDirError(f"{self.config_path}: the config must be a JSON object")
        return data

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
        atomic_write_text(self.config_path, _dump_json(cfg))

    # -- checkpoint ----------------------------------------------------------------------
    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.is_file()

    def save_checkpoint(self, state: dict) -> None:
        """Replace ``checkpoint.pt`` atomically with ``state`` (tensors and containers only)."""
        import torch

        if not isinstance(state, dict):
            raise TypeError(f"a checkpoint state is a dict, got {type(state).__name__}")
        _check_plain(state)
        if self._recorder is not None:
            self._recorder.sync()  # the log reaches the disk before the checkpoint that needs it
        payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "state": state}
        with _atomic_file(self.checkpoint_path) as f:
            torch.save(payload, f)

    def load_checkpoint(self) -> dict:
        return _load_checkpoint_file(self.checkpoint_path)

    # -- genotype ------------------------------------------------------------------------
    def write_genotype(self, genotype: Genotype, extra: dict | None = None) -> None:
        extra = dict(extra or {})
        if "genotype" in extra:
            raise ValueError("extra must not contain the key 'genotype'")
        atomic_write_text(self.genotype_path, _dump_json({"genotype": str(genotype), **extra}))

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


def _writable(path: Path) -> bool:
    if not os.access(path, os.W_OK | os.X_OK):
        return False
    # root passes os.access on any directory, so try for real. O_TMPFILE (Linux) makes a
    # file with no name, which leaves no trace in the directory.
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError:
        return False
    return True


# -- the recorder ----------------------------------------------------------------------------


class Recorder(ev.Callback):
    """Append every event to ``events.jsonl``: one line each, flushed after each.

    The file is opened in append mode and never rewritten. On creation a partial last
    line (a writer killed mid-line) is dropped, since appending after it would glue two
    events into one corrupt line; with ``keep_before_seq`` the log is also cut back to the
    events with ``seq < keep_before_seq`` (see :meth:`RunDir.recorder`). Each event must
    carry the next seq: a duplicate or a gap is refused with RunDirError, so the log can
    never hold one.
    """

    def __init__(self, path: str | os.PathLike, keep_before_seq: int | None = None) -> None:
        self.path = Path(path)
        self.last_seq, open_end = _cut_log(self.path, keep_before_seq)
        self._file: IO[str] | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        if open_end:
            self._file.write("\n")

    def on_event(self, event: ev.Event) -> None:
        if self._file is None:
            raise RunDirError(f"{self.path}: the recorder is closed")
        if event.seq != self.last_seq + 1:
            raise RunDirError(
                f"{self.path}: event {event.type} has seq {event.seq}, but the log's next seq "
                f"is {self.last_seq + 1} (a duplicate or a gap would corrupt the log)"
            )
        self._file.write(event.to_json() + "\n")
        self._file.flush()
        self.last_seq = event.seq
        if isinstance(event, ev.SearchFinished):
            self.sync()

    def sync(self) -> None:
        """Flush and fsync the log (called before every checkpoint)."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self.sync()
            self._file.close()
            self._file = None

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cut_log(path: Path, keep_before_seq: int | None) -> tuple[int, bool]:
    """Truncate the log after its last whole event (and before ``keep_before_seq``).

    Unless nothing is kept, the whole log is read and checked first (JSON, schema, seq),
    so a log that cannot be continued is refused before a byte of it changes. Returns the seq of the last event
    kept (-1 for an empty log), and whether the kept part ends without its newline (a
    whole event whose newline a kill cut off).
    """
    if keep_before_seq is not None and keep_before_seq < 0:
        raise ValueError(f"keep_before_seq must be >= 0, got {keep_before_seq}")
    if not path.exists():
        if keep_before_seq:
            raise RunDirError(
                f"{path}: the log is missing, but the checkpoint needs its first "
                f"{keep_before_seq} events; delete checkpoint.pt to start afresh"
            )
        return -1, False
    if keep_before_seq == 0:  # a fresh start keeps nothing, so there is nothing to check
        if path.stat().st_size:
            os.truncate(path, 0)
        return -1, False
    lines, _ = _scan_log(path)
    kept = [ln for ln in lines if keep_before_seq is None or ln.event.seq < keep_before_seq]
    last_seq = kept[-1].event.seq if kept else -1
    if keep_before_seq is not None and last_seq != keep_before_seq - 1:
        raise RunDirError(
            f"{path}: the log ends at seq {last_seq}, but the checkpoint was taken after seq "
            f"{keep_before_seq - 1}; events are lost, so this run cannot be resumed "
            "(delete checkpoint.pt to start afresh)"
        )
    keep_bytes = kept[-1].end if kept else 0
    if path.stat().st_size != keep_bytes:
        os.truncate(path, keep_bytes)
        with open(path, "rb+") as f:
            os.fsync(f.fileno())
    return last_seq, bool(kept) and not kept[-1].newline


# -- reading a run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    event: ev.Event
    end: int  # byte offset just after the line (and its newline)
    newline: bool


def _scan_log(path: Path) -> tuple[list[_Line], str | None]:
    """Every whole event of a log, and a note when its last line was cut short."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RunDirError(f"{path}: no event log here") from None
    except OSError as exc:
        raise RunDirError(f"{path}: cannot read the event log ({exc.strerror})") from None
    raws = data.split(b"\n")
    if raws[-1] == b"":
        raws.pop()  # what follows the newline that ends the last whole line
    out: list[_Line] = []
    end = 0
    for lineno, raw in enumerate(raws, start=1):
        end += len(raw) + 1
        newline = end <= len(data)
        event = _parse_line(raw, path, lineno, last=lineno == len(raws))
        if event is None:
            where = f"seq {out[-1].event.seq}" if out else "no whole event"
            return out, (f"{path}: line {lineno} is cut short (the run was stopped while "
                         f"writing it); the log ends at line {lineno - 1}, {where}")
        _check_next(event, [ln.event for ln in out[-1:]], path, lineno)
        out.append(_Line(event, min(end, len(data)), newline))
    return out, None


def read_events(path: str | os.PathLike) -> list[ev.Event]:
    """Read an event log (``events.jsonl``, or a run directory holding one).

    A last line cut short by a kill is skipped with a :class:`TruncatedLogWarning` that
    says where the log ended. Any other bad line raises RunDirError with its line number,
    and so does a log of another schema version or one whose seq is not 0, 1, 2, ...
    """
    path = Path(path)
    if path.is_dir():
        path = path / "events.jsonl"
    lines, note = _scan_log(path)
    if note:
        warnings.warn(note, TruncatedLogWarning, stacklevel=2)
    return [ln.event for ln in lines]


def _parse_line(raw: bytes, path: Path, lineno: int, last: bool) -> ev.Event | None:
    """The event on one line; None for a last line that is not whole JSON."""
    try:
        text = raw.decode("utf-8")
        json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        if last:
            return None
        raise RunDirError(f"{path}: line {lineno} is not a JSON event") from None
    try:
        return ev.event_from_json(text)
    except (RunDirError, TypeError) as exc:
        raise RunDirError(f"{path}: line {lineno}: {exc}") from None


def _check_next(event: ev.Event, before: list[ev.Event], path: Path, lineno: int) -> None:
    if not before and not isinstance(event, ev.SearchStarted):
        raise RunDirError(f"{path}: line 1 is a {event.type}; a log starts with SearchStarted")
    if isinstance(event, ev.SearchStarted) and event.schema != ev.SCHEMA_VERSION:
        raise RunDirError(
            f"{path}: line {lineno}: event log has schema version {event.schema!r}; this "
            f"cpnas reads version {ev.SCHEMA_VERSION}"
        )
    expected = before[-1].seq + 1 if before else 0
    if event.seq != expected:
        raise RunDirError(
            f"{path}: line {lineno} has seq {event.seq}, expected {expected} "
            "(the log has a duplicated or missing event)"
        )


@dataclass(frozen=True)
class Run:
    """A recorded run: its config, its events and (when it finished) its genotype."""

    path: Path
    config: dict
    events: list
    genotype: Genotype | None

    def samples_frame(self):
        from .frames import samples_frame

        return samples_frame(self.events)

    def scores_frame(self):
        from .frames import scores_frame

        return scores_frame(self.events)

    def prunes_frame(self):
        from .frames import prunes_frame

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
    if not (path / "events.jsonl").exists():
        raise RunDirError(f"{path}: not a run directory (no events.jsonl)")
    events = read_events(path / "events.jsonl")
    if not events:
        raise RunDirError(f"{path}: the run has no events")
    config_path = path / "config.json"
    if config_path.exists():
        config = _read_json(config_path, "config")
        if not isinstance(config, dict):
            raise RunDirError(f"{config_path}: the config must be a JSON object")
    else:
        config = dict(events[0].config)
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


__all__ = [
    "Recorder",
    "Run",
    "RunDir",
    "TruncatedLogWarning",
    "atomic_write_bytes",
    "atomic_write_text",
    "load_run",
    "read_events",
]
