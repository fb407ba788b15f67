"""Helpers shared by the experiments' analyses: run rows, proportions, rank statistics, fits, plotting, data."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch

from empirical.runs import RunConfig, RunRecord

__all__ = [
    "auc",
    "eval_batches",
    "label",
    "load_data",
    "log_fit",
    "measure_row",
    "plt",
    "rank_correlation",
    "share",
]


def plt():
    """``matplotlib.pyplot`` on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def measure_row(rec: RunRecord) -> dict[str, Any]:
    """A flat dict of a run: its configuration's main fields, training outcome and measures."""
    c, m = rec.config, rec.metrics or {}
    train, meas = m.get("train") or {}, m.get("measures") or {}
    return {
        "hash": c.hash,
        "state": rec.state,
        "dataset": c.dataset,
        "model": c.model,
        "optimizer": c.optimizer,
        "lr": c.lr,
        "batchnorm": bool(c.model_options.get("batchnorm", False)),
        "seed": c.seed,
        "final_train_loss": meas.get("curve_loss_final", train.get("final_loss", math.nan)),
        "epoch_train_loss": train.get("final_loss", math.nan),
        "test_accuracy": train.get("test_accuracy", math.nan),
        "min_delta": meas.get("min_delta", math.nan),
        "gauss_length": meas.get("gauss_length", math.nan),
        "distance": meas.get("distance", math.nan),
        "norm_distance": meas.get("norm_distance", math.nan),
        "measured": bool(meas),
    }


def share(flags: Iterable[bool]) -> tuple[float | None, int]:
    """(share of true flags, count); share ``None`` when there are none."""
    flags = [bool(f) for f in flags]
    return (sum(flags) / len(flags) if flags else None), len(flags)


