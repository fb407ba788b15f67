r"""Exact Gauss length (total curvature, corners included) of the logit paths of a ReLU network.

Each example's logit path $z(\alpha;x)$ is a piecewise polynomial
([`piecewise_logit_path`][mlitheory.piecewise.path.piecewise_logit_path]); its Gauss length on the sphere, in Milnor's
sense (the supremum over inscribed polygons, ``theory_piecewise_paths.md`` §3), is

$$
G = \underbrace{\sum_{\text{pieces}}\int\|T'(\alpha)\|\,d\alpha}_{\text{smooth part}}
  + \underbrace{\pi\cdot\#\{\text{reversals}\}}_{\text{speed zero inside a piece}}
  + \underbrace{\sum_{\text{breakpoints}}\angle\big(T(\alpha_i^-),T(\alpha_i^+)\big)}_{\text{corner part}} .
$$

The smooth part alone is what derivative-based estimators compute on a ReLU network (they are blind to kinks);
it is a lower bound of $G$. Quadratic pieces (one hidden layer on the linear path) need no quadrature: the
smooth part of a piece is the angle between $z'$ at its ends. Higher-degree pieces are integrated by
adaptive Gauss–Kronrod to about ``tol`` per unit of α.

The **concatenated** curve $\alpha\mapsto(z(\alpha;x_1),\dots,z(\alpha;x_N))\in\mathbb R^{Nk}$ (the curve of
Theorem 3 for the dataset MSE) breaks at the union of the examples' breakpoints. Its corners are computed from the
breaking example's one-sided derivatives and the Gram scalar $\|Z'\|^2$ (accurate at any angle); its smooth
part from the Gram polynomials $\|Z'\|^2,\langle Z',Z''\rangle,\|Z''\|^2$ summed over examples, whose
cancellation limits the integrand to about $\sqrt{u}$ relative accuracy — the error bound says so.

References:
    Milnor. *On the total curvature of knots*, Ann. Math. 52 (1950).
    Lucas et al. *Analyzing Monotonic Linear Interpolation in Neural Network Loss Landscapes*, ICML 2021, Def. 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from mlitheory.paths import ParameterPath, StateLike
from mlitheory.piecewise._curvature import (
    angle,
    gk15_rule,
    one_sided_tangent,
    quadratic_parts,
    smooth_parts,
    zero_speed_points,
)
from mlitheory.piecewise._poly import UNIT, derivative, horner, multiply, pad
from mlitheory.piecewise._union import union_sums
from mlitheory.piecewise.path import PiecewisePath, piecewise_logit_path
from mlitheory.piecewise.roots import sign_changes
from mlitheory.results import Result

__all__ = ["ExactGaussLength", "exact_gauss_length", "path_gauss_length", "union_sums"]

Tensor = torch.Tensor


@dataclass(frozen=True)
class ExactGaussLength(Result):
    """Exact Gauss length of each example's piecewise-polynomial logit path (radians).

    Attributes:
        total: ``(N,)`` smooth part + reversal part + corner part.
        smooth_part: ``(N,)`` Σ over pieces of ∫‖T′‖ (the kink-blind value of derivative-based estimators).
        reversal_part: ``(N,)`` the angles at interior points where the speed vanishes (π for a reversal).
        corner_part: ``(N,)`` Σ of the exterior angles at the breakpoints.
        error: ``(N,)`` bound on |computed − exact| (quadrature estimates plus rounding of every angle).
        corner_example, corner_alpha, corner_angle: ``(C,)`` every corner with a nonzero angle (example, α,
            exterior angle); `corners` gives them per example.
        n_pieces: ``(N,)`` pieces per example.
        mean: mean of ``total``. mean_error: mean of ``error``.
        concatenated: Gauss length of the concatenated curve in ℝ^{N·k} (``nan`` if not computed), with
            concatenated_smooth, concatenated_corners and concatenated_error.
        interval: (a, b). degree: the pieces' degree. engine: which engine built the pieces.
    """

    total: np.ndarray
    smooth_part: np.ndarray
    reversal_part: np.ndarray
    corner_part: np.ndarray
    error: np.ndarray
    corner_example: np.ndarray
    corner_alpha: np.ndarray
    corner_angle: np.ndarray
    n_pieces: np.ndarray
    mean: float
    mean_error: float
    concatenated: float
    concatenated_smooth: float
    concatenated_corners: float
    concatenated_error: float
    interval: tuple
    degree: int
    engine: str

    @property
    def n_examples(self) -> int:
        return len(self.total)

    def corners(self, i: int) -> list[tuple[float, float]]:
        """``[(α, exterior angle)]`` of example ``i``'s corners, sorted by α."""
        sel = self.corner_example == i
        return list(zip(self.corner_alpha[sel].tolist(), self.corner_angle[sel].tolist()))

    def summary(self) -> str:
        lines = [
            f"ExactGaussLength on [{self.interval[0]:g}, {self.interval[1]:g}] ({self.engine} engine, degree "
            f"{self.degree}), {self.n_examples} examples",
            f"  mean total {self.mean:.10g} rad (± {self.mean_error:.1e}): smooth {self.smooth_part.mean():.6g}, "
            f"reversals {self.reversal_part.mean():.6g}, corners {self.corner_part.mean():.6g}",
            f"  pieces per example: mean {self.n_pieces.mean():.4g}, max {self.n_pieces.max()}",
        ]
        if math.isfinite(self.concatenated):
            lines.append(
                f"  concatenated curve: {self.concatenated:.8g} rad (smooth {self.concatenated_smooth:.6g}, corners "
                f"{self.concatenated_corners:.6g}, ± {self.concatenated_error:.1e})"
            )
        return "\n".join(lines)


