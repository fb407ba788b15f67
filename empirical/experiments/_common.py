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
    "exact_line",
    "exact_mli",
    "exact_table",
    "gauss_lengths",
    "half_drop_alpha",
    "interpolation_options",
    "label",
    "load_data",
    "log_fit",
    "measure_row",
    "plt",
    "rank_correlation",
    "run_label",
    "share",
]

#: examples per evaluation batch (larger batches slow convolutions down on a CPU)
EVAL_BATCH = 256

#: examples of a run's measuring set on which MLI is also decided exactly (the first of them)
EXACT_EXAMPLES = 1000


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


def run_label(row: dict[str, Any]) -> str:
    """A short label of a `measure_row`: data, optimiser, learning rate,
    activation, batch norm, seed."""
    bn = ", BN" if row["batchnorm"] else ""
    return f"{row['dataset']}, {row['optimizer']} lr {row['lr']:g}, {row['activation']}{bn}, seed {row['seed']}"


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


def exact_mli(ctx, rec: RunRecord, *, n: int = EXACT_EXAMPLES) -> dict[str, Any]:
    r"""MLI of run ``rec``'s line θ_0 → θ_T decided on the continuum of α, beside the sampled verdict.

    On the first ``n`` examples of the run's own measuring set (those of its curve): see
    `exact_line` (in `empirical.experiments._common`), with the run's own α grid. Cached in ``ctx``.
    """
    c = rec.config

    def compute():  # the data and checkpoints are read only when the value is not stored yet
        _, x, y = load_data(c, split=c.measure_split, n=c.n_measure)
        alphas = rec.curve.alphas if rec.curve is not None else np.linspace(0.0, 1.0, c.alphas)
        return exact_line(rec, rec.checkpoint("init"), rec.checkpoint("final"), x[:n], y[:n], alphas, ctx.device)

    return ctx.cached({"kind": "exact_mli", "run": c.hash, "n": n, "version": 3}, compute)


def exact_line(
    rec: RunRecord, start: dict, end: dict, x: torch.Tensor, y: torch.Tensor, alphas: Any, device: Any = None
) -> dict[str, Any]:
    r"""MLI of the line ``start`` → ``end`` of run ``rec``'s network on ``(x, y)``, decided on the continuum of α.

    In float64: [`mlitheory.decide_mli`][mlitheory.piecewise.decide.decide_mli] with the run's loss (cross-entropy,
    or for an autoencoder the per-example summed squared error, the mean over examples of $\|z(x)-x\|^2$) gives the
    exact $\min\Delta$ over all α in [0, 1] and the decision; the same exact loss at the grid ``alphas`` gives the
    sampled $\min\Delta$ on the same examples, so that the two differ only in where the loss is looked at.

    Returns:
        ``{"supported": False, "reason": ...}`` where the exact tools do not apply (a smooth activation, or batch norm
        whose statistics the run re-estimates at every α: then the loss is not piecewise polynomial in α); else
        ``supported``, ``n``, ``exact_min_delta`` and its ``exact_min_delta_error``, ``monotone`` (no rise above the
        decision's tolerance anywhere on [0, 1]), ``tol``, ``sampled_min_delta`` (at ``alphas``, same examples),
        ``alphas`` (the grid's size), ``sampled_losses`` (the exact loss at the grid), ``witness`` (the α pair of the
        largest rise, or ``None``), ``witness_rise`` (the rise between them evaluated through the model itself),
        ``pieces_per_example``, ``breakpoints`` and ``seconds``.
    """
    import time

    from torch import nn

    from mlitheory.piecewise import Unsupported

    c = rec.config
    model = rec.build_model()
    if c.bn == "recompute" and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return {
            "supported": False,
            "reason": "batch norm with statistics re-estimated at every α (the run's measurement): the loss is not "
            "piecewise polynomial in α",
        }
    reconstruction = c.task == "reconstruction"
    loss = "mse" if reconstruction else "cross_entropy"
    t0 = time.perf_counter()
    try:
        pieces = mlitheory.piecewise_logit_path(model, start, end, x.to(torch.float64), device=device)
    except Unsupported as e:
        return {"supported": False, "reason": str(e).split(" is not supported")[0] + " has no exact rule"}
    data = (x, x.flatten(1).to(torch.float64) if reconstruction else y)
    d = mlitheory.decide_mli(model, start, end, data, loss=loss, pieces=pieces, device=device)
    alphas = np.asarray(alphas, dtype=np.float64)
    losses = d.loss(alphas)
    return {
        "supported": True,
        "n": len(x),
        "exact_min_delta": float(d.min_delta),
        "exact_min_delta_error": float(d.min_delta_error),
        "monotone": bool(d.monotone),
        "tol": float(d.tol),
        "sampled_min_delta": float(mlitheory.min_delta(losses, alphas)),
        "alphas": len(alphas),
        "sampled_losses": [float(v) for v in losses],
        "witness": None if d.witness is None else [float(d.witness[0]), float(d.witness[1])],
        "witness_rise": None if d.witness is None else float(d.witness[3] - d.witness[2]),
        "pieces_per_example": float(np.mean(pieces.n_pieces)),
        "breakpoints": int(d.n_breakpoints),
        "seconds": time.perf_counter() - t0,
    }


