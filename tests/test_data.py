import gzip
import hashlib
import pickle
import tarfile

import numpy as np
import pytest
import torch

from cpnas import download
from cpnas.data import load_data, read_batch, read_idx
from cpnas.errors import DataError


def test_digits_splits_are_fixed_by_seed_and_disjoint():
    a, b, c = load_data("digits", 0), load_data("digits", 0), load_data("digits", 1)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)
    assert not torch.equal(a.y_train, c.y_train)
    assert len(a.y_train) + len(a.y_val) + len(a.y_test) == 1797
    assert a.x_train.shape[1:] == (1, 8, 8) and a.num_classes == 10
    rows = lambda x: {tuple(r.flatten().tolist()) for r in x}  # noqa: E731
    assert not rows(a.x_train) & rows(a.x_test) - rows(a.x_val) & rows(a.x_test)
    assert abs(float(a.x_train.mean())) < 1e-4  # normalised by train statistics
    assert set(a.y_val.tolist()) == set(range(10))  # stratified


def _write_cifar(folder, n=40, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for name in ("data_batch_1", "data_batch_2", "test_batch"):
        batch = {b"data": rng.integers(0, 255, (n, 3072), dtype=np.uint8),
                 b"labels": [i % 10 for i in range(n)], b"batch_label": name.encode()}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)


def test_cifar10_python_batches_load_from_a_folder(tmp_path):
    _write_cifar(tmp_path / "cifar")
    d = load_data(f"cifar10:{tmp_path / 'cifar'}", 0)
    assert d.x_train.shape[1:] == (3, 32, 32)
    assert len(d.y_test) == 40 and len(d.y_train) + len(d.y_val) == 80
    assert load_data(str(tmp_path / "cifar"), 0).name == "cifar10"  # a bare folder path


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("touch PWNED",))


def test_a_pickle_with_code_is_refused_and_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": [0]}))
    with pytest.raises(DataError, match="refusing"):
        read_batch(path)
    assert not (tmp_path / "PWNED").exists()


def test_missing_or_bad_data_is_one_line(tmp_path):
    with pytest.raises(DataError, match="^data: folder .* does not exist$"):
        load_data(f"cifar10:{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="data_batch_1"):
        load_data(str(tmp_path / "empty"))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "data_batch_1").write_bytes(b"not a pickle at all")
    with pytest.raises(DataError, match="not a CIFAR-10 batch"):
        load_data(str(tmp_path / "junk"))


def test_synthetic_is_cifar_shaped_and_seeded():
    a, b = load_data("synthetic:200", 3), load_data("synthetic:200", 3)
    assert a.x_train.shape[1:] == (3, 32, 32) and a.num_classes == 10
    assert torch.equal(a.x_val, b.x_val)
    assert len(a.y_train) + len(a.y_val) + len(a.y_test) == 200


# -- downloads into the cache (never the network: the remotes point at local files) ----------




def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def _serve(monkeypatch, tmp_path, dataset, files, md5=None):
    """Point ``dataset``'s remotes at local files (file:// URLs) and the cache at tmp."""
    remotes = tuple(download.Remote(p.name, p.as_uri(), md5 or _md5(p)) for p in files)
    monkeypatch.setitem(download.REMOTES, dataset, remotes)
    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / dataset


def _cifar_archive(tmp_path, n=30):
    src = tmp_path / "src"
    _write_cifar(src, n)
    (src / "data_batch_3").write_bytes((src / "data_batch_2").read_bytes())
    for name in ("data_batch_4", "data_batch_5", "batches.meta"):
        (src / name).write_bytes((src / "data_batch_1").read_bytes())
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for f in sorted(src.iterdir()):
            tar.add(f, arcname=f"cifar-10-batches-py/{f.name}")
    return archive


def test_cifar10_downloads_once_into_the_cache_and_is_reused(tmp_path, monkeypatch):
    archive = _cifar_archive(tmp_path)
    cache = _serve(monkeypatch, tmp_path, "cifar10", [archive])
    d = load_data("cifar10", 0)
    assert d.name == "cifar10" and d.x_train.shape[1:] == (3, 32, 32)
    assert len(d.y_test) == 30 and len(d.y_train) + len(d.y_val) == 5 * 30
    assert (cache / "cifar-10-batches-py" / "test_batch").is_file()
    assert not list(cache.glob("*.part"))
    archive.unlink()  # a second load must not download again
    assert torch.equal(load_data("cifar10", 0).x_val, d.x_val)


