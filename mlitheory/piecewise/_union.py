"""Sums over examples of piecewise polynomials, on the union of the examples' breakpoints.

Each example contributes a piecewise polynomial (its pieces' coefficients in their own local bases); the sum over
examples is a polynomial on every *union piece* (between consecutive breakpoints of all examples), and changes at a
breakpoint only by the breaking example's jump. [`union_sums`][mlitheory.piecewise.gauss.union_sums] sorts the
breakpoints, cuts them into blocks of ``block`` union pieces, and in each block sums exactly (all examples' pieces at
the block's first union piece) and then adds the jumps cumulatively — everything in the basis of powers of ``α − g_j``,
``g_j`` the block's centre, so that both the rounding of the cumulative sum and the conditioning of the basis stay
local. The result is returned in the local basis of every union piece (powers of ``α −`` its midpoint), with a bound of
the magnitudes summed (for rounding bounds).
"""

from __future__ import annotations

import math

import torch

from mlitheory.piecewise._poly import shift
from mlitheory.piecewise.path import PiecewisePath

Tensor = torch.Tensor


def _shift_to(c: Tensor, h: Tensor) -> Tensor:
    """``c`` ``(P, ..., K)`` re-expanded about a point ``h`` ``(P,)`` away (powers of τ − h)."""
    return shift(c, h.reshape(-1, *([1] * (c.ndim - 2))))


def union_sums(pp: PiecewisePath, per_piece: Tensor, *, block: int = 256) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Σ over examples of ``per_piece`` on every union piece.

    Args:
        pp: the pieces.
        per_piece: ``(P, ..., K)`` coefficients of each piece in powers of ``α − pp.centre``.
        block: union pieces per block (the exact re-summation period).

    Returns:
        ``(lo, hi, sums, magnitude)``: the union pieces' ends ``(G,)`` and the summed coefficients ``(G, ..., K)`` in
        powers of ``α − (lo + hi)/2``; ``magnitude`` bounds the sums of the absolute values of the terms (same shape).
    """
    n = pp.n_examples
    dtype = per_piece.dtype
    centre = torch.from_numpy(pp.centre)
    lo_p, hi_p = torch.from_numpy(pp.lo), torch.from_numpy(pp.hi)
    off = torch.from_numpy(pp.offsets)
    counts = torch.from_numpy(pp.n_pieces)
    ex = torch.repeat_interleave(torch.arange(n), counts)
    a, b = pp.interval
    inner = torch.ones(per_piece.shape[0], dtype=torch.bool)
    inner[off[1:] - 1] = False
    src = inner.nonzero().squeeze(1)
    at = hi_p[src]
    order = torch.argsort(at, stable=True)
    at, src = at[order], src[order]
    ends = torch.cat([torch.tensor([a], dtype=torch.float64), at, torch.tensor([b], dtype=torch.float64)])
    g_lo, g_hi = ends[:-1], ends[1:]
    gn = g_lo.numel()
    # blocks: at most `block` union pieces, within one cell of width (b − a)/block (narrow: local bases)
    u = torch.arange(gn)
    cell = torch.floor((0.5 * (g_lo + g_hi) - a) / ((b - a) / block)).to(torch.long)
    new = torch.ones(gn, dtype=torch.bool)
    new[1:] = cell[1:] != cell[:-1]
    seg_start = torch.cummax(torch.where(new, u, torch.zeros_like(u)), 0).values
    new |= ((u - seg_start) % block) == 0
    bidx = torch.cumsum(new.to(torch.long), 0) - 1
    nblocks = int(bidx[-1]) + 1
    first = u[new]
    last = torch.cat([first[1:] - 1, torch.tensor([gn - 1])])
    posb = u - first[bidx]
    g = 0.5 * (g_lo[first] + g_hi[last])  # block centres
    # exact anchors: every example's piece at the midpoint of the block's first union piece, about g
    pmax = int(counts.max())
    lo_pad = torch.full((n, pmax), math.inf, dtype=torch.float64)
    pos = torch.arange(per_piece.shape[0]) - off[:-1][ex]
    lo_pad[ex, pos] = lo_p
    probe = 0.5 * (g_lo[first] + g_hi[first])
    j = (torch.searchsorted(lo_pad, probe.unsqueeze(0).expand(n, -1).contiguous(), right=True) - 1).clamp(min=0)
    gp = (off[:-1].unsqueeze(1) + j).reshape(-1)  # (n * nblocks,) piece indices
    gb = g.unsqueeze(0).expand(n, -1).reshape(-1)
    anchors = _shift_to(per_piece[gp], gb - centre[gp]).reshape(n, nblocks, *per_piece.shape[1:]).sum(0)
    mags = _shift_to(per_piece[gp].abs(), (gb - centre[gp]).abs()).reshape(n, nblocks, *per_piece.shape[1:]).sum(0)
    # jumps at the breakpoints, about their block's centre (breakpoint t opens union piece t + 1)
    if at.numel():
        tb = bidx[1:]  # block of union piece t + 1
        gt = g[tb]
        right = _shift_to(per_piece[src + 1], gt - centre[src + 1])
        left = _shift_to(per_piece[src], gt - centre[src])
        jump = right - left
        jmag = _shift_to(per_piece[src + 1].abs(), (gt - centre[src + 1]).abs()) + _shift_to(
            per_piece[src].abs(), (gt - centre[src]).abs()
        )
    tail = per_piece.shape[1:]
    padded = torch.zeros(nblocks, block, *tail, dtype=dtype)
    pmag = torch.zeros_like(padded)
    if at.numel():
        padded[bidx[1:], posb[1:]] = jump
        pmag[bidx[1:], posb[1:]] = jmag
    padded[:, 0] = anchors  # the anchor replaces the jump into a block's first union piece
    pmag[:, 0] = mags
    sums = padded.cumsum(1)[bidx, posb]
    mag = pmag.cumsum(1)[bidx, posb]
    mid = 0.5 * (g_lo + g_hi)
    h = mid - g[bidx]
    return g_lo, g_hi, _shift_to(sums, h), _shift_to(mag, h.abs())
