"""MLI decided on the continuum: bumps that 50 samples miss, exact SymPy rationals, dense grids, certificates."""

import itertools
import math

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from mlitheory import MLIDecision, decide_mli, exact_gauss_length, interpolate, piecewise_logit_path
from mlitheory.paths import linear_path
from mlitheory.piecewise._poly import derivative, horner
from tests.strategies import seeds

pytestmark = pytest.mark.usefixtures("float64_default")

T0, T1, T2, S = 0.512, 0.520, 0.528, 3.0  # a tent of slope S on [T0, T2], between the samples 25/49 and 26/49


def _tent_net(k: int, first: float):
    """x = 1; neuron 0 has pre-activation (1 − first) + α(2·first − 1) (1 − α or α); neurons 1–3 are α − T_i."""
    net = nn.Sequential(nn.Linear(1, 4), nn.ReLU(), nn.Linear(4, k))
    b0 = torch.tensor([1.0 - first, -T0, -T1, -T2])
    b1 = torch.tensor([first, 1 - T0, 1 - T1, 1 - T2])
    w2 = torch.zeros(k, 4)
    w2[0] = torch.tensor([1.0, -S if first else S, 2 * S if first else -2 * S, -S if first else S])
    s = {"0.weight": torch.zeros(4, 1), "0.bias": b0, "2.weight": w2, "2.bias": torch.zeros(k)}
    return net, s, {**s, "0.bias": b1}


def test_a_bump_between_the_samples_mse():
    # z = (1 − α) + S·tent(α), target −1: L = (z + 1)² rises by exactly L(T1) − L(T0) on [T0, T1]
    net, s, e = _tent_net(1, 0.0)
    x, y = torch.ones(1, 1), -torch.ones(1, 1)
    mse = lambda z, t: ((z - t) ** 2).sum(-1)
    sampled = interpolate(net, s, e, (x, y), alphas=50, loss=mse, metrics=("loss",), progress=False)
    assert sampled.is_monotone()
    d = decide_mli(net, s, e, (x, y), loss="mse")
    z0, z1 = 1 - T0, 1 - T1 + S * (T1 - T0)
    want = (z1 + 1) ** 2 - (z0 + 1) ** 2
    assert not d.monotone and abs(d.min_delta - want) <= d.min_delta_error + 1e-14
    a, b, la, lb = d.witness
    assert abs(a - T0) < 1e-12 and abs(b - T1) < 1e-12 and abs((lb - la) - want) < 1e-12
    assert d.certificate is None and "witness" in str(d)


def test_a_bump_between_the_samples_cross_entropy():
    # logits (f, 0), label 0: CE = softplus(−f) with f = α − S·tent(α) dipping on [T0, T1]
    net, s, e = _tent_net(2, 1.0)
    x, y = torch.ones(1, 1), torch.zeros(1, dtype=torch.long)
    sampled = interpolate(net, s, e, (x, y), alphas=50, progress=False, exact=True)
    assert sampled.is_monotone() and not sampled.is_monotone(exact=True)
    d = sampled.exact
    want = F.softplus(torch.tensor(-(T1 - S * (T1 - T0)))) - F.softplus(torch.tensor(-T0))
    assert abs(d.min_delta - float(want)) <= d.min_delta_error + 1e-14
    assert abs(sampled.min_delta(exact=True) - float(want)) < 1e-12
    assert abs(d.witness[0] - T0) < 1e-9 and abs(d.witness[1] - T1) < 1e-9


