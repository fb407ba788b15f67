r"""Real roots of polynomials on intervals, where the sign changes, each with a certified bracket.

For a batch of polynomials $p_i$ (coefficients in the last axis) and intervals $(lo_i, hi_i)$,
[`sign_changes`][mlitheory.piecewise.roots.sign_changes] returns every root at which $p_i$ changes sign inside the open
interval. Roots are isolated by Bernstein subdivision: on $[0,1]$ the number of sign variations $V$ of the Bernstein
coefficients bounds the number of roots and has the same parity (Descartes' rule of signs in Bernstein form), so

* $V=0$: no root; $V=1$: exactly one simple root, refined by bisection on Horner evaluations;
* $V\ge2$: split in halves by de Casteljau's algorithm and look again.

Coefficients within a rounding bound of zero are treated as zero. A cluster narrower than $2^{-40}$ of
the interval that keeps $V\ge2$ is a sign change if the signs at its two ends differ, else a tangential root
(a double root, or a pair closer than float64 can separate), which changes nothing and is not a breakpoint.

Each reported root comes with a bracket $[a, b]$ such that $p(a)$ and $p(b)$ are of opposite signs
and each exceeds its Horner rounding bound (``certified``); the root is located to the float64 accuracy at which
the sign of $p$ can still be decided (the bisection stops when $|p|$ falls within its rounding bound).

References:
    Lane, Riesenfeld. *Bounds on a polynomial*, BIT 21 (1981) (variation diminishing of Bernstein form).
    Mourrain, Rouillier, Roy. *The Bernstein basis and real root isolation*, MSRI Publ. 52 (2005).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mlitheory.piecewise._poly import (
    UNIT,
    _bernstein_matrix,
    de_casteljau_split,
    derivative,
    gamma,
    horner,
    horner_bound,
    to_unit,
)

__all__ = ["Roots", "sign_changes"]

Tensor = torch.Tensor
_CLUSTER = 2.0**-40  # relative width below which a V >= 2 cell is not split further
_MAX_BISECT = 80


@dataclass(frozen=True)
class Roots:
    """Sign-changing roots of a batch of polynomials.

    Attributes:
        index: ``(R,)`` int64, the polynomial each root belongs to (sorted by index, then by root).
        root: ``(R,)`` the root.
        lo, hi: ``(R,)`` its bracket.
        certified: ``(R,)`` bool, ``p(lo)`` and ``p(hi)`` evaluated with opposite signs beyond their rounding
            bounds.
    """

    index: Tensor
    root: Tensor
    lo: Tensor
    hi: Tensor
    certified: Tensor

    def __len__(self) -> int:
        return int(self.index.numel())


def _signs(b: Tensor, tol: Tensor) -> Tensor:
    s = torch.sign(b)
    return torch.where(b.abs() <= tol.unsqueeze(-1), torch.zeros_like(s), s)


def _variations(s: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(variations, first nonzero sign, last nonzero sign) of each row of a sign matrix."""
    last = torch.zeros_like(s[..., 0])
    first = torch.zeros_like(last)
    var = torch.zeros_like(last)
    for i in range(s.shape[-1]):
        si = s[..., i]
        nz = si != 0
        var = var + (nz & (last != 0) & (si != last)).to(var.dtype)
        first = torch.where((first == 0) & nz, si, first)
        last = torch.where(nz, si, last)
    return var, first, last


def _empty(c: Tensor) -> Roots:
    z = c.new_zeros(0)
    return Roots(torch.zeros(0, dtype=torch.long, device=c.device), z, z, z, torch.zeros(0, dtype=torch.bool))


