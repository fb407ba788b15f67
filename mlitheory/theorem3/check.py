"""The check of Theorem 3 on one curve: the Gauss length, the exact slope L′ on an adaptive grid, the bound.

The statement and its references are in [`mlitheory.theorem3`][mlitheory.theorem3].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy import integrate

from mlitheory import _validate
from mlitheory.curves import (
    bezier_curve,
    circular_arc,
    random_bezier_curve,
    random_polynomial_curve,
    reversal_curve,
)
from mlitheory.geometry import curve_derivatives, gauss_integrand, gauss_length
from mlitheory.results import Result
from mlitheory.theorem3._numerics import decide_strict_decrease, jets, refine_slope_sign, tail_lengths

__all__ = [
    "Theorem3Result",
    "bezier_curve",
    "check_theorem3",
    "circular_arc",
    "loss_slope",
    "projective_gauss_length",
    "random_bezier_curve",
    "random_polynomial_curve",
    "reversal_curve",
    "smoothed_turn",
]

Curve = Callable[[torch.Tensor], torch.Tensor]

_F64 = torch.float64
_EPS = float(np.finfo(np.float64).eps)
#: relative rounding error allowed for one evaluation of a curve (a few dozen flops of a polynomial or a sine)
EVAL_ERROR = 64 * _EPS


# ==============================================================================================================
# instances: the curve families of mlitheory.curves, and the tightness construction
# ==============================================================================================================


def _smootherstep(s: torch.Tensor) -> torch.Tensor:
    """Integral of the C³ step p(s) = 35s⁴ − 84s⁵ + 70s⁶ − 20s⁷ (p(0) = 0, p(1) = 1, p′ = p″ = p‴ = 0 at 0, 1)."""
    s2 = s * s
    return s2 * s2 * s * (7 + s * (-14 + s * (10 - 2.5 * s)))


def smoothed_turn(delta: float, *, eps: float | None = None, corner: float = 0.25, smoothing: float = 1.0) -> Curve:
    r"""The tightness construction: a first leg $\varepsilon e_1$, then a turn by $\varphi=\pi/2+\delta$
    and a leg $v=(-\sin\delta,\cos\delta)$ of length 1.

    The two legs are blended by a smooth step $h$ (from 0 to 1, C³ at its ends) of the velocity,

    $$
    z'(\alpha) = \varepsilon k_1 (1-h(\alpha))\,e_1 + k_2\,h(\alpha)\,v, \qquad
    k_1 = 1/\textstyle\int_0^1(1-h),\ k_2 = 1/\int_0^1 h,
    $$

    so $z(1)-z(0)=\varepsilon e_1+v$ exactly, $z\in C^4$, and the direction angle rises monotonically
    from 0 to $\varphi$ (``z′ × z″ = εk₁k₂h′cos δ ≥ 0``, checked in `proofs_check.gauss_length`).
    Hence the Gauss length is exactly $\pi/2+\delta$ (the smoothing adds nothing to it), and
    $L'(0) = 2\varepsilon k_1(\sin\delta-\varepsilon) > 0$ whenever $\varepsilon<\sin\delta$.

    Args:
        delta: excess turn δ ∈ (0, π/2).
        eps: first-leg length ε > 0; default ``½ sin δ``.
        corner: the α of the corner of the piecewise-linear limit, in (0, 1); the legs are run at constant
            speeds ``ε/corner`` and ``1/(1 − corner)``. The default gives the turn a quarter of the parameter
            interval, so quadratures resolve it from their first grid.
        smoothing: half-width of the turn window as a fraction of ``min(corner, 1 − corner)``, in (0, 1].

    Returns:
        A planar curve ``(2,)``-valued with ``z(0) = 0`` and ``z* = z(1) = εe₁ + v``.
    """
    if not 0 < delta < math.pi / 2:
        raise ValueError(f"delta must lie in (0, π/2), got {delta}")
    sd, cd = math.sin(delta), math.cos(delta)
    eps = 0.5 * sd if eps is None else float(eps)
    if not (eps > 0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a finite positive number (default ½ sin δ), got {eps}")
    if not (0 < corner < 1 and 0 < smoothing <= 1):
        raise ValueError(f"need corner in (0, 1) and smoothing in (0, 1], got corner={corner}, smoothing={smoothing}")
    w = smoothing * min(corner, 1 - corner)
    lo, hi = corner - w, corner + w
    k1, k2 = 1 / corner, 1 / (1 - corner)  # ∫(1 − h) = corner and ∫h = 1 − corner: the step is symmetric
    e1 = torch.tensor([1.0, 0.0], dtype=_F64)
    v = torch.tensor([-sd, cd], dtype=_F64)

    def z(alpha: torch.Tensor) -> torch.Tensor:
        s = ((alpha - lo) / (2 * w)).clamp(0.0, 1.0)
        b = 2 * w * _smootherstep(s) + torch.relu(alpha - hi)  # ∫₀^α h
        return (eps * k1) * (alpha - b) * e1 + k2 * b * v

    return z


# ==============================================================================================================
# quantities of the statement
# ==============================================================================================================


def _flat(curve: Curve) -> Curve:
    return lambda alpha: curve(alpha).reshape(-1)


def _check_curve(curve: object) -> None:
    if not callable(curve):
        raise TypeError(
            f"curve must be a callable mapping a 0-dim tensor alpha to a tensor, got {type(curve).__name__}"
        )


def loss_slope(curve: Curve, alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Exact $L$, $L'=-2\langle z^*-z,z'\rangle$ and $L''=2\|z'\|^2-2\langle z^*-z,z''\rangle$.

    Args:
        curve: ``α ↦ z(α)``; ``z* = z(1)``; a ``(batch, n)`` output is flattened (the dataset curve).
        alphas: points, array ``(m,)``.

    Returns:
        Three arrays ``(m,)``: L, L′, L″ (derivatives by nested `torch.func.jvp`).
    """
    _check_curve(curve)
    al = np.asarray(alphas, dtype=np.float64).reshape(-1)
    if al.size == 0:
        raise ValueError("alphas is empty; pass at least one point")
    flat = _flat(curve)
    z_star = flat(torch.tensor(1.0, dtype=_F64)).detach()
    z, dz, d2z = jets(flat, al)
    r = z_star - z
    return (
        (r * r).sum(-1).numpy(),
        (-2 * (r * dz).sum(-1)).numpy(),
        (2 * (dz * dz).sum(-1) - 2 * (r * d2z).sum(-1)).numpy(),
    )


