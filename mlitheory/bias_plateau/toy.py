r"""The diagonal toy model: why output biases differ on a perfectly balanced data set.

``k`` classes, one input $e_c$ per class (perfectly balanced), logits
$f_j(e_c) = w_j^r [j = c] + b_j$ with $w \in \mathbb R^k_{>0}$ (a depth-``r`` balanced diagonal linear
net) and a free output bias $b$, cross-entropy $L(w,b) = \frac1k\sum_c \ell(z(e_c), c)$, initialisation
$w_c(0) = \varepsilon u_c$, $b(0) = 0$. With $p(e_c) = \mathrm{softmax}(z(e_c))$:

$$
\partial_{w_c} L = \tfrac rk\, w_c^{r-1}\big(p_c(e_c) - 1\big),\qquad
\partial_{b_j} L = \tfrac1k\Big(\sum_c p_j(e_c) - 1\Big),\qquad \sum_j \partial_{b_j} L = 0 ,
$$

so the mean output bias $\bar b$ is conserved by gradient flow, gradient descent and heavy-ball momentum
(every update is a linear combination of gradients), and not by Adam (per-coordinate rescaling).

While everything is small, $\dot w_c \approx \frac rk(1-\frac1k) w_c^{r-1}$, which for $r > 2$ blows up
at the *escape time*

$$
t_c^\star = \frac{k\,(\varepsilon u_c)^{-(r-2)}}{r(r-2)(1-1/k)}
$$

(and for $r = 2$ reaches $O(1)$ near $\frac{k}{2(1-1/k)}\log\frac{1}{\varepsilon u_c}$). Classes
are learned one at a time in decreasing $u_c$; learned classes' biases are pushed down while the unlearned
ones rise, so the last-learned class ends with the largest bias: a bias gap on balanced data.

Along $w^{[\alpha]} = (1-\alpha)w(0) + \alpha w_T$, $b^{[\alpha]} = B(\alpha)$ (linear:
$(1-\alpha)b_0 + \alpha b_T$; homogeneous: $(1-\alpha^r)b_0 + \alpha^r b_T$), with
$s_c = (w_c^{[\alpha]})^r$, the curves are in closed form:

$$
\gamma_{err}(\alpha) = \tfrac1k\#\{c : s_c \le \max_{j\ne c}B_j - B_c\},\qquad
\gamma_{loss}(\alpha) = \tfrac1k\sum_c\Big[\log\Big(\sum_j e^{B_j} + e^{B_c}(e^{s_c}-1)\Big) - B_c - s_c\Big].
$$

References:
    Wang, Wang, Zhou, Ge, ICLR 2023 (arXiv 2210.01019), the "r-homogeneous-weight" model and its Figure 3
    (four-class dynamics). The exact model here is the project's reconstruction (``theory_bias_plateau.md`` §4).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq
from scipy.special import logsumexp, softmax

from mlitheory.results import Result

__all__ = [
    "TOY_METHODS",
    "ToyCurves",
    "ToyLearningCheck",
    "ToyModel",
    "ToyTrajectory",
    "check_toy_learning",
    "escape_times",
    "toy_class_thresholds",
    "toy_gradients",
    "toy_interpolation",
    "toy_logits",
    "toy_loss",
    "toy_misclassified_intervals",
    "toy_model",
    "train_toy",
    "train_toy_many",
]

#: training methods of `train_toy`
TOY_METHODS = ("gd", "momentum", "adam", "flow")


@dataclass(frozen=True)
class ToyModel(Result):
    r"""One instance of the toy model.

    Attributes:
        k: number of classes (``>= 2``).
        r: degree of the weights (integer ``>= 2``).
        eps: initialisation scale $\varepsilon > 0$.
        u: initialisation multipliers $u_c > 0$, shape ``(k,)``; $w(0) = \varepsilon u$.
    """

    k: int
    r: int
    eps: float
    u: np.ndarray

    @property
    def w0(self) -> np.ndarray:
        """Initial weights $\\varepsilon u$, shape ``(k,)``."""
        return self.eps * np.asarray(self.u, dtype=np.float64)


def _check_k_r(k, r) -> tuple[int, int]:
    for name, v, lo in (("k", k, 2), ("r", r, 2)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {type(v).__name__}")
        if v < lo:
            what = "number of classes" if name == "k" else "degree of the weights"
            raise ValueError(f"{name} ({what}) must be >= {lo}, got {v}")
    return int(k), int(r)


def toy_model(k: int = 4, r: int = 4, eps: float = 0.1, *, seed: int = 0, u=None) -> ToyModel:
    """Build a toy model; by default $u_c = 0.5 + U_c$, $U \\sim U[0,1)^k$ from ``default_rng(seed)``.

    With ``k = 4, seed = 0`` this gives ``u = (1.137, 0.770, 0.541, 0.517)``, the instance of the reference §4.3.
    """
    k, r = _check_k_r(k, r)
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps (initialisation scale) must be a finite number > 0, got {eps!r}")
    if u is None:
        u = 0.5 + np.random.default_rng(seed).random(k)
    u = np.asarray(u, dtype=np.float64)
    if u.shape != (k,) or not np.all(np.isfinite(u)) or np.any(u <= 0):
        raise ValueError(f"u must be a finite positive array of shape ({k},), got shape {u.shape}")
    return ToyModel(k=k, r=r, eps=float(eps), u=u)


def toy_logits(w, b, r) -> np.ndarray:
    """Logits on every input: ``Z[..., c, j] = b_j + [j == c] w_c**r``.

    Args:
        w: weights, shape ``(..., k)``.
        b: output biases, shape ``(..., k)``.
        r: degree (scalar or array broadcastable to ``(..., 1)``).

    Returns:
        Shape ``(..., k, k)``: row ``c`` holds the logits on input $e_c$.
    """
    w = np.asarray(w, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    k = w.shape[-1]
    return b[..., None, :] + (w**r)[..., :, None] * np.eye(k)


def toy_loss(w, b, r) -> np.ndarray:
    """Mean cross-entropy over the ``k`` inputs, shape ``(...)``."""
    z = toy_logits(w, b, r)
    return (logsumexp(z, axis=-1) - np.diagonal(z, axis1=-2, axis2=-1)).mean(axis=-1)


def toy_gradients(w, b, r) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact gradients of [`toy_loss`][mlitheory.bias_plateau.toy.toy_loss] (formulas of the module docstring).

    Returns:
        ``(grad_w, grad_b, p_own)``, each shape ``(..., k)``; ``p_own[c]`` is $p_c(e_c)$.
    """
    w = np.asarray(w, dtype=np.float64)
    k = w.shape[-1]
    p = softmax(toy_logits(w, b, r), axis=-1)
    p_own = np.diagonal(p, axis1=-2, axis2=-1)
    grad_w = (r / k) * w ** (r - 1) * (p_own - 1.0)
    grad_b = (p.sum(axis=-2) - 1.0) / k
    return grad_w, grad_b, p_own


