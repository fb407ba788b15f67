"""A model evaluated at many states of a family over the data
([`mlitheory.interpolate`][mlitheory.interpolation.interpolate], [`loss_plane`][mlitheory.plane.loss_plane]).

A *family* of states is an affine combination of ``J`` basis states with per-key mixing weights. This module
evaluates the model at a list of *jobs* (a point of the family + a batch-norm policy) over the data, with the
data iterated once (outer loop over batches, inner loop over jobs): each batch is evaluated at every point, so a
shuffling or augmenting loader gives every α the same examples.

First-layer reuse: when the first module holding parameters is a plain ``Linear`` or ``Conv``, its output is
affine in the state, $W_\\alpha x + b_\\alpha = \\sum_j w_j (W_j x + b_j)$. It computes
$W_j x + b_j$ once per batch for each basis state and mixes them at every point (one ``lerp`` for a line):
exact in exact arithmetic, and bit-identical at the basis states themselves. The basis may also be a centre and
two directions, with weights $(1, a, b)$ ([`mlitheory.loss_plane`][mlitheory.plane.loss_plane] with ``directions=``). A
cached output is used only for an input equal to the cached one, so any model stays correct; the reuse switches itself
off when the layer's input changes from point to point.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mlitheory import _data, _validate
from mlitheory._model import ModelView
from mlitheory.batchnorm import _recompute

State = dict[str, torch.Tensor]
MetricFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Family(Protocol):
    basis: list[State]
    reference: State  # integer entries and the statistics used by bn="none"

    def state(self, point: Any) -> State: ...

    def weights(self, point: Any, key: str) -> tuple[float, ...]: ...


@dataclass
class Job:
    point: Any
    bn: str
    buffers: State | None = None


@dataclass
class Totals:
    sums: np.ndarray  # (jobs, metrics) float64
    count: int
    logits: list[list[torch.Tensor]] = field(default_factory=list)
    reuse: str = ""
    ignored: int = 0  # examples left out: their target is the ignored label


# ---------------------------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------------------------


def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if y.is_floating_point() or y.is_complex():
        raise TypeError(
            f"metric 'accuracy' needs integer class labels, got targets of dtype {y.dtype}; "
            "pass metrics=('loss',) (or your own metric) for regression or reconstruction"
        )
    return (logits.argmax(-1) == y).to(torch.float64)


def _error(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 1.0 - _accuracy(logits, y)


def metric_functions(metrics: Sequence[str] | dict[str, MetricFn | None], loss: MetricFn) -> dict[str, MetricFn]:
    """``{name: fn(logits, y)}`` with ``"loss"`` first; built-ins ``"loss"``, ``"accuracy"``, ``"error"``."""
    _validate.function(loss, "loss")
    builtin: dict[str, MetricFn] = {"loss": loss, "accuracy": _accuracy, "error": _error}
    if isinstance(metrics, str):
        metrics = (metrics,)
    items = list(metrics.items()) if isinstance(metrics, dict) else [(m, None) for m in metrics]
    out: dict[str, MetricFn] = {"loss": loss}
    for name, fn in items:
        if not isinstance(name, str):
            raise TypeError(f"metric names must be strings, got {name!r}")
        if fn is None:
            if name not in builtin:
                raise ValueError(f"unknown metric {name!r}; built-ins are {sorted(builtin)}, or pass {{name: fn}}")
            fn = builtin[name]
        elif not callable(fn):
            raise TypeError(f"metric {name!r} must be callable fn(logits, targets), got {type(fn).__name__}")
        out[name] = fn
    return out


_CLASSIFICATION = (F.cross_entropy, _accuracy, _error)


def _examples(out: torch.Tensor, y: torch.Tensor, classification: bool, i: int) -> torch.Tensor | None:
    """Mask of the examples to count in batch ``i`` (``None``: all). Targets equal to the ignored label (-100,
    PyTorch's ``ignore_index``) are left out of every metric; class labels are checked against the logits."""
    if y.is_floating_point() or y.is_complex() or y.ndim != 1:
        return None
    if classification and out.ndim == 2:
        k = int(out.shape[-1])
        bad = (y != _validate.IGNORE_INDEX) & ((y < 0) | (y >= k))
        if bool(bad.any()):
            v = int(y[bad][0])
            raise ValueError(
                f"batch {i} of data: label {v} is outside [0, {k}) ({int(bad.sum())} such labels; the model returns "
                f"{k} logits per example). Labels must be class indices 0..{k - 1}, or "
                f"{_validate.IGNORE_INDEX} to leave an example out"
            )
    keep = y != _validate.IGNORE_INDEX
    return None if bool(keep.all()) else keep


def _check_inputs(x: Any, n: int, ref: torch.dtype | None, i: int) -> None:
    """Batch ``i``: the input's first dimension matches the targets'; its floats hold no NaN and have the
    states' dtype (when no ``dtype=`` casts them)."""
    tensors = [x] if isinstance(x, torch.Tensor) else [v for v in (x.values() if isinstance(x, dict) else x)]
    for t in tensors:
        if not isinstance(t, torch.Tensor):
            continue
        if t is tensors[0] and t.ndim >= 1 and t.shape[0] != n:
            raise ValueError(f"batch {i} of data: the inputs hold {t.shape[0]} examples but the targets {n}")
        if t.is_floating_point():
            _data.check_dtype(t, ref, f"batch {i} of data")
            if bool(torch.isnan(t).any()):
                raise ValueError(f"batch {i} of data: the inputs hold {int(torch.isnan(t).sum())} NaN value(s)")


def _state_dtype(state: State) -> torch.dtype | None:
    return next((v.dtype for v in state.values() if v.is_floating_point()), None)


def _batch_sum(value: Any, n: int, name: str) -> torch.Tensor:
    """Sum over the batch of a metric value: a scalar (a batch mean) counts ``n`` times; a ``(n,)`` vector is summed."""
    if not isinstance(value, torch.Tensor):
        value = torch.as_tensor(value)
    if value.ndim == 0:
        return value.detach().to(torch.float64) * n
    if value.shape == (n,):
        return value.detach().to(torch.float64).sum()
    raise ValueError(f"metric {name!r} must return a scalar (batch mean) or a ({n},) tensor, got {tuple(value.shape)}")


# ---------------------------------------------------------------------------------------------------------------
# first-layer reuse
# ---------------------------------------------------------------------------------------------------------------

_REUSABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_MAX_MISSES = 3


class FirstLayerReuse:
    """Wraps the first parametric module of ``view`` (see the module docstring)."""

    def __init__(self, view: ModelView, family: Family):
        self.name = ""
        self.enabled = False
        self.active = False
        self.weights: tuple[tuple[float, ...], tuple[float, ...] | None] | None = None
        self._cache_in: torch.Tensor | None = None
        self._cache_out: list[torch.Tensor] = []
        self._misses = 0
        if not view.cloned:
            return
        first = next(((n, m) for n, m in view.module.named_modules() if any(True for _ in m.parameters(False))), None)
        if first is None or type(first[1]) not in _REUSABLE:
            return
        name, mod = first
        if getattr(mod, "padding_mode", "zeros") != "zeros" or hasattr(mod, "parametrizations"):
            return
        p = f"{name}." if name else ""
        self.wkey, self.bkey = p + "weight", (p + "bias" if mod.bias is not None else None)
        if any(self.wkey not in s for s in family.basis):
            return
        self.family = family
        self.module = mod
        self.name = name or "<root>"
        self.enabled = True
        self._orig = mod.forward
        mod.forward = self._forward  # on the private clone only

    def set_point(self, point: Any) -> None:
        if not self.enabled:
            self.weights = None
            return
        w = self.family.weights(point, self.wkey)
        b = self.family.weights(point, self.bkey) if self.bkey else None
        self.weights = (w, b)

    def _affine(self, x: torch.Tensor, j: int) -> torch.Tensor:
        s = self.family.basis[j]
        weight, bias = s[self.wkey], s[self.bkey] if self.bkey else None
        if isinstance(self.module, nn.Linear):
            return F.linear(x, weight, bias)
        return self.module._conv_forward(x, weight, bias)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.active and self.enabled and self.weights is not None) or not isinstance(x, torch.Tensor):
            return self._orig(x)
        w, b = self.weights
        if b is not None and b != w:  # weight and bias on different coefficients: no single mixture
            return self._orig(x)
        c = self._cache_in
        hit = c is not None and (
            c is x or (c.shape == x.shape and c.dtype == x.dtype and c.device == x.device and torch.equal(c, x))
        )
        if not hit:
            self._misses += 1
            if self._misses > _MAX_MISSES:  # the input depends on the point: this is not a first layer
                self.enabled = False
                self._cache_in, self._cache_out = None, []
                return self._orig(x)
            self._cache_in = x
            self._cache_out = [self._affine(x, j) for j in range(len(self.family.basis))]
        else:
            self._misses = 0
        outs = self._cache_out
        for j, wj in enumerate(w):  # a basis state itself: its own output (exact even if another is not finite)
            if wj == 1.0 and all(v == 0.0 for i, v in enumerate(w) if i != j):
                return outs[j]
        if len(outs) == 2 and math.isclose(w[0] + w[1], 1.0, rel_tol=0, abs_tol=1e-15):
            return torch.lerp(outs[0], outs[1], w[1])
        if w[0] == 1.0:  # a centre and directions: W_c x + a D_1 x + b D_2 x (one pass less)
            total = outs[0].add(outs[1], alpha=w[1])
            for o, wj in zip(outs[2:], w[2:]):
                total.add_(o, alpha=wj)
            return total
        total = outs[0] * w[0]
        for o, wj in zip(outs[1:], w[1:]):
            total.add_(o, alpha=wj)
        return total

    def new_batch(self) -> None:
        self._misses = 0 if self.enabled else self._misses


