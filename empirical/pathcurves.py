r"""Loss and accuracy along non-linear parameter paths: layer-wise and homogeneous-bias interpolation.

Every floating-point entry :math:`k` of a state dict gets a coefficient :math:`c_k(\alpha)`:

.. math::
    \theta_k(\alpha) = \big(1-c_k(\alpha)\big)\,\theta_k^{\text{start}} + c_k(\alpha)\,\theta_k^{\text{end}},
    \qquad c_k(\alpha) \in \{\alpha^{p_k},\ 0,\ 1\}.

- **linear** (Goodfellow et al. 2015; Lucas et al. 2021): :math:`c_k(\alpha)=\alpha` for every entry.
- **layer-wise** (Vlaar & Frankle 2022): the entries of one layer or block move, :math:`c_k(\alpha)=\alpha`;
  every other entry stays at its final value (:math:`c_k\equiv1`).
- **homogeneous bias** (``theory_bias_plateau.md`` §3.4): weights move linearly and the bias of the
  :math:`\ell`-th Linear/Conv layer (1-based, in registration order) as :math:`\alpha^\ell`. For a ReLU network
  started at :math:`\theta^{\text{start}}=0`, :math:`f(x;\theta(\alpha))=\alpha^L f(x;\theta^{\text{end}})`
  exactly, because :math:`(W_\ell,b_\ell)\mapsto(cW_\ell,c^\ell b_\ell)` scales the network by :math:`c^L`.

Integer entries (``num_batches_tracked``) carry the end value. Batch-norm running statistics are re-estimated
at every α on ``bn_data`` with an exact cumulative average (``bn="recompute"``) or interpolated like the
weights (``bn="interpolate"``). The model is evaluated functionally (:func:`torch.func.functional_call`) on a
private copy; the caller's model is never changed.

This module serves the reproductions until :mod:`mlitheory.paths` (the interpolation issue) reaches ``main``;
its paths follow the same definitions.

References:
    Vlaar, Frankle. *What can linear interpolation of neural network loss landscapes tell us?* ICML 2022.
    Wang et al. *Plateau in Monotonic Linear Interpolation — A "Biased" View of Loss Landscape for Deep
    Networks.* ICLR 2023.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from empirical.measure import Curve, curve_min_delta

__all__ = [
    "PathSpec",
    "homogeneous_bias_path",
    "layer_order",
    "layerwise_path",
    "linear_path",
    "logit_gauss_lengths",
    "path_curve",
    "path_state",
]

State = Mapping[str, torch.Tensor]


@dataclasses.dataclass(frozen=True)
class PathSpec:
    """Coefficients of a path: ``powers[k] = p`` gives :math:`c_k=\\alpha^p`; other float keys are fixed.

    Attributes:
        label: description (``"linear"``, ``"layer-wise: blocks.0"``, ``"homogeneous bias"``).
        powers: key → power of α for the moving entries.
        others: ``"end"`` (:math:`c\\equiv1`) or ``"start"`` (:math:`c\\equiv0`) for every other float entry.
    """

    label: str
    powers: dict
    others: str = "end"

    def __post_init__(self) -> None:
        if self.others not in ("end", "start"):
            raise ValueError(f"others={self.others!r}; use 'end' or 'start'")
        bad = {k: p for k, p in self.powers.items() if not (isinstance(p, int) and p >= 0)}
        if bad:
            raise ValueError(f"powers must be non-negative integers; got {bad}")

    def coefficient(self, key: str, alpha: float) -> float:
        if key in self.powers:
            return float(alpha) ** self.powers[key]
        return 1.0 if self.others == "end" else 0.0


def _float_keys(state: State) -> list[str]:
    return [k for k, v in state.items() if v.is_floating_point()]


def linear_path(state: State) -> PathSpec:
    """:math:`c_k(\\alpha)=\\alpha` for every float entry of ``state``."""
    return PathSpec("linear", {k: 1 for k in _float_keys(state)})


def layerwise_path(state: State, keys: Iterable[str], *, label: str | None = None, others: str = "end") -> PathSpec:
    """Only ``keys`` move (linearly); every other float entry stays at its ``others`` value.

    Raises:
        ValueError: a key not in ``state`` or not a float entry (named), or no key at all.
    """
    keys = list(keys)
    floats = set(_float_keys(state))
    bad = [k for k in keys if k not in floats]
    if bad or not keys:
        raise ValueError(
            f"layerwise_path: keys {bad or keys} are not float entries of the state; e.g. {sorted(floats)[:4]}"
        )
    return PathSpec(label or f"layer-wise: {keys[0].rsplit('.', 1)[0]}", {k: 1 for k in keys}, others=others)


def layer_order(model: nn.Module) -> list[str]:
    """Names of the Linear and Conv modules of ``model`` in registration order (the layer index ℓ − 1)."""
    kinds = (nn.Linear, nn.modules.conv._ConvNd)
    # also layers that behave like Linear (e.g. NTK-parameterised ones): a weight, a bias and in_features
    like = lambda m: hasattr(m, "in_features") and isinstance(getattr(m, "bias", None), nn.Parameter)
    names = [n for n, m in model.named_modules() if isinstance(m, kinds) or like(m)]
    if not names:
        raise ValueError(f"{type(model).__name__} has no Linear or Conv layers to number")
    return names


def homogeneous_bias_path(model: nn.Module, state: State) -> PathSpec:
    """Weights linear, the bias of the ℓ-th Linear/Conv layer as :math:`\\alpha^\\ell`; other entries linear.

    Raises:
        ValueError: the model has no Linear/Conv layer.
    """
    powers = {k: 1 for k in _float_keys(state)}
    for ell, name in enumerate(layer_order(model), start=1):
        key = f"{name}.bias" if name else "bias"
        if key in powers:
            powers[key] = ell
    return PathSpec("homogeneous bias", powers)


def path_state(start: State, end: State, path: PathSpec, alpha: float) -> dict[str, torch.Tensor]:
    """The state at ``alpha``: ``lerp(start_k, end_k, c_k(alpha))`` for float entries, ``end_k`` for the others."""
    return {
        k: torch.lerp(v, end[k], path.coefficient(k, float(alpha))) if v.is_floating_point() else end[k].clone()
        for k, v in start.items()
    }


def _bn_modules(model: nn.Module) -> dict[str, nn.modules.batchnorm._BatchNorm]:
    return {n: m for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}


def path_curve(
    model: nn.Module,
    start: State,
    end: State,
    path: PathSpec,
    data: Sequence[tuple[torch.Tensor, torch.Tensor]],
    *,
    alphas: int | Sequence[float] = 50,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    metrics: Sequence[str] = ("loss", "accuracy"),
    bn: str = "recompute",
    bn_data: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None,
    device: str | torch.device | None = None,
) -> Curve:
    """Loss (and accuracy) of ``model`` at each α of ``path`` from ``start`` to ``end``.

    Args:
        model: the architecture (not modified).
        start, end: state dicts with the same keys and shapes.
        path: the coefficients (see :func:`linear_path`, :func:`layerwise_path`, :func:`homogeneous_bias_path`).
        data: list of ``(inputs, targets)`` batches; means weighted by batch size.
        alphas: number of uniform points on [0, 1] (both ends exact) or an explicit grid.
        loss: ``loss(outputs, targets)`` returning the batch mean.
        metrics: ``"loss"`` and optionally ``"accuracy"``.
        bn: ``"recompute"`` (running statistics re-estimated at every α on ``bn_data``, default ``data``) or
            ``"interpolate"``.
        bn_data: batches for the re-estimation.
        device: where to evaluate (default CPU).

    Returns:
        A :class:`empirical.measure.Curve` (``engine="empirical.pathcurves"``, ``min_delta`` of the loss).

    Raises:
        ValueError: mismatched states (the key is named), unknown metric or policy, no data.
    """
    if bn not in ("recompute", "interpolate"):
        raise ValueError(f"bn={bn!r}; use 'recompute' or 'interpolate'")
    unknown = sorted(set(metrics) - {"loss", "accuracy"})
    if unknown or "loss" not in metrics:
        raise ValueError(f"metrics={tuple(metrics)}; use 'loss' and optionally 'accuracy'")
    if set(start) != set(end):
        raise ValueError(f"start and end states differ in keys: {sorted(set(start) ^ set(end))[:5]}")
    for k in start:
        if start[k].shape != end[k].shape:
            raise ValueError(f"state entry {k!r}: start shape {tuple(start[k].shape)} != end {tuple(end[k].shape)}")
    data = list(data)
    if not data:
        raise ValueError("path_curve: data holds no batches")
    grid = np.linspace(0.0, 1.0, int(alphas)) if isinstance(alphas, (int, np.integer)) else np.asarray(alphas, float)
    dev = torch.device(device if device is not None else "cpu")
    work = copy.deepcopy(model).to(dev)
    bns = _bn_modules(work)
    for m in bns.values():
        m.momentum = None  # exact cumulative average
    s0 = {k: v.detach().to(dev) for k, v in start.items()}
    s1 = {k: v.detach().to(dev) for k, v in end.items()}
    recompute = bn == "recompute" and bool(bns)
    out = {m: np.empty(len(grid)) for m in metrics}
    with torch.no_grad():
        for i, a in enumerate(grid):
            st = path_state(s0, s1, path, float(a))
            if recompute:
                for name in bns:
                    pre = f"{name}." if name else ""
                    st[pre + "running_mean"] = torch.zeros_like(st[pre + "running_mean"])
                    st[pre + "running_var"] = torch.ones_like(st[pre + "running_var"])
                    st[pre + "num_batches_tracked"] = torch.zeros_like(st[pre + "num_batches_tracked"])
                work.train()
                for x, _ in bn_data if bn_data is not None else data:
                    torch.func.functional_call(work, st, (x.to(dev),))
            work.eval()
            tot = dict.fromkeys(metrics, 0.0)
            n = 0
            for x, y in data:
                y = y.to(dev)
                z = torch.func.functional_call(work, st, (x.to(dev),))
                tot["loss"] += float(loss(z, y)) * len(y)
                if "accuracy" in metrics:
                    tot["accuracy"] += float((z.argmax(-1) == y).sum())
                n += len(y)
            for m in metrics:
                out[m][i] = tot[m] / n
    return Curve(grid, out, curve_min_delta(out["loss"]), "empirical.pathcurves")


def logit_gauss_lengths(
    model: nn.Module,
    start: State,
    end: State,
    inputs: torch.Tensor,
    *,
    alphas: int = 50,
    bn: str = "recompute",
    bn_data: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None,
    device: str | torch.device | None = None,
) -> dict[str, np.ndarray]:
    r"""Two estimates of the Gauss length of each example's logit path :math:`\alpha\mapsto f(x;\theta_\alpha)`.

    - ``"derivative"``: :math:`\int_0^1 \|T'(\alpha)\|\,d\alpha` with
      :math:`\|T'\| = \|z'' - \langle z'',T\rangle T\|/\|z'\|`, :math:`z'` and :math:`z''` by nested forward-mode
      differentiation (``torch.func.jvp``) at each grid point, trapezoid rule over the grid. Batch-norm statistics
      are re-estimated at each α and held constant in the derivative, as Lucas et al. (2021) do. ReLU kinks have
      zero second derivative, so this estimator sees only the smooth turning (the authors' convention).
    - ``"turning"``: the sum of the turning angles of the polygon through :math:`z` at the grid points: every
      change of direction, the kinks of piecewise-linear (ReLU) paths included; a lower bound of the total
      turning that converges as the grid refines.

    Computed in float64 on a private copy of the model.

    Returns:
        ``{"derivative": (N,), "turning": (N,)}`` per example.
    """
    from mlitheory.geometry import gauss_integrand

    grid = np.linspace(0.0, 1.0, int(alphas))
    dev = torch.device(device if device is not None else "cpu")
    work = copy.deepcopy(model).to(dev).double()
    bns = _bn_modules(work)
    for m in bns.values():
        m.momentum = None
    s0 = {k: v.detach().to(dev).double() if v.is_floating_point() else v.to(dev) for k, v in start.items()}
    s1 = {k: v.detach().to(dev).double() if v.is_floating_point() else v.to(dev) for k, v in end.items()}
    x = inputs.to(dev).double()
    stats_keys = [k for k in s0 if k.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked")]
    params = [k for k in s0 if s0[k].is_floating_point() and k not in stats_keys]
    zs, integrand = [], []
    for a in grid:
        st = path_state(s0, s1, linear_path(s0), float(a))
        if bn == "recompute" and bns:
            for name in bns:
                pre = f"{name}." if name else ""
                st[pre + "running_mean"] = torch.zeros_like(st[pre + "running_mean"])
                st[pre + "running_var"] = torch.ones_like(st[pre + "running_var"])
                st[pre + "num_batches_tracked"] = torch.zeros_like(st[pre + "num_batches_tracked"])
            work.train()
            with torch.no_grad():
                for xb, _ in bn_data if bn_data is not None else [(x, None)]:
                    torch.func.functional_call(work, st, (xb.to(dev).double(),))
        work.eval()
        fixed = {k: v for k, v in st.items() if k not in params}

        def z_of(t: torch.Tensor, fixed: dict = fixed) -> torch.Tensor:
            moving = {k: torch.lerp(s0[k], s1[k], t) for k in params}
            return torch.func.functional_call(work, {**fixed, **moving}, (x,)).flatten(1)

        def dz_of(t: torch.Tensor, z_of=z_of) -> torch.Tensor:
            return torch.func.jvp(z_of, (t,), (torch.ones_like(t),))[1]

        t = torch.tensor(float(a), dtype=torch.float64, device=dev)
        z, dz = torch.func.jvp(z_of, (t,), (torch.ones_like(t),))
        _, d2z = torch.func.jvp(dz_of, (t,), (torch.ones_like(t),))
        zs.append(z.detach())
        integrand.append(gauss_integrand(dz.detach(), d2z.detach()))
    g = torch.stack(integrand).cpu().numpy()  # (m, N)
    derivative = (0.5 * (g[1:] + g[:-1]) * np.diff(grid)[:, None]).sum(0)  # trapezoid rule
    z = torch.stack(zs)  # (m, N, K)
    seg = z.diff(dim=0)
    u, v = seg[1:], seg[:-1]
    turn = 2.0 * torch.atan2(
        torch.linalg.vector_norm(u / u.norm(dim=-1, keepdim=True) - v / v.norm(dim=-1, keepdim=True), dim=-1),
        torch.linalg.vector_norm(u / u.norm(dim=-1, keepdim=True) + v / v.norm(dim=-1, keepdim=True), dim=-1),
    )
    ok = (u.norm(dim=-1) > 0) & (v.norm(dim=-1) > 0)
    turning = torch.where(ok, turn, torch.zeros_like(turn)).sum(0).cpu().numpy()
    return {"derivative": np.asarray(derivative), "turning": turning}
