r"""Propositions 1 and 2: the error and loss plateaus of an $r$-homogeneous network with an output bias.

Along the linear path from $\theta_0 = 0$ an $r$-homogeneous-weight network with output bias has logits

$$
f(x;\theta_\alpha) = \alpha^r g_T(x) + \alpha\, b_T ,
$$

(the decomposition (1) of the reference), and with the *homogeneous* bias scheme $b^{[\alpha]} = \alpha^r b_T$
they are $\alpha^r (g_T(x) + b_T)$. Everything here is a function of the final signal ``g_T`` (shape
``(n, k)``), the final output bias ``b_T`` (shape ``(k,)``), the labels ``y`` (shape ``(n,)``) and the degree ``r``;
arrays are NumPy float64.

**Proposition 1** (error plateau). Let $j^\star = \arg\max_j b_{T,j}$ be unique and

$$
\delta = b_{T,j^\star} - \max_{j\ne j^\star} b_{T,j},\quad
G = \max_i \max_j \big(g_{T,j}(x_i) - g_{T,j^\star}(x_i)\big),\quad
\Delta_{\max} = \max_{j,j'} (b_{T,j} - b_{T,j'}),\quad
m = \min_i \min_{j \ne y_i} \big(g_{T,y_i}(x_i) - g_{T,j}(x_i)\big) > 0 .
$$

Then every point is predicted as $j^\star$ for $0 < \alpha < \alpha_{lo} = (\delta/G)^{1/(r-1)}$, so
$\gamma_{err}(\alpha) = 1 - \pi_{j^\star}$, and $\gamma_{err}(\alpha) = 0$ for
$\alpha > \alpha_{hi} = (\Delta_{\max}/m)^{1/(r-1)}$. With a constant bias the error equals the final error for
every $\alpha > 0$.

**Proposition 2** (loss lower bound). With the mean centred margin
$\bar M = \frac1n\sum_i (g_{T,y_i}(x_i) - \frac1k\sum_j g_{T,j}(x_i))$, for every $\alpha \ge 0$

$$
\gamma_{loss}(\alpha) \ge \log k - \alpha^r \bar M - \alpha\Big(\frac1n\sum_i b_{T,y_i} - \bar b_T\Big),
$$

and, from the cumulant expansion $\mathrm{LSE}(z) = \log k + \kappa_1 + \kappa_2/2 + \kappa_3/6 + O(|z|^4)$ of
$z_J$, $J$ uniform on the classes,

$$
\gamma_{loss}(\alpha) = \log k + c_1\alpha + c_2\alpha^2 + c_3\alpha^3 + O(\alpha^4),\qquad
c_2 = \tfrac12\mathrm{Var}_j b_T - [r=2]\,\bar M ,
$$

([`loss_expansion`][mlitheory.bias_plateau.theory.loss_expansion] gives every coefficient; $c_1 = 0$ for balanced data).

**Plateau length** with tolerance $\eta$: $\ell(\eta) = \sup\{\alpha\in[0,1] :
\gamma(\alpha') \ge \gamma(0^+) - \eta\ \forall\alpha'\in(0,\alpha]\}$
([`plateau_length`][mlitheory.bias_plateau.measures.plateau_length] on a grid,
[`exact_error_plateau_length`][mlitheory.bias_plateau.theory.exact_error_plateau_length] exactly under (1)).

References:
    Wang, Wang, Zhou, Ge, *Plateau in Monotonic Linear Interpolation — A "Biased" View of Loss Landscape for Deep
    Networks*, ICLR 2023 (arXiv 2210.01019). The statements above are the project's reconstruction
    (``theory_bias_plateau.md`` §3), not the paper's exact theorems.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlitheory.bias_plateau.measures import _as_alphas, cross_entropy, error_rate, plateau_end
from mlitheory.results import Result

__all__ = [
    "SCHEMES_TOY",
    "PlateauConstants",
    "Proposition1Check",
    "Proposition2Check",
    "check_proposition1",
    "check_proposition2",
    "correct_intervals",
    "exact_error_curve",
    "exact_error_plateau_length",
    "loss_expansion",
    "loss_lower_bound",
    "path_logits",
    "plateau_constants",
]

#: bias schemes of the decomposition (1): ``"linear"`` ($\alpha b_T$) and ``"homogeneous"`` ($\alpha^r b_T$)
SCHEMES_TOY = ("linear", "homogeneous")


# ---------------------------------------------------------------------------------------------------------------------
# input validation


def _as_problem(g_T, b_T, y, r=None):
    g = np.asarray(g_T, dtype=np.float64)
    b = np.asarray(b_T, dtype=np.float64)
    if g.ndim != 2:
        raise ValueError(f"g_T must have shape (n, k) (signal of each point and class), got shape {g.shape}")
    n, k = g.shape
    if k < 2:
        raise ValueError(f"need k >= 2 classes, got g_T with k = {k} columns")
    if n < 1:
        raise ValueError("g_T has no rows; pass at least one data point")
    if b.shape != (k,):
        raise ValueError(f"b_T must have shape (k,) = ({k},) to match g_T, got {b.shape}")
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(b))):
        raise ValueError("g_T and b_T must be finite (found nan or inf)")
    yy = np.asarray(y)
    if yy.shape != (n,):
        raise ValueError(f"y must have shape (n,) = ({n},), got {yy.shape}")
    if not np.issubdtype(yy.dtype, np.integer):
        raise TypeError(f"y must hold integer class labels, got dtype {yy.dtype}")
    if yy.min() < 0 or yy.max() >= k:
        raise ValueError(f"labels y must lie in [0, {k - 1}], got range [{yy.min()}, {yy.max()}]")
    if r is not None:
        r = _check_r(r, minimum=1.0, strict=False)
    return g, b, yy.astype(np.int64), r


def _check_r(r, *, minimum: float, strict: bool) -> float:
    if isinstance(r, bool) or not isinstance(r, (int, float, np.integer, np.floating)):
        raise TypeError(f"r must be a real number (the degree of homogeneity), got {type(r).__name__}")
    r = float(r)
    bad = (r <= minimum) if strict else (r < minimum)
    if not math.isfinite(r) or bad:
        raise ValueError(f"r must be {'>' if strict else '>='} {minimum:g} (degree of homogeneity), got {r}")
    return r


# ---------------------------------------------------------------------------------------------------------------------
# curves under the decomposition (1)


def path_logits(g_T, b_T, alphas, r, *, scheme: str = "linear") -> np.ndarray:
    r"""Logits along the path from $\theta_0 = 0$: $\alpha^r g_T + \beta(\alpha) b_T$.

    Args:
        g_T: final signal, shape ``(n, k)``.
        b_T: final output bias, shape ``(k,)``.
        alphas: interpolation coefficients, shape ``(m,)`` (values >= 0).
        r: degree of homogeneity of the weights, ``r >= 1``.
        scheme: ``"linear"`` ($\beta = \alpha$) or ``"homogeneous"`` ($\beta = \alpha^r$).

    Returns:
        Logits, shape ``(m, n, k)``.
    """
    g = np.asarray(g_T, dtype=np.float64)
    if g.ndim != 2:
        raise ValueError(f"g_T must have shape (n, k), got {g.shape}")
    b = np.asarray(b_T, dtype=np.float64)
    if b.shape != (g.shape[1],):
        raise ValueError(f"b_T must have shape ({g.shape[1]},), got {b.shape}")
    r = _check_r(r, minimum=1.0, strict=False)
    a = _as_alphas(alphas)
    if scheme == "linear":
        beta = a
    elif scheme == "homogeneous":
        beta = a**r
    else:
        raise ValueError(f"unknown scheme {scheme!r}; choose one of {SCHEMES_TOY}")
    return (a**r)[:, None, None] * g[None] + beta[:, None, None] * b[None, None, :]


# ---------------------------------------------------------------------------------------------------------------------
# Proposition 1


@dataclass(frozen=True)
class PlateauConstants(Result):
    r"""The constants of Proposition 1 for one $(g_T, b_T, y, r)$.

    Attributes:
        r: degree of homogeneity.
        j_star: index of the largest final bias (``-1`` when it is not unique).
        delta: gap from the largest bias to the second largest (``0`` when not unique).
        G: largest signal advantage of any class over $j^\star$ on any point (``>= 0``).
        delta_max: largest bias gap $\max b_T - \min b_T$.
        m: smallest final signal margin over points (the conclusion (b) needs ``m > 0``).
        pi_j_star: fraction of points labelled $j^\star$.
        alpha_lo: $(\delta/G)^{1/(r-1)}$ (``inf`` when ``G = 0``; ``0`` when ``delta = 0``).
        alpha_hi: $(\Delta_{\max}/m)^{1/(r-1)}$ (``inf`` when ``m <= 0``).
    """

    r: float
    j_star: int
    delta: float
    G: float
    delta_max: float
    m: float
    pi_j_star: float
    alpha_lo: float
    alpha_hi: float


def plateau_constants(g_T, b_T, y, r) -> PlateauConstants:
    r"""Compute $j^\star, \delta, G, \Delta_{\max}, m, \alpha_{lo}, \alpha_{hi}$ of Proposition 1.

    Args:
        g_T: final signal, shape ``(n, k)``.
        b_T: final output bias, shape ``(k,)``.
        y: labels, shape ``(n,)``.
        r: degree of homogeneity, ``r > 1``.
    """
    g, b, yy, _ = _as_problem(g_T, b_T, y)
    r = _check_r(r, minimum=1.0, strict=True)
    n, k = g.shape
    order = np.argsort(-b, kind="stable")
    top, second = b[order[0]], b[order[1]]
    unique = top > second
    j_star = int(order[0]) if unique else -1
    delta = float(top - second) if unique else 0.0
    jj = int(order[0])
    G = float(np.max(g - g[:, [jj]]))
    delta_max = float(b.max() - b.min())
    gy = g[np.arange(n), yy]
    others = np.where(np.arange(k) == yy[:, None], -np.inf, g)
    m = float(np.min(gy - others.max(axis=1)))
    pi = float(np.mean(yy == jj)) if unique else float("nan")
    p = 1.0 / (r - 1.0)
    if not unique:
        alpha_lo = 0.0
    elif G == 0.0:
        alpha_lo = math.inf
    else:
        alpha_lo = (delta / G) ** p
    alpha_hi = (delta_max / m) ** p if m > 0 else math.inf
    return PlateauConstants(
        r=r,
        j_star=j_star,
        delta=delta,
        G=G,
        delta_max=delta_max,
        m=m,
        pi_j_star=pi,
        alpha_lo=alpha_lo,
        alpha_hi=alpha_hi,
    )


def correct_intervals(g_T, b_T, y, r, *, scheme: str = "linear") -> tuple[np.ndarray, np.ndarray]:
    r"""Exact set of $\alpha > 0$ where each point is classified correctly under (1): an open interval.

    Point $i$ is correct iff $t\,(g_{y}-g_j) > b_j - b_y$ for every $j \ne y$, with
    $t = \alpha^{r-1}$ (linear scheme). Each condition is a half-line in $t$, so the set is an open
    interval $(t_{lo}, t_{hi})$, returned as $\alpha$-values. Under the homogeneous scheme the logits are
    $\alpha^r(g_T + b_T)$ and the interval is $(0, \infty)$ or empty.

    Args:
        g_T, b_T, y, r: as in [`plateau_constants`][mlitheory.bias_plateau.theory.plateau_constants] (``r > 1`` for the
            linear scheme).
        scheme: ``"linear"`` or ``"homogeneous"``.

    Returns:
        ``(lo, hi)``, each shape ``(n,)``: point ``i`` is correct exactly for ``lo[i] < alpha < hi[i]``; an empty set
        is ``lo = hi = 0``; ``hi = inf`` when it stays correct.
    """
    g, b, yy, _ = _as_problem(g_T, b_T, y)
    n, k = g.shape
    rows = np.arange(n)
    d = g[rows, yy][:, None] - g  # (n, k) signal margin of the label over j
    c = b[None, :] - b[yy][:, None]  # (n, k) bias advantage of j over the label
    mask = np.arange(k)[None, :] != yy[:, None]
    if scheme == "homogeneous":
        ok = np.all(~mask | (d + c > 0), axis=1)
        lo = np.zeros(n)
        hi = np.where(ok, math.inf, 0.0)
        return lo, hi
    if scheme != "linear":
        raise ValueError(f"unknown scheme {scheme!r}; choose one of {SCHEMES_TOY}")
    r = _check_r(r, minimum=1.0, strict=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = c / d
    t_lo = np.max(np.where(mask & (d > 0), ratio, -math.inf), axis=1)
    t_lo = np.maximum(t_lo, 0.0)
    t_hi = np.min(np.where(mask & (d < 0), ratio, math.inf), axis=1)
    never = np.any(mask & (d == 0) & (c >= 0), axis=1) | (t_hi <= t_lo)
    p = 1.0 / (r - 1.0)
    lo = np.where(never, 0.0, t_lo**p)
    hi = np.where(never, 0.0, np.where(np.isinf(t_hi), math.inf, np.maximum(t_hi, 0.0) ** p))
    return lo, hi


def exact_error_curve(g_T, b_T, y, r, alphas, *, scheme: str = "linear") -> np.ndarray:
    """Error at each ``alpha`` from the exact intervals of
    [`correct_intervals`][mlitheory.bias_plateau.theory.correct_intervals], shape ``(m,)``."""
    lo, hi = correct_intervals(g_T, b_T, y, r, scheme=scheme)
    a = _as_alphas(alphas)
    correct = (lo[None, :] < a[:, None]) & (a[:, None] < hi[None, :])
    return 1.0 - correct.mean(axis=1)


def exact_error_plateau_length(g_T, b_T, y, r, eta: float = 0.0, *, scheme: str = "linear") -> float:
    r"""Exact $\ell_{err}(\eta)$ of the error curve under (1), clipped to ``[0, 1]``.

    The error curve is piecewise constant between the interval ends of
    [`correct_intervals`][mlitheory.bias_plateau.theory.correct_intervals] and at least as large at an end as on both
    sides, so $\ell_{err}(\eta)$ is the first end after which the error falls below $\gamma_{err}(0^+) - \eta$ (``1.0``
    when it never does on ``(0, 1]``).
    """
    if not (isinstance(eta, (int, float, np.floating)) and eta >= 0):
        raise ValueError(f"eta must be a number >= 0, got {eta!r}")
    lo, hi = correct_intervals(g_T, b_T, y, r, scheme=scheme)
    ends = np.unique(np.concatenate([lo, hi]))
    ends = ends[np.isfinite(ends) & (ends > 0)]
    start = 1.0 - float(np.mean((lo == 0.0) & (hi > 0.0)))  # error just right of 0: correct iff lo == 0 < hi
    for a in ends:
        if a >= 1.0:
            break
        just_right = a + 0.5 * ((ends[ends > a].min() if np.any(ends > a) else a + 1.0) - a)
        err = 1.0 - float(np.mean((lo < just_right) & (just_right < hi)))
        if err < start - eta:
            return float(a)
    return 1.0


@dataclass(frozen=True)
class Proposition1Check(Result):
    r"""Outcome of [`check_proposition1`][mlitheory.bias_plateau.theory.check_proposition1].

    Attributes:
        constants: the [`PlateauConstants`][mlitheory.bias_plateau.theory.PlateauConstants].
        hypotheses_hold: $j^\star$ unique, $m > 0$, $r > 1$.
        alphas: grid used, shape ``(m,)``.
        error: error curve on the grid (direct evaluation of the logits), shape ``(m,)``.
        plateau_holds: (a) error $= 1-\pi_{j^\star}$ and every point predicted $j^\star$ on the grid points
            in $(0, \alpha_{lo})$.
        plateau_margin: smallest $(z_{j^\star} - z_j)/\alpha$ over those grid points, points and
            $j\ne j^\star$ (Proposition 1 says it is $\ge \delta - \alpha^{r-1}G > 0$); ``inf`` if none.
        recovery_holds: (b) error 0 on the grid points in $(\alpha_{hi}, 1]$.
        recovery_margin: smallest $(z_y - z_j)/\alpha$ there ($\ge \alpha^{r-1}m - \Delta_{\max} > 0$).
        exact_plateau: exact $\ell_{err}(0)$; the proposition gives
            $\min(\alpha_{lo},1) \le \ell_{err}(0) \le \alpha_{hi}$ whenever $\gamma_{err}(0^+) > 0$.
        exact_plateau_holds: that sandwich (up to a relative 1e-12 for the round-off of the two powers).
        constant_bias_holds: with $b_T$ replaced by a constant vector (0, which gives the same argmax as any
            constant), error = final error at every grid $\alpha > 0$.
    """

    constants: PlateauConstants
    hypotheses_hold: bool
    alphas: np.ndarray
    error: np.ndarray
    plateau_holds: bool
    plateau_margin: float
    recovery_holds: bool
    recovery_margin: float
    exact_plateau: float
    exact_plateau_holds: bool
    constant_bias_holds: bool

    @property
    def conclusion_holds(self) -> bool:
        return self.plateau_holds and self.recovery_holds and self.exact_plateau_holds and self.constant_bias_holds

    @property
    def margin(self) -> float:
        """Worst margin of (a) and (b) (``inf`` when both grid parts are empty)."""
        return min(self.plateau_margin, self.recovery_margin)

    def summary(self) -> str:
        c = self.constants
        return (
            f"Proposition 1 (r = {c.r:g}): j* = {c.j_star}, delta = {c.delta:.4g}, G = {c.G:.4g}, "
            f"Delta_max = {c.delta_max:.4g}, m = {c.m:.4g}\n"
            f"  alpha_lo = {c.alpha_lo:.4g}, exact plateau end = {self.exact_plateau:.4g}, "
            f"alpha_hi = {c.alpha_hi:.4g}\n"
            f"  hypotheses {'hold' if self.hypotheses_hold else 'FAIL'}; (a) plateau "
            f"{'holds' if self.plateau_holds else 'FAILS'} (margin {self.plateau_margin:.3g}); (b) recovery "
            f"{'holds' if self.recovery_holds else 'FAILS'} (margin {self.recovery_margin:.3g}); constant bias: "
            f"{'no plateau' if self.constant_bias_holds else 'FAILS'}"
        )


def _default_grid(m: int = 201) -> np.ndarray:
    return np.linspace(0.0, 1.0, m)


def check_proposition1(g_T, b_T, y, r, alphas=None) -> Proposition1Check:
    """Check Proposition 1 on one instance by direct evaluation of the logits (1) on a grid.

    Args:
        g_T: final signal, shape ``(n, k)``.
        b_T: final output bias, shape ``(k,)``.
        y: labels, shape ``(n,)``.
        r: degree of homogeneity, ``r > 1``.
        alphas: grid in ``[0, 1]`` (default 201 equispaced points) to which the points just inside
            ``alpha_lo`` and just outside ``alpha_hi`` are added.
    """
    g, b, yy, _ = _as_problem(g_T, b_T, y)
    r = _check_r(r, minimum=1.0, strict=True)
    c = plateau_constants(g, b, yy, r)
    grid = _default_grid() if alphas is None else _as_alphas(alphas)
    extra = [x for x in (c.alpha_lo * (1 - 1e-9), c.alpha_hi * (1 + 1e-9)) if 0 < x <= 1]
    grid = np.unique(np.concatenate([grid, extra]))
    n, k = g.shape
    hyp = c.j_star >= 0 and c.m > 0
    z = path_logits(g, b, grid, r)
    err = error_rate(z, yy)

    pos = grid > 0
    in_a = pos & (grid < c.alpha_lo)
    in_b = pos & (grid > c.alpha_hi) & (grid <= 1)
    js = max(c.j_star, 0)
    if np.any(in_a):
        za = z[in_a] / grid[in_a][:, None, None]
        others = np.where(np.arange(k) == js, np.inf, za[..., js : js + 1] - za)
        plateau_margin = float(others.min())
        plateau_ok = bool(plateau_margin > 0 and np.all(err[in_a] == 1.0 - c.pi_j_star))
    else:
        plateau_margin, plateau_ok = math.inf, True
    if np.any(in_b):
        zb = z[in_b] / grid[in_b][:, None, None]
        zy = zb[:, np.arange(n), yy][..., None]
        gaps = np.where(np.arange(k)[None, None, :] == yy[None, :, None], np.inf, zy - zb)
        recovery_margin = float(gaps.min())
        recovery_ok = bool(recovery_margin > 0 and np.all(err[in_b] == 0.0))
    else:
        recovery_margin, recovery_ok = math.inf, True

    if r > 1 and c.j_star >= 0:
        exact = exact_error_plateau_length(g, b, yy, r, 0.0)
        lo, hi = correct_intervals(g, b, yy, r)
        start = 1.0 - float(np.mean((lo == 0.0) & (hi > 0.0)))
        # the end can coincide with alpha_lo (a point attains G against the runner-up class); both sides are then
        # the same power of the same ratio, evaluated by two pow implementations: allow a few ulps
        rel = 1e-12
        exact_ok = exact >= min(c.alpha_lo, 1.0) * (1 - rel) and (start == 0.0 or exact <= c.alpha_hi * (1 + rel))
    else:
        exact, exact_ok = float("nan"), True

    # a constant bias shifts every logit equally; it is taken as 0 so that the signal alpha^r g is not absorbed in
    # round-off by a large common term at tiny alpha (any constant gives the same argmax in exact arithmetic)
    z_const = path_logits(g, np.zeros(k), grid, r)
    err_const = error_rate(z_const, yy)
    final_err = float(error_rate(g[None], yy)[0])
    const_ok = bool(np.all(err_const[pos] == final_err))

    return Proposition1Check(
        constants=c,
        hypotheses_hold=bool(hyp),
        alphas=grid,
        error=err,
        plateau_holds=plateau_ok,
        plateau_margin=plateau_margin,
        recovery_holds=recovery_ok,
        recovery_margin=recovery_margin,
        exact_plateau=exact,
        exact_plateau_holds=bool(exact_ok),
        constant_bias_holds=const_ok,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Proposition 2


def _mean_margin(g, yy) -> float:
    n = g.shape[0]
    return float(np.mean(g[np.arange(n), yy] - g.mean(axis=1)))


def loss_lower_bound(g_T, b_T, y, r, alphas) -> np.ndarray:
    r"""Proposition 2's bound $\log k - \alpha^r\bar M - \alpha(\frac1n\sum_i b_{T,y_i} - \bar b_T)$.

    Returns:
        Shape ``(m,)`` for ``alphas`` of shape ``(m,)``.
    """
    g, b, yy, r = _as_problem(g_T, b_T, y, r)
    a = _as_alphas(alphas)
    k = g.shape[1]
    return math.log(k) - a**r * _mean_margin(g, yy) - a * (float(np.mean(b[yy])) - float(b.mean()))


def loss_expansion(g_T, b_T, y, r) -> np.ndarray:
    r"""Coefficients $(c_0, c_1, c_2, c_3)$ of $\gamma_{loss}(\alpha) = \sum_p c_p\alpha^p + O(\alpha^4)$.

    From $\mathrm{LSE}(z) = \log k + \kappa_1 + \kappa_2/2 + \kappa_3/6 + O(|z|^4)$, the cumulants of
    $z_J$ with $J$ uniform over classes, and $z = \alpha b_T + \alpha^r g_T(x)$:

    $$
    c_0 = \log k,\quad c_1 = \bar b - \tfrac1n\textstyle\sum_i b_{y_i},\quad
    c_2 = \tfrac12\mathrm{Var}_j b - [r=2]\bar M,\quad
    c_3 = \tfrac16\mu_3(b) - [r=3]\bar M + [r=2]\,\tfrac1n\textstyle\sum_i\mathrm{Cov}_j(b, g(x_i)),
    $$

    with $\mathrm{Var}_j, \mathrm{Cov}_j, \mu_3$ population moments over the ``k`` classes.

    Args:
        g_T, b_T, y: as in [`plateau_constants`][mlitheory.bias_plateau.theory.plateau_constants].
        r: integer degree ``>= 2``.

    Returns:
        Array ``[c0, c1, c2, c3]``.
    """
    g, b, yy, _ = _as_problem(g_T, b_T, y)
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 2:
        raise ValueError(f"loss_expansion needs an integer r >= 2, got {r!r}")
    k = g.shape[1]
    bc = b - b.mean()
    M = _mean_margin(g, yy)
    c1 = float(b.mean() - np.mean(b[yy]))
    c2 = 0.5 * float(np.mean(bc**2)) - (M if r == 2 else 0.0)
    cov = float(np.mean((g - g.mean(axis=1, keepdims=True)) @ bc) / k)
    c3 = float(np.mean(bc**3)) / 6.0 - (M if r == 3 else 0.0) + (cov if r == 2 else 0.0)
    return np.array([math.log(k), c1, c2, c3])


@dataclass(frozen=True)
class Proposition2Check(Result):
    r"""Outcome of [`check_proposition2`][mlitheory.bias_plateau.theory.check_proposition2].

    Attributes:
        r: degree of homogeneity.
        mean_margin: $\bar M$.
        alphas: grid, shape ``(m,)``.
        loss: loss curve (direct evaluation of (1)), shape ``(m,)``.
        bound: Proposition 2's lower bound on the grid, shape ``(m,)``.
        bound_margin: $\min_\alpha(\gamma_{loss} - \text{bound})$ (``>= 0`` by the proposition; small
            negative round-off allowed by ``tol``).
        bound_holds: ``bound_margin >= -tol``.
        tol: round-off allowance: $8\,\epsilon_{64}(\log k + \max|z|)$.
        eta: tolerance of the loss plateau.
        loss_plateau_bound: $\min(1,(\eta/\bar M)^{1/r})$ for balanced data (``1.0`` when
            $\bar M \le 0$); ``nan`` otherwise.
        loss_plateau: grid $\ell_{loss}(\eta)$ with reference $\gamma(0) = \log k$.
        loss_plateau_holds: $\gamma(\alpha) \ge \log k - \eta$ at every grid point up to the bound (balanced
            data only; ``True`` when not balanced).
    """

    r: float
    mean_margin: float
    alphas: np.ndarray
    loss: np.ndarray
    bound: np.ndarray
    bound_margin: float
    bound_holds: bool
    tol: float
    eta: float
    loss_plateau_bound: float
    loss_plateau: float
    loss_plateau_holds: bool

    @property
    def conclusion_holds(self) -> bool:
        return self.bound_holds and self.loss_plateau_holds

    def summary(self) -> str:
        return (
            f"Proposition 2 (r = {self.r:g}): mean margin {self.mean_margin:.4g}; loss - bound >= "
            f"{self.bound_margin:.3e} on {self.alphas.size} grid points ({'holds' if self.bound_holds else 'FAILS'})\n"
            f"  loss plateau (eta = {self.eta:g}): grid {self.loss_plateau:.4g} >= bound "
            f"{self.loss_plateau_bound:.4g}: {'holds' if self.loss_plateau_holds else 'FAILS'}"
        )


def check_proposition2(g_T, b_T, y, r, alphas=None, *, eta: float = 0.1) -> Proposition2Check:
    """Check Proposition 2 on one instance: the lower bound on a grid and the loss-plateau length it implies.

    Args:
        g_T, b_T, y: as in [`plateau_constants`][mlitheory.bias_plateau.theory.plateau_constants].
        r: degree of homogeneity ``>= 1``.
        alphas: grid in ``[0, 1]`` (default 201 equispaced points).
        eta: tolerance of the loss plateau, a number ``> 0``.
    """
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not (math.isfinite(eta) and eta > 0):
        raise ValueError(f"eta must be a finite number > 0, got {eta!r}")
    g, b, yy, r = _as_problem(g_T, b_T, y, r)
    grid = _default_grid() if alphas is None else _as_alphas(alphas)
    k = g.shape[1]
    z = path_logits(g, b, grid, r)
    loss = cross_entropy(z, yy)
    bound = loss_lower_bound(g, b, yy, r, grid)
    tol = 8.0 * np.finfo(np.float64).eps * (math.log(k) + float(np.abs(z).max()))
    margin = float(np.min(loss - bound))
    M = _mean_margin(g, yy)
    counts = np.bincount(yy, minlength=k)
    balanced = bool(np.all(counts == counts[0]))
    ref = math.log(k)
    lp = plateau_end(grid, loss, threshold=ref - eta) if grid[0] == 0 else float("nan")
    if balanced:
        lb = 1.0 if M <= 0 else min(1.0, (eta / M) ** (1.0 / r))
        ok_lp = bool(np.all(loss[grid <= lb] >= ref - eta - tol))
    else:
        lb, ok_lp = float("nan"), True
    return Proposition2Check(
        r=r,
        mean_margin=M,
        alphas=grid,
        loss=loss,
        bound=bound,
        bound_margin=margin,
        bound_holds=bool(margin >= -tol),
        tol=float(tol),
        eta=float(eta),
        loss_plateau_bound=float(lb),
        loss_plateau=float(lp),
        loss_plateau_holds=ok_lp,
    )
