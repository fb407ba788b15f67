r"""Planes of states: through three states (orthonormal basis), or through a centre along two directions.

**Three states.** For states $\theta_a, \theta_b, \theta_c$ (e.g. an initialisation and two optima, Lucas
et al. 2021 Fig. 9) the Gram–Schmidt basis

$$
e_1 = \frac{\theta_b-\theta_a}{\|\theta_b-\theta_a\|},\qquad
e_2 = \frac{w}{\|w\|},\quad w = (\theta_c-\theta_a) - \langle\theta_c-\theta_a, e_1\rangle e_1
$$

is orthonormal, so plane coordinates $(u, v)$ of $\theta = \theta_a + u e_1 + v e_2$ are true
Euclidean coordinates: distances and angles in the figure are those in weight space (unlike random or merely
normalised directions). The three states sit at $(0,0)$, $(\|\theta_b-\theta_a\|, 0)$ and
$(\langle\theta_c-\theta_a,e_1\rangle, \|w\|)$; every linear path between two of them is the straight
segment between their coordinates, and any other state (a training checkpoint) is projected with its distance
from the plane. A point of the plane is the affine combination $(1-s-t)\theta_a + s\theta_b + t\theta_c$.

**A centre and two directions.** For a centre $\theta_c$ and directions $d_1, d_2$ (filter-normalised
random directions or the PCA directions of a trajectory, [`mlitheory.directions`][mlitheory.directions], or any two
states of the model's shape)

$$
\theta(a, b) = \theta_c + a\,d_1 + b\,d_2 ,
$$

on any grid of $(a, b)$. At $(0, 0)$ the state is the centre itself, bit for bit; integer entries
always come from the centre. Other states are projected by least squares in the directions' Gram matrix (exact
dot products when the directions are orthonormal, as the PCA directions are), with their distance from the plane.

Both forms are evaluated by the engine of [`mlitheory.interpolate`][mlitheory.interpolation.interpolate]: functionally,
the caller's model and states untouched, every batch-norm policy, and first-layer reuse. The plane is affine in its two
coordinates, so the first layer's output is too, $W(a,b)x = W_cx + a\,D_1x + b\,D_2x$: the three terms are computed once
per batch and mixed at every grid point. Coordinates and projections use the parameters only (batch-norm running
statistics excluded); the running statistics at a point follow the batch-norm policy (default ``"recompute"``;
``"interpolate"`` combines the float buffers like the parameters, which for directions that are zero on them,
as the package's are, keeps the centre's; ``"none"`` uses those of the first state or the centre). The named
states (the three states, or the centre) are also evaluated directly, with their own statistics, so the result
reports how much the policy moved them.

References:
    Garipov et al., *Loss Surfaces, Mode Connectivity, and Fast Ensembling of DNNs*, NeurIPS 2018 (plane
    through three networks). Lucas et al., ICML 2021, §4.3 and Fig. 9. Li et al., *Visualizing the Loss
    Landscape of Neural Nets*, NeurIPS 2018, §4 and §7.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mlitheory import _data, _evaluation
from mlitheory._model import ModelView, extra_buffers
from mlitheory.batchnorm import check_policy, needs_statistics
from mlitheory.paths import State, StateLike, as_state, parameter_keys, validate_states
from mlitheory.results import Result

__all__ = ["PlaneBasis", "PlaneSurface", "loss_plane", "plane_basis"]

_STATE = "state"  # a job at ("state", j) evaluates basis state j itself


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
    """Losses (and metrics) on a grid of a plane: through three states, or through a centre along two directions.

    Attributes:
        u: ``(nu,)`` first coordinate. v: ``(nv,)`` second coordinate.
        values: ``{metric: (nv, nu)}`` (row i is v[i]).
        finite: ``(nv, nu)`` all metrics finite.
        points: ``(p, 2)`` coordinates of the named states (the three states, or the centre at the origin).
        labels: their names.
        projected: ``(q, 2)`` coordinates of extra states. projected_distance: ``(q,)`` their distances
            from the plane. projected_labels: their names.
        bn: batch-norm policy. n_examples: examples evaluated.
        kind: ``"states"`` (three states, orthonormal coordinates) or ``"directions"`` (centre + two directions).
        gram: ``(2, 2)`` Gram matrix of the two directions over the parameters (identity for three states).
        point_values: ``{metric: (p,)}`` at the named states under the batch-norm policy.
        point_direct: ``{metric: (p,)}`` of the named states evaluated directly (eval mode, their own running
            statistics); equal to ``point_values`` unless the policy moved them.
        has_batchnorm: whether the model has batch-norm running statistics.
        first_layer_reuse: name of the layer whose output was reused, ``""`` if none.
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
    kind: str = "states"
    gram: np.ndarray | None = None
    point_values: dict | None = None
    point_direct: dict | None = None
    has_batchnorm: bool = False
    first_layer_reuse: str = ""

    @property
    def loss(self) -> np.ndarray:
        return self.values["loss"]

    @property
    def point_shift(self) -> dict:
        """``{metric: (p,)}``: value under the policy minus the directly evaluated value, at the named states."""
        if self.point_values is None or self.point_direct is None:
            return {}
        return {k: self.point_values[k] - self.point_direct[k] for k in self.point_values}

    def segment(self, i: int, j: int, n: int = 51) -> np.ndarray:
        """Coordinates ``(n, 2)`` of the linear path from state ``i`` to state ``j`` (it lies in the plane)."""
        t = np.linspace(0.0, 1.0, n)[:, None]
        return (1 - t) * self.points[i] + t * self.points[j]

    def plot(self, ax: Any = None, metric: str = "loss", levels: int = 30, **kwargs: Any) -> Any:
        """Filled contour of ``metric`` with the named states, segments and projected states
        (see [`mlitheory.plotting.plot_contour`][mlitheory.plotting.plot_contour])."""
        from mlitheory.plotting import plot_contour

        return plot_contour(self, ax=ax, metric=metric, levels=levels, **kwargs)

    def summary(self) -> str:
        what = "plane through three states" if self.kind == "states" else "plane through a centre along two directions"
        lines = [
            f"PlaneSurface: {what}, {len(self.v)} x {len(self.u)} grid, u in [{self.u.min():.4g}, {self.u.max():.4g}],"
            f" v in [{self.v.min():.4g}, {self.v.max():.4g}], {self.n_examples} examples, bn={self.bn!r}"
        ]
        for name, val in self.values.items():
            ok = np.isfinite(val)
            rng = f"{np.min(val[ok]):.6g} .. {np.max(val[ok]):.6g}" if ok.any() else "no finite value"
            lines.append(f"  {name:>10}: {rng}")
        if not self.finite.all():
            lines.append(f"  non-finite at {int((~self.finite).sum())} grid points")
        if self.point_direct is not None:
            for i, name in enumerate(self.labels):
                vals = ", ".join(f"{m} {self.point_direct[m][i]:.6g}" for m in self.point_direct)
                lines.append(f"  {name!s:>10} (evaluated directly): {vals}")
        if self.has_batchnorm and self.point_values is not None:
            shift = self.point_shift.get("loss")
            if shift is not None:
                lines.append(f"  bn={self.bn!r} moved the named states' loss by {np.array2string(shift, precision=4)}")
        if len(self.projected):
            lines.append(
                f"  {len(self.projected)} projected states, distance from the plane up to "
                f"{float(np.max(self.projected_distance)):.4g}"
            )
        if self.first_layer_reuse:
            lines.append(f"  first layer {self.first_layer_reuse!r} evaluated once per batch and basis state (exact)")
        return "\n".join(lines)


