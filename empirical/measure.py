"""The one place where runs measure interpolation: the loss curve, min Δ, logit Gauss length, weight distance.

Every measurement of a run goes through the four functions here, so the engine behind them can change in one
place. When :mod:`mlitheory` provides ``interpolate``, ``logit_gauss_length``, ``weight_distance`` and
``monotonicity.min_delta`` they are used. Otherwise a small internal fallback (``_fallback_*``) does the same
measurement directly: ``torch.func.functional_call`` on a private copy of the model along
:math:`\\theta_\\alpha = (1-\\alpha)\\theta_0 + \\alpha\\theta_T`, batch-norm statistics re-estimated at each α
with an exact cumulative average, and the Gauss length of each example's logit path taken from the turning
angles of the sampled polygon.

.. math::
    \\min\\Delta = \\max_{i<j} (L_j - L_i)_+, \\qquad
    G = \\frac1N \\sum_{n=1}^N \\int_0^1 \\|T_n'(\\alpha)\\|\\,d\\alpha, \\qquad
    d = \\|\\theta_T - \\theta_0\\|_2 .

References:
    Lucas et al. 2021, §3–4 (Δ-monotonicity, average logit Gauss length, weight distance).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

__all__ = [
    "Curve",
    "GaussLength",
    "batches",
    "curve_min_delta",
    "interpolation_curve",
    "logit_gauss_length",
    "min_delta",
    "uses_mlitheory",
    "weight_distance",
]

State = Mapping[str, torch.Tensor]
Batches = Sequence[tuple[torch.Tensor, torch.Tensor]]


@dataclasses.dataclass(frozen=True)
class Curve:
    """A loss curve along the linear path.

    Attributes:
        alphas: α grid ``(m,)``.
        values: metric name → values ``(m,)`` (``"loss"`` always, ``"accuracy"`` for classifiers).
        min_delta: :math:`\\max_{i<j}(L_j-L_i)_+` of the loss.
        engine: ``"mlitheory"`` or ``"fallback"``.
    """

    alphas: np.ndarray
    values: dict[str, np.ndarray]
    min_delta: float
    engine: str

    @property
    def is_monotone(self) -> bool:
        return self.min_delta == 0.0

    def to_json(self) -> dict:
        return {
            "alphas": [float(a) for a in self.alphas],
            **{k: [float(v) for v in vals] for k, vals in self.values.items()},
            "min_delta": self.min_delta,
            "engine": self.engine,
        }


class GaussLength(NamedTuple):
    """Mean per-example logit Gauss length (radians), whether the quadrature converged to its tolerance (always
    ``False`` for the fallback's polygon estimate), the values of α used, and the engine."""

    value: float
    converged: bool
    evaluations: int
    engine: str


def _lib(name: str):
    """``mlitheory.<name>`` when the interpolation engine provides it, else ``None``."""
    import mlitheory

    if name == "min_delta":
        try:
            from mlitheory.monotonicity import min_delta as fn
        except ImportError:
            return None
        return fn
    return getattr(mlitheory, name, None)


def uses_mlitheory() -> dict[str, bool]:
    """Which measurements use :mod:`mlitheory` (``True``) rather than the internal fallback."""
    return {n: _lib(n) is not None for n in ("interpolate", "logit_gauss_length", "weight_distance", "min_delta")}


def _call(fn: Callable, *args, **kwargs):
    """Call ``fn`` with the keyword arguments its signature accepts (``None`` values dropped)."""
    params = inspect.signature(fn).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    return fn(*args, **{k: v for k, v in kwargs.items() if v is not None})


def _grid(alphas: int | Sequence[float]) -> np.ndarray:
    if isinstance(alphas, (int, np.integer)):
        if alphas < 2:
            raise ValueError(f"alphas={alphas}; use at least 2 points (both endpoints are included)")
        return np.linspace(0.0, 1.0, int(alphas))
    return np.asarray(alphas, dtype=np.float64)


def min_delta(losses: Sequence[float]) -> float:
    """:math:`\\max_{i<j}(L_j-L_i)_+`: the smallest Δ for which the curve is Δ-monotone (0 if monotone)."""
    fn = _lib("min_delta")
    if fn is not None:
        return float(fn(np.asarray(losses, dtype=np.float64)))
    losses = np.asarray(losses, dtype=np.float64)
    if not np.all(np.isfinite(losses)):
        bad = np.flatnonzero(~np.isfinite(losses))
        raise ValueError(f"min_delta: the loss curve has non-finite values at indices {bad.tolist()}")
    return float(np.max(losses - np.minimum.accumulate(losses), initial=0.0))


def curve_min_delta(losses: Sequence[float]) -> float:
    """min Δ of a measured curve; ``inf`` when the loss is not finite somewhere (no finite Δ bounds the rise)."""
    losses = np.asarray(losses, dtype=np.float64)
    return min_delta(losses) if np.all(np.isfinite(losses)) else math.inf


def weight_distance(start: State, end: State, *, normalize: str | None = None) -> float:
    """ℓ2 distance between two states over parameters (batch-norm running statistics and counters excluded).

    Args:
        start: state dict at the start (θ₀).
        end: state dict at the end (θ_T), same keys.
        normalize: ``None``, ``"start"`` (divide by ‖θ₀‖) or ``"end"`` (divide by ‖θ_T‖).
    """
    fn = _lib("weight_distance")
    if fn is not None:
        out = fn(start, end, normalize=normalize)
        return float(getattr(out, "value", out))
    if normalize not in (None, "start", "end"):
        raise ValueError(f"normalize={normalize!r}; use None, 'start' or 'end'")
    d2 = n0 = n1 = 0.0
    for k, a in start.items():
        if not a.is_floating_point() or "running_" in k or "num_batches" in k:
            continue
        a, b = a.detach().double(), end[k].detach().to(a.device).double()
        d2 += float(((b - a) ** 2).sum())
        n0 += float((a**2).sum())
        n1 += float((b**2).sum())
    d = math.sqrt(d2)
    norm = {None: 1.0, "start": math.sqrt(n0), "end": math.sqrt(n1)}[normalize]
    return d / norm if norm > 0 else math.inf


def interpolation_curve(
    model: nn.Module,
    start: State,
    end: State,
    data: Batches,
    *,
    alphas: int | Sequence[float] = 50,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    metrics: Sequence[str] = ("loss", "accuracy"),
    bn: str = "recompute",
    bn_data: Batches | None = None,
    device: str | torch.device | None = None,
) -> Curve:
    """Loss (and accuracy) at each α of the linear path from ``start`` to ``end``, and its min Δ.

    Args:
        model: architecture to evaluate (not modified).
        start, end: state dicts θ₀ and θ_T.
        data: list of ``(inputs, targets)`` batches; means are weighted by batch size.
        alphas: number of uniform points on [0, 1] (endpoints exact) or an explicit grid.
        loss: ``loss(outputs, targets)``, a mean over the batch.
        metrics: ``"loss"`` and optionally ``"accuracy"`` (argmax of the outputs equals the target).
        bn: batch-norm policy: ``"recompute"`` (statistics re-estimated at every α on ``bn_data``) or
            ``"interpolate"`` (running statistics interpolated like the weights).
        bn_data: batches for the recomputation (default ``data``).
        device: where to evaluate (default: the model's device).

    Returns:
        A :class:`Curve`.
    """
    grid = _grid(alphas)
    fn = _lib("interpolate")
    if fn is not None:
        curve = _call(
            fn, model, start, end, data, alphas=grid, loss=loss, metrics=tuple(metrics), bn=bn, bn_data=bn_data,
            device=device, progress=False,
        )  # fmt: skip
        return _from_engine_curve(curve, metrics)
    values = _fallback_curve(model, start, end, data, grid, loss, metrics, bn, bn_data, device)
    return Curve(grid, values, curve_min_delta(values["loss"]), "fallback")


def logit_gauss_length(
    model: nn.Module,
    start: State,
    end: State,
    inputs: torch.Tensor,
    *,
    alphas: int | Sequence[float] = 50,
    bn: str = "recompute",
    bn_data: Batches | None = None,
    device: str | torch.device | None = None,
    tol: float = 1e-5,
    max_evaluations: int = 1000,
    dtype: torch.dtype | None = torch.float64,
) -> GaussLength:
    """Mean over examples of the Gauss length of each logit path :math:`\\alpha \\mapsto f(x_n;\\theta_\\alpha)`.

    With :mod:`mlitheory` this is its adaptive quadrature with exact derivatives, to absolute error ``tol`` per
    example within ``max_evaluations`` values of α (``converged`` says whether it got there; a ReLU network's
    logit path has kinks, where it may not); the fallback sums the turning angles of the polygon through the
    logits at ``alphas`` (a lower bound that converges as the grid refines). Computed in ``dtype`` (float64 by
    default: in float32 the quadrature's round-off floor sits near 1e-5 and a tight ``tol`` is never reached).
    """
    fn = _lib("logit_gauss_length")
    if fn is not None:
        from mlitheory.geometry import ConvergenceWarning

        with warnings.catch_warnings():  # non-convergence is reported in the result, not as a warning
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = _call(
                fn, model, start, end, inputs, bn=bn, bn_data=bn_data, device=device, concatenated=False, tol=tol,
                max_evaluations=max_evaluations, dtype=dtype, progress=False,
            )  # fmt: skip
        return GaussLength(float(res.mean), bool(res.converged), int(res.evaluations), "mlitheory")
    grid = _grid(alphas)
    value = _fallback_gauss_length(model, start, end, inputs, grid, bn, bn_data, device, dtype)
    return GaussLength(value, False, len(grid), "fallback")


# ---------------------------------------------------------------------------------------------- engine results


def _from_engine_curve(curve, metrics: Sequence[str]) -> Curve:
    """Our :class:`Curve` from a :class:`mlitheory.InterpolationCurve` (``alphas`` and a ``values`` dict)."""
    try:
        values = {m: np.asarray(curve.values[m], dtype=np.float64) for m in metrics}
        grid = np.asarray(curve.alphas, dtype=np.float64)
    except (AttributeError, KeyError) as e:
        raise TypeError(
            f"mlitheory.interpolate returned a {type(curve).__name__} without alphas or values[{e}]; "
            "update empirical.measure._from_engine_curve to its fields"
        ) from e
    return Curve(grid, values, curve_min_delta(values["loss"]), "mlitheory")


# ---------------------------------------------------------------------------------------------- fallback


def _bn_modules(model: nn.Module) -> dict[str, nn.modules.batchnorm._BatchNorm]:
    return {n: m for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}


class _Path:
    """θ_α on a private copy of ``model``: ``functional_call`` with fresh BN statistics when asked."""

    def __init__(self, model, start, end, bn, bn_data, device, dtype=None):
        if bn not in ("recompute", "interpolate"):
            raise ValueError(f"bn={bn!r}: the internal interpolation supports 'recompute' and 'interpolate'")
        if device is None:
            device = next((p.device for p in model.parameters()), torch.device("cpu"))
        missing = sorted(set(start) ^ set(end))
        if missing:
            raise ValueError(f"start and end states differ in keys: {missing[:5]}")
        self.device = torch.device(device)
        self.work = copy.deepcopy(model).to(self.device)
        self.dtype = dtype
        if dtype is not None:
            self.work.to(dtype)
            start = {k: v.to(dtype) if v.is_floating_point() else v for k, v in start.items()}
            end = {k: v.to(dtype) if v.is_floating_point() else v for k, v in end.items()}
        self.bns = _bn_modules(self.work)
        for m in self.bns.values():
            m.momentum = None  # exact cumulative average
        self.start = {k: v.detach().to(self.device) for k, v in start.items()}
        self.end = {k: v.detach().to(self.device) for k, v in end.items()}
        self.recompute = bn == "recompute" and bool(self.bns)
        self.bn_data = bn_data

    def state(self, alpha: float, data: Batches) -> dict[str, torch.Tensor]:
        st = {
            k: torch.lerp(a, self.end[k], alpha) if a.is_floating_point() else self.end[k].clone()
            for k, a in self.start.items()
        }
        if self.recompute:
            for name in self.bns:
                pre = f"{name}." if name else ""
                st[pre + "running_mean"].zero_()
                st[pre + "running_var"].fill_(1.0)
                st[pre + "num_batches_tracked"].zero_()
            self.work.train()
            with torch.no_grad():
                for x, _ in self.bn_data if self.bn_data is not None else data:
                    self(st, x)
        self.work.eval()
        return st

    def __call__(self, st, x):
        x = x.to(self.device)
        if self.dtype is not None and x.is_floating_point():
            x = x.to(self.dtype)
        return torch.func.functional_call(self.work, st, (x,))


def _fallback_curve(model, start, end, data, grid, loss_fn, metrics, bn, bn_data, device) -> dict[str, np.ndarray]:
    unknown = sorted(set(metrics) - {"loss", "accuracy"})
    if unknown or "loss" not in metrics:
        raise ValueError(f"metrics={tuple(metrics)}; the internal interpolation computes 'loss' and 'accuracy'")
    data = list(data)
    if not data:
        raise ValueError("interpolation_curve: data holds no batches")
    path = _Path(model, start, end, bn, bn_data, device)
    out = {m: np.empty(len(grid)) for m in metrics}
    with torch.no_grad():
        for i, a in enumerate(grid):
            st = path.state(float(a), data)
            tot = {m: 0.0 for m in metrics}
            n = 0
            for x, y in data:
                y = y.to(path.device)
                z = path(st, x)
                tot["loss"] += float(loss_fn(z, y)) * len(y)
                if "accuracy" in metrics:
                    tot["accuracy"] += float((z.argmax(-1) == y).sum())
                n += len(y)
            for m in metrics:
                out[m][i] = tot[m] / n
    return out


def _fallback_gauss_length(model, start, end, inputs, grid, bn, bn_data, device, dtype) -> float:
    path = _Path(model, start, end, bn, bn_data, device, dtype)
    data = [(inputs, inputs)]
    with torch.no_grad():
        z = torch.stack([path(path.state(float(a), data), inputs).flatten(1).double() for a in grid])  # (m, N, K)
    seg = z.diff(dim=0)  # (m-1, N, K)
    norms = seg.norm(dim=-1)
    ok = (norms[1:] > 0) & (norms[:-1] > 0)
    cos = (seg[1:] * seg[:-1]).sum(-1) / (norms[1:] * norms[:-1]).clamp_min(torch.finfo(torch.float64).tiny)
    turn = torch.where(ok, torch.arccos(cos.clamp(-1.0, 1.0)), torch.zeros_like(cos))
    return float(turn.sum(0).mean())


def batches(x: torch.Tensor, y: torch.Tensor, size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Split ``(x, y)`` into consecutive batches of at most ``size`` examples."""
    return [(x[i : i + size], y[i : i + size]) for i in range(0, len(x), size)]
