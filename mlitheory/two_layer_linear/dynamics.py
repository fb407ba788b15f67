r"""Gradient-flow dynamics of two-layer linear networks (Saxe et al.), in closed form and by integration.

The network is $f(x) = W_2 W_1 x$ with $W_1 \in \mathbb{R}^{h\times d}$,
$W_2 \in \mathbb{R}^{m\times h}$, trained on the squared error
$\mathcal{L} = \frac{1}{2P}\sum_\mu \|y_\mu - W_2W_1x_\mu\|^2$. With whitened inputs
($\Sigma_{xx} = I$) the loss depends on the data only through $\Sigma_{yx} = USV^\top$:

$$
\mathcal{L} = \tfrac12\|\Sigma_{yx} - W_2W_1\|_F^2 + \text{const},\qquad
\tau\dot W_1 = W_2^\top(\Sigma_{yx} - W_2W_1),\quad \tau\dot W_2 = (\Sigma_{yx} - W_2W_1)W_1^\top,
$$

and $W_1W_1^\top - W_2^\top W_2$ is conserved. From a *decoupled* initialisation
$W_1(0) = R\,\mathrm{diag}(a)V^\top$, $W_2(0) = U\,\mathrm{diag}(b)R^\top$ ($R$ with orthonormal
columns) the weights stay decoupled and each mode obeys

$$
\tau\dot a = b(s - ab),\qquad \tau\dot b = a(s - ab),\qquad a^2 - b^2 = c \ \text{conserved}.
$$

**Closed form** (derived here, valid for every sign and size of $a(0), b(0)$): with $p = a+b$,
$q = a-b$ (so $pq = c$), $P = p^2$ and $Q = q^2$ obey the Riccati equations
$\tau\dot P = -\tfrac12(P^2 - 4sP - c^2)$ and $\tau\dot Q = -\tfrac12(Q^2 + 4sQ - c^2)$. With
$D = \sqrt{4s^2 + c^2}$, $e = e^{-Dt/\tau}$, $g = (1-e)/(2D)$, $P_- = -c^2/(2s + D)$ and
$Q_+ = c^2/(2s+D)$,

$$
P(t) = P_- + \frac{P(0) - P_-}{e + (P(0) - P_-)\,g},\qquad
Q(t) = Q_+ + \frac{(Q(0) - Q_+)\,e}{1 + (Q(0) - Q_+)\,g}.
$$

$p$ and $q$ never change sign, so $a = (p+q)/2$ and $b = (p-q)/2$. Each form is free of
cancellation where it is used (the larger of $P, Q$ is taken from its formula, the other from
$PQ = c^2$). The balanced case $a = b$ reduces to Saxe's sigmoid
$u(t) = s e^{2st/\tau} / (e^{2st/\tau} - 1 + s/u_0)$
([`balanced_mode_strength`][mlitheory.two_layer_linear.dynamics.balanced_mode_strength]).

References:
    Saxe, McClelland, Ganguli (2014), *Exact solutions to the nonlinear dynamics of learning in deep linear
    neural networks*, ICLR. Saxe, McClelland, Ganguli (2019), *A mathematical theory of semantic development in
    deep neural networks*, PNAS. Project reference ``theory_two_layer_linear.md`` §2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from mlitheory.results import Result

__all__ = [
    "GradientFlowResult",
    "TwoLayerLinearProblem",
    "balanced_mode_strength",
    "decoupled_init",
    "decoupled_modes",
    "gaussian_init",
    "gradient_flow",
    "linear_loss",
    "mode_closed_form",
    "problem_from_data",
    "problem_from_sigma",
    "random_problem",
    "whiten_inputs",
]

_EPS = np.finfo(np.float64).eps


def _as_float64(x, name: str, ndim: int | None = None) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a real array (NumPy or torch), got {type(x).__name__}") from e
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; pass finite values")
    return arr


@dataclass(frozen=True)
class TwoLayerLinearProblem(Result):
    """A regression task for a two-layer linear network, reduced to its input-output correlation.

    Attributes:
        sigma_yx: $\\Sigma_{yx} = Y^\\top X / P$, shape ``(m, d)`` (inputs whitened).
        U: left singular vectors, shape ``(m, k)`` with ``k = min(m, d)``.
        s: singular values, shape ``(k,)``, non-increasing, non-negative.
        V: right singular vectors, shape ``(d, k)``.
        loss_offset: the constant $\\tfrac12(\\operatorname{tr}\\Sigma_{yy} - \\|\\Sigma_{yx}\\|_F^2)$ so that
            [`linear_loss`][mlitheory.two_layer_linear.dynamics.linear_loss] equals the data MSE (0 when built from
            $\\Sigma_{yx}$ alone).
        whitening: the matrix ``M`` (``(d, d)``) applied to the raw inputs (``X @ M``), or ``None``.
    """

    sigma_yx: np.ndarray
    U: np.ndarray
    s: np.ndarray
    V: np.ndarray
    loss_offset: float = 0.0
    whitening: np.ndarray | None = None

    @property
    def rank(self) -> int:
        """Numerical rank of $\\Sigma_{yx}$ (singular values above ``max(m, d)·eps·s_max``)."""
        if self.s.size == 0 or self.s[0] == 0:
            return 0
        return int(np.sum(self.s > max(self.sigma_yx.shape) * _EPS * self.s[0]))

    @property
    def shape(self) -> tuple[int, int]:
        """``(m, d)``: output and input dimensions."""
        return tuple(self.sigma_yx.shape)  # type: ignore[return-value]

    def summary(self) -> str:
        m, d = self.shape
        return f"TwoLayerLinearProblem(m={m}, d={d}, rank={self.rank}, s={np.array2string(self.s, precision=4)})"


def problem_from_sigma(sigma_yx, *, loss_offset: float = 0.0) -> TwoLayerLinearProblem:
    """A problem from its correlation matrix $\\Sigma_{yx}$ (inputs assumed whitened).

    Args:
        sigma_yx: shape ``(m, d)``.
        loss_offset: constant added by [`linear_loss`][mlitheory.two_layer_linear.dynamics.linear_loss] (default 0).
    """
    S = _as_float64(sigma_yx, "sigma_yx", 2)
    U, s, Vt = np.linalg.svd(S, full_matrices=False)
    return TwoLayerLinearProblem(sigma_yx=S, U=U, s=s, V=Vt.T, loss_offset=float(loss_offset))


def whiten_inputs(X) -> tuple[np.ndarray, np.ndarray]:
    """Whiten inputs with the symmetric (ZCA) transform $M = \\Sigma_{xx}^{-1/2}$.

    Args:
        X: inputs, shape ``(P, d)`` with ``P >= d`` and $\\Sigma_{xx} = X^\\top X/P$ of full rank.

    Returns:
        ``(X @ M, M)``: whitened inputs ``(P, d)`` with $\\Sigma_{xx} = I$, and ``M`` ``(d, d)``.
    """
    X = _as_float64(X, "X", 2)
    P, d = X.shape
    Sxx = X.T @ X / P
    w, Q = np.linalg.eigh(Sxx)
    if w[0] <= d * _EPS * max(w[-1], 1e-300):
        raise ValueError(
            f"cannot whiten X of shape {X.shape}: Σxx = XᵀX/P is singular (smallest eigenvalue {w[0]:.3g}); "
            "whitening needs at least d linearly independent inputs"
        )
    M = (Q / np.sqrt(w)) @ Q.T
    return X @ M, M


def problem_from_data(X, Y, *, whiten: bool = False, whiten_tol: float = 1e-8) -> TwoLayerLinearProblem:
    """A problem from a data set, checking (or establishing) the whitened-input assumption.

    The closed-form dynamics and the theorem assume $\\Sigma_{xx} = X^\\top X/P = I$. Inputs whose
    $\\|\\Sigma_{xx} - I\\|_2$ exceeds ``whiten_tol`` are rejected unless ``whiten=True``, which replaces them
    by ``X @ M`` with $M = \\Sigma_{xx}^{-1/2}$ ([`whiten_inputs`][mlitheory.two_layer_linear.dynamics.whiten_inputs];
    stored in ``problem.whitening``).

    Args:
        X: inputs, shape ``(P, d)``.
        Y: targets, shape ``(P, m)``.
        whiten: whiten the inputs instead of raising.
        whiten_tol: accepted spectral-norm deviation of $\\Sigma_{xx}$ from the identity. The default
            1e-8 accepts data whitened in float64 (residual ~1e-15·cond) or in float32 (~1e-7 would fail: whiten
            again in float64).

    Raises:
        ValueError: shapes disagree, or inputs not whitened and ``whiten=False``.
    """
    X = _as_float64(X, "X", 2)
    Y = _as_float64(Y, "Y", 2)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows and Y has {Y.shape[0]}; they must be the same examples")
    P = X.shape[0]
    M = None
    dev = float(np.linalg.norm(X.T @ X / P - np.eye(X.shape[1]), 2))
    if dev > whiten_tol:
        if not whiten:
            raise ValueError(
                f"inputs are not whitened: ‖XᵀX/P − I‖₂ = {dev:.3g} > whiten_tol = {whiten_tol:g}. The two-layer "
                "linear theory assumes Σxx = I; pass whiten=True to whiten them (ZCA, Σxx^(-1/2)) or whiten X first"
            )
        X, M = whiten_inputs(X)
    S = Y.T @ X / P
    offset = 0.5 * (float(np.sum(Y * Y)) / P - float(np.sum(S * S)))
    prob = problem_from_sigma(S, loss_offset=offset)
    return TwoLayerLinearProblem(sigma_yx=prob.sigma_yx, U=prob.U, s=prob.s, V=prob.V, loss_offset=offset, whitening=M)


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def random_problem(
    d: int, m: int, *, rank: int | None = None, s_range: tuple[float, float] = (0.5, 3.0), seed=0
) -> TwoLayerLinearProblem:
    """A random $\\Sigma_{yx} = U\\,\\mathrm{diag}(s)V^\\top$ with Haar-random singular vectors.

    Args:
        d, m: input and output dimensions (positive).
        rank: number of non-zero singular values (default ``min(m, d)``).
        s_range: singular values drawn uniformly from this interval (positive).
        seed: int or ``numpy.random.Generator``.
    """
    if d < 1 or m < 1:
        raise ValueError(f"d and m must be positive, got d={d}, m={m}")
    k = min(m, d)
    rank = k if rank is None else rank
    if not 0 <= rank <= k:
        raise ValueError(f"rank must lie in [0, min(m, d)] = [0, {k}], got {rank}")
    if not 0 < s_range[0] <= s_range[1]:
        raise ValueError(f"s_range must be 0 < low <= high, got {s_range}")
    rng = _rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, k)))
    V, _ = np.linalg.qr(rng.standard_normal((d, k)))
    s = np.zeros(k)
    s[:rank] = np.sort(rng.uniform(*s_range, size=rank))[::-1]
    return problem_from_sigma((U * s) @ V.T)


def linear_loss(problem: TwoLayerLinearProblem, W1, W2) -> float:
    """Loss $\\tfrac12\\|\\Sigma_{yx} - W_2W_1\\|_F^2 + \\text{offset}$ (the data MSE/2 when whitened)."""
    E = problem.sigma_yx - _as_float64(W2, "W2", 2) @ _as_float64(W1, "W1", 2)
    return 0.5 * float(np.sum(E * E)) + problem.loss_offset


# ---------------------------------------------------------------------------------------------- closed forms


def _phi1(x: np.ndarray) -> np.ndarray:
    """(1 - e^{-x}) / x, equal to 1 at x = 0."""
    x = np.asarray(x, dtype=np.float64)
    out = np.ones_like(x)
    nz = x != 0
    out[nz] = -np.expm1(-x[nz]) / x[nz]
    return out


def mode_closed_form(a0, b0, s, t, *, tau: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Exact solution $(a(t), b(t))$ of $\\tau\\dot a = b(s-ab)$, $\\tau\\dot b = a(s-ab)$.

    Valid for balanced and unbalanced, positive and negative initial factors (see the module docstring).

    Args:
        a0, b0, s: initial factors and targets (broadcast together, shape ``S``); ``s >= 0``.
        t: times ``>= 0``, scalar or shape ``(n_t,)``.
        tau: time constant (positive).

    Returns:
        ``(a, b)``, each of shape ``t.shape + S``.

    Examples:
        >>> a, b = mode_closed_form(0.01, 0.01, 2.0, 5.0)  # balanced: u = ab follows Saxe's sigmoid
        >>> round(float(a * b), 10), round(float(balanced_mode_strength(1e-4, 2.0, 5.0)), 10)
        (1.9999175614, 1.9999175614)
    """
    if tau <= 0:
        raise ValueError(f"tau must be positive, got {tau}")
    a0, b0, s = np.broadcast_arrays(*(_as_float64(v, n) for v, n in ((a0, "a0"), (b0, "b0"), (s, "s"))))
    if np.any(s < 0):
        raise ValueError("mode targets s must be non-negative (singular values)")
    t = _as_float64(t, "t")
    if np.any(t < 0):
        raise ValueError("times t must be non-negative")
    tt = t.reshape(t.shape + (1,) * a0.ndim)
    p0, q0 = a0 + b0, a0 - b0
    P0, Q0 = p0 * p0, q0 * q0
    c = p0 * q0  # = a0² - b0²
    c2 = c * c
    D = np.hypot(2 * s, c)
    den = 2 * s + D
    root = np.divide(c2, den, out=np.zeros_like(c2), where=den > 0)  # -P_- = Q_+
    x = D * tt / tau
    e = np.exp(-x)
    g = tt / (2 * tau) * _phi1(x)
    X0 = P0 + root
    P = -root + X0 / (e + X0 * g)
    Y0 = Q0 - root
    Q = root + Y0 * e / (1 + Y0 * g)
    P, Q = np.maximum(P, 0.0), np.maximum(Q, 0.0)
    use_p = P >= Q
    sp = np.where(p0 < 0, -1.0, 1.0)
    sq = np.where(q0 < 0, -1.0, 1.0)
    p_from_P = sp * np.sqrt(P)
    q_from_Q = sq * np.sqrt(Q)
    with np.errstate(divide="ignore", invalid="ignore"):
        q_alt = np.where(p_from_P != 0, c / p_from_P, 0.0)
        p_alt = np.where(q_from_Q != 0, c / q_from_Q, 0.0)
    p = np.where(use_p, p_from_P, p_alt)
    q = np.where(use_p, q_alt, q_from_Q)
    at_zero = tt == 0  # exact initial values (the p, q round trip would cost an ulp)
    return np.where(at_zero, a0, (p + q) / 2), np.where(at_zero, b0, (p - q) / 2)


