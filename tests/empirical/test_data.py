"""empirical.data: offline data sets, readers on fake files, subsampling, splits and normalisation."""

from __future__ import annotations

import doctest
import gzip
import hashlib
import pickle
import struct

import numpy as np
import pytest
import torch

from empirical import data as D
from empirical.data import DATASETS, DatasetUnavailable, load_dataset, read_cifar, read_idx


def _need(name):
    ok, why = D.available(name)
    return pytest.mark.skipif(not ok, reason=f"{name} not installed here: {why}")


# ---------------------------------------------------------------------------------------------- names and options


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown data set 'mnits'") as e:
        load_dataset("mnits")
    for name in DATASETS:
        assert name in str(e.value)


def test_docstring_example():
    assert doctest.testmod(D, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def test_aliases_resolve():
    assert D.canonical_name("FMNIST") == "fashion-mnist"
    assert D.canonical_name("synthetic") == "gaussian"
    assert D.canonical_name("CIFAR-10") == "cifar10"


def test_bad_options_are_named():
    with pytest.raises(ValueError, match=r"unknown option.*'dims'.*valid options: \['dim'"):
        load_dataset("gaussian", dims=3)
    with pytest.raises(ValueError, match="n_train=0"):
        load_dataset("gaussian", n_train=0)
    with pytest.raises(ValueError, match="normalize='zscore'"):
        load_dataset("gaussian", normalize="zscore")


# ---------------------------------------------------------------------------------------------- Gaussian classes


def test_gaussian_is_deterministic_balanced_and_seeded():
    a = load_dataset("gaussian", n_train=120, n_test=60, seed=3, dim=4, num_classes=3, normalize="none")
    b = load_dataset("gaussian", n_train=120, n_test=60, seed=3, dim=4, num_classes=3, normalize="none")
    c = load_dataset("gaussian", n_train=120, n_test=60, seed=4, dim=4, num_classes=3, normalize="none")
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)
    assert a.x_train.shape == (120, 4) and a.x_train.dtype == torch.float32 and a.y_train.dtype == torch.int64
    assert torch.bincount(a.y_train).tolist() == [40, 40, 40]
    assert torch.bincount(a.y_test).tolist() == [20, 20, 20]


def test_gaussian_class_means_have_the_stated_separation():
    # E‖μ_a − μ_b‖² = separation² by construction; the class-conditional noise has identity covariance.
    ds = load_dataset("gaussian", n_train=20000, n_test=10, seed=0, dim=50, num_classes=2, separation=4.0)
    x, y = ds.x_train.double() * ds.std.double() + ds.mean.double(), ds.y_train
    resid = torch.cat([x[y == k] - x[y == k].mean(0) for k in (0, 1)])
    cov = resid.T @ resid / len(resid)
    assert torch.allclose(cov, torch.eye(50, dtype=torch.float64), atol=0.06)  # sampling error ~ √(2/n)·4


# ---------------------------------------------------------------------------------------------- normalisation


def test_channel_normalisation_uses_training_statistics():
    raw = load_dataset("gaussian", n_train=500, n_test=200, seed=1, dim=3, normalize="none")
    ds = load_dataset("gaussian", n_train=500, n_test=200, seed=1, dim=3)
    assert torch.allclose(ds.x_train.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(ds.x_train.std(0), torch.ones(3), atol=1e-5)
    expect = (raw.x_test - raw.x_train.mean(0)) / raw.x_train.std(0)
    assert torch.allclose(ds.x_test, expect, atol=1e-5)
    assert torch.allclose(ds.mean, raw.x_train.mean(0)) and torch.allclose(ds.std, raw.x_train.std(0))


def test_stratified_subsample_is_balanced_deterministic_and_sorted():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=1000)
    a = D._stratified(y, 100, np.random.default_rng(5), "n")
    b = D._stratified(y, 100, np.random.default_rng(5), "n")
    assert np.array_equal(a, b) and len(a) == 100 and len(np.unique(a)) == 100 and np.all(np.diff(a) > 0)
    counts = np.bincount(y[a], minlength=4)
    share = np.bincount(y, minlength=4) / 1000 * 100
    assert np.all(np.abs(counts - share) < 1.0)
    with pytest.raises(ValueError, match="n=2000 exceeds the 1000"):
        D._stratified(y, 2000, rng, "n")