def escape_times(w0, r: int, k: int) -> np.ndarray:
    r"""Escape times $t_c^\star$ of the linearised dynamics from $w_c(0)$ (time units, not steps).

    For ``r > 2`` the finite blow-up time of $\dot w = \frac rk(1-\frac1k)w^{r-1}$; for ``r = 2`` the time at
    which the exponential growth reaches 1.
    """
    k, r = _check_k_r(k, r)
    w0 = np.asarray(w0, dtype=np.float64)
    if not np.all(np.isfinite(w0)) or np.any(w0 <= 0):
        raise ValueError("w0 must be finite and > 0")
    a = (r / k) * (1.0 - 1.0 / k)
    if r == 2:
        return np.log(1.0 / w0) / a
    return w0 ** (-(r - 2)) / (a * (r - 2))


@dataclass(frozen=True)
class ToyTrajectory(Result):
    """A training run of the toy model.

    Attributes:
        method: one of [`TOY_METHODS`][mlitheory.bias_plateau.toy.TOY_METHODS].
        k, r: the model's class count and degree.
        lr: step size (for ``"flow"``: the step the time axis is converted with, ``steps = t / lr``).
        steps: number of steps (for ``"flow"``: the horizon ``t_end / lr``).
        times: recorded times $t$ (``step * lr``), shape ``(m,)``.
        w, b: recorded weights and biases, shape ``(m, k)``.
        loss: recorded loss, shape ``(m,)``.
        w_final, b_final: parameters at the end, shape ``(k,)``.
        learning_times: first time with $p_c(e_c) > 1/2$ per class (``nan`` if never), shape ``(k,)``.
        bias_mean_drift: $\\max_t |\\bar b(t) - \\bar b(0)|$ over every step (recorded points for the flow).
    """

    method: str
    k: int
    r: int
    lr: float
    steps: int
    times: np.ndarray
    w: np.ndarray
    b: np.ndarray
    loss: np.ndarray
    w_final: np.ndarray
    b_final: np.ndarray
    learning_times: np.ndarray
    bias_mean_drift: float

    @property
    def learning_steps(self) -> np.ndarray:
        """Learning times in steps of ``lr``."""
        return self.learning_times / self.lr

    @property
    def learning_order(self) -> np.ndarray:
        """Classes in the order they were learned (never-learned classes last)."""
        t = np.where(np.isnan(self.learning_times), np.inf, self.learning_times)
        return np.argsort(t, kind="stable")

    @property
    def bias_gap(self) -> float:
        """$\\max_j b_j - \\min_j b_j$ at the end."""
        return float(self.b_final.max() - self.b_final.min())

    def summary(self) -> str:
        ls = ", ".join("never" if np.isnan(s) else f"{s:.0f}" for s in self.learning_steps)
        return (
            f"toy model, r = {self.r}, k = {self.k}, {self.method}, {self.steps} steps of {self.lr:g}\n"
            f"  learning steps (class 0..{self.k - 1}): {ls}\n"
            f"  final b: {np.array2string(self.b_final, precision=3)}, gap {self.bias_gap:.4g}\n"
            f"  final w^r: {np.array2string(self.w_final**self.r, precision=3)}\n"
            f"  max |mean b(t) - mean b(0)|: {self.bias_mean_drift:.2e}"
        )


