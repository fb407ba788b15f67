r"""Lemma 7: a (nearly) quadratic loss along the interpolation is monotone.

**Lemma 7a** (convex quadratic form; Lucas et al. 2021, §3.2 and App. D, reconstruction in
``theory_ntk_width.md`` §1). Along a straight output-space segment with residuals $r_0$ at
$\alpha = 0$ and $r_1$ at $\alpha = 1$,

$$
q(\alpha) = \tfrac12\|r_0 + \alpha(r_1 - r_0)\|^2 \ \text{is non-increasing on } [0,1]
\iff \|r_1\|^2 \le \langle r_0, r_1\rangle ,
$$

because $q$ is convex and $q'(1) = \|r_1\|^2 - \langle r_0, r_1\rangle$. For gradient descent on the
linearised model, $r_T = M r_0$ with $M = (I - \eta\Theta)^T$, and
$\langle r_0, r_T\rangle - \|r_T\|^2 = r_0^\top(M - M^2)r_0 \ge 0$ whenever
$\mathrm{spec}(M) \subset [0, 1]$: for gradient flow ($M = e^{-\Theta t}$), for
$\eta \le 1/\lambda_{\max}$, and for even $T$ when $\eta < 2/\lambda_{\max}$. For odd $T$ and
$\eta \in (1/\lambda_{\max}, 2/\lambda_{\max})$, $M$ has negative eigenvalues and $q$ can rise.

**Lemma 7b** (perturbation form). Let $z(1) = z^*$, $L(\alpha) = \|z(\alpha) - z^*\|^2$ and
$\sup_\alpha\|z'(\alpha) - v\| \le \varepsilon$ for a fixed $v$. Then

$$
L'(\alpha) \le -2(1-\alpha)\big(\|v\|^2 - 2\varepsilon\|v\| - \varepsilon^2\big),
$$

so $L$ is strictly decreasing if $\varepsilon < (\sqrt2 - 1)\|v\|$. (Write
$\int_\alpha^1 z' = (1-\alpha)v + e_1$ and $z'(\alpha) = v + e_2$ in
$L' = -2\langle\int_\alpha^1 z', z'(\alpha)\rangle$.)

References:
    Lucas, Bae, Zhang, Fort, Zemel, Grosse, *Analyzing Monotonic Linear Interpolation in Neural Network Loss
    Landscapes*, ICML 2021, §3.2, App. D. Lee et al. (2019), Thm 2.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from mlitheory.monotonicity import min_delta
from mlitheory.results import Result
from mlitheory.wide.ntk import gd_residuals, gradient_flow_residuals

__all__ = [
    "LEMMA7B_RATIO",
    "LEMMA7B_SHARP_RATIO",
    "Lemma7aCheck",
    "Lemma7bCheck",
    "SmoothPerturbation",
    "check_lemma7a",
    "check_lemma7b",
    "lambda_max_rtol",
    "lemma7a_margin",
    "lemma7a_regime",
    "lemma7b_bound_factor",
    "lemma7b_curve",
    "quadratic_path_loss",
    "random_smooth_perturbation",
    "two_leg_curve",
]

_EPS = np.finfo(np.float64).eps
#: the ratio ε/‖v‖ below which Lemma 7b guarantees a strictly decreasing loss
LEMMA7B_RATIO = math.sqrt(2.0) - 1.0
#: the ratio ε/‖v‖ at which the two-leg construction (`two_leg_curve`) first stops being monotone: the
#: smallest value of ⟨p, q⟩ over p, q in the ball of radius ε around v is ‖v‖²/2 − ε² (for ε ≥ ‖v‖/2)
LEMMA7B_SHARP_RATIO = 1.0 / math.sqrt(2.0)


def _np(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def quadratic_path_loss(r0, r1, alphas) -> np.ndarray:
    """$q(\\alpha) = \\tfrac12\\|r_0 + \\alpha(r_1 - r_0)\\|^2$; ``r0, r1`` ``(n,)``; result ``(m,)``."""
    r0, r1 = _np(r0, "r0").ravel(), _np(r1, "r1").ravel()
    al = np.asarray(alphas, dtype=np.float64)[:, None]
    r = r0 + al * (r1 - r0)
    return 0.5 * np.sum(r * r, axis=1)


def lemma7a_margin(r0, r1) -> float:
    """$\\langle r_0, r_1\\rangle - \\|r_1\\|^2 = -q'(1)$: ``>= 0`` exactly when $q$ is non-increasing.

    Examples:
        >>> lemma7a_margin([1.0, 0.0], [-0.5, 0.0])  # one GD step at η = 1.5/λ on the top eigenvector: not monotone
        -0.75
    """
    r0, r1 = _np(r0, "r0").ravel(), _np(r1, "r1").ravel()
    return float(r0 @ r1 - r1 @ r1)


@dataclass(frozen=True)
class Lemma7aCheck(Result):
    """Lemma 7a for one kernel, initial residual and training length.

    Attributes:
        regime: ``"gradient_flow"``, ``"eta<=1/lambda_max"``, ``"even_T"`` ($\\eta \\le 2/\\lambda_{\\max}$), or
            ``"outside"`` (none of the sufficient cases), decided by
            [`lemma7a_regime`][mlitheory.wide.lemma7.lemma7a_regime] from one $\\lambda_{\\max}$ with the allowance
            [`lambda_max_rtol`][mlitheory.wide.lemma7.lambda_max_rtol].
        eta_lambda_max: $\\eta\\lambda_{\\max}$ (``nan`` for gradient flow); steps: $T$ (0 for flow);
            time: flow time (``nan`` for GD).
        spectrum_min, spectrum_max: extreme eigenvalues of $M$; hypotheses_hold: $\\mathrm{spec}(M)
            \\subset [0, 1]$ (within rounding).
        margin: $(\\langle r_0, r_T\\rangle - \\|r_T\\|^2)/\\|r_0\\|^2$; criterion_holds: margin within
            rounding of ``>= 0``; margin_tol: the rounding allowance of ``margin`` (``16·n·eps``).
        monotone_truth: $q$ evaluated on a grid plus its exact minimiser shows no rise (independent of the
            criterion); max_rise: the largest rise found there; rise_tol: its rounding allowance.
        predicted_rise: the rise the criterion predicts for the convex quadratic: 0 when the margin is
            ``>= 0``, else $q'(1)^2/(2\\|r_T - r_0\\|^2)$ (or $q(1) - q(0)$ if $q$ rises from α = 0).
        r0, rT: the residuals, shape ``(n,)``.
    """

    regime: str
    eta_lambda_max: float
    steps: int
    time: float
    spectrum_min: float
    spectrum_max: float
    hypotheses_hold: bool
    margin: float
    margin_tol: float
    criterion_holds: bool
    monotone_truth: bool
    max_rise: float
    predicted_rise: float
    rise_tol: float
    r0: np.ndarray
    rT: np.ndarray

    @property
    def conclusion_holds(self) -> bool:
        """The interpolated quadratic loss is non-increasing (the criterion, confirmed by direct evaluation)."""
        return self.criterion_holds and self.monotone_truth

    @property
    def criterion_agrees(self) -> bool:
        """The measured rise equals the rise predicted from the criterion (the "iff" of Lemma 7a, quantitatively)."""
        return abs(self.max_rise - self.predicted_rise) <= 2 * self.rise_tol + 1e-9 * self.predicted_rise

    def summary(self) -> str:
        return (
            f"Lemma7aCheck(regime={self.regime}, ηλmax={self.eta_lambda_max:.4g}, T={self.steps})\n"
            f"  spec(M) in [{self.spectrum_min:+.4g}, {self.spectrum_max:+.4g}] ⊂ [0,1]: {self.hypotheses_hold}\n"
            f"  criterion ⟨r0,rT⟩ − ‖rT‖² ≥ 0: {self.criterion_holds} (margin {self.margin:+.3e})\n"
            f"  q monotone by direct evaluation: {self.monotone_truth} (largest rise {self.max_rise:.3e})"
        )


def lambda_max_rtol(n: int) -> float:
    """Relative rounding allowance of the computed $\\lambda_{\\max}$ of a symmetric PSD ``n × n`` kernel.

    A backward-stable symmetric eigensolver returns eigenvalues within $p(n)\\,\\epsilon\\,\\|\\Theta\\|_2$ of
    the exact ones, and $\\|\\Theta\\|_2 = \\lambda_{\\max}$ for a PSD kernel; $p(n) = 8n$ is taken.
    Two solvers (NumPy's and torch's) may differ by that much, so a regime boundary
    $\\eta\\lambda_{\\max} \\in \\{1, 2\\}$ is decided with this allowance.
    """
    return 8.0 * max(int(n), 1) * _EPS


def lemma7a_regime(eta_lambda_max: float, steps: int | None, *, rtol: float = 0.0) -> str:
    """The sufficient case of Lemma 7a that a GD run with $\\eta\\lambda_{\\max}$ and ``steps`` falls in.

    ``"eta<=1/lambda_max"`` when $\\eta\\lambda_{\\max} \\le 1 + \\text{rtol}$; ``"even_T"`` when T is even and
    $\\eta\\lambda_{\\max} \\le 2(1 + \\text{rtol})$ (then $(1-\\eta\\lambda)^T \\in [0, 1]$ for every
    eigenvalue); else ``"outside"``. ``rtol`` is the relative uncertainty of $\\lambda_{\\max}$
    ([`lambda_max_rtol`][mlitheory.wide.lemma7.lambda_max_rtol]): inside it the sufficient side is taken, since within
    rounding $\\mathrm{spec}(M) \\subset [0, 1]$ cannot be refuted (``hypotheses_hold`` then checks the spectrum
    itself).
    """
    el = float(eta_lambda_max)
    if not el > 0:
        raise ValueError(f"eta * lambda_max must be positive, got {el}")
    if el <= 1.0 + rtol:
        return "eta<=1/lambda_max"
    if steps is not None and int(steps) % 2 == 0 and el <= 2.0 * (1.0 + rtol):
        return "even_T"
    return "outside"


def check_lemma7a(
    theta,
    r0,
    *,
    eta: float | None = None,
    eta_lambda_max: float | None = None,
    steps: int | None = None,
    time: float | None = None,
    grid: int = 201,
) -> Lemma7aCheck:
    """Check Lemma 7a for GD (``eta`` or ``eta_lambda_max``, and ``steps``) or gradient flow (``time``).

    $\\lambda_{\\max}$ is computed once, here, and the regime is decided from it with the rounding allowance
    [`lambda_max_rtol`][mlitheory.wide.lemma7.lambda_max_rtol] (see
    [`lemma7a_regime`][mlitheory.wide.lemma7.lemma7a_regime]). To place a run at a given fraction of the stable step,
    pass ``eta_lambda_max`` (then $\\eta = \\text{eta\\_lambda\\_max}/\\lambda_{\\max}$ with this same
    $\\lambda_{\\max}$) rather than an η computed from another solver's $\\lambda_{\\max}$.

    Args:
        theta: kernel $\\Theta$, shape ``(n, n)``, symmetric PSD (e.g.
            [`mlitheory.wide.ntk.empirical_ntk`][mlitheory.wide.ntk.empirical_ntk]).
        r0: initial residual, shape ``(n,)``.
        eta: GD step size; or eta_lambda_max: the step as a multiple of $1/\\lambda_{\\max}$ (give one).
        steps: number of GD steps; or time: gradient-flow time (then leave eta/steps None).
        grid: points of the direct evaluation of $q$ (the exact minimiser is added).

    Raises:
        ValueError: neither or both of GD and flow given; both eta and eta_lambda_max; a non-positive step; a
            negative time or step count; a kernel with λ_max ≤ 0 for ``eta_lambda_max``.
    """
    th = torch.as_tensor(_np(theta, "theta"), dtype=torch.float64)
    r0n = _np(r0, "r0").ravel()
    if th.shape != (r0n.size, r0n.size):
        raise ValueError(f"theta must be ({r0n.size}, {r0n.size}) to match r0, got {tuple(th.shape)}")
    lam = torch.linalg.eigvalsh(0.5 * (th + th.T)).numpy()
    lmax = float(lam[-1])
    flow = time is not None
    if eta is not None and eta_lambda_max is not None:
        raise ValueError("give eta or eta_lambda_max, not both")
    if eta_lambda_max is not None:
        if not eta_lambda_max > 0:
            raise ValueError(f"eta_lambda_max must be positive, got {eta_lambda_max}")
        if not lmax > 0:
            raise ValueError(f"eta_lambda_max needs a kernel with lambda_max > 0, got {lmax:.3e}; pass eta")
        if not flow:
            eta = float(eta_lambda_max) / lmax
    if flow == (eta is not None or eta_lambda_max is not None or steps is not None):
        raise ValueError("give either eta (or eta_lambda_max) and steps (gradient descent) or time (gradient flow)")
    if flow:
        if time < 0:
            raise ValueError(f"time must be >= 0, got {time}")
        rT = gradient_flow_residuals(th, r0n, float(time)).numpy()
        mu = np.exp(-lam * time)
        regime, el, T = "gradient_flow", math.nan, 0
    else:
        if eta is None or steps is None:
            raise ValueError("gradient descent needs both eta and steps")
        if not eta > 0:
            raise ValueError(f"eta must be positive, got {eta}")
        if steps < 0 or int(steps) != steps:
            raise ValueError(f"steps must be a non-negative integer, got {steps}")
        T = int(steps)
        rT = gd_residuals(th, r0n, float(eta), T).numpy()
        mu = (1 - eta * lam) ** T
        el = float(eta_lambda_max) if eta_lambda_max is not None else float(eta) * lmax
        regime = lemma7a_regime(el, T, rtol=lambda_max_rtol(r0n.size))
    # eigenvalues of Θ carry errors ~ n·eps·λ_max, moved into M by the factor T·η (GD) or t (flow)
    amplification = float(time) * lmax if flow else T * float(eta) * lmax
    spec_tol = 8 * r0n.size * _EPS * max(1.0, amplification)
    hyp = bool(mu.min() >= -spec_tol and mu.max() <= 1 + spec_tol)
    n0 = float(r0n @ r0n)
    raw = lemma7a_margin(r0n, rT)
    # r_T from the eigendecomposition is off by ~ n·eps·‖r0‖ (|μ| ≤ 1 here), so the margin by ~ 3‖r0‖ times that
    tol = 16 * r0n.size * _EPS * n0
    # direct evaluation: grid plus the exact minimiser of the convex quadratic
    d = rT - r0n
    dd = float(d @ d)
    alphas = np.linspace(0.0, 1.0, grid)
    if dd > 0:
        a_star = float(np.clip(-(r0n @ d) / dd, 0.0, 1.0))
        alphas = np.unique(np.append(alphas, a_star))
    q = quadratic_path_loss(r0n, rT, alphas)
    q_tol = 4 * r0n.size * _EPS * float(q.max())
    rise = min_delta(q)
    # the rise the criterion predicts for a convex quadratic with q'(1) = −raw and curvature ‖d‖²
    slope1 = -raw
    if slope1 <= 0 or dd == 0:
        predicted = 0.0
    elif -(r0n @ d) >= 0:  # minimiser α* ≥ 0: rise q(1) − q(α*) = q'(1)²/(2‖d‖²)
        predicted = slope1 * slope1 / (2 * dd)
    else:  # increasing on all of [0, 1]
        predicted = 0.5 * float(rT @ rT - r0n @ r0n)
    return Lemma7aCheck(
        regime=regime,
        eta_lambda_max=el,
        steps=T,
        time=float(time) if flow else math.nan,
        spectrum_min=float(mu.min()),
        spectrum_max=float(mu.max()),
        hypotheses_hold=hyp,
        margin=raw / n0 if n0 > 0 else 0.0,
        margin_tol=tol / n0 if n0 > 0 else 0.0,
        criterion_holds=bool(raw >= -tol),
        monotone_truth=bool(rise <= q_tol),
        max_rise=float(rise),
        predicted_rise=float(predicted),
        rise_tol=float(q_tol),
        r0=r0n,
        rT=rT,
    )


# --------------------------------------------------------------------------------------------- Lemma 7b


@dataclass(frozen=True)
class SmoothPerturbation(Result):
    """Smooth perturbation $e(\\alpha) = c_0 + \\sum_j C_j\\cos\\omega_j\\alpha + D_j\\sin\\omega_j\\alpha$ in ℝⁿ.

    Attributes:
        c0: ``(n,)``; C, D: ``(J, n)``; omega: ``(J,)`` positive frequencies.
        sup_bound: a certified bound on $\\sup_{[0,1]}\\|e\\|$ (exact for the rotating kind; for the others the
            maximum on a fine grid plus the Lipschitz constant times half the grid step).
        kind: how it was drawn.
    """

    c0: np.ndarray
    C: np.ndarray
    D: np.ndarray
    omega: np.ndarray
    sup_bound: float
    kind: str

    def __call__(self, alphas) -> np.ndarray:
        """$e(\\alpha)$, shape ``(m, n)``."""
        al = np.asarray(alphas, dtype=np.float64)[:, None]
        return self.c0 + np.cos(al * self.omega) @ self.C + np.sin(al * self.omega) @ self.D

    def integral_to_one(self, alphas) -> np.ndarray:
        """$\\int_\\alpha^1 e(s)\\,ds$ in closed form, shape ``(m, n)``."""
        al = np.asarray(alphas, dtype=np.float64)[:, None]
        w = self.omega
        ic = (np.sin(w) - np.sin(al * w)) / w
        is_ = (np.cos(al * w) - np.cos(w)) / w
        return (1 - al) * self.c0 + ic @ self.C + is_ @ self.D


def random_smooth_perturbation(n: int, eps: float, *, seed=0, kind: str = "fourier", modes: int = 4):
    """A random smooth perturbation with $\\sup_{[0,1]}\\|e\\| \\le \\varepsilon$ (certified).

    Args:
        n: dimension (``>= 2``).
        eps: the sup-norm bound ``>= 0``.
        seed: int or ``numpy.random.Generator``.
        kind: ``"fourier"`` (random constant + ``modes`` random frequencies up to 20, scaled so that the certified
            bound equals ``eps``), ``"rotating"`` (constant norm ``eps``, rotating in a random plane), or
            ``"constant"`` (a random constant vector of norm ``eps``).
        modes: number of frequencies of the ``"fourier"`` kind.
    """
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    if not eps >= 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if kind == "rotating":
        u, _ = np.linalg.qr(rng.standard_normal((n, 2)))
        ph = rng.uniform(0, 2 * math.pi)
        C = eps * (math.cos(ph) * u[:, 0] + math.sin(ph) * u[:, 1])
        D = eps * (-math.sin(ph) * u[:, 0] + math.cos(ph) * u[:, 1])
        w = np.array([rng.uniform(0.5, 20.0)])
        return SmoothPerturbation(np.zeros(n), C[None], D[None], w, float(eps), kind)
    if kind == "constant":
        c = rng.standard_normal(n)
        return SmoothPerturbation(
            eps * c / np.linalg.norm(c), np.zeros((0, n)), np.zeros((0, n)), np.zeros(0), eps, kind
        )
    if kind != "fourier":
        raise ValueError(f"kind must be 'fourier', 'rotating' or 'constant', got {kind!r}")
    c0 = rng.standard_normal(n) * rng.uniform(0, 1)
    C, D = rng.standard_normal((modes, n)), rng.standard_normal((modes, n))
    w = rng.uniform(0.5, 20.0, modes)
    raw = SmoothPerturbation(c0, C, D, w, 1.0, kind)
    m = 4001
    peak = float(np.max(np.linalg.norm(raw(np.linspace(0, 1, m)), axis=1)))
    lip = float(np.sum(w * (np.linalg.norm(C, axis=1) + np.linalg.norm(D, axis=1))))
    bound = peak + lip * 0.5 / (m - 1)
    s = eps / bound if bound > 0 else 0.0
    return SmoothPerturbation(s * c0, s * C, s * D, w, float(eps), kind)


@dataclass(frozen=True)
class Lemma7bCheck(Result):
    """Lemma 7b for a curve $z'(\\alpha) = v + e(\\alpha)$, $z(1) = z^*$.

    Attributes:
        ratio: $\\varepsilon/\\|v\\|$ with ε the certified sup of ``‖e‖``; hypotheses_hold: ratio < √2 − 1.
        max_slope: largest $L'(\\alpha)$ over the grid points with α < 1 (negative: decreasing).
        bound_margin: smallest $-2(1-\\alpha)(\\|v\\|^2 - 2\\varepsilon\\|v\\| - \\varepsilon^2) - L'(\\alpha)$
            over the grid (plus a rounding allowance), divided by $\\|v\\|^2$ (``>= 0``: the bound holds there).
        strictly_decreasing: $L' < 0$ at every grid point with α < 1 and the sampled L strictly decreasing.
        min_delta: of the sampled L.
    """

    ratio: float
    hypotheses_hold: bool
    max_slope: float
    bound_margin: float
    strictly_decreasing: bool
    min_delta: float

    @property
    def conclusion_holds(self) -> bool:
        return self.strictly_decreasing and self.bound_margin >= 0

    def summary(self) -> str:
        return (
            f"Lemma7bCheck(ε/‖v‖ = {self.ratio:.4f}; hypothesis ε/‖v‖ < √2−1: {self.hypotheses_hold})\n"
            f"  strictly decreasing: {self.strictly_decreasing} (max L′ on [0,1) {self.max_slope:.3e})\n"
            f"  bound L′ ≤ −2(1−α)(‖v‖²−2ε‖v‖−ε²): margin {self.bound_margin:+.3e}"
        )


def lemma7b_curve(v, perturbation: SmoothPerturbation, alphas, z_star=None):
    """``(z, z′, L, L′)`` at ``alphas`` for $z' = v + e(\\alpha)$, $z(1) = z^*$ (default 0); closed form."""
    v = _np(v, "v").ravel()
    zs = np.zeros_like(v) if z_star is None else _np(z_star, "z_star").ravel()
    al = np.asarray(alphas, dtype=np.float64)
    tail = (1 - al)[:, None] * v + perturbation.integral_to_one(al)  # ∫_α^1 z'
    z = zs - tail
    dz = v + perturbation(al)
    L = np.sum(tail * tail, axis=1)
    dL = -2 * np.sum(tail * dz, axis=1)
    return z, dz, L, dL


