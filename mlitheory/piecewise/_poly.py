r"""Polynomials as coefficient tensors: evaluation with a rounding bound, shifts, products, Bernstein form.

A polynomial $p(\tau)=\sum_{k=0}^{d} c_k\tau^k$ is a tensor whose **last** axis holds ``c_0, …, c_d``; every
function here is vectorised over the leading axes. The pieces of a ReLU network's logit path are stored in a
*local* basis (powers of $\tau=\alpha-c$ with $c$ the centre of the piece), where the coefficients are
well conditioned whatever the degree.

The rounding bound of Horner's rule is the classical one (Higham, *Accuracy and Stability of Numerical
Algorithms*, 2nd ed., §5.1): $|\mathrm{fl}(p(t))-p(t)|\le\gamma_{2d}\sum_k|c_k||t|^k$ with
$\gamma_n=nu/(1-nu)$, $u=2^{-53}$.
"""

from __future__ import annotations

import math

import numpy as np
import torch

Tensor = torch.Tensor

#: unit round-off of float64
UNIT = 2.0**-53


def pick(cond: Tensor, a: float, b: float, dtype: torch.dtype = torch.float64) -> Tensor:
    """``a`` where ``cond``, else ``b``, in ``dtype`` (``torch.where`` with two Python numbers rounds them to the
    default dtype, float32, first: a LeakyReLU slope 0.1 would lose its float64 digits)."""
    dev = cond.device
    return torch.where(cond, torch.tensor(a, dtype=dtype, device=dev), torch.tensor(b, dtype=dtype, device=dev))


def in_chunks(fn, size: int, *args: Tensor | None) -> tuple[Tensor, ...]:
    """``fn`` on consecutive slices of ``size`` rows of every tensor in ``args`` (``None`` passes as ``None``), its
    outputs (a tensor or a tuple of tensors) concatenated along the first axis: the same result as one call on
    the whole rows when the rows are independent, with each slice's temporaries small enough to stay in cache.
    Always returns a tuple."""
    m = next(a for a in args if a is not None).shape[0]
    if m <= size:
        out = fn(*args)
        return out if isinstance(out, tuple) else (out,)
    parts = []
    for s in range(0, m, size):
        out = fn(*(None if a is None else a[s : s + size] for a in args))
        parts.append(out if isinstance(out, tuple) else (out,))
    return tuple(torch.cat(t) for t in zip(*parts))


def gamma(n: int) -> float:
    """$\\gamma_n = nu/(1 - nu)$, the factor of a rounding-error bound after ``n`` operations."""
    return n * UNIT / (1 - n * UNIT)


def horner(c: Tensor, t: Tensor | float) -> Tensor:
    """$p(t)$ for coefficients ``c`` (``(..., d+1)``), ``t`` broadcastable to ``c[..., 0]``."""
    out = c[..., -1]
    for k in range(c.shape[-1] - 2, -1, -1):
        out = out * t + c[..., k]
    return out


def horner_bound(c: Tensor, t: Tensor | float) -> Tensor:
    """Rounding bound $\\gamma_{2d}\\sum_k|c_k||t|^k$ of `horner` at ``t`` (plus the smallest
    subnormal, so that an exact zero is never "certified")."""
    d = c.shape[-1] - 1
    at = abs(t) if isinstance(t, float) else t.abs()
    return gamma(2 * d + 1) * horner(c.abs(), at) + 1e-300


def derivative(c: Tensor, order: int = 1) -> Tensor:
    """Coefficients of $p^{(m)}$ (degree ``d - m``; a single zero coefficient when ``m > d``)."""
    for _ in range(order):
        d = c.shape[-1] - 1
        if d == 0:
            return torch.zeros_like(c)
        k = torch.arange(1, d + 1, dtype=c.dtype, device=c.device)
        c = c[..., 1:] * k
    return c


def shift(c: Tensor, h: Tensor | float) -> Tensor:
    """Coefficients of $q(\\tau) = p(\\tau + h)$ (Taylor shift), ``h`` broadcastable to ``c[..., 0]``."""
    n = c.shape[-1]
    if n == 1:
        return c.clone()
    h = torch.as_tensor(h, dtype=c.dtype, device=c.device)
    # synthetic division: repeated Horner steps (stable, O(n²))
    a = [c[..., k] for k in range(n)]
    for i in range(n - 1):
        for k in range(n - 2, i - 1, -1):
            a[k] = a[k] + h * a[k + 1]
    return torch.stack(a, dim=-1)


