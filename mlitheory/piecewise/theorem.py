r"""Theorem 3 for piecewise-smooth curves: total curvature *with corners* below $\pi/2$ ⇒ monotone MSE.

**Theorem** (``theory_piecewise_paths.md`` §4). Let $z:[0,1]\to\mathbb R^n$ be continuous and smooth on finitely
many pieces, $z(1)=z^*\ne z(0)$, and let

$$
G=\sum_{\text{pieces}}\int\|T'\|\,d\alpha
  +\sum_{\text{corners}}\angle\big(T(\alpha_i^-),T(\alpha_i^+)\big)<\frac\pi2 .
$$

Then $L(\alpha)=\|z(\alpha)-z^*\|^2$ is strictly decreasing on $[0,1]$; quantitatively, with
$G_\alpha$ the tail total curvature after $\alpha^+$ and $\ell(\alpha)$ the remaining arc length,
$\langle T(\alpha^+),z^*-z(\alpha)\rangle\ge\cos(G_\alpha)\,\ell(\alpha)$.

*Proof.* The spherical distance from $T(\alpha^+)$ to $T(s)$, $s>\alpha$, is at most the length of
the Gauss map between them, jumps included, $\le G_\alpha$; so $\langle T(\alpha^+),T(s)\rangle\ge\cos
G_\alpha>0$ and $\langle T(\alpha^+),z^*-z(\alpha)\rangle=\int_\alpha^1\|z'\|\langle T(\alpha^+),T(s)\rangle ds\ge
\cos(G_\alpha)\ell(\alpha)$. The right derivative $L'(\alpha^+)=-2\|z'(\alpha^+)\|\langle T(\alpha^+),
z^*-z(\alpha)\rangle<0$ wherever $z'(\alpha^+)\ne0$ (likewise from the left), and a continuous function with
negative one-sided derivatives off a finite set is strictly decreasing. ∎

**Sharp.** A polygon with a first leg $\varepsilon e_1$ and a turn by $\pi/2+\delta$ has $G=\pi/2+
\delta$ and $L'(0)>0$ when $\varepsilon<\sin\delta$ ([`turn_polygon`][mlitheory.piecewise.theorem.turn_polygon]).
**The kink-blind value is not a certificate.**
[`kink_blind_counterexample`][mlitheory.piecewise.theorem.kink_blind_counterexample]: $z=(1,2\alpha)$ on $[0,\frac12]$,
then straight to $z^*=0$; both legs are straight (smooth part 0) but $\|z\|^2$ rises from 1 to 2; the corner's exterior
angle is $3\pi/4$.

The rows of ``python -m mlitheory verify`` for this statement are in `mlitheory.piecewise._verify`.

Curves here are [`PiecewisePath`][mlitheory.piecewise.path.PiecewisePath] objects with one "example" (the curve) whose
outputs are the coordinates, so the exact tools of this sub-package measure them:
[`check_theorem3_piecewise`][mlitheory.piecewise.theorem.check_theorem3_piecewise] decides the hypothesis with
[`path_gauss_length`][mlitheory.piecewise.gauss.path_gauss_length] and the conclusion with the exact MSE decision of
[`decide_mli`][mlitheory.piecewise.decide.decide_mli] (roots of the polynomial $L'$).

References:
    Lucas et al. ICML 2021, Theorem 3 (the smooth case); Milnor, Ann. Math. 52 (1950) (total curvature of polygons).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from mlitheory.piecewise._curvature import gk15_rule, one_sided_tangent
from mlitheory.piecewise._poly import UNIT, derivative, horner
from mlitheory.piecewise.decide import _decide_mse, _min_delta
from mlitheory.piecewise.gauss import path_gauss_length
from mlitheory.piecewise.path import PiecewisePath
from mlitheory.results import Result

__all__ = [
    "PiecewiseTheorem3Result",
    "check_theorem3_piecewise",
    "curve_from_pieces",
    "kink_blind_counterexample",
    "polygon",
    "random_piecewise_curve",
    "random_polygon",
    "turn_polygon",
]


# ==============================================================================================================
# instances
# ==============================================================================================================


def curve_from_pieces(breaks, coefficients, label: str = "curve") -> PiecewisePath:
    """A curve as a [`PiecewisePath`][mlitheory.piecewise.path.PiecewisePath] with one example.

    Args:
        breaks: ``(m + 1,)`` increasing, from 0 to 1.
        coefficients: ``(m, n, K)`` coefficients of each piece in powers of ``α − centre`` (centre = the piece's
            midpoint); the pieces must join continuously (not checked here;
            [`polygon`][mlitheory.piecewise.theorem.polygon] and
            [`random_piecewise_curve`][mlitheory.piecewise.theorem.random_piecewise_curve] build continuous ones).
    """
    br = np.asarray(breaks, dtype=np.float64)
    c = np.asarray(coefficients, dtype=np.float64)
    if br.ndim != 1 or len(br) != c.shape[0] + 1 or not (np.diff(br) > 0).all():
        raise ValueError("breaks must be increasing with one more entry than there are pieces")
    lo, hi = br[:-1], br[1:]
    return PiecewisePath(
        offsets=np.array([0, len(lo)]),
        lo=lo,
        hi=hi,
        centre=0.5 * (lo + hi),
        coefficients=c,
        interval=(float(br[0]), float(br[-1])),
        degree=c.shape[-1] - 1,
        n_examples=1,
        n_outputs=c.shape[1],
        engine="curve",
        path=label,
    )


def polygon(vertices, breaks=None) -> PiecewisePath:
    """The polygon through ``vertices`` ``(m + 1, n)`` (the last is z*), leg ``i`` run on ``[breaks[i], breaks[i+1]]``
    (default: proportional to the legs' lengths)."""
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or len(v) < 2:
        raise ValueError("vertices must be (m + 1, n) with m >= 1 legs")
    if breaks is None:
        lengths = np.linalg.norm(np.diff(v, axis=0), axis=1)
        breaks = np.concatenate([[0.0], np.cumsum(lengths) / lengths.sum()])
        breaks[-1] = 1.0
    br = np.asarray(breaks, dtype=np.float64)
    w = np.diff(br)
    mid = 0.5 * (v[:-1] + v[1:])
    slope = (v[1:] - v[:-1]) / w[:, None]
    return curve_from_pieces(br, np.stack([mid, slope], -1), "polygon")


def turn_polygon(delta: float, eps: float | None = None) -> PiecewisePath:
    """Tightness: a leg ``ε e₁`` then a turn by ``π/2 + δ`` and a unit leg; G = π/2 + δ, L′(0) > 0 if ε < sin δ."""
    if not 0 < delta < math.pi / 2:
        raise ValueError(f"delta must lie in (0, π/2), got {delta}")
    eps = 0.5 * math.sin(delta) if eps is None else float(eps)
    v = np.array([-math.sin(delta), math.cos(delta)])
    return polygon(np.array([[0.0, 0.0], [eps, 0.0], [eps + v[0], v[1]]]))


def kink_blind_counterexample() -> PiecewisePath:
    """``z = (1, 2α)`` on ``[0, ½]``, then the straight leg from (1, 1) to z* = (0, 0)."""
    return polygon(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]), breaks=[0.0, 0.5, 1.0])


