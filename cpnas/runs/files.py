"""Atomic files: a temp file in the same directory, fsync, ``os.replace``.

A kill at any moment leaves the old file or the new one, never half of one. Every file the
toolkit writes whole (config, checkpoint, genotype, cpviz's exports) goes through here.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .. import events as ev
from ..errors import NonFiniteError, RunDirError


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _remove_stale_temps(path: Path) -> None:
    """Remove temp files a killed writer of ``path`` left behind (one writer per run dir)."""
    for stale in path.parent.glob(_temp_prefix(path) + "*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


def fsync_dir(directory: Path) -> None:
    # The rename itself must reach the disk too, or a power cut can undo it.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, *, own: bool = False):
    """Yield a binary temp file next to ``path``; on success it replaces ``path``.

    Unless ``own`` (the run directory writing its own config, checkpoint or genotype), a
    path that is one of a run's own files is refused before anything is written: a report or
    a drawing sent there by mistake (``cpnas report RUN --out RUN/events.jsonl``) would
    replace the run's log or checkpoint, and the run could be neither read nor resumed
    (:func:`cpnas.runs.layout.check_write_target`).
    """
    path = Path(path)
    if not own:
        from .layout import check_write_target

        check_write_target(path)
    _remove_stale_temps(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=".tmp")
    except OSError as exc:
        raise RunDirError(f"{path}: cannot write there ({exc.strerror})") from None
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; run files and exports are meant to be shared
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # disk full, file-size limit, directory gone: the old file stays
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise RunDirError(f"{path}: cannot write it ({exc.strerror or exc}); the old file, "
                          "if any, is unchanged") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, own: bool = False) -> None:
    """Write ``data`` to ``path`` all at once: temp file in the same dir, fsync, rename
    (``own``: see :func:`atomic_file`)."""
    with atomic_file(path, own=own) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, *, own: bool = False) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), own=own)


def dump_json(obj: Any) -> str:
    """JSON text for a run file; NaN and infinities are refused (they are not JSON)."""
    try:
        return json.dumps(obj, indent=2, allow_nan=False, default=ev._json_default) + "\n"
    except ValueError as exc:
        raise NonFiniteError(f"refusing to write a NaN or an infinity into JSON ({exc})") from None


def read_json(path: Path, what: str) -> Any:
    """The JSON in ``path``; a RunDirError naming ``what`` when it is missing or not JSON."""
    from ..limits import MAX_FILE_BYTES
    from ..reading import NotReadable, loads, read_regular_text

    try:
        text = read_regular_text(path, MAX_FILE_BYTES)  # no device, FIFO or socket
    except FileNotFoundError:
        raise RunDirError(f"{path}: no {what} here") from None
    except NotReadable as exc:
        raise RunDirError(f"{path}: the {what} is {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{path}: cannot read the {what} ({exc})") from None
    try:
        return loads(text)
    except json.JSONDecodeError as exc:
        raise RunDirError(
            f"{path}: the {what} is not JSON ({exc.msg} at line {exc.lineno})"
        ) from None
    except ValueError as exc:  # nested too deeply, or an integer of 5000 digits
        raise RunDirError(f"{path}: the {what} cannot be read: {exc}") from None


def check_dir_target(path: Path, what: str) -> None:
    """Refuse, before any work, a directory path that cannot be used or created.

    ``what`` names it in the message (``run directory``, ``output directory``).
    """
    if path.exists():
        if not path.is_dir():
            raise RunDirError(f"{path}: the {what} is a file; give a directory path")
        if not writable(path):
            raise RunDirError(f"{path}: the {what} cannot be written; choose another")
        return
    parent = next((a for a in path.parents if a.exists()), Path("."))
    if not parent.is_dir():
        raise RunDirError(f"{path}: cannot create the {what} ({parent} is a file)")
    if not writable(parent):
        raise RunDirError(f"{path}: cannot create the {what} ({parent} cannot be written); "
                          "choose another")


def writable(path: Path) -> bool:
    """Whether a file can really be made in the directory ``path``."""
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


__all__ = ["atomic_file", "atomic_write_bytes", "atomic_write_text", "check_dir_target",
           "dump_json", "fsync_dir", "read_json", "writable"]