def rescale(c: Tensor, s: Tensor | float) -> Tensor:
    """Coefficients of $q(\\sigma) = p(s\\sigma)$."""
    n = c.shape[-1]
    s = torch.as_tensor(s, dtype=c.dtype, device=c.device)
    powers = torch.stack([s**k if k else torch.ones_like(s) for k in range(n)], dim=-1)
    return c * powers


def multiply(a: Tensor, b: Tensor) -> Tensor:
    """Coefficients of the product (last axes convolved; leading axes broadcast)."""
    na, nb = a.shape[-1], b.shape[-1]
    shape = tuple(np.broadcast_shapes(tuple(a.shape[:-1]), tuple(b.shape[:-1])))
    out = torch.zeros(*shape, na + nb - 1, dtype=torch.promote_types(a.dtype, b.dtype), device=a.device)
    for i in range(na):
        out[..., i : i + nb] += a[..., i : i + 1] * b
    return out


def inner(a: Tensor, b: Tensor) -> Tensor:
    """Coefficients of $\\sum_k a_k(\\tau)\\,b_k(\\tau)$ for curves ``a`` ``(P, k, na)``, ``b`` ``(P, k, nb)``:
    ``(P, na + nb − 1)``, the same as ``multiply(a, b).sum(1)`` (the sums over ``k`` as one batched matrix product)."""
    g = torch.bmm(a.transpose(1, 2), b)  # (P, na, nb): Σ_k a_{k,i} b_{k,j}
    na, nb = a.shape[-1], b.shape[-1]
    out = g.new_zeros(g.shape[0], na + nb - 1)
    for i in range(na):
        out[:, i : i + nb] += g[:, i]
    return out


def pad(c: Tensor, n: int) -> Tensor:
    """``c`` with zero coefficients appended up to ``n`` coefficients."""
    k = c.shape[-1]
    if k >= n:
        return c
    return torch.cat([c, c.new_zeros(*c.shape[:-1], n - k)], dim=-1)


def _bernstein_matrix(n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """M with ``b = M q``: Bernstein coefficients on [0, 1] from monomial ones, b_i = Σ_{k≤i} C(i,k)/C(d,k) q_k."""
    d = n - 1
    m = torch.zeros(n, n, dtype=dtype, device=device)
    for i in range(n):
        for k in range(i + 1):
            m[i, k] = math.comb(i, k) / math.comb(d, k)
    return m


def to_unit(c: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    """Monomial coefficients of $s\\mapsto p(lo + (hi - lo)s)$ on $s\\in[0, 1]$."""
    return rescale(shift(c, lo), hi - lo)


def bernstein(c: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    """Bernstein coefficients of ``p`` on ``[lo, hi]`` (their hull encloses the graph: convex-hull property)."""
    q = to_unit(c, lo, hi)
    m = _bernstein_matrix(c.shape[-1], c.dtype, c.device)
    return q @ m.T


def enclose(c: Tensor, lo: Tensor, hi: Tensor) -> tuple[Tensor, Tensor]:
    """Lower and upper bounds of ``p`` on ``[lo, hi]`` from the Bernstein coefficients (plus their rounding)."""
    b = bernstein(c, lo, hi)
    slack = gamma(4 * c.shape[-1]) * b.abs().amax(-1) * c.shape[-1]
    return b.amin(-1) - slack, b.amax(-1) + slack


def de_casteljau_split(b: Tensor) -> tuple[Tensor, Tensor]:
    """Bernstein coefficients of the two halves ``[0, ½]`` and ``[½, 1]`` of a Bernstein polynomial."""
    n = b.shape[-1]
    left, right = [b[..., 0]], [b[..., -1]]
    cur = b
    for _ in range(n - 1):
        cur = 0.5 * (cur[..., :-1] + cur[..., 1:])
        left.append(cur[..., 0])
        right.append(cur[..., -1])
    return torch.stack(left, -1), torch.stack(right[::-1], -1)


def radius_bound(c: Tensor, r: Tensor) -> Tensor:
    """$\\sum_{k\\ge1}|c_k|r^k$, a bound of $|p(\\tau)-p(0)|$ for $|\\tau|\\le r$."""
    if c.shape[-1] == 1:
        return torch.zeros_like(c[..., 0])
    return horner(c[..., 1:].abs(), r) * r