def balanced_mode_strength(u0, s, t, *, tau: float = 1.0) -> np.ndarray:
    """Saxe et al.'s sigmoid for a balanced mode ($a = b$, $u = ab > 0$).

    $$
    u(t) = \\frac{s\\,e^{2st/\\tau}}{e^{2st/\\tau} - 1 + s/u_0}
    $$

    Args:
        u0: initial strength ``> 0``; s: target ``> 0`` (broadcast, shape ``S``); t: times, shape ``(n_t,)`` or
            scalar; tau: time constant.

    Returns:
        Shape ``t.shape + S``.
    """
    u0, s = np.broadcast_arrays(_as_float64(u0, "u0"), _as_float64(s, "s"))
    if np.any(u0 <= 0) or np.any(s <= 0):
        raise ValueError("balanced_mode_strength needs u0 > 0 and s > 0")
    t = _as_float64(t, "t")
    tt = t.reshape(t.shape + (1,) * u0.ndim)
    # same formula divided by e^{2st/τ}: no overflow at long times
    em = np.exp(-2 * s * tt / tau)
    return s / (1 - em + (s / u0) * em)


# ------------------------------------------------------------------------------------------ initialisations


def decoupled_init(problem: TwoLayerLinearProblem, a0, b0, *, h: int | None = None, R=None, seed=None):
    """Decoupled init $W_1 = R\\,\\mathrm{diag}(a)V_k^\\top$, $W_2 = U_k\\,\\mathrm{diag}(b)R^\\top$.

    Args:
        problem: the task; its first ``k = len(a0)`` singular triples are used.
        a0, b0: mode factors, shape ``(k,)`` with ``k <= min(m, d)``.
        h: hidden width (default ``k``); must be ``>= k``.
        R: ``(h, k)`` matrix with orthonormal columns. Default: the first ``k`` columns of the identity, or a
            Haar-random one when ``seed`` is given.
        seed: int or Generator for a random ``R``.

    Returns:
        ``(W1, W2, R)`` with shapes ``(h, d)``, ``(m, h)``, ``(h, k)``.
    """
    a0 = _as_float64(a0, "a0", 1)
    b0 = _as_float64(b0, "b0", 1)
    if a0.shape != b0.shape:
        raise ValueError(f"a0 and b0 must have the same shape, got {a0.shape} and {b0.shape}")
    k = a0.size
    if k > problem.s.size:
        raise ValueError(f"{k} modes requested but the problem has only min(m, d) = {problem.s.size}")
    if R is None:
        h = k if h is None else h
        if h < k:
            raise ValueError(f"hidden width h={h} is smaller than the number of modes k={k}")
        if seed is None:
            R = np.eye(h)[:, :k]
        else:
            R, _ = np.linalg.qr(_rng(seed).standard_normal((h, k)))
    else:
        R = _as_float64(R, "R", 2)
        if R.shape[1] != k or not np.allclose(R.T @ R, np.eye(k), atol=1e-12):
            raise ValueError(f"R must be (h, {k}) with orthonormal columns, got shape {R.shape}")
    W1 = (R * a0) @ problem.V[:, :k].T
    W2 = (problem.U[:, :k] * b0) @ R.T
    return W1, W2, R