# ---------------------------------------------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------------------------------------------


def job_state(view: ModelView, family: Family, job: Job, extra: State) -> State:
    s = family.state(job.point)
    keys = view.statistic_keys
    if keys:
        if job.bn == "recompute":
            assert job.buffers is not None
            s.update(job.buffers)
        elif job.bn == "none":
            s.update({k: family.reference[k] for k in keys})
    s.update(extra)
    return view.private(s)


def prepare_statistics(view, family, jobs, extra, bn_data, device, dtype, progress) -> None:
    todo = [j for j in jobs if j.bn == "recompute"]
    if not todo or not view.statistic_keys:
        return
    bn_data = _data.reiterable(bn_data, "bn_data", lists=False)
    it = _progress(todo, progress, "batch-norm statistics")
    for job in it:
        job.buffers = _recompute(view, family.state(job.point), extra, bn_data, device, dtype)


def _progress(iterable, progress: bool, desc: str, total: int | None = None):
    if not progress:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)


def run(
    view: ModelView,
    family: Family,
    jobs: list[Job],
    data: Any,
    metrics: dict[str, MetricFn],
    *,
    extra: State,
    device: torch.device | None,
    dtype: torch.dtype | None,
    keep_logits: int = 0,
    reuse: bool = True,
    progress: bool = False,
) -> Totals:
    """Sum every metric over the data at every job; ``keep_logits`` jobs (the first ones) keep their logits."""
    names = list(metrics)
    sums = torch.zeros(len(jobs), len(names), dtype=torch.float64, device=device)
    count = ignored = 0
    logits: list[list[torch.Tensor]] = [[] for _ in range(keep_logits)]
    reuser = FirstLayerReuse(view, family) if reuse and len(jobs) >= 3 else None
    n_batches = _data.length(data)
    bar = _progress(None, progress, "interpolate", None if n_batches is None else n_batches * len(jobs))
    classification = any(fn in _CLASSIFICATION for fn in metrics.values())
    ref_dtype = None if dtype is not None else _state_dtype(family.basis[0])
    try:
        if reuser is not None:
            reuser.active = True
        with torch.no_grad():
            for b, (x, y) in enumerate(_data.batches(data)):
                x, y = _data.move(x, device, dtype), _data.move(y, device)
                n = int(y.shape[0]) if y.ndim else 1
                _check_inputs(x, n, ref_dtype, b)
                args, kwargs = _data.args_kwargs(x)
                if reuser is not None:
                    reuser.new_batch()
                keep: torch.Tensor | None = None
                for j, job in enumerate(jobs):
                    view.configure("batch" if job.bn == "batch" else "eval")
                    if reuser is not None:
                        reuser.set_point(job.point)
                    out = torch.func.functional_call(view.module, job_state(view, family, job, extra), args, kwargs)
                    if not isinstance(out, torch.Tensor):
                        raise TypeError(
                            f"the model must return a tensor of logits, got {type(out).__name__}; wrap it so that "
                            "forward returns the logits"
                        )
                    if j == 0:
                        keep = _examples(out, y, classification, b)
                    ov, yv = (out, y) if keep is None else (out[keep], y[keep])
                    nv = n if keep is None else int(keep.sum())
                    if nv:
                        for i, (name, fn) in enumerate(metrics.items()):
                            sums[j, i] += _batch_sum(fn(ov, yv), nv, name)
                    if j < keep_logits:
                        logits[j].append(out.detach().cpu())
                    if bar is not None:
                        bar.update(1)
                nv = n if keep is None else int(keep.sum())
                count += nv
                ignored += n - nv
    finally:
        if reuser is not None:
            reuser.active = False
        view.configure("eval")
        if bar is not None:
            bar.close()
    if count == 0:
        if ignored:
            raise ValueError(
                f"every target in data is the ignored label {_validate.IGNORE_INDEX} ({ignored} examples): "
                "there is nothing to average"
            )
        raise ValueError("data holds no examples: every batch is empty")
    reused = reuser.name if reuser is not None and reuser.enabled else ""
    return Totals(sums.cpu().numpy(), count, logits, reused, ignored)
