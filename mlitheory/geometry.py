r"""Geometry of curves: Gauss length (total curvature), arc length, the cone condition.

For a curve $z:[a,b]\to\mathbb R^n$ with unit tangent $T = z'/\|z'\|$, the **Gauss length** is the
length of the tangent image on the unit sphere,

$$
G(z) = \int_a^b \|T'(\alpha)\|\,d\alpha, \qquad
\|T'\| = \frac{\sqrt{\|z'\|^2\|z''\|^2 - \langle z', z''\rangle^2}}{\|z'\|^2}
       = \frac{\|z'' - \langle z'', T\rangle T\|}{\|z'\|},
$$

i.e. the total curvature of the curve. Where the velocity vanishes and the curve reverses, the tangent jumps to
its antipode; on the sphere that adds $\pi$ (the total-variation definition of the reference). The
Gauss map goes to the sphere, not to projective space: Theorem 3 (Lucas et al. 2021) is false with the
projective length.

Derivatives come from nested `torch.func.jvp` (exact, no finite differences). The integral is computed by
a globally adaptive Simpson rule that refines where the tangent turns fast or the speed collapses; on each
panel the sum of spherical angles between the tangents at its nodes (a lower bound of the total variation)
is compared with the integral, so a reversal or a near-reversal spike that the integrand misses still forces
refinement and is counted.

References:
    Lucas, Bae, Zhang, Fort, Zemel, Grosse. *Analyzing Monotonic Linear Interpolation in Neural Network Loss
    Landscapes*, ICML 2021 (arXiv:2104.11044), §3 and Theorem 3.
    Milnor, *On the total curvature of knots*, Ann. Math. 52 (1950): inscribed polygons approximate the total
    curvature from below.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from mlitheory import _validate
from mlitheory._jets import nested_jvp
from mlitheory._quadrature import _INITIAL_PANELS, Derivatives, _AdaptiveSimpson, gauss_integrand
from mlitheory.results import Result
from mlitheory.sampled_gauss_length import SampledGaussLength, gauss_length_from_samples

__all__ = [
    "ArcLengthResult",
    "ConeConditionResult",
    "ConvergenceWarning",
    "GaussLengthResult",
    "SampledGaussLength",
    "arc_length",
    "cone_condition",
    "curve_derivatives",
    "gauss_integrand",
    "gauss_length",
    "gauss_length_from_derivatives",
    "gauss_length_from_samples",
    "tail_gauss_length",
]

Curve = Callable[[torch.Tensor], torch.Tensor]


class ConvergenceWarning(UserWarning):
    """The adaptive quadrature stopped before its error estimate reached the tolerance."""


# --------------------------------------------------------------------------------------------------------------
# derivatives and the integrand
# --------------------------------------------------------------------------------------------------------------


def curve_derivatives(curve: Curve, alpha: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(z, z', z'')`` of ``curve`` at ``alpha`` by nested forward-mode differentiation.

    Args:
        curve: maps a 0-dim float64 tensor α to a tensor of shape ``(n,)`` or ``(batch, n)``.
        alpha: the point, a float or 0-dim tensor.

    Returns:
        Three tensors of the curve's output shape: the value and the first and second derivatives in α.

    Raises:
        ValueError: if the output is not a 1-D or 2-D floating tensor, or holds NaN or inf (naming α).
    """
    _curve(curve)
    if isinstance(alpha, torch.Tensor) and alpha.numel() != 1:
        raise ValueError(f"alpha must be one point (a float or 0-dim tensor), got shape {tuple(alpha.shape)}")
    a = torch.tensor(_validate.real(alpha, "alpha"), dtype=torch.float64)
    z, dz, d2z = nested_jvp(curve, a)
    _check_output(z, a)
    for name, t in (("value", z), ("first derivative", dz), ("second derivative", d2z)):
        if not torch.isfinite(t).all():
            raise ValueError(
                f"the curve's {name} at alpha={a.item():.17g} is not finite (NaN or inf); "
                "check the curve for a division by zero or an overflow there"
            )
    return z, dz, d2z


def _curve(curve: object) -> None:
    if not callable(curve):
        raise TypeError(
            f"curve must be a callable mapping a 0-dim tensor alpha to a tensor, got {type(curve).__name__}"
        )


