r"""Total curvature of piecewise-polynomial curves: one-sided tangents, corner angles, smooth parts.

For a continuous curve that is a polynomial on each piece, the Gauss map traces smooth arcs on the sphere joined
by jumps; its length (Milnor's total curvature, the supremum over inscribed polygons) is

$$
G=\sum_{\text{pieces}}\int\|T'\|\,d\alpha+\sum_{\text{corners}}\theta_i,\qquad
\theta_i=\angle\big(T(\alpha_i^-),T(\alpha_i^+)\big)\in[0,\pi],
$$

with an interior point where the speed vanishes counted as a corner too (a reversal adds π). One-sided tangents
where $z'=0$ are the limits $T(\alpha^+)\propto z^{(m)}$, $T(\alpha^-)\propto(-1)^{m-1}z^{(m)}$ with
$m$ the first non-vanishing derivative. The smooth part of a quadratic piece is the angle between
$z'$ at its ends (``z′`` moves on a line, seen from the origin it turns monotonically by less than π); of a
higher-degree piece, adaptive Gauss–Kronrod (7/15 points) of
$\|T'\|=\|z''-\langle z'',T\rangle T\|/\|z'\|$, with the error estimate $|K_{15}-G_7|$ and the geodesic
guard $\int_u^v\|T'\|\ge\angle(T(u),T(v))$.

Angles are $2\operatorname{atan2}(\|a-b\|,\|a+b\|)$ of unit vectors (accurate at 0 and π).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mlitheory.piecewise._poly import UNIT, derivative, horner, horner_bound, in_chunks, inner
from mlitheory.piecewise.roots import sign_changes

Tensor = torch.Tensor
_MAX_OPEN = 2**16  # open sub-intervals of the adaptive quadrature, at most (memory: 15 nodes × k × this)
_BLIND = 2.0**23  # a speed below this many times its Horner rounding bound leaves the tangent undetermined
_CHUNK = 4096  # pieces integrated at a time (their temporaries stay in cache)

# Gauss–Kronrod 7/15 on [-1, 1] (QUADPACK's qk15): Kronrod nodes ±x, weights; Gauss weights on x[1], x[3], x[5], x[7]
_XK = [
    0.991455371120812639206854697526329,
    0.949107912342758524526189684047851,
    0.864864423359769072789712788640926,
    0.741531185599394439863864773280788,
    0.586087235467691130294144845693013,
    0.405845151377397166906606412076961,
    0.207784955007898467600689403773245,
    0.0,
]
_WK = [
    0.022935322010529224963732008058970,
    0.063092092629978553290700663189204,
    0.104790010322250183839876322541518,
    0.140653259715525918745189590510238,
    0.169004726639267902826583426598550,
    0.190350578064785409913256402421014,
    0.204432940075298892414161999234649,
    0.209482141084727828012999174891714,
]
_WG = [0.129484966168869693270611432679082, 0.279705391489276667901467771423780, 0.381830050505118944950369775488975]
_WG0 = 0.417959183673469387755102040816327


def gk15_rule(dtype=torch.float64, device=None) -> tuple[Tensor, Tensor, Tensor]:
    """(nodes (15,), Kronrod weights (15,), Gauss weights (15,), zero off the Gauss nodes) on [-1, 1]."""
    x = [-v for v in _XK[:7]] + [0.0] + _XK[:7][::-1]
    wk = [*_WK[:7], _WK[7], *_WK[:7][::-1]]
    wg = [0.0] * 15
    for i, g in zip((1, 3, 5), _WG):
        wg[i] = g
        wg[14 - i] = g
    wg[7] = _WG0
    t = lambda v: torch.tensor(v, dtype=dtype, device=device)
    return t(x), t(wk), t(wg)


# Gauss–Kronrod 3/7 on [-1, 1]: a cheap first pass for short smooth pieces (K7 exact to degree 10, G3 to 5)
_XK7 = [0.960491268708020283423507092629080, 0.774596669241483377035853079956480, 0.434243749346802558002071502844628]
_WK7 = [
    0.104656226026467265193823857192073,
    0.268488089868333440728569280666710,
    0.401397414775962222905051818618432,
    0.450916538658474142345110087045571,
]


def gk7_rule(dtype=torch.float64, device=None) -> tuple[Tensor, Tensor, Tensor]:
    """(nodes (7,), Kronrod weights, Gauss weights (zero off the Gauss nodes ±√(3/5), 0)) on [-1, 1]."""
    x = [-_XK7[0], -_XK7[1], -_XK7[2], 0.0, _XK7[2], _XK7[1], _XK7[0]]
    wk = [_WK7[0], _WK7[1], _WK7[2], _WK7[3], _WK7[2], _WK7[1], _WK7[0]]
    wg = [0.0, 5.0 / 9.0, 0.0, 8.0 / 9.0, 0.0, 5.0 / 9.0, 0.0]
    return (torch.tensor(v, dtype=dtype, device=device) for v in (x, wk, wg))  # type: ignore[return-value]


def angle(u: Tensor, v: Tensor) -> Tensor:
    """Angle between the vectors ``u`` and ``v`` along the last axis (0 where either is 0)."""
    nu = torch.linalg.vector_norm(u, dim=-1, keepdim=True)
    nv = torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    a = u / torch.where(nu > 0, nu, 1.0)
    b = v / torch.where(nv > 0, nv, 1.0)
    ang = 2 * torch.atan2(torch.linalg.vector_norm(a - b, dim=-1), torch.linalg.vector_norm(a + b, dim=-1))
    return torch.where((nu.squeeze(-1) > 0) & (nv.squeeze(-1) > 0), ang, torch.zeros_like(ang))


def one_sided_tangent(c: Tensor, tau: Tensor, side: str, *, d1: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Direction of the one-sided tangent of the polynomial curves ``c`` ``(P, k, K)`` at ``tau`` ``(P,)``
    (``d1``: ``derivative(c)`` when already at hand).

    Returns:
        ``(direction (P, k), defined (P,))``; ``defined`` is False where every derivative vanishes (a stationary
        piece), the direction is then 0.
    """
    p, k, kk = c.shape
    t = tau.reshape(-1, 1)
    out = torch.zeros(p, k, dtype=c.dtype, device=c.device)
    found = torch.zeros(p, dtype=torch.bool, device=c.device)
    idx = torch.arange(p, device=c.device)  # the pieces still without a direction
    d = c
    for m in range(1, kk):
        if idx.numel() == 0:
            break
        d = d1 if (m == 1 and d1 is not None) else derivative(d)
        v = horner(d, t)
        e = horner_bound(d, t)
        take = torch.linalg.vector_norm(v, dim=-1) > 4 * torch.linalg.vector_norm(e, dim=-1)
        sgn = -1.0 if (side == "left" and m % 2 == 0) else 1.0
        if m == 1:  # every piece: no gather
            out = torch.where(take.unsqueeze(-1), v, out)
            found = take
        else:
            out[idx[take]] = sgn * v[take]
            found[idx[take]] = True
        rest = ~take
        idx, d, t = idx[rest], d[rest], t[rest]
    return out, found