def auc(scores: Sequence[float], positive: Sequence[bool]) -> float | None:
    """ROC AUC of ``scores`` for the ``positive`` class: P(score of a positive > score of a negative), ties ½.

    This is the Mann–Whitney U statistic divided by ``n_pos · n_neg``; ``None`` when a class is empty.
    """
    s = np.asarray(scores, dtype=np.float64)
    p = np.asarray(positive, dtype=bool)
    ok = np.isfinite(s)
    s, p = s[ok], p[ok]
    pos, neg = s[p], s[~p]
    if len(pos) == 0 or len(neg) == 0:
        return None
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def rank_correlation(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation of the finite pairs (``None`` with fewer than 3 or a constant side)."""
    from scipy.stats import spearmanr

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return None
    return float(spearmanr(x[ok], y[ok]).statistic)


def log_fit(x: Sequence[float], y: Sequence[float]) -> dict[str, float] | None:
    """Least squares of ``log y`` on ``log x`` over positive finite pairs: the power law ``y ≈ e^b x^a``.

    Returns:
        ``{"slope": a, "intercept": b, "r2": R², "n": count}`` (R² of the fit in log–log space, as the
        authors' ``LinearRegression.score``), or ``None`` with fewer than 3 usable pairs.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 3:
        return None
    lx, ly = np.log(x[ok]), np.log(y[ok])
    if np.ptp(lx) == 0:
        return None
    a, b = np.polyfit(lx, ly, 1)
    resid = ly - (a * lx + b)
    ss_tot = float(((ly - ly.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else 1.0
    return {"slope": float(a), "intercept": float(b), "r2": r2, "n": int(ok.sum())}


def label(c: RunConfig, keys: Sequence[str]) -> str:
    """A short label of a configuration from some of its fields (dotted keys reach into options)."""
    parts = []
    for k in keys:
        head, _, rest = k.partition(".")
        v = getattr(c, head)
        if rest:
            v = v.get(rest)
        parts.append(f"{rest or head}={v}")
    return ", ".join(parts)


def load_data(c: RunConfig, *, split: str = "train", n: int | None = None, offset: int = 1):
    """The data set of run ``c`` (as the run saw it), and ``n`` examples of ``split`` drawn like the run's curve.

    Returns:
        ``(dataset, x, y)``.
    """
    from empirical.data import load_dataset

    ds = load_dataset(
        c.dataset, n_train=c.n_train, n_test=c.n_test, seed=c.data_seed, normalize=c.normalize, **c.data_options
    )
    x, y = (ds.x_train, ds.y_train) if split == "train" else (ds.x_test, ds.y_test)
    if n is not None and n < len(x):
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(c.data_seed + offset))[:n].sort().values
        x, y = x[idx], y[idx]
    return ds, x, y


def eval_batches(x: torch.Tensor, y: torch.Tensor, size: int = 256, device: Any = None) -> list:
    """``(x, y)`` as a list of batches of at most ``size`` on ``device``."""
    dev = torch.device(device or "cpu")
    return [(x[i : i + size].to(dev), y[i : i + size].to(dev)) for i in range(0, len(x), size)]


def curve_json(curve) -> dict:
    """A :class:`empirical.measure.Curve` as plain data."""
    return curve.to_json()


def verdict_if(count_ok: bool, test: Callable[[], bool]) -> bool | None:
    """``None`` (inconclusive) unless ``count_ok``, else ``test()``."""
    return test() if count_ok else None


def line_curve(
    rec: RunRecord,
    start: dict,
    end: dict,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alphas: int,
    device: Any = None,
    metrics: Sequence[str] = ("loss", "accuracy"),
    bn_x: torch.Tensor | None = None,
) -> dict:
    """Loss (and accuracy) along the straight line ``start → end`` in run ``rec``'s architecture, as plain data.

    Goes through :func:`empirical.measure.interpolation_curve` (the run's batch-norm policy; statistics
    re-estimated on ``bn_x``, default ``x``). Returns ``{"alphas", "loss", ["accuracy"], "min_delta", "engine"}``.
    """
    from empirical import measure
    from empirical.train import loss_function

    c = rec.config
    targets = x.flatten(1) if c.task == "reconstruction" else y
    data = eval_batches(x, targets, 256, device)
    if c.task == "reconstruction":
        metrics = ("loss",)
    loss = loss_function("sse" if c.task == "reconstruction" else "cross_entropy")
    bn_data = data if bn_x is None else eval_batches(bn_x, torch.zeros(len(bn_x), dtype=torch.long), 256, device)
    curve = measure.interpolation_curve(
        rec.build_model(),
        start,
        end,
        data,
        alphas=alphas,
        loss=loss,
        metrics=tuple(metrics),
        bn=c.bn,
        bn_data=bn_data,
        device=device,
    )
    return curve.to_json()


def barrier(losses: Sequence[float]) -> float:
    """Height of a curve above its higher end point: :math:`\\max_\\alpha L(\\alpha) - \\max(L(0), L(1))` (≥ 0)."""
    v = np.asarray(losses, dtype=np.float64)
    return float(max(0.0, np.max(v) - max(v[0], v[-1])))


def half_drop_alpha(alphas: Sequence[float], values: Sequence[float]) -> float | None:
    """First α at which ``values`` has fallen half-way from its start to its end (linear between grid points).

    ``None`` when the curve does not fall (end ≥ start). A straight line gives 0.5; a curve that stays high until
    close to the end (a plateau) gives a value near 1.
    """
    a, v = np.asarray(alphas, dtype=np.float64), np.asarray(values, dtype=np.float64)
    target = 0.5 * (v[0] + v[-1])
    if not v[-1] < v[0]:
        return None
    below = np.flatnonzero(v <= target)
    i = int(below[0])
    if i == 0:
        return float(a[0])
    a0, a1, v0, v1 = a[i - 1], a[i], v[i - 1], v[i]
    return float(a0 + (v0 - target) / (v0 - v1) * (a1 - a0)) if v0 != v1 else float(a1)


def max_increase(values: Sequence[float]) -> float:
    """Largest rise above the start along a curve: :math:`\\max(0, \\max_\\alpha v(\\alpha) - v(0))`."""
    v = np.asarray(values, dtype=np.float64)
    return float(max(0.0, np.max(v) - v[0]))


def derivative_gauss_length(ctx, rec) -> dict:
    """Mean over the run's ``n_gauss`` examples of both Gauss-length estimates of
    :func:`empirical.pathcurves.logit_gauss_lengths` (``"derivative"``, ``"turning"``), cached in ``ctx``."""
    from empirical.pathcurves import logit_gauss_lengths

    c = rec.config
    key = {"kind": "gauss_lengths", "run": c.hash, "alphas": c.alphas, "n": c.n_gauss}

    def compute():
        _, x, _ = load_data(c, split=c.gauss_split, n=c.n_gauss, offset=2)
        _, bx, by = load_data(c, split="train", n=c.n_measure)
        gl = logit_gauss_lengths(
            rec.build_model(),
            rec.checkpoint("init"),
            rec.checkpoint("final"),
            x,
            alphas=c.alphas,
            bn=c.bn,
            bn_data=eval_batches(bx, by, 256, ctx.device),
            device=ctx.device,
        )
        return {k: float(v.mean()) for k, v in gl.items()}

    return ctx.cached(key, compute)
