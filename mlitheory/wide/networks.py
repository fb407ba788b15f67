r"""Theorem 8: sufficiently wide networks exhibit MLI with high probability, and the width scan that checks it.

**Statement** (Lucas et al. 2021, §3.2 and App. D; reconstruction in ``theory_ntk_width.md`` §2). Let $f$ be a
fully connected network of depth $L$ and hidden width $n$ in NTK parameterisation
([`mlitheory.wide.ntk.NTKMLP`][mlitheory.wide.ntk.NTKMLP]) with a smooth activation ($|\phi(0)|$, $\|\phi'\|_\infty$,
$\mathrm{Lip}(\phi')$ finite), trained on a finite data set with $\lambda_{\min}(\Theta) > 0$ by full-batch
gradient descent on the MSE with $\eta < 2/(\lambda_{\min} + \lambda_{\max})$ (or gradient flow). Then for every
$\delta > 0$ there is $n_0$ such that for $n \ge n_0$, with probability at least
$1 - \delta$, the
network trained to convergence satisfies MLI on the training MSE.

*Proof sketch.* With high probability (Lee et al. 2019, Thm 2.1) $\|\theta_t - \theta_0\| = O(1)$ and the
Jacobian moves by $O(n^{-1/2})$ on that ball. Along $\theta_\alpha$ the output curve
$z(\alpha) = f(\theta_\alpha)(X)$ has $z' = J_0\Delta + O(n^{-1/2})$ with
$\|J_0\Delta\| = \Theta(1)$ and
$z'' = O(n^{-1/2})$, so its Gauss length is

$$
G \le \int_0^1 \frac{\|z''\|}{\|z'\|}\,d\alpha = O(n^{-1/2}) < \pi/2 ,
$$

and Theorem 3 with $z(1) = y$ gives MLI (alternatively Lemma 7b with $v = J_0\Delta$,
$\varepsilon = O(n^{-1/2})$).

**What is measured.** [`width_scan`][mlitheory.wide.networks.width_scan] trains NTK MLPs of several widths from several
seeds (η = 1/λ_max(Θ̂₀), to a small loss), and reports per width the Gauss length of the concatenated output curve
([`mlitheory.gauss_length`][mlitheory.geometry.gauss_length]), the MLI rate, and the relative weight distance
$\|\theta_T - \theta_0\|/\|\theta_0\|$;
it fits $\log G$ against $\log n$ (slope expected near $-1/2$ for $n \ge 128$, reference table:
mean G 0.33, 0.168, 0.080 at n = 128, 512, 2048). ``python -m mlitheory.ntk_width`` runs it and draws the figure.

References:
    Lucas et al., ICML 2021, App. D. Lee, Xiao, Schoenholz, Bahri, Novak, Sohl-Dickstein, Pennington, *Wide
    Neural Networks of Any Depth Evolve as Linear Models Under Gradient Descent*, NeurIPS 2019. Liu, Zhu,
    Belkin, *On the linearity of large non-linear models*, NeurIPS 2020.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.func import jvp

from mlitheory.geometry import gauss_length_from_derivatives
from mlitheory.monotonicity import min_delta
from mlitheory.results import Result
from mlitheory.wide.ntk import NTKMLP, GDResult, _positive_int, param_dict, train_gd_many

__all__ = [
    "PowerLawFit",
    "WideRun",
    "WidthScanResult",
    "check_wide_network",
    "fit_power_law",
    "make_data",
    "mli_verdict",
    "output_path_derivatives",
    "plot_width_scan",
    "width_scan",
]

_EPS = float(np.finfo(np.float64).eps)
_HALF_PI = math.pi / 2


def make_data(n_train: int = 16, in_dim: int = 4, out_dim: int = 1, *, seed: int = 0, device="cpu"):
    """A regression set: inputs $x \\sim \\mathcal N(0, I)$, targets $y \\sim \\mathcal N(0, 1)$ (float64).

    Returns:
        ``(X, Y)`` with shapes ``(n_train, in_dim)``, ``(n_train, out_dim)``.
    """
    gen = torch.Generator().manual_seed(int(seed))
    X = torch.randn(
        _positive_int(n_train, "n_train"), _positive_int(in_dim, "in_dim"), generator=gen, dtype=torch.float64
    )
    Y = torch.randn(n_train, _positive_int(out_dim, "out_dim"), generator=gen, dtype=torch.float64)
    return X.to(device), Y.to(device)


@dataclass(frozen=True)
class WideRun(Result):
    """One trained wide network and its interpolation.

    Attributes:
        width, seed: hidden width and initialisation seed.
        status, steps, final_loss, eta_lambda_max: from training
            ([`mlitheory.wide.ntk.GDResult`][mlitheory.wide.ntk.GDResult]).
        gauss_length, gauss_error: Gauss length of α ↦ vec f(θ_α)(X) (``nan`` unless converged).
        mli: the training loss along the path is non-increasing on the grid (within rounding ``loss_tol``).
        min_delta: $\\min\\Delta$ of that loss; loss_tol: its rounding allowance.
        max_slope: largest $L'(\\alpha)/|L'(0)|$ on the grid (exact jvp derivatives; ``<= 0`` means decreasing).
        rel_distance: $\\|\\theta_T - \\theta_0\\|/\\|\\theta_0\\|$.
    """

    width: int
    seed: int
    status: str
    steps: int
    final_loss: float
    eta_lambda_max: float
    gauss_length: float
    gauss_error: float
    mli: bool
    min_delta: float
    loss_tol: float
    max_slope: float
    rel_distance: float


def _path_outputs(model: NTKMLP, p0, delta, X, alphas: torch.Tensor, order: int = 2):
    """Outputs along θ_α = θ₀ + αΔ at many α at once, and their α-derivatives by (nested) forward mode.

    Every slice of the stacked forward pass depends on its own α only, so one jvp with tangent ones gives
    z′(α_i) for all i (and a nested one z″). Shapes ``(m, N, k)``; returns ``(z, z′)`` or ``(z, z′, z″)``.
    """

    def F(a):
        stacked = {k: p0[k][None] + a.view(-1, *([1] * p0[k].ndim)) * delta[k][None] for k in p0}
        return model.forward_stacked(stacked, X)

    one = torch.ones_like(alphas)
    if order == 1:
        return jvp(F, (alphas,), (one,))
    (z, dz), (_, d2z) = jvp(lambda s: jvp(F, (s,), (one,)), (alphas,), (one,))
    return z, dz, d2z


def output_path_derivatives(model: NTKMLP, params0: dict, delta: dict, X: torch.Tensor):
    """``derivatives(alphas) -> (z′, z″)`` of α ↦ vec f(θ₀ + αΔ)(X), shapes ``(m, 1, N·k)``, for
    [`mlitheory.geometry.gauss_length_from_derivatives`][mlitheory.geometry.gauss_length_from_derivatives] (all α of a
    panel in one stacked pass)."""

    def derivatives(alphas: torch.Tensor):
        a = alphas.to(device=X.device, dtype=torch.float64)
        _, d1, d2 = _path_outputs(model, params0, delta, X, a, order=2)
        m = a.shape[0]
        return d1.reshape(m, 1, -1).cpu(), d2.reshape(m, 1, -1).cpu()

    return derivatives


def _flat(params: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([v.reshape(-1) for v in params.values()])


def check_wide_network(
    model: NTKMLP,
    params0: dict[str, torch.Tensor],
    trained: GDResult,
    X: torch.Tensor,
    Y: torch.Tensor,
    *,
    seed: int = -1,
    grid: int = 101,
    gauss_tol: float = 1e-8,
) -> WideRun:
    """Gauss length of the output path, MLI and weight distance of one trained network.

    Args:
        model: the architecture; params0: initial parameters; trained: the GD result (its ``params`` are θ_T).
        X, Y: the training set.
        seed: recorded in the result.
        grid: equally spaced α (ends included) for the loss and its slope.
        gauss_tol: tolerance of [`mlitheory.gauss_length`][mlitheory.geometry.gauss_length].
    """
    device = X.device
    p0 = {k: v.to(device) for k, v in params0.items()}
    pT = {k: trained.params[k].to(device) for k in p0}
    delta = {k: pT[k] - p0[k] for k in p0}
    width = max(model.widths)
    dist = float(torch.linalg.norm(_flat(delta)) / torch.linalg.norm(_flat(p0)))
    if trained.status != "converged":
        nan = math.nan
        return WideRun(width, seed, trained.status, trained.steps, trained.final_loss, trained.eta_lambda_max,
                       nan, nan, False, nan, nan, nan, dist)  # fmt: skip

    deriv = output_path_derivatives(model, p0, delta, X)
    G = gauss_length_from_derivatives(deriv, tol=gauss_tol, batched=False)
    alphas = torch.linspace(0.0, 1.0, grid, dtype=torch.float64, device=device)
    f, dz = _path_outputs(model, p0, delta, X, alphas, order=1)
    r = f - Y
    losses = 0.5 * torch.sum(r * r, dim=(1, 2))
    slopes = torch.sum(r * dz, dim=(1, 2)).cpu().numpy()  # L'(α) = ⟨r(α), z'(α)⟩
    # rounding: each output is a length-fan_in dot product per layer, error ≲ fan_in·eps·(|f| + 1) per layer
    df = (len(model.sizes) - 1) * max(model.sizes) * _EPS * (float(f.abs().max()) + 1.0)
    loss_tol = float(torch.max(torch.sum(r.abs(), dim=(1, 2)))) * df + 0.5 * r[0].numel() * df * df
    mli, md = mli_verdict(losses.cpu().numpy(), loss_tol)
    return WideRun(
        width=width,
        seed=seed,
        status=trained.status,
        steps=trained.steps,
        final_loss=trained.final_loss,
        eta_lambda_max=trained.eta_lambda_max,
        gauss_length=float(G.value),
        gauss_error=float(G.error),
        mli=mli,
        min_delta=md,
        loss_tol=loss_tol,
        max_slope=float(np.max(slopes[:-1]) / abs(slopes[0])) if slopes[0] != 0 else math.nan,
        rel_distance=dist,
    )


def mli_verdict(losses, loss_tol: float) -> tuple[bool, float]:
    """MLI of a sampled loss curve: ``(monotone, min Δ)``, rises up to ``loss_tol`` (the rounding of the loss) forgiven.

    ``loss_tol`` must come from an error bound of the loss evaluation (see
    [`check_wide_network`][mlitheory.wide.networks.check_wide_network]), never a fixed slack: a rise above it is
    reported, however small.
    """
    tol = float(loss_tol)
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"loss_tol must be finite and >= 0, got {loss_tol}")
    md = float(min_delta(np.asarray(losses, dtype=np.float64), tol=tol))
    return md == 0.0, md


@dataclass(frozen=True)
class PowerLawFit(Result):
    """Least-squares fit $\\log G = a + b\\log n$ (intercept a, slope b) over runs with width ``>= min_width``.

    Attributes:
        slope, intercept: fitted values; stderr: standard error of the slope.
        ci_low, ci_high: two-sided ``confidence`` interval of the slope (Student t, ``n_points − 2`` degrees of
            freedom; ``nan`` with fewer than 3 points or a single width).
        n_points: runs used; n_widths: distinct widths among them; min_width, confidence: settings.
    """

    slope: float
    intercept: float
    stderr: float
    ci_low: float
    ci_high: float
    n_points: int
    n_widths: int
    min_width: int
    confidence: float

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the confidence interval."""
        return bool(self.ci_low <= value <= self.ci_high)


