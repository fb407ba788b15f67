r"""Bias interpolation schemes for MLPs, and the exact identities behind them.

For an MLP $f(x;\theta)$ with layers $h_\ell = \sigma(W_\ell h_{\ell-1} + b_\ell)$, $\ell = 1..L$
(no activation after layer $L$), $\sigma$ ReLU or the identity, the schemes interpolate from
$\theta^{(0)}$ to $\theta^{(T)}$:

- ``"linear"``: $\theta^{[\alpha]} = (1-\alpha)\theta^{(0)} + \alpha\theta^{(T)}$ for every parameter;
- ``"homogeneous"``: weights linearly, biases $b_\ell^{[\alpha]} = (1-\alpha^\ell) b_\ell^{(0)} + \alpha^\ell
  b_\ell^{(T)}$ (reference (3));
- ``"eq-last"``: linear, but towards the last-layer bias replaced by its mean, $\bar b_L^{(T)}\mathbf 1$ (the
  final output bias gap equalised; softmax is unchanged by the common shift).

Identities checked here (exact in real arithmetic; the check functions compare them in floating point against a
round-off bound):

$$
\begin{aligned}
&\text{(1) hidden biases 0, } \theta^{(0)} = 0:\quad f(x;\alpha\theta_T) = \alpha^L g_T(x) + \alpha b_{L,T},\\
&\text{(2) linear net, biases everywhere:}\quad f(x;\alpha\theta_T) = \alpha^L W_L\cdots W_1 x
    + \sum_{\ell=1}^{L}\alpha^{L-\ell+1} W_L\cdots W_{\ell+1} b_\ell,\\
&\text{(3) ReLU or linear net:}\quad f(x;\{cW_\ell, c^\ell b_\ell\}) = c^L f(x;\theta)\quad (c > 0).
\end{aligned}
$$

References:
    Wang, Wang, Zhou, Ge, ICLR 2023 (arXiv 2210.01019): linear interpolation gives weights and biases "very
    different influences"; a homogeneous scheme for biases shortens the plateau. The formulas are the project's
    reconstruction (``theory_bias_plateau.md`` §3.1, §3.4).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from mlitheory import _validate
from mlitheory.paths import ParameterPath, homogeneous_bias_path, linear_path
from mlitheory.results import Result

__all__ = [
    "SCHEMES",
    "IdentityCheck",
    "check_deep_linear_identity",
    "check_homogeneous_scaling",
    "check_output_bias_decomposition",
    "deep_linear_bias_expansion",
    "interpolate_params",
    "layer_depths",
    "path_loss_error",
    "scheme_path",
]

#: bias interpolation schemes for MLPs
SCHEMES = ("linear", "homogeneous", "eq-last")

_HOMOGENEOUS = (nn.ReLU, nn.Identity)


def layer_depths(model: nn.Module) -> dict[str, tuple[int, str]]:
    """Depth $\\ell$ (1-based) and kind (``"weight"``/``"bias"``) of every parameter of an MLP.

    Args:
        model: an ``nn.Sequential`` of ``nn.Linear`` layers separated by ``nn.ReLU`` or ``nn.Identity`` (the
            positively homogeneous activations for which the homogeneous scheme is exact).

    Returns:
        ``{parameter name: (depth, kind)}``, in the order of ``model.named_parameters()``.

    Raises:
        TypeError: if the model is not such a Sequential (names the offending child and how to fix it).
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(
            f"expected an nn.Sequential of Linear and ReLU/Identity layers (see make_mlp), got {type(model).__name__}"
        )
    out: dict[str, tuple[int, str]] = {}
    depth = 0
    for name, child in model.named_children():
        if isinstance(child, nn.Linear):
            depth += 1
            out[f"{name}.weight"] = (depth, "weight")
            if child.bias is not None:
                out[f"{name}.bias"] = (depth, "bias")
        elif not isinstance(child, _HOMOGENEOUS):
            raise TypeError(
                f"child {name!r} is a {type(child).__name__}; only nn.Linear, nn.ReLU and nn.Identity are supported "
                "(the bias schemes rely on positive homogeneity)"
            )
    if depth == 0:
        raise TypeError("the model has no nn.Linear layer")
    return out


