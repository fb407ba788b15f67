r"""The fast sweep for plain ReLU MLPs on paths affine in α: closed-form breakpoints and rank-one updates.

For :math:`z=W_L(\alpha)\sigma(\cdots\sigma(W_1(\alpha)x+b_1(\alpha))\cdots)+b_L(\alpha)` with every
:math:`W_\ell(\alpha)=W_\ell(g)+(\alpha-g)\dot W_\ell` affine (``g`` the interval's centre), level by level:

1. Layer 1 is affine in α: :math:`a_1=P+\tau Q` (:math:`\tau=\alpha-g`), each neuron flips at most once, at
   :math:`\tau=-P_j/Q_j`; the breakpoints are sorted per example.
2. On the pieces of layer 1, :math:`a_2=W_2(\tau)(D_1\odot a_1)+b_2(\tau)` is quadratic and consecutive pieces
   differ by one neuron: a **rank-one update** :math:`\pm W_2(\tau)_{:,j}\,a_{1,j}(\tau)` of the coefficients
   (a cumulative sum over the sorted flips), instead of a matrix product per piece.
3. Deeper layers: the sign-changing roots of :math:`a_\ell` on each piece (:mod:`mlitheory.piecewise.roots`, after
   a screen by the values at the piece ends and the curvature) refine the pieces; :math:`a_{\ell+1}` follows on the
   refined pieces from the masked coefficients by one matrix product per coefficient.

The pieces are exactly those of the general engine (:mod:`mlitheory.piecewise._graph`), which the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import fx, nn

from mlitheory._model import ModelView
from mlitheory.paths import ParameterPath
from mlitheory.piecewise._poly import gamma, horner, horner_bound, shift
from mlitheory.piecewise._sweep import edge_of
from mlitheory.piecewise.roots import sign_changes

Tensor = torch.Tensor
_PASS = (nn.Identity, nn.Dropout, nn.Flatten)
_BUDGET = 2**24  # floats per intermediate coefficient tensor of one chunk of examples


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
    xt = x.transpose(-1, -2)  # (..., K, H_in)
    a = xt @ w.T  # (..., K, H_out)
    d = xt @ wd.T
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
    widths = [layer.w0.shape[0] for layer in layers]
    per_example = (widths[0] + 1) * max([*widths[1:], 1]) * 4
    chunk = max(1, min(n, _BUDGET // max(per_example, 1)))
    outs = [_sweep_chunk(layers, x[i : i + chunk], a, b, i) for i in range(0, n, chunk)]
    return tuple(torch.cat([o[j] for o in outs]) for j in range(4))  # type: ignore[return-value]


def _sweep_chunk(layers: list[Layer], x: Tensor, a: float, b: float, base: int):
    n = x.shape[0]
    dev = x.device
    g = 0.5 * (a + b)
    lo_t, hi_t = a - g, b - g  # the interval in τ = α − g
    edge = edge_of(a, b)
    w, wd, bb, bd = layers[0].at(g)
    p = x @ w.T + (bb if bb is not None else 0.0)  # a1 = P + τQ
    q = x @ wd.T + (bd if bd is not None else 0.0)
    h1 = p.shape[1]
    with torch.no_grad():
        root = -p / torch.where(q == 0, torch.ones_like(q), q)
        has = (q != 0) & (root > lo_t + edge) & (root < hi_t - edge)
        # the sign on the first piece: before the root −sign(Q); without a root the sign at the centre τ = 0
        first_on = torch.where(has, q < 0, p > 0)
        key = torch.where(has, root, torch.full_like(root, float("inf")))
        order = torch.argsort(key, dim=1, stable=True)
        r_sorted = key.gather(1, order)
        nflip = has.sum(1)
    slope1 = layers[0].slope
    if len(layers) == 1:  # a linear model: one piece, degree 1
        coefs = torch.stack([p, q], -1)
        ex = torch.arange(n, device=dev) + base
        lo = torch.full((n,), a, dtype=torch.float64, device=dev)
        hi = torch.full((n,), b, dtype=torch.float64, device=dev)
        return ex, lo, hi, coefs
    # level-1 pieces, padded: piece m of example e is [bnd[e, m], bnd[e, m + 1]]; pieces m > nflip are empty
    big = torch.full((n, 1), hi_t, dtype=torch.float64, device=dev)
    bnd = torch.cat(
        [
            torch.full((n, 1), lo_t, dtype=torch.float64, device=dev),
            torch.where(torch.isinf(r_sorted), big, r_sorted),
            big,
        ],
        1,
    )
    # a2 on the first piece, then rank-one updates in the order of the flips
    w2, w2d, b2, b2d = layers[1].at(g)
    fac = torch.where(first_on, 1.0, slope1).to(torch.float64)
    a1 = torch.stack([p, q], -1)  # (n, H1, 2)
    a2 = _poly_matmul((fac.unsqueeze(-1) * a1), w2, w2d, b2, b2d)  # (n, H2, 3)
    j = order  # (n, H1): the neuron flipping at step i
    on = ~first_on.gather(1, j)  # after the flip: on if it was off
    sgn = torch.where(on, 1.0 - slope1, -(1.0 - slope1)).to(torch.float64) * has.gather(1, j)
    pj, qj = p.gather(1, j) * sgn, q.gather(1, j) * sgn  # (n, H1)
    cw, cwd = w2.T[j], w2d.T[j]  # (n, H1, H2): columns of W2 in flip order
    delta = torch.stack(
        [cw * pj.unsqueeze(-1), cw * qj.unsqueeze(-1) + cwd * pj.unsqueeze(-1), cwd * qj.unsqueeze(-1)], -1
    )
    coef = torch.cat([a2.unsqueeze(1), delta], 1).cumsum(1)  # (n, H1 + 1, H2, 3): piece m after m flips
    plo, phi = bnd[:, :-1], bnd[:, 1:]
    valid = (torch.arange(h1 + 1, device=dev).unsqueeze(0) <= nflip.unsqueeze(1)) & (phi - plo > edge)
    ex = torch.arange(n, device=dev).unsqueeze(1).expand(n, h1 + 1)[valid]
    lo, hi, coef = plo[valid], phi[valid], coef[valid]  # flat pieces: coef (P, H2, 3)
    for li in range(2, len(layers)):
        layer, prev_slope = layers[li], layers[li - 1].slope
        ex, lo, hi, coef = _refine(ex, lo, hi, coef, edge)
        mid = 0.5 * (lo + hi)
        val = horner(coef, mid.reshape(-1, 1))
        fac = torch.where(val > 0, 1.0, prev_slope).to(torch.float64)
        w, wd, bb, bd = layer.at(g)
        coef = _poly_matmul(fac.unsqueeze(-1) * coef, w, wd, bb, bd)
    centre = 0.5 * (lo + hi)
    coef = shift(coef, centre.reshape(-1, 1))  # powers of α − centre
    return ex + base, lo + g, hi + g, coef


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
