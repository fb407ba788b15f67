"""Numerical machinery behind [`mlitheory.theorem3.check_theorem3`][mlitheory.theorem3.check.check_theorem3].

- `jets`: (z, z′, z″) at many α by one vectorised nested `torch.func.jvp`.
- `refine_slope_sign` and `decide_strict_decrease`: the sign of the exact
  $L'(\alpha)=-2\\langle z^*-z,z'\rangle$ on a grid bisected wherever the cubic Hermite interpolant of
  $L'$ approaches 0, and the verdict (strictly decreasing, a rise, or undecided within rounding).
- `tail_lengths`: the remaining arc length $\\ell(\alpha)$ at given nodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from mlitheory._jets import nested_jvp
from mlitheory.geometry import arc_length, curve_derivatives

Curve = Callable[[torch.Tensor], torch.Tensor]
SlopeFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def jets(curve: Curve, alphas: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(z, z′, z″) at many α, each ``(m, n)``: one vectorised nested jvp, or a loop when vmap cannot trace it."""
    at = torch.as_tensor(np.asarray(alphas, dtype=np.float64))

    try:
        out = torch.func.vmap(lambda a: nested_jvp(curve, a))(at)
    except RuntimeError:  # data-dependent control flow or .item() inside the curve
        out = tuple(torch.stack(x) for x in zip(*(curve_derivatives(curve, a) for a in at)))
    for name, t in zip(("value", "first derivative", "second derivative"), out):
        bad = ~torch.isfinite(t).all(-1)
        if bad.any():
            raise ValueError(f"the curve's {name} at alpha={float(at[bad.nonzero()[0, 0]]):.17g} is not finite")
    return out


_GL8 = np.polynomial.legendre.leggauss(8)
_GL4 = np.polynomial.legendre.leggauss(4)


def tail_lengths(flat: Curve, nodes: np.ndarray, tol: float) -> tuple[np.ndarray, float]:
    """ℓ(α) = ∫_α^1 ‖z′‖ at the Gauss-length nodes (which include 1), and an error estimate.

    Each panel between consecutive nodes gets an 8-point Gauss–Legendre rule (exact jvp speed, one vectorised
    call); the sum of |GL8 − GL4| over the panels is the error estimate. The panels already resolve where the
    tangent turns or the speed collapses; if the estimate still exceeds ``tol``, the adaptive
    [`mlitheory.geometry.arc_length`][mlitheory.geometry.arc_length] is used instead and corrected to the nodes from its
    own cumulative.
    """
    lo, hi = nodes[:-1], nodes[1:]
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    pieces = []
    for x, _ in (_GL8, _GL4):
        pieces.append((mid[:, None] + half[:, None] * x[None, :]).ravel())
    _, dz, _ = jets(flat, np.concatenate(pieces))
    speed = torch.linalg.vector_norm(dz, dim=-1).numpy()
    s8, s4 = speed[: len(pieces[0])].reshape(len(lo), -1), speed[len(pieces[0]) :].reshape(len(lo), -1)
    panel8, panel4 = half * (s8 @ _GL8[1]), half * (s4 @ _GL4[1])
    err = float(np.abs(panel8 - panel4).sum())
    if err <= tol:
        tail = np.concatenate([np.cumsum(panel8[::-1])[::-1], [0.0]])
        return tail, err
    arc = arc_length(flat, 0.0, 1.0, tol=tol)
    j = np.clip(np.searchsorted(arc.nodes, nodes, side="right") - 1, 0, len(arc.nodes) - 1)
    a, b = arc.nodes[j], nodes
    m, h = (a + b) / 2, (b - a) / 2
    _, dz, _ = jets(flat, (m[:, None] + h[:, None] * _GL8[0][None, :]).ravel())
    sp = torch.linalg.vector_norm(dz, dim=-1).numpy().reshape(len(nodes), -1)
    head = arc.cumulative[j] + h * (sp @ _GL8[1])  # ∫_0^α ‖z′‖
    return np.maximum(arc.value - head, 0.0), float(arc.error)


