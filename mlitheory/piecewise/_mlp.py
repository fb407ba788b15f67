r"""The fast sweep for plain ReLU MLPs on paths affine in α: closed-form breakpoints and rank-one updates.

For $z=W_L(\alpha)\sigma(\cdots\sigma(W_1(\alpha)x+b_1(\alpha))\cdots)+b_L(\alpha)$ with every
$W_\ell(\alpha)=W_\ell(g)+(\alpha-g)\dot W_\ell$ affine (``g`` the interval's centre), level by level:

1. Layer 1 is affine in α: $a_1=P+\tau Q$ ($\tau=\alpha-g$), each neuron flips at most once, at
   $\tau=-P_j/Q_j$; the breakpoints are sorted per example.
2. On the pieces of layer 1, $a_2=W_2(\tau)(D_1\odot a_1)+b_2(\tau)$ is quadratic and consecutive pieces
   differ by one neuron: a **rank-one update** $\pm W_2(\tau)_{:,j}\,a_{1,j}(\tau)$ of the coefficients
   (a cumulative sum over the sorted flips), instead of a matrix product per piece.
3. Deeper layers: the sign-changing roots of $a_\ell$ on each piece
   ([`mlitheory.piecewise.roots`][mlitheory.piecewise.roots], after a screen by the values at the piece ends and the
   curvature) refine the pieces; $a_{\ell+1}$ follows on the refined pieces from the masked coefficients by one matrix
   product per coefficient.

The pieces are exactly those of the general engine (`mlitheory.piecewise._graph`), which the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import fx, nn

from mlitheory._model import ModelView
from mlitheory.paths import ParameterPath
from mlitheory.piecewise._poly import derivative, gamma, horner, horner_bound, pick, shift
from mlitheory.piecewise._sweep import edge_of
from mlitheory.piecewise.roots import sign_changes

Tensor = torch.Tensor
_PASS = (nn.Identity, nn.Dropout, nn.Flatten)
_BUDGET = 2**25  # floats of the rank-one tensors of one chunk of examples


@dataclass
class Layer:
    """``W(α) = W0 + α·W1``, ``b(α) = b0 + α·b1`` (``W1``/``b1`` ``None`` when constant); ``slope`` of the
    activation after it (``None`` for the output layer)."""

    w0: Tensor
    w1: Tensor | None
    b0: Tensor | None
    b1: Tensor | None
    slope: float | None

    def at(self, g: float) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """(W(g), Ẇ, b(g), ḃ) with zeros for constant parts."""
        w = self.w0 if self.w1 is None else self.w0 + g * self.w1
        wd = torch.zeros_like(self.w0) if self.w1 is None else self.w1
        if self.b0 is None:
            return w, wd, None, None
        b = self.b0 if self.b1 is None else self.b0 + g * self.b1
        bd = torch.zeros_like(self.b0) if self.b1 is None else self.b1
        return w, wd, b, bd


def _affine(path: ParameterPath, key: str, overrides) -> tuple[Tensor, Tensor | None] | None:
    c = path.coefficients.get(key)
    if c is None:
        return None
    if overrides and key in overrides:
        return overrides[key], None
    if c.is_constant:
        return path.state(0.0)[key], None
    if c.power != 1:
        return None
    d = c.scale * (path.end[key] - path.start[key])
    return path.start[key], (d if bool((d != 0).any()) else None)


def mlp_layers(model: nn.Module, path: ParameterPath, overrides=None) -> list[Layer] | None:
    """The layers of ``model`` if it is a plain chain Linear → ReLU/LeakyReLU → … → Linear on an affine path."""
    with ModelView(model) as view:
        try:
            gm = fx.symbolic_trace(view.module)
        except Exception:
            return None
        mods = dict(view.module.named_modules())
        layers: list[Layer] = []
        prev = None
        expect_linear = True
        for n in gm.graph.nodes:
            if n.op == "placeholder":
                if prev is not None:
                    return None
                prev = n
                continue
            if n.op == "output":
                if n.args[0] is not prev or expect_linear or not layers:
                    return None
                break
            if n.op != "call_module" or len(n.args) != 1 or n.kwargs or n.args[0] is not prev:
                return None
            m = mods[n.target]
            prev = n
            if isinstance(m, _PASS):
                if isinstance(m, nn.Flatten) and (layers or m.start_dim != 1 or m.end_dim != -1):
                    return None
                continue
            if isinstance(m, nn.Linear):
                if not expect_linear:
                    return None
                p = f"{n.target}."
                w = _affine(path, p + "weight", overrides)
                b = _affine(path, p + "bias", overrides) if m.bias is not None else (None, None)
                if w is None or b is None:
                    return None
                layers.append(Layer(w[0], w[1], b[0], b[1], None))
                expect_linear = False
                continue
            if isinstance(m, (nn.ReLU, nn.LeakyReLU)):
                if expect_linear or not layers:
                    return None
                layers[-1].slope = float(m.negative_slope) if isinstance(m, nn.LeakyReLU) else 0.0
                expect_linear = True
                continue
            return None
        if not layers or layers[-1].slope is not None:
            return None
        return layers


def _poly_matmul(x: Tensor, w: Tensor, wd: Tensor, b: Tensor | None, bd: Tensor | None) -> Tensor:
    """Coefficients of ``(W + τẆ) x(τ) + b + τḃ`` for ``x`` of shape ``(..., H_in, K)``: ``(..., H_out, K + 1)``."""
    xt = x.transpose(-1, -2).reshape(-1, x.shape[-2])  # (… · K, H_in): one matrix product, not a batch of them
    a = (xt @ w.T).reshape(*x.shape[:-2], x.shape[-1], w.shape[0])  # (..., K, H_out)
    d = (xt @ wd.T).reshape(*x.shape[:-2], x.shape[-1], w.shape[0])
    k = x.shape[-1]
    out = x.new_zeros(*x.shape[:-2], w.shape[0], k + 1)
    out[..., :k] += a.transpose(-1, -2)
    out[..., 1:] += d.transpose(-1, -2)
    if b is not None:
        out[..., 0] += b
        out[..., 1] += bd
    return out


def mlp_sweep(layers: list[Layer], x: Tensor, a: float, b: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Pieces ``(example, lo, hi, coefficients (P, k, K))`` of every example (coefficients about each piece's
    centre)."""
    x = x.reshape(x.shape[0], -1).to(torch.float64)
    n = x.shape[0]
    g = 0.5 * (a + b)
    edge = edge_of(a, b)
    w, wd, bb, bd = layers[0].at(g)
    p = x @ w.T + (bb if bb is not None else 0.0)  # a1 = P + τQ, τ = α − g
    q = x @ wd.T + (bd if bd is not None else 0.0)
    if len(layers) == 1:  # a linear model: one piece, degree 1
        ex = torch.arange(n, device=x.device)
        lo = torch.full((n,), a, dtype=torch.float64, device=x.device)
        return ex, lo, torch.full_like(lo, b), torch.stack([p, q], -1)
    root = -p / torch.where(q == 0, torch.ones_like(q), q)
    has = (q != 0) & (root > a - g + edge) & (root < b - g - edge)
    nflip = has.sum(1)
    width = int(max(layer.w0.shape[0] for layer in layers[1:]))
    perm = None
    if n > max(1, _BUDGET // (8 * (int(nflip.max()) + 1) * width)):  # more than one chunk
        # examples in the order of their number of flips: a chunk's tensors are padded to its largest count
        perm = torch.argsort(nflip, stable=True)
        p, q, root, has, nflip = p[perm], q[perm], root[perm], has[perm], nflip[perm]
    outs = []
    i = 0
    while i < n:  # chunks sized by their own number of flips (the rank-one tensors are chunk × flips × width)
        f = int(nflip[i : i + 256].max() if perm is not None else nflip.max()) + 1
        step = max(1, _BUDGET // (8 * f * width))
        sl = slice(i, i + step)
        outs.append(_sweep_chunk(layers, p[sl], q[sl], root[sl], has[sl], a, b, i))
        i += step
    ex, lo, hi, coef = (torch.cat([o[j] for o in outs]) for j in range(4))
    if perm is not None:
        ex = perm[ex]
    if bool((ex[1:] >= ex[:-1]).all()):  # already in the examples' order (one chunk of one hidden layer)
        return ex, lo, hi, coef
    # back to the examples' own order; every example's pieces are consecutive and sorted by α (a stable sort)
    order = torch.argsort(ex, stable=True)
    return ex[order], lo[order], hi[order], coef[order]


def _sweep_chunk(layers: list[Layer], p: Tensor, q: Tensor, root: Tensor, has: Tensor, a: float, b: float, base: int):
    n = p.shape[0]
    dev = p.device
    g = 0.5 * (a + b)
    lo_t, hi_t = a - g, b - g  # the interval in τ = α − g
    edge = edge_of(a, b)
    nflip = has.sum(1)
    nf = int(nflip.max())
    # the sign on the first piece: before the root −sign(Q); without a root the sign at the centre τ = 0
    first_on = torch.where(has, q < 0, p > 0)
    key = torch.where(has, root, torch.full_like(root, float("inf")))
    order = torch.argsort(key, dim=1, stable=True)[:, :nf]
    r_sorted = key.gather(1, order)
    flips = torch.arange(nf, device=dev).unsqueeze(0) < nflip.unsqueeze(1)  # (n, F) real flips
    slope1 = layers[0].slope
    # level-1 pieces, padded: piece m of example e is [bnd[e, m], bnd[e, m + 1]]; pieces m > nflip are empty
    top = torch.full((n, 1), hi_t, dtype=torch.float64, device=dev)
    bnd = torch.cat([torch.full_like(top, lo_t), torch.where(flips, r_sorted, top), top], 1)
    # a2 on the first piece, then rank-one updates in the order of the flips: one plane per coefficient
    w2, w2d, b2, b2d = layers[1].at(g)
    fac = pick(first_on, 1.0, slope1)
    a2 = _poly_matmul(torch.stack([fac * p, fac * q], -1), w2, w2d, b2, b2d)  # (n, H2, 3)
    on = ~first_on.gather(1, order)  # after the flip: on if it was off
    sgn = pick(on, 1.0 - slope1, -(1.0 - slope1)) * flips
    pj, qj = (p.gather(1, order) * sgn).unsqueeze(-1), (q.gather(1, order) * sgn).unsqueeze(-1)
    # a bound of the magnitudes summed into every coefficient (rounding floor of the values): Σ_j |W2||a1| + |b2|
    rr = max(abs(lo_t), abs(hi_t))
    mag = None
    if len(layers) > 2:  # (deeper layers screen their roots against it)
        mag = (p.abs() + rr * q.abs()) @ (w2.abs() + rr * w2d.abs()).T
        if b2 is not None:
            mag = mag + b2.abs() + rr * b2d.abs()
    plo, phi = bnd[:, :-1], bnd[:, 1:]
    valid = (torch.arange(nf + 1, device=dev).unsqueeze(0) <= nflip.unsqueeze(1)) & (phi - plo > edge)
    if len(layers) == 3:
        floor = 2 * mag * gamma(2 * nf + 8)
        ex, lo, hi, coef = _level2_blocked(a2, w2, w2d, order, pj, qj, plo, phi, valid, layers, edge, g, floor)
        centre = 0.5 * (lo + hi)
        return ex + base, lo + g, hi + g, shift(coef, centre.reshape(-1, 1))
    cw, cwd = w2.T[order], w2d.T[order]  # (n, F, H2): columns of W2 in flip order
    if len(layers) == 2:  # one hidden layer: the output's coefficients, one running sum over all three at once
        buf = torch.empty(n, nf + 1, a2.shape[1], 3, dtype=torch.float64, device=dev)
        buf[:, 0] = a2
        torch.mul(cw, pj, out=buf[:, 1:, :, 0])
        torch.mul(cw, qj, out=buf[:, 1:, :, 1])
        buf[:, 1:, :, 1].addcmul_(cwd, pj)
        torch.mul(cwd, qj, out=buf[:, 1:, :, 2])
        del cw, cwd
        for i in range(1, nf + 1):
            buf[:, i] += buf[:, i - 1]
        coef = buf[valid]
        ex = torch.arange(n, device=dev).unsqueeze(1).expand(n, nf + 1)[valid]
        lo, hi = plo[valid], phi[valid]
        centre = 0.5 * (lo + hi)
        return ex + base, lo + g, hi + g, shift(coef, centre.reshape(-1, 1))
    planes = []
    for k in range(3):
        pl = torch.empty(n, nf + 1, a2.shape[1], dtype=torch.float64, device=dev)
        pl[:, 0] = a2[..., k]
        if k == 0:
            torch.mul(cw, pj, out=pl[:, 1:])
        elif k == 1:
            torch.mul(cw, qj, out=pl[:, 1:])
            pl[:, 1:].addcmul_(cwd, pj)
        else:
            torch.mul(cwd, qj, out=pl[:, 1:])
        for i in range(1, nf + 1):  # a running sum along the flips (faster than cumsum over a middle axis)
            pl[:, i] += pl[:, i - 1]
        planes.append(pl)
    del cw, cwd
    ex, lo, hi, coef = _level2(planes, plo, phi, valid, layers, edge, g, 2 * mag * gamma(2 * nf + 8))
    for li in range(3, len(layers)):
        ex, lo, hi, coef = _refine(ex, lo, hi, coef, edge)
        mid = 0.5 * (lo + hi)
        val = horner(coef, mid.reshape(-1, 1))
        fac = pick(val > 0, 1.0, layers[li - 1].slope)
        w, wd, bb, bd = layers[li].at(g)
        coef = _poly_matmul(fac.unsqueeze(-1) * coef, w, wd, bb, bd)
    centre = 0.5 * (lo + hi)
    coef = shift(coef, centre.reshape(-1, 1))  # powers of α − centre
    return ex + base, lo + g, hi + g, coef


def _level2(planes, plo, phi, valid, layers, edge, g, floor):
    """Three or more hidden layers: the layer-2 events on the level-1 pieces (screened by the values at the piece
    ends and the curvature), the refined pieces, and layer 3's pre-activations on them.

    ``floor`` ``(n, H2)`` bounds the rounding of the values (magnitudes summed, times the accumulation factor).
    """
    c0, c1, c2 = planes  # (n, F + 1, H2)
    n, m1, _ = c0.shape
    dev = c0.device
    tl, tr = plo.unsqueeze(-1), phi.unsqueeze(-1)
    # values at the piece starts; the value at a piece's end is the next piece's start value (a2 is continuous)
    vl = torch.addcmul(c1, tl, c2).mul_(tl).add_(c0)
    last = torch.addcmul(c1[:, -1], tr[:, -1], c2[:, -1]).mul_(tr[:, -1]).add_(c0[:, -1])
    vr = torch.cat([vl[:, 1:], last.unsqueeze(1)], 1)
    fl = floor.unsqueeze(1)
    small = torch.minimum(vl.abs(), vr.abs())
    w = (phi - plo).unsqueeze(-1)
    cand = (vl > 0) != (vr > 0)
    cand |= small <= fl
    cand |= c2.abs().mul_(w * w * (0.25 * (1 + gamma(16)))) >= small - fl
    cand &= valid.unsqueeze(-1)
    del small, vr
    e, m, i = cand.nonzero(as_tuple=True)
    del cand
    ex = torch.arange(n, device=dev).unsqueeze(1).expand(n, m1)[valid]
    flat = torch.full((n, m1), -1, dtype=torch.long, device=dev)
    flat[valid] = torch.arange(int(valid.sum()), device=dev)
    lo, hi = plo[valid], phi[valid]
    if e.numel():
        cc = torch.stack([c0[e, m, i], c1[e, m, i], c2[e, m, i]], -1)
        centre = 0.5 * (plo[e, m] + phi[e, m])
        rad = 0.5 * (phi[e, m] - plo[e, m])
        roots = sign_changes(shift(cc, centre), -rad, rad, edge=edge)
        seg = flat[e[roots.index], m[roots.index]]
        cut = centre[roots.index] + roots.root
    else:
        seg = torch.zeros(0, dtype=torch.long, device=dev)
        cut = torch.zeros(0, dtype=torch.float64, device=dev)
    from mlitheory.piecewise._sweep import _split

    return _children_dense(planes, valid, lo, hi, ex, seg, cut, layers, edge, g, lo.numel(), _split)


#: layer-2 neurons per block of the blocked sweep (keeps the block's tensors in cache)
_BLOCK_ELEMS = 2**18


def _level2_blocked(a2, w2, w2d, order, pj, qj, plo, phi, valid, layers, edge, g, floor):
    """Two hidden layers: the layer-2 events and the outputs, one block of layer-2 neurons at a time.

    Per block, the rank-one sums of a2's coefficients along the flips (layout (neurons, n, pieces), summed along
    the last axis), the screen of every (piece, neuron) by the values at the piece ends and the curvature, and that
    block's share of the outputs with every neuron's sign at the piece's midpoint (one matrix product over the
    block's neurons). Then, for the whole chunk at once, the roots of the candidates; where a neuron's sign on a
    level-1 piece's first child (before its own first root) differs from the midpoint's, a rank-one correction of
    that piece's outputs; then the later children by rank-one updates.
    """
    n, m1 = plo.shape
    h2 = a2.shape[1]
    dev = a2.device
    slope = layers[1].slope
    w3, w3d, b3, b3d = layers[2].at(g)
    k = w3.shape[0]
    # layout (neurons, examples, pieces): the gathered columns of W2 come that way, and the outputs of a block are
    # one matrix product over its neurons
    tl, tr = plo.unsqueeze(0), phi[:, -1]  # (1, n, F + 1), (n,)
    w = (phi - plo).unsqueeze(0)
    mid = 0.5 * (plo + phi)
    flat = torch.full((n, m1), -1, dtype=torch.long, device=dev)
    flat[valid] = torch.arange(int(valid.sum()), device=dev)
    w3s = torch.cat([w3, w3d])  # (2k, H2): products with W3(g) and Ẇ3 at once
    acc = [torch.zeros(2 * k, n * m1, dtype=torch.float64, device=dev) for _ in range(3)]
    pjt, qjt = pj.reshape(1, n, -1), qj.reshape(1, n, -1)  # (1, n, F)
    validb = valid.unsqueeze(0)
    bend = w * w * (0.25 * (1 + gamma(16)))
    one = torch.ones((), dtype=torch.float64, device=dev)
    slope_t = torch.full((), slope, dtype=torch.float64, device=dev)
    hb = max(1, min(h2, _BLOCK_ELEMS // max(n * m1, 1)))
    k_cc, k_e, k_i, k_m, k_on = [], [], [], [], []
    of = order.reshape(-1)
    for s0 in range(0, h2, hb):
        rows = slice(s0, min(s0 + hb, h2))
        nb = rows.stop - rows.start
        cw = w2[rows].index_select(1, of).view(nb, n, -1)  # (Hb, n, F): W2(g)[i, j_f]
        cwd = w2d[rows].index_select(1, of).view(nb, n, -1)
        c0 = torch.empty(nb, n, m1, dtype=torch.float64, device=dev)
        c1 = torch.empty_like(c0)
        c2 = torch.empty_like(c0)
        c0[..., 0] = a2[:, rows, 0].T
        c1[..., 0] = a2[:, rows, 1].T
        c2[..., 0] = a2[:, rows, 2].T
        torch.mul(cw, pjt, out=c0[..., 1:])
        torch.mul(cw, qjt, out=c1[..., 1:])
        c1[..., 1:].addcmul_(cwd, pjt)
        torch.mul(cwd, qjt, out=c2[..., 1:])
        del cw, cwd
        c0 = c0.cumsum_(-1)
        c1 = c1.cumsum_(-1)
        c2 = c2.cumsum_(-1)
        vl = torch.addcmul(c1, tl, c2).mul_(tl).add_(c0)  # values at the piece starts (Hb, n, F + 1)
        last = c0[..., -1] + tr * (c1[..., -1] + tr * c2[..., -1])  # the value at the last piece's end
        # a piece's end value is the next piece's start value (a2 is continuous): compare shifted views
        pos = vl > 0
        cand = torch.empty_like(pos)
        torch.ne(pos[..., :-1], pos[..., 1:], out=cand[..., :-1])
        torch.ne(pos[..., -1], last > 0, out=cand[..., -1])
        avl = vl.abs()
        del vl
        small = torch.empty_like(avl)  # min(|value at start|, |value at end|) − floor
        torch.minimum(avl[..., :-1], avl[..., 1:], out=small[..., :-1])
        torch.minimum(avl[..., -1], last.abs(), out=small[..., -1])
        del avl
        small.sub_(floor[:, rows].T.unsqueeze(-1))
        # a bend of the curve as large as the smaller end value (less the floor) could hide two roots; this also
        # takes every end value within the floor of 0 (then small <= 0 <= the bend)
        cand |= c2.abs().mul_(bend) >= small
        cand &= validb
        del small
        i, e, m = cand.nonzero(as_tuple=True)
        del cand
        # a piece that is no candidate has one sign throughout, its start value's; the candidates are corrected
        # below from their midpoints or their first roots
        if e.numel():  # the candidates' roots are found for the whole chunk at once, after the blocks
            k_cc.append(torch.stack([c0[i, e, m], c1[i, e, m], c2[i, e, m]], -1))
            k_e.append(e)
            k_i.append(i + s0)
            k_m.append(m)
            k_on.append(pos[i, e, m])
        fac = pos if slope == 0 else torch.where(pos, one, slope_t)
        del pos
        ws = w3s[:, rows]
        for j, cj in enumerate((c0, c1, c2)):
            acc[j].addmm_(ws, cj.mul_(fac).view(nb, n * m1))
        del c0, c1, c2, fac
    # z = W3(τ) f(τ) + b3(τ): coefficient j of W3(g) f plus coefficient j − 1 of Ẇ3 f
    out = torch.stack([acc[0][:k], acc[1][:k] + acc[0][k:], acc[2][:k] + acc[1][k:], acc[2][k:]], -1)
    del acc
    out = out.view(k, n, m1, 4).permute(1, 2, 0, 3).contiguous()  # (n, F + 1, k, 4)
    if b3 is not None:
        out[..., 0] += b3
        out[..., 1] += b3d
    ex = torch.arange(n, device=dev).unsqueeze(1).expand(n, m1)[valid]
    lo, hi = plo[valid], phi[valid]
    if not k_e:
        return ex, lo, hi, out[valid]
    cc, e, i, m, on_start = (torch.cat(v) for v in (k_cc, k_e, k_i, k_m, k_on))
    centre = mid[e, m]
    rad = 0.5 * (phi[e, m] - plo[e, m])
    roots = sign_changes(shift(cc, centre), -rad, rad, edge=edge)
    ri = roots.index
    cut = centre[ri] + roots.root
    a2i = cc[ri]
    seg, ri_n, turn_on = flat[e[ri], m[ri]], i[ri], horner(derivative(a2i), cut) > 0
    # a candidate's sign on the piece's first child: just before its first root in the piece, or at the midpoint
    # without a root; where it differs from the start value's sign used in the sums, the piece's outputs change by
    # ±(1 − slope) W3(τ)[:, i] a2_i(τ)
    firstr = torch.full((e.numel(),), float("inf"), dtype=torch.float64, device=dev)
    firstr = firstr.scatter_reduce(0, ri, cut, "amin")
    probe = 0.5 * (plo[e, m] + torch.minimum(firstr, phi[e, m]))
    on_first = horner(cc, probe) > 0
    fix = (on_first != on_start).nonzero().squeeze(1)
    if fix.numel():
        sg = pick(on_first[fix], 1.0 - slope, -(1.0 - slope))
        col = torch.stack([w3[:, i[fix]].T, w3d[:, i[fix]].T], -1)  # (C, k, 2): W3(τ)[:, i]
        out.index_put_((e[fix], m[fix]), _mul_poly(col, (sg.unsqueeze(-1) * cc[fix]).unsqueeze(1)), accumulate=True)
    out = out[valid]  # (P1, k, 4)
    if not len(roots):
        return ex, lo, hi, out
    return _children_rank_one(ex, lo, hi, out, seg, cut, ri_n, turn_on, a2i, w3, w3d, slope, edge)


def _children_rank_one(ex, lo, hi, out, seg, cut, ri, turn_on, a2i, w3, w3d, slope, edge):
    """Split the level-1 pieces at the layer-2 flips; each later child adds ±(1 − slope) W3(τ)[:, i] a2_i(τ)."""
    from mlitheory.piecewise._sweep import _split

    dev = lo.device
    pn = lo.numel()
    sg = pick(turn_on, 1.0 - slope, -(1.0 - slope)).unsqueeze(-1)
    col = torch.stack([w3[:, ri].T, w3d[:, ri].T], -1)  # (R, k, 2): W3(τ)[:, i]
    delta = _mul_poly(col, (sg * a2i).unsqueeze(1))  # (R, k, 4)
    parent, nlo, nhi = _split(lo, hi, seg, cut, edge)
    # merge the flips (at cut − edge, so that a flip merged into a nearby cut counts there) with the children
    # (at their lower ends) in (parent, position) order; a child adds the flips of its parent that precede it
    nd = seg.numel()
    pid = torch.cat([seg, parent])
    pos = torch.cat([cut - edge, nlo])
    typ = torch.cat([torch.zeros(nd, dtype=torch.long, device=dev), torch.ones_like(parent)])
    srt = torch.argsort(typ, stable=True)
    srt = srt[torch.argsort(pos[srt], stable=True)]
    srt = srt[torch.argsort(pid[srt], stable=True)]
    is_delta = srt < nd
    gstart = torch.ones_like(is_delta)
    gstart[1:] = pid[srt][1:] != pid[srt][:-1]
    cnt = torch.cumsum(is_delta.to(torch.long), 0)
    base_cnt = torch.cummax(torch.where(gstart, cnt - is_delta.to(torch.long), torch.zeros_like(cnt)), 0).values
    csum = torch.cat(
        [torch.zeros(1, *delta.shape[1:], dtype=delta.dtype, device=dev), torch.cumsum(delta[srt[is_delta]], 0)]
    )
    child = ~is_delta
    child_out = out[parent].clone()
    child_out[srt[child] - nd] += csum[cnt[child]] - csum[base_cnt[child]]
    keep = torch.ones(pn, dtype=torch.bool, device=dev)
    keep[parent] = False
    ex2 = torch.cat([ex[keep], ex[parent]])
    lo2, hi2 = torch.cat([lo[keep], nlo]), torch.cat([hi[keep], nhi])
    out2 = torch.cat([out[keep], child_out])
    order = torch.argsort(lo2, stable=True)
    order = order[torch.argsort(ex2[order], stable=True)]
    return ex2[order], lo2[order], hi2[order], out2[order]


def _mul_poly(a: Tensor, b: Tensor) -> Tensor:
    """Product of polynomials (coefficients in the last axis), broadcasting the leading axes."""
    from mlitheory.piecewise._poly import multiply

    return multiply(a, b)


def _children_dense(planes, valid, lo, hi, ex, seg, cut, layers, edge, g, pn, split):
    """Refined pieces and layer 3's pre-activations from the parent's a2 masked at each child's midpoint."""
    c0, c1, c2 = planes
    if seg.numel():
        parent, nlo, nhi = split(lo, hi, seg, cut, edge)
        keep = torch.ones(pn, dtype=torch.bool, device=lo.device)
        keep[parent] = False
        par = torch.cat([torch.arange(pn, device=lo.device)[keep], parent])
        lo2, hi2 = torch.cat([lo[keep], nlo]), torch.cat([hi[keep], nhi])
        order = torch.argsort(lo2, stable=True)
        order = order[torch.argsort(ex[par][order], stable=True)]
        par, lo2, hi2 = par[order], lo2[order], hi2[order]
    else:
        par, lo2, hi2 = torch.arange(pn, device=lo.device), lo, hi
    pe, pm = torch.nonzero(valid, as_tuple=True)
    pe, pm = pe[par], pm[par]
    mid = (0.5 * (lo2 + hi2)).unsqueeze(-1)
    a2 = torch.stack([c0[pe, pm], c1[pe, pm], c2[pe, pm]], -1)  # (P, H2, 3)
    fac = pick(horner(a2, mid) > 0, 1.0, layers[1].slope)
    w3, w3d, b3, b3d = layers[2].at(g)
    return ex[par], lo2, hi2, _poly_matmul(fac.unsqueeze(-1) * a2, w3, w3d, b3, b3d)


def _refine(ex: Tensor, lo: Tensor, hi: Tensor, coef: Tensor, edge: float):
    """Cut the pieces at the sign-changing roots of the pre-activations ``coef`` ``(P, H, K)`` (τ basis)."""
    pn, _h, k = coef.shape
    v_lo = horner(coef, lo.reshape(-1, 1))
    v_hi = horner(coef, hi.reshape(-1, 1))
    e_lo = horner_bound(coef, lo.reshape(-1, 1))
    e_hi = horner_bound(coef, hi.reshape(-1, 1))
    cand = (torch.sign(v_lo) != torch.sign(v_hi)) | (v_lo.abs() <= e_lo) | (v_hi.abs() <= e_hi)
    if k > 2:
        # a same-sign pair of ends can hide two roots only if the curve bends by more than the smaller end value
        # |p − chord| <= max|p″| w²/8 on the piece, max|p″| <= Σ_i i(i−1)|c_i| R^{i−2}, R = max(|lo|, |hi|)
        w = (hi - lo).reshape(-1, 1)
        r = torch.maximum(lo.abs(), hi.abs()).reshape(-1, 1)
        curv = torch.zeros_like(v_lo)
        for i in range(k - 1, 1, -1):
            curv = curv * r + (i * (i - 1)) * coef[..., i].abs()
        bend = curv * w * w * 0.125
        cand |= bend * (1 + gamma(4 * k)) >= torch.minimum(v_lo.abs(), v_hi.abs())
    pi, hj = cand.nonzero(as_tuple=True)
    if pi.numel() == 0:
        return ex, lo, hi, coef
    c = coef[pi, hj]
    centre = 0.5 * (lo[pi] + hi[pi])
    cl = shift(c, centre)  # local basis for the root search
    rad = 0.5 * (hi[pi] - lo[pi])
    roots = sign_changes(cl, -rad, rad, edge=edge)
    if not len(roots):
        return ex, lo, hi, coef
    seg = pi[roots.index]
    cut = centre[roots.index] + roots.root
    from mlitheory.piecewise._sweep import _split

    parent, nlo, nhi = _split(lo, hi, seg, cut, edge)
    keep = torch.ones(pn, dtype=torch.bool, device=lo.device)
    keep[parent] = False
    ex2 = torch.cat([ex[keep], ex[parent]])
    lo2 = torch.cat([lo[keep], nlo])
    hi2 = torch.cat([hi[keep], nhi])
    coef2 = torch.cat([coef[keep], coef[parent]])
    order = torch.argsort(lo2, stable=True)
    order = order[torch.argsort(ex2[order], stable=True)]
    return ex2[order], lo2[order], hi2[order], coef2[order]