@settings(max_examples=4, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_mse_decision_matches_exact_rational_arithmetic(seed):
    # dyadic weights and targets: L is a piecewise polynomial with rational coefficients (SymPy), its exact min Δ is
    # the largest rise between the critical points (roots of L′ per piece) and the breakpoints
    rng = np.random.default_rng(seed)
    dy = lambda *s: rng.integers(-12, 13, size=s) / 4
    w1, b1, b1e, w2, w2e = dy(5, 1), dy(5), dy(5), dy(2, 5), dy(2, 5)
    xs, ys = np.array([[1.0], [-0.5]]), dy(2, 2)
    net = nn.Sequential(nn.Linear(1, 5), nn.ReLU(), nn.Linear(5, 2, bias=False))
    t = torch.tensor
    s = {"0.weight": t(w1), "0.bias": t(b1), "2.weight": t(w2)}
    e = {"0.weight": t(w1), "0.bias": t(b1e), "2.weight": t(w2e)}
    d = decide_mli(net, s, e, (t(xs), t(ys)), loss="mse")
    al = sp.Symbol("a")
    q = lambda v: sp.Rational(round(v * 4), 4)
    total = []
    cuts = set()
    pre = []
    for x in xs[:, 0]:
        h = [q(w1[j, 0]) * q(x) + q(b1[j]) + al * (q(b1e[j]) - q(b1[j])) for j in range(5)]
        pre.append(h)
        cuts |= {r for hj in h for r in sp.solve(hj, al) if 0 < r < 1}
    edges = [sp.Integer(0), *sorted(cuts), sp.Integer(1)]
    cands = set(edges)
    pieces = []
    for lo, hi in itertools.pairwise(edges):
        mid = (lo + hi) / 2
        loss = 0
        for i, h in enumerate(pre):
            act = [hj if hj.subs(al, mid) > 0 else 0 for hj in h]
            for k in range(2):
                z = sum((q(w2[k, j]) + al * (q(w2e[k, j]) - q(w2[k, j]))) * act[j] for j in range(5))
                loss += (z - q(ys[i, k])) ** 2
        loss = sp.expand(loss / 2)
        pieces.append((lo, hi, loss))
        cands |= {r for r in sp.real_roots(sp.Poly(sp.diff(loss, al), al)) if lo < r < hi}
    pts = sorted(cands, key=float)

    def value(a):
        for lo, hi, loss in pieces:
            if lo <= a <= hi:
                return loss.subs(al, a)

    vals = [float(sp.N(value(a), 30)) for a in pts]
    run = np.minimum.accumulate(vals)
    exact = max(0.0, max(v - m for v, m in zip(vals[1:], run[:-1])))
    assert abs(d.min_delta - exact) <= d.min_delta_error + 1e-13
    assert d.monotone == (exact <= d.tol)
    total.append(exact)


@settings(max_examples=6, deadline=None)
@given(seed=seeds, loss=st.sampled_from(["cross_entropy", "mse"]))
def test_decision_against_a_dense_grid(seed, loss, seeded_mlp):
    # the exact min Δ bounds the rise seen on any grid from above, and a fine grid comes close to it
    net, other = seeded_mlp((3, 10, 6, 3), seed=seed % 1000), seeded_mlp((3, 10, 6, 3), seed=seed % 1000 + 1)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 3, generator=g)
    y = torch.randint(0, 3, (8,), generator=g) if loss == "cross_entropy" else torch.randn(8, 3, generator=g)
    d = decide_mli(net, other, net, (x, y), loss=loss)
    al = np.linspace(0, 1, 20_001)
    grid = d.loss(al)
    md_grid = max(0.0, float((grid[1:] - np.minimum.accumulate(grid)[:-1]).max()))
    assert md_grid <= d.min_delta + d.min_delta_error + 1e-12
    assert d.min_delta - md_grid < 1e-4 * (1 + d.min_delta)
    if md_grid > d.tol:
        assert not d.monotone
    # the exact loss is the model's own loss
    path = linear_path(other, net)
    for a in (0.0, 0.37, 1.0):
        with torch.no_grad():
            z = torch.func.functional_call(net, path.state(a), (x,))
        want = F.cross_entropy(z, y) if loss == "cross_entropy" else ((z - y) ** 2).sum(-1).mean()
        assert abs(d.loss([a])[0] - float(want)) < 1e-12 * (1 + abs(float(want)))