def test_padding_and_channel_replication():
    x = torch.arange(2 * 1 * 3 * 3, dtype=torch.float32).view(2, 1, 3, 3)
    out = D._reshape_images(x, 7, 3)
    assert out.shape == (2, 3, 7, 7)
    assert torch.equal(out[:, 1, 2:5, 2:5], x[:, 0]) and out[:, :, :2].abs().sum() == 0
    with pytest.raises(ValueError, match="pad_to=2 is smaller"):
        D._reshape_images(x, 2, None)
    with pytest.raises(ValueError, match="images"):
        D._reshape_images(torch.zeros(3, 4), 8, None)


# ---------------------------------------------------------------------------------------------- IDX reader


def _idx(shape, values: np.ndarray) -> bytes:
    return bytes([0, 0, 8, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + values.astype(np.uint8).tobytes()


def test_idx_reader_on_fake_files(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 256, size=(5, 4, 3))
    (tmp_path / "a.gz").write_bytes(gzip.compress(_idx((5, 4, 3), imgs)))
    (tmp_path / "b").write_bytes(_idx((5,), np.arange(5)))
    assert np.array_equal(read_idx(tmp_path / "a.gz"), imgs)
    assert read_idx(tmp_path / "b").tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "raw, match",
    [
        (b"\x01\x02\x08\x01", "bad magic"),
        (bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 1) + b"\0\0\0\0", "element type 0x0d"),
        (bytes([0, 0, 8, 2]) + struct.pack(">2I", 2, 2) + b"\0\0\0", "shape \\(2, 2\\) but 3 data bytes"),
    ],
)
def test_idx_reader_rejects_malformed_files(tmp_path, raw, match):
    (tmp_path / "bad").write_bytes(raw)
    with pytest.raises(ValueError, match=match):
        read_idx(tmp_path / "bad")


def test_fashion_mnist_from_a_folder_of_fake_idx_files(tmp_path, monkeypatch):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(1)
    xtr, xte = rng.integers(0, 256, size=(20, 28, 28)), rng.integers(0, 256, size=(10, 28, 28))
    ytr, yte = np.arange(20) % 10, np.arange(10)
    for name, arr in zip(D._FASHION_FILES, (xtr, ytr, xte, yte)):
        (folder / name).write_bytes(gzip.compress(_idx(arr.shape, arr)))
    D._fashion_raw.cache_clear()
    try:
        ds = load_dataset("fashion-mnist", data_dir=tmp_path, normalize="none")
    finally:
        D._fashion_raw.cache_clear()
    assert ds.x_train.shape == (20, 1, 28, 28) and ds.x_test.shape == (10, 1, 28, 28)
    assert torch.allclose(ds.x_train[3, 0], torch.from_numpy(xtr[3] / 255.0).float())
    assert ds.y_train.tolist() == ytr.tolist()


# ---------------------------------------------------------------------------------------------- CIFAR on fake batches


def _fake_cifar(root, name="cifar10", n=6, corrupt=None):
    folder_name, train_files, test_files, label_key = D._CIFAR[name]
    folder = root / folder_name
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    truth = {}
    for f in train_files + test_files:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10 if name == "cifar10" else 100, size=n)]  # Python ints, as CIFAR
        truth[f] = (data, labels)
        batch = {b"data": data, label_key: labels, b"batch_label": b"fake"}
        if corrupt == "shape" and f == test_files[0]:
            batch[b"data"] = data[:, :100]
        if corrupt == "keys" and f == test_files[0]:
            del batch[label_key]
        (folder / f).write_bytes(pickle.dumps(batch, protocol=2))
    return folder, truth


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_reader_on_fake_batches(tmp_path, name):
    folder, truth = _fake_cifar(tmp_path, name)
    x_tr, y_tr, x_te, y_te = read_cifar(tmp_path, name)
    _, train_files, test_files, _ = D._CIFAR[name]
    assert x_tr.shape == (6 * len(train_files), 3, 32, 32) and x_te.shape == (6, 3, 32, 32)
    d0, l0 = truth[train_files[0]]
    # row-major 3072 = 3 channels × 32 × 32 (the documented CIFAR layout): red plane first
    assert np.allclose(x_tr[0, 0, 0, :4], d0[0, :4] / 255.0) and np.allclose(x_tr[0, 1, 0, 0], d0[0, 1024] / 255.0)
    assert y_tr[:6].tolist() == [int(v) for v in l0]
    assert y_te.tolist() == [int(v) for v in truth[test_files[0]][1]]
    ds = load_dataset(name, data_dir=folder, n_train=None)  # the batches folder itself works too
    assert ds.x_train.shape[1:] == (3, 32, 32)
    assert torch.allclose(ds.x_train.mean((0, 2, 3)), torch.zeros(3), atol=1e-5)


