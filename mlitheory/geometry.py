r"""Geometry of curves: Gauss length (total curvature), arc length, the cone condition.

For a curve :math:`z:[a,b]\to\mathbb R^n` with unit tangent :math:`T = z'/\|z'\|`, the **Gauss length** is the
length of the tangent image on the unit sphere,

.. math::

    G(z) = \int_a^b \|T'(\alpha)\|\,d\alpha, \qquad
    \|T'\| = \frac{\sqrt{\|z'\|^2\|z''\|^2 - \langle z', z''\rangle^2}}{\|z'\|^2}
           = \frac{\|z'' - \langle z'', T\rangle T\|}{\|z'\|},

i.e. the total curvature of the curve. Where the velocity vanishes and the curve reverses, the tangent jumps to
its antipode; on the sphere that adds :math:`\pi` (the total-variation definition of the reference). The
Gauss map goes to the sphere, not to projective space: Theorem 3 (Lucas et al. 2021) is false with the
projective length.

Derivatives come from nested :func:`torch.func.jvp` (exact, no finite differences). The integral is computed by
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

import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from mlitheory._results import Result

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
Derivatives = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

_INITIAL_PANELS = 16
_MIN_WIDTH = 1e-12  # relative to b - a: panels are not split below this width
_ZERO_SPEED = 1e-13  # speed below this fraction of the curve's scale counts as zero velocity


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
    a = torch.as_tensor(alpha, dtype=torch.float64).detach().reshape(())
    one = torch.ones_like(a)

    def first(t):
        return torch.func.jvp(curve, (t,), (one,))

    (z, dz), (_, d2z) = torch.func.jvp(first, (a,), (one,))
    _check_output(z, a)
    for name, t in (("value", z), ("first derivative", dz), ("second derivative", d2z)):
        if not torch.isfinite(t).all():
            raise ValueError(
                f"the curve's {name} at alpha={a.item():.17g} is not finite (NaN or inf); "
                "check the curve for a division by zero or an overflow there"
            )
    return z, dz, d2z


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


def gauss_integrand(dz: torch.Tensor, d2z: torch.Tensor) -> torch.Tensor:
    r"""The Gauss-length integrand :math:`\|T'\| = \|z'' - \langle z'',T\rangle T\| / \|z'\|` over the last dim.

    Computed through the component of :math:`z''` orthogonal to the tangent (no cancellation of
    :math:`\|z'\|^2\|z''\|^2 - \langle z',z''\rangle^2`). Where :math:`z' = 0` the integrand is undefined
    and 0 is returned; a reversal there is accounted for separately as a jump of the tangent.

    Args:
        dz: first derivatives, shape ``(..., n)``.
        d2z: second derivatives, same shape.

    Returns:
        Tensor of shape ``(...)``.
    """
    if dz.shape != d2z.shape:
        raise ValueError(f"dz and d2z must have the same shape, got {tuple(dz.shape)} and {tuple(d2z.shape)}")
    speed = torch.linalg.vector_norm(dz, dim=-1)
    safe = torch.where(speed > 0, speed, torch.ones_like(speed))
    t = dz / safe.unsqueeze(-1)
    perp = d2z - (d2z * t).sum(-1, keepdim=True) * t
    out = torch.linalg.vector_norm(perp, dim=-1) / safe
    return torch.where(speed > 0, out, torch.zeros_like(out))


def _angle(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Spherical distance between unit vectors over the last dim, accurate near 0 and π."""
    return 2.0 * torch.atan2(torch.linalg.vector_norm(u - v, dim=-1), torch.linalg.vector_norm(u + v, dim=-1))


# --------------------------------------------------------------------------------------------------------------
# the adaptive engine
# --------------------------------------------------------------------------------------------------------------


@dataclass
class _Nodes:
    """Per-node data: integrand f (batch,), speed (batch,), left/right unit tangents (batch, n) + validity."""

    alpha: list
    f: list
    speed: list
    tl: list
    tr: list
    vl: list
    vr: list