def test_theorem3_setting_certified_and_certificate_tiles_the_interval(seeded_mlp):
    # MSE to the end state's own logits: where every example's G (with corners) < π/2, Theorem 3 says the loss
    # decreases strictly, and the decision must certify it
    net = seeded_mlp((4, 12, 3), seed=0)
    gen = torch.Generator().manual_seed(1)  # the perturbation from its own generator: no dependence on test order
    other = {k: v + 0.05 * torch.randn(v.shape, generator=gen, dtype=v.dtype) for k, v in net.state_dict().items()}
    x = torch.randn(10, 4, generator=torch.Generator().manual_seed(0))
    g = exact_gauss_length(net, other, net, x, concatenated=False)
    assert (g.total + g.error < math.pi / 2).all()
    d = decide_mli(net, other, net, (x, torch.zeros(10, 3)), loss="mse", targets="final")
    assert d.monotone and d.strict and d.min_delta == 0.0
    c = d.certificate
    assert c.lo[0] == 0.0 and c.hi[-1] == 1.0 and np.all(c.hi[:-1] == c.lo[1:]) and np.all(c.sign < 0)
    assert c.strict


def test_save_load_and_errors(seeded_mlp, tmp_path):
    net, other = seeded_mlp((3, 6, 2), seed=0), seeded_mlp((3, 6, 2), seed=1)
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
    d = decide_mli(net, other, net, (x, y))
    back = MLIDecision.load(d.save(tmp_path / "d"))
    assert back.monotone == d.monotone and back.min_delta == d.min_delta
    np.testing.assert_allclose(back.loss([0.3]), d.loss([0.3]))
    with pytest.raises(ValueError, match="loss must be"):
        decide_mli(net, other, net, (x, y), loss="hinge")
    with pytest.raises(TypeError, match="integer class labels"):
        decide_mli(net, other, net, (x, torch.randn(4)))
    with pytest.raises(ValueError, match=r"shape \(4, 2\)"):
        decide_mli(net, other, net, (x, torch.randn(4, 3)), loss="mse")
    with pytest.raises(ValueError, match="targets is for loss='mse'"):
        decide_mli(net, other, net, (x, y), targets="final")
    with pytest.raises(ValueError, match="exact='mse'"):
        interpolate(net, other, net, (x, y), loss=lambda z, t: z.sum(), exact=True, progress=False)
    bn = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).double()
    with pytest.raises(ValueError, match="bn='interpolate'"):
        interpolate(bn, bn, bn, (x, y), exact=True, progress=False)


def _slope(pp, y, alphas):
    """ℓ′ per example at ``alphas`` ``(m,)`` from the exact pieces (right derivative), ``(m, N)``."""
    z = torch.from_numpy(pp.evaluate(alphas))
    dz = torch.from_numpy(pp.evaluate(alphas, 1))
    p = torch.softmax(z, -1)
    return (p * dz).sum(-1) - dz.gather(-1, y.reshape(1, -1, 1).expand(len(alphas), -1, 1)).squeeze(-1)