def test_a_checksum_mismatch_is_one_line_and_keeps_nothing(tmp_path, monkeypatch):
    archive = _cifar_archive(tmp_path)
    cache = _serve(monkeypatch, tmp_path, "cifar10", [archive], md5="0" * 32)
    with pytest.raises(DataError, match=r"^data: cifar-10-python.tar.gz .* has md5 [0-9a-f]{32}, "
                                        r"expected 0{32}; download .* by hand into .*cifar10/"):
        load_data("cifar10", 0)
    assert not list(cache.iterdir())  # neither the file nor a .part


def test_offline_says_where_to_put_the_files(tmp_path, monkeypatch):
    _serve(monkeypatch, tmp_path, "mnist", [tmp_path / "train-images-idx3-ubyte.gz"], md5="0" * 32)
    with pytest.raises(DataError) as err:
        load_data("mnist", 0)
    msg = str(err.value)
    assert msg.startswith("data: cannot download train-images-idx3-ubyte.gz") and "\n" not in msg
    assert "CPNAS_DATA" in msg and str(tmp_path / "cache" / "mnist") in msg


def _idx(path, arr, compress=True):
    header = bytes([0, 0, 8, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    data = header + arr.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def _mnist_files(folder, n=40, compress=True):
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    ext = ".gz" if compress else ""
    out = []
    for prefix, count in (("train", n), ("t10k", n // 2)):
        out.append(_idx(folder / f"{prefix}-images-idx3-ubyte{ext}",
                        rng.integers(0, 255, (count, 28, 28)), compress))
        out.append(_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", np.arange(count) % 10, compress))
    return out


def test_mnist_and_fashion_mnist_download_as_idx_files(tmp_path, monkeypatch):
    files = _mnist_files(tmp_path / "src")
    for dataset in ("mnist", "fashion-mnist"):
        _serve(monkeypatch, tmp_path, dataset, files)
        d = load_data(dataset, 0)
        assert d.name == dataset and d.x_train.shape[1:] == (1, 28, 28) and d.num_classes == 10
        assert len(d.y_test) == 20 and len(d.y_train) + len(d.y_val) == 40


def test_idx_folder_uncompressed_and_bad_idx(tmp_path):
    _mnist_files(tmp_path / "raw", compress=False)
    d = load_data(f"fashion-mnist:{tmp_path / 'raw'}", 0, val_fraction=0.5)
    assert len(d.y_val) == 20 and len(d.y_train) == 20
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x09abc"))
    with pytest.raises(DataError, match="header says 9"):
        read_idx(bad)
    (tmp_path / "junk").write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(tmp_path / "junk")
    with pytest.raises(DataError, match="holds no mnist"):
        load_data(f"mnist:{tmp_path}", 0)



# -- digits and the stratified split without importing scikit-learn --------------------------


def test_digits_are_sklearns_arrays_and_the_split_is_sklearns():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from cpnas.data import _digits, stratified_split

    x, y = _digits()
    ref = load_digits()
    assert x.dtype == np.float32 and np.array_equal(x, (ref.images.astype(np.float32) / 16)[:, None])
    assert np.array_equal(y, ref.target)
    rng = np.random.default_rng(0)
    labels = [y, rng.integers(0, 7, 150), np.repeat(np.arange(5), [3, 9, 20, 40, 2])]
    for labs in labels:
        for seed in (0, 1, 7):
            for size in (0.2, 0.25, 0.3):
                ours = stratified_split(labs, size, seed)
                theirs = train_test_split(np.arange(len(labs)), test_size=size, random_state=seed,
                                          stratify=labs)
                assert all(np.array_equal(a, b) for a, b in zip(ours, theirs))
    with pytest.raises(ValueError):  # a class of one image cannot be stratified
        stratified_split(np.array([0, 0, 1, 1, 2]), 0.4, 0)


def test_loading_digits_does_not_import_sklearn():
    import subprocess
    import sys

    code = ("import sys; from cpnas.data import load_data; d = load_data('digits'); "
            "print(len(d.y_train), 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1077", "False"]  # 1797 - 360 test - 360 validation
