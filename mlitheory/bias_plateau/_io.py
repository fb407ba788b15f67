"""Input and output of the bias-plateau demo: choosing the output folder, and loading real data lazily."""

from __future__ import annotations

import importlib
from pathlib import Path

import torch

__all__ = ["load_real_data", "prepare_out"]


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
# real data (optional, through the empirical package)


def load_real_data(name: str, n_per_class: int, *, seed: int, dtype: torch.dtype, device: str):
    """Balanced training subset of a real data set through ``empirical.data.load_dataset`` (imported only here).

    Args:
        name: a data set name of :data:`empirical.data.DATASETS` (e.g. ``"mnist"``, ``"fashion-mnist"``).
        n_per_class: training points kept per class (drawn with ``seed``).

    Returns:
        ``(x, y)``: inputs flattened and standardised per feature, shape ``(k·n_per_class, d)``, and labels.

    Raises:
        RuntimeError: when the ``empirical`` data loaders or the data set are unavailable, with what to do instead.
    """
    try:  # import_module honours sys.modules even when the package already holds a `data` attribute
        edata = importlib.import_module("empirical.data")
    except ImportError as e:
        raise RuntimeError(
            f"--data {name} needs the data loaders of the `empirical` package (empirical.data), which could not be "
            f"imported ({e}). Run without --data to use the synthetic balanced data set, or install the data sets "
            "with `make data`."
        ) from e
    try:
        ds = edata.load_dataset(name, normalize="none", seed=seed)
    except (ValueError, FileNotFoundError) as e:  # unknown name, or DatasetUnavailable (a FileNotFoundError)
        raise RuntimeError(f"empirical.data could not load {name!r}: {e}") from e
    x, y = ds.x_train, ds.y_train
    x = torch.as_tensor(x).reshape(len(x), -1).to(torch.float64)
    y = torch.as_tensor(y).long()
    k = int(y.max()) + 1
    g = torch.Generator().manual_seed(seed)
    idx = []
    for c in range(k):
        pool = torch.nonzero(y == c).flatten()
        if pool.numel() < n_per_class:
            raise RuntimeError(f"{name}: class {c} has only {pool.numel()} training points, fewer than {n_per_class}")
        idx.append(pool[torch.randperm(pool.numel(), generator=g)[:n_per_class]])
    sel = torch.cat(idx)
    x, y = x[sel], y[sel]
    x = (x - x.mean(0)) / (x.std(0) + 1e-8)
    return x.to(dtype=dtype, device=device), y.to(device)