def fit_power_law(
    widths, values, *, min_width: int = 128, confidence: float = 0.95, per_width: bool = False
) -> PowerLawFit:
    """Fit a power law $G \\propto n^{\\text{slope}}$ with a confidence interval on the slope.

    Args:
        widths: width of each run, shape ``(p,)``; values: positive measured values (``nan`` entries are skipped).
        min_width: only runs with width ``>= min_width`` are used.
        confidence: level of the interval (default 0.95).
        per_width: fit the mean of $\\log G$ over the seeds at each width (one point per width, ``W − 2``
            degrees of freedom) instead of every run. The seeds at one width share that width: treating them as
            independent points understates the slope's uncertainty, so the width-level fit is the honest one for a
            claim about the exponent (``n_points`` then counts widths).
    """
    from scipy import stats

    w = np.asarray(widths, dtype=np.float64).ravel()
    v = np.asarray(values, dtype=np.float64).ravel()
    if w.shape != v.shape:
        raise ValueError(f"widths and values must have the same size, got {w.size} and {v.size}")
    keep = (w >= min_width) & np.isfinite(v) & (v > 0)
    x, y = np.log(w[keep]), np.log(v[keep])
    if per_width and x.size:
        ux = np.unique(x)
        y = np.array([y[x == u].mean() for u in ux])
        x = ux
    n, nw = int(x.size), int(np.unique(x).size)
    nan = math.nan
    if n < 2 or nw < 2:
        return PowerLawFit(nan, nan, nan, nan, nan, n, nw, int(min_width), confidence)
    xm = x.mean()
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (y - y.mean())) / sxx)
    intercept = float(y.mean() - slope * xm)
    if n < 3:
        return PowerLawFit(slope, intercept, nan, nan, nan, n, nw, int(min_width), confidence)
    resid = y - intercept - slope * x
    se = math.sqrt(float(resid @ resid) / (n - 2) / sxx)
    t = float(stats.t.ppf(0.5 + confidence / 2, n - 2))
    return PowerLawFit(slope, intercept, se, slope - t * se, slope + t * se, n, nw, int(min_width), confidence)