def _user_derivatives(curve: Curve) -> Derivatives:
    """z′ and z″ of a user curve at many α: one vectorised (vmap) nested jvp, or a loop if vmap cannot trace it."""
    state = {"vmap": True}

    def one(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        unit = torch.ones_like(t)
        (_, dz), (_, d2z) = torch.func.jvp(lambda s: torch.func.jvp(curve, (s,), (unit,)), (t,), (unit,))
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


class _Engine:
    """Globally adaptive Simpson quadrature on panels of 5 equally spaced nodes.

    With ``tangents=True`` the integrand is the Gauss integrand and the polygon of tangent angles guards
    against missed turns; with ``tangents=False`` the integrand is the speed (arc length).
    """

    def __init__(self, derivatives: Derivatives, a: float, b: float, *, tangents: bool):
        self.derivatives = derivatives
        self.a, self.b = a, b
        self.tangents = tangents
        self.nodes = _Nodes([], [], [], [], [], [], [])
        self.index: dict[float, int] = {}
        self.scale: torch.Tensor | None = None
        self.batch: int | None = None
        self.n: int | None = None

    def evaluate(self, alphas: list[float]) -> None:
        new = sorted({x for x in alphas if x not in self.index})
        if not new:
            return
        at = torch.tensor(new, dtype=torch.float64)
        d1, d2 = self.derivatives(at)
        if d1.ndim != 3 or d1.shape != d2.shape or d1.shape[0] != len(new):
            raise ValueError(
                f"derivatives must return two tensors of shape (m, batch, n) with m={len(new)}; "
                f"got {tuple(d1.shape)} and {tuple(d2.shape)}"
            )
        d1, d2 = d1.detach().to(torch.float64), d2.detach().to(torch.float64)
        if self.batch is None:
            self.batch, self.n = d1.shape[1], d1.shape[2]
        elif d1.shape[1:] != (self.batch, self.n):
            raise ValueError(
                f"the curve's output shape changed between evaluations: (batch, n) was {(self.batch, self.n)}, "
                f"now {tuple(d1.shape[1:])} near alpha={new[0]:.6g}"
            )
        bad = ~(torch.isfinite(d1).all(-1) & torch.isfinite(d2).all(-1)).all(-1)
        if bad.any():
            i = int(bad.nonzero()[0])
            raise ValueError(f"the curve's derivatives at alpha={new[i]:.17g} are not finite (NaN or inf)")
        speed = torch.linalg.vector_norm(d1, dim=-1)
        acc = torch.linalg.vector_norm(d2, dim=-1)
        if self.scale is None:
            self.scale = (speed + acc * (self.b - self.a)).amax(0)
        zero = speed <= _ZERO_SPEED * self.scale
        if self.tangents:
            f = torch.where(zero, torch.zeros_like(speed), gauss_integrand(d1, d2))
            safe_s = torch.where(speed > 0, speed, torch.ones_like(speed)).unsqueeze(-1)
            safe_a = torch.where(acc > 0, acc, torch.ones_like(acc)).unsqueeze(-1)
            t = d1 / safe_s
            # At a zero of the velocity, z'(α ± h) ≈ ±h z''(α): one-sided tangents ∓z''/|z''|.
            tacc = d2 / safe_a
            zero3 = zero.unsqueeze(-1)
            tr = torch.where(zero3, tacc, t)
            tl = torch.where(zero3, -tacc, t)
            valid = ~zero | (acc > _ZERO_SPEED * self.scale)
        else:
            f = speed
            tl = tr = torch.zeros(len(new), self.batch, 0, dtype=torch.float64)
            valid = torch.ones_like(zero)
        for i, x in enumerate(new):
            self.index[x] = len(self.nodes.alpha)
            self.nodes.alpha.append(x)
            self.nodes.f.append(f[i])
            self.nodes.speed.append(speed[i])
            self.nodes.tl.append(tl[i])
            self.nodes.tr.append(tr[i])
            self.nodes.vl.append(valid[i])
            self.nodes.vr.append(valid[i])

    # ---- polygon of tangents over ordered node indices: T_r(first), (T_l, T_r) of interior nodes, T_l(last)
    def polygon(self, idx: list[int]) -> torch.Tensor:
        nd = self.nodes
        total = torch.zeros(self.batch, dtype=torch.float64)
        if not self.tangents:
            return total
        seq = [(nd.tr[idx[0]], nd.vr[idx[0]])]
        for i in idx[1:-1]:
            seq += [(nd.tl[i], nd.vl[i]), (nd.tr[i], nd.vr[i])]
        seq.append((nd.tl[idx[-1]], nd.vl[idx[-1]]))
        # Undefined tangents (velocity and acceleration both zero) are skipped: the last defined tangent is
        # carried forward, so a reversal across a stationary stretch is still counted.
        last, last_valid = seq[0]
        for t, v in seq[1:]:
            ok = v & last_valid
            total = total + torch.where(ok, _angle(last, t), torch.zeros_like(total))
            last = torch.where(v.unsqueeze(-1), t, last)
            last_valid = last_valid | v
        return total

    def jump(self, i: int) -> torch.Tensor:
        nd = self.nodes
        if not self.tangents:
            return torch.zeros(self.batch, dtype=torch.float64)
        ok = nd.vl[i] & nd.vr[i]
        return torch.where(ok, _angle(nd.tl[i], nd.tr[i]), torch.zeros(self.batch, dtype=torch.float64))

    def panel(self, lo: float, hi: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(value, error) of one panel, each shape (batch,)."""
        xs = [lo + (hi - lo) * k / 4 for k in range(5)]
        xs[0], xs[4] = lo, hi
        idx = [self.index[x] for x in xs]
        f = [self.nodes.f[i] for i in idx]
        h = hi - lo
        s1 = h / 6 * (f[0] + 4 * f[2] + f[4])
        s2 = h / 12 * (f[0] + 4 * f[1] + 2 * f[2] + 4 * f[3] + f[4])
        if not self.tangents:
            return s2 + (s2 - s1) / 15, (s2 - s1).abs() / 15
        j2 = self.jump(idx[1]) + self.jump(idx[2]) + self.jump(idx[3])
        j1 = self.jump(idx[2])
        p2 = self.polygon(idx)
        p1 = self.polygon([idx[0], idx[2], idx[4]])
        smooth = (s2 + j2 >= p2) & (s1 + j1 >= p1)
        v2 = torch.maximum(s2 + j2, p2)
        v1 = torch.maximum(s1 + j1, p1)
        value = torch.where(smooth, s2 + j2 + (s2 - s1) / 15, v2)
        error = torch.where(smooth, (s2 - s1).abs() / 15, (v2 - v1).abs())
        return value, error

    @staticmethod
    def points(lo: float, hi: float) -> list[float]:
        xs = [lo + (hi - lo) * k / 4 for k in range(5)]
        xs[0], xs[4] = lo, hi
        return xs

    def run(self, tol: float, max_evaluations: int):
        a, b = self.a, self.b
        edges = [a + (b - a) * k / _INITIAL_PANELS for k in range(_INITIAL_PANELS + 1)]
        edges[0], edges[-1] = a, b
        panels = list(itertools.pairwise(edges))
        self.evaluate([x for lo, hi in panels for x in self.points(lo, hi)])
        est = {p: self.panel(*p) for p in panels}
        min_width = _MIN_WIDTH * (b - a)
        converged = True
        while True:
            total_err = torch.stack([e for _, e in est.values()]).sum(0)
            if float(total_err.max()) <= tol:
                break
            width_total = b - a
            split = [
                p
                for p, (_, e) in est.items()
                if float(e.max()) > tol * (p[1] - p[0]) / width_total and (p[1] - p[0]) > min_width
            ]
            if not split:
                worst = max(
                    (p for p in est if p[1] - p[0] > min_width), key=lambda p: float(est[p][1].max()), default=None
                )
                if worst is None:
                    converged = False
                    break
                split = [worst]
            new_points = []
            for lo, hi in split:
                mid = lo + (hi - lo) / 2
                new_points += self.points(lo, mid) + self.points(mid, hi)
            if len(self.index) + len(set(new_points) - set(self.index)) > max_evaluations:
                converged = False
                break
            self.evaluate(new_points)
            for lo, hi in split:
                mid = lo + (hi - lo) / 2
                del est[(lo, hi)]
                est[(lo, mid)] = self.panel(lo, mid)
                est[(mid, hi)] = self.panel(mid, hi)
        order = sorted(est)
        nodes = np.array([order[0][0]] + [p[1] for p in order])
        values = torch.stack([est[p][0] for p in order])  # (panels, batch)
        errors = torch.stack([est[p][1] for p in order]).sum(0)
        boundary = [self.index[x] for x in nodes[1:-1]]
        jumps = torch.stack([self.jump(i) for i in boundary]) if boundary else torch.zeros(0, self.batch)
        # cumulative[k] = length on [a, nodes[k]]; a jump at an interior boundary node counts from that node on.
        steps = values.clone()
        if boundary:
            steps[:-1] += jumps
        cumulative = torch.cat([torch.zeros(1, self.batch, dtype=torch.float64), torch.cumsum(steps, 0)])
        total = cumulative[-1]
        if self.tangents:
            # Guard: the polygon through every node is a lower bound of the total variation.
            all_idx = sorted(range(len(self.nodes.alpha)), key=lambda i: self.nodes.alpha[i])
            poly = self.polygon(all_idx)
            total = torch.maximum(total, poly)
        min_speed = torch.stack(self.nodes.speed).amin(0)
        return total, errors, cumulative, nodes, min_speed, converged


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
    """Arc length of a curve on ``[a, b]``; fields as :class:`GaussLengthResult` (no ``min_speed``)."""

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
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b)) or not a < b:
        raise ValueError(f"need finite a < b, got a={a}, b={b}")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
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
        :class:`GaussLengthResult`.
    """
    a, b = _check_interval(a, b, tol, max_evaluations)
    eng = _Engine(derivatives, a, b, tangents=True)
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
    :math:`\pi`. A curve whose velocity vanishes everywhere (a constant curve) has no tangent; its Gauss length
    is reported as 0 with ``min_speed == 0``.

    Args:
        curve: maps a 0-dim float64 tensor α to a tensor of shape ``(n,)`` or ``(batch, n)``; it must be
            differentiable twice by :func:`torch.func.jvp` (any composition of torch operations is).
        a, b: the interval, ``a < b``.
        tol: absolute tolerance on the quadrature error estimate (per curve of a batch).
        max_evaluations: most values of α at which derivatives are computed; if reached, a
            :class:`ConvergenceWarning` is issued and ``converged`` is False.

    Returns:
        :class:`GaussLengthResult` with ``value`` a float (or a ``(batch,)`` tensor for a batch of curves).

    Example:
        >>> import math, torch
        >>> arc = lambda t: torch.stack([torch.cos(math.pi * t), torch.sin(math.pi * t)])
        >>> round(gauss_length(arc).value, 8)
        3.14159265
    """
    batched = _shape_probe(curve, float(a))
    return gauss_length_from_derivatives(
        _user_derivatives(curve), a, b, tol=tol, max_evaluations=max_evaluations, batched=batched
    )


def tail_gauss_length(curve: Curve, alpha: float, b: float = 1.0, *, tol: float = 1e-8) -> float | torch.Tensor:
    """Tail Gauss length :math:`G_\\alpha`: the Gauss length of the curve restricted to ``[alpha, b]``."""
    return gauss_length(curve, alpha, b, tol=tol).value


def arc_length(
    curve: Curve, a: float = 0.0, b: float = 1.0, *, tol: float = 1e-10, max_evaluations: int = 20000
) -> ArcLengthResult:
    r"""Arc length :math:`\int_a^b \|z'(\alpha)\|\,d\alpha` by adaptive Simpson quadrature (exact ``jvp`` speed)."""
    a, b = _check_interval(a, b, tol, max_evaluations)
    batched = _shape_probe(curve, a)
    eng = _Engine(_user_derivatives(curve), a, b, tangents=False)
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


@dataclass(frozen=True)
class SampledGaussLength(Result):
    """Gauss length of a curve known at samples: the total turning of the inscribed polygon.

    Attributes:
        value: sum of turning angles between consecutive chords (radians); float or ``(batch,)`` array. For a
            smooth curve this is a lower bound of the Gauss length that converges as the sampling is refined.
        error: ``|value − value on every other sample|``, a rough estimate of the sampling error.
        max_turn: the largest single turning angle (radians); float or ``(batch,)``.
        max_turn_at: α of the sample where the largest turn happens (float or ``(batch,)``).
        trustworthy: whether every turning angle is at most ``max_angle`` (finer sampling would change little);
            bool or ``(batch,)`` bool array.
        max_angle: the threshold used for ``trustworthy``.
        skipped_chords: number of zero-length chords (repeated points) skipped.
    """

    value: float | np.ndarray
    error: float | np.ndarray
    max_turn: float | np.ndarray
    max_turn_at: float | np.ndarray
    trustworthy: bool | np.ndarray
    max_angle: float
    skipped_chords: int


def _polygon_turning(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Turning angles of the polygon through z (m, batch, n) → (total (batch,), max (batch,), argmax, skipped)."""
    chords = np.diff(z, axis=0)  # (m-1, batch, n)
    norms = np.linalg.norm(chords, axis=-1)
    scale = np.linalg.norm(z, axis=-1).max(axis=0) + norms.max(axis=0)
    keep = norms > 1e-14 * np.where(scale > 0, scale, 1.0)
    _, batch, _ = chords.shape
    total = np.zeros(batch)
    biggest = np.zeros(batch)
    where = np.zeros(batch, dtype=int)
    skipped = int((~keep).sum())
    for j in range(batch):
        idx = np.nonzero(keep[:, j])[0]
        if len(idx) < 2:
            continue
        u = chords[idx, j] / norms[idx, j, None]
        a = 2 * np.arctan2(np.linalg.norm(u[1:] - u[:-1], axis=-1), np.linalg.norm(u[1:] + u[:-1], axis=-1))
        total[j] = a.sum()
        k = int(np.argmax(a))
        biggest[j] = a[k]
        where[j] = idx[k + 1]
    return total, biggest, where, skipped


def gauss_length_from_samples(
    alphas: np.ndarray | torch.Tensor | list, z: np.ndarray | torch.Tensor, *, max_angle: float = math.pi / 8
) -> SampledGaussLength:
    """Gauss length of a curve known only at sample points (e.g. logits saved at a few α).

    The sum of turning angles of the inscribed polygon converges to the total curvature from below (Milnor 1950)
    and counts a reversal as π even when it falls between samples, unlike a trapezoid rule on a
    finite-difference integrand. The result says when the sampling is too coarse to trust: a turning angle
    above ``max_angle`` means the curve turns a lot between consecutive samples.

    Args:
        alphas: strictly increasing sample positions, shape ``(m,)``, ``m >= 3``.
        z: the curve at those positions, shape ``(m, n)`` or ``(m, batch, n)``.
        max_angle: largest turning angle (radians) still called trustworthy.

    Returns:
        :class:`SampledGaussLength`.
    """
    al = np.asarray(alphas.detach().cpu() if isinstance(alphas, torch.Tensor) else alphas, dtype=np.float64)
    zz = np.asarray(z.detach().cpu() if isinstance(z, torch.Tensor) else z, dtype=np.float64)
    if al.ndim != 1 or al.shape[0] < 3:
        raise ValueError(f"alphas must be a 1-D array of at least 3 points, got shape {al.shape}")
    if zz.ndim not in (2, 3) or zz.shape[0] != al.shape[0]:
        raise ValueError(f"z must have shape (m, n) or (m, batch, n) with m={al.shape[0]}, got {zz.shape}")
    if not np.isfinite(al).all():
        raise ValueError(f"alphas[{int(np.nonzero(~np.isfinite(al))[0][0])}] is not finite")
    bad = np.nonzero(np.diff(al) <= 0)[0]
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"alphas must be strictly increasing: alphas[{i}]={al[i]!r} >= alphas[{i + 1}]={al[i + 1]!r}; sort them"
        )
    finite = np.isfinite(zz).reshape(zz.shape[0], -1).all(axis=1)
    if not finite.all():
        i = int(np.nonzero(~finite)[0][0])
        raise ValueError(f"z at index {i} (alpha={al[i]:.6g}) is not finite (NaN or inf)")
    batched = zz.ndim == 3
    z3 = zz if batched else zz[:, None, :]
    total, biggest, where, skipped = _polygon_turning(z3)
    coarse, _, _, _ = _polygon_turning(z3[::2] if len(z3) % 2 == 1 else np.concatenate([z3[::2], z3[-1:]]))
    err = np.abs(total - coarse)
    trust = biggest <= max_angle

    def out(x):
        return x if batched else x[0].item()

    return SampledGaussLength(
        value=out(total),
        error=out(err),
        max_turn=out(biggest),
        max_turn_at=out(al[where]),
        trustworthy=out(trust),
        max_angle=float(max_angle),
        skipped_chords=skipped,
    )


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
    r"""Check the cone condition :math:`\langle z'(\alpha), z'(s)\rangle \ge 0` for all :math:`\alpha < s`.

    It is what the proof of Theorem 3 uses: Gauss length :math:`< \pi/2` implies it, and it implies that
    :math:`\|z(\alpha) - z(b)\|^2` is non-increasing. Checked on ``points`` equally spaced α (both ends exact).
    Zero velocities are skipped (they contribute nothing).
    """
    a, b = float(a), float(b)
    if not a < b or points < 2:
        raise ValueError(f"need a < b and points >= 2, got a={a}, b={b}, points={points}")
    grid = np.linspace(a, b, points)
    grid[0], grid[-1] = a, b
    batched = _shape_probe(curve, a)
    d1, _ = _user_derivatives(curve)(torch.tensor(grid))
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
