"""Datasets as in-memory tensors: digits (embedded), CIFAR-10, MNIST, Fashion-MNIST, synthetic.

A data spec is one of:
- ``"digits"``: scikit-learn's 8x8 handwritten digits (1797 images), read from the
  ``digits.csv.gz`` that ships inside the scikit-learn package, without importing it
  (its import costs ~3 s of a 1-minute teaching search);
- ``"cifar10"``: CIFAR-10 from the cache, downloaded and checksummed on first use
  (:mod:`cpnas.download`); ``"cifar10:<folder>"`` (or a bare folder path) reads a folder of
  its python-pickle batches (``data_batch_1..5``, ``test_batch``). Batches are unpickled
  with a whitelist that only allows numpy arrays and plain containers, so a crafted file
  cannot run code;
- ``"mnist"`` / ``"fashion-mnist"``: the same from the cache, or ``"mnist:<folder>"`` with
  the four IDX files (``train-images-idx3-ubyte[.gz]`` ...), parsed with numpy;
- ``"synthetic"`` or ``"synthetic:<n>"``: n CIFAR-shaped 3x32x32 images (default 2048)
  whose class is a learnable pattern, for benchmarks and the GPU check.

Train / validation / test splits are fixed by the seed (stratified: scikit-learn's
``train_test_split(..., stratify=y, random_state=seed)``, reimplemented here with the same
draws, so the splits are the same as when it was called; tested). A dataset with an
official test set keeps it; otherwise 20% is carved out as the test split. Of the rest,
``val_fraction`` goes to validation (it scores the search), the remainder is trained on.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import DataError
from .limits import MAX_DATASET_SIZE

SPLIT = (0.6, 0.2, 0.2)  # train, validation (scores the search), test (final training only)
VAL_FRACTION = SPLIT[1] / (SPLIT[0] + SPLIT[1])  # of the non-test images (the default, 0.25)
KINDS = ("digits", "synthetic", "cifar10", "mnist", "fashion-mnist")
# The stratified splits need every class in each of them: 10 classes, test 20% -> 50 images.
MIN_SYNTHETIC = 50


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    def summary(self) -> dict:
        return {"name": self.name, "train": len(self.y_train), "val": len(self.y_val),
                "test": len(self.y_test), "classes": self.num_classes,
                "shape": list(self.x_train.shape[1:])}

    def to(self, device: torch.device | str) -> Dataset:
        moved = {k: getattr(self, k).to(device) for k in
                 ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}
        return Dataset(name=self.name, num_classes=self.num_classes, **moved)


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``'cifar10:/d'`` -> ('cifar10', '/d'); ``'synthetic:512'`` -> ('synthetic', '512')."""
    if not isinstance(spec, str) or not spec:
        raise DataError(f"data: give one of {', '.join(KINDS)} (with ':<folder>' to read a "
                        "folder), 'synthetic:<n>', or a CIFAR-10 folder path")
    kind, _, arg = spec.partition(":")
    if kind in KINDS:
        return kind, (arg or None)
    return "cifar10", spec  # a bare path is a CIFAR-10 folder


def check_spec(spec: str) -> None:
    """Raise DataError (one line) when the spec cannot work, without loading or downloading."""
    kind, arg = parse_spec(spec)
    if kind == "digits" and arg:
        raise DataError(f"data: 'digits' takes no argument, got {spec!r}")
    if kind == "synthetic" and arg is not None:
        if arg.isdigit() and len(arg) >= 12:  # a size, too large (not a malformed one)
            raise DataError(f"data: synthetic size {arg[:20]}{'...' if len(arg) > 20 else ''} "
                            f"is over the limit of {MAX_DATASET_SIZE} images (cpnas.limits)")
        if any(op in arg for op in ("**", "*", "e", "+", "^", "_")) and any(c.isdigit() for c in arg):
            raise DataError(f"data: synthetic size {arg[:20]!r} is an expression, and cpnas never "
                            f"evaluates one: give the number in digits ({MIN_SYNTHETIC} to "
                            f"{MAX_DATASET_SIZE}, cpnas.limits)")
        if not (arg.isdigit() and MIN_SYNTHETIC <= int(arg)):
            raise DataError(f"data: synthetic size must be an integer >= {MIN_SYNTHETIC}, "
                            f"got {arg[:20]!r}")
        if int(arg) > MAX_DATASET_SIZE:
            raise DataError(f"data: synthetic size {arg} is over the limit of "
                            f"{MAX_DATASET_SIZE} images (cpnas.limits)")
    if kind in ("cifar10", "mnist", "fashion-mnist") and arg:
        first = "data_batch_1" if kind == "cifar10" else "train-images-idx3-ubyte"
        try:
            folder = Path(arg).expanduser()
            found = folder.is_dir(), any((folder / f).is_file() for f in (first, first + ".gz"))
        except (OSError, RuntimeError, ValueError) as exc:  # too long, unknown ~user, NUL byte
            raise DataError(f"data: {arg[:80]!r} is not a usable folder ({exc})") from None
        if not found[0]:
            raise DataError(f"data: folder {str(folder)!r} does not exist")
        if not found[1]:
            raise DataError(f"data: {str(folder)!r} holds no {kind} {first!r} file")