def _record_steps(steps: int, record: int) -> np.ndarray:
    if steps <= 0:
        return np.array([0])
    pts = np.unique(np.round(np.geomspace(1, steps, max(record - 1, 1))).astype(np.int64))
    return np.concatenate([[0], pts])


def _validate_training(models, method, lr, steps, momentum, record):
    if method not in TOY_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {TOY_METHODS}")
    if not models:
        raise ValueError("pass at least one ToyModel")
    for m in models:
        if not isinstance(m, ToyModel):
            raise TypeError(f"expected ToyModel instances (see toy_model), got {type(m).__name__}")
    if len({m.k for m in models}) != 1:
        raise ValueError("all models trained together must have the same k")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be > 0, got {lr}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    if record < 2:
        raise ValueError(f"record must be >= 2, got {record}")


def train_toy_many(
    models: Sequence[ToyModel],
    *,
    method: str = "gd",
    lr: float = 0.05,
    steps: int = 200_000,
    momentum: float = 0.9,
    betas: tuple[float, float] = (0.9, 0.999),
    adam_eps: float = 1e-8,
    record: int = 400,
    progress: bool = False,
) -> list[ToyTrajectory]:
    """Train several toy models (same ``k``, any ``r`` and ``u``) together; discrete methods run as one batch.

    Args:
        models: the instances.
        method: ``"gd"``, ``"momentum"`` (heavy ball, ``v <- momentum v + grad``, ``theta <- theta - lr v``),
            ``"adam"`` (with bias correction), or ``"flow"`` (gradient flow up to ``t = steps * lr`` by LSODA,
            rtol 1e-10; learning times located by event detection).
        lr: step size (time unit of ``"flow"``).
        steps: number of steps.
        momentum: heavy-ball coefficient.
        betas, adam_eps: Adam's parameters.
        record: number of (log-spaced) points to record.
        progress: show a tqdm bar.

    Returns:
        One [`ToyTrajectory`][mlitheory.bias_plateau.toy.ToyTrajectory] per model.
    """
    models = list(models)
    _validate_training(models, method, lr, steps, momentum, record)
    if method == "flow":
        return [_train_flow(m, lr=lr, steps=steps, record=record) for m in models]
    k = models[0].k
    B = len(models)
    r = np.array([m.r for m in models], dtype=np.float64)[:, None]
    w = np.stack([m.w0 for m in models])
    b = np.zeros((B, k))
    mean0 = b.mean(axis=1)
    v_w, v_b = np.zeros_like(w), np.zeros_like(b)
    m_w, m_b = np.zeros_like(w), np.zeros_like(b)
    learn = np.full((B, k), np.nan)
    drift = np.zeros(B)
    rec = _record_steps(steps, record)
    rec_set = {int(s): i for i, s in enumerate(rec)}
    W = np.zeros((B, rec.size, k))
    Bb = np.zeros((B, rec.size, k))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=f"toy model ({method})", unit="step", unit_scale=True, leave=False)
    b1, b2 = betas
    for s in range(steps + 1):
        gw, gb, p_own = toy_gradients(w, b, r)
        newly = np.isnan(learn) & (p_own > 0.5)
        if newly.any():
            learn[newly] = s * lr
        if s in rec_set:
            W[:, rec_set[s]] = w
            Bb[:, rec_set[s]] = b
        if s == steps:
            break
        if method == "gd":
            w = w - lr * gw
            b = b - lr * gb
        elif method == "momentum":
            v_w = momentum * v_w + gw
            v_b = momentum * v_b + gb
            w = w - lr * v_w
            b = b - lr * v_b
        else:
            t = s + 1
            m_w = b1 * m_w + (1 - b1) * gw
            m_b = b1 * m_b + (1 - b1) * gb
            v_w = b2 * v_w + (1 - b2) * gw**2
            v_b = b2 * v_b + (1 - b2) * gb**2
            c1, c2 = 1 - b1**t, 1 - b2**t
            w = w - lr * (m_w / c1) / (np.sqrt(v_w / c2) + adam_eps)
            b = b - lr * (m_b / c1) / (np.sqrt(v_b / c2) + adam_eps)
        drift = np.maximum(drift, np.abs(b.mean(axis=1) - mean0))
        if bar is not None and (s + 1) % 2000 == 0:
            bar.update(2000)
    if bar is not None:
        bar.close()
    out = []
    for i, m in enumerate(models):
        ri = m.r
        out.append(
            ToyTrajectory(
                method=method,
                k=k,
                r=ri,
                lr=float(lr),
                steps=int(steps),
                times=rec * float(lr),
                w=W[i],
                b=Bb[i],
                loss=toy_loss(W[i], Bb[i], ri),
                w_final=w[i].copy(),
                b_final=b[i].copy(),
                learning_times=learn[i],
                bias_mean_drift=float(drift[i]),
            )
        )
    return out