def _per_piece(c: Tensor, r: Tensor, d1: Tensor, tol: float):
    """Smooth part, reversal angles and error of every piece ``c`` (local basis τ ∈ [−r, r]; ``d1`` its derivative)."""
    p = c.shape[0]
    smooth = torch.zeros(p, dtype=c.dtype)
    err = torch.zeros(p, dtype=c.dtype)
    rev = torch.zeros(p, dtype=c.dtype)
    if c.shape[-1] <= 2:
        return smooth, rev, err
    zi, zt = zero_speed_points(c, r, d1=d1)
    # reversal angles at the zeros of the speed
    if zi.numel():
        left, _ = one_sided_tangent(c[zi], zt, "left")
        right, _ = one_sided_tangent(c[zi], zt, "right")
        rev.index_add_(0, zi, angle(left, right))
        err.index_add_(0, zi, torch.full_like(zt, 16 * UNIT * math.pi))
    has_zero = torch.zeros(p, dtype=torch.bool)
    has_zero[zi] = True
    if c.shape[-1] == 3:
        q = quadratic_parts(c, -r, r)
        smooth = torch.where(has_zero, torch.zeros_like(q), q)
        err = err + 16 * UNIT * (smooth + 1)
        return smooth, rev, err
    if zi.numel() == 0:  # no zero of the speed: every piece whole
        val, e = smooth_parts(c, -r, r, tol=tol, d1=d1)
        return smooth + val, rev, err + e
    # split the pieces with zeros of the speed at them, then integrate every sub-piece
    hz = has_zero.nonzero().squeeze(1)
    ids = torch.cat([hz, hz, zi])
    pts = torch.cat([-r[hz], r[hz], zt])
    order = torch.argsort(pts, stable=True)
    ids, pts = ids[order], pts[order]
    order = torch.argsort(ids, stable=True)
    ids, pts = ids[order], pts[order]
    same = ids[1:] == ids[:-1]
    sub, u, v = ids[:-1][same], pts[:-1][same], pts[1:][same]
    keep = v > u
    whole = (~has_zero).nonzero().squeeze(1)
    sub = torch.cat([whole, sub[keep]])
    u, v = torch.cat([-r[whole], u[keep]]), torch.cat([r[whole], v[keep]])
    val, e = smooth_parts(c[sub], u, v, tol=tol, d1=d1[sub])
    smooth.index_add_(0, sub, val)
    err.index_add_(0, sub, e)
    return smooth, rev, err