def zero_speed_points(c: Tensor, r: Tensor, *, d1: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Interior points of the pieces ``c`` ``(P, k, K)`` (local τ in ``[-r, r]``) where the velocity vanishes
    (``d1``: ``derivative(c)`` when already at hand).

    The minima of $\\|z'\\|^2$ are the sign changes (− to +) of $\\langle z',z''\\rangle$; a minimum at
    which $\\|z'\\|$ is within the rounding bound of its evaluation counts as a zero.

    Returns:
        ``(piece index, τ)`` of the zeros.
    """
    d1 = derivative(c) if d1 is None else d1
    d2 = derivative(d1)
    if d1.shape[-1] < 2:
        z = torch.zeros(0, dtype=torch.long, device=c.device)
        return z, c.new_zeros(0)
    g = inner(d1, d2)  # ⟨z′, z″⟩ as a polynomial (P, ·)
    roots = sign_changes(g, -r, r)
    if not len(roots):
        return roots.index, roots.root
    pi, tau = roots.index, roots.root
    v = horner(d1[pi], tau.reshape(-1, 1))
    e = horner_bound(d1[pi], tau.reshape(-1, 1))
    zero = torch.linalg.vector_norm(v, dim=-1) <= 4 * torch.linalg.vector_norm(e, dim=-1) + 1e-300
    return pi[zero], tau[zero]


def _integrand(d1: Tensor, d2: Tensor, tau: Tensor, *, noise: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    r"""‖T′‖ at τ for curves with derivative coefficients d1 ``(M, k, ·)``, d2; ``tau`` ``(M, q)``.

    With ``noise``, also the scale of its rounding, $(\|e_2\| + \|z''\|\,\|e_1\|/s)/s$ with $e_i$ the Horner
    rounding bounds of $z'$, $z''$ and $s=\|z'\|$: ‖T′‖ cannot be computed more accurately than that (where the
    speed is below ``_BLIND`` times its own rounding, the scale is infinite: there the pieces' coefficients, which
    carry rounding of their own, may not even fix the tangent's direction)."""
    v1 = horner(d1.unsqueeze(1), tau.unsqueeze(-1))  # (M, q, k)
    v2 = horner(d2.unsqueeze(1), tau.unsqueeze(-1))
    s = torch.linalg.vector_norm(v1, dim=-1)
    safe = torch.where(s > 0, s, 1.0).unsqueeze(-1)
    t = v1 / safe
    perp = v2 - (v2 * t).sum(-1, keepdim=True) * t
    f = torch.where(s > 0, torch.linalg.vector_norm(perp, dim=-1) / safe.squeeze(-1), torch.zeros_like(s))
    if not noise:
        return f
    e1 = torch.linalg.vector_norm(horner_bound(d1.unsqueeze(1), tau.unsqueeze(-1)), dim=-1)
    e2 = torch.linalg.vector_norm(horner_bound(d2.unsqueeze(1), tau.unsqueeze(-1)), dim=-1)
    sc = safe.squeeze(-1)
    scale = (e2 + torch.linalg.vector_norm(v2, dim=-1) * e1 / sc) / sc
    return f, torch.where(s > _BLIND * e1, scale, torch.full_like(s, math.inf))


def smooth_parts(
    c: Tensor, lo: Tensor, hi: Tensor, *, tol: float = 1e-12, max_depth: int = 48, d1: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """$\\int_{lo}^{hi}\\|T'\\|$ for polynomial curves ``c`` ``(M, k, K)`` (τ basis), with error estimates
    (``d1``: ``derivative(c)`` when already at hand).

    ``tol`` is the absolute tolerance per unit of τ (a sub-interval of width ``w`` must reach ``tol·w``, so a piece
    of width ``w`` is integrated to about ``tol·w``).
    """
    m = c.shape[0]
    if m > _CHUNK:  # in chunks of pieces: the temporaries of a chunk stay in cache (the pieces are independent)
        one = lambda c_, lo_, hi_, d1_: smooth_parts(c_, lo_, hi_, tol=tol, max_depth=max_depth, d1=d1_)
        return in_chunks(one, _CHUNK, c, lo, hi, d1)  # type: ignore[return-value]
    value = torch.zeros(m, dtype=c.dtype, device=c.device)
    error = torch.zeros_like(value)
    if m == 0 or c.shape[-1] <= 2:
        return value, error
    d1 = derivative(c) if d1 is None else d1
    if d1.shape[-2] > d1.shape[-1]:
        # z′(τ) = A v(τ) (A = d1, k × K−1, v = powers of τ) lies in the column space of A = QR; ‖T′‖ and the angle
        # between tangents depend on z′ only up to the orthogonal Q, so the curve R v(τ) in ℝ^{K−1} gives the same
        # integrand (Householder QR: backward stable, R is exact for A + δA with |δA| <= γ|A| column by column)
        d1 = torch.linalg.qr(d1, mode="r").R
    d2 = derivative(d1)
    rule7, rule15 = gk7_rule(c.dtype, c.device), gk15_rule(c.dtype, c.device)
    idx = torch.arange(m, device=c.device)
    u, v = lo.clone(), hi.clone()
    for depth in range(max_depth + 1):
        if idx.numel() == 0:
            break
        x, wk, wg = rule7 if depth == 0 else rule15  # a cheap pass first; what it cannot certify gets GK15
        half = 0.5 * (v - u)
        mid = 0.5 * (u + v)
        nodes = mid.unsqueeze(1) + half.unsqueeze(1) * x  # (n, 15)
        a1, a2 = (d1, d2) if depth == 0 else (d1[idx], d2[idx])  # every curve in the first pass
        if depth == 0:
            f = _integrand(a1, a2, nodes)
            floor = torch.zeros_like(u)
            blind = blind_all = torch.zeros_like(u, dtype=torch.bool)
        else:
            # what rounding allows: the integrand's rounding scale over the nodes times the width (a sub-interval
            # whose Kronrod–Gauss difference is at that level cannot gain from splitting: accepted with that error)
            f, fnoise = _integrand(a1, a2, nodes, noise=True)
            inf = ~fnoise.isfinite()  # nodes where the speed is below its rounding
            blind, blind_all = inf.any(1), inf.all(1)
            floor = 64 * UNIT * (v - u) * torch.where(inf, 0.0, fnoise).amax(1)
        kr = (f * wk).sum(1) * half
        ga = (f * wg).sum(1) * half
        err = (kr - ga).abs()
        # geodesic guard: the arc of the Gauss map is at least the angle between its end tangents (z′ at the ends;
        # the zeros of the speed were split off before, so z′ ≠ 0 there up to a near-reversal, which the guard
        # then catches as a large chord)
        chord = angle(horner(a1, u.reshape(-1, 1)), horner(a1, v.reshape(-1, 1)))
        guard = kr >= chord - 1e-12 - 64 * UNIT * chord
        met = err <= tol * (v - u) + 64 * UNIT * kr.abs()
        # accepted at the rounding floor only: the value there may be all rounding noise (the pieces' coefficients
        # carry rounding of their own, which the floor does not see), so all of it counts in the error
        at_floor = ~met & (err <= tol * (v - u) + 64 * UNIT * kr.abs() + floor)
        # a node whose speed is below its rounding: its value is noise, so the sub-interval is split until it lies
        # wholly in such a stretch, which is then accepted with all of its value and its chord in the error
        ok = ((met | at_floor) & guard & ~blind) | blind_all
        err = torch.where(at_floor, torch.maximum(err, kr.abs()), err)
        err = torch.where(blind_all, torch.maximum(err, kr.abs()) + chord, err)
        if depth == 0:
            # the first pass accepts only what it certifies; everything else is redone whole with GK15
            value.index_add_(0, idx[ok], torch.maximum(kr[ok], chord[ok]))
            error.index_add_(0, idx[ok], err[ok] + 64 * UNIT * kr[ok].abs())
            idx, u, v = idx[~ok], u[~ok], v[~ok]
            continue
        if depth == max_depth or idx.numel() > _MAX_OPEN:
            # out of depth, or of sub-intervals (a speed below its rounding over a stretch of α): accept the rest
            # with the error estimate and the chord's shortfall, reported in the error
            ok = torch.ones_like(ok)
            err = torch.maximum(err, (chord - kr).clamp_min(0)) + torch.where(blind & ~blind_all, kr.abs(), 0.0)
        value.index_add_(0, idx[ok], torch.maximum(kr[ok], chord[ok]))
        error.index_add_(0, idx[ok], err[ok] + 64 * UNIT * kr[ok].abs())
        bad = ~ok
        idx, u, v, mid = idx[bad], u[bad], v[bad], mid[bad]
        idx = torch.cat([idx, idx])
        u, v = torch.cat([u, mid]), torch.cat([mid, v])
    return value, error


def quadratic_parts(c: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    """Closed-form smooth part of quadratic pieces: the angle between $z'$ at the two ends."""
    d1 = derivative(c)
    a = horner(d1, lo.reshape(-1, 1))
    b = horner(d1, hi.reshape(-1, 1))
    return angle(a, b)


def min_speed(pp) -> np.ndarray:
    """``(N,)`` the minimum of ‖z′‖ over each example's path (0 where it vanishes within rounding).

    On every piece the minimum is at an end (one-sided) or at a sign change (− to +) of ⟨z′, z″⟩.
    """
    c = torch.from_numpy(pp.coefficients)
    r = torch.from_numpy(0.5 * (pp.hi - pp.lo))
    d1 = derivative(c)
    ends = []
    for t in (-r, r):
        v = horner(d1, t.reshape(-1, 1))
        e = horner_bound(d1, t.reshape(-1, 1))
        s = torch.linalg.vector_norm(v, dim=-1)
        ends.append(torch.where(s <= 4 * torch.linalg.vector_norm(e, dim=-1), torch.zeros_like(s), s))
    piece_min = torch.minimum(ends[0], ends[1])
    if d1.shape[-1] >= 2:
        g = inner(d1, derivative(d1))
        roots = sign_changes(g, -r, r)
        if len(roots):
            v = horner(d1[roots.index], roots.root.reshape(-1, 1))
            e = horner_bound(d1[roots.index], roots.root.reshape(-1, 1))
            s = torch.linalg.vector_norm(v, dim=-1)
            s = torch.where(s <= 4 * torch.linalg.vector_norm(e, dim=-1), torch.zeros_like(s), s)
            piece_min = piece_min.scatter_reduce(0, roots.index, s, "amin")
    ex = torch.repeat_interleave(torch.arange(pp.n_examples), torch.from_numpy(pp.n_pieces))
    out = torch.full((pp.n_examples,), float("inf"), dtype=c.dtype).scatter_reduce(0, ex, piece_min, "amin")
    return out.numpy().astype(np.float64)