def _train_flow(model: ToyModel, *, lr: float, steps: int, record: int) -> ToyTrajectory:
    k, r = model.k, model.r
    t_end = steps * lr

    def rhs(_t, y):
        gw, gb, _ = toy_gradients(y[:k], y[k:], r)
        return -np.concatenate([gw, gb])

    def make_event(c):
        def ev(_t, y):
            return toy_gradients(y[:k], y[k:], r)[2][c] - 0.5

        ev.direction = 1.0
        return ev

    times = _record_steps(steps, record) * lr
    y0 = np.concatenate([model.w0, np.zeros(k)])
    sol = solve_ivp(
        rhs,
        (0.0, t_end),
        y0,
        method="LSODA",
        t_eval=times,
        rtol=1e-10,
        atol=1e-12,
        events=[make_event(c) for c in range(k)],
    )
    if not sol.success:
        raise RuntimeError(f"gradient flow integration failed: {sol.message}")
    learn = np.array([te[0] if te.size else np.nan for te in sol.t_events])
    w, b = sol.y[:k].T, sol.y[k:].T
    return ToyTrajectory(
        method="flow",
        k=k,
        r=r,
        lr=float(lr),
        steps=int(steps),
        times=sol.t,
        w=w,
        b=b,
        loss=toy_loss(w, b, r),
        w_final=w[-1].copy(),
        b_final=b[-1].copy(),
        learning_times=learn,
        bias_mean_drift=float(np.max(np.abs(b.mean(axis=1)))),
    )


def train_toy(model: ToyModel, **kwargs) -> ToyTrajectory:
    """Train one toy model; keyword arguments as in [`train_toy_many`][mlitheory.bias_plateau.toy.train_toy_many]."""
    return train_toy_many([model], **kwargs)[0]


# ---------------------------------------------------------------------------------------------------------------------
# interpolation curves