def path_gauss_length(pp: PiecewisePath, *, tol: float = 1e-12, concatenated: bool = True) -> ExactGaussLength:
    """The exact Gauss length of a [`PiecewisePath`][mlitheory.piecewise.path.PiecewisePath] (see
    [`exact_gauss_length`][mlitheory.piecewise.gauss.exact_gauss_length])."""
    n = pp.n_examples
    c = torch.from_numpy(pp.coefficients)
    r = torch.from_numpy(0.5 * (pp.hi - pp.lo))
    d1 = derivative(c)
    smooth, rev, err = _per_piece(c, r, d1, tol)
    ex = torch.repeat_interleave(torch.arange(n), torch.from_numpy(pp.n_pieces))
    # tangents at the two ends of every piece; stationary pieces (z constant) carry no tangent
    t_start, ok_start = one_sided_tangent(c, -r, "right", d1=d1)
    t_end, ok_end = one_sided_tangent(c, r, "left", d1=d1)
    defined = ok_start & ok_end
    # corner between each defined piece and the next defined piece of the same example
    p = c.shape[0]
    idx = torch.arange(p)
    nxt = torch.where(defined, idx, torch.full_like(idx, p))
    nxt = torch.flip(torch.cummin(torch.flip(nxt, [0]), 0).values, [0])  # next defined index >= i
    follow = torch.full_like(idx, p)
    follow[:-1] = nxt[1:]
    has_next = defined & (follow < p)
    has_next &= ex[follow.clamp(max=p - 1)] == ex
    i = idx[has_next]
    j = follow[has_next]
    theta = angle(t_end[i], t_start[j])
    corner = torch.zeros(n, dtype=c.dtype)
    corner.index_add_(0, ex[i], theta)
    per_err = torch.zeros(n, dtype=c.dtype)
    per_err.index_add_(0, ex, err)
    per_err.index_add_(0, ex[i], 16 * UNIT * (theta + 1))
    s_ex = torch.zeros(n, dtype=c.dtype).index_add_(0, ex, smooth)
    r_ex = torch.zeros(n, dtype=c.dtype).index_add_(0, ex, rev)
    total = s_ex + r_ex + corner
    nonzero = theta > 0
    alpha = torch.from_numpy(pp.hi)[i]
    conc = conc_s = conc_c = conc_e = float("nan")
    if concatenated:
        conc_s, conc_c, conc_e = _concatenated(pp, tol)
        conc = conc_s + conc_c
    return ExactGaussLength(
        total=total.numpy(),
        smooth_part=s_ex.numpy(),
        reversal_part=r_ex.numpy(),
        corner_part=corner.numpy(),
        error=per_err.numpy(),
        corner_example=ex[i][nonzero].numpy(),
        corner_alpha=alpha[nonzero].numpy(),
        corner_angle=theta[nonzero].numpy(),
        n_pieces=pp.n_pieces.copy(),
        mean=float(total.mean()),
        mean_error=float(per_err.mean()),
        concatenated=conc,
        concatenated_smooth=conc_s,
        concatenated_corners=conc_c,
        concatenated_error=conc_e,
        interval=tuple(pp.interval),
        degree=pp.degree,
        engine=pp.engine,
    )


# ---------------------------------------------------------------------------------------------------------------
# the concatenated curve
# ---------------------------------------------------------------------------------------------------------------