def test_cifar_absent_gives_install_message(tmp_path, monkeypatch):
    monkeypatch.delenv(D.DATA_DIR_ENV, raising=False)
    with pytest.raises(DatasetUnavailable, match="MLITHEORY_DATA_DIR"):
        load_dataset("cifar10")
    with pytest.raises(DatasetUnavailable, match=r"lacks data_batch_1.*never downloaded"):
        load_dataset("cifar10", data_dir=tmp_path)
    monkeypatch.setenv(D.DATA_DIR_ENV, str(tmp_path))
    assert not D.available("cifar100")[0]


@pytest.mark.parametrize("corrupt, match", [("shape", "must be uint8 of shape \\(N, 3072\\)"), ("keys", "b'labels'")])
def test_cifar_malformed_batch_names_the_file(tmp_path, corrupt, match):
    _fake_cifar(tmp_path, corrupt=corrupt)
    with pytest.raises(ValueError, match=f"test_batch.*{match}"):
        read_cifar(tmp_path)


def test_unpickler_refuses_anything_but_arrays(tmp_path):
    folder, _ = _fake_cifar(tmp_path)
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": [print]}))  # a callable global
    with pytest.raises(ValueError, match=r"test_batch is not a readable pickle.*builtins.print"):
        read_cifar(tmp_path)


# ---------------------------------------------------------------------------------------------- installed data sets


def test_mnist_md5_is_checked_before_unpickling(tmp_path, monkeypatch):
    fake = tmp_path / "mnist.pkl.gz"
    fake.write_bytes(gzip.compress(pickle.dumps("not mnist")))
    monkeypatch.setattr(D, "_mnist_file", lambda: fake)
    D._mnist_raw.cache_clear()
    try:
        md5 = hashlib.md5(fake.read_bytes()).hexdigest()
        with pytest.raises(ValueError, match=f"md5 {md5}, expected {D.MNIST_MD5}"):
            load_dataset("mnist")
    finally:
        D._mnist_raw.cache_clear()


@pytest.mark.data
@_need("mnist")
def test_mnist_full_splits_and_official_test_counts():
    ds = load_dataset("mnist", normalize="none")
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert torch.bincount(ds.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert float(ds.x_train.min()) == 0.0 and float(ds.x_train.max()) <= 1.0
    sub = load_dataset("mnist", n_train=1000, n_test=100, seed=0)
    assert sub.x_train.shape == (1000, 1, 28, 28) and torch.bincount(sub.y_train).min() >= 90
    assert sub.info["md5"] == D.MNIST_MD5


@pytest.mark.data
@_need("fashion-mnist")
def test_fashion_mnist_from_the_debian_package():
    ds = load_dataset("fashion-mnist", normalize="none")
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert torch.bincount(ds.y_train).tolist() == [6000] * 10
    assert torch.bincount(ds.y_test).tolist() == [1000] * 10
    padded = load_dataset("fashion-mnist", n_train=50, n_test=20, pad_to=32, channels=3)
    assert padded.x_train.shape == (50, 3, 32, 32) and padded.mean.shape == (3,)


@pytest.mark.data
@_need("digits")
def test_digits_split_is_deterministic_and_disjoint():
    a, b = load_dataset("digits", seed=0, normalize="none"), load_dataset("digits", seed=0, normalize="none")
    assert torch.equal(a.x_test, b.x_test)
    assert a.x_train.shape[1:] == (1, 8, 8) and len(a.y_train) + len(a.y_test) == 1797
    rows = {tuple(r) for r in a.x_train.flatten(1).tolist()}
    assert sum(tuple(r) in rows for r in a.x_test.flatten(1).tolist()) < 5  # digits has a few duplicate images
    assert not torch.equal(load_dataset("digits", seed=1, normalize="none").y_test, a.y_test)
