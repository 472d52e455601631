import pickle

import numpy as np
import pytest
import torch

from cpnas.data import load_data, read_batch
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