@settings(max_examples=6, deadline=None)
@given(seed=seeds, depth=st.integers(min_value=1, max_value=3))
def test_cross_entropy_fragment_bounds_enclose_the_slope(seed, depth, seeded_mlp):
    # the first-order bounds of ℓ′ on a fragment and the second-order form about its centre hold at every point of
    # the fragment (degree 2, 3, 4 pieces), and the cell bounds of L′ hold at every point of the cell
    from mlitheory.piecewise import piecewise_logit_path
    from mlitheory.piecewise.decide import _CEPieces

    widths = (3, *([7] * depth), 4)
    net, other = seeded_mlp(widths, seed=seed % 1000), seeded_mlp(widths, seed=seed % 1000 + 1)
    g = torch.Generator().manual_seed(seed)
    x = 2 * torch.randn(5, 3, generator=g)
    y = torch.randint(0, 4, (5,), generator=g)
    pp = piecewise_logit_path(net, other, net, x)
    ce = _CEPieces(pp, y)
    rng = np.random.default_rng(seed)
    gp = torch.arange(len(pp.lo))
    lo, hi = torch.from_numpy(pp.lo), torch.from_numpy(pp.hi)
    ab = torch.from_numpy(np.sort(rng.uniform(size=(2, len(gp))), 0))
    ab[:, ::3] = torch.tensor([[0.0], [1.0]])  # every third fragment a whole piece
    fu, fv = lo + ab[0] * (hi - lo), lo + ab[1] * (hi - lo)
    up, dn, grad, curv, rem, rnd, rndc, rho = ce.fragment_bounds(gp, fu, fv)
    s = torch.linspace(0, 1, 41, dtype=torch.float64)
    al = fu.unsqueeze(1) + s * (fv - fu).unsqueeze(1)  # (P, 41) points of each fragment
    cen = torch.from_numpy(pp.centre).unsqueeze(1)
    c = torch.from_numpy(pp.coefficients)
    t = (al - cen).unsqueeze(-1)
    z = horner(c.unsqueeze(1), t)
    dz = horner(derivative(c).unsqueeze(1), t)
    yy = y[ce.ex].reshape(-1, 1, 1).expand(-1, al.shape[1], 1)
    slope = (torch.softmax(z, -1) * dz).sum(-1) - dz.gather(-1, yy).squeeze(-1)  # (P, 41)
    margin = 1e-13 * (1 + slope.abs())
    assert (slope <= up.unsqueeze(1) + margin).all() and (slope >= dn.unsqueeze(1) - margin).all()
    d = al - cen - 0.5 * ((fu - cen.squeeze(1)) + (fv - cen.squeeze(1))).unsqueeze(1)
    assert (d.abs() <= rho.unsqueeze(1)).all()
    resid = (slope - grad.unsqueeze(1) - curv.unsqueeze(1) * d).abs()
    assert (resid <= rem.unsqueeze(1) * d * d + rnd.unsqueeze(1) + rndc.unsqueeze(1) * d.abs() + margin).all()
    # cells of L′ (the mean over examples): random cells, some inside one piece of every example, some across kinks
    edges = torch.from_numpy(np.unique(np.concatenate([[0.0, 1.0], rng.uniform(size=12)])))
    u, v = edges[:-1], edges[1:]
    cu, cd, _ = ce.bounds(u, v)
    pts = (u.unsqueeze(1) + s[1:-1] * (v - u).unsqueeze(1)).reshape(-1)
    mean = _slope(pp, y, pts.numpy()).mean(-1).reshape(len(u), -1)
    m2 = 1e-13 * (1 + mean.abs())
    assert (mean <= cu.unsqueeze(1) + m2).all() and (mean >= cd.unsqueeze(1) - m2).all()


@settings(max_examples=10, deadline=None)
@given(seed=seeds, deg=st.integers(min_value=1, max_value=5))
def test_taylor_sup_bounds_every_derivative(seed, deg):
    # Σ_{i>=j} C(i, j)|b_i|ρ^{i−j} bounds |p^{(j)}|/j! on [−ρ, ρ], for every j, sampled densely
    from mlitheory.piecewise.decide import _scaled_sup

    rng = np.random.default_rng(seed)
    b = torch.from_numpy(rng.normal(size=(20, 3, deg + 1)) * rng.uniform(0.1, 10, size=(20, 1, deg + 1)))
    rho = torch.from_numpy(rng.uniform(0.01, 2, size=20))
    s = rho.unsqueeze(1) * torch.linspace(-1, 1, 201, dtype=torch.float64)  # (20, 201)
    ab = [None] + [b[..., i].abs() for i in range(1, deg + 1)]
    rt = torch.zeros(20, deg + 1, dtype=torch.float64)
    for j in range(1, deg + 1):
        val, err = _scaled_sup(ab, rt, rho, j, per_output=True)
        dj = derivative(b, j) / math.factorial(j)
        sup = horner(dj.unsqueeze(2), s.reshape(20, 1, -1, 1).expand(20, 3, -1, 1)[..., 0]).abs().amax(-1)
        assert (sup <= val * (1 + 1e-12)).all()
        assert (err == 0).all()


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)
        self.b.weight = self.a.weight  # one parameter under two names

    def forward(self, x):
        return self.b(torch.relu(self.a(x)))


