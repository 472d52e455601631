"""The event log ``events.jsonl``: the recorder that appends it, and the one reader.

The log is only ever appended to, one whole line per event, flushed per event. The one
exception is the cut on resume: a resumed search regenerates, identically, every event
after its checkpoint, so the recorder first truncates the log back to the events before the
checkpoint's ``seq``; the log then has no duplicated seq and no gap. :func:`read_events` is
the only reader (cpviz and the dashboard read through it): it tolerates a last line cut
short by a kill and says where the log ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .. import events as ev
from ..errors import RunDirError
from .layout import LOG_NAME


class TruncatedLogWarning(UserWarning):
    """The last line of an event log was cut short (the writer was killed mid-line)."""


class Recorder(ev.Callback):
    """Append every event to ``events.jsonl``: one line each, flushed after each.

    The file is opened in append mode and never rewritten. On creation a partial last
    line (a writer killed mid-line) is dropped, since appending after it would glue two
    events into one corrupt line; with ``keep_before_seq`` the log is also cut back to the
    events with ``seq < keep_before_seq`` (see :meth:`cpnas.runs.RunDir.recorder`). Each
    event must carry the next seq: a duplicate or a gap is refused with RunDirError, so the
    log can never hold one.
    """

    def __init__(self, path: str | os.PathLike, keep_before_seq: int | None = None,
                 run_id: str | None = None) -> None:
        self.path = Path(path)
        if self.path.is_symlink():  # the cut and the appends would go to the link's target
            raise RunDirError(f"{self.path}: the log is a symbolic link; cpnas never writes "
                              "through a link out of a run directory")
        self.last_seq, open_end = _cut_log(self.path, keep_before_seq, run_id)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        self._file: IO[str] | None = open(fd, "a", encoding="utf-8")  # noqa: SIM115
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
        line = event.to_json() + "\n"
        try:
            self._file.write(line)
            self._file.flush()
        except OSError as exc:
            self._broken(exc)
        self.last_seq = event.seq
        if isinstance(event, ev.SearchFinished):
            self.sync()

    def sync(self) -> None:
        """Flush and fsync the log (called before every checkpoint)."""
        if self._file is not None:
            try:
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError as exc:
                self._broken(exc)

    def _broken(self, exc: OSError) -> None:
        """A write failed (disk full, file-size limit): the log ends at its last whole line,
        which a resume cuts back to, and the search must stop."""
        file, self._file = self._file, None
        with contextlib.suppress(OSError):
            file.close()
        raise RunDirError(f"{self.path}: cannot append to the event log ({exc.strerror or exc}); "
                          f"it ends at seq {self.last_seq}") from None

    def close(self) -> None:
        if self._file is not None:
            self.sync()
            self._file.close()
            self._file = None

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cut_log(path: Path, keep_before_seq: int | None, run_id: str | None = None) -> tuple[int, bool]:
    """Truncate the log after its last whole event (and before ``keep_before_seq``).

    Unless nothing is kept, the whole log is read and checked first (JSON, schema, seq), so
    a log that cannot be continued is refused before a byte of it changes. Returns the seq
    of the last event kept (-1 for an empty log), and whether the kept part ends without its
    newline (a whole event whose newline a kill cut off).
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
    if run_id is not None and lines and lines[0].event.run_id != run_id:
        raise RunDirError(f"{path}: the log belongs to run {lines[0].event.run_id!r}, not to "
                          f"this run ({run_id}); it is left as it is: use another --out")
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


# -- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    event: ev.Event
    end: int  # byte offset just after the line (and its newline)
    newline: bool


def _scan_log(path: Path) -> tuple[list[_Line], str | None]:
    """Every whole event of a log, and a note when its last line was cut short."""
    from ..reading import NotReadable, read_regular

    try:
        data = read_regular(path, None)  # a log may be long, but never a device or a FIFO
    except NotReadable as exc:
        raise RunDirError(f"{path}: the event log is {exc}") from None
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

    This is the one reader of logs: the engine, :func:`~cpnas.runs.load_run`, cpviz and the
    dashboard all read through it. A last line cut short by a kill is skipped with a
    :class:`TruncatedLogWarning` that says where the log ended. Any other bad line raises
    RunDirError with its line number, and so does a log of another schema version, one
    whose seq is not 0, 1, 2, ..., and one with no whole event.
    """
    path = Path(path)
    if path.is_dir():
        path = path / LOG_NAME
    elif not path.exists():
        raise RunDirError(f"{path}: no such run directory or event log")
    lines, note = _scan_log(path)
    if note:
        warnings.warn(note, TruncatedLogWarning, stacklevel=2)
    if not lines:
        raise RunDirError(f"{path}: the log has no events (the run never started)")
    return [ln.event for ln in lines]


def _parse_line(raw: bytes, path: Path, lineno: int, last: bool) -> ev.Event | None:
    """The event on one line; None for a last line that is not whole JSON."""
    from ..reading import loads

    try:
        text = raw.decode("utf-8")
        loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        if last:
            return None
        raise RunDirError(f"{path}: line {lineno} is not a JSON event") from None
    except ValueError as exc:  # whole, but nested too deeply (or digits past Python's limit)
        raise RunDirError(f"{path}: line {lineno} is not a JSON event ({exc})") from None
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
    if before and event.run_id != before[-1].run_id:
        raise RunDirError(
            f"{path}: line {lineno} belongs to run {event.run_id!r}, the lines before it to "
            f"run {before[-1].run_id!r} (two runs mixed in one log)"
        )
    expected = before[-1].seq + 1 if before else 0
    if event.seq != expected:
        raise RunDirError(
            f"{path}: line {lineno} has seq {event.seq}, expected {expected} "
            "(the log has a duplicated or missing event)"
        )


__all__ = ["LOG_NAME", "Recorder", "TruncatedLogWarning", "read_events"]
