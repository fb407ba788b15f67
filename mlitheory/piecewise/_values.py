"""Values carried by the exact interpreter: polynomials on segments of α and polynomial parameters.

* `SegPoly` — a data-dependent value on a batch of *segments* (one row per segment, as a model's batch),
  as coefficients ``(K, S, *shape)`` in powers of $\\tau=\\alpha-c_s$, with $c_s$ the centre of segment
  ``s``. Within a segment on which no activation changes this representation is exact.
* `GlobalPoly` — a parameter (or anything computed from parameters alone) as a polynomial in α with tensor
  coefficients, $\\theta(\\alpha)=\\sum_j\\alpha^jT_j$ (``{j: T_j}``); for a path of
  [`mlitheory.paths`][mlitheory.paths], $\\theta_k(\\alpha)=\\theta^{start}_k+s_k\\alpha^{p_k}\\Delta_k$.

Bilinear maps (Linear, Conv, products) of a parameter and a segment value are computed on the coefficient tensors
first and mixed per segment afterwards: $\\alpha^j=(c_s+\\tau)^j=\\sum_i\\binom ji c_s^{j-i}\\tau^i$, so a layer
costs one matrix product per (parameter power, input coefficient) for all segments together.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

Tensor = torch.Tensor


class SegPoly:
    """Coefficients ``c`` of shape ``(K, S, *shape)`` (powers of τ, segments, the value's own shape)."""

    __slots__ = ("c",)

    def __init__(self, c: Tensor):
        self.c = c

    @property
    def K(self) -> int:
        return self.c.shape[0]

    @property
    def value(self) -> Tensor:
        """The value at the segment centres, ``(S, *shape)``."""
        return self.c[0]

    def map(self, fn: Callable[[Tensor], Tensor]) -> SegPoly:
        """A map linear in the value, applied to every coefficient (one call each)."""
        return SegPoly(torch.stack([fn(self.c[k]) for k in range(self.K)]))

    def map_batched(self, fn: Callable[[Tensor], Tensor]) -> SegPoly:
        """A map linear in the value that treats dimension 0 as a batch: one call on ``(K·S, *shape)``."""
        k, s = self.c.shape[:2]
        out = fn(self.c.reshape(k * s, *self.c.shape[2:]))
        return SegPoly(out.reshape(k, s, *out.shape[1:]))


class GlobalPoly:
    """``{j: T_j}``: the polynomial $\\sum_j \\alpha^j T_j$ with tensor coefficients (no segment axis)."""

    __slots__ = ("terms",)

    def __init__(self, terms: dict[int, Tensor]):
        self.terms = terms

    @property
    def degree(self) -> int:
        return max(self.terms) if self.terms else 0

    @property
    def constant(self) -> bool:
        return all(j == 0 for j in self.terms)

    @property
    def ref(self) -> Tensor:
        return next(iter(self.terms.values()))

    def at(self, alpha: float) -> Tensor:
        out = torch.zeros_like(self.ref)
        for j, t in self.terms.items():
            out = out + (alpha**j) * t
        return out

    def map(self, fn: Callable[[Tensor], Tensor]) -> GlobalPoly:
        return GlobalPoly({j: fn(t) for j, t in self.terms.items()})


def powers_local(j: int, centres: Tensor) -> list[Tensor]:
    """Coefficients of $\\alpha^j=(c+\\tau)^j$ in powers of τ, each ``(S,)``: ``C(j, i) c^{j−i}``."""
    return [math.comb(j, i) * centres ** (j - i) for i in range(j + 1)]


def _seg_view(w: Tensor, ndim: int) -> Tensor:
    """Per-segment scalars ``(S,)`` shaped to broadcast against ``(S, *shape)`` with ``len(shape) = ndim - 1``."""
    return w.reshape(w.shape[0], *([1] * (ndim - 1)))


def localise(g: GlobalPoly, centres: Tensor, ndim: int) -> SegPoly:
    """``g`` on the segments: coefficients ``(deg + 1, S, *pad, *shape)`` aligned to a value of ``ndim`` dims
    (the segment axis included)."""
    ref = g.ref
    extra = ndim - 1 - ref.ndim
    if extra < 0:
        raise ValueError("a parameter has more dimensions than the value it meets")
    out: list[Tensor] = [None] * (g.degree + 1)  # type: ignore[list-item]
    for j, t in g.terms.items():
        tt = t.reshape(1, *([1] * extra), *t.shape)
        for i, w in enumerate(powers_local(j, centres)):
            term = _seg_view(w.to(t.dtype), ndim) * tt
            out[i] = term if out[i] is None else out[i] + term
    shape = tuple(np.broadcast_shapes(*(tuple(o.shape) for o in out if o is not None)))
    return SegPoly(
        torch.stack([o.expand(shape) if o is not None else torch.zeros(shape, dtype=ref.dtype) for o in out])
    )


def pad_k(c: Tensor, k: int) -> Tensor:
    if c.shape[0] >= k:
        return c
    return torch.cat([c, c.new_zeros(k - c.shape[0], *c.shape[1:])])


def seg_add(a: SegPoly, b: SegPoly, sign: float = 1.0) -> SegPoly:
    k = max(a.K, b.K)
    ca, cb = pad_k(a.c, k), pad_k(b.c, k)
    return SegPoly(ca + cb if sign == 1.0 else ca + sign * cb)


def mix(parts: dict[int, SegPoly], centres: Tensor) -> SegPoly:
    """$\\sum_j \\alpha^j R_j(\\tau)$ on the segments, ``R_j`` given per power ``j`` as segment polynomials."""
    out: Tensor | None = None
    for j, r in parts.items():
        w = powers_local(j, centres)
        k = r.K + j
        acc = r.c.new_zeros(k, *r.c.shape[1:])
        nd = r.c.ndim - 1
        for i, wi in enumerate(w):
            acc[i : i + r.K] += _seg_view(wi.to(r.c.dtype), nd) * r.c
        out = acc if out is None else pad_k(out, k) + pad_k(acc, out.shape[0])
    assert out is not None
    return SegPoly(out)


def bilinear(op: Callable[[Tensor, Tensor], Tensor], a: Any, b: Any, centres: Tensor, batched: str = "") -> Any:
    """``op(a, b)`` for ``op`` bilinear, with ``a``/``b`` segment polynomials, parameters or constants.

    ``batched`` names the argument (``"a"`` or ``"b"``) that ``op`` treats with dimension 0 as a batch (the input
    of Linear/Conv): its coefficients are then stacked into one call.
    """
    if isinstance(a, SegPoly) and isinstance(b, SegPoly):
        k = a.K + b.K - 1
        terms: list[Tensor | None] = [None] * k
        for i in range(a.K):
            for j in range(b.K):
                t = op(a.c[i], b.c[j])
                terms[i + j] = t if terms[i + j] is None else terms[i + j] + t
        return SegPoly(torch.stack(terms))  # type: ignore[arg-type]
    if isinstance(a, GlobalPoly) and isinstance(b, GlobalPoly):
        out: dict[int, Tensor] = {}
        for i, t in a.terms.items():
            for j, u in b.terms.items():
                v = op(t, u)
                out[i + j] = v if i + j not in out else out[i + j] + v
        return GlobalPoly(out)
    if isinstance(a, GlobalPoly) and not isinstance(b, SegPoly):
        return a.map(lambda t: op(t, b))
    if isinstance(b, GlobalPoly) and not isinstance(a, SegPoly):
        return b.map(lambda u: op(a, u))
    if isinstance(a, SegPoly) and isinstance(b, GlobalPoly):
        mapper = a.map_batched if batched == "a" else a.map
        parts = {j: mapper(lambda x, u=u: op(x, u)) for j, u in b.terms.items()}
        return mix(parts, centres)
    if isinstance(b, SegPoly) and isinstance(a, GlobalPoly):
        parts = {j: (b.map_batched if batched == "b" else b.map)(lambda y, t=t: op(t, y)) for j, t in a.terms.items()}
        return mix(parts, centres)
    if isinstance(a, SegPoly):
        return (a.map_batched if batched == "a" else a.map)(lambda x: op(x, b))
    if isinstance(b, SegPoly):
        return (b.map_batched if batched == "b" else b.map)(lambda y: op(a, y))
    return op(a, b)


def add(a: Any, b: Any, centres: Tensor, sign: float = 1.0) -> Any:
    """``a + sign·b`` for any mix of segment polynomials, parameters and constants (broadcasting)."""
    if isinstance(a, SegPoly) or isinstance(b, SegPoly):
        nd = (a.c.ndim - 1) if isinstance(a, SegPoly) else (b.c.ndim - 1)
        if isinstance(a, SegPoly) and isinstance(b, SegPoly):
            nd = max(a.c.ndim, b.c.ndim) - 1
        pa = _as_seg(a, centres, nd)
        pb = _as_seg(b, centres, nd)
        return seg_add(pa, pb, sign)
    if isinstance(a, GlobalPoly) or isinstance(b, GlobalPoly):
        ref = (a if isinstance(a, GlobalPoly) else b).ref  # a Python number takes the polynomial's dtype
        ga = a if isinstance(a, GlobalPoly) else GlobalPoly({0: _constant(a, ref)})
        gb = b if isinstance(b, GlobalPoly) else GlobalPoly({0: _constant(b, ref)})
        out = dict(ga.terms)
        for j, u in gb.terms.items():
            v = u if sign == 1.0 else sign * u
            out[j] = v if j not in out else out[j] + v
        return GlobalPoly(out)
    return a + b if sign == 1.0 else a + sign * b


def _constant(v: Any, ref: Tensor) -> Tensor:
    """``v`` as a tensor; a Python number in ``ref``'s dtype (``torch.as_tensor(0.1)`` would be a float32)."""
    if isinstance(v, Tensor):
        return v
    return torch.as_tensor(v, dtype=ref.dtype if ref.is_floating_point() else None, device=ref.device)


def _as_seg(v: Any, centres: Tensor, ndim: int) -> SegPoly:
    if isinstance(v, SegPoly):
        return v
    if isinstance(v, GlobalPoly):
        return localise(v, centres, ndim)
    t = torch.as_tensor(v, dtype=centres.dtype, device=centres.device)
    if t.ndim > ndim:
        raise ValueError(f"a constant of shape {tuple(t.shape)} meets a value of {ndim} dimensions")
    return SegPoly(t.reshape(1, *([1] * (ndim - t.ndim)), *t.shape))  # broadcasts against (K, S, *shape)


def to_seg(v: Any, centres: Tensor, ndim: int) -> SegPoly:
    """Any value as a segment polynomial (constants keep their own shape and broadcast)."""
    return _as_seg(v, centres, ndim)