def _one_hot(j: int, n: int) -> tuple[float, ...]:
    return tuple(1.0 if i == j else 0.0 for i in range(n))


class _PlaneFamily:
    """The plane through three states as an engine family: basis (a, b, c), mixture weights."""

    def __init__(self, basis: PlaneBasis):
        self.pb = basis
        self.basis = list(basis.states)
        self.reference = basis.states[0]

    def state(self, point: Any) -> State:
        if point[0] == _STATE:
            return self.basis[point[1]]
        return self.pb.state(*point)

    def weights(self, point: Any, key: str) -> tuple[float, ...]:
        if point[0] == _STATE:
            return _one_hot(point[1], 3)
        return self.pb.mixture(*point)


class _DirectionFamily:
    """θ(a, b) = θ_c + a d₁ + b d₂ as an engine family: basis (θ_c, d₁, d₂), weights (1, a, b).

    The moving entries of a state are written into private scratch tensors, reused from point to point: a fresh
    multi-megabyte tensor per entry and point costs more in page faults than the arithmetic (about a tenth of a
    forward pass of an MNIST MLP). A state is therefore valid until the next call of `state`, which is how
    the engine uses it (one point at a time); the centre and the directions are never written to.
    """

    def __init__(self, centre: State, d1: State, d2: State):
        self.basis = [centre, d1, d2]
        self.reference = centre
        self.moving = [
            k for k, x in centre.items() if x.is_floating_point() and (bool(d1[k].any()) or bool(d2[k].any()))
        ]
        self._scratch: dict[str, torch.Tensor] = {}

    def state(self, point: Any) -> State:
        if point[0] == _STATE:
            return self.basis[point[1]]
        a, b = point
        centre, d1, d2 = self.basis
        out = dict(centre)
        if a == 0.0 and b == 0.0:
            return out  # the centre itself, bit for bit
        for k in self.moving:
            buf = self._scratch.get(k)
            if buf is None:
                buf = self._scratch[k] = torch.empty_like(centre[k])
            if a != 0.0:
                torch.add(centre[k], d1[k], alpha=a, out=buf)
                if b != 0.0:
                    buf.add_(d2[k], alpha=b)
            else:
                torch.add(centre[k], d2[k], alpha=b, out=buf)
            out[k] = buf
        return out

    def weights(self, point: Any, key: str) -> tuple[float, ...]:
        if point[0] == _STATE:
            return _one_hot(point[1], 3)
        return (1.0, float(point[0]), float(point[1]))