def _check_params(theta0: Mapping[str, torch.Tensor], thetaT: Mapping[str, torch.Tensor], depths) -> None:
    missing = [n for n in depths if n not in theta0 or n not in thetaT]
    if missing:
        raise ValueError(f"parameter {missing[0]!r} is missing from theta0 or thetaT; pass every model parameter")
    for n in depths:
        if theta0[n].shape != thetaT[n].shape:
            raise ValueError(
                f"parameter {n!r}: theta0 has shape {tuple(theta0[n].shape)}, thetaT {tuple(thetaT[n].shape)}"
            )


def interpolate_params(
    theta0: Mapping[str, torch.Tensor],
    thetaT: Mapping[str, torch.Tensor],
    alpha: float,
    *,
    scheme: str = "linear",
    depths: Mapping[str, tuple[int, str]],
) -> dict[str, torch.Tensor]:
    """Parameters at ``alpha`` along the chosen scheme (new tensors; the inputs are not modified).

    Args:
        theta0, thetaT: endpoint parameters ``{name: tensor}``.
        alpha: interpolation coefficient (any real; 0 and 1 give the endpoints, except that ``"eq-last"`` ends at
            the equalised last-layer bias).
        scheme: one of [`SCHEMES`][mlitheory.bias_plateau.schemes.SCHEMES].
        depths: [`layer_depths`][mlitheory.bias_plateau.schemes.layer_depths] of the model.
    """
    return scheme_path(theta0, thetaT, scheme=scheme, depths=depths).state(float(alpha))


