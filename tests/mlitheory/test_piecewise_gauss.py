"""Exact Gauss length with corners, against closed forms, known exterior angles and inscribed polygons (Milnor)."""

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from mlitheory import exact_gauss_length, logit_gauss_length, piecewise_logit_path
from mlitheory.paths import linear_path
from mlitheory.piecewise import gauss as gauss_module
from mlitheory.piecewise.gauss import path_gauss_length
from mlitheory.piecewise.theorem import polygon, random_polygon
from tests.strategies import seeds

pytestmark = pytest.mark.usefixtures("float64_default")


def _angle(u, v):
    u, v = u / np.linalg.norm(u), v / np.linalg.norm(v)
    return 2 * math.atan2(np.linalg.norm(u - v), np.linalg.norm(u + v))


def _polygon_turning(z):
    """Σ of the turning angles of the polygon through the rows of z (Milnor: a lower bound of G)."""
    d = np.diff(z, axis=0)
    n = np.linalg.norm(d, axis=1)
    u = d[n > 0] / n[n > 0, None]
    a, b = u[:-1], u[1:]
    return float((2 * np.arctan2(np.linalg.norm(a - b, axis=1), np.linalg.norm(a + b, axis=1))).sum())


@given(seeds)
def test_polygons_have_their_exterior_angles(seed):
    rng = np.random.default_rng(seed)
    verts = rng.standard_normal((int(rng.integers(3, 8)), int(rng.integers(2, 6))))
    g = path_gauss_length(polygon(verts), concatenated=False)
    legs = np.diff(verts, axis=0)
    want = [_angle(a, b) for a, b in itertools.pairwise(legs)]
    assert g.smooth_part[0] == 0.0 and g.reversal_part[0] == 0.0
    np.testing.assert_allclose(g.corner_part[0], sum(want), rtol=0, atol=1e-13)
    np.testing.assert_allclose(sorted(a for _, a in g.corners(0)), sorted(want), rtol=0, atol=1e-14)


def test_square_and_a_random_polygon():
    g = path_gauss_length(polygon([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]), concatenated=False)  # 3 corners
    assert abs(g.total[0] - 1.5 * math.pi) < 1e-15
    p = random_polygon(3, 5, turn=1.0, seed=0)
    assert 0 < path_gauss_length(p, concatenated=False).total[0] < 2.0


def test_linear_network_has_zero_gauss_length():
    torch.manual_seed(0)
    a, b = nn.Linear(4, 3).double(), nn.Linear(4, 3).double()
    g = exact_gauss_length(a, a, b, torch.randn(6, 4))
    assert np.all(g.total == 0) and g.concatenated == 0.0 and g.n_pieces.tolist() == [1] * 6


def test_two_layer_linear_parabolas_closed_form():
    # z = W2(α)W1(α)x is a parabola: G = ∠(z′(0), z′(1)) per example (one quadratic piece, no quadrature)
    g = torch.Generator().manual_seed(1)
    w1, v1, w2, v2 = (torch.randn(s, generator=g) for s in [(5, 3), (5, 3), (2, 5), (2, 5)])
    x = torch.randn(4, 3, generator=g)
    net = nn.Sequential(nn.Linear(3, 5, bias=False), nn.Linear(5, 2, bias=False))
    s, e = {"0.weight": w1, "1.weight": w2}, {"0.weight": v1, "1.weight": v2}
    d1, d2 = v1 - w1, v2 - w2
    b = (x @ w1.T @ d2.T + x @ d1.T @ w2.T).numpy()
    c2 = (2 * x @ d1.T @ d2.T).numpy()
    res = exact_gauss_length(net, s, e, x)
    want = [_angle(b[i], b[i] + c2[i]) for i in range(4)]
    np.testing.assert_allclose(res.total, want, rtol=0, atol=1e-14)
    np.testing.assert_allclose(res.concatenated, _angle(b.ravel(), (b + c2).ravel()), rtol=0, atol=1e-13)


