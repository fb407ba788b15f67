r"""Convenience studies built on [`mlitheory.interpolate`][mlitheory.interpolation.interpolate], each returning plain
results.

* [`checkpoint_barriers`][mlitheory.studies.checkpoint_barriers]: from every training checkpoint to the final state
  (Frankle 2020, Fig. 3: "the maximum increase in loss and error along the linear path between the state of the network
  at iteration t and the state after training").
* [`unrelated_initializations`][mlitheory.studies.unrelated_initializations]: from fresh random initialisations to one
  optimum (Lucas et al. 2021, Fig. 6: unrelated initialisations show the same interpolation behaviour as the original
  pair).
* [`pairwise_interpolations`][mlitheory.studies.pairwise_interpolations]: all pairs init↔init, init→optimum,
  optimum↔optimum (Lucas et al. 2021, Fig. 8: no barriers between initialisations or from initialisations to optima,
  barriers between optima).
* [`layerwise_interpolation`][mlitheory.studies.layerwise_interpolation]: one layer (or block) moves, the rest stays
final (Vlaar & Frankle 2022).

Three heights of a curve $L(\alpha)$ on $\alpha\in[0,1]$ are measured, each a function here (with
min Δ of [`mlitheory.min_delta`][mlitheory.monotonicity.min_delta], the largest increase between any two points read
from the start):

$$
B_{\text{chord}} = \max_\alpha \Big(L(\alpha) - \big[(1-\alpha)L(0) + \alpha L(1)\big]\Big)_+ ,\qquad
B_{\text{ends}} = \Big(\max_\alpha L(\alpha) - \max\big(L(0), L(1)\big)\Big)_+ ,\qquad
I = \Big(\max_\alpha L(\alpha) - L(0)\Big)_+ .
$$

* [`chord_barrier`][mlitheory.studies.chord_barrier]: the barrier above the chord between the endpoint values (Frankle,
  Dziugaite, Roy, Carbin 2020, linear mode connectivity), symmetric in the endpoints.
* [`end_barrier`][mlitheory.studies.end_barrier]: the barrier above the higher endpoint, the height a path must climb
  beyond both ends (the "barriers" between initialisations and optima of Lucas et al. 2021, Fig. 8, and Vlaar & Frankle
  2022). It is at most $B_{\text{chord}}$ and is 0 whenever the curve never rises above both of its ends.
* [`max_increase`][mlitheory.studies.max_increase]: the largest rise above the start (Frankle 2020, Fig. 3, "the maximum
  increase in loss along the linear path"); with $L(0) \ge L(1)$ it equals $B_{\text{ends}}$.

References:
    Frankle. *Revisiting "Qualitatively Characterizing Neural Network Optimization Problems"*, 2020.
    Lucas et al., ICML 2021, §4.3, Figs. 6 and 8. Vlaar, Frankle, ICML 2022.
    Frankle, Dziugaite, Roy, Carbin. *Linear Mode Connectivity and the Lottery Ticket Hypothesis*, ICML 2020.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from mlitheory import _validate
from mlitheory._model import structural_clone
from mlitheory.interpolation import InterpolationCurve, evaluate_path, interpolate
from mlitheory.paths import StateLike, as_state, layer_groups, layerwise_path
from mlitheory.results import Result

__all__ = [
    "CheckpointBarriers",
    "LayerwiseCurves",
    "PairwiseInterpolations",
    "UnrelatedInits",
    "checkpoint_barriers",
    "chord_barrier",
    "end_barrier",
    "fresh_initializations",
    "layerwise_interpolation",
    "max_increase",
    "pairwise_interpolations",
    "unrelated_initializations",
]


def _heights(curve: InterpolationCurve, metric: str, what: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(alphas in [0, 1], values there, value at α = 0, value at α = 1); the endpoint values are those under the
    curve's batch-norm policy (``endpoint_values``), so a grid without the endpoints works too."""
    a, v = curve._unit(metric)
    e0, e1 = (float(x) for x in curve.endpoint_values[metric])
    if not (np.isfinite(v).all() and np.isfinite([e0, e1]).all()):
        raise ValueError(f"{metric} is not finite on the path; the {what} is undefined")
    return a, v, e0, e1


def chord_barrier(curve: InterpolationCurve, metric: str = "loss") -> float:
    """Height of ``metric`` above the chord between its values at α = 0 and α = 1, max over α ∈ [0, 1] (≥ 0).

    Raises:
        ValueError: ``metric`` is not finite on the path.
    """
    a, v, e0, e1 = _heights(curve, metric, "chord barrier")
    chord = (1 - a) * e0 + a * e1
    return float(max(0.0, np.max(v - chord, initial=0.0)))