def projective_gauss_length(curve: Curve, a: float = 0.0, b: float = 1.0, *, tol: float = 1e-10) -> tuple[float, float]:
    r"""Projective (Grassmannian) length $\int_a^b\kappa\|z'\|\,d\alpha$ of the tangent *line*.

    The pointwise integrand $\|T'\|$ is integrated by `scipy.integrate.quad`; where the velocity
    vanishes the tangent line does not jump, so a reversal adds nothing (on the sphere it adds $\pi$).
    This is the length for which Theorem 3 fails (see [`reversal_curve`][mlitheory.theorem3.check.reversal_curve]).

    Returns:
        ``(value, error estimate)`` in radians.
    """
    _check_curve(curve)
    a, b, tol = _validate.real(a, "a"), _validate.real(b, "b"), _validate.real(tol, "tol", positive=True)
    if not a < b:
        raise ValueError(f"need a < b, got a={a}, b={b}")
    flat = _flat(curve)

    def f(x: float) -> float:
        _, dz, d2z = curve_derivatives(flat, x)
        return float(gauss_integrand(dz, d2z))

    value, err = integrate.quad(f, a, b, epsabs=tol, epsrel=0.0, limit=200)
    return float(value), float(err)


# ==============================================================================================================
# the check
# ==============================================================================================================