def hermite_max(p0, p1, d0, d1, h, last):
    """Largest value on each interval of the cubic Hermite interpolant of L′ (values p, slopes d, widths h).

    On the final interval (ending at α = 1, where L′ = 0) the interpolant divided by (1 − t) is used instead, so
    the known zero at the end is not mistaken for an approach to 0.
    """
    t = np.linspace(0.0, 1.0, 33)[None, :]
    h00, h10, h01, h11 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t, -2 * t**3 + 3 * t**2, t**3 - t**2
    p = h00 * p0[:, None] + h10 * (h * d0)[:, None] + h01 * p1[:, None] + h11 * (h * d1)[:, None]
    q = p.copy()
    q[:, :-1] /= 1 - t[:, :-1]
    q[:, -1] = -h * d1  # limit of p/(1 − t) at t = 1 when p(1) = 0
    p = np.where(last[:, None], q, p)
    ends = np.where(last, np.maximum(p0, -h * d1), np.maximum(p0, p1))
    return p.max(axis=1), ends


def refine_slope_sign(
    slopes_at: SlopeFn, alphas: np.ndarray, *, max_evaluations: int, min_width: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate L′ on ``alphas`` (ending at 1) and bisect where a sign change could hide.

    An interval is bisected when the Hermite interpolant of L′ (values L′, slopes L″ at its ends) rises above half
    of its larger end value or above minus the rounding bounds — a rise between grid points would show there. Stops
    at the first point where L′ exceeds its rounding bound (a rise), when no interval wider than ``min_width`` is
    suspicious, or after ``max_evaluations`` new points.

    Args:
        slopes_at: α ``(m,)`` ↦ (L′, L″, rounding bound of L′), each ``(m,)``.
        alphas: the initial sorted grid, ``alphas[-1] == 1``.

    Returns:
        ``(alphas, L′, L″, bound)`` on the final grid, with L′(1) set to its exact value 0.
    """
    d1, d2, err = slopes_at(alphas)
    d1[-1] = 0.0  # L′(1) = 0 exactly (z = z*)
    added = 0
    while added < max_evaluations and not (d1[:-1] > err[:-1]).any():
        h = np.diff(alphas)
        last = np.zeros(len(h), dtype=bool)
        last[-1] = True
        top, ends = hermite_max(d1[:-1], d1[1:], d2[:-1], d2[1:], h, last)
        close = (top > 0.5 * ends) | (top > -(err[:-1] + err[1:]))
        split = close & (h > min_width)
        if not split.any():
            break
        mids = (alphas[:-1][split] + alphas[1:][split]) / 2
        mids = mids[: max_evaluations - added]
        md1, md2, merr = slopes_at(mids)
        added += len(mids)
        alphas = np.concatenate([alphas, mids])
        order = np.argsort(alphas, kind="stable")
        alphas = alphas[order]
        d1, d2, err = (np.concatenate([x, y])[order] for x, y in ((d1, md1), (d2, md2), (err, merr)))
    return alphas, d1, d2, err


def decide_strict_decrease(alphas: np.ndarray, d1: np.ndarray, err: np.ndarray) -> tuple[bool | None, float]:
    """Verdict from L′ on a grid ending at α = 1: ``(False, α of the largest rise)`` if some L′ exceeds its rounding
    bound; ``(True, nan)`` if every L′ < 0 beyond rounding except at isolated points (stationary points of a
    decreasing L); ``(None, nan)`` otherwise."""
    inner = slice(0, len(alphas) - 1)
    rise = d1[inner] > err[inner]
    if rise.any():
        return False, float(alphas[inner][np.argmax(np.where(rise, d1[inner], -np.inf))])
    neg = d1 < -err
    neg[-1] = True  # the right neighbour of the last inner point is α = 1, where L decreases into its minimum
    idx = np.nonzero(np.abs(d1[inner]) <= err[inner])[0]
    isolated = all((i == 0 or neg[i - 1]) and neg[i + 1] for i in idx)
    return (True if isolated else None), math.nan