def _axis(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError(f"{name} is empty; pass at least one coordinate")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr[~np.isfinite(arr)][:3]}")
    if len(np.unique(arr)) != arr.size:
        raise ValueError(f"{name} has repeated values; pass each coordinate once")
    return arr


def _counts(grid: int | tuple[int, int]) -> tuple[int, int]:
    nu, nv = (grid, grid) if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool) else tuple(grid)
    for n in (nu, nv):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"grid must be a positive int or a pair (nu, nv) of them, got {grid!r}")
    return int(nu), int(nv)


def _symmetric(lo: float, hi: float, n: int) -> np.ndarray:
    """``linspace(lo, hi, n)`` with the midpoint exactly 0 when the range is symmetric and ``n`` odd."""
    out = np.linspace(lo, hi, n)
    if n % 2 == 1 and lo == -hi:
        out[n // 2] = 0.0
    return out


def _centre_state(states: Any) -> StateLike:
    if isinstance(states, (nn.Module, Mapping)):
        return states
    if isinstance(states, Sequence) and len(states) == 1:
        return states[0]
    n = len(states) if isinstance(states, Sequence) else "?"
    raise ValueError(
        f"with directions=, states is the centre of the plane: one state dict or module (got a sequence of {n}); "
        "for the plane through three states leave directions=None"
    )


def _resolve_directions(directions: Any) -> tuple[StateLike, StateLike, Any]:
    from mlitheory.directions import TrajectoryDirections

    if isinstance(directions, TrajectoryDirections):
        if directions.k < 2:
            raise ValueError(f"directions holds k={directions.k} principal direction; a plane needs k >= 2")
        return directions.directions[0], directions.directions[1], directions
    if isinstance(directions, (nn.Module, torch.Tensor)) or not isinstance(directions, Sequence):
        raise TypeError(
            "directions must be a pair (d1, d2) of states (state dicts or modules) or a TrajectoryDirections, "
            f"got {type(directions).__name__}"
        )
    if len(directions) != 2:
        raise ValueError(f"directions must hold exactly two directions, got {len(directions)}")
    return directions[0], directions[1], None


def _direction_plane(model: nn.Module, states: Any, directions: Any) -> tuple[_DirectionFamily, list[str], Any]:
    d1, d2, traj = _resolve_directions(directions)
    centre = _centre_state(states)
    sc, s1 = validate_states(centre, d1, model=model, names=("centre", "directions[0]"))
    _, s2 = validate_states(sc, d2, names=("centre", "directions[1]"))
    keys = parameter_keys(sc, model)
    if not keys:
        raise ValueError("the centre has no parameters")
    for i, d in enumerate((s1, s2)):
        for k, x in d.items():
            if x.is_floating_point() and not bool(torch.isfinite(x).all()):
                raise ValueError(f"directions[{i}][{k!r}] has non-finite entries")
    return _DirectionFamily(sc, s1, s2), keys, traj


def _gram(d1: State, d2: State, keys: list[str]) -> np.ndarray:
    g = np.array([[_dot(d1, d1, keys), _dot(d1, d2, keys)], [_dot(d1, d2, keys), _dot(d2, d2, keys)]])
    for i in range(2):
        if g[i, i] == 0.0:
            raise ValueError(f"directions[{i}] is zero on every parameter: no plane")
    if g[0, 0] * g[1, 1] - g[0, 1] ** 2 <= 1e-12 * g[0, 0] * g[1, 1]:
        raise ValueError("the two directions are parallel: no plane; pass two independent directions")
    return g


def _project_directions(family: _DirectionFamily, gram: np.ndarray, keys: list[str], state: StateLike, i: int):
    s = as_state(state, f"project[{i}]")
    missing = [k for k in keys if k not in s]
    if missing:
        raise ValueError(f"cannot project project[{i}]: the state lacks {missing[:3]}")
    centre, d1, d2 = family.basis
    for k in keys:
        if s[k].shape != centre[k].shape:
            raise ValueError(f"project[{i}][{k!r}] has shape {tuple(s[k].shape)}, the centre {tuple(centre[k].shape)}")
    dev = centre[keys[0]].device
    r = {k: s[k].to(dev, torch.float64) - centre[k].to(torch.float64) for k in keys}
    e1 = {k: d1[k].to(torch.float64) for k in keys}
    e2 = {k: d2[k].to(torch.float64) for k in keys}
    a, b = np.linalg.solve(gram, np.array([_dot(r, e1, keys), _dot(r, e2, keys)]))
    rest = {k: r[k] - a * e1[k] - b * e2[k] for k in keys}
    return float(a), float(b), math.sqrt(max(_dot(rest, rest, keys), 0.0))


def loss_plane(
    model: nn.Module,
    states: Sequence[StateLike] | StateLike,
    data: Any,
    *,
    directions: Any = None,
    grid: int | tuple[int, int] = 21,
    margin: float = 0.25,
    u: Sequence[float] | None = None,
    v: Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
    project: Sequence[StateLike] = (),
    project_labels: Sequence[str] | None = None,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    metrics: Sequence[str] | dict = ("loss", "accuracy"),
    bn: str = "recompute",
    bn_data: Any = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    reuse_first_layer: bool = True,
    progress: bool = True,
) -> PlaneSurface:
    r"""Evaluate ``model`` on a grid of a plane of states (see the module docstring).

    Two forms:

    * ``loss_plane(model, (a, b, c), data)``: the plane through three states, orthonormal coordinates;
    * ``loss_plane(model, centre, data, directions=(d1, d2))``: $\theta_c + u\,d_1 + v\,d_2$, for
      filter-normalised random directions ([`mlitheory.random_direction`][mlitheory.directions.random_direction]), the
      PCA directions of a trajectory ([`mlitheory.trajectory_directions`][mlitheory.directions.trajectory_directions];
      pass the result itself) or any two states.

    Args:
        model: any module (never modified).
        states: three state dicts or modules; with ``directions``, the centre (one state dict or module).
        data: a batch ``(x, y)`` or an iterable of batches (iterated once).
        directions: ``None`` (three states), a pair of states with the centre's keys and shapes, or a
            [`TrajectoryDirections`][mlitheory.directions.TrajectoryDirections] (its first two directions).
        grid: points per axis (or ``(nu, nv)``). The default extent: the three states plus ``margin`` of their
            extent; for a trajectory, its bounding box (checkpoints and final state) plus ``margin``; for other
            directions, $[-1, 1]^2$ (Li et al.'s), with 0 on the grid for an odd count.
        margin: widening of the default extent, as a fraction of it.
        u, v: explicit coordinate arrays (override ``grid``/``margin``); any finite values.
        labels: names of the named states (default ``("a", "b", "c")``, or ``("centre",)``).
        project: extra states to project onto the plane (e.g. training checkpoints). project_labels: their names.
        loss, metrics, bn, bn_data, device, dtype, progress: as in
            [`mlitheory.interpolate`][mlitheory.interpolation.interpolate].
        reuse_first_layer: compute the first Linear/Conv layer's output once per batch for each basis state and
            mix it at every point (exact; see the module docstring).

    Returns:
        [`PlaneSurface`][mlitheory.plane.PlaneSurface].

    Raises:
        ValueError: three states that are collinear; directions whose keys or shapes do not match the centre
            (named), that are non-finite, zero or parallel; bad grids; ``bn="recompute"`` without data.
        TypeError: ``directions`` of the wrong kind; dtype mismatches (named).

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> import mlitheory as mli
        >>> net = nn.Linear(3, 2)
        >>> x, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
        >>> g = torch.Generator().manual_seed(0)
        >>> dirs = (mli.random_direction(net, seed=g), mli.random_direction(net, seed=g))
        >>> surface = mli.loss_plane(net, net, (x, y), directions=dirs, grid=5, progress=False)
        >>> surface.loss.shape, bool(surface.loss[2, 2] == surface.point_direct["loss"][0])
        ((5, 5), True)
    """
    check_policy(bn)
    nu, nv = _counts(grid)
    traj = None
    if directions is None:
        if isinstance(states, (nn.Module, Mapping)) or not isinstance(states, Sequence) or len(states) != 3:
            n = len(states) if isinstance(states, Sequence) else 1
            raise ValueError(
                f"states must hold exactly three states, got {n}; for a centre and two directions pass directions="
            )
        pb = plane_basis(*states, model=model)
        dev = torch.device(device) if device is not None else next(iter(pb.states[0].values())).device
        if device is not None or dtype is not None:
            conv = [{k: _data.move(t, dev, dtype) for k, t in s.items()} for s in pb.states]
            pb = PlaneBasis(tuple(conv), pb.keys, pb.n1, pb.p, pb.n2)
        family: Any = _PlaneFamily(pb)
        pts = pb.points
        names = tuple(labels) if labels is not None else ("a", "b", "c")
        gram = np.eye(2)
        lo, hi = pts.min(0), pts.max(0)
        ext = hi - lo
        box = np.stack([lo - margin * ext, hi + margin * ext], axis=1)
        kind = "states"
    else:
        family, keys, traj = _direction_plane(model, states, directions)
        gram = _gram(family.basis[1], family.basis[2], keys)
        dev = torch.device(device) if device is not None else family.basis[0][keys[0]].device
        if device is not None or dtype is not None:
            moved = [{k: _data.move(t, dev, dtype) for k, t in s.items()} for s in family.basis]
            family = _DirectionFamily(*moved)
        pts = np.zeros((1, 2))
        names = tuple(labels) if labels is not None else ("centre",)
        box = traj.bounds(margin) if traj is not None else np.array([[-1.0, 1.0], [-1.0, 1.0]])
        kind = "directions"
    if len(names) != len(pts):
        raise ValueError(f"labels must name the {len(pts)} named state(s), got {len(names)}")
    uu = _axis(u, "u") if u is not None else _symmetric(box[0, 0], box[0, 1], nu)
    vv = _axis(v, "v") if v is not None else _symmetric(box[1, 0], box[1, 1], nv)
    if kind == "states":
        proj = [pb.project(s) for s in project]
    else:
        proj = [_project_directions(family, gram, keys, s, i) for i, s in enumerate(project)]
    plabels = tuple(project_labels) if project_labels is not None else tuple(f"p{i}" for i in range(len(proj)))
    if len(plabels) != len(proj):
        raise ValueError(f"project_labels must name the {len(proj)} projected states, got {len(plabels)}")
    fns = _evaluation.metric_functions(metrics, loss if loss is not None else F.cross_entropy)
    n_named = len(pts)
    with ModelView(model) as view:
        has_bn = bool(view.statistic_keys)
        policy = bn if has_bn else "interpolate"
        if bn_data is None and policy == "recompute":
            data = bn_data = _data.reiterable(data, "data")
        needs_statistics(view, policy, bn_data)
        jobs = [_evaluation.Job((float(a), float(b)), policy) for b in vv for a in uu]
        index = {job.point: i for i, job in enumerate(jobs)}
        direct, under = [], []
        for j in range(n_named):
            at = (0.0, 0.0) if kind == "directions" else None  # the centre's grid point is the centre, bit for bit
            if policy == "interpolate" and at in index:
                direct.append(index[at])
            else:
                direct.append(len(jobs))
                jobs.append(_evaluation.Job((_STATE, j), "interpolate"))
            if policy == "interpolate":
                under.append(direct[-1])
            else:
                under.append(len(jobs))
                jobs.append(_evaluation.Job((_STATE, j), policy))
        extra = extra_buffers(model, family.reference, dev)
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
            reuse=reuse_first_layer,
            progress=progress,
        )
    means = totals.sums / totals.count
    n_grid = len(uu) * len(vv)
    values = {name: means[:n_grid, i].reshape(len(vv), len(uu)) for i, name in enumerate(fns)}
    return PlaneSurface(
        u=uu,
        v=vv,
        values=values,
        finite=np.isfinite(means[:n_grid]).all(axis=1).reshape(len(vv), len(uu)),
        points=pts,
        labels=names,
        projected=np.array([[p[0], p[1]] for p in proj]).reshape(-1, 2),
        projected_distance=np.array([p[2] for p in proj]),
        projected_labels=plabels,
        bn=bn,
        n_examples=totals.count,
        kind=kind,
        gram=gram,
        point_values={name: means[under, i].copy() for i, name in enumerate(fns)},
        point_direct={name: means[direct, i].copy() for i, name in enumerate(fns)},
        has_batchnorm=has_bn,
        first_layer_reuse=totals.reuse,
    )