def test_reversal_adds_pi():
    u = torch.tensor([[0.6], [0.8]])
    net = nn.Sequential(nn.Linear(1, 1, bias=False), nn.Linear(1, 2, bias=False))
    s = {"0.weight": torch.ones(1, 1), "1.weight": u}
    e = {"0.weight": -torch.ones(1, 1), "1.weight": -u}
    res = exact_gauss_length(net, s, e, torch.tensor([[1.0], [-2.0]]))
    np.testing.assert_allclose(res.total, math.pi, atol=1e-15)
    np.testing.assert_allclose(res.reversal_part, math.pi, atol=1e-15)
    assert np.all(res.smooth_part == 0) and abs(res.concatenated - math.pi) < 1e-12


def test_one_hidden_layer_closed_form_angles(seeded_mlp):
    # independent of the pieces: breakpoints −p/q and z′ from the weights; G = Σ ∠(z′(lo), z′(hi)) + Σ corners
    net, other = seeded_mlp((3, 12, 4), seed=3), seeded_mlp((3, 12, 4), seed=4)
    x = torch.randn(3, 3, generator=torch.Generator().manual_seed(0))
    res = exact_gauss_length(other, other, net, x)
    s, e = other.state_dict(), net.state_dict()
    w0, w1 = s["0.weight"].numpy(), e["0.weight"].numpy()
    b0, b1 = s["0.bias"].numpy(), e["0.bias"].numpy()
    v0, v1 = s["2.weight"].numpy(), e["2.weight"].numpy()
    c0, c1 = s["2.bias"].numpy(), e["2.bias"].numpy()
    for i, xi in enumerate(x.numpy()):
        p, q = w0 @ xi + b0, (w1 - w0) @ xi + (b1 - b0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = -p / q
        br = np.sort(r[(r > 0) & (r < 1)])
        edges = np.concatenate([[0.0], br, [1.0]])

        def dz(a, mask, p=p, q=q):
            h, dh = np.where(mask, p + a * q, 0.0), np.where(mask, q, 0.0)
            return (v1 - v0) @ h + (v0 + a * (v1 - v0)) @ dh + (c1 - c0)

        total, prev = 0.0, None
        for lo, hi in itertools.pairwise(edges):
            mask = p + 0.5 * (lo + hi) * q > 0
            a, b = dz(lo, mask), dz(hi, mask)
            total += _angle(a, b) + (0.0 if prev is None else _angle(prev, a))
            prev = b
        assert abs(res.total[i] - total) < 1e-12


@settings(max_examples=3, deadline=None)
@given(seeds)
def test_inscribed_polygons_are_lower_bounds_that_converge(seed):
    # Milnor: the turning of any inscribed polygon is <= G; the polygon through the model's own outputs at 1001 α
    # is one, and dense polygons through the exact pieces (breakpoints included) converge to G
    g = torch.Generator().manual_seed(seed)
    widths = (3, 8, 6, 3)
    layers = []
    for i in range(3):
        layers += [nn.Linear(widths[i], widths[i + 1]), nn.ReLU()]
    net = nn.Sequential(*layers[:-1]).double()
    s = {k: torch.randn(v.shape, generator=g) / 2 for k, v in net.state_dict().items()}
    e = {k: v + torch.randn(v.shape, generator=g) / 2 for k, v in s.items()}
    x = torch.randn(2, 3, generator=g)
    res = exact_gauss_length(net, s, e, x)
    path = linear_path(s, e)
    al = np.linspace(0, 1, 1001)
    with torch.no_grad():
        zs = np.stack([torch.func.functional_call(net, path.state(float(a)), (x,)).numpy() for a in al])
    pp = piecewise_logit_path(net, s, e, x)
    for i in range(2):
        assert _polygon_turning(zs[:, i]) <= res.total[i] + 1e-9
        fine = np.union1d(np.linspace(0, 1, 200_001), pp.breakpoints(i))
        gap = res.total[i] - _polygon_turning(pp.evaluate(fine)[:, i])
        assert -1e-9 <= gap < 1e-3 * (1 + res.total[i])
    assert res.error.max() < 1e-10


def test_kink_blind_part_is_a_lower_bound_and_corners_sit_at_breakpoints(seeded_mlp):
    net, other = seeded_mlp((4, 16, 8, 3), seed=0), seeded_mlp((4, 16, 8, 3), seed=1)
    x = torch.randn(4, 4, generator=torch.Generator().manual_seed(2))
    res = exact_gauss_length(other, other, net, x)
    pp = piecewise_logit_path(other, other, net, x)
    assert np.all(res.smooth_part < res.total) and np.all(res.corner_part > 0)
    for i in range(4):
        al = np.array([a for a, _ in res.corners(i)])
        assert np.isin(al, pp.breakpoints(i)).all()
    np.testing.assert_allclose(res.total, res.smooth_part + res.reversal_part + res.corner_part, rtol=0, atol=1e-15)
    assert "corners" in str(res)


def test_concatenated_gram_and_direct_forms_agree(seeded_mlp, monkeypatch):
    net, other = seeded_mlp((3, 10, 6, 2), seed=5), seeded_mlp((3, 10, 6, 2), seed=6)
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    pp = piecewise_logit_path(other, other, net, x)
    direct = path_gauss_length(pp)
    monkeypatch.setattr(gauss_module, "_DIRECT", 0)
    gram = path_gauss_length(pp)
    assert direct.concatenated_error < 1e-10 < gram.concatenated_error
    assert abs(direct.concatenated - gram.concatenated) <= gram.concatenated_error + direct.concatenated_error
    # the concatenated curve in ℝ^{Nk}: a dense polygon through it converges from below
    fine = np.union1d(np.linspace(0, 1, 200_001), pp.hi)
    poly = _polygon_turning(pp.evaluate(fine).reshape(len(fine), -1))
    assert -1e-9 <= direct.concatenated - poly < 1e-3


def test_logit_gauss_length_is_exact_for_relu_networks(seeded_mlp):
    net, other = seeded_mlp((4, 12, 3), seed=0), seeded_mlp((4, 12, 3), seed=1)
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    g = logit_gauss_length(net, other, net, x)
    ex = exact_gauss_length(net, other, net, x)
    assert g.method == "exact" and g.converged and g.fallback_nodes == []
    np.testing.assert_array_equal(g.per_example, ex.total)
    assert g.exact is not None and "polynomial pieces" in str(g)
    # a smooth activation: the quadrature as before
    tanh = seeded_mlp((4, 6, 3), act=nn.Tanh, seed=0)
    t = logit_gauss_length(tanh, seeded_mlp((4, 6, 3), act=nn.Tanh, seed=1), tanh, x, tol=1e-6)
    assert t.method == "taylor" and t.exact is None
    with pytest.raises(TypeError, match="Tanh"):
        logit_gauss_length(tanh, tanh, tanh, x, method="exact")


@settings(max_examples=8, deadline=None)
@given(seed=seeds, k=st.integers(min_value=4, max_value=12), deg=st.integers(min_value=3, max_value=5))
def test_smooth_part_in_the_column_space_of_the_velocity(seed, k, deg):
    # the smooth part integrated on the projected curve R v(τ) (z′ = QR v) equals the one integrated in ℝ^k
    # (the integrand evaluated with the full velocity, one integration per piece)
    from mlitheory.piecewise._curvature import _integrand, gk15_rule, smooth_parts
    from mlitheory.piecewise._poly import derivative

    rng = np.random.default_rng(seed)
    c = torch.from_numpy(rng.normal(size=(6, k, deg + 1)))
    c[:, 0, 1] += 4.0  # speed away from zero
    lo, hi = torch.full((6,), -0.3, dtype=torch.float64), torch.full((6,), 0.4, dtype=torch.float64)
    val, err = smooth_parts(c, lo, hi, tol=1e-13)
    # reference: composite GK15 on 64 sub-intervals with the velocity in ℝ^k
    x, wk, _ = gk15_rule()
    edges = torch.linspace(-0.3, 0.4, 65, dtype=torch.float64)
    half, mid = 0.5 * (edges[1:] - edges[:-1]), 0.5 * (edges[1:] + edges[:-1])
    nodes = (mid.unsqueeze(1) + half.unsqueeze(1) * x).reshape(1, -1).expand(6, -1)
    d1 = derivative(c)
    f = _integrand(d1, derivative(d1), nodes).reshape(6, 64, 15)
    ref = ((f * wk).sum(-1) * half).sum(-1)
    assert ((val - ref).abs() <= err + 1e-11).all()


def test_inner_product_of_polynomial_curves_is_the_summed_product():
    from mlitheory.piecewise._poly import inner, multiply

    rng = np.random.default_rng(0)
    for na, nb in ((1, 1), (3, 2), (2, 4), (5, 5)):
        a, b = torch.from_numpy(rng.normal(size=(7, 4, na))), torch.from_numpy(rng.normal(size=(7, 4, nb)))
        np.testing.assert_allclose(inner(a, b).numpy(), multiply(a, b).sum(1).numpy(), rtol=1e-13, atol=1e-14)


def _bias_free(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(3, 6, bias=False), nn.ReLU(), nn.Linear(6, 6, bias=False), nn.ReLU(), nn.Linear(6, 2, bias=False)
    ).double()


def test_a_speed_below_its_rounding_ends_the_quadrature_with_an_honest_error(monkeypatch):
    # A bias-free net from the zero state: θ_α = αθ₁, so z(α) = α³ f(x; θ₁) is a ray (G = 0 exactly), whose speed
    # 3α²‖f‖ vanishes at α = 0. Near there ‖T′‖ is rounding noise that no splitting removes: before, the open
    # sub-intervals doubled every round (millions, out of memory). Now their number is capped and what could not be
    # resolved is in the error, so the reported interval holds the truth.
    from mlitheory.piecewise import _curvature

    monkeypatch.setattr(_curvature, "_MAX_OPEN", 2**12)
    calls = []
    orig = _curvature._integrand

    def counting(d1, d2, tau, **kw):
        calls.append(tau.shape[0])
        return orig(d1, d2, tau, **kw)

    monkeypatch.setattr(_curvature, "_integrand", counting)
    model, end = _bias_free(0), _bias_free(1).state_dict()
    zero = {k: torch.zeros_like(v) for k, v in end.items()}
    x = torch.randn(10, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    g = exact_gauss_length(model, zero, end, x, concatenated=False)
    assert max(calls) <= 2 * 2**12
    assert np.isfinite(g.total).all() and np.isfinite(g.error).all()
    assert (g.total - g.error <= 1e-9).all()  # G = 0 lies inside every example's reported interval
    # a small start (the bias-plateau setting) ends too; an inscribed polygon of the model's own curve turns by at
    # most the curve's total curvature, so it is a lower bound that the reported interval must reach
    small = {k: 1e-3 * v for k, v in _bias_free(3).state_dict().items()}
    g = exact_gauss_length(model, small, end, x, concatenated=False)
    assert np.isfinite(g.total).all() and np.isfinite(g.error).all()
    al = np.unique(np.concatenate([np.linspace(0, 1, 4001), np.geomspace(1e-7, 1, 4001)]))
    path = linear_path(small, end)
    with torch.no_grad():
        z = np.stack([torch.func.functional_call(model, path.state(float(a)), (x,)).numpy() for a in al])
    for i in range(x.shape[0]):
        d = np.diff(z[:, i], axis=0)
        d = d[np.linalg.norm(d, axis=-1) > 0]  # a vertex repeated (the curve standing still) is dropped
        u = d / np.linalg.norm(d, axis=-1, keepdims=True)
        turn = np.arccos(np.clip((u[1:] * u[:-1]).sum(-1), -1, 1)).sum()
        assert g.total[i] + g.error[i] >= turn - 1e-6, (i, g.total[i], turn)