def sign_changes(c: Tensor, lo: Tensor, hi: Tensor, *, edge: Tensor | float = 0.0) -> Roots:
    """Every root in ``(lo + edge, hi − edge)`` at which the polynomial changes sign.

    Args:
        c: ``(M, d + 1)`` coefficients (float64), powers of the same variable as ``lo``/``hi``.
        lo, hi: ``(M,)`` interval ends, ``lo < hi``.
        edge: roots closer than this to an end are not reported (they belong to the end point itself).

    Returns:
        [`Roots`][mlitheory.piecewise.roots.Roots], sorted by polynomial then by root.

    Examples:
        >>> import torch
        >>> c = torch.tensor([[-2.0, 0.0, 1.0], [1.0, -2.0, 1.0]], dtype=torch.float64)  # α² − 2, (α − 1)²
        >>> r = sign_changes(c, torch.zeros(2, dtype=torch.float64), torch.full((2,), 3.0, dtype=torch.float64))
        >>> r.index.tolist(), round(float(r.root[0]) ** 2, 15), bool(r.certified.all())
        ([0], 2.0, True)
    """
    if c.ndim != 2:
        raise ValueError(f"coefficients must be (M, d+1), got shape {tuple(c.shape)}")
    m, n = c.shape
    if m == 0 or n <= 1:
        return _empty(c)
    lo = lo.to(c.dtype)
    hi = hi.to(c.dtype)
    if n == 2:
        return _linear_roots(c, lo, hi, edge)
    width = hi - lo
    q = to_unit(c, lo, hi)
    bm = _bernstein_matrix(n, c.dtype, c.device)
    b = q @ bm.T
    scale = b.abs().amax(-1)
    tol = (gamma(4 * n) * n) * scale + 1e-300  # rounding of the basis change and of the subdivisions

    idx = torch.arange(m, device=c.device)
    s0 = torch.zeros(m, dtype=c.dtype, device=c.device)
    s1 = torch.ones(m, dtype=c.dtype, device=c.device)
    found_idx, found_a, found_b, found_sa = [], [], [], []
    while idx.numel():
        t = tol[idx]
        var, first, last = _variations(_signs(b, t))
        isolated = var == 1
        narrow = (s1 - s0) < _CLUSTER
        cluster = (var >= 2) & narrow & (first != last) & (first != 0)
        take = isolated | cluster
        if take.any():
            found_idx.append(idx[take])
            found_a.append(s0[take])
            found_b.append(s1[take])
            found_sa.append(first[take])
        split = (var >= 2) & ~narrow
        if not split.any():
            break
        idx, s0, s1, b = idx[split], s0[split], s1[split], b[split]
        left, right = de_casteljau_split(b)
        mid = 0.5 * (s0 + s1)
        # a root exactly at the split point would be lost by both halves: record it if the sign changes there
        t = tol[idx]
        at_mid = left[:, -1].abs() <= t
        if at_mid.any():
            _, _, l_last = _variations(_signs(left[at_mid, :-1], t[at_mid]))
            _, r_first, _ = _variations(_signs(right[at_mid, 1:], t[at_mid]))
            change = (l_last != 0) & (r_first != 0) & (l_last != r_first)
            if change.any():
                sel = at_mid.nonzero().squeeze(1)[change]
                found_idx.append(idx[sel])
                found_a.append(mid[sel])
                found_b.append(mid[sel])
                found_sa.append(l_last[change])
        idx = torch.cat([idx, idx])
        s0, s1 = torch.cat([s0, mid]), torch.cat([mid, s1])
        b = torch.cat([left, right])
    if not found_idx:
        return _empty(c)
    fi = torch.cat(found_idx)
    sa = torch.cat(found_sa)
    ta = lo[fi] + width[fi] * torch.cat(found_a)
    tb = lo[fi] + width[fi] * torch.cat(found_b)
    cc = c[fi]
    root, a, bb, cert = _bisect(cc, ta, tb, sa)
    if not cert.all():
        # widen about the root within its isolating cell (which holds no other root)
        cell_a = torch.minimum(ta, root)
        cell_b = torch.maximum(tb, root)
        wide = (cell_b - cell_a) <= 0
        cell_a = torch.where(wide, lo[fi], cell_a)
        cell_b = torch.where(wide, hi[fi], cell_b)
        root, a, bb, cert = _widen(cc, root, a, bb, cert, cell_a, cell_b)
    keep = cert  # no proven sign change (a tangential root, or a polynomial within rounding of 0): no root
    fi, root, a, bb, cert = fi[keep], root[keep], a[keep], bb[keep], cert[keep]
    edge_t = torch.as_tensor(edge, dtype=c.dtype, device=c.device)
    edge_t = edge_t[fi] if edge_t.ndim else edge_t
    inside = (root > lo[fi] + edge_t) & (root < hi[fi] - edge_t)
    fi, root, a, bb, cert = fi[inside], root[inside], a[inside], bb[inside], cert[inside]
    order = torch.argsort(fi.to(c.dtype) * 4.0 + (root - lo[fi]) / width[fi], stable=True)
    return Roots(fi[order], root[order], a[order], bb[order], cert[order])


