"""The segment sweep of the general engine: split segments at events until none has any.

Start with one segment ``[a, b]`` per example. Each round runs `GraphEngine` on
all open segments (in chunks): a segment without events is a finished piece (its output polynomial is exact on it);
a segment with events is cut at them. The events of the first nonlinear node with a pattern change are true
breakpoints (everything before that node is one polynomial on the whole segment), so every cut is a breakpoint of
the activation pattern, and after at most one round per nonlinear node (plus one per max-pool overtake) all
segments are pieces.
"""

from __future__ import annotations

import math

import torch

from mlitheory.piecewise._graph import GraphEngine

Tensor = torch.Tensor

#: distance in α below which two breakpoints are one (a few ulps of the interval's magnitude)
EDGE_ULPS = 64


def edge_of(a: float, b: float) -> float:
    return EDGE_ULPS * 2.0**-52 * max(1.0, abs(a), abs(b))


def _split(lo: Tensor, hi: Tensor, seg: Tensor, cut: Tensor, edge: float) -> tuple[Tensor, Tensor, Tensor]:
    """Cut segments ``seg`` (indices) at the points ``cut``; return (parent index, lo, hi) of the sub-segments."""
    parents = torch.unique(seg)
    ids = torch.cat([parents, parents, seg])
    pts = torch.cat([lo[parents], hi[parents], cut])
    order = torch.argsort(pts, stable=True)
    ids, pts = ids[order], pts[order]
    order = torch.argsort(ids, stable=True)
    ids, pts = ids[order], pts[order]
    # drop points within `edge` of the previous point of the same segment (the segment ends are kept)
    keep = torch.ones_like(ids, dtype=torch.bool)
    same = ids[1:] == ids[:-1]
    close = (pts[1:] - pts[:-1]) <= edge
    keep[1:] = ~(same & close)
    # never drop a segment's own upper end: if it collided, drop the point before it instead
    is_hi = torch.zeros_like(keep)
    start = torch.ones_like(keep)
    start[1:] = ids[1:] != ids[:-1]
    end = torch.ones_like(keep)
    end[:-1] = ids[:-1] != ids[1:]
    is_hi |= end
    fix = end & ~keep
    keep = keep | fix
    if fix.any():
        prev = fix.nonzero().squeeze(1) - 1
        prev = prev[~start[prev]]
        keep[prev] = False
    ids, pts = ids[keep], pts[keep]
    pair = ids[1:] == ids[:-1]
    return ids[:-1][pair], pts[:-1][pair], pts[1:][pair]


def graph_sweep(
    engine: GraphEngine,
    x: Tensor,
    a: float,
    b: float,
    *,
    chunk: int = 256,
    max_rounds: int = 100_000,
    progress: bool = False,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Pieces of every example's output path on ``[a, b]``.

    Returns:
        ``(example, lo, hi, coefficients)`` of the pieces, unsorted; coefficients ``(P, k, K)`` in powers of
        ``α − (lo + hi)/2``.
    """
    n = x.shape[0]
    dev = x.device
    edge = edge_of(a, b)
    ex = torch.arange(n, device=dev)
    lo = torch.full((n,), float(a), dtype=torch.float64, device=dev)
    hi = torch.full((n,), float(b), dtype=torch.float64, device=dev)
    done: list[tuple[Tensor, Tensor, Tensor, Tensor]] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="exact pieces", unit="segment", leave=False)
    rounds = 0
    while ex.numel():
        rounds += 1
        if rounds > max_rounds:
            raise RuntimeError(f"the segment sweep did not finish in {max_rounds} rounds ({ex.numel()} segments open)")
        nxt_ex, nxt_lo, nxt_hi = [], [], []
        for s0 in range(0, ex.numel(), chunk):
            e, l, h = ex[s0 : s0 + chunk], lo[s0 : s0 + chunk], hi[s0 : s0 + chunk]
            centres, radius = 0.5 * (l + h), 0.5 * (h - l)
            out, events = engine.run(x[e], centres, radius, edge)
            s = e.numel()
            has = torch.zeros(s, dtype=torch.bool, device=dev)
            segs, cuts = [], []
            for seg, tau in events:
                has[seg] = True
                segs.append(seg)
                cuts.append(centres[seg] + tau)
            fin = ~has
            if fin.any():
                c = out.c[:, fin].reshape(out.c.shape[0], int(fin.sum()), -1).permute(1, 2, 0)
                done.append((e[fin], l[fin], h[fin], c))
            if segs:
                parent, nl, nh = _split(l, h, torch.cat(segs), torch.cat(cuts), edge)
                nxt_ex.append(e[parent])
                nxt_lo.append(nl)
                nxt_hi.append(nh)
            if bar is not None:
                bar.update(s)
        if nxt_ex:
            ex, lo, hi = torch.cat(nxt_ex), torch.cat(nxt_lo), torch.cat(nxt_hi)
        else:
            ex = ex[:0]
    if bar is not None:
        bar.close()
    k = max(d[3].shape[-1] for d in done)
    exs = torch.cat([d[0] for d in done])
    los = torch.cat([d[1] for d in done])
    his = torch.cat([d[2] for d in done])
    coefs = torch.cat([torch.nn.functional.pad(d[3], (0, k - d[3].shape[-1])) for d in done])
    return exs, los, his, coefs


def sort_pieces(ex: Tensor, lo: Tensor, hi: Tensor, coefs: Tensor, n: int):
    """Sort pieces by example then α; return (offsets (n+1,), lo, hi, coefficients)."""
    counts = torch.bincount(ex, minlength=n)
    if ex.numel() < 2 or bool(((ex[1:] > ex[:-1]) | ((ex[1:] == ex[:-1]) & (lo[1:] > lo[:-1]))).all()):
        offsets = torch.zeros(n + 1, dtype=torch.long, device=ex.device)
        offsets[1:] = torch.cumsum(counts, 0)
        return offsets, lo, hi, coefs  # already sorted (the MLP sweep emits pieces in order)
    order = torch.argsort(lo, stable=True)
    order = order[torch.argsort(ex[order], stable=True)]
    offsets = torch.zeros(n + 1, dtype=torch.long, device=ex.device)
    offsets[1:] = torch.cumsum(counts, 0)
    return offsets, lo[order], hi[order], coefs[order]


def isclose_partition(offsets: Tensor, lo: Tensor, hi: Tensor, a: float, b: float) -> bool:
    """The pieces of every example tile ``[a, b]`` (consistency check)."""
    n = offsets.numel() - 1
    first, last = offsets[:-1], offsets[1:] - 1
    ok = bool((lo[first] == a).all()) and bool((hi[last] == b).all())
    inner = torch.ones_like(lo, dtype=torch.bool)
    inner[last] = False
    ok &= bool((hi[inner] == lo[torch.nonzero(inner).squeeze(1) + 1]).all())
    return ok and n >= 0 and math.isfinite(a) and math.isfinite(b)
