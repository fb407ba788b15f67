r"""MLI decided on the continuum of α for ReLU networks: exact min Δ, a witness, or a certificate.

The dataset loss $L(\alpha)=\frac1N\sum_x\ell(z(\alpha;x),y_x)$ along a parameter path is piecewise smooth,
with breakpoints at the union of the examples' breakpoints (``theory_piecewise_paths.md`` §5).
[`decide_mli`][mlitheory.piecewise.decide.decide_mli] **decides** whether it is non-increasing on $[a,b]$ — not on 50
samples:

* **MSE** ($\ell=\|z-y\|^2$): on every union piece $L$ is a polynomial. The real roots of $L'$ are
  isolated per piece ([`mlitheory.piecewise.roots`][mlitheory.piecewise.roots]); between consecutive roots $L'$ has one
  sign, proven at a point beyond its rounding bound. The exact $\min\Delta=\max_\alpha[L(\alpha)-\min_{s\le\alpha}L(s)]$
  is attained among the breakpoints, the roots of $L'$ and the ends.
* **Cross-entropy** ($\ell=\operatorname{lse}(z)-z_y$): on every piece of an example, with
  $\ell'=\langle p-e_y,z'\rangle$ ($p$ = softmax) and the centred form
  $|\ell'(\alpha)-\ell'(m)|\le|\alpha-m|\,\sup|\ell''|$,
  $|\ell''|\le(1-p_y)\,[\max_i\sup|w_i'|^2+\max_i\sup|w_i''|]$ with $w=z-z_y$ (a variance under $p$ plus
  $\langle p,w''\rangle$), the sups from Taylor forms of $w$ at the fragment's centre (rounding included); where an
  example has no kink in the cell, a second-order form whose linear terms are summed over such examples first. A cell
  of α
  is proven decreasing when the mean over examples of the upper bounds is negative, proven increasing when the mean
  of the lower bounds is positive, else bisected.

Where $L'$ touches 0 without changing sign (the end of a plateau) bisection cannot prove strictness: such
cells are kept once the largest rise they could hide is below ``tol``, and the decision says it is monotone up to
``tol``. A rise is confirmed by evaluating the model itself at the two α of the witness (a disagreement with the exact
losses beyond 10⁻⁹ relative raises an error instead of returning a decision).

References:
    ``theory_piecewise_paths.md`` (this project) §5. Moore, Kearfott, Cloud, *Introduction to Interval Analysis*,
    SIAM 2009 (centred forms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from mlitheory import _data
from mlitheory.paths import ParameterPath, StateLike
from mlitheory.piecewise._poly import UNIT, derivative, gamma, horner, horner_bound, in_chunks, multiply
from mlitheory.piecewise._union import union_sums
from mlitheory.piecewise.path import (
    _CHECK_EXAMPLES,
    PiecewisePath,
    _interval,
    check_alpha,
    check_pieces,
    model_logits,
    piecewise_logit_path,
    resolve_path,
    statistic_overrides,
)
from mlitheory.piecewise.roots import sign_changes
from mlitheory.results import Result

__all__ = ["MLICertificate", "MLIDecision", "decide_mli", "piecewise_loss"]

Tensor = torch.Tensor
LOSSES = ("cross_entropy", "mse")
_FRAGMENTS = 4096  # fragments per chunk of the cross-entropy bounds


@dataclass(frozen=True)
class MLICertificate(Result):
    """Proof that the loss does not rise: intervals of α and the proven sign of L′ on each.

    Attributes:
        lo, hi: ``(M,)`` the intervals (they tile the path's interval).
        sign: ``(M,)`` int8: −1 L′ < 0 proven on the interval; 0 L′ within its rounding bound of 0 (a plateau,
            where the largest possible rise is below ``tol``).
        method: how the signs were proven.
        tol: the largest rise an interval of sign 0 could hide, summed over such intervals.
    """

    lo: np.ndarray
    hi: np.ndarray
    sign: np.ndarray
    method: str
    tol: float

    @property
    def strict(self) -> bool:
        """Strictly decreasing: L′ < 0 proven everywhere but at isolated points."""
        return bool((self.sign < 0).all())


@dataclass(frozen=True)
class MLIDecision(Result):
    r"""Whether the loss is non-increasing on the continuum of α, with exact min Δ.

    Attributes:
        monotone: the loss never rises by more than ``tol`` on ``interval`` (a decision, not a sample).
        strict: L′ < 0 proven everywhere but at isolated points (``monotone`` and no plateau at tolerance).
        min_delta: $\max_{\alpha<\beta}[L(\beta)-L(\alpha)]_+$ over the continuum.
        min_delta_error: bound on its error (root location and rounding).
        witness: when not monotone, ``(α_i, α_j, L(α_i), L(α_j))`` with the largest rise, evaluated through the
            model itself; ``None`` when monotone.
        witness_exact: the same two losses from the exact pieces (they agree with ``witness`` to rounding).
        certificate: [`MLICertificate`][mlitheory.piecewise.decide.MLICertificate] when monotone, else ``None``.
        loss_name: ``"cross_entropy"`` or ``"mse"``.
        tol: tolerance of the decision (absolute, in loss units): a few ulps of the loss scale.
        interval: (a, b). n_examples: N. n_breakpoints: distinct breakpoints of the union (where L may kink).
        critical_points: α of the local extrema found (roots of L′ and sign-changing kinks).
        pieces: the [`PiecewisePath`][mlitheory.piecewise.path.PiecewisePath] the decision was made on.
        targets: labels ``(N,)`` (cross-entropy) or targets ``(N, k)`` (MSE).
    """

    monotone: bool
    strict: bool
    min_delta: float
    min_delta_error: float
    witness: tuple | None
    witness_exact: tuple | None
    certificate: MLICertificate | None
    loss_name: str
    tol: float
    interval: tuple
    n_examples: int
    n_breakpoints: int
    critical_points: np.ndarray
    pieces: PiecewisePath
    targets: np.ndarray

    def loss(self, alphas: Any) -> np.ndarray:
        """The exact piecewise loss $L(\\alpha)$ at ``alphas`` (in the path's interval), ``(m,)``."""
        return piecewise_loss(self.pieces, self.targets, self.loss_name, alphas)

    def summary(self) -> str:
        lines = [
            f"MLIDecision ({self.loss_name}) on [{self.interval[0]:g}, {self.interval[1]:g}], {self.n_examples} "
            f"examples, {self.n_breakpoints} breakpoints",
            f"  monotone: {self.monotone}" + (" (strictly decreasing)" if self.strict else ""),
            f"  exact min Δ = {self.min_delta:.6g} ± {self.min_delta_error:.1e} (tol {self.tol:.1e})",
        ]
        if self.witness is not None:
            a, b, la, lb = self.witness
            lines.append(f"  witness: L({a:.9g}) = {la:.9g} < L({b:.9g}) = {lb:.9g} (through the model)")
        if self.certificate is not None:
            c = self.certificate
            lines.append(f"  certificate: {len(c.lo)} intervals, {c.method}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# the loss on the pieces
# ---------------------------------------------------------------------------------------------------------------


def _per_example_loss(z: Tensor, y: Tensor, name: str) -> Tensor:
    if name == "mse":
        return ((z - y) ** 2).sum(-1)
    return torch.logsumexp(z, -1) - z.gather(
        -1, y.reshape(*([1] * (z.ndim - 2)), -1, 1).expand(*z.shape[:-1], 1)
    ).squeeze(-1)


def piecewise_loss(pieces: PiecewisePath, targets: Any, name: str, alphas: Any, *, chunk: int = 64) -> np.ndarray:
    """The loss along the exact pieces: mean over examples of ``ℓ(z(α; x), y)``, ``(m,)``."""
    al = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    y = torch.as_tensor(np.asarray(targets))
    out = []
    for s in range(0, len(al), chunk):
        z = torch.from_numpy(pieces.evaluate(al[s : s + chunk]))  # (m, N, k)
        out.append(_per_example_loss(z, y, name).mean(-1))
    return torch.cat(out).numpy()


# ---------------------------------------------------------------------------------------------------------------
# MSE: exact root isolation on the union pieces
# ---------------------------------------------------------------------------------------------------------------


def _mse_union(pp: PiecewisePath, y: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Union pieces and the coefficients of L (and of the magnitudes of its terms), local to every union piece."""
    c = torch.from_numpy(pp.coefficients).clone()
    ex = torch.repeat_interleave(torch.arange(pp.n_examples), torch.from_numpy(pp.n_pieces))
    c[..., 0] -= y[ex]
    e = multiply(c, c).sum(1)  # ‖z − y‖² per piece, local basis
    ea = multiply(c.abs(), c.abs()).sum(1)
    lo, hi, s, _ = union_sums(pp, torch.stack([e, ea], 1))
    return lo, hi, s[:, 0] / pp.n_examples, s[:, 1] / pp.n_examples


def _decide_mse(pp: PiecewisePath, y: Tensor, tol: float):
    lo, hi, c, ca = _mse_union(pp, y)
    mid = 0.5 * (lo + hi)
    rad = 0.5 * (hi - lo)
    d = derivative(c)
    da = derivative(ca)
    acc = gamma(4 * c.shape[-1] + 256 + 4 * int(math.log2(max(pp.n_examples, 2))))
    roots = sign_changes(d, -rad, rad)
    # sub-intervals between consecutive roots of L′: one sign on each
    gpieces = lo.numel()
    ids = torch.cat([torch.arange(gpieces), torch.arange(gpieces), roots.index])
    pts = torch.cat([-rad, rad, roots.root])
    order = torch.argsort(pts, stable=True)
    ids, pts = ids[order], pts[order]
    order = torch.argsort(ids, stable=True)
    ids, pts = ids[order], pts[order]
    same = ids[1:] == ids[:-1]
    sid, su, sv = ids[:-1][same], pts[:-1][same], pts[1:][same]
    keep = sv > su
    sid, su, sv = sid[keep], su[keep], sv[keep]
    sm = 0.5 * (su + sv)
    val = horner(d[sid], sm)
    bound = horner_bound(d[sid], sm) + acc * horner(da[sid].abs(), sm.abs())
    sign = torch.where(val > bound, 1, torch.where(val < -bound, -1, 0)).to(torch.int8)
    a_lo, a_hi = mid[sid] + su, mid[sid] + sv
    # values of L at every sub-interval end (continuous across union breakpoints)
    l_lo = horner(c[sid], su)
    l_hi = horner(c[sid], sv)
    l_err = horner_bound(c[sid], sv) + acc * horner(ca[sid].abs(), sv.abs())
    return a_lo, a_hi, sign, l_lo, l_hi, l_err, roots, mid


# ---------------------------------------------------------------------------------------------------------------
# cross-entropy: centred-form bounds on cells, bisection
# ---------------------------------------------------------------------------------------------------------------


class _CEPieces:
    """Per-example pieces with derivative coefficients, for bounds of ℓ′ on fragments of cells."""

    def __init__(self, pp: PiecewisePath, y: Tensor):
        self.pp = pp
        self.c = torch.from_numpy(pp.coefficients)
        self.centre = torch.from_numpy(pp.centre)
        self.lo = torch.from_numpy(pp.lo)
        self.hi = torch.from_numpy(pp.hi)
        self.off = torch.from_numpy(pp.offsets)
        n = pp.n_examples
        counts = torch.from_numpy(pp.n_pieces)
        self.ex = torch.repeat_interleave(torch.arange(n), counts)
        pmax = int(counts.max())
        self.lo_pad = torch.full((n, pmax), math.inf, dtype=torch.float64)
        pos = torch.arange(self.c.shape[0]) - self.off[:-1][self.ex]
        self.lo_pad[self.ex, pos] = self.lo
        self.counts = counts
        self.y = y
        # per piece: w = z − z_y (label y of the piece's example), local basis, one contiguous (P, k) plane per power
        yl = y[self.ex]
        kk = self.c.shape[-1]
        rows = torch.arange(self.c.shape[0])
        w = self.c - self.c[rows, yl].unsqueeze(1)  # (P, k, K), one subtraction for every power
        self.planes = list(w.permute(2, 0, 1).contiguous())
        self.yl = yl
        # rounding of the Taylor coefficients of w at any τ of the piece: the same synthetic division on |w|'s
        # coefficients at the piece's radius R (|τ| <= R for every τ computed from a point of the piece), with the
        # largest |coefficient| over the outputs, Σ_{i>=j} C(i, j) max_k |c_{k,i}| R^{i−j}, (P, K)
        rad = torch.maximum((self.lo - self.centre).abs(), (self.hi - self.centre).abs()) * (1 + gamma(2))
        amax = []
        for pl in self.planes:
            lo_, hi_ = torch.aminmax(pl, dim=-1)
            amax.append(torch.maximum(hi_, -lo_))
        mag = []
        for j in range(kk):  # nested as in fragment_bounds
            val = amax[-1]
            for i in range(kk - 2, j - 1, -1):
                val = torch.addcmul(amax[i], val, rad * ((i + 1) / (i + 1 - j)))
            mag.append(val)
        self.round_taylor = gamma(2 * kk + 2) * (1 + gamma(4 * kk + 4)) * torch.stack(mag, -1)
        self.top_max = amax[-1]  # max_k |c_{k,d}|: the top Taylor coefficient at any τ, (P,)

    def bounds(self, u: Tensor, v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """For cells ``[u, v]`` ``(M,)``: upper and lower bounds of L′ on each, and L′ at the cells' midpoints."""
        n = self.pp.n_examples
        m = u.numel()
        uu = u.unsqueeze(0).expand(n, m).contiguous()
        vv = v.unsqueeze(0).expand(n, m).contiguous()
        i0 = (torch.searchsorted(self.lo_pad, uu, right=True) - 1).clamp(min=0)
        i1 = (torch.searchsorted(self.lo_pad, vv, right=False) - 1).clamp(min=0)
        i1 = torch.maximum(i1, i0)
        cnt = (i1 - i0 + 1).reshape(-1)  # fragments per (example, cell)
        pair = torch.arange(n * m)
        rep = torch.repeat_interleave(pair, cnt)
        start = torch.repeat_interleave(i0.reshape(-1), cnt)
        within = torch.arange(rep.numel()) - torch.repeat_interleave(torch.cumsum(cnt, 0) - cnt, cnt)
        e = rep // m
        cell = rep % m
        gp = self.off[:-1][e] + start + within  # global piece index
        fu = torch.maximum(u[cell], self.lo[gp])
        fv = torch.minimum(v[cell], self.hi[gp])
        # in chunks of fragments: each chunk's (F, k) temporaries stay in cache (one pass over all fragments at once
        # spends most of its time allocating and faulting in fresh pages)
        up, dn, grad, curv, rem, rnd, rndc, frho = in_chunks(self.fragment_bounds, _FRAGMENTS, gp, fu, fv)
        key = e * m + cell
        # first order, every example: the mean of the per-example maxima over their fragments (plus the rounding of
        # the sum, γ_n Σ|·|)
        upper = torch.full((n * m,), -math.inf, dtype=torch.float64).scatter_reduce(0, key, up, "amax")
        lower = torch.full((n * m,), math.inf, dtype=torch.float64).scatter_reduce(0, key, dn, "amin")
        upper, lower = upper.reshape(n, m), lower.reshape(n, m)
        g_sum = gamma(n + 4)
        up1 = upper.mean(0) + g_sum * upper.abs().mean(0)
        dn1 = lower.mean(0) - g_sum * lower.abs().mean(0)
        # second order where an example is one polynomial on the whole cell (no kink inside): about the centre t_e
        # of its fragment (the cell's midpoint m up to rounding, |t_e − m| <= ρ_e − ρ),
        # ℓ′ = ℓ′(t_e) + ℓ″(t_e)(α − t_e) + r, |r| <= ½ sup|ℓ‴| ρ_e², and the linear terms of those examples add up
        # (and cancel) before the bound is taken; examples with a kink in the cell keep their first-order bounds
        single = (cnt == 1)[rep]
        rho = 0.5 * (v - u)
        c_s, g_s, cv_s = cell[single], grad[single], curv[single]
        rho_s = frho[single]
        off_centre = cv_s.abs() * (rho_s - rho[c_s] * (1 - 2 * UNIT)).clamp_min(0)
        rest = rem[single] * rho_s * rho_s + rnd[single] + rndc[single] * rho_s + off_centre
        s_grad = torch.zeros(m, dtype=torch.float64).index_add_(0, c_s, g_s)
        s_agrad = torch.zeros(m, dtype=torch.float64).index_add_(0, c_s, g_s.abs())
        s_curv = torch.zeros(m, dtype=torch.float64).index_add_(0, c_s, cv_s)
        s_acurv = torch.zeros(m, dtype=torch.float64).index_add_(0, c_s, cv_s.abs())
        s_rest = torch.zeros(m, dtype=torch.float64).index_add_(0, c_s, rest)
        multi = ~(cnt == 1).reshape(n, m)
        zero = torch.zeros_like(upper)
        up_multi = torch.where(multi, upper, zero)
        dn_multi = torch.where(multi, lower, zero)
        spread = (s_curv.abs() * rho * (1 + 2 * UNIT) + s_rest) * (1 + g_sum)
        # rounding of the sums: γ_{n+4} times the sums of the magnitudes of their terms
        r_sum = g_sum * (s_agrad + s_acurv * rho + s_rest)
        up2 = (s_grad + spread + up_multi.sum(0) + r_sum + g_sum * up_multi.abs().sum(0)) / n * (1 + 2 * UNIT)
        dn2 = (s_grad - spread + dn_multi.sum(0) - r_sum - g_sum * dn_multi.abs().sum(0)) / n
        dn2 = dn2 - 2 * UNIT * dn2.abs()
        up2 = up2 + 2 * UNIT * up2.abs()
        return torch.minimum(up1, up2), torch.maximum(dn1, dn2), fu

    def fragment_bounds(self, gp: Tensor, fu: Tensor, fv: Tensor):
        r"""Bounds of ℓ′ on the fragments ``[fu, fv]`` of the pieces ``gp``: first order (upper, lower), and the
        terms of the second-order form: ℓ′ and ℓ″ at the fragment's centre, ½ sup|ℓ‴|, the rounding bounds of ℓ′
        and ℓ″ there, and the radius about the centre that covers the fragment.

        The derivatives of $w=z-z_y$ on a fragment are enclosed by the Taylor form at its centre $t$: with
        $b_i=w^{(i)}(t)/i!$ (one synthetic division of the piece's coefficients),
        $\sup_{|s-t|\le\rho}|w^{(j)}(s)|/j!\le\sum_{i\ge j}\binom ij|b_i|\rho^{i-j}$, plus the same sum of
        the rounding bounds of the $b_i$ (``round_taylor``) and a factor for the rounding of the sums.
        """
        cen = self.centre[gp]
        tu, tv = fu - cen, fv - cen
        tm = 0.5 * (tu + tv)
        # a radius about tm that covers the fragment whatever the rounding of tu, tv and tm
        rho = (0.5 * (tv - tu) + 2 * UNIT * (tu.abs() + tv.abs())) * (1 + gamma(4))
        deg = len(self.planes) - 1
        fac = 1 + gamma(4 * deg + 12)
        t = tm.unsqueeze(-1)
        r1 = rho.unsqueeze(-1)
        b = [pl[gp] for pl in self.planes]  # (F, k) each, gathered copies
        for i in range(deg):  # synthetic division: b_j = w^{(j)}(tm) / j!
            for j in range(deg - 1, i - 1, -1):
                b[j].addcmul_(b[j + 1], t)
        rt = self.round_taylor[gp]  # (F, K)
        ab = [None] + [x.abs() for x in b[1:]]

        def scaled_sup(j: int, per_output: bool = False):
            return _scaled_sup(ab, rt, rho, j, per_output)

        # differences to the label's logit: ℓ = log Σ_i exp(w_i), ℓ′ = Σ_i p_i w_i′ (w_y = 0, so max_i w_i >= 0);
        # p = ew / Σ ew, the sums divided afterwards
        dif = b[0]
        mx = dif.amax(-1, keepdim=True)
        ew = (dif - mx).exp_()
        inv = 1 / ew.sum(-1)
        if deg >= 1:
            pw1 = ew * b[1]
            grad = pw1.sum(-1) * inv
            sq = (pw1 * b[1]).sum(-1) * inv
            apw1 = pw1.abs_().sum(-1) * inv
            v1, e1s = scaled_sup(1, per_output=True)  # sup |w_i′| on the fragment, (F, k), and its rounding
        else:
            grad = sq = apw1 = torch.zeros_like(rho)
        if deg >= 2:
            pw2 = 2 * (ew * b[2]).sum(-1) * inv  # ⟨p, w″⟩
            apw2 = 2 * (ew * ab[2]).sum(-1) * inv
        else:
            pw2 = apw2 = torch.zeros_like(rho)
        curv = sq - grad * grad + pw2  # ℓ″ = Var_p(w′) + ⟨p, w″⟩
        # rounding of ℓ′ and ℓ″ at tm: relative for the softmax and the sums, absolute for the b_i (round_taylor)
        g_rel = gamma(max(64, 2 * dif.shape[-1] + 16))
        e1 = rt[:, 1] if deg >= 1 else torch.zeros_like(rho)
        e2 = rt[:, 2] if deg >= 2 else torch.zeros_like(rho)
        rnd = g_rel * (apw1 + rho * (sq + apw2)) + e1 + 1e-300

        def sup_max(j: int) -> Tensor:
            """M_j = max_i sup |w_i^{(j)}| on the fragment, (F,)."""
            if j > deg:
                return torch.zeros_like(rho)
            if j == deg:  # the top coefficient is the same at every τ: its max is precomputed per piece
                val, err = self.top_max[gp], rt[:, deg]
            elif j == 1:
                val, err = v1.amax(-1), e1s
            else:
                val, err = scaled_sup(j)
            return (val + err) * (fac * math.factorial(j))

        # on the fragment, with q >= 1 − p_y = Σ_{i≠y} p_i (q = min(1, Σ_{i≠y} exp(sup w_i))) and
        # M_j = max_i sup|w_i^(j)|:  |ℓ″| <= q (M1² + M2),  |ℓ‴| <= q (M3 + 3 M1 M2 + 2 M1³)
        if deg >= 1:  # sup w_i <= w_i(tm) + ρ sup |w_i′|
            top = torch.addcmul(dif, v1, r1 * fac) + ((rho * e1s + rt[:, 0]) * fac).unsqueeze(-1)
        else:
            top = dif + (rt[:, :1] * fac)
        top.scatter_(1, self.yl[gp].unsqueeze(-1), -math.inf)
        # Σ_{i≠y} exp(top_i), shifted by mx >= 0 (no overflow to inf times 0); the terms that underflow are < 1e-300
        q = (top.sub_(mx).exp_().sum(-1) * (1 + 2.0**-40) + 1e-290) * mx.squeeze(-1).exp()
        q = q.clamp(max=1.0)
        m1, m2, m3 = sup_max(1), sup_max(2), sup_max(3)
        slack = q * (m1 * m1 + m2) * rho * fac + rnd
        rem = 0.5 * q * (m3 + 3 * m1 * m2 + 2 * m1 * m1 * m1) * fac
        rndc = g_rel * (sq + grad * grad + apw2) + 2 * e1 * (m1 + e1) + 2 * e2 + 2 * grad.abs() * rnd + 1e-300
        return grad + slack, grad - slack, grad, curv, rem, rnd, rndc, rho

    def slope_at(self, alphas: Tensor) -> Tensor:
        """L′ from the right at ``alphas`` ``(M,)``."""
        pp = self.pp
        idx = torch.from_numpy(pp.piece_index(alphas.numpy()))  # (M, N)
        t = (alphas.unsqueeze(1) - self.centre[idx]).unsqueeze(-1)
        z = horner(self.c[idx], t)
        dz = horner(derivative(self.c[idx]), t)
        p = torch.softmax(z, -1)
        yy = self.y.unsqueeze(0).expand(idx.shape)
        return ((p * dz).sum(-1) - dz.gather(-1, yy.unsqueeze(-1)).squeeze(-1)).mean(-1)


def _scaled_sup(ab: list, rt: Tensor, rho: Tensor, j: int, per_output: bool = False) -> tuple[Tensor, Tensor]:
    r"""$\sum_{i\ge j}\binom ij|b_i|\rho^{i-j}$ (its max over the outputs unless ``per_output``) and the same sum of
    the rounding bounds ``rt`` ``(F, K)`` of the $b_i$: a bound of $\sup_{|s|\le\rho}|p^{(j)}(s)|/j!$ for
    $p(s)=\sum_i b_is^i$, before a factor for the rounding of the sums.

    Args:
        ab: ``[None, |b_1|, …, |b_d|]``, each ``(F, k)``. rho: ``(F,)``. j: the derivative order (``1 <= j <= d``).
    """
    deg = len(ab) - 1
    r1 = rho.unsqueeze(-1)
    val = ab[deg]
    err = rt[:, deg]
    for i in range(deg - 1, j - 1, -1):
        ratio = (i + 1) / (i + 1 - j)  # C(i + 1, j) / C(i, j), nested
        val = torch.addcmul(ab[i], val, r1 if ratio == 1 else r1 * ratio)
        err = rt[:, i] + err * rho * ratio
    return (val if per_output else val.amax(-1)), err


def _decide_ce(pp: PiecewisePath, y: Tensor, tol: float, *, cells: int = 32, max_rounds: int = 60):
    a, b = pp.interval
    ce = _CEPieces(pp, y)
    edges = torch.linspace(a, b, cells + 1, dtype=torch.float64)
    edges[0], edges[-1] = a, b
    u, v = edges[:-1], edges[1:]
    done_u, done_v, done_s, done_up = [], [], [], []
    for _ in range(max_rounds):
        if u.numel() == 0:
            break
        up, dn, _ = ce.bounds(u, v)
        width = v - u
        dec = up < 0
        inc = dn > 0
        # a cell whose possible rise is below the tolerance's share is kept as a plateau (sign 0)
        small = ~dec & ~inc & (up.clamp_min(0) * width <= tol * width / (b - a))
        tiny = ~dec & ~inc & ~small & (width <= 4 * UNIT * max(1.0, abs(a), abs(b)))
        fin = dec | inc | small | tiny
        done_u.append(u[fin])
        done_v.append(v[fin])
        done_s.append(torch.where(dec[fin], -1, torch.where(inc[fin], 1, 0)).to(torch.int8))
        done_up.append(up[fin])
        u, v = u[~fin], v[~fin]
        mid = 0.5 * (u + v)
        u, v = torch.cat([u, mid]), torch.cat([mid, v])
    if u.numel():  # out of rounds: undecided cells stay sign 0, their possible rise counted in the error
        up, _, _ = ce.bounds(u, v)
        done_u.append(u)
        done_v.append(v)
        done_s.append(torch.zeros(u.numel(), dtype=torch.int8))
        done_up.append(up)
    cu, cv, cs, cup = torch.cat(done_u), torch.cat(done_v), torch.cat(done_s), torch.cat(done_up)
    order = torch.argsort(cu)
    return cu[order], cv[order], cs[order], cup[order]


# ---------------------------------------------------------------------------------------------------------------
# the decision
# ---------------------------------------------------------------------------------------------------------------


def _stack_data(data: Any) -> tuple[Tensor, Tensor]:
    xs, ys = [], []
    for x, y in _data.batches(data, "data"):
        if not isinstance(x, torch.Tensor):
            raise TypeError("data: the exact decision takes batches (x, y) with x a tensor (a model of one input)")
        xs.append(x)
        ys.append(y)
    return torch.cat(xs), torch.cat(ys)


def _min_delta(alphas: np.ndarray, values: np.ndarray) -> tuple[float, int, int]:
    """max_{i<j} (v_j − v_i)₊ and the pair attaining it."""
    if len(values) < 2:
        return 0.0, 0, 0
    run_min = np.minimum.accumulate(values)
    # where the running minimum is attained so far (the latest such index)
    arg = np.maximum.accumulate(np.where(values == run_min, np.arange(len(values)), 0))
    rise = values[1:] - run_min[:-1]
    j = int(np.argmax(rise)) + 1
    if rise[j - 1] <= 0:
        return 0.0, 0, 0
    return float(rise[j - 1]), int(arg[j - 1]), j


def _model_loss(model, path, x, y, name, alphas, overrides) -> list[float]:
    """The loss through the model itself at ``alphas`` (float64)."""
    return [float(_per_example_loss(model_logits(model, path, x, al, overrides), y, name).mean()) for al in alphas]


def decide_mli(
    model: nn.Module,
    start: StateLike | None,
    end: StateLike | None,
    data: Any,
    *,
    loss: str = "cross_entropy",
    targets: Any = None,
    path: ParameterPath | None = None,
    interval: tuple[float, float] = (0.0, 1.0),
    bn: str = "interpolate",
    tol: float | None = None,
    engine: str = "auto",
    device: torch.device | str | None = None,
    pieces: PiecewisePath | None = None,
) -> MLIDecision:
    r"""Decide MLI — whether the loss is non-increasing on the whole interval — for a ReLU network.

    Args:
        model: a network of supported modules (see
            [`piecewise_logit_path`][mlitheory.piecewise.path.piecewise_logit_path]); never modified.
        start, end: state dicts or modules (``None`` with ``path=``).
        data: a batch ``(inputs, labels)`` or an iterable of batches, as for
            [`interpolate`][mlitheory.interpolation.interpolate]; for ``"mse"`` the second item holds the targets ``y``
            ``(N, k)`` (unless ``targets`` says otherwise).
        loss: ``"cross_entropy"`` (mean over examples, natural log) or ``"mse"`` (mean over examples of
            $\|z(x)-y\|^2$).
        targets: for ``"mse"``: ``None`` (the data's second item), ``"final"`` (the end state's logits as
            $z^*$, Theorem 3's setting) or a tensor ``(N, k)``.
        path: any [`ParameterPath`][mlitheory.paths.ParameterPath] instead of the linear path.
        interval: the α interval.
        bn: batch-norm statistics, ``"interpolate"`` or ``"none"``.
        tol: tolerance in loss units (default ``2⁻⁴⁰·(1 + |L(a)| + |L(b)|)``, a few thousand ulps): a rise below
            it does not count. For cross-entropy, cells where L′ could not be proven negative are kept when the
            rise they could hide is below ``tol`` in total (plateaus); that allowance is in ``min_delta_error``.
        engine, device: as for [`piecewise_logit_path`][mlitheory.piecewise.path.piecewise_logit_path].
        pieces: an already computed [`PiecewisePath`][mlitheory.piecewise.path.PiecewisePath] of the same inputs and
            path, on the same ``interval`` (checked: the interval must be equal, and the pieces must give the model's
            own logits at one α on up to 64 of the inputs, else a ``ValueError``).

    Returns:
        [`MLIDecision`][mlitheory.piecewise.decide.MLIDecision].

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> a, b = nn.Linear(2, 2).double(), nn.Linear(2, 2).double()
        >>> x = torch.randn(5, 2, dtype=torch.float64)
        >>> d = decide_mli(a, a, b, (x, torch.zeros(5, 2, dtype=torch.float64)), loss="mse", targets="final")
        >>> d.monotone, d.strict   # a straight logit path towards z*: strictly decreasing
        (True, True)
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be 'cross_entropy' or 'mse', got {loss!r}")
    x, y = _stack_data(data)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"data has {x.shape[0]} inputs but {y.shape[0]} labels/targets: one per input")
    path = resolve_path(model, start, end, path)
    a, b = _interval(interval)
    ref = next(iter(path.start.values()))
    dev = torch.device(device) if device is not None else ref.device
    path64 = path.to(dev, torch.float64)
    x64 = (x.to(torch.float64) if x.is_floating_point() else x).to(dev)
    overrides = statistic_overrides(path64, bn)
    if pieces is None:
        pieces = piecewise_logit_path(
            model, None, None, x64, path=path, interval=(a, b), bn=bn, engine=engine, device=dev
        )
    elif not isinstance(pieces, PiecewisePath):
        raise TypeError(f"pieces must be a PiecewisePath, got {type(pieces).__name__}")
    else:
        if pieces.n_examples != x.shape[0]:
            raise ValueError(f"pieces has {pieces.n_examples} examples but data has {x.shape[0]}")
        if tuple(pieces.interval) != (a, b):
            raise ValueError(
                f"pieces were computed on the interval {tuple(pieces.interval)} but interval={(a, b)}: pass "
                f"interval={tuple(pieces.interval)}, or compute the pieces on {(a, b)}"
            )
        at = check_alpha(a, b)
        why = (
            "pieces do not belong to this model, path and data (they were computed for other inputs, states or "
            "path); compute them with piecewise_logit_path on the same arguments"
        )
        check_pieces(pieces, model_logits(model, path64, x64[:_CHECK_EXAMPLES], at, overrides), at, why)
    k = pieces.n_outputs
    if loss == "cross_entropy":
        if targets is not None:
            raise ValueError("targets is for loss='mse'; cross-entropy uses the labels of data")
        if y.is_floating_point() or y.ndim != 1:
            raise TypeError(f"cross-entropy needs integer class labels (N,), got {y.dtype} of shape {tuple(y.shape)}")
        if int(y.min()) < 0 or int(y.max()) >= k:
            raise ValueError(f"labels must lie in [0, {k}), got range [{int(y.min())}, {int(y.max())}]")
        yt = y.to(torch.long).cpu()
    else:
        if isinstance(targets, str):
            if targets != "final":
                raise ValueError(f"targets must be None, 'final' or a tensor, got {targets!r}")
            zs = model_logits(model, path64, x64, 1.0, overrides)
            yt = zs.reshape(zs.shape[0], -1).to(torch.float64).cpu()
        else:
            yt = torch.as_tensor(targets if targets is not None else y).to(torch.float64).cpu()
            yt = yt.reshape(yt.shape[0], -1) if yt.ndim > 1 else yt
        if yt.shape != (x.shape[0], k):
            raise ValueError(
                f"MSE targets must have shape ({x.shape[0]}, {k}) (one per example and output), got {tuple(yt.shape)}"
            )
    l_ends = piecewise_loss(pieces, yt.numpy(), loss, [a, b])
    if tol is None:
        tol = 2.0**-40 * (1 + abs(float(l_ends[0])) + abs(float(l_ends[1])))
    inner = np.ones(len(pieces.hi), dtype=bool)
    inner[pieces.offsets[1:] - 1] = False  # the last piece of every example ends at b, not at a breakpoint
    n_break = int(np.unique(pieces.hi[inner]).size)

    if loss == "mse":
        a_lo, a_hi, sign, l_lo, l_hi, l_err, _, _ = _decide_mse(pieces, yt, tol)
        al = torch.cat([a_lo[:1], a_hi]).numpy()
        vals = torch.cat([l_lo[:1], l_hi]).numpy()
        err = float(l_err.max()) if l_err.numel() else 0.0
        hidden = 0.0  # L is monotone on every sub-interval (no root of L′ inside): the end values are the extremes
        decreasing = False  # the values at the sub-interval ends are at hand: the extrema come from them
        method = "exact root isolation of the polynomial L′ on every union piece (Bernstein subdivision)"
    else:
        a_lo, a_hi, sign, up = _decide_ce(pieces, yt, tol)
        al = torch.cat([a_lo[:1], a_hi]).numpy()
        # L′ < 0 proven on every cell: L decreases strictly, and its values at the cell ends (a loss evaluation of
        # every example at every end) would add nothing: no rise, no interior extremum, |L| <= max(L(a), L(b))
        decreasing = bool((sign < 0).all())
        vals = l_ends if decreasing else piecewise_loss(pieces, yt.numpy(), loss, al)
        err = 64 * UNIT * (1 + float(np.abs(vals).max()))
        zero = sign == 0
        hidden = float((up[zero].clamp_min(0) * (a_hi - a_lo)[zero]).sum())
        method = "centred-form bounds of L′ on cells (Taylor enclosures of z′, z″, z‴), bisection"
    if decreasing:
        crit, (md, i, j) = np.zeros(0), (0.0, 0, 0)
    else:
        crit = np.unique(_extrema(al, vals))
        md, i, j = _min_delta(al, vals)
    md_err = 2 * err + hidden
    monotone = md <= tol
    strict = bool(monotone and (sign < 0).all())
    witness = witness_exact = None
    cert = None
    if monotone:
        cs = torch.where(sign < 0, sign, torch.zeros_like(sign))  # a proven rise below tol counts as a plateau
        cert = _merge(MLICertificate(lo=a_lo.numpy(), hi=a_hi.numpy(), sign=cs.numpy(), method=method, tol=float(tol)))
    else:
        direct = _model_loss(model, path64, x64, yt.to(dev), loss, [al[i], al[j]], overrides)
        witness = (float(al[i]), float(al[j]), direct[0], direct[1])
        witness_exact = (float(al[i]), float(al[j]), float(vals[i]), float(vals[j]))
        # the rise is confirmed through the model itself: its own losses must be the exact pieces' (float64 both)
        gap = max(abs(direct[0] - float(vals[i])), abs(direct[1] - float(vals[j])))
        if not gap <= 1e-9 * (1 + abs(float(vals[i])) + abs(float(vals[j]))):
            raise RuntimeError(
                f"the model's own loss at the witness α = {al[i]:.17g}, {al[j]:.17g} is {direct[0]!r}, {direct[1]!r}; "
                f"the exact pieces give {float(vals[i])!r}, {float(vals[j])!r}: the model's forward is not what the "
                "pieces represent (please report it with the model); no decision is returned"
            )
    return MLIDecision(
        monotone=bool(monotone),
        strict=strict,
        min_delta=float(md),
        min_delta_error=float(md_err),
        witness=witness,
        witness_exact=witness_exact,
        certificate=cert,
        loss_name=loss,
        tol=float(tol),
        interval=(a, b),
        n_examples=int(x.shape[0]),
        n_breakpoints=n_break,
        critical_points=crit,
        pieces=pieces,
        targets=yt.numpy(),
    )


def _extrema(al: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """α of the interior local extrema of the sequence (where the differences change sign)."""
    d = np.sign(np.diff(vals))
    nz = np.nonzero(d)[0]
    if len(nz) < 2:
        return np.zeros(0)
    ch = nz[1:][d[nz[1:]] != d[nz[:-1]]]
    return al[ch]


def _merge(c: MLICertificate) -> MLICertificate:
    """Merge consecutive intervals of the same sign."""
    if len(c.lo) == 0:
        return c
    s = c.sign
    start = np.ones(len(s), dtype=bool)
    start[1:] = s[1:] != s[:-1]
    idx = np.nonzero(start)[0]
    ends = np.append(idx[1:] - 1, len(s) - 1)
    return MLICertificate(lo=c.lo[idx], hi=c.hi[ends], sign=s[idx], method=c.method, tol=c.tol)