@dataclass(frozen=True)
class WidthScanResult(Result):
    """A width scan: one [`WideRun`][mlitheory.wide.networks.WideRun] per (width, seed), per-width statistics and the
    power-law fit.

    Attributes:
        widths: ``(W,)``; seeds: ``(S,)``.
        gauss, rel_distance, final_loss, min_delta, max_slope: ``(W, S)`` arrays (``nan`` for unconverged runs).
        mli: ``(W, S)`` booleans; steps: ``(W, S)``; status: ``W`` lists of ``S`` strings.
        fit: [`PowerLawFit`][mlitheory.wide.networks.PowerLawFit] of the Gauss length against width.
        settings: the arguments of [`width_scan`][mlitheory.wide.networks.width_scan].
    """

    widths: np.ndarray
    seeds: np.ndarray
    gauss: np.ndarray
    rel_distance: np.ndarray
    final_loss: np.ndarray
    min_delta: np.ndarray
    max_slope: np.ndarray
    mli: np.ndarray
    steps: np.ndarray
    status: list
    fit: PowerLawFit
    settings: dict = field(default_factory=dict)

    @property
    def converged(self) -> np.ndarray:
        """``(W, S)`` booleans."""
        return np.array([[s == "converged" for s in row] for row in self.status], dtype=bool)

    def _stat(self, arr: np.ndarray, fn) -> np.ndarray:
        out = np.full(len(self.widths), np.nan)
        for i in range(len(self.widths)):
            vals = arr[i][self.converged[i]]
            if vals.size:
                out[i] = fn(vals)
        return out

    @property
    def gauss_mean(self) -> np.ndarray:
        return self._stat(self.gauss, np.mean)

    @property
    def gauss_std(self) -> np.ndarray:
        return self._stat(self.gauss, lambda v: np.std(v, ddof=1) if v.size > 1 else 0.0)

    @property
    def gauss_min(self) -> np.ndarray:
        return self._stat(self.gauss, np.min)

    @property
    def gauss_max(self) -> np.ndarray:
        return self._stat(self.gauss, np.max)

    @property
    def mli_rate(self) -> np.ndarray:
        """Fraction of converged runs with MLI, per width."""
        return self._stat(self.mli.astype(float), np.mean)

    @property
    def rel_distance_mean(self) -> np.ndarray:
        return self._stat(self.rel_distance, np.mean)

    def summary(self) -> str:
        cols = ("width", "runs", "mean G", "sd G", "range G", "MLI", "‖Δθ‖/‖θ₀‖")
        head = " | ".join(c.rjust(w) for c, w in zip(cols, (7, 5, 8, 7, 15, 5, 10)))
        lines = ["Width scan: Gauss length of the output path (Theorem 8)", head, "-" * len(head)]
        conv = self.converged
        for i, w in enumerate(self.widths):
            nc = int(conv[i].sum())
            n_mli = int(self.mli[i][conv[i]].sum())
            lines.append(
                f"{int(w):>7} | {nc:>2}/{len(self.seeds):<2} | {self.gauss_mean[i]:>8.4f} | "
                f"{self.gauss_std[i]:>7.4f} | {self.gauss_min[i]:>6.3f} – {self.gauss_max[i]:<6.3f} | "
                f"{n_mli:>2}/{nc:<2} | {self.rel_distance_mean[i]:>10.4f}"
            )
        counts = {s: sum(st == s for row in self.status for st in row) for s in ("diverged", "max_steps", "skipped")}
        bad = [f"{s}: {c}" for s, c in counts.items() if c]
        if bad:
            lines.append("not converged or skipped (excluded): " + ", ".join(bad))
        f = self.fit
        lines.append(
            f"fit log G vs log width (width ≥ {f.min_width}, {f.n_points} runs): slope {f.slope:+.3f} "
            f"± {f.stderr:.3f}, {100 * f.confidence:.0f}% CI [{f.ci_low:+.3f}, {f.ci_high:+.3f}] (theory −1/2)"
        )
        return "\n".join(lines)


