"""Reading a user's file whole, safely: regular files only, up to a size, JSON to a depth.

A path the user gives (a genotype, a config, a run's files) may name a device (``/dev/zero``
reads forever; its ``st_size`` is 0, so a size check alone passes it), a FIFO (``open`` waits
for a writer that never comes) or a socket. :func:`read_regular` opens without blocking,
refuses anything but a regular file before reading a byte, and never reads past its limit.
:func:`loads` is ``json.loads`` whose RecursionError (``[[[...`` 40,000 deep, inside a
wrapper or not) is a ``ValueError`` the callers already turn into their one-line error.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

NESTED_TOO_DEEPLY = "nested too deeply"


class NotReadable(ValueError):
    """The file is not a regular file, or is over the limit; ``str()`` says which."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path: str | os.PathLike, limit: int | None) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them (None: no limit).

    NotReadable for anything else (named: ``a character device``, ``a FIFO (named pipe)``)
    or a file over the limit; OSError (FileNotFoundError, ...) as ``open`` raises it."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotReadable(f"{_kind(st.st_mode)}, not a file; cpnas reads files only")
        if limit is not None and st.st_size > limit:
            raise NotReadable(f"{st.st_size} bytes, over the limit of {limit} (cpnas.limits)")
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if limit is not None and total > limit:  # it grew while being read
                raise NotReadable(f"over {limit} bytes, the limit (cpnas.limits)")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_regular_text(path: str | os.PathLike, limit: int | None) -> str:
    """:func:`read_regular`, decoded as UTF-8 (UnicodeDecodeError as ``bytes.decode``)."""
    return read_regular(path, limit).decode("utf-8")


def loads(text: str | bytes) -> Any:
    """``json.loads``; nesting past Python's recursion limit is a ``ValueError`` (not a
    RecursionError traceback), worded :data:`NESTED_TOO_DEEPLY`."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{NESTED_TOO_DEEPLY} to be read") from None


def is_regular(path: Path) -> bool:
    """Whether ``path`` is a regular file (following links), without opening it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


__all__ = ["NESTED_TOO_DEEPLY", "NotReadable", "is_regular", "loads", "read_regular",
           "read_regular_text"]