def random_polygon(dim: int, legs: int, *, turn: float, seed=None) -> PiecewisePath:
    """A random polygon ending at z* = 0 whose exterior angles are each about ``turn / legs`` (random planes)."""
    g = np.random.default_rng(seed)
    d = g.standard_normal(dim)
    d /= np.linalg.norm(d)
    dirs = [d]
    for _ in range(legs - 1):
        w = g.standard_normal(dim)
        w -= (w @ d) * d
        w /= np.linalg.norm(w)
        phi = g.uniform(0.2, 1.8) * turn / legs
        d = math.cos(phi) * d + math.sin(phi) * w
        dirs.append(d)
    lengths = g.uniform(0.2, 1.0, legs)
    steps = np.array(dirs) * lengths[:, None]
    verts = np.concatenate([np.zeros((1, dim)), np.cumsum(steps, 0)])
    verts -= verts[-1]
    return polygon(verts)


def random_piecewise_curve(dim: int, pieces: int, *, degree: int = 3, bend: float = 0.3, seed=None) -> PiecewisePath:
    """A random continuous piecewise-polynomial curve ending at z* = 0: each piece a straight run plus a random
    polynomial perturbation of size ``bend`` vanishing at both ends of the piece (corners at the joints)."""
    g = np.random.default_rng(seed)
    br = np.sort(np.concatenate([[0.0, 1.0], g.uniform(0.05, 0.95, pieces - 1)]))
    verts = np.concatenate([np.zeros((1, dim)), np.cumsum(g.standard_normal((pieces, dim)) * 0.3 + 1.0, 0)])
    verts -= verts[-1]
    coefs = []
    for i in range(pieces):
        w = br[i + 1] - br[i]
        # z(τ) on τ ∈ [−w/2, w/2]: the chord plus (τ² − w²/4)·q(τ)
        mid = 0.5 * (verts[i] + verts[i + 1])
        slope = (verts[i + 1] - verts[i]) / w
        q = g.standard_normal((degree - 1, dim)) * bend / w**2 if degree >= 2 else np.zeros((0, dim))
        c = np.zeros((degree + 1, dim))
        c[0], c[1] = mid, slope
        for j in range(len(q)):  # (τ² − w²/4) τ^j q_j
            c[j + 2] += q[j]
            c[j] -= 0.25 * w * w * q[j]
        coefs.append(c.T)
    return curve_from_pieces(br, np.array(coefs), "piecewise polynomial")


