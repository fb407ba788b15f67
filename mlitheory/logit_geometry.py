r"""Gauss length of the logit path $z(\alpha; x) = f(x; \theta_\alpha)$ of any model.

Lucas et al. (2021, §3.3, Definition 2) measure how far the *logit interpolation* of a network is from a
straight line by its Gauss length, the length of its unit tangent on the sphere,

$$
G(z) = \int_0^1 \frac{\|z'' - \langle z'', T\rangle T\|}{\|z'\|}\,d\alpha,\qquad T = \frac{z'}{\|z'\|},
$$

and Theorem 3 shows that $G < \pi/2$ forces a monotone MSE loss. Two conventions are reported:

* the **mean per-example** Gauss length $\frac1N\sum_i G(z(\cdot; x_i))$ with $z(\alpha;x_i)\in\mathbb
  R^k$ (the authors' "average Gauss length"), and
* the Gauss length of the **concatenated** curve $\alpha\mapsto(z(\alpha;x_1),\dots,z(\alpha;x_N))\in\mathbb
  R^{Nk}$ (the curve of the whole output, to which Theorem 3 applies for the summed MSE loss).

**ReLU networks** (Linear / Conv / ReLU / LeakyReLU / pooling / residual additions, see
[`mlitheory.piecewise`][mlitheory.piecewise]): with ``method="auto"`` (the default) the logit paths are computed exactly
as piecewise polynomials and the Gauss length is exact, *corners included*
([`mlitheory.exact_gauss_length`][mlitheory.piecewise.gauss.exact_gauss_length]); a quadrature of a kinked path never
converges, and a derivative-based value misses every corner. The result's ``exact`` field holds the breakdown (smooth
part, corners). Any other model uses the quadrature below.

$z'$ and $z''$ are exact: by second-order forward (Taylor) mode through the network
([`mlitheory.taylor`][mlitheory.taylor], the default) or by nested `torch.func.jvp` through
`torch.func.functional_call` (``method="jvp"``). The integral is the adaptive quadrature of
[`mlitheory.geometry.gauss_length_from_derivatives`][mlitheory.geometry.gauss_length_from_derivatives]; where the
velocity vanishes the integrand is 0 and a reversal adds $\pi$, so a stationary logit path gives a number, never NaN.

References:
    Lucas et al., *Analyzing Monotonic Linear Interpolation in Neural Network Loss Landscapes*, ICML 2021,
    Definition 2, Theorem 3, §4.2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from mlitheory import _data, _validate
from mlitheory._model import ModelView
from mlitheory.batchnorm import _recompute, check_policy, needs_statistics
from mlitheory.geometry import gauss_integrand, gauss_length_from_derivatives
from mlitheory.paths import ParameterPath, StateLike, linear_path, validate_states
from mlitheory.results import Result
from mlitheory.taylor import TaylorForward, nested_jvp_outputs

__all__ = ["LogitGaussLength", "logit_gauss_length"]

_CACHE_BYTES = 512 * 2**20
_ROUNDOFF_NODES = 16  # quadrature nodes re-evaluated in float64 to measure a lower precision's round-off


@dataclass(frozen=True)
class LogitGaussLength(Result):
    """Gauss length of a network's logit path.

    Attributes:
        mean: mean over examples of the per-example Gauss length (radians); ``nan`` if not computed.
        per_example: ``(N,)`` per-example Gauss lengths (empty if not computed).
        per_example_error: ``(N,)`` quadrature error estimates.
        concatenated: Gauss length of the concatenated curve in ℝ^{N·k}; ``nan`` if not computed.
        concatenated_error: its error estimate.
        min_speed: ``(N,)`` smallest per-example ‖z′‖ at the quadrature nodes (0: the velocity vanished).
        vanishing_velocity: number of examples whose velocity z′ is exactly 0 at some quadrature node (the
            integrand is 0 there; a path that does not move at all has Gauss length 0).
        evaluations: distinct values of α at which z′, z″ were computed.
        converged: both quadratures reached ``tol``.
        n_examples: N. method: ``"taylor"`` or ``"jvp"``. bn: batch-norm policy. interval: (a, b).
        statistics: with ``bn="recompute"``: ``"exact"`` (differentiated through the re-estimated statistics)
            or ``"frozen"`` (held constant); else ``""``.
        fallback_nodes: graph nodes that Taylor mode evaluated by nested jvp (``["<model>"]``: the model
            could not be traced).
        exact: with ``method="exact"``: the [`ExactGaussLength`][mlitheory.piecewise.gauss.ExactGaussLength] (smooth
            part, corners, per example); ``evaluations`` then counts the polynomial pieces and ``min_speed`` is the
            exact minimum of ‖z′‖ over each path.
        dtype: the floating dtype in which the derivatives were computed (``"float64"`` unless ``dtype=`` asked
            for less).
        roundoff_error: for a dtype below float64, the largest round-off floor added to the error estimates
            (measured against float64, see [`logit_gauss_length`][mlitheory.logit_geometry.logit_gauss_length]); 0 for
            float64.
    """

    mean: float
    per_example: np.ndarray
    per_example_error: np.ndarray
    concatenated: float
    concatenated_error: float
    min_speed: np.ndarray
    vanishing_velocity: int
    evaluations: int
    converged: bool
    n_examples: int
    method: str
    bn: str
    statistics: str
    interval: tuple
    fallback_nodes: list
    exact: Any = None
    dtype: str = "float64"
    roundoff_error: float = 0.0

    def summary(self) -> str:
        stats = f", {self.statistics} statistics" if self.statistics else ""
        lines = [
            f"LogitGaussLength on [{self.interval[0]:g}, {self.interval[1]:g}] ({self.method}, bn={self.bn!r}{stats})"
        ]
        if self.per_example.size:
            lines.append(
                f"  mean per-example: {self.mean:.6g} rad over {self.n_examples} examples "
                f"(max error {np.max(self.per_example_error):.2e})"
            )
        if np.isfinite(self.concatenated):
            lines.append(f"  concatenated curve: {self.concatenated:.6g} rad (error {self.concatenated_error:.2e})")
        if self.method == "exact":
            ex = self.exact
            lines.append(
                f"  exact: {self.evaluations} polynomial pieces; mean smooth part {ex.smooth_part.mean():.6g}, "
                f"corners {ex.corner_part.mean():.6g}, reversals {ex.reversal_part.mean():.6g}"
            )
        else:
            lines.append(f"  {self.evaluations} values of alpha, converged={self.converged}, computed in {self.dtype}")
            if self.roundoff_error:
                lines.append(
                    f"  round-off floor of {self.dtype}: {self.roundoff_error:.2e} (included in the errors; "
                    "dtype=torch.float64 removes it)"
                )
        if self.vanishing_velocity:
            lines.append(f"  {self.vanishing_velocity} examples whose logit velocity vanishes at a node (handled)")
        if self.fallback_nodes:
            lines.append(f"  nested-jvp fallback for: {', '.join(self.fallback_nodes[:6])}")
        return "\n".join(lines)


def _chunks(inputs: Any, batch_size: int | None) -> list[Any]:
    if isinstance(inputs, torch.Tensor):
        xs = [inputs]
    elif _data.is_single_batch(inputs, lists=False):
        xs = [inputs[0]]
    else:
        xs = list(_data.inputs(inputs, "inputs"))
    if batch_size is not None:
        batch_size = _validate.integer(batch_size, "batch_size", minimum=1)
        xs = [p for x in xs for p in (x.split(batch_size) if isinstance(x, torch.Tensor) else [x])]
    empty = [i for i, x in enumerate(xs) if isinstance(x, torch.Tensor) and (x.ndim == 0 or x.shape[0] == 0)]
    xs = [x for i, x in enumerate(xs) if i not in set(empty)]
    if not xs:
        raise ValueError(
            "inputs holds no examples (an empty tensor or empty batches); pass a tensor of shape (N, ...) with N >= 1"
            if empty
            else "inputs is empty"
        )
    return xs


def _interval(interval: Any) -> tuple[float, float]:
    if isinstance(interval, (str, bytes)) or not hasattr(interval, "__len__") or len(interval) != 2:
        raise TypeError(f"interval must be a pair (a, b), got {interval!r}")
    a = _validate.real(interval[0], "interval[0]")
    b = _validate.real(interval[1], "interval[1]")
    if not a < b:
        raise ValueError(f"interval must have a < b, got ({a}, {b})")
    return a, b


class _Source:
    """z′ and z″ of the logit path at any α over all inputs, in one dtype, cached (the quadrature revisits α)."""

    def __init__(self, model, path, xs, *, bn, bn_data, frozen, method, device, dtype, bar=None):
        self.path = path.to(device, dtype)
        self.xs = [_data.move(x, device, dtype) for x in xs]
        self.model, self.method, self.device, self.dtype, self.bar = model, method, device, dtype, bar
        self.tf = TaylorForward(model, self.path, mode="batch" if bn == "batch" else "eval", statistics="path")
        has_bn = bool(self.tf.view.statistic_keys)
        self.policy = bn if has_bn else "interpolate"
        self.bn_data = None
        if self.policy == "recompute":
            self.bn_data = self.xs if bn_data is None else _data.reiterable(bn_data, "bn_data", lists=False)
            needs_statistics(self.tf.view, self.policy, self.bn_data)
        self.exact = self.policy == "recompute" and not frozen and self.tf.graph is not None
        self.stats: dict[float, dict[str, Any] | None] = {}
        self.cache: dict[float, tuple[torch.Tensor, torch.Tensor]] = {}
        self.evaluated: set[float] = set()
        self.used = 0

    def buffers(self, alpha: float) -> dict[str, Any] | None:
        if self.policy == "recompute":
            if alpha not in self.stats:
                tf = self.tf
                if self.exact:
                    self.stats[alpha] = tf.recomputed_statistics(self.bn_data, alpha, self.device, self.dtype)
                else:
                    state = self.path.state(alpha)
                    self.stats[alpha] = _recompute(tf.view, state, tf.extra, self.bn_data, self.device, self.dtype)
            return self.stats[alpha]
        if self.policy == "none":
            return {k: self.path.end[k] for k in self.tf.view.statistic_keys}
        return None

    def at(self, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
        hit = self.cache.get(alpha)
        if hit is not None:
            return hit
        self.evaluated.add(alpha)
        bufs = self.buffers(alpha)
        d1s, d2s = [], []
        tf = self.tf
        for x in self.xs:
            if self.method == "taylor":
                _, d1, d2 = tf(x, alpha, bufs).dense()
            else:
                _, d1, d2 = nested_jvp_outputs(
                    self.model, self.path, x, alpha, buffers=bufs, mode=tf.view.mode, view=tf.view
                )
            d1s.append(d1.reshape(d1.shape[0], -1))
            d2s.append(d2.reshape(d2.shape[0], -1))
        out = torch.cat(d1s).to(torch.float64), torch.cat(d2s).to(torch.float64)
        if self.used + 2 * out[0].numel() * 8 <= _CACHE_BYTES:
            self.cache[alpha] = out
            self.used += 2 * out[0].numel() * 8
        if self.bar is not None:
            self.bar.update(1)
        return out

    def per(self, alphas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = [self.at(float(a)) for a in alphas]
        return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])

    def whole(self, alphas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d1, d2 = self.per(alphas)
        return d1.reshape(len(alphas), 1, -1), d2.reshape(len(alphas), 1, -1)

    def close(self) -> None:
        self.tf.close()


def _tangent(d1: torch.Tensor) -> torch.Tensor:
    speed = torch.linalg.vector_norm(d1, dim=-1, keepdim=True)
    return d1 / torch.where(speed > 0, speed, torch.ones_like(speed))


def _roundoff(
    low: _Source, high: _Source, nodes: np.ndarray, a: float, b: float, counts: tuple[int, int]
) -> tuple[np.ndarray, float]:
    """Round-off floor of ``low``'s dtype in the Gauss lengths, per example and for the concatenated curve.

    At up to `_ROUNDOFF_NODES` of the quadrature's nodes α (and at α + h, h = 10⁻³(b − a)) the derivatives
    are evaluated in both dtypes. With κ the Gauss integrand and e = T − T₆₄ the error of the unit tangent, the
    floor is ``(b − a) · max |κ − κ₆₄| + 2 m · max ‖e(α) − e(α + h)‖`` for a quadrature of m evaluations: the
    first term bounds the integral of the integrand's error, the second the change of the tangent polygon (the
    quadrature's lower bound, one angle per pair of neighbouring nodes) by the part of the tangent error that
    differs from node to node.
    """
    idx = np.linspace(0, len(nodes) - 1, min(_ROUNDOFF_NODES, len(nodes))).round().astype(int)
    h = 1e-3 * (b - a)
    kappa = torch.zeros(0)
    noise = torch.zeros(0)
    kappa_c = noise_c = 0.0
    for alpha in np.unique(nodes[idx]):
        other = alpha + h if alpha + h <= b else alpha - h
        err: list[tuple[torch.Tensor, torch.Tensor]] = []
        for x in (float(alpha), float(other)):
            (l1, l2), (h1, h2) = low.at(x), high.at(x)
            k = (gauss_integrand(l1, l2) - gauss_integrand(h1, h2)).abs()
            kc = (
                gauss_integrand(l1.reshape(1, -1), l2.reshape(1, -1))
                - gauss_integrand(h1.reshape(1, -1), h2.reshape(1, -1))
            ).abs()
            kappa = k if kappa.numel() == 0 else torch.maximum(kappa, k)
            kappa_c = max(kappa_c, float(kc))
            err.append((_tangent(l1) - _tangent(h1), _tangent(l1.reshape(1, -1)) - _tangent(h1.reshape(1, -1))))
        d = torch.linalg.vector_norm(err[0][0] - err[1][0], dim=-1)
        noise = d if noise.numel() == 0 else torch.maximum(noise, d)
        noise_c = max(noise_c, float(torch.linalg.vector_norm(err[0][1] - err[1][1])))
    per = (b - a) * kappa.numpy() + 2 * counts[0] * noise.numpy()
    return per, (b - a) * kappa_c + 2 * counts[1] * noise_c


def logit_gauss_length(
    model: nn.Module,
    start: StateLike | None,
    end: StateLike | None,
    inputs: Any,
    *,
    path: ParameterPath | None = None,
    interval: tuple[float, float] = (0.0, 1.0),
    bn: str = "recompute",
    bn_data: Any = None,
    frozen_statistics: bool = False,
    per_example: bool = True,
    concatenated: bool = True,
    method: str = "auto",
    tol: float = 1e-6,
    max_evaluations: int = 4000,
    batch_size: int | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    progress: bool = False,
) -> LogitGaussLength:
    r"""Gauss length of the logit path of ``model`` from ``start`` to ``end`` on the inputs.

    Args:
        model: any ``nn.Module`` returning logits ``(N, k)`` (never modified).
        start, end: state dicts or modules (``None`` when ``path`` is given).
        inputs: a tensor of inputs ``(N, ...)`` with ``N >= 1``, a batch ``(x, y)`` or an iterable of batches
            (their ``x`` are used).
        path: any [`ParameterPath`][mlitheory.paths.ParameterPath] instead of the linear path.
        interval: the α interval ``(a, b)``, finite with ``a < b``.
        bn: batch-norm policy ([`mlitheory.batchnorm`][mlitheory.batchnorm]). With ``"recompute"`` the statistics are
            re-estimated at every α on ``bn_data`` (default: the inputs) exactly as ``update_bn`` does, and z′, z″ are
            the derivatives of that curve, through the statistics (Taylor mode carries the jets of every batch mean
            and variance). ``"interpolate"`` and ``"batch"`` also differentiate through the statistics.
        frozen_statistics: with ``"recompute"``, hold the re-estimated statistics constant while
            differentiating, as the authors' code does. The "derivatives" are then not those of any curve, and
            the quadrature's check of the tangent turning (a lower bound) may keep it from converging.
        per_example, concatenated: which conventions to compute (see the module docstring).
        method: ``"auto"`` (default: ``"exact"`` when the model is piecewise polynomial along the path — a ReLU
            network without batch statistics — else ``"taylor"``), ``"exact"``
            ([`mlitheory.exact_gauss_length`][mlitheory.piecewise.gauss.exact_gauss_length]; raises for other models),
            ``"taylor"`` (second-order forward mode and adaptive quadrature) or ``"jvp"`` (nested jvp).
        tol: absolute error tolerance of each quadrature (per example for the per-example lengths).
        max_evaluations: most values of α per quadrature.
        batch_size: split the inputs into chunks of this size (memory; ``"batch"`` statistics are per chunk).
        device: where to compute.
        dtype: the floating dtype of the geometry (derivatives through the network). Default ``None``:
            **float64**, whatever the states' dtype (float32 states are cast exactly), so that round-off stays
            far below ``tol``. With a lower precision (``torch.float32`` for speed) each error estimate
            includes that dtype's round-off floor, measured against float64 at up to 16 of the quadrature's
            nodes (a conservative bound, see ``_roundoff``), and ``converged`` is true only if the total is
            within ``tol``.
        progress: show a tqdm bar over the values of α.

    Returns:
        [`LogitGaussLength`][mlitheory.logit_geometry.LogitGaussLength].

    Raises:
        TypeError: ``model`` not a module, ``dtype`` not a floating torch dtype, a malformed ``interval``.
        ValueError: empty inputs, non-finite or meta states, keys or shapes that do not match (named), a bad
            ``bn``, ``method``, ``tol``, ``max_evaluations`` or ``batch_size``.
        NotImplementedError: an operation of the model has no forward-mode derivative in torch (the error
            names the graph node and the module).

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> a, b = nn.Linear(3, 2).double(), nn.Linear(3, 2).double()
        >>> g = logit_gauss_length(a, a, b, torch.randn(4, 3, dtype=torch.float64))
        >>> round(g.mean, 12)   # a linear model has straight logit paths
        0.0
    """
    _validate.module(model)
    check_policy(bn)
    if method not in ("auto", "exact", "taylor", "jvp"):
        raise ValueError(f"method must be 'auto', 'exact', 'taylor' or 'jvp', got {method!r}")
    per_example = _validate.boolean(per_example, "per_example")
    concatenated = _validate.boolean(concatenated, "concatenated")
    frozen_statistics = _validate.boolean(frozen_statistics, "frozen_statistics")
    if not (per_example or concatenated):
        raise ValueError("nothing to compute: per_example and concatenated are both False")
    tol = _validate.real(tol, "tol", positive=True)
    max_evaluations = _validate.integer(max_evaluations, "max_evaluations")
    a, b = _interval(interval)
    dtype = _validate.float_dtype(dtype)
    device = _validate.check_device(device)
    if path is None:
        if start is None or end is None:
            raise ValueError("pass start and end, or a path=")
        path = linear_path(start, end, model=model)
    elif start is not None or end is not None:
        raise ValueError("pass either start and end, or path=, not both")
    elif not isinstance(path, ParameterPath):
        raise TypeError(f"path must be a ParameterPath (see mlitheory.paths), got {type(path).__name__}")
    validate_states(path.start, path.end, model=model, finite=True)  # NaN weights: no geometry to measure
    ref = next(iter(path.start.values()), None)
    if ref is None:
        raise ValueError("the states are empty: the model has no parameters or buffers")
    dev = device if device is not None else ref.device
    xs = _chunks(inputs, batch_size)  # inputs checked whichever method computes
    from mlitheory._quadrature import _INITIAL_PANELS

    if max_evaluations < 5 * _INITIAL_PANELS:
        raise ValueError(f"max_evaluations must be at least {5 * _INITIAL_PANELS}, got {max_evaluations}")
    # the exact path computes in float64; a caller who asks for another dtype gets the sampled tools in that dtype
    if method == "exact" or (method == "auto" and dtype in (None, torch.float64)):
        exact = _exact(model, path, xs, interval, bn, per_example, concatenated, tol, dev, method == "exact")
        if exact is not None:
            return exact
    if method in ("auto", "exact"):
        method = "taylor"
    compute = dtype if dtype is not None else torch.float64
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="logit derivatives", unit="alpha", leave=False)
    opts = dict(bn=bn, bn_data=bn_data, frozen=frozen_statistics, method=method, device=dev)
    src = _Source(model, path, xs, dtype=compute, bar=bar, **opts)
    high: _Source | None = None
    try:
        converged = True
        n = sum(int(x.shape[0]) if isinstance(x, torch.Tensor) else 1 for x in xs)
        nan = float("nan")
        pe = pe_err = ms = np.zeros(0)
        mean = nan
        vanishing = 0
        nodes = np.array([a, b])
        counts = [0, 0]
        if per_example:
            r = gauss_length_from_derivatives(src.per, a, b, tol=tol, max_evaluations=max_evaluations)
            pe = torch.as_tensor(r.value).numpy().astype(np.float64)
            pe_err = torch.as_tensor(r.error).numpy().astype(np.float64)
            ms = torch.as_tensor(r.min_speed).numpy().astype(np.float64)
            n = len(pe)
            mean = float(pe.mean())
            converged &= r.converged
            vanishing = int(np.sum(ms == 0.0))
            nodes = np.asarray(r.nodes)
            counts[0] = r.evaluations
        conc = conc_err = nan
        if concatenated:
            r2 = gauss_length_from_derivatives(src.whole, a, b, tol=tol, max_evaluations=max_evaluations, batched=False)
            conc, conc_err = float(r2.value), float(r2.error)
            converged &= r2.converged
            counts[1] = r2.evaluations
            if not per_example:
                nodes = np.asarray(r2.nodes)
        roundoff = 0.0
        if compute != torch.float64:
            high = _Source(model, path, xs, dtype=torch.float64, **opts)
            floor, floor_c = _roundoff(src, high, nodes, a, b, (counts[0], counts[1]))
            if per_example:
                pe_err = pe_err + floor
                converged &= bool(np.all(pe_err <= tol))
                roundoff = float(floor.max())
            if concatenated:
                conc_err += floor_c
                converged &= conc_err <= tol
                roundoff = max(roundoff, floor_c)
        return LogitGaussLength(
            mean=mean,
            per_example=pe,
            per_example_error=pe_err,
            concatenated=conc,
            concatenated_error=conc_err,
            min_speed=ms,
            vanishing_velocity=vanishing,
            evaluations=len(src.evaluated),
            converged=bool(converged),
            n_examples=n,
            method=method,
            bn=bn,
            statistics="exact" if src.exact else "frozen" if src.policy == "recompute" else "",
            interval=(a, b),
            fallback_nodes=list(src.tf.fallback_nodes),
            dtype=str(compute).replace("torch.", ""),
            roundoff_error=roundoff,
        )
    finally:
        if bar is not None:
            bar.close()
        src.close()
        if high is not None:
            high.close()


def _exact(model, path, inputs, interval, bn, per_example, concatenated, tol, device, required) -> Any:
    """The exact Gauss length as a [`LogitGaussLength`][mlitheory.logit_geometry.LogitGaussLength], or ``None`` when the
    model is not piecewise
    polynomial along the path (and ``required`` is False)."""
    from mlitheory.piecewise import Unsupported
    from mlitheory.piecewise.gauss import path_gauss_length
    from mlitheory.piecewise.path import piecewise_logit_path, stack_inputs

    with ModelView(model) as view:
        has_stats = bool(view.statistic_keys)
    exact_bn = bn if bn in ("interpolate", "none") else "interpolate"
    if has_stats and bn not in ("interpolate", "none"):
        if required:
            raise ValueError(
                f"method='exact' with bn={bn!r}: re-estimated or batch statistics are not polynomial in α; pass "
                "bn='interpolate' or bn='none'"
            )
        return None
    try:
        x = stack_inputs(inputs)
        pieces = piecewise_logit_path(model, None, None, x, path=path, interval=interval, bn=exact_bn, device=device)
    except (Unsupported, TypeError):
        if required:
            raise
        return None
    g = path_gauss_length(pieces, tol=min(float(tol), 1e-12), concatenated=concatenated)
    from mlitheory.piecewise._curvature import min_speed

    ms = min_speed(pieces)
    nan = float("nan")
    return LogitGaussLength(
        mean=g.mean if per_example else nan,
        per_example=g.total if per_example else np.zeros(0),
        per_example_error=g.error if per_example else np.zeros(0),
        concatenated=g.concatenated if concatenated else nan,
        concatenated_error=g.concatenated_error if concatenated else nan,
        min_speed=ms if per_example else np.zeros(0),
        vanishing_velocity=int(np.sum(ms == 0.0)),
        evaluations=int(pieces.n_pieces.sum()),
        converged=True,
        n_examples=pieces.n_examples,
        method="exact",
        bn=bn,
        statistics="",
        interval=tuple(pieces.interval),
        fallback_nodes=[],
        exact=g,
    )