def _log_expm1(s: np.ndarray) -> np.ndarray:
    """$\\log(e^s - 1)$ for ``s >= 0`` without overflow (``-inf`` at 0)."""
    s = np.asarray(s, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(s > 1.0, s + np.log1p(-np.exp(-np.maximum(s, 1.0))), np.log(np.expm1(np.minimum(s, 1.0))))


def _path_terms(w0, w_T, b_T, r, alphas, scheme, b0):
    w0 = np.asarray(w0, dtype=np.float64)
    w_T = np.asarray(w_T, dtype=np.float64)
    b_T = np.asarray(b_T, dtype=np.float64)
    for name, v in (("w0", w0), ("w_T", w_T), ("b_T", b_T)) + (
        (("b0", np.asarray(b0, dtype=np.float64)),) if b0 is not None else ()
    ):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} holds NaN or infinite values; pass finite weights and biases")
    k = w_T.shape[-1]
    if w0.shape != (k,) or w_T.shape != (k,) or b_T.shape != (k,):
        raise ValueError(f"w0, w_T and b_T must all have shape (k,), got {w0.shape}, {w_T.shape}, {b_T.shape}")
    if k < 2:
        raise ValueError(f"need k >= 2 classes, got {k}")
    b0 = np.zeros(k) if b0 is None else np.asarray(b0, dtype=np.float64)
    if b0.shape != (k,):
        raise ValueError(f"b0 must have shape ({k},), got {b0.shape}")
    a = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if a.ndim != 1 or not np.all(np.isfinite(a)):
        raise ValueError("alphas must be a finite 1-d array")
    if scheme == "linear":
        beta = a
    elif scheme == "homogeneous":
        beta = a**r
    else:
        raise ValueError(f"unknown scheme {scheme!r}; choose 'linear' or 'homogeneous'")
    w = (1 - a)[:, None] * w0 + a[:, None] * w_T
    if np.any(w < 0):
        raise ValueError("the interpolated weights must stay >= 0 (the toy model has w > 0)")
    s = w**r  # (m, k)
    B = (1 - beta)[:, None] * b0 + beta[:, None] * b_T  # (m, k)
    return a, s, B


@dataclass(frozen=True)
class ToyCurves(Result):
    """Closed-form interpolation curves of the toy model.

    Attributes:
        scheme: ``"linear"`` or ``"homogeneous"`` bias interpolation.
        alphas: grid, shape ``(m,)``.
        loss: $\\gamma_{loss}$, shape ``(m,)``.
        error: $\\gamma_{err}$, shape ``(m,)``.
    """

    scheme: str
    alphas: np.ndarray
    loss: np.ndarray
    error: np.ndarray


def toy_interpolation(w0, w_T, b_T, r: int, alphas, *, scheme: str = "linear", b0=None) -> ToyCurves:
    """Closed-form loss and error along the interpolation path (module docstring).

    Args:
        w0: initial weights, shape ``(k,)``.
        w_T: final weights, shape ``(k,)``.
        b_T: final output bias, shape ``(k,)``.
        r: degree of the weights.
        alphas: grid, shape ``(m,)``.
        scheme: ``"linear"`` or ``"homogeneous"`` bias path.
        b0: initial bias (default 0).
    """
    a, s, B = _path_terms(w0, w_T, b_T, r, alphas, scheme, b0)
    k = s.shape[1]
    others = np.where(np.eye(k, dtype=bool)[None], -np.inf, B[:, None, :]).max(axis=-1)  # (m, k): max_{j!=c} B_j
    error = np.mean(s <= others - B, axis=1)
    lse_b = logsumexp(B, axis=1)[:, None]
    loss = np.mean(np.logaddexp(lse_b, B + _log_expm1(s)) - B - s, axis=1)
    return ToyCurves(scheme=scheme, alphas=a, loss=loss, error=error)


def toy_class_thresholds(w_T, b_T, r: int) -> np.ndarray:
    r"""Plateau thresholds in the limit $w(0) \to 0$, linear scheme: class ``c`` is misclassified iff
    $\alpha < \big((\max_{j\ne c} b_{T,j} - b_{T,c})_+ / w_{T,c}^r\big)^{1/(r-1)}$, shape ``(k,)``."""
    w_T = np.asarray(w_T, dtype=np.float64)
    b_T = np.asarray(b_T, dtype=np.float64)
    k = b_T.shape[0]
    others = np.where(np.eye(k, dtype=bool), -np.inf, b_T[None, :]).max(axis=1)
    gap = np.maximum(others - b_T, 0.0)
    return (gap / w_T**r) ** (1.0 / (r - 1))