def exact_table(
    rep: Any,
    items: Sequence[tuple[str, dict[str, Any]]],
    delta_threshold: float,
    *,
    n: int = EXACT_EXAMPLES,
    name: str = "exact_vs_sampled",
    what: str = "runs",
) -> None:
    r"""Add to ``rep`` exact MLI verdicts beside the sampled ones: the table ``name`` and ``numbers[name]``.

    ``items``: ``(label, result of exact_mli / exact_line)`` per line. Per line: the exact $\min\Delta$ over the
    continuum and the one sampled at the line's α grid, both on the same first ``n`` examples, the verdict of each at
    the report's ``delta_threshold``, and whether the loss is monotone on the whole of [0, 1] (no rise above the
    decision's tolerance). The note counts the lines whose sampled verdict the exact one overturns, and those the
    exact tools do not cover, with the reason. ``what`` names the lines in the note.
    """
    from empirical.report import Table

    rows, results, skipped = [], {}, {}
    for label_, r in items:
        results[label_] = r
        if not r["supported"]:
            skipped[r["reason"]] = skipped.get(r["reason"], 0) + 1
            continue
        s_non = r["sampled_min_delta"] > delta_threshold
        e_non = r["exact_min_delta"] > delta_threshold
        rows.append(
            {
                "line": label_,
                "sampled": r["sampled_min_delta"],
                "exact": r["exact_min_delta"],
                "error": r["exact_min_delta_error"],
                "sampled_verdict": "non-monotone" if s_non else "monotone",
                "exact_verdict": "non-monotone" if e_non else "monotone",
                "continuum": "monotone" if r["monotone"] else "rises",
                "pieces": r["pieces_per_example"],
            }
        )
    if not rows and not skipped:
        return
    overturned = sum(r["sampled_verdict"] != r["exact_verdict"] for r in rows)
    hidden = sum(r["sampled"] == 0.0 and r["continuum"] == "rises" for r in rows)
    rep.numbers[name] = {
        "lines": len(rows),
        "examples": n,
        "delta_threshold": delta_threshold,
        "overturned": overturned,
        "sampled_monotone_but_rises": hidden,
        "exact_nonmonotone": sum(r["exact_verdict"] == "non-monotone" for r in rows),
        "sampled_nonmonotone": sum(r["sampled_verdict"] == "non-monotone" for r in rows),
        "not_covered": skipped,
        "seconds": float(sum(r["seconds"] for r in results.values() if r["supported"])),
        "per_line": results,
    }
    why = "; ".join(f"{count} {what}: {reason}" for reason, count in skipped.items())
    note = (
        f"{len(rows)} {what} decided exactly (mlitheory.decide_mli) on the first {n} examples of each line's "
        f"measuring set; the sampled min Δ is the same exact loss at the line's own α grid. At the threshold "
        f"{delta_threshold:g}, the exact verdict overturns the sampled one in {overturned} of {len(rows)} {what}; "
        f"{hidden} {what} whose samples never rise do rise somewhere on [0, 1] (by more than the decision's tolerance)."
        + (f" Not covered by the exact tools: {why}." if why else "")
    )
    rep.table(
        Table(
            name,
            "MLI decided on the continuum of α against the sampled verdict, same examples",
            ["line", "sampled", "exact", "error", "sampled_verdict", "exact_verdict", "continuum", "pieces"],
            rows,
            headers={
                "line": what[:-1] if what.endswith("s") else what,
                "sampled": "min Δ, sampled",
                "exact": "min Δ, exact",
                "error": "± (bound)",
                "sampled_verdict": f"sampled (> {delta_threshold:g})",
                "exact_verdict": f"exact (> {delta_threshold:g})",
                "continuum": "on all of [0, 1]",
                "pieces": "pieces / example",
            },
            note=note,
        )
    )