def end_barrier(curve: InterpolationCurve, metric: str = "loss") -> float:
    """Height of ``metric`` above the higher of its values at α = 0 and α = 1: (max L − max(L(0), L(1)))₊.

    Raises:
        ValueError: ``metric`` is not finite on the path.
    """
    _, v, e0, e1 = _heights(curve, metric, "end barrier")
    return float(max(0.0, np.max(v, initial=-np.inf) - max(e0, e1)))


def max_increase(curve: InterpolationCurve, metric: str = "loss") -> float:
    """Largest rise of ``metric`` above its value at α = 0: (max L − L(0))₊ (Frankle 2020, Fig. 3).

    Raises:
        ValueError: ``metric`` is not finite on the path.
    """
    _, v, e0, e1 = _heights(curve, metric, "maximum increase")
    return float(max(0.0, np.max(v, initial=-np.inf) - e0, e1 - e0))


def _options(kwargs: dict) -> dict:
    kwargs.setdefault("progress", False)
    return kwargs


def _curves_array(curves: Sequence[InterpolationCurve], metric: str) -> np.ndarray:
    if not curves:
        return np.zeros((0, 0))
    return np.stack([c[metric] for c in curves])


@dataclass(frozen=True)
class CheckpointBarriers(Result):
    """Barriers from each checkpoint to the final state (Frankle 2020, Fig. 3).

    Attributes:
        steps: ``(n,)`` training iteration of each checkpoint. alphas: ``(m,)``.
        loss: ``(n, m)`` loss curves. error: ``(n, m)`` error curves (empty without ``classification``).
        loss_delta, error_delta: ``(n,)`` min Δ of each curve.
        loss_increase, error_increase: ``(n,)`` [`max_increase`][mlitheory.studies.max_increase] of each curve (Frankle
            2020, Fig. 3).
        loss_chord_barrier, error_chord_barrier: ``(n,)`` [`chord_barrier`][mlitheory.studies.chord_barrier] of each
            curve.
        bn: batch-norm policy.
    """

    steps: np.ndarray
    alphas: np.ndarray
    loss: np.ndarray
    error: np.ndarray
    loss_delta: np.ndarray
    error_delta: np.ndarray
    loss_increase: np.ndarray
    error_increase: np.ndarray
    loss_chord_barrier: np.ndarray
    error_chord_barrier: np.ndarray
    bn: str

    def summary(self) -> str:
        lines = [f"CheckpointBarriers: {len(self.steps)} checkpoints -> final, bn={self.bn!r}"]
        lines.append(f"  {'step':>10} {'loss I':>10} {'loss B':>10} {'error I':>10} {'error B':>10}")
        for i, s in enumerate(self.steps):
            ei = self.error_increase[i] if self.error_increase.size else np.nan
            eb = self.error_chord_barrier[i] if self.error_chord_barrier.size else np.nan
            li, lb = self.loss_increase[i], self.loss_chord_barrier[i]
            lines.append(f"  {s:>10g} {li:10.4g} {lb:10.4g} {ei:10.4g} {eb:10.4g}")
        lines.append("  I: max increase above the start; B: barrier above the chord")
        return "\n".join(lines)

    def plot(self, ax: Any = None, metric: str = "loss", kind: str = "increase") -> Any:
        """``kind`` ``"increase"`` ([`max_increase`][mlitheory.studies.max_increase]), ``"delta"`` (min Δ) or
        ``"chord_barrier"`` of ``metric``
        against the step (log x axis)."""
        if kind not in ("increase", "delta", "chord_barrier"):
            raise ValueError(f"kind must be 'increase', 'delta' or 'chord_barrier', got {kind!r}")
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(5, 3.5)).add_subplot()
        y = getattr(self, f"{metric}_{kind}")
        ax.plot(self.steps, y, marker="o")
        if np.all(self.steps > 0):
            ax.set_xscale("log")
        ax.set_xlabel("checkpoint step")
        ax.set_ylabel(f"{metric} {dict(increase='max increase', delta='min Δ', chord_barrier='chord barrier')[kind]}")
        return ax


