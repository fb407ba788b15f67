r"""Deep ReLU MLPs with small initialisation on balanced data: the bias gap and the plateau it causes.

The experiment of the reference §7.2: ``k`` balanced Gaussian classes $x = \mu_c + \mathcal N(0, I_d)$ with
orthogonal means of norm 2; an MLP of depth ``L`` (``L`` linear layers), width ``w``, ReLU, all biases initialised
to 0 and weights $\mathcal N(0, 2/\text{fan\_in})\times\text{scale}$; full-batch gradient descent with
heavy-ball momentum until the training cross-entropy falls below a tolerance. Then the loss and error along the
interpolation path under each bias scheme of [`mlitheory.bias_plateau.schemes`][mlitheory.bias_plateau.schemes].

Plain gradient descent and momentum conserve the mean output bias $\bar b_L$ (the gradient of the mean
cross-entropy with respect to $b_L$ sums to 0 over classes), so the output biases can only *spread*: the
last-layer bias gap $\max_j b_{L,j} - \min_j b_{L,j}$ measured here.

References:
    Wang, Wang, Zhou, Ge, ICLR 2023 (arXiv 2210.01019): plateau length depends strongly on initialisation scale
    and depth. Setup and expected numbers: ``theory_bias_plateau.md`` §7.2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from mlitheory.bias_plateau.measures import plateau_end
from mlitheory.bias_plateau.schemes import SCHEMES, layer_depths, path_loss_error
from mlitheory.results import Result

__all__ = [
    "MLPCase",
    "MLPTraining",
    "balanced_gaussian_data",
    "bias_gap",
    "last_bias_name",
    "make_mlp",
    "run_mlp_case",
    "train_mlp",
]


def _positive_int(name: str, v, minimum: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(v).__name__}")
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return int(v)


def _positive_float(name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(v).__name__}")
    v = float(v)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {v}")
    return v


def balanced_gaussian_data(
    k: int = 4,
    d: int = 20,
    n_per_class: int = 100,
    *,
    mean_norm: float = 2.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Balanced Gaussian classes with orthogonal means (reference §7.2).

    Args:
        k: number of classes (``2 <= k <= d``).
        d: input dimension.
        n_per_class: points per class.
        mean_norm: norm of every class mean.
        seed: seed of the means and the noise.
        dtype, device: of the returned tensors.

    Returns:
        ``(x, y)``: inputs of shape ``(k * n_per_class, d)`` and labels of shape ``(k * n_per_class,)``, sorted by
        class.
    """
    k = _positive_int("k (number of classes)", k, 2)
    d = _positive_int("d", d)
    if k > d:
        raise ValueError(f"orthogonal class means need k <= d, got k = {k}, d = {d}")
    n_per_class = _positive_int("n_per_class", n_per_class)
    mean_norm = _positive_float("mean_norm", mean_norm)
    g = torch.Generator().manual_seed(int(seed))
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    means = mean_norm * q[:, :k].T
    y = torch.arange(k).repeat_interleave(n_per_class)
    x = means[y] + torch.randn(k * n_per_class, d, generator=g, dtype=torch.float64)
    return x.to(dtype=dtype, device=device), y.to(device=device)