def check_lemma7b(v, perturbation: SmoothPerturbation, *, z_star=None, grid: int = 2001) -> Lemma7bCheck:
    """Check Lemma 7b on a grid: the bound at every grid point and strict decrease.

    Args:
        v: the reference velocity, shape ``(n,)``, nonzero.
        perturbation: [`SmoothPerturbation`][mlitheory.wide.lemma7.SmoothPerturbation] in the same dimension (its
            ``sup_bound`` is ε).
        z_star: the end point (default 0; the statement does not depend on it).
        grid: number of equally spaced α.
    """
    v = _np(v, "v").ravel()
    V = float(np.linalg.norm(v))
    if V == 0:
        raise ValueError("v must be nonzero")
    if perturbation.c0.shape != v.shape:
        raise ValueError(f"perturbation lives in ℝ^{perturbation.c0.size} but v in ℝ^{v.size}")
    eps = perturbation.sup_bound
    al = np.linspace(0.0, 1.0, grid)
    _, _, L, dL = lemma7b_curve(v, perturbation, al, z_star)
    bound = -2 * (1 - al) * (V * V - 2 * eps * V - eps * eps)
    scale = (V + eps) ** 2
    rnd = 16 * v.size * _EPS * scale
    inner = al < 1
    decreasing = bool(np.all(dL[inner] < 0) and np.all(np.diff(L) < 0))
    return Lemma7bCheck(
        ratio=eps / V,
        hypotheses_hold=bool(eps < LEMMA7B_RATIO * V),
        max_slope=float(np.max(dL[inner])),
        bound_margin=float(np.min(bound - dL + rnd) / (V * V)),
        strictly_decreasing=decreasing,
        min_delta=min_delta(L),
    )


