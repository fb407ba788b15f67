"""Input and output of the bias-plateau demo: the output folder; real data as tensors or by name, loaded lazily."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "DATA_PROVIDER_ENV",
    "DEFAULT_DATA_PROVIDER",
    "DataUnavailable",
    "balanced_subset",
    "data_provider",
    "load_real_data",
    "prepare_out",
]


# ---------------------------------------------------------------------------------------------------------------------
# output folder


def prepare_out(out: str | Path, *, force: bool = False) -> tuple[Path, str]:
    """Choose the folder to write into, never overwriting results silently.

    - ``out`` missing or empty: use it (created).
    - ``out`` holds other files: with ``force``, write into it (only the demo's own files are replaced);
      otherwise use a fresh subfolder ``out/run-N``.
    - ``out`` is a file: ``ValueError``.

    Returns:
        ``(folder, note)`` where ``note`` says what was chosen.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder; pass a folder path")
    if not out.exists() or not any(out.iterdir()):
        out.mkdir(parents=True, exist_ok=True)
        return out, f"writing to {out}"
    if force:
        return out, f"writing to {out} (--force: existing demo files there are replaced)"
    n = 1
    while (out / f"run-{n}").exists():
        n += 1
    sub = out / f"run-{n}"
    sub.mkdir(parents=True)
    return sub, f"{out} already holds files; writing to the fresh folder {sub} (pass --force to write into {out})"


# ---------------------------------------------------------------------------------------------------------------------
# real data: tensors, or a named data set through an optional provider found at run time

#: environment variable naming the provider of named data sets, ``"module:function"``
DATA_PROVIDER_ENV = "MLITHEORY_DATA_PROVIDER"
#: the default provider: the data loaders of the experiments package, imported only when a named data set is asked
#: for (mlitheory never imports it otherwise; nothing else in mlitheory names it)
DEFAULT_DATA_PROVIDER = "empirical.data:load_dataset"


class DataUnavailable(RuntimeError):
    """A named data set could not be loaded: no provider, an unknown name, or too few points per class."""


def data_provider() -> Callable[..., Any]:
    """The loader of named data sets: ``$MLITHEORY_DATA_PROVIDER`` or `DEFAULT_DATA_PROVIDER`, imported now.

    The loader is called as ``loader(name, normalize="none", seed=seed)`` and returns an object with ``x_train`` and
    ``y_train`` tensors.

    Raises:
        DataUnavailable: the provider cannot be imported, with what to do instead.
    """
    spec = os.environ.get(DATA_PROVIDER_ENV) or DEFAULT_DATA_PROVIDER
    module, _, function = spec.partition(":")
    try:  # import_module honours sys.modules even when the package already holds a `data` attribute
        return getattr(importlib.import_module(module), function or "load_dataset")
    except (ImportError, AttributeError) as e:
        raise DataUnavailable(
            f"named data sets come from the provider {spec!r} (set ${DATA_PROVIDER_ENV} to 'module:function'), which "
            f"could not be imported ({e}). Run without --data to use the synthetic balanced data set, pass tensors "
            "to run_demo(data=(x, y)), or install the data sets with `make data`."
        ) from e


def data_available(name: str) -> tuple[bool, str]:
    """Whether the provider can load the named data set here, and if not, why (checked before any training).

    The provider's module answers through its ``available(name)`` function when it has one (``empirical.data`` does);
    a provider without one is taken at its word until it loads.

    Raises:
        DataUnavailable: the provider cannot be imported, with what to do instead.
    """
    data_provider()  # importable, with its loader
    module = (os.environ.get(DATA_PROVIDER_ENV) or DEFAULT_DATA_PROVIDER).partition(":")[0]
    check = getattr(importlib.import_module(module), "available", None)
    return check(name) if callable(check) else (True, "")


def balanced_subset(
    x: torch.Tensor,
    y: torch.Tensor,
    n_per_class: int,
    *,
    seed: int,
    dtype: torch.dtype,
    device: str,
    name: str = "data",
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_per_class`` points of every class (drawn with ``seed``), inputs flattened and standardised per feature.

    Raises:
        ValueError: ``x`` and ``y`` differ in length, or a class has fewer than ``n_per_class`` points.
    """
    x = torch.as_tensor(x)
    y = torch.as_tensor(y).long()
    if len(x) != len(y) or y.ndim != 1:
        raise ValueError(f"{name}: x has {len(x)} points and y has shape {tuple(y.shape)}; pass labels of shape (n,)")
    x = x.reshape(len(x), -1).to(torch.float64)
    k = int(y.max()) + 1
    g = torch.Generator().manual_seed(seed)
    idx = []
    for c in range(k):
        pool = torch.nonzero(y == c).flatten()
        if pool.numel() < n_per_class:
            raise ValueError(f"{name}: class {c} has only {pool.numel()} training points, fewer than {n_per_class}")
        idx.append(pool[torch.randperm(pool.numel(), generator=g)[:n_per_class]])
    sel = torch.cat(idx)
    x, y = x[sel], y[sel]
    x = (x - x.mean(0)) / (x.std(0) + 1e-8)
    return x.to(dtype=dtype, device=device), y.to(device)


def load_real_data(name: str, n_per_class: int, *, seed: int, dtype: torch.dtype, device: str):
    """Balanced training subset of a named data set from the `data_provider` (see `balanced_subset`).

    Args:
        name: a data set name of the provider (the default's: ``"digits"``, ``"mnist"``, ``"fashion-mnist"``, …).
        n_per_class: training points kept per class (drawn with ``seed``).

    Returns:
        ``(x, y)``: inputs flattened and standardised per feature, shape ``(k·n_per_class, d)``, and labels.

    Raises:
        DataUnavailable: the provider or the data set is unavailable, with what to do instead.
    """
    loader = data_provider()
    try:
        ds = loader(name, normalize="none", seed=seed)
    except (ValueError, FileNotFoundError) as e:  # unknown name, or DatasetUnavailable (a FileNotFoundError)
        raise DataUnavailable(f"the data provider could not load {name!r}: {e}") from e
    try:
        return balanced_subset(ds.x_train, ds.y_train, n_per_class, seed=seed, dtype=dtype, device=device, name=name)
    except ValueError as e:
        raise DataUnavailable(str(e)) from e