@dataclass(frozen=True)
class Theorem3Result(Result):
    """Whether the hypotheses and the conclusions of Theorem 3 hold for one curve, with margins.

    Attributes:
        gauss_length: G on [0, 1] (radians).
        gauss_length_error: the larger of the quadrature's error estimate and ``tol``, plus the rounding of the
            sum over panels.
        hypothesis: ``G < π/2`` and ``z(0) ≠ z*``; ``None`` (undecided) when ``|G − π/2| <= gauss_length_error``.
        monotone: whether L is strictly decreasing on [0, 1], decided by the sign of the exact L′ on the
            adaptive grid; ``None`` when some L′ is within rounding of 0 at points that are not isolated.
        witness_alpha: an α with L′(α) above its rounding error (a rise of L); ``nan`` when none.
        min_descent: min over grid α < 1 of −L′(α) (``<= 0`` means a rise or a stationary point).
        descent_margin: min over the Gauss-length nodes α < 1 of ⟨T(α), z* − z(α)⟩ / ℓ(α), the normalised
            descent; the theorem says it is ``>= cos G_α``; positive means strictly decreasing.
        bound_margin: min over the nodes of ‖z* − z(α)‖ − cos(min(G_α, π))·ℓ(α).
        bound_slack: the error allowance of that comparison (quadrature of G_α and ℓ, rounding).
        slope_bound_margin: min over the nodes of −L′(α) − 2cos(min(G_α, π))‖z′(α)‖ℓ(α) (the bound on L′).
        bound_holds: both bounds hold at every node up to their slack (for L′: ``2‖z′‖·bound_slack`` plus the
            rounding of the inner product).
        arc_length: ℓ(0).
        initial_distance: ‖z* − z(0)‖.
        alphas: the final adaptive grid ``(m,)``. slopes: L′ there ``(m,)``. slope_errors: rounding bound of L′.
        nodes: the Gauss-length nodes α < 1 ``(k,)``; tail_gauss: G_α there; remaining_length: ℓ(α) there;
            distance: ‖z* − z(α)‖ there.
        evaluations: jets evaluated for the L′ grid (beyond those of the quadratures).
        tol: the tolerance passed to the quadratures.
    """

    gauss_length: float
    gauss_length_error: float
    hypothesis: bool | None
    monotone: bool | None
    witness_alpha: float
    min_descent: float
    descent_margin: float
    bound_margin: float
    bound_slack: float
    bound_holds: bool
    slope_bound_margin: float
    arc_length: float
    initial_distance: float
    alphas: np.ndarray
    slopes: np.ndarray
    slope_errors: np.ndarray
    nodes: np.ndarray
    tail_gauss: np.ndarray
    remaining_length: np.ndarray
    distance: np.ndarray
    evaluations: int
    tol: float

    @property
    def counterexample(self) -> bool:
        """Hypotheses held and the conclusion (strict decrease and the bound) was not confirmed."""
        return self.hypothesis is True and not (self.monotone is True and self.bound_holds)

    def summary(self) -> str:
        def tri(x):
            return "undecided" if x is None else str(x)

        lines = [
            "Theorem3Result (Lucas et al. 2021, Theorem 3)",
            f"  Gauss length G = {self.gauss_length:.10g} ± {self.gauss_length_error:.1e}  (π/2 = {math.pi / 2:.10g})",
            f"  hypothesis G < π/2, z(0) ≠ z*: {tri(self.hypothesis)}",
            f"  L strictly decreasing: {tri(self.monotone)}  (min −L′ = {self.min_descent:.3e}"
            + (f", rise at α = {self.witness_alpha:.6g})" if math.isfinite(self.witness_alpha) else ")"),
            f"  min ⟨T, z* − z⟩/ℓ = {self.descent_margin:+.4e}",
            f"  bound ‖z* − z‖ ≥ cos(G_α)ℓ: margin {self.bound_margin:+.3e} (slack {self.bound_slack:.1e}), "
            f"holds: {self.bound_holds}",
            f"  ℓ(0) = {self.arc_length:.6g}, ‖z* − z(0)‖ = {self.initial_distance:.6g}, "
            f"grid of {len(self.alphas)} points",
        ]
        return "\n".join(lines)