def width_scan(
    widths: Sequence[int],
    seeds: int | Sequence[int] = 2,
    *,
    n_train: int = 16,
    in_dim: int = 4,
    out_dim: int = 1,
    depth: int = 1,
    activation: str = "tanh",
    bias: bool = False,
    eta_scale: float = 1.0,
    target_loss: float = 1e-12,
    max_steps: int = 200_000,
    data_seed: int = 0,
    fit_min_width: int = 128,
    confidence: float = 0.95,
    gauss_tol: float = 1e-8,
    grid: int = 101,
    few_seeds_from: tuple[int, int] | None = None,
    device: str | torch.device = "cpu",
    threads: int | None = 1,
    progress: bool = False,
) -> WidthScanResult:
    """Train NTK MLPs of several widths and measure the Gauss length of the output path, MLI and weight distance.

    Args:
        widths: hidden widths (positive ints).
        seeds: number of initialisation seeds (``0 … seeds−1``) or the seeds themselves.
        n_train, in_dim, out_dim: the data set ([`make_data`][mlitheory.wide.networks.make_data] with ``data_seed``; the
            same for every run).
        depth, activation, bias: architecture ([`mlitheory.wide.ntk.NTKMLP`][mlitheory.wide.ntk.NTKMLP]).
        eta_scale: step $\\eta = \\text{eta\\_scale}/\\lambda_{\\max}(\\hat\\Theta_0)$ (default 1). Runs with
            $\\eta > 2/\\lambda_{\\max}$ diverge; each is stopped when its loss blows up and reported as
            ``"diverged"`` (excluded from the statistics), with a warning.
        target_loss: training stops below this loss; max_steps: or after this many steps.
        fit_min_width, confidence: of the power-law fit.
        gauss_tol, grid: of the per-run checks ([`check_wide_network`][mlitheory.wide.networks.check_wide_network]).
        few_seeds_from: ``(w, k)``: widths ``>= w`` train only the first ``k`` seeds (the others are reported
            as ``"skipped"``), to bound the cost of the widest networks.
        device: where to train (e.g. ``"cuda"``); results come back on the CPU.
        threads: torch CPU threads during the scan (restored afterwards); the default 1 is fastest for these
            small matrices, and several threads on a busy machine can be many times slower. ``None``: leave as is.
        progress: show tqdm bars.

    Raises:
        ValueError: a non-positive or repeated width, no seeds, a non-positive ``eta_scale``.
    """
    args = dict(
        n_train=n_train, in_dim=in_dim, out_dim=out_dim, depth=depth, activation=activation, bias=bias,
        eta_scale=eta_scale, target_loss=target_loss, max_steps=max_steps, data_seed=data_seed,
        fit_min_width=fit_min_width, confidence=confidence, gauss_tol=gauss_tol, grid=grid,
        few_seeds_from=few_seeds_from, device=device, progress=progress,
    )  # fmt: skip
    if threads is None:
        return _width_scan(widths, seeds, **args)
    before = torch.get_num_threads()
    torch.set_num_threads(_positive_int(threads, "threads"))
    try:
        return _width_scan(widths, seeds, **args)
    finally:
        torch.set_num_threads(before)