def lemma7b_bound_factor(ratio: float) -> float:
    """$1 - 2r - r^2$ with $r = \\varepsilon/\\|v\\|$: Lemma 7b's bound
    $L' \\le -2(1-\\alpha)\\|v\\|^2(1 - 2r - r^2)$ proves a strict decrease exactly when it is positive, i.e.
    when $r < \\sqrt2 - 1$ (its positive root; checked symbolically in ``proofs_check``)."""
    r = float(ratio)
    return 1.0 - 2.0 * r - r * r


def two_leg_curve(v, ratio: float, alphas, *, alpha0: float = 0.5, seed=0):
    """The two-leg curve that makes Lemma 7b's inner product as small as the hypothesis allows.

    With $V = \\|v\\|$, $\\varepsilon = rV$, a unit $n \\perp v$, $c = \\min(1, 1/(2r))$,
    $s = \\sqrt{1 - c^2}$: the velocity is $p_w = v + \\varepsilon(-c\\hat v - s n)$ on
    $[0, \\alpha_0)$ and $p_u = v + \\varepsilon(-c\\hat v + s n)$ on $[\\alpha_0, 1]$, so
    $\\sup\\|z' - v\\| = \\varepsilon$ and $z(1) = z^* = 0$. Then
    $\\langle p_u, p_w\\rangle = V^2/2 - \\varepsilon^2$ for $r \\ge 1/2$ (else $(V-\\varepsilon)^2$),
    the least inner product of two points of the ball of radius ε around v, and just left of α₀
    $L'(\\alpha) \\to -2(1-\\alpha_0)\\langle p_u, p_w\\rangle$. So L is non-increasing iff
    $r \\le 1/\\sqrt2$ ([`LEMMA7B_SHARP_RATIO`][mlitheory.wide.lemma7.LEMMA7B_SHARP_RATIO]): Lemma 7b's $\\sqrt2 - 1$ is
    sufficient, not sharp.

    Args:
        v: the reference velocity, shape ``(n,)`` with ``n >= 2``, nonzero.
        ratio: $r = \\varepsilon/\\|v\\| \\ge 0$.
        alphas: where to evaluate, shape ``(m,)`` in [0, 1].
        alpha0: the corner, in (0, 1).
        seed: int or ``numpy.random.Generator`` for the direction n.

    Returns:
        ``(L, dL)``: $L(\\alpha) = \\|z(\\alpha) - z^*\\|^2$ and its right derivative, shape ``(m,)``.
    """
    v = _np(v, "v").ravel()
    V = float(np.linalg.norm(v))
    if v.size < 2 or V == 0:
        raise ValueError(f"v must be nonzero with at least 2 entries, got shape {v.shape} and norm {V}")
    if not ratio >= 0:
        raise ValueError(f"ratio must be >= 0, got {ratio}")
    if not 0 < alpha0 < 1:
        raise ValueError(f"alpha0 must be in (0, 1), got {alpha0}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    vh = v / V
    n = rng.standard_normal(v.size)
    n -= (n @ vh) * vh
    if np.linalg.norm(n) < 1e-6:  # drawn (nearly) along v: take the axis least aligned with v instead
        n = np.eye(v.size)[int(np.argmin(np.abs(vh)))]
        n -= (n @ vh) * vh
    n /= np.linalg.norm(n)
    eps = float(ratio) * V
    c = 1.0 if ratio <= 0.5 else 1.0 / (2.0 * float(ratio))
    s_ = math.sqrt(max(0.0, 1.0 - c * c))
    p_w = v + eps * (-c * vh - s_ * n)
    p_u = v + eps * (-c * vh + s_ * n)
    al = np.asarray(alphas, dtype=np.float64)
    if al.ndim != 1 or not np.all((al >= 0) & (al <= 1)):
        raise ValueError("alphas must be a 1-D array in [0, 1]")
    before = (al < alpha0)[:, None]
    tail = np.where(before, (alpha0 - al)[:, None] * p_w + (1 - alpha0) * p_u, (1 - al)[:, None] * p_u)
    vel = np.where(before, p_w, p_u)
    return np.sum(tail * tail, axis=1), -2.0 * np.sum(tail * vel, axis=1)