def _check_output(z: object, a: torch.Tensor) -> None:
    if not isinstance(z, torch.Tensor):
        raise ValueError(f"the curve must return a torch.Tensor, got {type(z).__name__} at alpha={a.item():.6g}")
    if z.ndim not in (1, 2) or z.shape[-1] == 0:
        raise ValueError(
            f"the curve must return shape (n,) or (batch, n) with n >= 1; got shape {tuple(z.shape)} at "
            f"alpha={a.item():.6g}. Flatten extra dimensions into n (e.g. z.reshape(batch, -1))."
        )
    if not torch.is_floating_point(z):
        raise ValueError(f"the curve must return a floating tensor, got dtype {z.dtype}")


# --------------------------------------------------------------------------------------------------------------
# the adaptive quadrature
# --------------------------------------------------------------------------------------------------------------


def _user_derivatives(curve: Curve) -> Derivatives:
    """z′ and z″ of a user curve at many α: one vectorised (vmap) nested jvp, or a loop if vmap cannot trace it."""
    state = {"vmap": True}

    def one(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, dz, d2z = nested_jvp(curve, t)
        return dz, d2z

    def deriv(alphas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if state["vmap"] and len(alphas) > 1:
            try:
                d1, d2 = torch.func.vmap(one)(alphas)
                return d1.reshape(len(alphas), -1, d1.shape[-1]), d2.reshape(len(alphas), -1, d2.shape[-1])
            except Exception:  # data-dependent control flow, in-place ops, .item(): evaluate one α at a time
                state["vmap"] = False
        d1, d2 = [], []
        for a in alphas:
            _, dz, d2z = curve_derivatives(curve, a)
            d1.append(dz.reshape(-1, dz.shape[-1]))
            d2.append(d2z.reshape(-1, d2z.shape[-1]))
        return torch.stack(d1), torch.stack(d2)

    return deriv


# --------------------------------------------------------------------------------------------------------------
# public results and functions
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GaussLengthResult(Result):
    """Gauss length of a curve on ``[a, b]`` by adaptive quadrature.

    Attributes:
        value: the Gauss length (radians); a float for a curve in ℝⁿ, a tensor ``(batch,)`` for a batch.
        error: estimated absolute error, same type as ``value``.
        evaluations: number of values of α at which the derivatives were evaluated.
        nodes: sorted panel boundaries, array ``(m,)`` including ``a`` and ``b``.
        cumulative: Gauss length on ``[a, nodes[k]]``, array ``(m,)`` or ``(m, batch)``.
        min_speed: smallest ``‖z′‖`` seen at the nodes (float or ``(batch,)``); 0 for a constant curve.
        converged: whether the error estimate reached ``tol`` within ``max_evaluations``.
        a: left end. b: right end. tol: requested tolerance.
    """

    value: float | torch.Tensor
    error: float | torch.Tensor
    evaluations: int
    nodes: np.ndarray
    cumulative: np.ndarray
    min_speed: float | torch.Tensor
    converged: bool
    a: float
    b: float
    tol: float

    def tail(self, alpha: float | np.ndarray) -> float | np.ndarray:
        """Gauss length on ``[alpha, b]`` (linear between nodes; exact to ``error`` at the nodes)."""
        total = self.cumulative[-1]
        alpha = np.asarray(alpha, dtype=np.float64)
        if self.cumulative.ndim == 1:
            return total - np.interp(alpha, self.nodes, self.cumulative)
        cols = [np.interp(alpha, self.nodes, self.cumulative[:, j]) for j in range(self.cumulative.shape[1])]
        return total - np.stack(cols, axis=-1)

    def summary(self) -> str:
        v = self.value if isinstance(self.value, float) else self.value.tolist()
        e = self.error if isinstance(self.error, float) else float(torch.as_tensor(self.error).max())
        return (
            f"GaussLengthResult on [{self.a:g}, {self.b:g}]: value={v}, error<={e:.2e}, "
            f"evaluations={self.evaluations}, converged={self.converged}"
        )


@dataclass(frozen=True)
class ArcLengthResult(Result):
    """Arc length of a curve on ``[a, b]``; fields as [`GaussLengthResult`][mlitheory.geometry.GaussLengthResult] (no
    ``min_speed``)."""

    value: float | torch.Tensor
    error: float | torch.Tensor
    evaluations: int
    nodes: np.ndarray
    cumulative: np.ndarray
    converged: bool
    a: float
    b: float
    tol: float

    def tail(self, alpha: float | np.ndarray) -> float | np.ndarray:
        """Arc length on ``[alpha, b]`` (linear between nodes)."""
        return GaussLengthResult.tail(self, alpha)  # type: ignore[arg-type]


def _check_interval(a: float, b: float, tol: float, max_evaluations: int) -> tuple[float, float]:
    a, b = _validate.real(a, "a", finite=False), _validate.real(b, "b", finite=False)
    if not (math.isfinite(a) and math.isfinite(b)) or not a < b:
        raise ValueError(f"need finite a < b, got a={a}, b={b}")
    tol = _validate.real(tol, "tol")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    max_evaluations = _validate.integer(max_evaluations, "max_evaluations")
    if max_evaluations < 5 * _INITIAL_PANELS:
        raise ValueError(f"max_evaluations must be at least {5 * _INITIAL_PANELS}, got {max_evaluations}")
    return a, b


def _squeeze(t: torch.Tensor, batched: bool) -> float | torch.Tensor:
    return t if batched else float(t[0])


def _shape_probe(curve: Curve, a: float) -> bool:
    with torch.no_grad():
        z = curve(torch.tensor(a, dtype=torch.float64))
    _check_output(z, torch.tensor(a))
    return z.ndim == 2


def gauss_length_from_derivatives(
    derivatives: Derivatives,
    a: float = 0.0,
    b: float = 1.0,
    *,
    tol: float = 1e-8,
    max_evaluations: int = 20000,
    batched: bool = True,
) -> GaussLengthResult:
    """Gauss length from a function that returns z′ and z″ at many α at once.

    Args:
        derivatives: ``derivatives(alphas)`` with ``alphas`` a float64 tensor ``(m,)`` returns ``(d1, d2)``, each
            of shape ``(m, batch, n)``: the first and second derivatives of ``batch`` curves in ℝⁿ.
        a, b: the interval.
        tol: absolute tolerance on the error estimate of every curve of the batch.
        max_evaluations: most values of α at which ``derivatives`` is asked.
        batched: return ``value`` as a tensor ``(batch,)`` (else a float, for ``batch == 1``).

    Returns:
        [`GaussLengthResult`][mlitheory.geometry.GaussLengthResult].
    """
    a, b = _check_interval(a, b, tol, max_evaluations)
    eng = _AdaptiveSimpson(derivatives, a, b, tangents=True)
    total, err, cum, nodes, min_speed, converged = eng.run(tol, max_evaluations)
    if not converged:
        warnings.warn(
            f"gauss_length: error estimate {float(err.max()):.2e} above tol={tol:g} after {len(eng.index)} "
            "evaluations; raise max_evaluations or tol",
            ConvergenceWarning,
            stacklevel=2,
        )
    cum_np = cum.numpy()
    return GaussLengthResult(
        value=_squeeze(total, batched),
        error=_squeeze(err, batched),
        evaluations=len(eng.index),
        nodes=nodes,
        cumulative=cum_np if batched else cum_np[:, 0],
        min_speed=_squeeze(min_speed, batched),
        converged=converged,
        a=a,
        b=b,
        tol=tol,
    )


def gauss_length(
    curve: Curve, a: float = 0.0, b: float = 1.0, *, tol: float = 1e-8, max_evaluations: int = 20000
) -> GaussLengthResult:
    r"""Gauss length (total curvature) of ``curve`` on ``[a, b]``.

    The tangent image is measured on the sphere: a reversal of direction (velocity through zero) adds
    $\pi$. A curve whose velocity vanishes everywhere (a constant curve) has no tangent; its Gauss length
    is reported as 0 with ``min_speed == 0``.

    Args:
        curve: maps a 0-dim float64 tensor α to a tensor of shape ``(n,)`` or ``(batch, n)``; it must be
            differentiable twice by `torch.func.jvp` (any composition of torch operations is).
        a, b: the interval, ``a < b``.
        tol: absolute tolerance on the quadrature error estimate (per curve of a batch).
        max_evaluations: most values of α at which derivatives are computed; if reached, a
            [`ConvergenceWarning`][mlitheory.geometry.ConvergenceWarning] is issued and ``converged`` is False.

    Returns:
        [`GaussLengthResult`][mlitheory.geometry.GaussLengthResult] with ``value`` a float (or a ``(batch,)`` tensor for
        a batch of curves).

    Examples:
        >>> import math, torch
        >>> arc = lambda t: torch.stack([torch.cos(math.pi * t), torch.sin(math.pi * t)])
        >>> round(gauss_length(arc).value, 8)
        3.14159265
    """
    _curve(curve)
    _check_interval(a, b, tol, max_evaluations)
    batched = _shape_probe(curve, float(a))
    return gauss_length_from_derivatives(
        _user_derivatives(curve), a, b, tol=tol, max_evaluations=max_evaluations, batched=batched
    )


def tail_gauss_length(curve: Curve, alpha: float, b: float = 1.0, *, tol: float = 1e-8) -> float | torch.Tensor:
    """Tail Gauss length $G_\\alpha$: the Gauss length of the curve restricted to ``[alpha, b]``."""
    return gauss_length(curve, alpha, b, tol=tol).value


def arc_length(
    curve: Curve, a: float = 0.0, b: float = 1.0, *, tol: float = 1e-10, max_evaluations: int = 20000
) -> ArcLengthResult:
    r"""Arc length $\int_a^b \|z'(\alpha)\|\,d\alpha$ by adaptive Simpson quadrature (exact ``jvp`` speed)."""
    _curve(curve)
    a, b = _check_interval(a, b, tol, max_evaluations)
    batched = _shape_probe(curve, a)
    eng = _AdaptiveSimpson(_user_derivatives(curve), a, b, tangents=False)
    total, err, cum, nodes, _, converged = eng.run(tol, max_evaluations)
    if not converged:
        warnings.warn(
            f"arc_length: error estimate {float(err.max()):.2e} above tol={tol:g}", ConvergenceWarning, stacklevel=2
        )
    cum_np = cum.numpy()
    return ArcLengthResult(
        value=_squeeze(total, batched),
        error=_squeeze(err, batched),
        evaluations=len(eng.index),
        nodes=nodes,
        cumulative=cum_np if batched else cum_np[:, 0],
        converged=converged,
        a=a,
        b=b,
        tol=tol,
    )


# --------------------------------------------------------------------------------------------------------------
# curves known only at samples
# --------------------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------------------
# the cone condition
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConeConditionResult(Result):
    """The cone condition ⟨z′(α), z′(s)⟩ ≥ 0 for all α < s, checked on a grid.

    Attributes:
        holds: whether the smallest cosine is ≥ ``-tol`` (bool, or ``(batch,)`` array).
        min_cosine: smallest cos∠(z′(α), z′(s)) over grid pairs (float or ``(batch,)``).
        worst_pair: the pair ``(α, s)`` attaining it (for the first curve of a batch).
        grid: the α grid used, ``(m,)``.
    """

    holds: bool | np.ndarray
    min_cosine: float | np.ndarray
    worst_pair: tuple
    grid: np.ndarray


def cone_condition(
    curve: Curve, a: float = 0.0, b: float = 1.0, *, points: int = 401, tol: float = 1e-12
) -> ConeConditionResult:
    r"""Check the cone condition $\langle z'(\alpha), z'(s)\rangle \ge 0$ for all $\alpha < s$.

    It is what the proof of Theorem 3 uses: Gauss length $< \pi/2$ implies it, and it implies that
    $\|z(\alpha) - z(b)\|^2$ is non-increasing. Checked on ``points`` equally spaced α (both ends exact).
    Zero velocities are skipped (they contribute nothing).
    """
    _curve(curve)
    a, b = _validate.real(a, "a"), _validate.real(b, "b")
    points = _validate.integer(points, "points")
    tol = _validate.real(tol, "tol", nonnegative=True)
    if not a < b or points < 2:
        raise ValueError(f"need a < b and points >= 2, got a={a}, b={b}, points={points}")
    grid = np.linspace(a, b, points)
    grid[0], grid[-1] = a, b
    batched = _shape_probe(curve, a)
    d1, _ = _user_derivatives(curve)(torch.tensor(grid))
    if not torch.isfinite(d1).all():
        i = int((~torch.isfinite(d1)).reshape(points, -1).any(-1).nonzero()[0])
        raise ValueError(f"the curve's first derivative at alpha={grid[i]:.17g} is not finite (NaN or inf)")
    v = d1.numpy()  # (m, batch, n)
    norms = np.linalg.norm(v, axis=-1)
    u = np.where(norms[..., None] > 0, v / np.where(norms > 0, norms, 1.0)[..., None], 0.0)
    cos = np.einsum("ibn,jbn->bij", u, u)
    upper = np.triu(np.ones((points, points), dtype=bool), k=1)
    cos = np.where(upper[None], cos, np.inf)
    flat = cos.reshape(cos.shape[0], -1)
    k = flat.argmin(axis=1)
    mins = flat[np.arange(flat.shape[0]), k]
    mins = np.where(np.isinf(mins), 1.0, mins)
    i, j = np.unravel_index(int(k[0]), (points, points))
    holds = mins >= -tol
    return ConeConditionResult(
        holds=holds if batched else bool(holds[0]),
        min_cosine=mins if batched else float(mins[0]),
        worst_pair=(float(grid[i]), float(grid[j])),
        grid=grid,
    )