def toy_misclassified_intervals(w0, w_T, b_T, r: int, *, scheme: str = "linear", b0=None, grid: int = 20001):
    """Exact sets of $\\alpha \\in [0, 1]$ on which each class is misclassified (with $w(0) > 0$).

    Class ``c`` is misclassified iff $h_c(\\alpha) = s_c(\\alpha) - (\\max_{j\\ne c}B_j - B_c) \\le 0$; the sign
    of $h_c$ is read on a grid of ``grid`` points and every sign change refined by ``brentq`` (xtol 1e-14),
    so roots closer than ``1/grid`` may be missed.

    Returns:
        A list of ``k`` lists of ``(start, end)`` closed intervals.
    """
    k = np.asarray(b_T).shape[0]

    def h(alpha, c):
        _, s, B = _path_terms(w0, w_T, b_T, r, [alpha], scheme, b0)
        return float(s[0, c] - (np.delete(B[0], c).max() - B[0, c]))

    a = np.linspace(0.0, 1.0, grid)
    _, S, BB = _path_terms(w0, w_T, b_T, r, a, scheme, b0)
    out = []
    for c in range(k):
        H = S[:, c] - (np.delete(BB, c, axis=1).max(axis=1) - BB[:, c])
        bad = H <= 0
        intervals = []
        i = 0
        while i < grid:
            if not bad[i]:
                i += 1
                continue
            j = i
            while j + 1 < grid and bad[j + 1]:
                j += 1
            start = a[i] if i == 0 else brentq(h, a[i - 1], a[i], args=(c,), xtol=1e-14)
            end = a[j] if j == grid - 1 else brentq(h, a[j], a[j + 1], args=(c,), xtol=1e-14)
            intervals.append((float(start), float(end)))
            i = j + 1
        out.append(intervals)
    return out


# ---------------------------------------------------------------------------------------------------------------------
# the checks of the reference §6.7


@dataclass(frozen=True)
class ToyLearningCheck(Result):
    """Whether a toy run shows sequential learning, the bias ordering and the conservation law.

    Attributes:
        learning_order: classes in learning order.
        expected_order: classes by decreasing $u_c$.
        order_holds: every class learned, in decreasing $u_c$ order, at strictly increasing times.
        biases_sorted: final biases strictly increasing along the learning order.
        last_is_argmax: the last-learned class has the (unique) largest final bias.
        predicted_first: $t^\\star$ of the first class (time units).
        observed_first: its observed learning time.
        first_relative_error: $|t_{obs} - t^\\star| / t^\\star$.
        bias_mean_drift: as in [`ToyTrajectory`][mlitheory.bias_plateau.toy.ToyTrajectory].
        conserves_mean: drift below ``1e-10`` (expected for gd, momentum and flow, not for adam).
    """

    learning_order: np.ndarray
    expected_order: np.ndarray
    order_holds: bool
    biases_sorted: bool
    last_is_argmax: bool
    predicted_first: float
    observed_first: float
    first_relative_error: float
    bias_mean_drift: float
    conserves_mean: bool

    def summary(self) -> str:
        return (
            f"toy learning: order {self.learning_order.tolist()} (expected {self.expected_order.tolist()}): "
            f"{'holds' if self.order_holds else 'FAILS'}; biases sorted by learning order: {self.biases_sorted}; "
            f"last learned has the largest bias: {self.last_is_argmax}\n"
            f"  first learning time {self.observed_first:.4g} vs t* = {self.predicted_first:.4g} "
            f"({100 * self.first_relative_error:.1f}% off); mean-bias drift {self.bias_mean_drift:.1e}"
        )


def check_toy_learning(model: ToyModel, traj: ToyTrajectory) -> ToyLearningCheck:
    """Check the claims of the reference §4.3 on one trained toy model."""
    expected = np.argsort(-np.asarray(model.u), kind="stable")
    order = traj.learning_order
    t = traj.learning_times
    all_learned = not np.any(np.isnan(t))
    order_ok = bool(all_learned and np.array_equal(order, expected) and np.all(np.diff(t[order]) > 0))
    bo = traj.b_final[order]
    sorted_ok = bool(np.all(np.diff(bo) > 0))
    top = np.argsort(-traj.b_final)
    last_ok = bool(traj.b_final[top[0]] > traj.b_final[top[1]] and top[0] == order[-1])
    pred = float(escape_times(model.w0, model.r, model.k)[expected[0]])
    obs = float(t[expected[0]])
    return ToyLearningCheck(
        learning_order=order,
        expected_order=expected,
        order_holds=order_ok,
        biases_sorted=sorted_ok,
        last_is_argmax=last_ok,
        predicted_first=pred,
        observed_first=obs,
        first_relative_error=abs(obs - pred) / pred,
        bias_mean_drift=traj.bias_mean_drift,
        conserves_mean=bool(traj.bias_mean_drift < 1e-10),
    )
