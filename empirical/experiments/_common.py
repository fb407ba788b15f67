"""Helpers shared by the experiments' analyses: run rows, proportions, rank statistics, fits, plotting, data."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

import mlitheory
from empirical import measure
from empirical.measure import batches
from empirical.runs import RunConfig, RunRecord
from empirical.train import loss_function

__all__ = [
    "EVAL_BATCH",
    "auc",
    "eval_data",
    "gauss_lengths",
    "half_drop_alpha",
    "interpolation_options",
    "label",
    "load_data",
    "log_fit",
    "measure_row",
    "plt",
    "rank_correlation",
    "share",
]

#: examples per evaluation batch (larger batches slow convolutions down on a CPU)
EVAL_BATCH = 256


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
        "activation": str(c.model_options.get("activation", "relu")),
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


def cells_table(name: str, title: str, cmp: Any) -> Any:
    """A report table of a [`empirical.claims.CellComparison`][empirical.claims.cells.CellComparison]: the paper's
    number beside ours, with our
    interval, whether the paper's number lies inside it, and the count of agreeing cells in the note."""
    from empirical.report import Table

    rows = []
    for r in cmp.rows:
        if r["ours"] is None:
            ours = None
        elif "k" in r:  # a share: k of n
            ours = f"{r['ours']:.2f} ({r['k']}/{r['n']})"
        else:  # a mean of n values
            ours = f"{r['ours']:.3g} (n = {r['n']})"
        if r["paper"] is None:
            paper = None
        elif r.get("paper_n") is not None:
            paper = f"{r['paper']:.2f} ({r['paper_n']})"
        else:
            paper = f"{r['paper']:.3g}"
        ci = None if r["ci_low"] is None else f"[{r['ci_low']:.3g}, {r['ci_high']:.3g}]"
        rows.append(
            {"cell": r["cell"], "paper": paper, "ours": ours, "ci": ci, "agree": r["agree"], "p_value": r["p_value"]}
        )
    return Table(
        name,
        title,
        ["cell", "paper", "ours", "ci", "agree", "p_value"],
        rows,
        headers={
            "paper": "paper (count)",
            "ours": "ours (k/n)",
            "ci": f"ours, {cmp.ci_level:.0%} interval",
            "agree": "paper inside our interval",
            "p_value": "p, ours vs paper (two-sided)",
        },
        note=f"{cmp.summary()}. Intervals: Clopper–Pearson (exact) for shares, t for means; p: Fisher's exact test "
        "of our counts against the paper's (share × count, rounded), or the one-sample t-test for means. Cells "
        "without runs of ours, or empty in the paper, are not compared.",
    )


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


def interpolation_options(c: RunConfig, *, bn_x: torch.Tensor, device: Any = None) -> dict[str, Any]:
    """The keyword arguments of [`mlitheory.interpolate`][mlitheory.interpolation.interpolate] (and the studies of
    [`mlitheory.studies`][mlitheory.studies]) with which run ``c`` measures a line: its loss, its batch-norm policy with
    statistics re-estimated on ``bn_x``, the
    metrics (error as well for a classifier), ``device``."""
    reconstruction = c.task == "reconstruction"
    return {
        "loss": loss_function("sse" if reconstruction else "cross_entropy"),
        "metrics": ("loss",) if reconstruction else ("loss", "accuracy", "error"),
        "bn": c.bn,
        "bn_data": batches(bn_x, torch.zeros(len(bn_x), dtype=torch.long), EVAL_BATCH, device),
        "device": device,
        "progress": False,
    }


def eval_data(c: RunConfig, x: torch.Tensor, y: torch.Tensor, device: Any = None) -> list:
    """``(x, targets)`` of run ``c`` as evaluation batches on ``device`` (targets: ``y``, or ``x`` flattened for an
    autoencoder)."""
    return batches(x, x.flatten(1) if c.task == "reconstruction" else y, EVAL_BATCH, device)


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


def gauss_lengths(ctx, rec: RunRecord) -> dict[str, Any]:
    r"""Both estimates of the mean logit Gauss length of run ``rec``'s path θ_0 → θ_T.

    - ``"derivative"``: the run's own [`mlitheory.LogitGaussLength`][mlitheory.logit_geometry.LogitGaussLength], the
      adaptive quadrature of $\int_0^1\|T'(\alpha)\|\,d\alpha$ with exact z′, z″ (Taylor mode, float64) and batch-norm
      statistics re-estimated at each α and held constant in the derivative, as Lucas et al. (2021) compute it. A ReLU
      kink has z″ = 0 on both sides, but the quadrature's guard (the turning of the tangent between its nodes, a lower
      bound) counts the jump of the tangent there, so kinks count (the authors' trapezoid rule on ‖T′‖ misses them);
      the quadrature then refines towards each kink and may stop at its evaluation budget. Computed here (and
      cached in ``ctx``) only for a run that did not measure it.
    - ``"turning"``: a [`mlitheory.geometry.SampledGaussLength`][mlitheory.geometry.SampledGaussLength] (``value`` per
      example), the total turning of the polygon through the logits at the run's ``alphas`` points
      ([`mlitheory.gauss_length_from_samples`][mlitheory.geometry.gauss_length_from_samples]): every change of
      direction, the kinks of a ReLU path included; a lower bound that converges as the grid refines. Cached in ``ctx``.

    Both on the run's ``n_gauss`` examples of ``gauss_split`` (those of its own measurement), in float64.
    """
    c = rec.config
    _, x, y = load_data(c, split=c.gauss_split, n=c.n_gauss, offset=2)
    _, bx, _ = load_data(c, split="train", n=c.n_measure)
    base = {"run": c.hash, "n": c.n_gauss}

    def derivative():
        bn_x = bx[: -(-c.n_gauss_bn // EVAL_BATCH) * EVAL_BATCH] if c.n_gauss_bn else bx  # as the run: whole batches
        return measure.gauss_length(
            rec.build_model(), rec.checkpoint("init"), rec.checkpoint("final"), x, bn=c.bn,
            bn_data=batches(bn_x, torch.zeros(len(bn_x), dtype=torch.long), EVAL_BATCH, ctx.device),
            frozen_statistics=True, tol=c.gauss_tol, max_evaluations=c.gauss_max_evaluations, device=ctx.device,
        )  # fmt: skip

    def turning():
        opts = interpolation_options(c, bn_x=bx, device=ctx.device)
        curve = mlitheory.interpolate(
            rec.build_model(), rec.checkpoint("init"), rec.checkpoint("final"), eval_data(c, x, y, ctx.device),
            alphas=c.alphas, keep_logits=True, dtype=torch.float64, **{**opts, "metrics": ("loss",)},
        )  # fmt: skip
        return mlitheory.gauss_length_from_samples(curve.alphas, curve.logits)

    own = rec.gauss_length()
    key = {"kind": "gauss_length_frozen_statistics", "tol": c.gauss_tol, "max": c.gauss_max_evaluations, **base}
    return {
        "derivative": own if own is not None else ctx.cached(key, derivative),
        "turning": ctx.cached({"kind": "gauss_length_polygon", "alphas": c.alphas, **base}, turning),
    }
