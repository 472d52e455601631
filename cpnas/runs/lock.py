"""One writer per run directory: an exclusive ``flock`` on ``run.lock``, held for the search.

The kernel drops the lock when its process dies (even by SIGKILL), so a killed run leaves no
stale lock: the file stays, and the next writer takes it over. The file holds the holder's
pid, host and start time, so the process that is refused can name it. Readers never take
the lock. ``flock`` is advisory and local: on NFS it may not exclude a writer on another
host (docs/runs.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from pathlib import Path

from ..errors import RunDirError
from .layout import LOCK_NAME


class RunLock:
    """The held lock of one run directory; :meth:`release` (or process death) frees it."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK_NAME
        self.created = not self.path.exists()
        try:
            # O_NOFOLLOW: a run.lock that links elsewhere is refused, never written through
            self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW,
                                           0o644)
        except OSError as exc:
            raise RunDirError(f"{self.path}: cannot open the run's lock file ({exc.strerror})") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(self._fd)
            os.close(self._fd)
            self._fd = None
            raise RunDirError(
                f"{directory}: another search is writing this run ({holder}); wait for it to "
                "end, or use another --out"
            ) from None
        st = os.fstat(self._fd)  # kept, so a refused search can put the file back as it was
        self._before = (os.pread(self._fd, st.st_size, 0), st.st_atime_ns, st.st_mtime_ns)
        os.ftruncate(self._fd, 0)
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        os.pwrite(self._fd, (json.dumps(info) + "\n").encode(), 0)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self, undo: bool = False) -> None:
        """Free the lock. ``undo``: leave the lock file as it was found (deleted when this
        lock created it; else its old bytes and times put back)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            if undo and self.created:
                self.path.unlink()
            elif undo:
                data, atime, mtime = self._before
                os.ftruncate(self._fd, 0)
                os.pwrite(self._fd, data, 0)
                os.utime(self._fd, ns=(atime, mtime))
        os.close(self._fd)  # closing the last descriptor drops the flock
        self._fd = None


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        return f"pid {int(info['pid'])} on {info['host']}, started {info['started']}"
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        return "holder unknown: it is still starting"


__all__ = ["LOCK_NAME", "RunLock"]
