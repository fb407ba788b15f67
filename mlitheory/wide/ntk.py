r"""Networks in NTK parameterisation, their empirical neural tangent kernel, linearisation and GD training.

An [`NTKMLP`][mlitheory.wide.ntk.NTKMLP] of depth $L$ (hidden layers) and widths $n_1,\dots,n_L$ computes

$$
h^1 = \frac{\sigma_w}{\sqrt{n_0}} W^0 x + \sigma_b b^0,\qquad
h^{l+1} = \frac{\sigma_w}{\sqrt{n_l}} W^l \phi(h^l) + \sigma_b b^l,\qquad f(x) = h^{L+1},
$$

with every entry of $W^l, b^l$ drawn i.i.d. $\mathcal N(0, 1)$ (Jacot et al. 2018; Lee et al. 2019).
The empirical NTK on inputs $X$ is $\hat\Theta = JJ^\top$ with
$J = \partial\,\mathrm{vec} f(X)/\partial\theta$ (outputs ordered example-major). The linearised model is
$f^{\rm lin}(\theta) = f(\theta_0) + J_0(\theta - \theta_0)$;
full-batch gradient descent on $\tfrac12\|f^{\rm lin}(\theta) - y\|^2$ with step $\eta$ has residuals

$$
r_T = (I - \eta\hat\Theta_0)^T r_0, \qquad\text{and under gradient flow}\quad r_t = e^{-\hat\Theta_0 t} r_0 .
$$

Training here always minimises $\tfrac12\|f(\theta)(X) - Y\|_F^2$ (a sum over examples), so
$\eta = 1/\lambda_{\max}(\hat\Theta_0)$
is the natural step and $\eta > 2/\lambda_{\max}$ diverges on the linearised model.

References:
    Jacot, Gabriel, Hongler, *Neural Tangent Kernel*, NeurIPS 2018. Lee et al., *Wide Neural Networks of Any Depth
    Evolve as Linear Models Under Gradient Descent*, NeurIPS 2019 (Thm 2.1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jacrev, jvp

from mlitheory import _validate
from mlitheory.results import Result

__all__ = [
    "NTKMLP",
    "GDResult",
    "empirical_ntk",
    "gd_residuals",
    "gradient_flow_residuals",
    "jacobian",
    "linearized_outputs",
    "model_outputs",
    "param_dict",
    "stack_params",
    "train_gd",
    "train_gd_many",
]

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "erf": torch.erf,
    "sin": torch.sin,
    "relu": torch.relu,
    "softplus": nn.functional.softplus,
    "identity": lambda x: x,
}


#: above this many outputs `jacobian` uses ``jacrev`` (vmap) instead of one backward pass per output
_LOOP_MAX_OUTPUTS = 512


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}; widths and dimensions count units")
    return int(value)


class NTKMLP(nn.Module):
    """Fully connected network in NTK parameterisation: N(0, 1) weights, $1/\\sqrt{\\text{fan-in}}$ in forward.

    Args:
        in_dim: input dimension $n_0$.
        width: hidden width, an int (all layers) or a sequence of ints (one per hidden layer).
        out_dim: output dimension.
        depth: number of hidden layers when ``width`` is an int (default 1); ignored for a sequence.
        activation: ``"tanh"`` (default), ``"erf"``, ``"sin"``, ``"softplus"``, ``"relu"``, ``"identity"``, or
            a callable.
        bias: add biases (scaled by ``sigma_b``).
        sigma_w, sigma_b: weight and bias scales.
        generator: ``torch.Generator`` for the initial weights (explicit randomness); or use ``seed``.
        seed: int seed (used when ``generator`` is None; default 0).
        dtype, device: of the parameters (default float64, CPU).

    Raises:
        ValueError: a non-positive width, dimension or depth.
    """

    def __init__(
        self,
        in_dim: int,
        width: int | Sequence[int],
        out_dim: int = 1,
        *,
        depth: int = 1,
        activation: str | Callable[[torch.Tensor], torch.Tensor] = "tanh",
        bias: bool = False,
        sigma_w: float = 1.0,
        sigma_b: float = 1.0,
        generator: torch.Generator | None = None,
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        in_dim = _positive_int(in_dim, "in_dim")
        out_dim = _positive_int(out_dim, "out_dim")
        if isinstance(width, (Sequence, np.ndarray)):
            widths = [_positive_int(w, f"width[{i}]") for i, w in enumerate(width)]
        else:
            depth = _positive_int(depth, "depth")
            widths = [_positive_int(width, "width")] * depth
            if not widths:
                raise ValueError("width must list at least one hidden layer")
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(_ACTIVATIONS)}")
            self.activation_name = activation
            self.phi = _ACTIVATIONS[activation]
        else:
            self.activation_name = getattr(activation, "__name__", "custom")
            self.phi = activation
        self.sizes = [in_dim, *widths, out_dim]
        self.sigma_w, self.sigma_b, self.bias = float(sigma_w), float(sigma_b), bool(bias)
        gen = generator if generator is not None else torch.Generator(device="cpu").manual_seed(seed)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            w = torch.randn(n_out, n_in, generator=gen, dtype=dtype)
            self.weights.append(nn.Parameter(w.to(device)))
            if self.bias:
                self.biases.append(nn.Parameter(torch.randn(n_out, generator=gen, dtype=dtype).to(device)))

    @property
    def widths(self) -> list[int]:
        """Hidden widths $n_1, \\dots, n_L$."""
        return self.sizes[1:-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs, shape ``(N, out_dim)`` for inputs ``(N, in_dim)``."""
        h = x
        last = len(self.weights) - 1
        for i, w in enumerate(self.weights):
            h = (self.sigma_w / math.sqrt(w.shape[1])) * (h @ w.T)
            if self.bias:
                h = h + self.sigma_b * self.biases[i]
            if i < last:
                h = self.phi(h)
        return h

    def forward_stacked(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Outputs of ``S`` networks of this architecture at once.

        Args:
            params: as [`param_dict`][mlitheory.wide.ntk.param_dict], each tensor with a leading axis of size ``S``
                ([`stack_params`][mlitheory.wide.ntk.stack_params]).
            x: inputs ``(N, in_dim)``.

        Returns:
            Shape ``(S, N, out_dim)``.
        """
        h = x
        last = len(self.weights) - 1
        for i in range(last + 1):
            w = params[f"weights.{i}"]
            h = (self.sigma_w / math.sqrt(w.shape[2])) * torch.matmul(h, w.transpose(1, 2))
            if self.bias:
                h = h + self.sigma_b * params[f"biases.{i}"][:, None, :]
            if i < last:
                h = self.phi(h)
        return h


def param_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Detached copies of the model's parameters (the caller's model is never modified)."""
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def stack_params(dicts: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack parameter dicts of the same architecture along a new leading axis (``S``)."""
    if not dicts:
        raise ValueError("need at least one parameter dict to stack")
    keys = list(dicts[0])
    return {k: torch.stack([d[k].detach() for d in dicts]) for k in keys}


def model_outputs(model: nn.Module, params: dict[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
    """$f(\\theta)(X)$ evaluated functionally with ``params``; shape ``(N, k)``."""
    return functional_call(model, params, (X,))


def jacobian(model: nn.Module, X: torch.Tensor, params: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """$J = \\partial\\,\\mathrm{vec} f(X) / \\partial\\theta$, shape ``(N·k, P)`` (named_parameters order)."""
    params = param_dict(model) if params is None else params
    n_out = model_outputs(model, params, X[:1]).numel() * X.shape[0]
    if n_out > _LOOP_MAX_OUTPUTS:  # many outputs: one vectorised reverse pass per output row (vmap)
        jac = jacrev(lambda p: model_outputs(model, p, X).reshape(-1))(params)
        return torch.cat([jac[k].reshape(jac[k].shape[0], -1) for k in params], dim=1)
    # few outputs (the usual small training sets): one backward pass per output, no vmap overhead
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    out = model_outputs(model, leaves, X).reshape(-1)
    rows = []
    for i in range(out.numel()):
        grads = torch.autograd.grad(out[i], list(leaves.values()), retain_graph=True, allow_unused=True)
        rows.append(
            torch.cat([(torch.zeros_like(v) if g is None else g).reshape(-1) for g, v in zip(grads, leaves.values())])
        )
    return torch.stack(rows)


def _check_inputs(model: nn.Module, X: torch.Tensor, params: dict[str, torch.Tensor] | None, name: str = "params"):
    """``model`` a module, ``X`` a finite floating ``(N, d)`` tensor of the parameters' dtype (and width)."""
    _validate.module(model)
    if not isinstance(X, torch.Tensor) or X.ndim != 2 or not X.is_floating_point():
        raise ValueError(
            f"X must be a floating tensor of shape (N, in_dim), got {getattr(X, 'shape', type(X).__name__)}"
        )
    if not bool(torch.isfinite(X).all()):
        raise ValueError("X holds NaN or infinite values")
    ref = dict(model.named_parameters()) if params is None else params
    if params is not None:
        names = [n for n, _ in model.named_parameters()]
        missing, extra = [n for n in names if n not in params], [n for n in params if n not in names]
        if missing or extra:
            raise ValueError(
                f"{name} does not match the model's parameters (missing {missing[:3]}, unknown {extra[:3]}); "
                "pass dict(model.named_parameters()) of this architecture"
            )
        _validate.state_entries(params, name)
    dtypes = {v.dtype for v in ref.values()}
    if dtypes and X.dtype not in dtypes:
        raise TypeError(f"X is {X.dtype} but the parameters are {', '.join(map(str, sorted(dtypes, key=str)))}")
    if isinstance(model, NTKMLP) and X.shape[1] != model.sizes[0]:
        raise ValueError(f"X has {X.shape[1]} features but the network takes in_dim={model.sizes[0]}")


def empirical_ntk(model: nn.Module, X: torch.Tensor, params: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Empirical NTK $\\hat\\Theta = JJ^\\top$, shape ``(N·k, N·k)`` (example-major output order)."""
    _check_inputs(model, X, params)
    J = jacobian(model, X, params)
    return J @ J.T


def linearized_outputs(
    model: nn.Module, params0: dict[str, torch.Tensor], params: dict[str, torch.Tensor], X: torch.Tensor
) -> torch.Tensor:
    """Linearised model $f(\\theta_0)(X) + J_0(\\theta - \\theta_0)$ by one forward-mode ``jvp``; ``(N, k)``."""
    _check_inputs(model, X, params0, "params0")
    _check_inputs(model, X, params, "params")
    tangent = {k: params[k] - params0[k] for k in params0}
    f0, df = jvp(lambda p: model_outputs(model, p, X), (params0,), (tangent,))
    return f0 + df


def _eigh(theta, r0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    theta = torch.as_tensor(theta, dtype=torch.float64)
    if theta.ndim != 2 or theta.shape[0] != theta.shape[1]:
        raise ValueError(f"theta must be a square matrix, got shape {tuple(theta.shape)}")
    r0 = torch.as_tensor(r0, dtype=torch.float64)
    if r0.shape != (theta.shape[0],):
        raise ValueError(
            f"r0 must have shape ({theta.shape[0]},) to match theta {tuple(theta.shape)}, got {tuple(r0.shape)}"
        )
    for name, t in (("theta", theta), ("r0", r0)):
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} holds NaN or infinite values")
    theta = 0.5 * (theta + theta.T)
    lam, Q = torch.linalg.eigh(theta)
    return lam, Q, r0


def gd_residuals(theta, r0, eta: float, steps) -> torch.Tensor:
    """Closed-form GD residuals of the linearised model: $r_T = (I - \\eta\\Theta)^T r_0$.

    Args:
        theta: kernel, shape ``(n, n)``, symmetric PSD.
        r0: initial residual $f_0 - y$, shape ``(n,)``.
        eta: step size.
        steps: number of steps ``T >= 0``, an int or a sequence of ints.

    Returns:
        Shape ``(n,)`` for an int ``steps``, ``(len(steps), n)`` for a sequence (float64).
    """
    eta = _validate.real(eta, "eta", positive=True)
    lam, Q, r0 = _eigh(theta, r0)
    T = torch.as_tensor(steps, dtype=torch.float64)
    if torch.any(T < 0) or torch.any(T != torch.round(T)):
        raise ValueError(f"steps must be non-negative integers, got {steps}")
    coef = Q.T @ r0
    mult = (1 - eta * lam)[None, :] ** T.reshape(-1, 1)
    out = (mult * coef) @ Q.T
    return out[0] if T.ndim == 0 else out


def gradient_flow_residuals(theta, r0, t) -> torch.Tensor:
    """Gradient-flow residuals $r_t = e^{-\\Theta t} r_0$; ``t`` a float (shape ``(n,)``) or a sequence."""
    lam, Q, r0 = _eigh(theta, r0)
    tt = torch.as_tensor(t, dtype=torch.float64)
    if not bool(torch.isfinite(tt).all()) or bool((tt < 0).any()):
        raise ValueError(f"t must be finite times >= 0, got {t}")
    out = (torch.exp(-lam[None, :] * tt.reshape(-1, 1)) * (Q.T @ r0)) @ Q.T
    return out[0] if tt.ndim == 0 else out


# ---------------------------------------------------------------------------------------------- training


@dataclass(frozen=True)
class GDResult(Result):
    """Full-batch gradient descent on $\\tfrac12\\|f(\\theta)(X) - Y\\|^2$.

    Attributes:
        params: final parameters (dict name → tensor, on the CPU).
        status: ``"converged"`` (loss below ``target_loss``), ``"max_steps"``, or ``"diverged"`` (loss
            non-finite or above ``divergence_factor`` times its initial value: training stopped there).
        steps: steps taken.
        eta: step size; lambda_max, lambda_min: extreme eigenvalues of $\\hat\\Theta_0$.
        eta_lambda_max: $\\eta\\lambda_{\\max}$ (> 2: GD on the linearised model diverges).
        initial_loss, final_loss: loss before and after.
        loss_history: loss at steps ``0, record_every, 2·record_every, …`` and at the last step.
    """

    params: dict
    status: str
    steps: int
    eta: float
    lambda_max: float
    lambda_min: float
    eta_lambda_max: float
    initial_loss: float
    final_loss: float
    loss_history: np.ndarray

    _summary_fields = ("status", "steps", "eta", "eta_lambda_max", "initial_loss", "final_loss")

    @property
    def converged(self) -> bool:
        return self.status == "converged"


def train_gd(
    model: nn.Module,
    X: torch.Tensor,
    Y: torch.Tensor,
    *,
    params0: dict[str, torch.Tensor] | None = None,
    eta: float | None = None,
    eta_scale: float = 1.0,
    target_loss: float = 1e-12,
    max_steps: int = 200_000,
    divergence_factor: float = 1e3,
    record_every: int = 100,
    progress: bool = False,
) -> GDResult:
    """Full-batch gradient descent on $\\tfrac12\\|f(\\theta)(X) - Y\\|_F^2$ from ``params0``, functionally.

    Args:
        model: the architecture (its own parameters are neither used, unless ``params0`` is None, nor modified).
        X: inputs ``(N, in_dim)``; Y: targets ``(N, out_dim)``.
        params0: initial parameters (default: a copy of the model's).
        eta: step size; default ``eta_scale / λ_max(Θ̂₀)``.
        eta_scale: step as a fraction of $1/\\lambda_{\\max}$ when ``eta`` is None.
        target_loss: stop when the loss falls below it.
        max_steps: stop after this many steps (status ``"max_steps"``).
        divergence_factor: stop with status ``"diverged"`` once the loss exceeds this multiple of its initial value
            or becomes non-finite (e.g. $\\eta > 2/\\lambda_{\\max}$): training never loops on a diverging run.
        record_every: period of ``loss_history``.
        progress: show a tqdm bar.

    Returns:
        [`GDResult`][mlitheory.wide.ntk.GDResult].
    """
    if not target_loss > 0:
        raise ValueError(f"target_loss must be positive, got {target_loss}")
    if max_steps < 0:
        raise ValueError(f"max_steps must be >= 0, got {max_steps}")
    _check_inputs(model, X, params0, "params0")
    if not isinstance(Y, torch.Tensor) or Y.shape[:1] != X.shape[:1] or Y.dtype != X.dtype:
        raise ValueError(
            f"Y must be a tensor of targets (N, out_dim) with N = {X.shape[0]} rows and X's dtype {X.dtype}, got "
            f"{getattr(Y, 'shape', type(Y).__name__)}" + (f" of dtype {Y.dtype}" if isinstance(Y, torch.Tensor) else "")
        )
    params = param_dict(model) if params0 is None else {k: v.detach().clone() for k, v in params0.items()}
    theta0 = empirical_ntk(model, X, params)
    lam = torch.linalg.eigvalsh(0.5 * (theta0 + theta0.T))
    lmax, lmin = float(lam[-1]), float(lam[0])
    if eta is None:
        if not eta_scale > 0:
            raise ValueError(f"eta_scale must be positive, got {eta_scale}")
        eta = eta_scale / lmax
    if not eta > 0:
        raise ValueError(f"eta must be positive, got {eta}")

    def loss_fn(p):
        r = model_outputs(model, p, X) - Y
        return 0.5 * torch.sum(r * r)

    grad_fn = torch.func.grad_and_value(loss_fn)
    history = []
    status = "max_steps"
    initial = None
    step = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_steps, desc="GD", leave=False)
    with torch.no_grad():
        while True:
            g, loss = grad_fn(params)
            loss_v = float(loss)
            if initial is None:
                initial = loss_v
            if step % record_every == 0:
                history.append(loss_v)
            if not math.isfinite(loss_v) or loss_v > divergence_factor * max(initial, 1e-300):
                status = "diverged"
                break
            if loss_v < target_loss:
                status = "converged"
                break
            if step >= max_steps:
                break
            params = {k: params[k] - eta * g[k] for k in params}
            step += 1
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    if step % record_every != 0:
        history.append(loss_v)
    return GDResult(
        params={k: v.detach().cpu() for k, v in params.items()},
        status=status,
        steps=step,
        eta=float(eta),
        lambda_max=lmax,
        lambda_min=lmin,
        eta_lambda_max=float(eta) * lmax,
        initial_loss=float(initial),
        final_loss=loss_v,
        loss_history=np.asarray(history),
    )


def train_gd_many(
    model: NTKMLP,
    X: torch.Tensor,
    Y: torch.Tensor,
    params0: Sequence[dict[str, torch.Tensor]],
    *,
    eta_scale: float = 1.0,
    target_loss: float = 1e-12,
    max_steps: int = 200_000,
    divergence_factor: float = 1e3,
    record_every: int = 100,
    progress: bool = False,
) -> list[GDResult]:
    """[`train_gd`][mlitheory.wide.ntk.train_gd] for ``S`` initialisations of one [`NTKMLP`][mlitheory.wide.ntk.NTKMLP]
    architecture at once (same data).

    Each run has its own step $\\eta_s = \\text{eta\\_scale}/\\lambda_{\\max}(\\hat\\Theta_{0,s})$ and stops on
    its own
    (converged, diverged, or ``max_steps``); the others go on. The forward pass is batched over runs
    ([`NTKMLP.forward_stacked`][mlitheory.wide.ntk.NTKMLP.forward_stacked]), so ``S`` runs cost about as much as one
    when the network is small.

    Returns:
        One [`GDResult`][mlitheory.wide.ntk.GDResult] per initialisation, in order.
    """
    if not isinstance(model, NTKMLP):
        raise TypeError(f"train_gd_many needs an NTKMLP, got {type(model).__name__}; use train_gd for other models")
    if not target_loss > 0:
        raise ValueError(f"target_loss must be positive, got {target_loss}")
    if not eta_scale > 0:
        raise ValueError(f"eta_scale must be positive, got {eta_scale}")
    S = len(params0)
    lmax, lmin = [], []
    for p in params0:
        lam = torch.linalg.eigvalsh(empirical_ntk(model, X, p))
        lmax.append(float(lam[-1]))
        lmin.append(float(lam[0]))
    params = {k: v.clone().requires_grad_(True) for k, v in stack_params(params0).items()}
    dtype, device = next(iter(params.values())).dtype, next(iter(params.values())).device
    eta = torch.tensor([eta_scale / lm for lm in lmax], dtype=dtype, device=device)
    act = np.ones(S, dtype=bool)  # runs still training (a plain NumPy mask: no tensor aliasing across steps)
    steps = [0] * S
    status = ["max_steps"] * S
    initial = None
    final = [math.nan] * S
    history: list[list[float]] = [[] for _ in range(S)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_steps, desc=f"GD ×{S}", leave=False)
    step = 0
    while True:
        r = model.forward_stacked(params, X) - Y
        loss = 0.5 * torch.sum(r * r, dim=(1, 2))
        grads = torch.autograd.grad(loss.sum(), list(params.values()))
        lv = loss.detach().cpu().numpy()
        if initial is None:
            initial = lv.copy()
        for s in np.nonzero(act)[0]:
            if step % record_every == 0:
                history[s].append(float(lv[s]))
            final[s] = float(lv[s])
            steps[s] = step
            if not math.isfinite(lv[s]) or lv[s] > divergence_factor * max(initial[s], 1e-300):
                status[s], act[s] = "diverged", False
            elif lv[s] < target_loss:
                status[s], act[s] = "converged", False
            elif step >= max_steps:
                act[s] = False
            if not act[s] and step % record_every != 0:
                history[s].append(float(lv[s]))
        if not act.any():
            break
        scale = eta * torch.tensor(act, dtype=dtype, device=device)
        with torch.no_grad():
            for v, g in zip(params.values(), grads):
                v -= scale.view(-1, *([1] * (v.ndim - 1))) * g
        step += 1
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    out = []
    for s in range(S):
        out.append(
            GDResult(
                params={k: v[s].detach().cpu().clone() for k, v in params.items()},
                status=status[s],
                steps=steps[s],
                eta=float(eta[s]),
                lambda_max=lmax[s],
                lambda_min=lmin[s],
                eta_lambda_max=float(eta[s]) * lmax[s],
                initial_loss=float(initial[s]),
                final_loss=final[s],
                loss_history=np.asarray(history[s]),
            )
        )
    return out
