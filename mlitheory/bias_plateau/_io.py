"""Input and output of the bias-plateau demo: choosing the output folder, and loading real data lazily."""

from __future__ import annotations

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


def _extract_xy(obj):
    if isinstance(obj, (tuple, list)) and len(obj) >= 2 and all(isinstance(t, torch.Tensor) for t in obj[:2]):
        return obj[0], obj[1]
    if isinstance(obj, dict):
        for kx, ky in (("x", "y"), ("x_train", "y_train"), ("inputs", "targets")):
            if kx in obj and ky in obj:
                return obj[kx], obj[ky]
    for kx, ky in (("x", "y"), ("x_train", "y_train"), ("inputs", "targets")):
        if hasattr(obj, kx) and hasattr(obj, ky):
            return getattr(obj, kx), getattr(obj, ky)
    if hasattr(obj, "train"):
        return _extract_xy(obj.train)
    raise TypeError(f"cannot read inputs and labels from a {type(obj).__name__}")


def load_real_data(name: str, n_per_class: int, *, seed: int, dtype: torch.dtype, device: str):
    """Balanced training subset of a real data set through ``empirical.data`` (imported only here).

    Raises:
        RuntimeError: when the ``empirical`` data loaders are unavailable or their result cannot be read, with what
            to do instead.
    """
    try:
        from empirical import data as edata
    except ImportError as e:
        raise RuntimeError(
            f"--data {name} needs the data loaders of the `empirical` package (empirical.data), which could not be "
            f"imported ({e}). Run without --data to use the synthetic balanced data set, or install the data sets "
            "with `make data`."
        ) from e
    loader = getattr(edata, "load_dataset", None) or getattr(edata, "load", None)
    if loader is None:
        raise RuntimeError("empirical.data has no load_dataset(name) or load(name) function; cannot load " + name)
    last: Exception | None = None
    for spelling in dict.fromkeys((name, name.replace("-", "_"), name.replace("-", ""))):
        try:
            x, y = _extract_xy(loader(spelling))
            break
        except (KeyError, ValueError, TypeError, FileNotFoundError) as e:
            last = e
    else:
        raise RuntimeError(f"empirical.data could not load {name!r}: {last}")
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
