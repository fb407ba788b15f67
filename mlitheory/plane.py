r"""The plane through three states: orthonormal basis, a 2-D grid of losses, projected paths.

For states :math:`\theta_a, \theta_b, \theta_c` (e.g. an initialisation and two optima, Lucas et al. 2021
Fig. 9) the Gram–Schmidt basis

.. math::

    e_1 = \frac{\theta_b-\theta_a}{\|\theta_b-\theta_a\|},\qquad
    e_2 = \frac{w}{\|w\|},\quad w = (\theta_c-\theta_a) - \langle\theta_c-\theta_a, e_1\rangle e_1

is orthonormal, so plane coordinates :math:`(u, v)` of :math:`\theta = \theta_a + u e_1 + v e_2` are true
Euclidean coordinates: distances and angles in the figure are those in weight space (unlike random or merely
normalised directions). The three states sit at :math:`(0,0)`, :math:`(\|\theta_b-\theta_a\|, 0)` and
:math:`(\langle\theta_c-\theta_a,e_1\rangle, \|w\|)`; every linear path between two of them is the straight
segment between their coordinates, and any other state (a training checkpoint) is projected with its distance
from the plane.

Coordinates use the parameters only (batch-norm running statistics excluded); a point of the plane is the
affine combination :math:`(1-s-t)\theta_a + s\theta_b + t\theta_c`, and its running statistics follow the
batch-norm policy (default ``"recompute"``; ``"interpolate"`` combines them like the parameters; ``"none"``
uses those of :math:`\theta_a`).

References:
    Garipov et al., *Loss Surfaces, Mode Connectivity, and Fast Ensembling of DNNs*, NeurIPS 2018 (plane
    through three networks). Lucas et al., ICML 2021, §4.3 and Fig. 9.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mlitheory import _data, _engine
from mlitheory._model import ModelView, extra_buffers
from mlitheory._results import Result
from mlitheory.batchnorm import check_policy, needs_statistics
from mlitheory.paths import State, StateLike, as_state, parameter_keys, validate_states

__all__ = ["PlaneBasis", "PlaneSurface", "loss_plane", "plane_basis"]


def _dot(a: State, b: State, keys: list[str]) -> float:
    return float(sum(torch.sum(a[k].to(torch.float64) * b[k].to(torch.float64)) for k in keys))


@dataclass(frozen=True, eq=False)
class PlaneBasis:
    """Orthonormal basis of the plane through three states (see the module docstring).

    Attributes:
        states: the three states (a, b, c). keys: the parameter keys spanning the plane.
        n1: ‖θ_b − θ_a‖. p: ⟨θ_c − θ_a, e₁⟩. n2: ‖w‖.
    """

    states: tuple
    keys: tuple
    n1: float
    p: float
    n2: float

    @property
    def points(self) -> np.ndarray:
        """Coordinates ``(3, 2)`` of the three states."""
        return np.array([[0.0, 0.0], [self.n1, 0.0], [self.p, self.n2]])

    def mixture(self, u: float, v: float) -> tuple[float, float, float]:
        """Weights ``(1 − s − t, s, t)`` with θ(u, v) = (1 − s − t)θ_a + sθ_b + tθ_c."""
        t = v / self.n2
        s = u / self.n1 - v * self.p / (self.n1 * self.n2)
        return (1.0 - s - t, s, t)

    def state(self, u: float, v: float) -> State:
        """The full state at plane coordinates ``(u, v)`` (integer entries from θ_a)."""
        w = self.mixture(u, v)
        a, b, c = self.states
        out = {}
        for k, x in a.items():
            if x.is_floating_point():
                out[k] = (x * w[0]).add_(b[k], alpha=w[1]).add_(c[k], alpha=w[2])
            else:
                out[k] = x
        return out

    def project(self, state: StateLike) -> tuple[float, float, float]:
        """``(u, v, distance from the plane)`` of any state with the same keys."""
        s = as_state(state)
        a, b, c = self.states
        keys = list(self.keys)
        missing = [k for k in keys if k not in s]
        if missing:
            raise ValueError(f"cannot project: the state lacks {missing[:3]}")
        diff = {k: s[k].to(torch.float64) - a[k].to(torch.float64) for k in keys}
        e1 = {k: (b[k].to(torch.float64) - a[k].to(torch.float64)) / self.n1 for k in keys}
        w = {k: c[k].to(torch.float64) - a[k].to(torch.float64) - self.p * e1[k] for k in keys}
        e2 = {k: w[k] / self.n2 for k in keys}
        u, v = _dot(diff, e1, keys), _dot(diff, e2, keys)
        r2 = _dot(diff, diff, keys) - u * u - v * v
        return u, v, math.sqrt(max(r2, 0.0))


def plane_basis(a: StateLike, b: StateLike, c: StateLike, *, model: nn.Module | None = None) -> PlaneBasis:
    """Gram–Schmidt basis of the plane through three states.

    Raises:
        ValueError: mismatched states (named key), or the three states are collinear (no plane).
    """
    sa, sb = validate_states(a, b, model=model, names=("a", "b"))
    _, sc = validate_states(sa, c, names=("a", "c"))
    keys = parameter_keys(sa, model)
    if not keys:
        raise ValueError("the states have no parameters")
    d1 = {k: sb[k].to(torch.float64) - sa[k].to(torch.float64) for k in keys}
    d2 = {k: sc[k].to(torch.float64) - sa[k].to(torch.float64) for k in keys}
    n1 = math.sqrt(_dot(d1, d1, keys))
    if n1 == 0.0:
        raise ValueError("states a and b are equal: no plane; pass three distinct, non-collinear states")
    p = _dot(d2, d1, keys) / n1
    n2 = math.sqrt(max(_dot(d2, d2, keys) - p * p, 0.0))
    if n2 <= 1e-12 * max(n1, math.sqrt(_dot(d2, d2, keys))):
        raise ValueError("the three states are collinear: no plane through them; pick another third state")
    return PlaneBasis((sa, sb, sc), tuple(keys), n1, p, n2)


@dataclass(frozen=True)
class PlaneSurface(Result):
    """Losses (and metrics) on a grid of the plane through three states.

    Attributes:
        u: ``(nu,)`` first coordinate. v: ``(nv,)`` second coordinate.
        values: ``{metric: (nv, nu)}`` (row i is v[i]).
        finite: ``(nv, nu)`` all metrics finite.
        points: ``(3, 2)`` coordinates of the three states. labels: their names.
        projected: ``(p, 2)`` coordinates of extra states. projected_distance: ``(p,)`` their distances
            from the plane. projected_labels: their names.
        bn: batch-norm policy. n_examples: examples evaluated.
    """

    u: np.ndarray
    v: np.ndarray
    values: dict
    finite: np.ndarray
    points: np.ndarray
    labels: tuple
    projected: np.ndarray
    projected_distance: np.ndarray
    projected_labels: tuple
    bn: str
    n_examples: int

    @property
    def loss(self) -> np.ndarray:
        return self.values["loss"]

    def segment(self, i: int, j: int, n: int = 51) -> np.ndarray:
        """Coordinates ``(n, 2)`` of the linear path from state ``i`` to state ``j`` (it lies in the plane)."""
        t = np.linspace(0.0, 1.0, n)[:, None]
        return (1 - t) * self.points[i] + t * self.points[j]

    def plot(self, ax: Any = None, metric: str = "loss", levels: int = 30) -> Any:
        """Filled contour of ``metric`` with the three states, their segments and the projected states."""
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(5, 4.5)).add_subplot()
        z = np.where(self.finite, self.values[metric], np.nan)
        cs = ax.contourf(self.u, self.v, z, levels=levels, cmap="viridis")
        ax.figure.colorbar(cs, ax=ax, label=metric)
        for i, j in ((0, 1), (0, 2), (1, 2)):
            seg = self.segment(i, j)
            ax.plot(seg[:, 0], seg[:, 1], "w--", lw=0.8)
        ax.scatter(self.points[:, 0], self.points[:, 1], c="white", edgecolors="black", zorder=3)
        for (x, y), name in zip(self.points, self.labels):
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), color="white")
        if len(self.projected):
            ax.plot(self.projected[:, 0], self.projected[:, 1], "r.-", lw=0.8, label="projected")
        ax.set_xlabel("u")
        ax.set_ylabel("v")
        ax.set_aspect("equal")
        return ax


class _PlaneFamily:
    def __init__(self, basis: PlaneBasis):
        self.pb = basis
        self.basis = list(basis.states)
        self.reference = basis.states[0]

    def state(self, point: tuple[float, float]) -> State:
        return self.pb.state(*point)

    def weights(self, point: tuple[float, float], key: str) -> tuple[float, ...]:
        return self.pb.mixture(*point)


def loss_plane(
    model: nn.Module,
    states: Sequence[StateLike],
    data: Any,
    *,
    grid: int | tuple[int, int] = 21,
    margin: float = 0.25,
    u: Sequence[float] | None = None,
    v: Sequence[float] | None = None,
    labels: Sequence[str] = ("a", "b", "c"),
    project: Sequence[StateLike] = (),
    project_labels: Sequence[str] | None = None,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    metrics: Sequence[str] | dict = ("loss", "accuracy"),
    bn: str = "recompute",
    bn_data: Any = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    progress: bool = True,
) -> PlaneSurface:
    """Evaluate ``model`` on a grid of the plane through three states.

    Args:
        model: any module (never modified).
        states: three state dicts or modules.
        data: a batch ``(x, y)`` or an iterable of batches (iterated once).
        grid: points per axis (or ``(nu, nv)``), spanning the three states plus ``margin`` of the extent.
        u, v: explicit coordinate arrays (override ``grid``/``margin``).
        labels: names of the three states. project: extra states to project. project_labels: their names.
        loss, metrics, bn, bn_data, device, dtype, progress: as in :func:`mlitheory.interpolate`.

    Returns:
        :class:`PlaneSurface`.
    """
    check_policy(bn)
    if len(states) != 3:
        raise ValueError(f"states must hold exactly three states, got {len(states)}")
    pb = plane_basis(*states, model=model)
    dev = torch.device(device) if device is not None else next(iter(pb.states[0].values())).device
    if device is not None or dtype is not None:
        conv = [{k: _data.move(t, dev, dtype) for k, t in s.items()} for s in pb.states]
        pb = PlaneBasis(tuple(conv), pb.keys, pb.n1, pb.p, pb.n2)
    nu, nv = (grid, grid) if isinstance(grid, int) else grid
    pts = pb.points
    lo, hi = pts.min(0), pts.max(0)
    ext = hi - lo
    uu = np.asarray(u, float) if u is not None else np.linspace(lo[0] - margin * ext[0], hi[0] + margin * ext[0], nu)
    vv = np.asarray(v, float) if v is not None else np.linspace(lo[1] - margin * ext[1], hi[1] + margin * ext[1], nv)
    fns = _engine.metric_functions(metrics, loss if loss is not None else F.cross_entropy)
    with ModelView(model) as view:
        policy = bn if view.statistic_keys else "interpolate"
        if bn_data is None and policy == "recompute":
            data = bn_data = _data.reiterable(data, "data")
        needs_statistics(view, policy, bn_data)
        family = _PlaneFamily(pb)
        jobs = [_engine.Job((float(a), float(b)), policy) for b in vv for a in uu]
        extra = extra_buffers(model, pb.states[0], dev)
        _engine.prepare_statistics(view, family, jobs, extra, bn_data, dev, dtype, progress)
        totals = _engine.run(view, family, jobs, data, fns, extra=extra, device=dev, dtype=dtype, progress=progress)
    means = totals.sums / totals.count
    values = {name: means[:, i].reshape(len(vv), len(uu)) for i, name in enumerate(fns)}
    proj = [pb.project(s) for s in project]
    plabels = tuple(project_labels) if project_labels is not None else tuple(f"p{i}" for i in range(len(proj)))
    return PlaneSurface(
        u=uu,
        v=vv,
        values=values,
        finite=np.isfinite(means).all(axis=1).reshape(len(vv), len(uu)),
        points=pts,
        labels=tuple(labels),
        projected=np.array([[p[0], p[1]] for p in proj]).reshape(-1, 2),
        projected_distance=np.array([p[2] for p in proj]),
        projected_labels=plabels,
        bn=bn,
        n_examples=totals.count,
    )
