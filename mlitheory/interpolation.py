r"""Evaluate any PyTorch model along a path between two states: loss, accuracy, any metric.

$$
\mathcal L(\alpha) = \frac{1}{N}\sum_{i=1}^{N} \ell\big(f(x_i;\theta_\alpha), y_i\big),\qquad
\theta_\alpha = (1-\alpha)\,\theta_0 + \alpha\,\theta_T
$$

(or any path of [`mlitheory.paths`][mlitheory.paths]). The model is evaluated functionally with
`torch.func.functional_call` under `torch.no_grad`: the caller's model (parameters, buffers,
train/eval mode) is never changed. Means over the data are weighted by batch size exactly. Batch-norm running
statistics follow an explicit policy ([`mlitheory.batchnorm`][mlitheory.batchnorm]), and the endpoint states are also
evaluated directly, so the curve reports how much the policy itself moved the endpoint values.

When the model's first parametric layer is a plain ``Linear`` or ``Conv``, its output is computed once per batch
for each endpoint and mixed at every α (it is affine in α): exact, and about twice as fast for an MLP.

References:
    Lucas et al., *Analyzing Monotonic Linear Interpolation in Neural Network Loss Landscapes*, ICML 2021, §3–4.
    Goodfellow, Vinyals, Saxe, ICLR 2015.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mlitheory import _data, _evaluation, _validate
from mlitheory._model import ModelView, extra_buffers
from mlitheory.batchnorm import check_policy, needs_statistics
from mlitheory.monotonicity import Bump, bumps, min_delta
from mlitheory.paths import ParameterPath, StateLike, linear_path, validate_states
from mlitheory.results import Result

__all__ = ["InterpolationCurve", "evaluate_path", "interpolate", "resolve_alphas"]


def resolve_alphas(alphas: int | Sequence[float] | np.ndarray | torch.Tensor) -> np.ndarray:
    """``alphas`` as a float64 array: a count gives ``linspace(0, 1, count)`` (both ends exact)."""
    if isinstance(alphas, (bool, np.bool_)):
        raise TypeError(f"alphas must be a count (int >= 2) or an array of values, got {alphas!r}")
    if isinstance(alphas, (int, np.integer)):
        if alphas < 2:
            raise ValueError(f"alphas as a count must be at least 2 (both endpoints), got {alphas}")
        return np.linspace(0.0, 1.0, int(alphas))
    if isinstance(alphas, torch.Tensor):
        alphas = alphas.detach().cpu().numpy()
    if isinstance(alphas, (str, bytes, dict, set)) or alphas is None:
        raise TypeError(f"alphas must be a count (int >= 2) or an array of values, got {type(alphas).__name__}")
    try:
        arr = np.asarray(alphas, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as e:
        raise TypeError(f"alphas must be a count (int >= 2) or an array of real values ({e})") from e
    if arr.size == 0:
        raise ValueError("alphas is empty; pass a count or at least one value")
    if not np.isfinite(arr).all():
        raise ValueError(f"alphas must be finite, got {arr[~np.isfinite(arr)][:3]}")
    if len(np.unique(arr)) != arr.size:
        raise ValueError("alphas has repeated values; pass each alpha once")
    return arr


@dataclass(frozen=True)
class InterpolationCurve(Result):
    r"""Metrics of a model along a path.

    Attributes:
        alphas: the points, array ``(m,)`` in the order given.
        values: ``{metric: array (m,)}``; always has ``"loss"`` (mean over the examples counted).
        finite: ``(m,)`` bool, every metric finite at that α (a diverged point is recorded, not hidden).
        n_examples: number of examples counted in the means (those whose target is not the ignored label).
        bn: batch-norm policy used.
        path: description of the path (``"linear"``, ``"layer-wise: fc1"``, …).
        endpoint_values: ``{metric: array (2,)}`` at α = 0 and α = 1 under the policy.
        endpoint_direct: ``{metric: array (2,)}`` of the path's endpoint states evaluated directly (eval mode,
            their own running statistics). Equal to ``endpoint_values`` unless the policy moved them.
        has_batchnorm: whether the model has batch-norm running statistics (else the policy is moot).
        first_layer_reuse: name of the layer whose output was reused, ``""`` if none.
        logits: per-example logits ``(m, N, k)`` when asked for (``keep_logits=True``), else ``None``.
        exact: the [`MLIDecision`][mlitheory.piecewise.decide.MLIDecision] on the continuum of α when asked for
            (``exact=True``: ReLU networks, cross-entropy or MSE), else ``None``; ``is_monotone(exact=True)`` reads it.
        logits: per-example logits ``(m, N, k)`` when asked for (``keep_logits=True``), else ``None``; ``N``
            counts every example, ignored ones included.
        n_ignored: examples left out of every metric because their target is the ignored label -100
            (PyTorch's ``ignore_index``), as ``cross_entropy`` leaves them out of its mean.
    """

    alphas: np.ndarray
    values: dict
    finite: np.ndarray
    n_examples: int
    bn: str
    path: str
    endpoint_values: dict
    endpoint_direct: dict
    has_batchnorm: bool = False
    first_layer_reuse: str = ""
    logits: np.ndarray | None = None
    exact: Any = None
    n_ignored: int = 0

    @property
    def loss(self) -> np.ndarray:
        return self.values["loss"]

    @property
    def accuracy(self) -> np.ndarray | None:
        return self.values.get("accuracy")

    def __getitem__(self, metric: str) -> np.ndarray:
        if metric not in self.values:
            raise KeyError(f"no metric {metric!r}; this curve has {sorted(self.values)}")
        return self.values[metric]

    @property
    def endpoint_shift(self) -> dict:
        """``{metric: (2,)}``: value under the policy minus the directly evaluated endpoint value."""
        return {k: self.endpoint_values[k] - self.endpoint_direct[k] for k in self.endpoint_values}

    def _unit(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """(alphas, values) restricted to α ∈ [0, 1], sorted by α; at least two points there."""
        v = self[metric]
        keep = (self.alphas >= 0.0) & (self.alphas <= 1.0)
        if int(keep.sum()) < 2:
            raise ValueError(
                f"only {int(keep.sum())} of the {len(self.alphas)} alphas lie in [0, 1], where the MLI test is "
                "measured; evaluate at least two points there, or use mlitheory.min_delta(curve[metric], "
                "curve.alphas) for the whole range (sorted)"
            )
        order = np.argsort(self.alphas[keep], kind="stable")
        return self.alphas[keep][order], v[keep][order]

    def min_delta(
        self, metric: str = "loss", *, tol: float = 0.0, nonfinite: str = "raise", exact: bool = False
    ) -> float:
        """$\\min\\Delta$ of ``metric`` over the points with α in [0, 1] (see
        [`mlitheory.min_delta`][mlitheory.monotonicity.min_delta]).

        Points outside [0, 1] (extrapolation) are left out; fewer than two points inside is an error.
        ``nonfinite="raise"`` (default) raises when a value there is NaN/inf; ``"omit"`` leaves those points out.
        ``exact=True``: the exact min Δ of the loss over the continuum (needs ``interpolate(..., exact=True)``).
        """
        if exact:
            return self._exact(metric).min_delta
        a, v = self._unit(metric)
        return min_delta(v, a, tol=tol, nonfinite=nonfinite)

    def _exact(self, metric: str) -> Any:
        if metric != "loss":
            raise ValueError(f"the exact decision is about the loss, not {metric!r}")
        if self.exact is None:
            raise ValueError(
                "this curve has no exact decision; call interpolate(..., exact=True) (ReLU networks, cross-entropy "
                "or MSE) to decide MLI on the continuum of alpha"
            )
        return self.exact

    def bumps(self, metric: str = "loss", *, tol: float = 0.0, nonfinite: str = "raise") -> list[Bump]:
        """Every bump of ``metric`` on α ∈ [0, 1]; indices refer to the sorted points in [0, 1]."""
        a, v = self._unit(metric)
        return bumps(v, a, tol=tol, nonfinite=nonfinite)

    def is_monotone(
        self, metric: str = "loss", *, tol: float = 0.0, nonfinite: str = "raise", exact: bool = False
    ) -> bool:
        """Whether ``metric`` is non-increasing on α ∈ [0, 1] up to ``tol``.

        On the sampled points by default; ``exact=True`` returns the decision on the continuum of α
        ([`mlitheory.decide_mli`][mlitheory.piecewise.decide.decide_mli], computed by ``interpolate(..., exact=True)``):
        a rise between samples counts, up to the decision's own tolerance (or ``tol`` if larger).
        """
        if exact:
            d = self._exact(metric)
            return bool(d.monotone) if tol <= d.tol else bool(d.min_delta <= tol)
        return self.min_delta(metric, tol=0.0, nonfinite=nonfinite) <= tol

    def plot(self, ax: Any = None, metric: str = "loss", **kwargs: Any) -> Any:
        """Plot ``metric`` against α on ``ax`` (a new Agg figure when ``None``); non-finite points marked ×.

        Returns:
            The matplotlib axes.
        """
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(5, 3.5)).add_subplot()
        order = np.argsort(self.alphas, kind="stable")
        a, v = self.alphas[order], self[metric][order]
        ok = np.isfinite(v)
        kwargs.setdefault("label", f"{self.path} ({self.bn})")
        ax.plot(a[ok], v[ok], marker=".", **kwargs)
        if not ok.all():
            lo = float(np.min(v[ok])) if ok.any() else 0.0
            ax.plot(a[~ok], np.full((~ok).sum(), lo), "x", color="red", label="non-finite")
        ax.set_xlabel(r"$\alpha$")
        ax.set_ylabel(metric)
        return ax

    def summary(self) -> str:
        lines = [
            f"InterpolationCurve: {self.path}, {len(self.alphas)} points in "
            f"[{self.alphas.min():g}, {self.alphas.max():g}], {self.n_examples} examples, bn={self.bn!r}"
        ]
        for name, v in self.values.items():
            ok = np.isfinite(v)
            rng = f"{np.min(v[ok]):.6g} .. {np.max(v[ok]):.6g}" if ok.any() else "no finite value"
            lines.append(f"  {name:>10}: {rng}")
        inside = int(((self.alphas >= 0.0) & (self.alphas <= 1.0)).sum())
        if self.n_ignored:
            lines.append(f"  {self.n_ignored} examples with the ignored label -100 left out")
        if not self.finite.all():
            bad = self.alphas[~self.finite]
            lines.append(f"  non-finite at {len(bad)} alphas, first {bad[0]:.6g} (min_delta raises unless told)")
        elif inside < 2:
            lines.append(f"  {inside} alphas in [0, 1]: no MLI verdict (min_delta needs two points there)")
        else:
            d = self.min_delta()
            lines.append(f"  min_delta(loss) = {d:.6g} on [0, 1] -> {'monotone' if d == 0 else 'not monotone'}")
        if self.has_batchnorm:
            for name in self.endpoint_values:
                s = self.endpoint_shift[name]
                lines.append(
                    f"  bn={self.bn!r} moved the endpoint {name} by {s[0]:+.4g} (alpha=0) and {s[1]:+.4g} (alpha=1)"
                    " relative to the endpoint states evaluated directly"
                )
        if self.first_layer_reuse:
            lines.append(f"  first layer {self.first_layer_reuse!r} evaluated once per batch and endpoint (exact)")
        return "\n".join(lines)


class _LineFamily:
    """A [`ParameterPath`][mlitheory.paths.ParameterPath] as a family of states of `mlitheory._evaluation`: basis
    (start, end),
    weights (1 − c, c)."""

    def __init__(self, path: ParameterPath):
        self.path = path
        self.basis = [path.start, path.end]
        self.reference = path.end

    def state(self, alpha: float) -> dict:
        return self.path.state(alpha)

    def weights(self, alpha: float, key: str) -> tuple[float, ...]:
        return self.path.weights(alpha, key)


def _target_device(path: ParameterPath, device: torch.device | str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    first = next(iter(path.start.values()), None)
    if first is None:
        raise ValueError("the states are empty: the model has no parameters or buffers to interpolate")
    return first.device


def evaluate_path(
    model: nn.Module,
    path: ParameterPath,
    data: Any,
    *,
    alphas: int | Sequence[float] | np.ndarray | torch.Tensor = 51,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    metrics: Sequence[str] | dict = ("loss", "accuracy"),
    bn: str = "recompute",
    bn_data: Any = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    keep_logits: bool = False,
    reuse_first_layer: bool = True,
    progress: bool = True,
    exact: bool | str = False,
) -> InterpolationCurve:
    """Evaluate ``model`` along any [`ParameterPath`][mlitheory.paths.ParameterPath]; see
    [`interpolate`][mlitheory.interpolation.interpolate]."""
    _validate.module(model)
    check_policy(bn)
    if not isinstance(path, ParameterPath):
        raise TypeError(f"path must be a ParameterPath (see mlitheory.paths), got {type(path).__name__}")
    validate_states(path.start, path.end, model=model)
    dtype = _validate.float_dtype(dtype)
    device = _validate.check_device(device)
    for flag, name in ((keep_logits, "keep_logits"), (reuse_first_layer, "reuse_first_layer"), (progress, "progress")):
        _validate.boolean(flag, name)
    al = resolve_alphas(alphas)
    dev = _target_device(path, device)
    if dev != next(iter(path.start.values())).device or dtype is not None:
        path = path.to(dev, dtype)
    fns = _evaluation.metric_functions(metrics, loss if loss is not None else F.cross_entropy)
    exact_loss = _exact_loss(exact, loss)
    if exact_loss:
        data = _data.reiterable(data, "data")  # iterated again by the exact decision
    with ModelView(model) as view:
        has_bn = bool(view.statistic_keys)
        if bn_data is None and bn == "recompute" and has_bn:
            data = bn_data = _data.reiterable(data, "data")  # iterated once for the statistics at every α
        needs_statistics(view, bn, bn_data)
        policy = bn if has_bn else "interpolate"  # without running statistics every policy is the same
        jobs = [_evaluation.Job(float(a), policy) for a in al]
        index = {float(a): i for i, a in enumerate(al)}
        for end in (0.0, 1.0):
            if end not in index:
                index[end] = len(jobs)
                jobs.append(_evaluation.Job(end, policy))
        direct = [index[0.0], index[1.0]]
        if policy != "interpolate":
            direct = [len(jobs), len(jobs) + 1]
            jobs += [_evaluation.Job(0.0, "interpolate"), _evaluation.Job(1.0, "interpolate")]
        family = _LineFamily(path)
        extra = extra_buffers(model, path.start, dev)
        _evaluation.prepare_statistics(view, family, jobs, extra, bn_data, dev, dtype, progress)
        totals = _evaluation.run(
            view,
            family,
            jobs,
            data,
            fns,
            extra=extra,
            device=dev,
            dtype=dtype,
            keep_logits=len(al) if keep_logits else 0,
            reuse=reuse_first_layer,
            progress=progress,
        )
    means = totals.sums / totals.count
    names = list(fns)
    values = {name: means[: len(al), i].copy() for i, name in enumerate(names)}
    ends = [index[0.0], index[1.0]]
    logits = None
    if keep_logits:
        logits = torch.stack([torch.cat(chunks) for chunks in totals.logits]).numpy()
    decision = None
    if exact_loss:
        if has_bn and bn not in ("interpolate", "none"):
            raise ValueError(
                f"exact=True with bn={bn!r}: re-estimated or batch statistics are not polynomial in alpha; pass "
                "bn='interpolate' or bn='none'"
            )
        from mlitheory.piecewise import decide_mli

        decision = decide_mli(
            model, None, None, data, path=path, loss=exact_loss, bn=bn if has_bn else "interpolate", device=dev
        )
    return InterpolationCurve(
        exact=decision,
        alphas=al,
        values=values,
        finite=np.isfinite(means[: len(al)]).all(axis=1),
        n_examples=totals.count,
        bn=bn,
        path=path.label,
        endpoint_values={name: means[ends, i].copy() for i, name in enumerate(names)},
        endpoint_direct={name: means[direct, i].copy() for i, name in enumerate(names)},
        has_batchnorm=has_bn,
        first_layer_reuse=totals.reuse,
        logits=logits,
        n_ignored=totals.ignored,
    )


def _exact_loss(exact: bool | str, loss: Callable | None) -> str:
    """The loss name of the exact decision asked for (``""``: none)."""
    if exact is False or exact is None:
        return ""
    if exact is True:
        if loss is None or loss is F.cross_entropy:
            return "cross_entropy"
        raise ValueError(
            "exact=True decides MLI for the default cross-entropy loss; with another loss pass exact='mse' "
            "(mean over examples of ||z - y||^2) or exact='cross_entropy'"
        )
    if exact in ("cross_entropy", "mse"):
        return exact
    raise ValueError(f"exact must be False, True, 'cross_entropy' or 'mse', got {exact!r}")


def interpolate(
    model: nn.Module,
    start: StateLike,
    end: StateLike,
    data: Any,
    *,
    alphas: int | Sequence[float] | np.ndarray | torch.Tensor = 51,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    metrics: Sequence[str] | dict = ("loss", "accuracy"),
    bn: str = "recompute",
    bn_data: Any = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    keep_logits: bool = False,
    reuse_first_layer: bool = True,
    progress: bool = True,
    exact: bool | str = False,
) -> InterpolationCurve:
    r"""Loss and metrics of ``model`` along $\theta_\alpha=(1-\alpha)\theta_0+\alpha\theta_1$ (start to end).

    Args:
        model: any ``nn.Module`` whose ``forward`` returns logits (or predictions); never modified.
        start, end: state dicts (or modules) with the keys, shapes and dtypes of ``model.state_dict()``.
        data: one batch ``(x, y)`` or an iterable of batches (a ``DataLoader``); iterated once. ``x`` may be a
            tensor, a tuple (positional arguments) or a dict (keyword arguments).
        alphas: a count (uniform on [0, 1], both ends exact) or any array of distinct values (extrapolation
            allowed).
        loss: ``loss(logits, y)`` returning the batch mean (a scalar) or per-example values ``(n,)``; default
            `torch.nn.functional.cross_entropy`. Means are weighted by batch size exactly. Examples whose
            integer target is -100 (PyTorch's ``ignore_index``) are left out of every metric and of the count
            (``n_ignored`` says how many); labels outside ``[0, k)`` for ``k`` logits are an error with the
            built-in loss and accuracy.
        metrics: names among ``"loss"``, ``"accuracy"``, ``"error"``, or ``{name: fn(logits, y)}`` (``None``
            for a built-in). ``"loss"`` is always computed.
        bn: batch-norm policy, ``"recompute"``, ``"interpolate"``, ``"batch"`` or ``"none"``
            ([`mlitheory.batchnorm`][mlitheory.batchnorm]).
        bn_data: data for ``"recompute"`` (inputs or batches); default ``data``.
        device: where to compute (default: the states' device); states and batches are moved there.
        dtype: floating dtype to compute in (states and floating inputs are cast); default the states'.
        keep_logits: also return the per-example outputs at every α (``(m, N, k)`` array).
        reuse_first_layer: reuse the first Linear/Conv layer's endpoint outputs (exact; see module docstring).
        progress: show a tqdm progress bar.
        exact: also **decide** MLI on the continuum of α
            ([`mlitheory.decide_mli`][mlitheory.piecewise.decide.decide_mli]; ReLU networks of supported modules):
            ``True`` for the default cross-entropy, or ``"cross_entropy"`` / ``"mse"``; the decision is in
            ``curve.exact`` and ``curve.is_monotone(exact=True)``.

    Returns:
        [`InterpolationCurve`][mlitheory.interpolation.InterpolationCurve].

    Raises:
        ValueError: keys, shapes or devices of the states do not match (the error names the key); NaN/inf or
            meta entries in the states; empty data, or every target ignored; labels outside ``[0, k)``; NaN
            inputs; ``bn="recompute"`` for a batch-norm model with no data.
        TypeError: ``model`` is not a module, ``loss`` not callable, ``dtype`` not a floating torch dtype;
            dtype mismatch between the states or between inputs and states (named), integer weights,
            malformed batches, ``accuracy`` on float targets.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Linear(3, 2)
        >>> a, b = nn.Linear(3, 2).state_dict(), nn.Linear(3, 2).state_dict()
        >>> x, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
        >>> curve = interpolate(net, a, b, (x, y), alphas=5, progress=False)
        >>> curve.loss.shape
        (5,)
    """
    _validate.module(model)
    path = linear_path(start, end, model=model)
    return evaluate_path(
        model,
        path,
        data,
        alphas=alphas,
        loss=loss,
        metrics=metrics,
        bn=bn,
        bn_data=bn_data,
        device=device,
        dtype=dtype,
        keep_logits=keep_logits,
        reuse_first_layer=reuse_first_layer,
        progress=progress,
        exact=exact,
    )
