"""The checkpoint format: plain tensors and containers, loaded with ``weights_only=True``.

A checkpoint file is ``torch.save`` of ``{"format": "cpnas.checkpoint", "version": 2,
"run_id": ..., "sha256": ..., "payload": uint8 tensor}``, where ``payload`` holds the bytes of
``torch.save`` of the state and ``sha256`` their digest: a damaged payload is refused, not resumed into another
result, and a checkpoint of another run is refused by its run id. Version 1 (release 0.1.0)
held ``"state": {...}`` directly, with no digest; it still loads. The state holds only what
``torch.load(weights_only=True)`` reads back (tensors, numbers, strings, dict/list/tuple/set),
so loading one cannot run code.
:func:`pack_tensors` turns a tree of many small tensors into one buffer per dtype, which
``torch.save`` writes far faster. torch is imported on first use.
"""

from __future__ import annotations

import collections
import hashlib
import io
import math
import re
import stat
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import RunDirError
from .files import atomic_file

CHECKPOINT_FORMAT = "cpnas.checkpoint"
CHECKPOINT_VERSION = 2
READABLE_VERSIONS = (1, 2)

_PLAIN = (type(None), bool, int, float, complex, str, bytes)


def check_plain(obj: Any, where: str = "state") -> None:
    """Raise TypeError naming the first value ``torch.load(weights_only=True)`` would refuse.

    Catching this at save time, not at resume time, is the point: a checkpoint that cannot
    be loaded is found out by the run that wrote it.
    """
    import torch

    if isinstance(obj, (*_PLAIN, torch.Tensor, torch.dtype, torch.device, torch.Size)):
        return
    if type(obj) in (dict, collections.OrderedDict):
        for key, value in obj.items():
            if not isinstance(key, _PLAIN):
                raise TypeError(f"{where}: key {key!r} is a {type(key).__name__}")
            check_plain(value, f"{where}[{key!r}]")
        return
    if type(obj) in (list, tuple, set):
        for i, value in enumerate(obj):
            check_plain(value, f"{where}[{i}]")
        return
    raise TypeError(
        f"{where} is a {type(obj).__module__}.{type(obj).__name__}; a checkpoint holds only "
        "tensors, numbers, strings and dict/list/tuple/set (torch.load(weights_only=True) refuses "
        "anything else)"
    )


def save_checkpoint_file(path: Path, state: dict, run_id: str = "") -> None:
    """Replace ``path`` atomically with ``state`` (tensors and containers only) of ``run_id``."""
    import torch

    if not isinstance(state, dict):
        raise TypeError(f"a checkpoint state is a dict, got {type(state).__name__}")
    check_plain(state)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    data = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "run_id": run_id,
            "sha256": hashlib.sha256(payload).hexdigest(),
            # a tensor, stored as raw bytes (a bytes object would be pickled as latin-1 text)
            "payload": torch.frombuffer(bytearray(payload), dtype=torch.uint8)}
    buffer = io.BytesIO()  # serialized first: a full disk is then an OSError of one write
    torch.save(data, buffer)
    with atomic_file(path, own=True) as f:  # the checkpoint's one writer
        f.write(buffer.getbuffer())


def _why_unloadable(exc: Exception) -> str:
    import pickle

    text = str(exc)
    code = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if code:  # the pickle names a callable: loading it would run code
        return f"it asks to call {code[1]}; refused, nothing from it was run"
    if isinstance(exc, pickle.UnpicklingError):
        return "not a torch file, or one holding objects other than tensors and containers"
    if "zip archive" in text or "central directory" in text or isinstance(exc, UnicodeError):
        return "a torch zip file that is cut short or damaged"
    return "not a torch file"


def _torch_load(source, path: Path) -> Any:
    import torch

    try:
        # weights_only: the unpickler accepts tensors and plain containers only, so a
        # crafted pickle cannot run code (DARTS-era tools load checkpoints with full pickle).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds here; every one means "refused"
        raise RunDirError(
            f"{path}: not a loadable cpnas checkpoint ({_why_unloadable(exc)}); "
            "delete it to start the search afresh"
        ) from None


