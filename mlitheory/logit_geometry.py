r"""Gauss length of the logit path :math:`z(\alpha; x) = f(x; \theta_\alpha)` of any model.

Lucas et al. (2021, §3.3, Definition 2) measure how far the *logit interpolation* of a network is from a
straight line by its Gauss length, the length of its unit tangent on the sphere,

.. math::

    G(z) = \int_0^1 \frac{\|z'' - \langle z'', T\rangle T\|}{\|z'\|}\,d\alpha,\qquad T = \frac{z'}{\|z'\|},

and Theorem 3 shows that :math:`G < \pi/2` forces a monotone MSE loss. Two conventions are reported:

* the **mean per-example** Gauss length :math:`\frac1N\sum_i G(z(\cdot; x_i))` with :math:`z(\alpha;x_i)\in\mathbb
  R^k` (the authors' "average Gauss length"), and
* the Gauss length of the **concatenated** curve :math:`\alpha\mapsto(z(\alpha;x_1),\dots,z(\alpha;x_N))\in\mathbb
  R^{Nk}` (the curve of the whole output, to which Theorem 3 applies for the summed MSE loss).

:math:`z'` and :math:`z''` are exact: by second-order forward (Taylor) mode through the network
(:mod:`mlitheory.taylor`, the default) or by nested :func:`torch.func.jvp` through
:func:`torch.func.functional_call` (``method="jvp"``). The integral is the adaptive quadrature of
:func:`mlitheory.geometry.gauss_length_from_derivatives`; where the velocity vanishes the integrand is 0 and a
reversal adds :math:`\pi`, so a stationary logit path gives a number, never NaN.

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

from mlitheory import _data
from mlitheory._results import Result
from mlitheory.batchnorm import _recompute, check_policy, needs_statistics
from mlitheory.geometry import gauss_length_from_derivatives
from mlitheory.paths import ParameterPath, StateLike, linear_path, validate_states
from mlitheory.taylor import TaylorForward, nested_jvp_outputs

__all__ = ["LogitGaussLength", "logit_gauss_length"]

_CACHE_BYTES = 512 * 2**20


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
        lines.append(f"  {self.evaluations} values of alpha, converged={self.converged}")
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
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        xs = [p for x in xs for p in (x.split(batch_size) if isinstance(x, torch.Tensor) else [x])]
    if not xs:
        raise ValueError("inputs is empty")
    return xs


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
    method: str = "taylor",
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
        inputs: a tensor of inputs, a batch ``(x, y)`` or an iterable of batches (their ``x`` are used).
        path: any :class:`~mlitheory.paths.ParameterPath` instead of the linear path.
        interval: the α interval ``(a, b)``.
        bn: batch-norm policy (:mod:`mlitheory.batchnorm`). With ``"recompute"`` the statistics are re-estimated
            at every α on ``bn_data`` (default: the inputs) exactly as ``update_bn`` does, and z′, z″ are the
            derivatives of that curve, through the statistics (Taylor mode carries the jets of every batch mean
            and variance). ``"interpolate"`` and ``"batch"`` also differentiate through the statistics.
        frozen_statistics: with ``"recompute"``, hold the re-estimated statistics constant while
            differentiating, as the authors' code does. The "derivatives" are then not those of any curve, and
            the quadrature's check of the tangent turning (a lower bound) may keep it from converging.
        per_example, concatenated: which conventions to compute (see the module docstring).
        method: ``"taylor"`` (second-order forward mode, default) or ``"jvp"`` (nested jvp).
        tol: absolute error tolerance of each quadrature (per example for the per-example lengths).
        max_evaluations: most values of α per quadrature.
        batch_size: split the inputs into chunks of this size (memory; ``"batch"`` statistics are per chunk).
        device, dtype: where and in which float dtype to compute (float64 for reference values).
        progress: show a tqdm bar over the values of α.

    Returns:
        :class:`LogitGaussLength`.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> a, b = nn.Linear(3, 2).double(), nn.Linear(3, 2).double()
        >>> g = logit_gauss_length(a, a, b, torch.randn(4, 3, dtype=torch.float64))
        >>> round(g.mean, 12)   # a linear model has straight logit paths
        0.0
    """
    check_policy(bn)
    if method not in ("taylor", "jvp"):
        raise ValueError(f"method must be 'taylor' or 'jvp', got {method!r}")
    if not (per_example or concatenated):
        raise ValueError("nothing to compute: per_example and concatenated are both False")
    if path is None:
        if start is None or end is None:
            raise ValueError("pass start and end, or a path=")
        path = linear_path(start, end, model=model)
    elif start is not None or end is not None:
        raise ValueError("pass either start and end, or path=, not both")
    else:
        validate_states(path.start, path.end, model=model)
    ref = next(iter(path.start.values()))
    dev = torch.device(device) if device is not None else ref.device
    path = path.to(dev, dtype)
    xs = [_data.move(x, dev, dtype) for x in _chunks(inputs, batch_size)]
    tf = TaylorForward(model, path, mode="batch" if bn == "batch" else "eval", statistics="path")
    try:
        has_bn = bool(tf.view.statistic_keys)
        policy = bn if has_bn else "interpolate"
        if policy == "recompute":
            bn_data = xs if bn_data is None else _data.reiterable(bn_data, "bn_data", lists=False)
            needs_statistics(tf.view, policy, bn_data)
        stats: dict[float, dict[str, torch.Tensor] | None] = {}

        exact = policy == "recompute" and not frozen_statistics and tf.graph is not None

        def buffers(alpha: float) -> dict[str, Any] | None:
            if policy == "recompute":
                if alpha not in stats:
                    if exact:
                        stats[alpha] = tf.recomputed_statistics(bn_data, alpha, dev, dtype)
                    else:
                        stats[alpha] = _recompute(tf.view, path.state(alpha), tf.extra, bn_data, dev, dtype)
                return stats[alpha]
            if policy == "none":
                return {k: path.end[k] for k in tf.view.statistic_keys}
            return None

        cache: dict[float, tuple[torch.Tensor, torch.Tensor]] = {}
        evaluated: set[float] = set()
        used = [0]
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(desc="logit derivatives", unit="alpha", leave=False)

        def at(alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
            hit = cache.get(alpha)
            if hit is not None:
                return hit
            evaluated.add(alpha)
            bufs = buffers(alpha)
            d1s, d2s = [], []
            for x in xs:
                if method == "taylor":
                    _, d1, d2 = tf(x, alpha, bufs).dense()
                else:
                    _, d1, d2 = nested_jvp_outputs(model, path, x, alpha, buffers=bufs, mode=tf.view.mode, view=tf.view)
                d1s.append(d1.reshape(d1.shape[0], -1))
                d2s.append(d2.reshape(d2.shape[0], -1))
            out = torch.cat(d1s).to(torch.float64), torch.cat(d2s).to(torch.float64)
            if used[0] + 2 * out[0].numel() * 8 <= _CACHE_BYTES:
                cache[alpha] = out
                used[0] += 2 * out[0].numel() * 8
            if bar is not None:
                bar.update(1)
            return out

        def per(alphas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            pairs = [at(float(a)) for a in alphas]
            return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])

        def whole(alphas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            d1, d2 = per(alphas)
            return d1.reshape(len(alphas), 1, -1), d2.reshape(len(alphas), 1, -1)

        a, b = float(interval[0]), float(interval[1])
        converged = True
        n = sum(int(x.shape[0]) if isinstance(x, torch.Tensor) else 1 for x in xs)
        nan = float("nan")
        pe = pe_err = ms = np.zeros(0)
        mean = nan
        vanishing = 0
        if per_example:
            r = gauss_length_from_derivatives(per, a, b, tol=tol, max_evaluations=max_evaluations)
            pe = torch.as_tensor(r.value).numpy().astype(np.float64)
            pe_err = torch.as_tensor(r.error).numpy().astype(np.float64)
            ms = torch.as_tensor(r.min_speed).numpy().astype(np.float64)
            n = len(pe)
            mean = float(pe.mean())
            converged &= r.converged
            vanishing = int(np.sum(ms == 0.0))
        conc = conc_err = nan
        if concatenated:
            r2 = gauss_length_from_derivatives(whole, a, b, tol=tol, max_evaluations=max_evaluations, batched=False)
            conc, conc_err = float(r2.value), float(r2.error)
            converged &= r2.converged
        evaluations = len(evaluated)
        if bar is not None:
            bar.close()
        return LogitGaussLength(
            mean=mean,
            per_example=pe,
            per_example_error=pe_err,
            concatenated=conc,
            concatenated_error=conc_err,
            min_speed=ms,
            vanishing_velocity=vanishing,
            evaluations=evaluations,
            converged=bool(converged),
            n_examples=n,
            method=method,
            bn=bn,
            statistics="exact" if exact else "frozen" if policy == "recompute" else "",
            interval=(a, b),
            fallback_nodes=list(tf.fallback_nodes),
        )
    finally:
        tf.close()