def _concatenated(pp: PiecewisePath, tol: float) -> tuple[float, float, float]:
    c = torch.from_numpy(pp.coefficients)
    d1, d2 = derivative(c), derivative(c, 2)
    k2 = max(2 * c.shape[-1] - 3, 1)
    g11 = pad(multiply(d1, d1).sum(1), k2)
    g12 = pad(multiply(d1, pad(d2, d1.shape[-1])).sum(1), k2)
    g22 = pad(multiply(d2, d2).sum(1), k2) if d2.shape[-1] else torch.zeros_like(g11)
    gram = torch.stack([g11, g12, g22], 1)  # (P, 3, k2) local basis
    lo, hi, sums, _ = union_sums(pp, gram)
    umid = 0.5 * (lo + hi)
    # corners of the concatenated curve at every interior breakpoint of every example
    last = torch.from_numpy(pp.offsets[1:] - 1)
    inner = torch.ones(c.shape[0], dtype=torch.bool)
    inner[last] = False
    i = inner.nonzero().squeeze(1)
    r = torch.from_numpy(0.5 * (pp.hi - pp.lo))
    zl = horner(d1[i], r[i].reshape(-1, 1))  # z_x′ at the breakpoint from the left
    zr = horner(d1[i + 1], -r[i + 1].reshape(-1, 1))
    at = torch.from_numpy(pp.hi)[i]
    # ‖Z′‖² just left of the breakpoint: the union piece ending there
    upos = torch.searchsorted(hi.contiguous(), at.contiguous()).clamp(max=hi.numel() - 1)
    s11 = horner(sums[upos, 0], (at - umid[upos]).reshape(-1))
    dvec = zr - zl
    par = s11.clamp_min(0).sqrt() + (dvec * zl).sum(-1) / s11.clamp_min(1e-300).sqrt()
    perp2 = (dvec * dvec).sum(-1) - (dvec * zl).sum(-1) ** 2 / s11.clamp_min(1e-300)
    theta = torch.atan2(perp2.clamp_min(0).sqrt(), par)
    theta = torch.where(s11 > 0, theta, torch.zeros_like(theta))
    corners = float(theta.sum())
    # interior zeros of the concatenated velocity (every example's z′ vanishing at one α): reversals
    g11 = sums[:, 0]
    rad = 0.5 * (hi - lo)
    zr_ = sign_changes(derivative(g11), -rad, rad)
    rev = 0.0
    zero_at = torch.zeros(0, dtype=torch.float64)
    zero_of = torch.zeros(0, dtype=torch.long)
    if len(zr_):
        val = horner(g11[zr_.index], zr_.root)
        bound = 64 * UNIT * horner(g11[zr_.index].abs(), zr_.root.abs())
        is_zero = val <= bound
        zero_of, zero_at = zr_.index[is_zero], zr_.root[is_zero]
        for gi, t0 in zip(zero_of.tolist(), zero_at.tolist()):
            rev += _concat_zero_angle(pp, float(umid[gi] + t0))
    # split the union pieces at those zeros; smooth part on every sub-piece
    ids = torch.cat([torch.arange(lo.numel()), torch.arange(lo.numel()), zero_of])
    pts = torch.cat([-rad, rad, zero_at])
    order = torch.argsort(pts, stable=True)
    ids, pts = ids[order], pts[order]
    order = torch.argsort(ids, stable=True)
    ids, pts = ids[order], pts[order]
    same = (ids[1:] == ids[:-1]) & (pts[1:] > pts[:-1])
    sid, su, sv = ids[:-1][same], pts[:-1][same], pts[1:][same]
    if lo.numel() * pp.n_examples <= _DIRECT:
        smooth, err = _concat_smooth_direct(pp, umid[sid] + su, umid[sid] + sv, tol)
    else:
        smooth, err = _concat_smooth_gram(sums[sid], su, sv)
    err += 16 * UNIT * (corners + rev + 1) * max(len(theta), 1)
    return smooth, corners + rev, err


#: union pieces × examples below which the concatenated smooth part is integrated from the examples' own derivatives
_DIRECT = 400_000


def _concat_zero_angle(pp: PiecewisePath, alpha: float) -> float:
    """Angle between the one-sided tangents of the concatenated curve at a zero of its velocity."""
    for m in range(2, pp.degree + 1):
        v = pp.evaluate([alpha], m).reshape(-1)
        if np.linalg.norm(v) > 1e-12 * (1 + np.abs(pp.coefficients).max()):
            return math.pi if m % 2 == 0 else 0.0
    return 0.0


def _concat_smooth_direct(pp: PiecewisePath, u: Tensor, v: Tensor, tol: float) -> tuple[float, float]:
    """∫‖T′‖ of the concatenated curve on [u, v] from every example's z′, z″ (adaptive Gauss–Kronrod)."""
    x, wk, wg = gk15_rule()
    total = err = 0.0
    for _ in range(40):
        if u.numel() == 0:
            break
        half, mid = 0.5 * (v - u), 0.5 * (u + v)
        nodes = (mid.unsqueeze(1) + half.unsqueeze(1) * x).reshape(-1)
        f = []
        for s0 in range(0, nodes.numel(), 512):
            al = nodes[s0 : s0 + 512].numpy()
            d1 = torch.from_numpy(pp.evaluate(al, 1)).reshape(len(al), -1)
            d2 = torch.from_numpy(pp.evaluate(al, 2)).reshape(len(al), -1)
            sp = torch.linalg.vector_norm(d1, dim=-1)
            safe = torch.where(sp > 0, sp, 1.0).unsqueeze(-1)
            t = d1 / safe
            perp = d2 - (d2 * t).sum(-1, keepdim=True) * t
            f.append(
                torch.where(sp > 0, torch.linalg.vector_norm(perp, dim=-1) / safe.squeeze(-1), torch.zeros_like(sp))
            )
        fv = torch.cat(f).reshape(-1, 15)
        kr = (fv * wk).sum(1) * half
        ga = (fv * wg).sum(1) * half
        e = (kr - ga).abs()
        ok = e <= tol * (v - u) + 64 * UNIT * kr.abs()
        total += float(kr[ok].sum())
        err += float(e[ok].sum() + 64 * UNIT * kr[ok].abs().sum())
        bad = ~ok
        u, v, mid = u[bad], v[bad], mid[bad]
        u, v = torch.cat([u, mid]), torch.cat([mid, v])
    if u.numel():
        err = math.inf
    return total, err