def decoupled_modes(problem: TwoLayerLinearProblem, W1, W2, R) -> tuple[np.ndarray, np.ndarray]:
    """Read the mode factors back: $a_i = r_i^\\top W_1 v_i$, $b_i = u_i^\\top W_2 r_i$.

    Args:
        W1: ``(..., h, d)``; W2: ``(..., m, h)``; R: ``(h, k)``.

    Returns:
        ``(a, b)``, each ``(..., k)``.
    """
    k = R.shape[1]
    V, U = problem.V[:, :k], problem.U[:, :k]
    a = np.einsum("hk,...hd,dk->...k", R, np.asarray(W1), V)
    b = np.einsum("mk,...mh,hk->...k", U, np.asarray(W2), R)
    return a, b


def gaussian_init(d: int, h: int, m: int, *, scale: float, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Generic (non-decoupled) i.i.d. Gaussian weights with standard deviation ``scale``: ``(W1 (h,d), W2 (m,h))``."""
    if min(d, h, m) < 1:
        raise ValueError(f"dimensions must be positive, got d={d}, h={h}, m={m}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    rng = _rng(seed)
    return scale * rng.standard_normal((h, d)), scale * rng.standard_normal((m, h))


# ---------------------------------------------------------------------------------------------- integrator


@dataclass(frozen=True)
class GradientFlowResult(Result):
    """Gradient-flow trajectory from [`gradient_flow`][mlitheory.two_layer_linear.dynamics.gradient_flow].

    Attributes:
        t: times, shape ``(n_t,)``.
        W1: shape ``(n_t, h, d)``; W2: shape ``(n_t, m, h)``.
        loss: training loss at each time, ``(n_t,)``.
        conserved_drift: max over times of $\\|(W_1W_1^\\top - W_2^\\top W_2)(t) - (\\cdot)(0)\\|_F$
            (exactly 0 for the true flow: a check of integration accuracy).
        nfev: right-hand-side evaluations.
        rtol, atol: tolerances used.
    """

    t: np.ndarray
    W1: np.ndarray
    W2: np.ndarray
    loss: np.ndarray
    conserved_drift: float
    nfev: int
    rtol: float
    atol: float

    _summary_fields = ("t", "loss", "conserved_drift", "nfev", "rtol", "atol")


def gradient_flow(
    problem: TwoLayerLinearProblem,
    W1_0,
    W2_0,
    t,
    *,
    tau: float = 1.0,
    rtol: float = 1e-12,
    atol: float | None = None,
) -> GradientFlowResult:
    """Integrate the gradient flow of any initialisation with SciPy ``solve_ivp`` (DOP853).

    $$
    \\tau\\dot W_1 = W_2^\\top E,\\quad \\tau\\dot W_2 = E W_1^\\top,\\quad E = \\Sigma_{yx} - W_2W_1
    $$

    Args:
        problem: the task.
        W1_0: ``(h, d)``; W2_0: ``(m, h)``. Any hidden width ``h``, including bottlenecks ``h < rank``.
        t: output times (non-decreasing, ``>= 0``), scalar or ``(n_t,)``; integration starts at 0.
        tau: time constant.
        rtol: relative tolerance (default 1e-12).
        atol: absolute tolerance; default ``1e-3 · rtol ·`` the largest initial weight, so small
            initialisations are integrated to the same relative accuracy as large ones.

    Returns:
        [`GradientFlowResult`][mlitheory.two_layer_linear.dynamics.GradientFlowResult].
    """
    W1_0 = _as_float64(W1_0, "W1_0", 2)
    W2_0 = _as_float64(W2_0, "W2_0", 2)
    m, d = problem.shape
    h = W1_0.shape[0]
    if W1_0.shape[1] != d or W2_0.shape != (m, h):
        raise ValueError(
            f"weights must be W1 (h, {d}) and W2 ({m}, h) with the same h; got W1 {W1_0.shape}, W2 {W2_0.shape}"
        )
    if tau <= 0:
        raise ValueError(f"tau must be positive, got {tau}")
    t = np.atleast_1d(_as_float64(t, "t"))
    if np.any(t < 0) or np.any(np.diff(t) < 0):
        raise ValueError("times t must be non-negative and non-decreasing")
    scale = max(np.max(np.abs(W1_0)), np.max(np.abs(W2_0)), 1e-300)
    atol = 1e-3 * rtol * scale if atol is None else atol
    S = problem.sigma_yx
    n1 = h * d

    def rhs(_t, y):
        W1 = y[:n1].reshape(h, d)
        W2 = y[n1:].reshape(m, h)
        E = S - W2 @ W1
        return np.concatenate([(W2.T @ E).ravel(), (E @ W1.T).ravel()]) / tau

    y0 = np.concatenate([W1_0.ravel(), W2_0.ravel()])
    t_end = float(t[-1])
    if t_end == 0.0:
        Y = np.repeat(y0[:, None], t.size, axis=1)
        nfev = 0
    else:
        sol = solve_ivp(rhs, (0.0, t_end), y0, method="DOP853", t_eval=t, rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        Y, nfev = sol.y, int(sol.nfev)
    W1 = Y[:n1].T.reshape(-1, h, d)
    W2 = Y[n1:].T.reshape(-1, m, h)
    C0 = W1_0 @ W1_0.T - W2_0.T @ W2_0
    C = W1 @ np.swapaxes(W1, 1, 2) - np.swapaxes(W2, 1, 2) @ W2
    drift = float(np.max(np.linalg.norm((C - C0).reshape(len(t), -1), axis=1)))
    E = S[None] - W2 @ W1
    loss = 0.5 * np.sum(E * E, axis=(1, 2)) + problem.loss_offset
    return GradientFlowResult(
        t=t, W1=W1, W2=W2, loss=loss, conserved_drift=drift, nfev=nfev, rtol=rtol, atol=float(atol)
    )