def check_theorem3(
    curve: Curve,
    *,
    tol: float = 1e-9,
    grid: int = 129,
    max_evaluations: int = 4000,
    min_width: float = 1e-10,
    eval_error: float = EVAL_ERROR,
) -> Theorem3Result:
    r"""Check Theorem 3 and its quantitative form on one curve.

    1. **Hypothesis.** $G$ by [`mlitheory.geometry.gauss_length`][mlitheory.geometry.gauss_length] (adaptive, exact jvp
       derivatives); $G<\pi/2$ is decided only when $|G-\pi/2|$ exceeds the quadrature error, else undecided.
    2. **Conclusion.** The sign of the exact $L'(\alpha)=-2\langle z^*-z,z'\rangle$ on a grid made of the
       Gauss-length nodes and ``grid`` equally spaced points, refined by bisection wherever the cubic Hermite
       interpolant of $L'$ (from $L'$ and $L''$) comes within half of its endpoint values of 0
       — a hidden rise between grid points would show there. $L'$ is compared with its rounding error
       $2u_e(\|z^*\|+\|z\|)\|z'\|+2n\epsilon\|z^*-z\|\|z'\|$ ($u_e$ = ``eval_error``): above it is a rise
       (``monotone=False``); within it at isolated points (both neighbours clearly negative) is a stationary
       point of a decreasing $L$, otherwise undecided.
    3. **Bound.** At the Gauss-length nodes, $G_\alpha$ from its ``cumulative`` field and
       $\ell(\alpha)$ by Gauss–Legendre rules on the same panels (or the adaptive arc length); the
       bound is checked up to the slack
       $\ell\,e_G+e_\ell+u_e(\|z^*\|+\|z\|)$.

    Args:
        curve: ``α ↦ z(α)`` on 0-dim float64 tensors, float64 output ``(n,)`` (a ``(batch, n)`` output is
            flattened into one curve in ℝ^{batch·n}, whose squared distance is the dataset MSE up to scale).
            ``z* = z(1)``.
        tol: absolute tolerance of the Gauss-length and arc-length quadratures.
        grid: number of equally spaced points added to the initial grid.
        max_evaluations: budget of extra points the refinement may add.
        min_width: intervals narrower than this are not bisected.
        eval_error: relative rounding error of one evaluation of the curve.

    Returns:
        [`Theorem3Result`][mlitheory.theorem3.check.Theorem3Result].

    Examples:
        >>> r = check_theorem3(circular_arc(1.0))  # G = 1 < π/2
        >>> r.hypothesis, r.monotone, r.bound_holds
        (True, True, True)
        >>> check_theorem3(smoothed_turn(0.1)).monotone  # G = π/2 + 0.1: the rise at α = 0 is found
        False
    """
    _check_curve(curve)
    tol = _validate.real(tol, "tol")
    grid, max_evaluations = _validate.integer(grid, "grid"), _validate.integer(max_evaluations, "max_evaluations")
    probe = curve(torch.tensor(0.0, dtype=_F64))
    if not isinstance(probe, torch.Tensor) or probe.ndim not in (1, 2):
        shape = tuple(probe.shape) if isinstance(probe, torch.Tensor) else type(probe).__name__
        raise ValueError(f"the curve must return a tensor of shape (n,) or (batch, n), got {shape} at alpha=0")
    if probe.dtype != _F64:
        raise TypeError(f"the curve must return float64 (the check is a reference computation), got {probe.dtype}")
    if grid < 3 or not tol > 0:
        raise ValueError(f"need grid >= 3 and tol > 0, got grid={grid}, tol={tol}")
    flat = _flat(curve)
    z_star = flat(torch.tensor(1.0, dtype=_F64)).detach()
    n = z_star.numel()

    # 1. the hypothesis
    g = gauss_length(flat, tol=tol)
    # The quadrature promises |error| <= tol; its own estimate can be optimistic where the integrand is only a few
    # times differentiable, so the larger of the two is used, plus the rounding of the sum (an ulp per panel).
    big_g = float(g.value)
    g_err = max(float(g.error), tol) + len(g.nodes) * _EPS * big_g
    z0 = flat(torch.tensor(0.0, dtype=_F64)).detach()
    start = float(torch.linalg.vector_norm(z_star - z0))
    start_err = eval_error * float(torch.linalg.vector_norm(z_star) + torch.linalg.vector_norm(z0))
    if start <= start_err or big_g - g_err > math.pi / 2:
        hypothesis: bool | None = False
    elif big_g + g_err < math.pi / 2:
        hypothesis = True
    else:
        hypothesis = None

    # 2. the sign of L′ on an adaptive grid
    zs_norm = float(torch.linalg.vector_norm(z_star))

    def slopes_at(al: np.ndarray):
        z, dz, d2z = jets(flat, al)
        r = z_star - z
        speed = torch.linalg.vector_norm(dz, dim=-1)
        d1 = -2 * (r * dz).sum(-1)
        d2 = 2 * (dz * dz).sum(-1) - 2 * (r * d2z).sum(-1)
        rn = torch.linalg.vector_norm(r, dim=-1)
        err = 2 * speed * (eval_error * (zs_norm + torch.linalg.vector_norm(z, dim=-1)) + n * _EPS * rn)
        return d1.numpy(), d2.numpy(), err.numpy()

    alphas, d1, _, err = refine_slope_sign(
        slopes_at,
        np.union1d(np.linspace(0.0, 1.0, grid), g.nodes),
        max_evaluations=max_evaluations,
        min_width=min_width,
    )
    monotone, witness = decide_strict_decrease(alphas, d1, err)
    if start <= start_err:
        monotone = False  # L(0) = 0 = L(1): not strictly decreasing

    # 3. the quantitative bound at the Gauss-length nodes α < 1 (at α = 1 both sides vanish)
    ell_all, ell_err = tail_lengths(flat, g.nodes, tol)
    nodes = g.nodes[g.nodes < 1.0]
    tail_g = g.cumulative[-1] - g.cumulative[: len(nodes)]
    ell = ell_all[: len(nodes)]
    z, dz, _ = jets(flat, nodes)
    r = z_star - z
    dist = torch.linalg.vector_norm(r, dim=-1).numpy()
    speed = torch.linalg.vector_norm(dz, dim=-1).numpy()
    z_norm = torch.linalg.vector_norm(z, dim=-1).numpy()
    cos_g = np.cos(np.minimum(tail_g, math.pi))
    slack = ell * g_err + ell_err + eval_error * (zs_norm + z_norm)
    margin = dist - cos_g * ell
    dl = (-2 * (r * dz).sum(-1)).numpy()
    slope_margin = -dl - 2 * cos_g * speed * ell
    slope_slack = 2 * speed * slack + 2 * n * _EPS * dist * speed
    moving = (speed > 0) & (ell > 0)
    descent = np.ones_like(dl)
    descent[moving] = -dl[moving] / (2 * speed[moving] * ell[moving])  # ⟨T, z* − z⟩ / ℓ
    worst = int(np.argmin(margin + slack))

    return Theorem3Result(
        gauss_length=big_g,
        gauss_length_error=g_err,
        hypothesis=hypothesis,
        monotone=monotone,
        witness_alpha=witness,
        min_descent=float(-d1[:-1].max()),
        descent_margin=float(descent.min()),
        bound_margin=float(margin.min()),
        bound_slack=float(slack[worst]),
        bound_holds=bool((margin + slack >= 0).all() and (slope_margin + slope_slack >= 0).all()),
        slope_bound_margin=float(slope_margin.min()),
        arc_length=float(ell[0]),
        initial_distance=start,
        alphas=alphas,
        slopes=d1,
        slope_errors=err,
        nodes=nodes,
        tail_gauss=tail_g,
        remaining_length=ell,
        distance=dist,
        evaluations=len(alphas),
        tol=tol,
    )