# ==============================================================================================================
# the check
# ==============================================================================================================


@dataclass(frozen=True)
class PiecewiseTheorem3Result(Result):
    """Theorem 3 for one piecewise-smooth curve.

    Attributes:
        gauss_length: G with corners; smooth_part, corner_part: its two parts; gauss_length_error: error bound.
        hypothesis: G < π/2 and z(0) ≠ z*, decided beyond the error (``None``: undecided).
        monotone: L = ‖z − z*‖² strictly decreasing (exact root isolation of L′; ``False`` when it rises or
            has a plateau at tolerance).
        min_delta: exact max rise of L.
        bound_margin: min over the piece starts of ⟨T(α⁺), z* − z(α)⟩ − cos(min(G_α, π))·ℓ(α) (≥ 0 by the theorem).
        bound_slack: rounding/quadrature allowance of that comparison.
        descent_margin: min over the piece starts of ⟨T(α⁺), z* − z(α)⟩ / ℓ(α).
    """

    gauss_length: float
    smooth_part: float
    corner_part: float
    gauss_length_error: float
    hypothesis: bool | None
    monotone: bool
    min_delta: float
    bound_margin: float
    bound_slack: float
    descent_margin: float

    @property
    def bound_holds(self) -> bool:
        return self.bound_margin + self.bound_slack >= 0

    @property
    def counterexample(self) -> bool:
        return self.hypothesis is True and not (self.monotone and self.bound_holds)