def scheme_path(
    theta0: Mapping[str, torch.Tensor],
    thetaT: Mapping[str, torch.Tensor],
    *,
    scheme: str = "linear",
    depths: Mapping[str, tuple[int, str]],
) -> ParameterPath:
    """The scheme as a [`mlitheory.paths.ParameterPath`][mlitheory.paths.ParameterPath] (the path objects of
    [`mlitheory.evaluate_path`][mlitheory.interpolation.evaluate_path]).

    ``"linear"`` is [`linear_path`][mlitheory.paths.linear_path], ``"homogeneous"`` is
    [`homogeneous_bias_path`][mlitheory.paths.homogeneous_bias_path] with the depths of
    [`layer_depths`][mlitheory.bias_plateau.schemes.layer_depths], and ``"eq-last"`` is the linear path towards
    ``thetaT`` with its last-layer bias replaced by the mean.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; choose one of {SCHEMES}")
    _check_params(theta0, thetaT, depths)
    start = {n: theta0[n] for n in depths}
    end = {n: thetaT[n] for n in depths}
    if scheme == "homogeneous":
        bias_depths = {n: ell for n, (ell, kind) in depths.items() if kind == "bias"}
        return homogeneous_bias_path(start, end, depths=bias_depths)
    if scheme == "eq-last":
        L = max(d for d, _ in depths.values())
        for n, (ell, kind) in depths.items():
            if kind == "bias" and ell == L:
                end[n] = end[n].mean().expand_as(end[n]).clone()
    return linear_path(start, end)


@torch.no_grad()
def path_loss_error(
    model: nn.Module,
    theta0: Mapping[str, torch.Tensor],
    thetaT: Mapping[str, torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    alphas,
    *,
    scheme: str = "linear",
) -> tuple[np.ndarray, np.ndarray]:
    """Training cross-entropy and error (ties count as errors) along a scheme.

    Args:
        model: the MLP (only its architecture is used, through ``functional_call``; it is not modified).
        theta0, thetaT: endpoint parameters.
        x: inputs, shape ``(n, d)``.
        y: labels, shape ``(n,)``.
        alphas: grid, shape ``(m,)``.
        scheme: one of [`SCHEMES`][mlitheory.bias_plateau.schemes.SCHEMES].

    Returns:
        ``(loss, error)``, NumPy float64 arrays of shape ``(m,)``.
    """
    path = scheme_path(theta0, thetaT, scheme=scheme, depths=layer_depths(model))
    a = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    loss = np.empty(a.size)
    err = np.empty(a.size)
    for i, al in enumerate(a):
        z = functional_call(model, path.state(float(al)), (x,))
        loss[i] = float(torch.nn.functional.cross_entropy(z, y))
        zy = z.gather(1, y[:, None])
        others = z.scatter(1, y[:, None], -math.inf).amax(dim=1, keepdim=True)
        err[i] = float((zy <= others).double().mean())
    if not (np.all(np.isfinite(loss)) and np.all(np.isfinite(err))):
        raise FloatingPointError("non-finite loss along the path; check the parameters for nan/inf")
    return loss, err


# ---------------------------------------------------------------------------------------------------------------------
# identities


@dataclass(frozen=True)
class IdentityCheck(Result):
    """Comparison of the two sides of an exact identity in floating point.

    Attributes:
        identity: which identity (``"output-bias decomposition (1)"``, ...).
        parameters: the values of the scalar (``alpha`` or ``c``) tested, shape ``(m,)``.
        max_abs_diff: largest absolute difference of the two sides at each value, shape ``(m,)``.
        tolerance: round-off bound at each value, shape ``(m,)``: $4(L+1)\\gamma_n$ times the magnitude of
            the computation (the network run on absolute values), $\\gamma_n = nu/(1-nu)$ with ``n`` the
            largest fan-in plus one and ``u`` the unit round-off of the dtype.
        holds: ``max_abs_diff <= tolerance`` at every value.
    """

    identity: str
    parameters: np.ndarray
    max_abs_diff: np.ndarray
    tolerance: np.ndarray
    holds: bool

    def summary(self) -> str:
        return (
            f"{self.identity}: max |difference| {self.max_abs_diff.max():.2e} "
            f"(round-off bound {self.tolerance.min():.2e}): {'holds' if self.holds else 'FAILS'}"
        )


def _abs_forward(model: nn.Module, theta, x: torch.Tensor) -> torch.Tensor:
    """The network run on absolute values without activation: a bound on every intermediate magnitude."""
    h = x.abs()
    depths = layer_depths(model)
    names = list(depths)
    for name, (_ell, kind) in depths.items():
        if kind == "weight":
            prefix = name[: -len("weight")]
            h = h @ theta[name].abs().T
            if prefix + "bias" in names:
                h = h + theta[prefix + "bias"].abs()
    return h


def _gamma(model: nn.Module, theta, dtype: torch.dtype) -> tuple[float, int]:
    depths = layer_depths(model)
    n = max(theta[name].shape[1] for name, (_, kind) in depths.items() if kind == "weight") + 1
    u = torch.finfo(dtype).eps / 2
    L = max(d for d, _ in depths.values())
    return n * u / (1 - n * u), L


def _scaled(theta, depths, c: float, bias_power: bool) -> dict[str, torch.Tensor]:
    return {
        name: (c**ell if (kind == "bias" and bias_power) else c) * theta[name] for name, (ell, kind) in depths.items()
    }


def _check_inputs(model, thetaT, x):
    depths = layer_depths(model)
    missing = [n for n in depths if n not in thetaT]
    if missing:
        raise ValueError(f"parameter {missing[0]!r} is missing from thetaT")
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        raise ValueError(f"x must be a tensor of shape (n, d), got {getattr(x, 'shape', type(x).__name__)}")
    first = next(n for n, (_, kind) in depths.items() if kind == "weight")
    w = thetaT[first]
    if x.dtype != w.dtype:
        raise TypeError(f"x is {x.dtype} but thetaT[{first!r}] is {w.dtype}; convert one to the other's dtype")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features but thetaT[{first!r}] expects {w.shape[1]}")
    _validate.state_entries({n: thetaT[n] for n in depths}, "thetaT")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x holds NaN or infinite values")
    return depths


def _points(values, name: str, *, positive: bool = False) -> np.ndarray:
    """A non-empty 1-D array of finite values (``> 0`` when ``positive``)."""
    a = np.atleast_1d(_validate.finite_array(values, name))
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got shape {a.shape}")
    if positive and np.any(a <= 0):
        raise ValueError(f"{name} must be > 0")
    return a


@torch.no_grad()
def check_output_bias_decomposition(model: nn.Module, thetaT, x: torch.Tensor, alphas) -> IdentityCheck:
    r"""Check (1): for $\theta^{(0)} = 0$ and zero (or absent) hidden biases,
    $f(x;\alpha\theta_T) = \alpha^L g_T(x) + \alpha b_{L,T}$ with $g_T = f(x;\theta_T) - b_{L,T}$.

    Raises:
        ValueError: if a hidden bias is nonzero (the identity needs the output bias to be the only bias).
    """
    depths = _check_inputs(model, thetaT, x)
    L = max(d for d, _ in depths.values())
    last_bias = [n for n, (d, kind) in depths.items() if kind == "bias" and d == L]
    for name, (d, kind) in depths.items():
        if kind == "bias" and d < L and bool(thetaT[name].ne(0).any()):
            raise ValueError(f"hidden bias {name!r} is nonzero; decomposition (1) needs zero hidden biases")
    fT = functional_call(model, dict(thetaT), (x,))
    bT = thetaT[last_bias[0]] if last_bias else torch.zeros(fT.shape[1], dtype=fT.dtype, device=fT.device)
    gT = fT - bT
    gam, _ = _gamma(model, thetaT, x.dtype)
    magT = _abs_forward(model, thetaT, x)
    a = _points(alphas, "alphas")
    diffs, tols = [], []
    for al in a:
        lhs = functional_call(model, _scaled(thetaT, depths, al, False), (x,))
        rhs = al**L * gT + al * bT
        diffs.append(float((lhs - rhs).abs().max()))
        mag = al**L * magT + al * bT.abs()
        tols.append(float(4 * (L + 1) * gam * (2 * mag + al * bT.abs()).max()))
    d, t = np.array(diffs), np.array(tols)
    return IdentityCheck("output-bias decomposition (1)", a, d, t, bool(np.all(d <= t)))


def deep_linear_bias_expansion(model: nn.Module, thetaT, x: torch.Tensor, alpha: float) -> torch.Tensor:
    r"""Right side of (2) for a linear MLP (identity activations) with biases in every layer, shape ``(n, k)``:
    $\alpha^L W_L\cdots W_1 x + \sum_\ell \alpha^{L-\ell+1} W_L\cdots W_{\ell+1} b_\ell$."""
    depths = _check_inputs(model, thetaT, x)
    if any(isinstance(c, nn.ReLU) for c in model.children()):
        raise ValueError("identity (2) is for linear networks; the model has ReLU activations")
    weights = [n for n, (_, kind) in depths.items() if kind == "weight"]
    L = len(weights)
    biases = {d: thetaT[n] for n, (d, kind) in depths.items() if kind == "bias"}
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    out = x @ torch.linalg.multi_dot([thetaT[w] for w in reversed(weights)] + [eye]).T
    out = alpha**L * out
    for ell, b in biases.items():
        v = b
        for w in weights[ell:]:
            v = thetaT[w] @ v
        out = out + alpha ** (L - ell + 1) * v
    return out


@torch.no_grad()
def check_deep_linear_identity(model: nn.Module, thetaT, x: torch.Tensor, alphas) -> IdentityCheck:
    """Check (2): $f(x;\\alpha\\theta_T)$ against
    [`deep_linear_bias_expansion`][mlitheory.bias_plateau.schemes.deep_linear_bias_expansion] at each ``alpha``."""
    depths = _check_inputs(model, thetaT, x)
    gam, L = _gamma(model, thetaT, x.dtype)
    a = _points(alphas, "alphas")
    diffs, tols = [], []
    for al in a:
        th = _scaled(thetaT, depths, al, False)
        lhs = functional_call(model, th, (x,))
        rhs = deep_linear_bias_expansion(model, thetaT, x, al)
        diffs.append(float((lhs - rhs).abs().max()))
        tols.append(float(4 * (L + 1) * gam * 2 * _abs_forward(model, th, x).max()))
    d, t = np.array(diffs), np.array(tols)
    return IdentityCheck("deep linear identity (2)", a, d, t, bool(np.all(d <= t)))


@torch.no_grad()
def check_homogeneous_scaling(model: nn.Module, thetaT, x: torch.Tensor, cs) -> IdentityCheck:
    """Check (3): $f(x;\\{cW_\\ell, c^\\ell b_\\ell\\}) = c^L f(x;\\theta_T)$ for each ``c > 0``."""
    depths = _check_inputs(model, thetaT, x)
    c_arr = _points(cs, "cs")
    if np.any(c_arr <= 0):
        raise ValueError("the scaling identity (3) needs c > 0")
    gam, L = _gamma(model, thetaT, x.dtype)
    fT = functional_call(model, dict(thetaT), (x,))
    magT = _abs_forward(model, thetaT, x)
    diffs, tols = [], []
    for c in c_arr:
        th = _scaled(thetaT, depths, c, True)
        lhs = functional_call(model, th, (x,))
        diffs.append(float((lhs - c**L * fT).abs().max()))
        tols.append(float(4 * (L + 1) * gam * 2 * (c**L * magT).max()))
    d, t = np.array(diffs), np.array(tols)
    return IdentityCheck("homogeneous scaling (3)", c_arr, d, t, bool(np.all(d <= t)))