def _concat_smooth_gram(sums: Tensor, su: Tensor, sv: Tensor) -> tuple[float, float]:
    """∫ sqrt(g11 g22 − g12²)/g11 on [su, sv] (local bases of the union pieces), with its rounding bound."""
    x, wk, wg = gk15_rule()
    half = 0.5 * (sv - su)
    mid = 0.5 * (sv + su)
    nodes = mid.unsqueeze(1) + half.unsqueeze(1) * x  # (G, 15), local to every union piece
    s = horner(sums.unsqueeze(1), nodes.unsqueeze(-1))  # (G, 15, 3)
    a11, a12, a22 = s[..., 0], s[..., 1], s[..., 2]
    num = (a11 * a22 - a12 * a12).clamp_min(0)
    f = torch.where(a11 > 0, num.sqrt() / a11.clamp_min(1e-300), torch.zeros_like(a11))
    kr = (f * wk).sum(1) * half
    ga = (f * wg).sum(1) * half
    # rounding of the Gram form: |δ num| <= c·u·a11·a22, so |δf| <= sqrt(c u a22 / a11)
    rnd = torch.where(a11 > 0, (64 * UNIT * a22.abs() / a11.clamp_min(1e-300)).sqrt(), torch.zeros_like(a11))
    return float(kr.sum()), float(((kr - ga).abs() + (rnd * wk).sum(1) * half).sum())


def exact_gauss_length(
    model: nn.Module,
    start: StateLike | None,
    end: StateLike | None,
    inputs: Any,
    *,
    path: ParameterPath | None = None,
    interval: tuple[float, float] = (0.0, 1.0),
    bn: str = "interpolate",
    concatenated: bool = True,
    tol: float = 1e-12,
    engine: str = "auto",
    device: torch.device | str | None = None,
    pieces: PiecewisePath | None = None,
) -> ExactGaussLength:
    r"""Exact Gauss length, corners included, of the logit paths of a ReLU network along a parameter path.

    Args:
        model: a network of supported modules (see
            [`piecewise_logit_path`][mlitheory.piecewise.path.piecewise_logit_path]); never modified.
        start, end: state dicts or modules (``None`` with ``path=`` or ``pieces=``).
        inputs: a tensor, a batch ``(x, y)`` or an iterable of batches.
        path: any [`ParameterPath`][mlitheory.paths.ParameterPath] instead of the linear path.
        interval: the α interval.
        bn: batch-norm statistics, ``"interpolate"`` or ``"none"`` (see
            [`piecewise_logit_path`][mlitheory.piecewise.path.piecewise_logit_path]).
        concatenated: also the Gauss length of the concatenated curve in ℝ^{N·k}.
        tol: quadrature tolerance per unit of α for pieces of degree ≥ 3.
        engine: ``"auto"``, ``"mlp"`` or ``"graph"``.
        device: where to build the pieces.
        pieces: an already computed [`PiecewisePath`][mlitheory.piecewise.path.PiecewisePath] (then ``model``,
            ``start``, ``end``, ``inputs`` are not used).

    Returns:
        [`ExactGaussLength`][mlitheory.piecewise.gauss.ExactGaussLength].

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> a, b = nn.Linear(3, 2).double(), nn.Linear(3, 2).double()
        >>> g = exact_gauss_length(a, a, b, torch.randn(4, 3, dtype=torch.float64))
        >>> g.total.tolist()   # a linear model: straight logit paths, no breakpoints
        [0.0, 0.0, 0.0, 0.0]
    """
    if pieces is None:
        pieces = piecewise_logit_path(
            model, start, end, inputs, path=path, interval=interval, bn=bn, engine=engine, device=device
        )
    elif not isinstance(pieces, PiecewisePath):
        raise TypeError(f"pieces must be a PiecewisePath, got {type(pieces).__name__}")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    return path_gauss_length(pieces, tol=tol, concatenated=concatenated)