def _arc_lengths(c: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Arc length of every piece (Gauss–Kronrod 15 on 8 panels: polynomial speed, far below 1e-12 on short pieces)."""
    x, wk, _ = gk15_rule()
    d1 = derivative(c)
    panels = 8
    total = torch.zeros(c.shape[0], dtype=c.dtype)
    for p in range(panels):
        u = -r + 2 * r * p / panels
        v = -r + 2 * r * (p + 1) / panels
        half, mid = 0.5 * (v - u), 0.5 * (u + v)
        nodes = mid.unsqueeze(1) + half.unsqueeze(1) * x
        sp = torch.linalg.vector_norm(horner(d1.unsqueeze(1), nodes.unsqueeze(-1)), dim=-1)
        total = total + (sp * wk).sum(1) * half
    return total


def check_theorem3_piecewise(curve: PiecewisePath) -> PiecewiseTheorem3Result:
    """Check the hypothesis (G with corners < π/2), the conclusion (strict decrease) and the quantitative bound."""
    if curve.n_examples != 1:
        raise ValueError("curve must have one example (build it with curve_from_pieces or polygon)")
    g = path_gauss_length(curve, concatenated=False)
    big_g, g_err = float(g.total[0]), float(g.error[0])
    c = torch.from_numpy(curve.coefficients)
    r = torch.from_numpy(0.5 * (curve.hi - curve.lo))
    z_star = horner(c[-1], r[-1])
    z0 = horner(c[0], -r[0])
    start = float(torch.linalg.vector_norm(z_star - z0))
    if start <= 64 * UNIT * (1 + float(torch.linalg.vector_norm(z_star))) or big_g - g_err > math.pi / 2:
        hyp: bool | None = False
    elif big_g + g_err < math.pi / 2:
        hyp = True
    else:
        hyp = None
    # conclusion: the exact MSE decision with N = 1 and y = z*
    tol = 2.0**-40 * (1 + start**2)
    a_lo, a_hi, sign, l_lo, l_hi, _, _, _ = _decide_mse(curve, z_star.reshape(1, -1), tol)
    al = torch.cat([a_lo[:1], a_hi]).numpy()
    vals = torch.cat([l_lo[:1], l_hi]).numpy()
    md, _, _ = _min_delta(al, vals)
    monotone = bool(md <= tol and (sign < 0).all())
    # quantitative bound at every piece start
    per = _per_piece_parts(curve)
    ell = _arc_lengths(c, r)
    tail_len = torch.flip(torch.cumsum(torch.flip(ell, [0]), 0), [0])
    smooth, corners = per
    tail_g = torch.flip(torch.cumsum(torch.flip(smooth, [0]), 0), [0])
    corner_after = torch.zeros_like(smooth)
    if len(corners):
        cum = torch.flip(torch.cumsum(torch.flip(corners, [0]), 0), [0])  # corners at the ends of pieces i..m−2
        corner_after[: len(corners)] = cum
    tail_g = tail_g + corner_after
    t_start, _ = one_sided_tangent(c, -r, "right")
    tn = t_start / torch.linalg.vector_norm(t_start, dim=-1, keepdim=True).clamp_min(1e-300)
    zs = horner(c, (-r).reshape(-1, 1))
    desc = ((z_star - zs) * tn).sum(-1)
    margin = desc - torch.cos(tail_g.clamp(max=math.pi)) * tail_len
    slack = tail_len * g_err + 1e-12 * (1 + tail_len) + 64 * UNIT * torch.linalg.vector_norm(zs, dim=-1)
    worst = int(torch.argmin(margin + slack))
    return PiecewiseTheorem3Result(
        gauss_length=big_g,
        smooth_part=float(g.smooth_part[0] + g.reversal_part[0]),
        corner_part=float(g.corner_part[0]),
        gauss_length_error=g_err,
        hypothesis=hyp,
        monotone=monotone,
        min_delta=float(md),
        bound_margin=float(margin[worst]),
        bound_slack=float(slack[worst]),
        descent_margin=float((desc / tail_len.clamp_min(1e-300)).min()),
    )


def _per_piece_parts(curve: PiecewisePath) -> tuple[torch.Tensor, torch.Tensor]:
    """(smooth part + reversals of every piece, exterior angle at every interior breakpoint)."""
    from mlitheory.piecewise._curvature import angle
    from mlitheory.piecewise._poly import derivative
    from mlitheory.piecewise.gauss import _per_piece

    c = torch.from_numpy(curve.coefficients)
    r = torch.from_numpy(0.5 * (curve.hi - curve.lo))
    smooth, rev, _ = _per_piece(c, r, derivative(c), 1e-13)
    t_end, _ = one_sided_tangent(c[:-1], r[:-1], "left")
    t_start, _ = one_sided_tangent(c[1:], -r[1:], "right")
    return smooth + rev, angle(t_end, t_start)