def _width_scan(
    widths, seeds, *, n_train, in_dim, out_dim, depth, activation, bias, eta_scale, target_loss, max_steps,
    data_seed, fit_min_width, confidence, gauss_tol, grid, few_seeds_from, device, progress,
) -> WidthScanResult:  # fmt: skip
    ws = [_positive_int(w, "width") for w in widths]
    if not ws or len(set(ws)) != len(ws):
        raise ValueError(f"widths must be a non-empty list of distinct positive ints, got {list(widths)}")
    seed_list = list(range(_positive_int(seeds, "seeds"))) if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not seed_list:
        raise ValueError("seeds must not be empty")
    if not eta_scale > 0:
        raise ValueError(f"eta_scale must be positive, got {eta_scale}")
    if eta_scale > 2:
        warnings.warn(
            f"eta_scale={eta_scale} > 2: η exceeds 2/λ_max, gradient descent diverges on the linearised model; "
            "runs will be stopped when their loss blows up and reported as 'diverged'",
            stacklevel=3,
        )
    X, Y = make_data(n_train, in_dim, out_dim, seed=data_seed, device=device)
    runs: list[list[WideRun]] = []
    outer = ws
    if progress:
        from tqdm.auto import tqdm

        outer = tqdm(ws, desc="widths")
    for w in outer:
        kw = dict(depth=depth, activation=activation, bias=bias, device=device)
        model = NTKMLP(in_dim, w, out_dim, seed=seed_list[0], **kw)
        use = seed_list
        if few_seeds_from is not None and w >= few_seeds_from[0]:
            use = seed_list[: max(1, int(few_seeds_from[1]))]
        p0s = [param_dict(NTKMLP(in_dim, w, out_dim, seed=s, **kw)) for s in use]
        trained = train_gd_many(
            model, X, Y, p0s, eta_scale=eta_scale, target_loss=target_loss, max_steps=max_steps, progress=progress
        )
        row = [
            check_wide_network(model, p0, tr, X, Y, seed=s, grid=grid, gauss_tol=gauss_tol)
            for s, p0, tr in zip(use, p0s, trained)
        ]
        nan = math.nan
        skipped = seed_list[len(use) :]
        row += [WideRun(w, s, "skipped", 0, nan, nan, nan, nan, False, nan, nan, nan, nan) for s in skipped]
        runs.append(row)

    def arr(name):
        return np.array([[getattr(r, name) for r in row] for row in runs], dtype=np.float64)

    gauss = arr("gauss_length")
    fit = fit_power_law(np.repeat(ws, len(seed_list)), gauss.ravel(), min_width=fit_min_width, confidence=confidence)
    settings = dict(
        few_seeds_from=list(few_seeds_from) if few_seeds_from else None,
        n_train=n_train, in_dim=in_dim, out_dim=out_dim, depth=depth, activation=activation, bias=bias,
        eta_scale=eta_scale, target_loss=target_loss, max_steps=max_steps, data_seed=data_seed, grid=grid,
        gauss_tol=gauss_tol, device=str(device),
    )  # fmt: skip
    return WidthScanResult(
        widths=np.asarray(ws),
        seeds=np.asarray(seed_list),
        gauss=gauss,
        rel_distance=arr("rel_distance"),
        final_loss=arr("final_loss"),
        min_delta=arr("min_delta"),
        max_slope=arr("max_slope"),
        mli=np.array([[r.mli for r in row] for row in runs], dtype=bool),
        steps=np.array([[r.steps for r in row] for row in runs], dtype=np.int64),
        status=[[r.status for r in row] for row in runs],
        fit=fit,
        settings=settings,
    )


