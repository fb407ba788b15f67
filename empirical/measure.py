r"""How a run is measured, by [`mlitheory`][mlitheory]: the loss curve, min Δ, the logit Gauss length, the weight
distance.

A run's measurements are [`mlitheory`][mlitheory] results from start to finish: the loss (accuracy, error) along
$\theta_\alpha = (1-\alpha)\theta_0 + \alpha\theta_T$ is a
[`mlitheory.InterpolationCurve`][mlitheory.interpolation.InterpolationCurve] from
[`mlitheory.interpolate`][mlitheory.interpolation.interpolate], the mean per-example logit Gauss length a
[`mlitheory.LogitGaussLength`][mlitheory.logit_geometry.LogitGaussLength] from
[`mlitheory.logit_gauss_length`][mlitheory.logit_geometry.logit_gauss_length] (adaptive quadrature, exact z′ and z″ by
Taylor mode, float64), and the distance one [`mlitheory.WeightDistance`][mlitheory.distance.WeightDistance].
[`summary`][empirical.measure.summary] turns them into the plain numbers of a run's ``metrics.json``.

$$
\min\Delta = \max_{i<j} (L_j - L_i)_+, \qquad
G = \frac1N \sum_{n=1}^N \int_0^1 \|T_n'(\alpha)\|\,d\alpha, \qquad
d = \|\theta_T - \theta_0\|_2 .
$$

References:
    Lucas et al. 2021, §3–4 (Δ-monotonicity, average logit Gauss length, weight distance).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

import mlitheory
from mlitheory.geometry import ConvergenceWarning

__all__ = ["batches", "curve_min_delta", "gauss_length", "loss_curve", "summary"]

State = Mapping[str, torch.Tensor]
Batches = Sequence[tuple[torch.Tensor, torch.Tensor]]


def batches(
    x: torch.Tensor, y: torch.Tensor, size: int, device: str | torch.device | None = None
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Split ``(x, y)`` into consecutive batches of at most ``size`` examples (moved to ``device`` when given)."""
    if size < 1:
        raise ValueError(f"batch size must be positive, got {size}")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}")
    dev = torch.device(device) if device is not None else None
    move = (lambda t: t.to(dev)) if dev is not None else (lambda t: t)
    return [(move(x[i : i + size]), move(y[i : i + size])) for i in range(0, len(x), size)]


def loss_curve(
    model: nn.Module,
    start: State,
    end: State,
    data: Batches,
    *,
    alphas: int | Sequence[float],
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    classification: bool,
    bn: str,
    bn_data: Any = None,
    device: str | torch.device | None = None,
) -> mlitheory.InterpolationCurve:
    """Loss along the straight line ``start → end`` (and accuracy and error for a classifier), by
    [`mlitheory.interpolate`][mlitheory.interpolation.interpolate] under the batch-norm policy ``bn`` (statistics
    re-estimated on ``bn_data``)."""
    metrics = ("loss", "accuracy", "error") if classification else ("loss",)
    return mlitheory.interpolate(
        model, start, end, data, alphas=alphas, loss=loss, metrics=metrics, bn=bn, bn_data=bn_data, device=device,
        progress=False,
    )  # fmt: skip


def curve_min_delta(curve: mlitheory.InterpolationCurve, metric: str = "loss") -> float:
    """min Δ of ``metric`` on α ∈ [0, 1]; ``inf`` when it is not finite somewhere (no finite Δ bounds the rise)."""
    if not curve.finite.all():
        return math.inf
    return curve.min_delta(metric)


def gauss_length(
    model: nn.Module,
    start: State,
    end: State,
    inputs: torch.Tensor,
    *,
    bn: str,
    bn_data: Any = None,
    frozen_statistics: bool = False,
    tol: float = 1e-5,
    max_evaluations: int = 1000,
    device: str | torch.device | None = None,
) -> mlitheory.LogitGaussLength:
    """Mean per-example Gauss length of the logit path, by
    [`mlitheory.logit_gauss_length`][mlitheory.logit_geometry.logit_gauss_length] in float64.

    This is the papers' quantity: the integral of ‖T′‖ from the derivatives z′, z″ (``method="taylor"``, asked for
    explicitly), not the exact total curvature with the corners of a ReLU path that ``method="auto"`` returns for
    a supported network (that one is measured by `empirical.exact_study` and
    [`mlitheory.exact_gauss_length`][mlitheory.piecewise.gauss.exact_gauss_length]). Keeping the method fixed also
    keeps a run measured today equal to the runs behind the committed reports.

    The adaptive quadrature stops at absolute error ``tol`` per example or after ``max_evaluations`` values of α;
    ``converged`` in the result says which (a ReLU network's logit path has kinks, where it may not converge, and
    so may ``frozen_statistics=True``, the authors' convention of holding re-estimated batch-norm statistics
    constant while differentiating). Non-convergence is reported in the result, not as a warning. float64
    because in float32 the quadrature's round-off floor sits near 1e-5 and a tight ``tol`` is never reached.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return mlitheory.logit_gauss_length(
            model, start, end, inputs, bn=bn, bn_data=bn_data, frozen_statistics=frozen_statistics,
            concatenated=False, tol=tol, max_evaluations=max_evaluations, device=device, dtype=torch.float64,
            method="taylor",
        )  # fmt: skip


def summary(
    curve: mlitheory.InterpolationCurve,
    distance: mlitheory.WeightDistance,
    gauss: mlitheory.LogitGaussLength | None = None,
) -> dict[str, Any]:
    """The plain numbers of a run's ``metrics.json`` ``measures`` from its mlitheory results."""
    loss = curve["loss"]
    d = curve_min_delta(curve)
    return {
        "min_delta": d,
        "monotone": d == 0.0,
        "curve_loss_init": float(loss[0]),
        "curve_loss_final": float(loss[-1]),
        "curve_max_loss": float(max(loss)),
        "curve_accuracy_final": float(curve["accuracy"][-1]) if "accuracy" in curve.values else math.nan,
        "gauss_length": math.nan if gauss is None else float(gauss.mean),
        "gauss_converged": False if gauss is None else bool(gauss.converged),
        "gauss_evaluations": 0 if gauss is None else int(gauss.evaluations),
        "distance": distance.distance,
        "norm_distance": distance.relative_to_start,
        "norm_distance_end": distance.relative_to_end,
    }