def checkpoint_barriers(
    model: nn.Module,
    checkpoints: Sequence[StateLike] | Mapping[int, StateLike],
    final: StateLike,
    data: Any,
    *,
    steps: Sequence[float] | None = None,
    classification: bool = True,
    **kwargs: Any,
) -> CheckpointBarriers:
    """Interpolate from every checkpoint to ``final`` and measure the barriers (Frankle 2020, Fig. 3).

    Args:
        model: the architecture. checkpoints: states (a sequence, or ``{step: state}``). final: the end state.
        data: batch or iterable of batches.
        steps: iteration numbers of the checkpoints (default: the mapping's keys, else 0, 1, …).
        classification: also measure the error (1 − accuracy); needs integer labels.
        **kwargs: passed to [`mlitheory.interpolate`][mlitheory.interpolation.interpolate] (``alphas``, ``loss``,
            ``bn``, ``bn_data``, …).
    """
    if isinstance(checkpoints, Mapping):
        steps = list(checkpoints) if steps is None else steps
        checkpoints = list(checkpoints.values())
    if not checkpoints:
        raise ValueError("checkpoints is empty")
    steps = np.arange(len(checkpoints), dtype=float) if steps is None else np.asarray(steps, dtype=float)
    if len(steps) != len(checkpoints):
        raise ValueError(f"{len(steps)} steps for {len(checkpoints)} checkpoints")
    metrics = ("loss", "error") if classification else ("loss",)
    kw = _options(dict(kwargs, metrics=metrics))
    curves = [interpolate(model, c, final, data, **kw) for c in checkpoints]
    err = curves if classification else []
    return CheckpointBarriers(
        steps=steps,
        alphas=curves[0].alphas,
        loss=_curves_array(curves, "loss"),
        error=_curves_array(err, "error"),
        loss_delta=np.array([c.min_delta("loss") for c in curves]),
        error_delta=np.array([c.min_delta("error") for c in err]),
        loss_increase=np.array([max_increase(c, "loss") for c in curves]),
        error_increase=np.array([max_increase(c, "error") for c in err]),
        loss_chord_barrier=np.array([chord_barrier(c, "loss") for c in curves]),
        error_chord_barrier=np.array([chord_barrier(c, "error") for c in err]),
        bn=curves[0].bn,
    )


def fresh_initializations(model: nn.Module, n: int, *, seed: int) -> list[dict[str, torch.Tensor]]:
    """``n`` new random initialisations of ``model``'s architecture (``reset_parameters`` of every module).

    Each is drawn on a private copy under `torch.random.fork_rng` seeded with ``seed + i``, so the global
    random state and ``model`` are left as they were (a model that cannot be deep-copied is copied module by
    module, with fresh tensors).
    """
    _validate.module(model)
    n = _validate.integer(n, "n")
    seed = _validate.integer(seed, "seed", minimum=0)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    out = []
    for i in range(n):
        try:
            clone = copy.deepcopy(model)
        except Exception:
            clone = structural_clone(model, copy_tensors=True)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + i)
            for m in clone.modules():
                reset = getattr(m, "reset_parameters", None)
                if callable(reset):
                    reset()
        out.append({k: v.detach().clone() for k, v in clone.state_dict().items()})
    return out