def test_tied_weights_are_decided_and_the_rise_is_confirmed_through_the_model():
    torch.manual_seed(0)
    net, other = _Tied().double(), _Tied().double()
    x = torch.randn(6, 3, dtype=torch.float64)
    y = torch.randint(0, 3, (6,))
    d = decide_mli(net, net.state_dict(), other.state_dict(), (x, y))  # the witness runs the model itself
    dense = d.loss(np.linspace(0, 1, 2001))
    rise = max(dense[j] - dense[:j].min() for j in range(1, len(dense)))
    assert d.monotone == (rise <= d.tol) and d.min_delta >= rise - 1e-12
    if not d.monotone:
        assert d.witness[3] - d.witness[2] == pytest.approx(d.min_delta, rel=1e-9)
    f = decide_mli(net, net.state_dict(), other.state_dict(), (x, torch.zeros(6, 3)), loss="mse", targets="final")
    assert f.monotone is not None


def test_pieces_of_another_interval_inputs_or_labels_are_refused(seeded_mlp):
    net, other = seeded_mlp((2, 5, 3), seed=1), seeded_mlp((2, 5, 3), seed=2)
    x = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
    y = torch.arange(8) % 3
    wide = piecewise_logit_path(net, net, other, x, interval=(-0.5, 1.5))
    with pytest.raises(ValueError, match=r"interval \(-0.5, 1.5\).*interval=\(0.0, 1.0\)"):
        decide_mli(net, net, other, (x, y), pieces=wide)
    assert decide_mli(net, net, other, (x, y), pieces=wide, interval=(-0.5, 1.5)).interval == (-0.5, 1.5)
    elsewhere = piecewise_logit_path(net, net, other, x + 1.0)
    with pytest.raises(ValueError, match="do not belong to this model, path and data"):
        decide_mli(net, net, other, (x, y), pieces=elsewhere)
    with pytest.raises(ValueError, match="do not belong"):
        decide_mli(net, other, net, (x, y), pieces=piecewise_logit_path(net, net, other, x))  # the other direction
    with pytest.raises(ValueError, match="8 inputs but 5 labels"):
        decide_mli(net, net, other, (x, y[:5]))


def test_a_witness_that_the_model_does_not_confirm_is_an_error(monkeypatch):
    from mlitheory.piecewise import decide as decide_module

    net, s, e = _tent_net(2, 1.0)
    x, y = torch.ones(1, 1), torch.zeros(1, dtype=torch.long)
    assert not decide_mli(net, s, e, (x, y)).monotone  # confirmed through the model
    real = decide_module._model_loss
    monkeypatch.setattr(decide_module, "_model_loss", lambda *a: [v + 1e-6 for v in real(*a)])
    with pytest.raises(RuntimeError, match="model's own loss at the witness"):
        decide_mli(net, s, e, (x, y))


def test_chunked_bounds_and_quadrature_equal_one_pass(seeded_mlp, monkeypatch):
    """The cross-entropy bounds and the Gauss-length quadrature run in chunks of fragments / pieces; tiny chunks
    (many of them, the last one partial) give the same decision and the same Gauss lengths as one pass."""
    from mlitheory.piecewise import _curvature
    from mlitheory.piecewise import decide as decide_module

    net, other = seeded_mlp((3, 10, 6, 3), seed=5), seeded_mlp((3, 10, 6, 3), seed=6)
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    y = torch.arange(40) % 3
    pp = piecewise_logit_path(net, net.state_dict(), other.state_dict(), x)
    whole_d = decide_mli(net, net.state_dict(), other.state_dict(), (x, y), pieces=pp)
    whole_g = exact_gauss_length(None, None, None, None, pieces=pp)
    monkeypatch.setattr(decide_module, "_FRAGMENTS", 7)
    monkeypatch.setattr(_curvature, "_CHUNK", 5)
    part_d = decide_mli(net, net.state_dict(), other.state_dict(), (x, y), pieces=pp)
    part_g = exact_gauss_length(None, None, None, None, pieces=pp)
    assert part_d.monotone == whole_d.monotone and part_d.min_delta == whole_d.min_delta
    np.testing.assert_array_equal(
        part_d.certificate.lo if part_d.certificate else 0, whole_d.certificate.lo if whole_d.certificate else 0
    )
    np.testing.assert_array_equal(part_g.total, whole_g.total)
    np.testing.assert_array_equal(part_g.error, whole_g.error)