def load_checkpoint_file(path: Path, run_id: str | None = None) -> dict:
    """The state of a checkpoint file (of run ``run_id`` when given); RunDirError (one line)
    for anything else."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise RunDirError(f"{path}: no checkpoint here") from None
    if not stat.S_ISREG(st.st_mode):  # /dev/zero reads forever; a FIFO blocks
        raise RunDirError(f"{path}: the checkpoint is not a file; delete it to start afresh")
    size = st.st_size
    if size == 0:
        raise RunDirError(
            f"{path}: the checkpoint is empty (0 bytes); delete it to start the search afresh"
        )
    data = _torch_load(path, path)
    if not (isinstance(data, dict) and data.get("format") == CHECKPOINT_FORMAT):
        raise RunDirError(f"{path}: a torch file, but not a cpnas checkpoint")
    version = data.get("version")
    if version not in READABLE_VERSIONS:
        raise RunDirError(
            f"{path}: checkpoint version {version!r}; this cpnas reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))} (a newer cpnas wrote it?)"
        )
    state = data.get("state") if version == 1 else _verified_state(data, path)
    if not isinstance(state, dict):
        raise RunDirError(f"{path}: a cpnas checkpoint without its state")
    owner = state.get("run_id") if version == 1 else data.get("run_id")
    if run_id is not None and owner != run_id:
        raise RunDirError(f"{path}: the checkpoint belongs to run {owner!r}, not to this run "
                          f"({run_id}); delete it to start the search afresh")
    return state


def payload_bytes(data: dict) -> bytes | None:
    """The state's bytes of a version-2 checkpoint's outer dict (None when absent)."""
    import torch

    payload = data.get("payload")
    if not (isinstance(payload, torch.Tensor) and payload.dtype == torch.uint8):
        return None
    return payload.numpy().tobytes()


def _verified_state(data: dict, path: Path) -> Any:
    payload, digest = payload_bytes(data), data.get("sha256")
    if payload is None or not isinstance(digest, str):
        raise RunDirError(f"{path}: a cpnas checkpoint without its payload or checksum")
    if hashlib.sha256(payload).hexdigest() != digest:
        raise RunDirError(f"{path}: the checkpoint is damaged (its checksum does not match); "
                          "delete it to start the search afresh")
    return _torch_load(io.BytesIO(payload), path)


# -- tensor packing ---------------------------------------------------------------------------

_PACKED = "packed_tensors"
_SLOT = "\x00tensor"  # stands where a tensor was; tensors refill in traversal order


def _dtype_name(t) -> str:
    return str(t.dtype).removeprefix("torch.")


def pack_tensors(tree: Any) -> dict:
    """``tree`` with every tensor replaced by ``_SLOT``, plus one flat buffer per dtype.

    Plain containers only (dict, list, tuple), so ``torch.load(weights_only=True)`` reads
    it; the shapes travel as one int64 tensor, so the checkpoint's plain-value check walks
    few objects.
    """
    import torch

    found: list[torch.Tensor] = []

    def strip(obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            found.append(obj.detach())
            return _SLOT
        if isinstance(obj, dict):
            return _like(obj, ((k, strip(v)) for k, v in obj.items()))
        if isinstance(obj, (list, tuple)):
            return type(obj)(strip(v) for v in obj)
        return obj

    skeleton = strip(tree)
    dtypes = sorted({_dtype_name(t) for t in found})
    code = {d: i for i, d in enumerate(dtypes)}
    shapes: list[int] = []  # per tensor: dtype code, ndim, dims...
    for t in found:
        shapes += [code[_dtype_name(t)], t.dim(), *t.shape]
    buffers = {d: torch.cat([t.reshape(-1) for t in found if _dtype_name(t) == d])
               for d in dtypes}
    return {_PACKED: 1, "skeleton": skeleton, "dtypes": dtypes,
            "shapes": torch.tensor(shapes, dtype=torch.int64), "buffers": buffers}


def _like(d: dict, items) -> dict:
    out = type(d)(items)
    if hasattr(d, "_metadata"):  # a module state_dict's versions (load_state_dict reads them)
        out._metadata = d._metadata  # type: ignore[attr-defined]
    return out


def unpack_tensors(state: Mapping) -> Any:
    """The tree :func:`pack_tensors` packed; a state that was never packed comes back as is."""
    if _PACKED not in state:
        return state
    dtypes, buffers = state["dtypes"], state["buffers"]
    spec = iter(state["shapes"].tolist())
    offsets = dict.fromkeys(dtypes, 0)

    def take():
        dtype = dtypes[next(spec)]
        shape = [next(spec) for _ in range(next(spec))]
        n, start = math.prod(shape), offsets[dtype]
        offsets[dtype] = start + n
        return buffers[dtype][start:start + n].reshape(shape).clone()

    def fill(obj: Any) -> Any:
        if isinstance(obj, str) and obj == _SLOT:
            return take()
        if isinstance(obj, dict):
            return _like(obj, ((k, fill(v)) for k, v in obj.items()))
        if isinstance(obj, (list, tuple)):
            return type(obj)(fill(v) for v in obj)
        return obj

    return fill(state["skeleton"])


__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "check_plain", "load_checkpoint_file",
           "pack_tensors", "save_checkpoint_file", "unpack_tensors"]