@dataclass(frozen=True)
class UnrelatedInits(Result):
    """Interpolations from unrelated initialisations to one optimum (Lucas et al. 2021, Fig. 6).

    Attributes:
        alphas: ``(m,)``. loss: ``(n, m)`` one curve per initialisation. mean, std: ``(m,)`` over them.
        min_delta: ``(n,)`` per curve. original_loss: ``(m,)`` the original init → optimum curve (empty if not
        given). original_min_delta: its Δ (``nan`` if not given). bn: policy.
    """

    alphas: np.ndarray
    loss: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    min_delta: np.ndarray
    original_loss: np.ndarray
    original_min_delta: float
    bn: str

    def summary(self) -> str:
        lines = [
            f"UnrelatedInits: {self.loss.shape[0]} random initialisations -> optimum, bn={self.bn!r}",
            f"  min Δ: mean {self.min_delta.mean():.4g}, max {self.min_delta.max():.4g}, "
            f"monotone {(self.min_delta == 0).sum()}/{len(self.min_delta)}",
        ]
        if self.original_loss.size:
            lines.append(f"  original pair: min Δ = {self.original_min_delta:.4g}")
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Mean ± one standard deviation of the random curves, and the original pair."""
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(5, 3.5)).add_subplot()
        ax.plot(self.alphas, self.mean, label="random inits (mean)")
        ax.fill_between(self.alphas, self.mean - self.std, self.mean + self.std, alpha=0.3)
        if self.original_loss.size:
            ax.plot(self.alphas, self.original_loss, "k--", label="original init")
        ax.set_xlabel(r"$\alpha$")
        ax.set_ylabel("loss")
        ax.legend()
        return ax


def unrelated_initializations(
    model: nn.Module,
    optimum: StateLike,
    inits: Sequence[StateLike] | int,
    data: Any,
    *,
    original: StateLike | None = None,
    seed: int = 0,
    **kwargs: Any,
) -> UnrelatedInits:
    """Interpolate from unrelated initialisations to ``optimum`` (Lucas et al. 2021, Fig. 6).

    Args:
        model: the architecture. optimum: the trained state.
        inits: initial states, or a count of fresh ones
            ([`fresh_initializations`][mlitheory.studies.fresh_initializations] with ``seed``).
        data: batch or iterable of batches. original: the optimum's own initialisation, for comparison.
        **kwargs: passed to [`mlitheory.interpolate`][mlitheory.interpolation.interpolate].
    """
    if isinstance(inits, int):
        inits = fresh_initializations(model, inits, seed=seed)
    if not inits:
        raise ValueError("inits is empty")
    kw = _options(dict(kwargs))
    curves = [interpolate(model, s, optimum, data, **kw) for s in inits]
    loss = _curves_array(curves, "loss")
    orig = interpolate(model, original, optimum, data, **kw) if original is not None else None
    return UnrelatedInits(
        alphas=curves[0].alphas,
        loss=loss,
        mean=loss.mean(0),
        std=loss.std(0),
        min_delta=np.array([c.min_delta() for c in curves]),
        original_loss=orig.loss if orig is not None else np.zeros(0),
        original_min_delta=orig.min_delta() if orig is not None else float("nan"),
        bn=curves[0].bn,
    )


_GROUPS = ("init_init", "init_opt", "opt_opt")


@dataclass(frozen=True)
class PairwiseInterpolations(Result):
    """All pairwise interpolations between initialisations and optima (Lucas et al. 2021, Fig. 8).

    Attributes:
        alphas: ``(m,)``.
        pairs: ``{group: [(i, j), …]}`` for groups ``init_init`` (i < j), ``init_opt`` (init i → optimum j),
            ``opt_opt`` (i < j).
        loss: ``{group: (p, m)}`` curves. min_delta: ``{group: (p,)}``.
        end_barrier: ``{group: (p,)}`` [`end_barrier`][mlitheory.studies.end_barrier] (above the higher end, Lucas et
            al.'s barriers).
        chord_barrier: ``{group: (p,)}`` [`chord_barrier`][mlitheory.studies.chord_barrier].
        bn: policy.
    """

    alphas: np.ndarray
    pairs: dict
    loss: dict
    min_delta: dict
    end_barrier: dict
    chord_barrier: dict
    bn: str

    def summary(self) -> str:
        lines = [f"PairwiseInterpolations (bn={self.bn!r})", f"  {'group':<10} {'pairs':>5} {'max Δ':>9} {'max B':>9}"]
        for g in _GROUPS:
            d, b = self.min_delta[g], self.end_barrier[g]
            md = f"{d.max():9.4g}" if d.size else f"{'-':>9}"
            mb = f"{b.max():9.4g}" if b.size else f"{'-':>9}"
            lines.append(f"  {g:<10} {len(self.pairs[g]):>5} {md} {mb}")
        lines.append("  B: barrier above the higher end")
        return "\n".join(lines)

    def plot(self, axes: Any = None) -> Any:
        """Three panels (init↔init, init→opt, opt↔opt) of loss curves; returns the axes."""
        if axes is None:
            from matplotlib.figure import Figure

            axes = Figure(figsize=(12, 3.5)).subplots(1, 3, sharey=True)
        titles = {"init_init": "init ↔ init", "init_opt": "init → optimum", "opt_opt": "optimum ↔ optimum"}
        for ax, g in zip(axes, _GROUPS):
            for row in self.loss[g]:
                ax.plot(self.alphas, row, lw=0.8)
            ax.set_title(titles[g])
            ax.set_xlabel(r"$\alpha$")
        axes[0].set_ylabel("loss")
        return axes


def pairwise_interpolations(
    model: nn.Module, inits: Sequence[StateLike], optima: Sequence[StateLike], data: Any, **kwargs: Any
) -> PairwiseInterpolations:
    """Interpolate between all pairs of initialisations and optima (Lucas et al. 2021, Fig. 8).

    ``optima[j]`` need not descend from ``inits[j]``; every init is paired with every optimum.
    **kwargs go to [`mlitheory.interpolate`][mlitheory.interpolation.interpolate].
    """
    if len(inits) < 1 or len(optima) < 1:
        raise ValueError("need at least one initialisation and one optimum")
    kw = _options(dict(kwargs))
    pairs = {
        "init_init": list(itertools.combinations(range(len(inits)), 2)),
        "init_opt": list(itertools.product(range(len(inits)), range(len(optima)))),
        "opt_opt": list(itertools.combinations(range(len(optima)), 2)),
    }
    sources = {"init_init": (inits, inits), "init_opt": (inits, optima), "opt_opt": (optima, optima)}
    loss, delta, ends, chord = {}, {}, {}, {}
    alphas = None
    bn = kw.get("bn", "recompute")
    for g in _GROUPS:
        a, b = sources[g]
        curves = [interpolate(model, a[i], b[j], data, **kw) for i, j in pairs[g]]
        if curves:
            alphas, bn = curves[0].alphas, curves[0].bn
        loss[g] = _curves_array(curves, "loss")
        delta[g] = np.array([c.min_delta() for c in curves])
        ends[g] = np.array([end_barrier(c) for c in curves])
        chord[g] = np.array([chord_barrier(c) for c in curves])
    return PairwiseInterpolations(
        alphas=alphas if alphas is not None else np.zeros(0),
        pairs=pairs,
        loss=loss,
        min_delta=delta,
        end_barrier=ends,
        chord_barrier=chord,
        bn=bn,
    )


@dataclass(frozen=True)
class LayerwiseCurves(Result):
    """One interpolation curve per layer group (Vlaar & Frankle 2022).

    Attributes:
        groups: group names. curves: one [`InterpolationCurve`][mlitheory.interpolation.InterpolationCurve] per group.
        rest: where the other parameters stay (``"end"``: final state).
    """

    groups: tuple
    curves: tuple
    rest: str

    def __getitem__(self, group: str) -> InterpolationCurve:
        if group not in self.groups:
            raise KeyError(f"no group {group!r}; groups are {list(self.groups)}")
        return self.curves[self.groups.index(group)]

    @property
    def min_delta(self) -> np.ndarray:
        """``(groups,)`` min Δ of the loss of each curve."""
        return np.array([c.min_delta(nonfinite="omit") for c in self.curves])

    def summary(self) -> str:
        lines = [f"LayerwiseCurves: {len(self.groups)} groups, others fixed at {self.rest}"]
        w = max(8, *(len(g) for g in self.groups))
        lines.append(f"  {'group':<{w}} {'loss(0)':>10} {'loss(1)':>10} {'min Δ':>10}")
        for g, c, d in zip(self.groups, self.curves, self.min_delta):
            e0, e1 = c.endpoint_values["loss"]
            lines.append(f"  {g:<{w}} {e0:10.4g} {e1:10.4g} {d:10.4g}")
        return "\n".join(lines)

    def plot(self, ax: Any = None, metric: str = "loss") -> Any:
        """All groups' curves on one axes."""
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(5.5, 3.5)).add_subplot()
        for g, c in zip(self.groups, self.curves):
            c.plot(ax, metric, label=g)
        ax.legend(fontsize="small")
        return ax