def plot_width_scan(result: WidthScanResult, out: str | Path, *, name: str = "width_scan") -> list[Path]:
    """Figure of log G against log width: every run, per-width mean ± sd, the fitted slope and the −1/2 reference.

    Returns:
        The PNG and PDF paths written in ``out``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    conv = result.converged
    for i, w in enumerate(result.widths):
        g = result.gauss[i][conv[i]]
        ax.scatter(np.full(g.size, w), g, s=12, color="0.6", zorder=2)
    ax.errorbar(result.widths, result.gauss_mean, yerr=result.gauss_std, fmt="o", color="C0", capsize=3,
                label="mean ± sd over seeds", zorder=3)  # fmt: skip
    f = result.fit
    if math.isfinite(f.slope):
        xs = np.array([max(f.min_width, result.widths.min()), result.widths.max()], dtype=float)
        ci = f"[{f.ci_low:+.2f}, {f.ci_high:+.2f}]" if math.isfinite(f.ci_low) else "n/a"
        ax.plot(xs, np.exp(f.intercept) * xs**f.slope, color="C1",
                label=f"fit (n ≥ {f.min_width}): slope {f.slope:+.3f}, {100 * f.confidence:.0f}% CI {ci}")  # fmt: skip
        x0 = xs[0]
        ax.plot(xs, np.exp(f.intercept) * x0**f.slope * (xs / x0) ** -0.5, "--", color="k", lw=1, label="slope −1/2")
    ax.axhline(_HALF_PI, color="C3", lw=0.8, ls=":", label="π/2 (Theorem 3 threshold)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("hidden width n")
    ax.set_ylabel("Gauss length of the output path")
    ax.set_title("MLI of wide networks (Theorem 8)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths = [out / f"{name}.png", out / f"{name}.pdf"]
    for p in paths:
        fig.savefig(p, dpi=150)
    plt.close(fig)
    return paths
