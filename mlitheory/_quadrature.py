"""The adaptive quadrature behind [`mlitheory.gauss_length`][mlitheory.geometry.gauss_length] and
[`mlitheory.arc_length`][mlitheory.geometry.arc_length].

A globally adaptive Simpson rule on panels of five equally spaced nodes. The panel with the largest error
estimate is split until the total estimate is below the tolerance. For the Gauss length, each panel also
carries the polygon of spherical angles between the unit tangents at its nodes (a lower bound of the total
variation of the tangent); where that polygon exceeds the integral, the panel holds a reversal or a spike
that the integrand misses, and it is refined until polygon and integral agree.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

Derivatives = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

_INITIAL_PANELS = 16
_MIN_WIDTH = 1e-12  # relative to b - a: panels are not split below this width
_ZERO_SPEED = 1e-13  # speed below this fraction of the curve's scale counts as zero velocity


def gauss_integrand(dz: torch.Tensor, d2z: torch.Tensor) -> torch.Tensor:
    r"""The Gauss-length integrand $\|T'\| = \|z'' - \langle z'',T\rangle T\| / \|z'\|$ over the last dim.

    Computed through the component of $z''$ orthogonal to the tangent (no cancellation of
    $\|z'\|^2\|z''\|^2 - \langle z',z''\rangle^2$). Where $z' = 0$ the integrand is undefined
    and 0 is returned; a reversal there is accounted for separately as a jump of the tangent.

    Args:
        dz: first derivatives, shape ``(..., n)``.
        d2z: second derivatives, same shape.

    Returns:
        Tensor of shape ``(...)``.
    """
    if not (isinstance(dz, torch.Tensor) and isinstance(d2z, torch.Tensor)):
        raise TypeError(f"dz and d2z must be tensors, got {type(dz).__name__} and {type(d2z).__name__}")
    if dz.shape != d2z.shape:
        raise ValueError(f"dz and d2z must have the same shape, got {tuple(dz.shape)} and {tuple(d2z.shape)}")
    if not (torch.isfinite(dz).all() and torch.isfinite(d2z).all()):
        raise ValueError("dz and d2z must be finite: the integrand of a NaN or infinite derivative is undefined")
    speed = torch.linalg.vector_norm(dz, dim=-1)
    safe = torch.where(speed > 0, speed, torch.ones_like(speed))
    t = dz / safe.unsqueeze(-1)
    perp = d2z - (d2z * t).sum(-1, keepdim=True) * t
    out = torch.linalg.vector_norm(perp, dim=-1) / safe
    return torch.where(speed > 0, out, torch.zeros_like(out))


def unit_angle(u, v):
    """Spherical distance between unit vectors over the last dim, $2\\operatorname{atan2}(\\|u-v\\|, \\|u+v\\|)$.

    Accurate near 0 and near π (where ``arccos`` of the dot product loses half the digits). The one formula for
    every turning angle of the package: tangents in the quadrature, chords of a sampled polygon, velocities.
    Torch tensors give a tensor; anything else is taken as NumPy arrays and gives NumPy.
    """
    if isinstance(u, torch.Tensor):
        return 2.0 * torch.atan2(torch.linalg.vector_norm(u - v, dim=-1), torch.linalg.vector_norm(u + v, dim=-1))
    u, v = np.asarray(u), np.asarray(v)
    return 2.0 * np.arctan2(np.linalg.norm(u - v, axis=-1), np.linalg.norm(u + v, axis=-1))


@dataclass
class _Nodes:
    """Per-node data: integrand f (batch,), speed (batch,), left/right unit tangents (batch, n) + validity."""

    alpha: list
    f: list
    speed: list
    tl: list
    tr: list
    vl: list
    vr: list


class _AdaptiveSimpson:
    """Globally adaptive Simpson quadrature on panels of 5 equally spaced nodes.

    With ``tangents=True`` the integrand is the Gauss integrand and the polygon of tangent angles guards
    against missed turns; with ``tangents=False`` the integrand is the speed (arc length).
    """

    def __init__(self, derivatives: Derivatives, a: float, b: float, *, tangents: bool):
        self.derivatives = derivatives
        self.a, self.b = a, b
        self.tangents = tangents
        self.nodes = _Nodes([], [], [], [], [], [], [])
        self.index: dict[float, int] = {}
        self.scale: torch.Tensor | None = None
        self.batch: int | None = None
        self.n: int | None = None

    def evaluate(self, alphas: list[float]) -> None:
        new = sorted({x for x in alphas if x not in self.index})
        if not new:
            return
        at = torch.tensor(new, dtype=torch.float64)
        d1, d2 = self.derivatives(at)
        if d1.ndim != 3 or d1.shape != d2.shape or d1.shape[0] != len(new):
            raise ValueError(
                f"derivatives must return two tensors of shape (m, batch, n) with m={len(new)}; "
                f"got {tuple(d1.shape)} and {tuple(d2.shape)}"
            )
        d1, d2 = d1.detach().to(torch.float64), d2.detach().to(torch.float64)
        if self.batch is None:
            self.batch, self.n = d1.shape[1], d1.shape[2]
        elif d1.shape[1:] != (self.batch, self.n):
            raise ValueError(
                f"the curve's output shape changed between evaluations: (batch, n) was {(self.batch, self.n)}, "
                f"now {tuple(d1.shape[1:])} near alpha={new[0]:.6g}"
            )
        bad = ~(torch.isfinite(d1).all(-1) & torch.isfinite(d2).all(-1)).all(-1)
        if bad.any():
            i = int(bad.nonzero()[0])
            raise ValueError(f"the curve's derivatives at alpha={new[i]:.17g} are not finite (NaN or inf)")
        speed = torch.linalg.vector_norm(d1, dim=-1)
        acc = torch.linalg.vector_norm(d2, dim=-1)
        if self.scale is None:
            self.scale = (speed + acc * (self.b - self.a)).amax(0)
        zero = speed <= _ZERO_SPEED * self.scale
        if self.tangents:
            f = torch.where(zero, torch.zeros_like(speed), gauss_integrand(d1, d2))
            safe_s = torch.where(speed > 0, speed, torch.ones_like(speed)).unsqueeze(-1)
            safe_a = torch.where(acc > 0, acc, torch.ones_like(acc)).unsqueeze(-1)
            t = d1 / safe_s
            # At a zero of the velocity, z'(α ± h) ≈ ±h z''(α): one-sided tangents ∓z''/|z''|.
            tacc = d2 / safe_a
            zero3 = zero.unsqueeze(-1)
            tr = torch.where(zero3, tacc, t)
            tl = torch.where(zero3, -tacc, t)
            valid = ~zero | (acc > _ZERO_SPEED * self.scale)
        else:
            f = speed
            tl = tr = torch.zeros(len(new), self.batch, 0, dtype=torch.float64)
            valid = torch.ones_like(zero)
        for i, x in enumerate(new):
            self.index[x] = len(self.nodes.alpha)
            self.nodes.alpha.append(x)
            self.nodes.f.append(f[i])
            self.nodes.speed.append(speed[i])
            self.nodes.tl.append(tl[i])
            self.nodes.tr.append(tr[i])
            self.nodes.vl.append(valid[i])
            self.nodes.vr.append(valid[i])

    # ---- polygon of tangents over ordered node indices: T_r(first), (T_l, T_r) of interior nodes, T_l(last)
    def polygon(self, idx: list[int]) -> torch.Tensor:
        nd = self.nodes
        total = torch.zeros(self.batch, dtype=torch.float64)
        if not self.tangents:
            return total
        seq = [(nd.tr[idx[0]], nd.vr[idx[0]])]
        for i in idx[1:-1]:
            seq += [(nd.tl[i], nd.vl[i]), (nd.tr[i], nd.vr[i])]
        seq.append((nd.tl[idx[-1]], nd.vl[idx[-1]]))
        # Undefined tangents (velocity and acceleration both zero) are skipped: the last defined tangent is
        # carried forward, so a reversal across a stationary stretch is still counted.
        last, last_valid = seq[0]
        for t, v in seq[1:]:
            ok = v & last_valid
            total = total + torch.where(ok, unit_angle(last, t), torch.zeros_like(total))
            last = torch.where(v.unsqueeze(-1), t, last)
            last_valid = last_valid | v
        return total

    def jump(self, i: int) -> torch.Tensor:
        nd = self.nodes
        if not self.tangents:
            return torch.zeros(self.batch, dtype=torch.float64)
        ok = nd.vl[i] & nd.vr[i]
        return torch.where(ok, unit_angle(nd.tl[i], nd.tr[i]), torch.zeros(self.batch, dtype=torch.float64))

    def panel(self, lo: float, hi: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(value, error) of one panel, each shape (batch,)."""
        xs = [lo + (hi - lo) * k / 4 for k in range(5)]
        xs[0], xs[4] = lo, hi
        idx = [self.index[x] for x in xs]
        f = [self.nodes.f[i] for i in idx]
        h = hi - lo
        s1 = h / 6 * (f[0] + 4 * f[2] + f[4])
        s2 = h / 12 * (f[0] + 4 * f[1] + 2 * f[2] + 4 * f[3] + f[4])
        if not self.tangents:
            return s2 + (s2 - s1) / 15, (s2 - s1).abs()
        j2 = self.jump(idx[1]) + self.jump(idx[2]) + self.jump(idx[3])
        j1 = self.jump(idx[2])
        p2 = self.polygon(idx)
        p1 = self.polygon([idx[0], idx[2], idx[4]])
        smooth = (s2 + j2 >= p2) & (s1 + j1 >= p1)
        v2 = torch.maximum(s2 + j2, p2)
        v1 = torch.maximum(s1 + j1, p1)
        value = torch.where(smooth, s2 + j2 + (s2 - s1) / 15, v2)
        error = torch.where(smooth, (s2 - s1).abs(), (v2 - v1).abs())
        return value, error

    @staticmethod
    def points(lo: float, hi: float) -> list[float]:
        xs = [lo + (hi - lo) * k / 4 for k in range(5)]
        xs[0], xs[4] = lo, hi
        return xs

    def run(self, tol: float, max_evaluations: int):
        a, b = self.a, self.b
        edges = [a + (b - a) * k / _INITIAL_PANELS for k in range(_INITIAL_PANELS + 1)]
        edges[0], edges[-1] = a, b
        panels = list(itertools.pairwise(edges))
        self.evaluate([x for lo, hi in panels for x in self.points(lo, hi)])
        est = {p: self.panel(*p) for p in panels}
        min_width = _MIN_WIDTH * (b - a)
        converged = True
        while True:
            total_err = torch.stack([e for _, e in est.values()]).sum(0)
            if float(total_err.max()) <= tol:
                break
            width_total = b - a
            split = [
                p
                for p, (_, e) in est.items()
                if float(e.max()) > tol * (p[1] - p[0]) / width_total and (p[1] - p[0]) > min_width
            ]
            if not split:
                worst = max(
                    (p for p in est if p[1] - p[0] > min_width), key=lambda p: float(est[p][1].max()), default=None
                )
                if worst is None:
                    converged = False
                    break
                split = [worst]
            new_points = []
            for lo, hi in split:
                mid = lo + (hi - lo) / 2
                new_points += self.points(lo, mid) + self.points(mid, hi)
            if len(self.index) + len(set(new_points) - set(self.index)) > max_evaluations:
                converged = False
                break
            self.evaluate(new_points)
            for lo, hi in split:
                mid = lo + (hi - lo) / 2
                del est[(lo, hi)]
                est[(lo, mid)] = self.panel(lo, mid)
                est[(mid, hi)] = self.panel(mid, hi)
        order = sorted(est)
        nodes = np.array([order[0][0]] + [p[1] for p in order])
        values = torch.stack([est[p][0] for p in order])  # (panels, batch)
        errors = torch.stack([est[p][1] for p in order]).sum(0)
        boundary = [self.index[x] for x in nodes[1:-1]]
        jumps = torch.stack([self.jump(i) for i in boundary]) if boundary else torch.zeros(0, self.batch)
        # cumulative[k] = length on [a, nodes[k]]; a jump at an interior boundary node counts from that node on.
        steps = values.clone()
        if boundary:
            steps[:-1] += jumps
        cumulative = torch.cat([torch.zeros(1, self.batch, dtype=torch.float64), torch.cumsum(steps, 0)])
        total = cumulative[-1]
        if self.tangents:
            # Guard: the polygon through every node is a lower bound of the total variation.
            all_idx = sorted(range(len(self.nodes.alpha)), key=lambda i: self.nodes.alpha[i])
            poly = self.polygon(all_idx)
            total = torch.maximum(total, poly)
        min_speed = torch.stack(self.nodes.speed).amin(0)
        return total, errors, cumulative, nodes, min_speed, converged
