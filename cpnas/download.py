"""Fetching the real datasets into a cache: CIFAR-10, MNIST, Fashion-MNIST.

``--data cifar10`` (no folder) looks in the cache directory first and downloads only what
is missing. Every file is checked against its published MD5 before it is used; a download
streams into ``<name>.part`` with a tqdm progress bar and is renamed into place only once
its checksum matches, so a killed download never passes for a finished one. Offline, or
on a checksum mismatch, the error is one line that says which file to put where.

The cache directory is ``$CPNAS_DATA`` when set, else ``~/.cache/cpnas``
(``cpnas search --data-dir`` sets ``CPNAS_DATA``).

torchvision's download helpers would fit, but its PyPI wheels are built against CUDA torch
and fail to import beside the CPU-only torch this project pins (docs/scale.md), so the
download is the standard library's ``urllib`` plus ``hashlib`` and ``tqdm``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError

CACHE_ENV = "CPNAS_DATA"


@dataclass(frozen=True)
class Remote:
    name: str  # file name in the cache folder
    url: str
    md5: str


# Published checksums (the dataset pages; the same values torchvision checks).
_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
REMOTES: dict[str, tuple[Remote, ...]] = {
    "cifar10": (Remote("cifar-10-python.tar.gz",
                       "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                       "c58f30108f718f92721af3b95e74349a"),),
    "mnist": tuple(Remote(n, _MNIST + n, md5) for n, md5 in zip(IDX_NAMES, (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
        "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"))),
    "fashion-mnist": tuple(Remote(n, _FASHION + n, md5) for n, md5 in zip(IDX_NAMES, (
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
        "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"))),
}
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch", "batches.meta")


def cache_dir() -> Path:
    root = os.environ.get(CACHE_ENV)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "cpnas"


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(dataset: str, progress: bool = True) -> Path:
    """The cache folder of ``dataset`` with every file present and verified.

    CIFAR-10's archive is unpacked into ``cifar-10-batches-py/`` next to it (the folder
    ``cifar10:<folder>`` reads); MNIST-style datasets stay as their four ``.gz`` files.
    """
    folder = cache_dir() / dataset
    if dataset == "cifar10" and all((folder / CIFAR_FOLDER / f).is_file() for f in CIFAR_FILES):
        return folder / CIFAR_FOLDER
    for remote in REMOTES[dataset]:
        target = folder / remote.name
        if target.is_file() and md5_of(target) == remote.md5:
            continue
        _download(remote, target, progress)
    if dataset == "cifar10":
        _unpack_cifar(folder / REMOTES["cifar10"][0].name, folder / CIFAR_FOLDER)
        return folder / CIFAR_FOLDER
    return folder


def _where(remote: Remote, target: Path) -> str:
    return (f"download {remote.url} (md5 {remote.md5}) by hand into {target.parent}/, "
            f"or set {CACHE_ENV} / --data-dir to a folder that holds it")


def _download(remote: Remote, target: Path, progress: bool) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"data: cannot create the cache folder {target.parent} "
                        f"({exc.strerror}); set {CACHE_ENV} or --data-dir") from None
    part = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(remote.url, timeout=60) as resp, open(part, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with _bar(total, remote.name, progress) as bar:
                for block in iter(lambda: resp.read(1 << 20), b""):
                    out.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            part.unlink()
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        raise DataError(f"data: cannot download {remote.name} ({reason}); "
                        f"{_where(remote, target)}") from None
    got = md5_of(part)
    if got != remote.md5:
        part.unlink()
        raise DataError(f"data: {remote.name} from {remote.url} has md5 {got}, expected "
                        f"{remote.md5}; {_where(remote, target)}")
    os.replace(part, target)


def _bar(total: int | None, name: str, progress: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=name, file=sys.stderr,
                disable=not progress, leave=False)


def _unpack_cifar(archive: Path, folder: Path) -> None:
    """Unpack the batch files only (no paths from the archive are trusted), then rename the
    finished folder into place."""
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for name in CIFAR_FILES:
                member = tar.extractfile(f"{CIFAR_FOLDER}/{name}")
                if member is None:
                    raise KeyError(name)
                with open(tmp / name, "wb") as out:
                    shutil.copyfileobj(member, out)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    except (tarfile.TarError, KeyError, EOFError, OSError) as exc:
        raise DataError(f"data: {archive} is not the CIFAR-10 archive ({exc.__class__.__name__}: "
                        f"{exc}); delete it and run again") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