def _bisect(c: Tensor, a: Tensor, b: Tensor, sign_a: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Safeguarded Newton on a bracketed simple root until the sign of ``p`` at the iterate cannot be decided.

    Each step keeps the bracket (``p`` has sign ``sign_a`` at ``a`` and the other at ``b``); the Newton step is
    taken when it falls inside the bracket, else the midpoint (bisection), so convergence is never worse than
    bisection and quadratic near a simple root.
    """
    dc = derivative(c)
    active = torch.ones_like(a, dtype=torch.bool)
    x = 0.5 * (a + b)
    root = x.clone()
    for _ in range(_MAX_BISECT):
        if not active.any():
            break
        v = horner(c, x)
        e = horner_bound(c, x)
        undecided = v.abs() <= e
        tiny = (b - a) <= 4 * UNIT * torch.maximum(a.abs(), b.abs())
        stop = active & (undecided | tiny)
        root = torch.where(stop, x, root)
        active = active & ~stop
        right = torch.sign(v) == sign_a
        a = torch.where(active & right, x, a)
        b = torch.where(active & ~right, x, b)
        dv = horner(dc, x)
        step = x - v / torch.where(dv == 0, torch.ones_like(dv), dv)
        ok = (dv != 0) & (step > a) & (step < b)
        x = torch.where(ok, step, 0.5 * (a + b))
    root = torch.where(active, x, root)
    va, vb = horner(c, a), horner(c, b)
    ea, eb = horner_bound(c, a), horner_bound(c, b)
    cert = (va.abs() > ea) & (vb.abs() > eb) & (torch.sign(va) != torch.sign(vb))
    return root, a, b, cert


def _widen(c: Tensor, root: Tensor, a: Tensor, b: Tensor, cert: Tensor, lo: Tensor, hi: Tensor):
    """Certify the uncertified brackets by widening them about the root (doubling), within ``[lo, hi]``."""
    a, b, cert = a.clone(), b.clone(), cert.clone()
    todo = ~cert
    delta = 4 * UNIT * torch.maximum(root.abs(), torch.ones_like(root))
    for _ in range(_MAX_BISECT):
        if not todo.any():
            break
        ta = torch.maximum(root - delta, lo)
        tb = torch.minimum(root + delta, hi)
        va, vb = horner(c, ta), horner(c, tb)
        ea, eb = horner_bound(c, ta), horner_bound(c, tb)
        decided = (va.abs() > ea) & (vb.abs() > eb)
        ok = todo & decided & (torch.sign(va) != torch.sign(vb))
        a = torch.where(ok, ta, a)
        b = torch.where(ok, tb, b)
        cert = cert | ok
        full = (ta <= lo) & (tb >= hi)
        todo = todo & ~ok & ~(decided & (torch.sign(va) == torch.sign(vb))) & ~full
        delta = delta * 2
    return root, a, b, cert


def _linear_roots(c: Tensor, lo: Tensor, hi: Tensor, edge: Tensor | float) -> Roots:
    """Degree 1: the root −c₀/c₁ where the signs at the two ends are certified opposite; bracket by widening."""
    va, vb = horner(c, lo), horner(c, hi)
    ea, eb = horner_bound(c, lo), horner_bound(c, hi)
    change = (va.abs() > ea) & (vb.abs() > eb) & (torch.sign(va) != torch.sign(vb))
    idx = change.nonzero().squeeze(1)
    if idx.numel() == 0:
        return _empty(c)
    cc = c[idx]
    root = (-cc[:, 0] / cc[:, 1]).clamp(lo[idx], hi[idx])
    cert = torch.zeros_like(root, dtype=torch.bool)
    root, a, b, cert = _widen(cc, root, root.clone(), root.clone(), cert, lo[idx], hi[idx])
    edge_t = torch.as_tensor(edge, dtype=c.dtype, device=c.device)
    edge_t = edge_t[idx] if edge_t.ndim else edge_t
    keep = cert & (root > lo[idx] + edge_t) & (root < hi[idx] - edge_t)
    return Roots(idx[keep], root[keep], a[keep], b[keep], cert[keep])