def load_data(spec: str, seed: int = 0, val_fraction: float = VAL_FRACTION) -> Dataset:
    """The dataset of ``spec``; a cached dataset is downloaded first if missing."""
    check_spec(spec)
    kind, arg = parse_spec(spec)
    x_test = y_test = None
    if kind == "digits":
        x, y = _digits()
    elif kind == "synthetic":
        x, y = _synthetic(int(arg or 2048), seed)
    else:
        from .download import fetch

        folder = Path(arg).expanduser() if arg else fetch(kind)
        x, y, x_test, y_test = _cifar10(folder) if kind == "cifar10" else _idx_folder(folder)
    return _split(kind, x, y, x_test, y_test, seed, val_fraction)


def digits_file() -> Path:
    """scikit-learn's bundled ``digits.csv.gz`` (64 pixel values 0-16, then the label, per
    row), found from the package's location without importing it."""
    spec = importlib.util.find_spec("sklearn")
    where = spec.submodule_search_locations if spec is not None else None
    path = Path(list(where)[0], "datasets", "data", "digits.csv.gz") if where else None
    if path is None or not path.is_file():
        raise DataError("data: digits ships with scikit-learn, which is not installed here "
                        "(pip install scikit-learn)")
    return path


def _digits() -> tuple[np.ndarray, np.ndarray]:
    """The arrays of ``sklearn.datasets.load_digits()``: images / 16 as float32, labels."""
    with gzip.open(digits_file(), "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    images = data[:, :-1].reshape(-1, 1, 8, 8)
    return (images.astype(np.float32) / 16.0), data[:, -1].astype(np.int64)


def _synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class c = a fixed random 3x32x32 template plus noise: learnable, CIFAR-shaped."""
    rng = np.random.default_rng(10_000 + seed)
    templates = rng.normal(0, 1, (10, 3, 32, 32)).astype(np.float32)
    y = np.arange(n) % 10
    x = templates[y] + rng.normal(0, 2.0, (n, 3, 32, 32)).astype(np.float32)
    return x, y.astype(np.int64)


def stratified_split(y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows) of ``y``, exactly as scikit-learn's ``train_test_split(...,
    test_size=test_size, random_state=seed, stratify=y)`` draws them (StratifiedShuffleSplit:
    per-class counts by the approximate mode, then per-class permutations, from one
    ``RandomState(seed)``). ValueError when a class is too small to be in both parts."""
    n = len(y)
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    classes, y_idx, counts = np.unique(y, return_inverse=True, return_counts=True)
    if counts.min() < 2 or n_train < len(classes) or n_test < len(classes):
        raise ValueError(f"{len(classes)} classes, the smallest with {counts.min()} images, "
                         f"cannot all be in {n_train} training and {n_test} held-out images")
    by_class = np.split(np.argsort(y_idx, kind="stable"), np.cumsum(counts)[:-1])
    rng = np.random.RandomState(seed)
    n_i = _approximate_mode(counts, n_train, rng)
    t_i = _approximate_mode(counts - n_i, n_test, rng)
    train: list = []
    test: list = []
    for rows, a, b in zip(by_class, n_i, t_i):
        rows = rows.take(rng.permutation(len(rows)), mode="clip")
        train.extend(rows[:a])
        test.extend(rows[a:a + b])
    return rng.permutation(train), rng.permutation(test)


def _approximate_mode(counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Per-class draws proportional to ``counts``, the leftover given by largest remainder
    (ties drawn at random): scikit-learn's ``_approximate_mode``."""
    continuous = counts / counts.sum() * draws
    floored = np.floor(continuous)
    need = int(draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add = min(len(inds), need)
            floored[rng.choice(inds, size=add, replace=False)] += 1
            need -= add
            if need == 0:
                break
    return floored.astype(int)


def _split(name: str, x: np.ndarray, y: np.ndarray, x_test, y_test, seed: int,
           val_fraction: float) -> Dataset:
    if len(y) > MAX_DATASET_SIZE:
        raise DataError(f"data: {name} has {len(y)} images, over the limit of "
                        f"{MAX_DATASET_SIZE} (cpnas.limits)")
    try:
        if x_test is None:  # carve the test split out of the data too
            rest, held = stratified_split(y, SPLIT[2], seed)
            x, x_test, y, y_test = x[rest], x[held], y[rest], y[held]
        tr, va = stratified_split(y, val_fraction, seed)
        x_tr, x_val, y_tr, y_val = x[tr], x[va], y[tr], y[va]
    except ValueError as exc:  # too few images of a class for a stratified split
        raise DataError(f"data: {name} has too few images per class to split it into "
                        f"train, validation and test ({len(y)} images; {exc})") from None
    for split, labels in (("training", y_tr), ("validation", y_val)):
        # One class teaches nothing: every net scores 100% and the genotype comes from noise.
        classes = np.unique(labels)
        if len(classes) < 2:
            held = f"only class {int(classes[0])}" if len(classes) else "no images"
            raise DataError(f"data: the {split} split of {name} holds {held}; a search needs "
                            "images of at least 2 classes in its training and validation splits")
    mean = x_tr.mean(axis=(0, 2, 3), keepdims=True)
    std = x_tr.std(axis=(0, 2, 3), keepdims=True) + 1e-6

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray((a - mean) / std, dtype=np.float32))

    def lab(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(a, dtype=np.int64))

    return Dataset(name, t(x_tr), lab(y_tr), t(x_val), lab(y_val), t(x_test), lab(y_test),
                   int(max(y.max(), y_test.max())) + 1)


# -- CIFAR-10 python batches, unpickled safely -----------------------------------------------

CIFAR_CLASSES = 10
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


class _SafeUnpickler(pickle.Unpickler):
    """Only numpy arrays and builtin containers; anything else (os.system, ...) is refused."""

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            batch = _SafeUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise DataError(f"data: {path} is not a CIFAR-10 batch ({exc})") from None
    except OSError as exc:  # a directory, unreadable, ...
        raise DataError(f"data: cannot read {path} ({exc.strerror})") from None
    if not isinstance(batch, dict):
        raise DataError(f"data: {path} is not a CIFAR-10 batch (not a dict)")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if not isinstance(data, np.ndarray) or labels is None:
        raise DataError(f"data: {path} lacks 'data' / 'labels'")
    try:
        x = data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
        y = np.asarray(labels, dtype=np.int64)
    except (ValueError, TypeError) as exc:
        raise DataError(f"data: {path} has a bad shape ({exc})") from None
    if len(x) != len(y):
        raise DataError(f"data: {path} has {len(x)} images but {len(y)} labels")
    if y.ndim != 1 or (len(y) and not (0 <= y.min() and y.max() < CIFAR_CLASSES)):
        raise DataError(f"data: {path} has labels outside 0..{CIFAR_CLASSES - 1}")
    return x, y


def _cifar10(folder: Path):
    parts = [read_batch(p) for p in sorted(folder.glob("data_batch_*"))]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    test = folder / "test_batch"
    x_test, y_test = read_batch(test) if test.is_file() else (None, None)
    return x, y, x_test, y_test


# -- MNIST-style IDX files, parsed with numpy -------------------------------------------------

_IDX_UBYTE = 0x08  # the only element type MNIST and Fashion-MNIST use


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (gzipped or not) as a uint8 array of the shape its header gives."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"data: cannot read {path} ({exc.__class__.__name__})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _IDX_UBYTE or not 1 <= raw[3] <= 3:
        raise DataError(f"data: {path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(np.int64)
    start = 4 + 4 * ndim
    if len(raw) - start != int(np.prod(dims)):
        raise DataError(f"data: {path} holds {len(raw) - start} bytes, its header says "
                        f"{int(np.prod(dims))}")
    return np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(tuple(dims))


def _idx_pair(folder: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    def find(stem: str) -> Path:
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                return folder / name
        raise DataError(f"data: {folder} lacks {stem}[.gz]")

    images = read_idx(find(f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find(f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"data: {folder} {prefix} images {images.shape} and labels "
                        f"{labels.shape} do not match")
    return images[:, None].astype(np.float32) / 255.0, labels.astype(np.int64)


def _idx_folder(folder: Path):
    x, y = _idx_pair(folder, "train")
    x_test, y_test = _idx_pair(folder, "t10k")
    return x, y, x_test, y_test