def layerwise_interpolation(
    model: nn.Module,
    start: StateLike,
    end: StateLike,
    data: Any,
    *,
    groups: str | int | Sequence[str] | Mapping[str, Any] = "module",
    rest: str = "end",
    **kwargs: Any,
) -> LayerwiseCurves:
    """Layer-wise interpolation for every layer or block (Vlaar & Frankle 2022).

    Args:
        model: the architecture. start, end: initial and final states. data: batch or iterable of batches.
        groups: ``"module"`` (every module owning parameters), an int ``d`` (blocks by the first ``d`` name
            components, e.g. ``2`` for ``layer1.0``), a list of module names, or ``{name: module name | compiled
            regex | list of keys}``.
        rest: ``"end"`` (others at their final value, the paper's choice) or ``"start"``.
        **kwargs: passed to [`mlitheory.interpolate`][mlitheory.interpolation.interpolate] (``alphas``, ``bn``, …).
    """
    s = as_state(start, "start")
    if (
        isinstance(groups, (str, int))
        and not isinstance(groups, bool)
        and (groups == "module" or isinstance(groups, int))
    ):
        spec: dict[str, Any] = {g: g for g in layer_groups(s, by=groups, model=model)}
    elif isinstance(groups, Mapping):
        spec = dict(groups)
    elif isinstance(groups, str):
        spec = {groups: groups}
    else:
        spec = {g.pattern if isinstance(g, re.Pattern) else str(g): g for g in groups}
    if not spec:
        raise ValueError("no layer groups to interpolate")
    kw = _options(dict(kwargs))
    curves = [
        evaluate_path(model, layerwise_path(s, end, sel, rest=rest, model=model), data, **kw) for sel in spec.values()
    ]
    return LayerwiseCurves(groups=tuple(spec), curves=tuple(curves), rest=rest)
