"""A run on disk, by concern.

- :mod:`~cpnas.runs.files`: atomic files (temp file, fsync, rename) and JSON reading;
- :mod:`~cpnas.runs.checkpoint`: the checkpoint format (plain tensors, ``weights_only``
  loading, tensor packing);
- :mod:`~cpnas.runs.log`: the event log, its recorder and the one reader, :func:`read_events`;
- :mod:`~cpnas.runs.directory`: the run directory (:class:`RunDir`), the config check on
  resume, and reading a run back (:func:`load_run`, :class:`Run`).

torch loads only when a checkpoint is written or read.
"""

from .checkpoint import pack_tensors, unpack_tensors
from .directory import Run, RunDir, load_run
from .files import atomic_write_bytes, atomic_write_text
from .log import Recorder, TruncatedLogWarning, read_events

__all__ = [
    "Recorder",
    "Run",
    "RunDir",
    "TruncatedLogWarning",
    "atomic_write_bytes",
    "atomic_write_text",
    "load_run",
    "pack_tensors",
    "read_events",
    "unpack_tensors",
]