def make_mlp(
    d_in: int,
    k: int,
    *,
    depth: int,
    width: int = 64,
    init_scale: float = 1.0,
    seed: int = 0,
    activation: str = "relu",
    hidden_bias: bool = True,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> tuple[nn.Sequential, dict[str, torch.Tensor]]:
    """An MLP of ``depth`` linear layers and its initial parameters.

    Weights $\\mathcal N(0, 2/\\text{fan\\_in})\\times$ ``init_scale``, every bias 0 (not PyTorch's default
    uniform bias, so that decomposition (1) applies).

    Args:
        d_in: input dimension.
        k: number of classes (``>= 2``).
        depth: number of linear layers ``L >= 1``.
        width: hidden width.
        init_scale: multiplier of the He initialisation, ``> 0``.
        seed: seed of the weights.
        activation: ``"relu"`` or ``"linear"`` (identity).
        hidden_bias: whether hidden layers have biases (the output layer always has one).
        dtype, device: of the parameters.

    Returns:
        ``(model, theta0)``: an ``nn.Sequential`` holding a copy of ``theta0``, and ``theta0`` itself
        (``{name: tensor}``).
    """
    d_in = _positive_int("d_in", d_in)
    k = _positive_int("k (number of classes)", k, 2)
    depth = _positive_int("depth (number of linear layers)", depth)
    width = _positive_int("width", width)
    init_scale = _positive_float("init_scale", init_scale)
    if activation not in ("relu", "linear"):
        raise ValueError(f"activation must be 'relu' or 'linear', got {activation!r}")
    dims = [d_in] + [width] * (depth - 1) + [k]
    layers: list[nn.Module] = []
    for i in range(depth):
        layers.append(nn.Linear(dims[i], dims[i + 1], bias=hidden_bias or i == depth - 1, dtype=dtype, device=device))
        if i < depth - 1:
            layers.append(nn.ReLU() if activation == "relu" else nn.Identity())
    model = nn.Sequential(*layers)
    g = torch.Generator().manual_seed(int(seed))
    theta0: dict[str, torch.Tensor] = {}
    for name, p in model.named_parameters():
        if name.endswith("weight"):
            fan_in = p.shape[1]
            t = torch.randn(p.shape, generator=g, dtype=torch.float64) * math.sqrt(2.0 / fan_in) * init_scale
        else:
            t = torch.zeros(p.shape, dtype=torch.float64)
        theta0[name] = t.to(dtype=dtype, device=device)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(theta0[name])
            p.requires_grad_(False)
    return model, theta0


def last_bias_name(model: nn.Module) -> str:
    """Name of the output-layer bias of an MLP built like [`make_mlp`][mlitheory.bias_plateau.mlp.make_mlp]."""
    depths = layer_depths(model)
    L = max(d for d, _ in depths.values())
    names = [n for n, (d, kind) in depths.items() if d == L and kind == "bias"]
    if not names:
        raise ValueError("the model's output layer has no bias")
    return names[0]


def bias_gap(model: nn.Module, theta: Mapping[str, torch.Tensor]) -> float:
    """$\\max_j b_{L,j} - \\min_j b_{L,j}$ of the output-layer bias."""
    b = theta[last_bias_name(model)]
    return float(b.max() - b.min())


@dataclass(frozen=True)
class MLPTraining(Result):
    """A full-batch training run.

    Attributes:
        theta_T: final parameters ``{name: tensor}``.
        steps: gradient steps taken.
        converged: the loss fell below ``loss_tol``.
        final_loss: training cross-entropy at the end.
        loss_tol: the stopping tolerance.
        bias_mean_drift: $\\max_t|\\bar b_L(t) - \\bar b_L(0)|$ over every step.
        class_learning_steps: first step at which each class's training accuracy exceeds ``class_acc``
            (``-1`` if never), shape ``(k,)``.
        loss_history: loss at every ``history_every`` steps, shape ``(h,)``.
    """

    theta_T: dict
    steps: int
    converged: bool
    final_loss: float
    loss_tol: float
    bias_mean_drift: float
    class_learning_steps: np.ndarray
    loss_history: np.ndarray


def train_mlp(
    model: nn.Module,
    theta0: Mapping[str, torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    lr: float = 0.01,
    momentum: float = 0.9,
    loss_tol: float = 1e-3,
    max_steps: int = 50_000,
    class_acc: float = 0.9,
    history_every: int = 10,
    progress: bool = False,
    desc: str = "train",
) -> MLPTraining:
    """Full-batch gradient descent with heavy-ball momentum (``v <- momentum v + grad``, ``theta <- theta - lr v``).

    The model is used only through ``functional_call``; neither it nor ``theta0`` is modified.

    Args:
        model: the MLP.
        theta0: initial parameters.
        x: inputs, shape ``(n, d)``.
        y: labels, shape ``(n,)``.
        lr: step size.
        momentum: heavy-ball coefficient in ``[0, 1)`` (0 is plain gradient descent).
        loss_tol: stop once the training cross-entropy is below this.
        max_steps: stop after this many steps regardless.
        class_acc: per-class accuracy that marks a class as learned.
        history_every: record the loss every this many steps.
        progress: show a tqdm bar.
        desc: its label.
    """
    lr = _positive_float("lr", lr)
    loss_tol = _positive_float("loss_tol", loss_tol)
    max_steps = _positive_int("max_steps", max_steps)
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    depths = layer_depths(model)
    bname = last_bias_name(model)
    params = {n: theta0[n].detach().clone().requires_grad_(True) for n in depths}
    vel = {n: torch.zeros_like(p) for n, p in params.items()}
    k = int(params[bname].shape[0])
    if y.min() < 0 or y.max() >= k:
        raise ValueError(f"labels must lie in [0, {k - 1}] for a model with {k} outputs")
    onehot = torch.nn.functional.one_hot(y, k).to(x.dtype)
    counts = onehot.sum(0)
    mean0 = float(params[bname].detach().mean())
    drift = 0.0
    learned = np.full(k, -1, dtype=np.int64)
    history = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_steps, desc=desc, unit="step", leave=False)
    steps, converged, loss_val = 0, False, math.nan
    for step in range(max_steps + 1):
        z = functional_call(model, params, (x,))
        loss = torch.nn.functional.cross_entropy(z, y)
        loss_val = float(loss.detach())
        if not math.isfinite(loss_val):
            raise FloatingPointError(f"training diverged at step {step} (loss {loss_val}); lower lr")
        with torch.no_grad():
            correct = (z.argmax(1) == y).to(x.dtype)
            acc = (onehot * correct[:, None]).sum(0) / counts
            newly = (acc > class_acc).cpu().numpy() & (learned < 0)
            learned[newly] = step
        if step % history_every == 0:
            history.append(loss_val)
        steps = step
        if loss_val < loss_tol:
            converged = True
            break
        if step == max_steps:
            break
        grads = torch.autograd.grad(loss, list(params.values()))
        with torch.no_grad():
            for (n, p), g in zip(params.items(), grads):
                v = vel[n]
                v.mul_(momentum).add_(g)
                p.sub_(lr * v)
            drift = max(drift, abs(float(params[bname].mean()) - mean0))
        if bar is not None and step % 100 == 0:
            bar.update(100 if step else 0)
            bar.set_postfix(loss=f"{loss_val:.3g}")
    if bar is not None:
        bar.close()
    theta_T = {n: p.detach().clone() for n, p in params.items()}
    return MLPTraining(
        theta_T=theta_T,
        steps=int(steps),
        converged=converged,
        final_loss=loss_val,
        loss_tol=loss_tol,
        bias_mean_drift=drift,
        class_learning_steps=learned,
        loss_history=np.asarray(history),
    )


@dataclass(frozen=True)
class MLPCase(Result):
    """One trained MLP and its interpolation curves under every scheme.

    Attributes:
        depth, init_scale, seed, width: the configuration.
        k: number of classes.
        steps, converged, final_loss: of the training run.
        bias_gap: final output-bias gap.
        last_bias: final output bias, shape ``(k,)``.
        bias_mean_drift: of the training run.
        class_learning_steps: of the training run, shape ``(k,)``.
        alphas: grid, shape ``(m,)``.
        loss, error: ``{scheme: curve (m,)}``.
        threshold: error level defining the plateau end.
        plateau_end: ``{scheme: largest alpha with error >= threshold on every grid point in (0, alpha]}``.
        plateau_error, plateau_loss: mean error and loss of the linear scheme on the grid points of its plateau
            (``nan`` when the plateau is empty).
    """

    depth: int
    init_scale: float
    seed: int
    width: int
    k: int
    steps: int
    converged: bool
    final_loss: float
    bias_gap: float
    last_bias: np.ndarray
    bias_mean_drift: float
    class_learning_steps: np.ndarray
    alphas: np.ndarray
    loss: dict
    error: dict
    threshold: float
    plateau_end: dict
    plateau_error: float
    plateau_loss: float


def run_mlp_case(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    depth: int,
    init_scale: float,
    seed: int,
    width: int = 64,
    lr: float = 0.01,
    momentum: float = 0.9,
    loss_tol: float = 1e-3,
    max_steps: int = 50_000,
    alphas=None,
    threshold: float | None = None,
    progress: bool = False,
) -> MLPCase:
    """Build, train and interpolate one MLP (reference §7.2).

    Args:
        x: inputs, shape ``(n, d)`` (dtype and device of the run).
        y: labels, shape ``(n,)``, classes ``0..k-1``.
        depth, init_scale, seed, width: the network ([`make_mlp`][mlitheory.bias_plateau.mlp.make_mlp]).
        lr, momentum, loss_tol, max_steps: training ([`train_mlp`][mlitheory.bias_plateau.mlp.train_mlp]).
        alphas: interpolation grid (default 101 points on ``[0, 1]``).
        threshold: plateau error level (default $\\frac23(1 - 1/k)$, which is 0.5 for ``k = 4``).
        progress: tqdm bar on training.
    """
    k = int(y.max()) + 1
    if k < 2:
        raise ValueError(f"need k >= 2 classes in y, got {k}")
    model, theta0 = make_mlp(
        x.shape[1], k, depth=depth, width=width, init_scale=init_scale, seed=seed, dtype=x.dtype, device=x.device
    )
    tr = train_mlp(
        model,
        theta0,
        x,
        y,
        lr=lr,
        momentum=momentum,
        loss_tol=loss_tol,
        max_steps=max_steps,
        progress=progress,
        desc=f"L={depth} scale={init_scale:g} seed={seed}",
    )
    a = np.linspace(0.0, 1.0, 101) if alphas is None else np.asarray(alphas, dtype=np.float64)
    thr = (2.0 / 3.0) * (1.0 - 1.0 / k) if threshold is None else float(threshold)
    loss, err, ends = {}, {}, {}
    for s in SCHEMES:
        loss[s], err[s] = path_loss_error(model, theta0, tr.theta_T, x, y, a, scheme=s)
        ends[s] = plateau_end(a, err[s], threshold=thr)
    on = (a > 0) & (a <= ends["linear"])
    b = tr.theta_T[last_bias_name(model)].detach().cpu().double().numpy()
    return MLPCase(
        depth=int(depth),
        init_scale=float(init_scale),
        seed=int(seed),
        width=int(width),
        k=k,
        steps=tr.steps,
        converged=tr.converged,
        final_loss=tr.final_loss,
        bias_gap=float(b.max() - b.min()),
        last_bias=b,
        bias_mean_drift=tr.bias_mean_drift,
        class_learning_steps=tr.class_learning_steps,
        alphas=a,
        loss=loss,
        error=err,
        threshold=thr,
        plateau_end=ends,
        plateau_error=float(err["linear"][on].mean()) if on.any() else math.nan,
        plateau_loss=float(loss["linear"][on].mean()) if on.any() else math.nan,
    )
