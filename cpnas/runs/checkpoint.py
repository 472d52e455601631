"""The checkpoint format: plain tensors and containers, loaded with ``weights_only=True``.

A checkpoint file is ``torch.save`` of ``{"format": "cpnas.checkpoint", "version": 1,
"state": {...}}``. The state holds only what ``torch.load(weights_only=True)`` reads back
(tensors, numbers, strings, dict/list/tuple/set), so loading one cannot run code.
:func:`pack_tensors` turns a tree of many small tensors into one buffer per dtype, which
``torch.save`` writes far faster. torch is imported on first use.
"""

from __future__ import annotations

import collections
import math
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import RunDirError
from .files import atomic_file

CHECKPOINT_FORMAT = "cpnas.checkpoint"
CHECKPOINT_VERSION = 1

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


def save_checkpoint_file(path: Path, state: dict) -> None:
    """Replace ``path`` atomically with ``state`` (tensors and containers only)."""
    import torch

    if not isinstance(state, dict):
        raise TypeError(f"a checkpoint state is a dict, got {type(state).__name__}")
    check_plain(state)
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "state": state}
    with atomic_file(path) as f:
        torch.save(payload, f)


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


def load_checkpoint_file(path: Path) -> dict:
    """The state of a checkpoint file; RunDirError (one line) for anything else."""
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
