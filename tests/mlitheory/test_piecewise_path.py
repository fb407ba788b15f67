"""Exact piecewise-polynomial logit paths against closed forms, brute force, SymPy and the model's forward pass."""

import copy
import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from mlitheory import PiecewisePath, piecewise_logit_path
from mlitheory.paths import homogeneous_bias_path, layerwise_path, linear_path
from mlitheory.piecewise import Unsupported
from tests.strategies import seeds

pytestmark = pytest.mark.usefixtures("float64_default")


def _rel(z, ref):
    return float(np.abs(z - ref).max() / max(np.abs(ref).max(), 1e-300))


def test_one_hidden_layer_kinks_are_the_rational_roots():
    # x = 1; neuron j: (W1 + b1)(α) = p_j + α q_j with roots r_j = −p_j/q_j ∈ {1/3, 2/5, 5/8, 3/4} (one outside)
    roots = [Fraction(1, 3), Fraction(2, 5), Fraction(5, 8), Fraction(3, 4), Fraction(7, 5)]
    q = [3.0, -5.0, 8.0, -4.0, 5.0]
    p = [-float(r) * qq for r, qq in zip(roots, q)]
    net = nn.Sequential(nn.Linear(1, 5), nn.ReLU(), nn.Linear(5, 2))
    v0 = torch.tensor([[1.0, -2.0, 0.5, 1.5, 1.0], [0.25, 1.0, -1.0, 2.0, -1.0]])
    v1 = v0 + torch.tensor([[0.5, 0.5, -1.0, 0.0, 1.0], [1.0, -0.5, 0.0, 0.25, 0.0]])
    start = {
        "0.weight": torch.zeros(5, 1),
        "0.bias": torch.tensor(p),
        "2.weight": v0,
        "2.bias": torch.tensor([0.1, -0.2]),
    }
    end = {
        "0.weight": torch.tensor(q).reshape(5, 1),
        "0.bias": torch.tensor(p),
        "2.weight": v1,
        "2.bias": torch.zeros(2),
    }
    for engine in ("mlp", "graph"):
        pp = piecewise_logit_path(net, start, end, torch.ones(1, 1), engine=engine)
        want = sorted(float(r) for r in roots if 0 < r < 1)
        np.testing.assert_allclose(pp.breakpoints(0), want, rtol=0, atol=4e-16)
        assert pp.degree == 2 and pp.n_pieces.tolist() == [5]
        # closed form of the output on every piece: Σ_j relu(p_j + α q_j) (v0 + α(v1 − v0))_j + b(α)
        al = np.linspace(0, 1, 101)
        h = np.maximum(np.array(p)[None] + al[:, None] * np.array(q)[None], 0)
        w = v0.numpy()[None] + al[:, None, None] * (v1 - v0).numpy()[None]
        z = np.einsum("mkj,mj->mk", w, h) + (1 - al)[:, None] * np.array([0.1, -0.2])
        np.testing.assert_allclose(pp.evaluate(al)[:, 0], z, rtol=0, atol=1e-14)


def test_a_linear_network_has_no_breakpoints():
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    a, b = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)).double(), net.double()
    pp = piecewise_logit_path(net, a, b, torch.randn(6, 3))
    assert pp.n_pieces.tolist() == [1] * 6 and pp.degree == 2 and pp.engine == "graph"


@pytest.mark.parametrize("widths", [(4, 9, 3), (3, 7, 6, 2), (2, 5, 4, 4, 3)])
@pytest.mark.parametrize("act", [nn.ReLU, lambda: nn.LeakyReLU(0.2)])
def test_mlp_agrees_with_the_forward_pass_and_with_the_general_engine(widths, act, seeded_mlp, forward):
    net = seeded_mlp(widths, act=act, seed=1)
    other = seeded_mlp(widths, act=act, seed=2)
    x = torch.randn(5, widths[0], generator=torch.Generator().manual_seed(3))
    fast = piecewise_logit_path(net, other, net, x)
    slow = piecewise_logit_path(net, other, net, x, engine="graph")
    assert fast.engine == "mlp" and slow.engine == "graph"
    assert fast.n_pieces.tolist() == slow.n_pieces.tolist()
    for i in range(5):
        np.testing.assert_allclose(fast.breakpoints(i), slow.breakpoints(i), rtol=0, atol=1e-13)
    al = np.random.default_rng(0).uniform(0, 1, 40)
    ref = forward(net, linear_path(other, net), x, al)
    assert _rel(fast.evaluate(al), ref) < 1e-12 and _rel(slow.evaluate(al), ref) < 1e-12


def test_derivatives_of_the_pieces(seeded_mlp):
    net, other = seeded_mlp((3, 6, 2), seed=4), seeded_mlp((3, 6, 2), seed=5)
    x = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    pp = piecewise_logit_path(net, other, net, x)
    lo, hi, _, _ = pp.pieces(0)
    a = 0.5 * (lo[0] + hi[0])
    h = 0.25 * (hi[0] - lo[0])  # the piece is a quadratic: central differences inside it are exact
    z = lambda t: pp.evaluate([t])[0, 0]
    np.testing.assert_allclose(pp.evaluate([a], 1)[0, 0], (z(a + h) - z(a - h)) / (2 * h), rtol=1e-10)
    np.testing.assert_allclose(pp.evaluate([a], 2)[0, 0], (z(a + h) - 2 * z(a) + z(a - h)) / h**2, rtol=1e-8)
    assert np.all(pp.evaluate([a], 3) == 0)  # degree 2


def test_cnn_resnet_and_other_paths_agree_with_the_forward_pass(tiny_cnn, tiny_resnet, perturbed, forward):
    x = torch.rand(3, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    al = np.random.default_rng(1).uniform(0, 1, 25)
    for net in (tiny_cnn, tiny_resnet):
        s = net.state_dict()
        e = perturbed(s, 0.3, 7)
        pp = piecewise_logit_path(net, s, e, x)
        assert pp.engine == "graph" and (pp.n_pieces > 1).all()
        assert _rel(pp.evaluate(al), forward(net, linear_path(s, e), x, al)) < 1e-12
    # layer-wise and homogeneous-bias paths (the biases move like α^ℓ: higher degree)
    s = tiny_resnet.state_dict()
    e = perturbed(s, 0.3, 8)
    for path in (layerwise_path(s, e, "a1"), homogeneous_bias_path(s, e)):
        pp = piecewise_logit_path(tiny_resnet, None, None, x, path=path)
        assert _rel(pp.evaluate(al), forward(tiny_resnet, path, x, al)) < 1e-12


def test_batch_norm_in_eval_mode_with_fixed_statistics(perturbed, forward):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2)).double().eval()
    with torch.no_grad():
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.5, 2)
    s = net.state_dict()
    e = perturbed(s, 0.5, 3)
    e["1.running_var"] = s["1.running_var"].clone()  # equal variances: 1/sqrt(σ² + ε) constant along the path
    x = torch.randn(4, 3)
    al = np.linspace(0, 1, 17)
    pp = piecewise_logit_path(net, s, e, x)
    assert _rel(pp.evaluate(al), forward(net, linear_path(s, e), x, al)) < 1e-12
    # moving variance: refused (not a polynomial), unless the end state's statistics are held (bn="none")
    e2 = perturbed(s, 0.5, 4)
    e2["1.running_var"] = s["1.running_var"] + 0.5
    with pytest.raises(Unsupported, match=r"module '1' \(BatchNorm1d\).*running variance moves"):
        piecewise_logit_path(net, s, e2, x)
    pp = piecewise_logit_path(net, s, e2, x, bn="none")
    path = linear_path(s, e2)
    ref = []
    for a in al:
        st_ = path.state(float(a))
        st_.update({k: e2[k] for k in ("1.running_mean", "1.running_var")})
        ref.append(torch.func.functional_call(net, st_, (x,)).detach().numpy())
    assert _rel(pp.evaluate(al), np.stack(ref)) < 1e-12


@pytest.mark.parametrize(
    "module,name",
    [
        (nn.Tanh(), "Tanh"),
        (nn.GELU(), "GELU"),
        (nn.LayerNorm(4), "LayerNorm"),
        (nn.BatchNorm1d(4, track_running_stats=False), "BatchNorm1d"),
    ],
)
def test_unsupported_modules_are_named_and_the_model_is_untouched(module, name):
    net = nn.Sequential(nn.Linear(3, 4), module, nn.Linear(4, 2)).double()
    net.train()
    before = copy.deepcopy(net.state_dict())
    other = copy.deepcopy(net)
    with torch.no_grad():
        other[0].weight.add_(1.0)
    with pytest.raises(Unsupported, match=rf"module '1' \({name}\).*sampled tools"):
        piecewise_logit_path(net, net, other, torch.randn(5, 3))
    assert net.training and all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_bad_arguments_raise_named_errors(seeded_mlp, tiny_cnn):
    net = seeded_mlp((2, 3, 2))
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match="interval"):
        piecewise_logit_path(net, net, net, x, interval=(1.0, 0.0))
    with pytest.raises(ValueError, match="engine"):
        piecewise_logit_path(net, net, net, x, engine="fast")
    with pytest.raises(ValueError, match="engine='mlp'"):
        piecewise_logit_path(tiny_cnn, tiny_cnn, tiny_cnn, torch.rand(2, 1, 6, 6), engine="mlp")
    with pytest.raises(ValueError, match="bn="):
        piecewise_logit_path(net, net, net, x, bn="recompute")
    pp = piecewise_logit_path(net, net, net, x)
    with pytest.raises(ValueError, match="interval"):
        pp.evaluate([1.5])
    with pytest.raises(IndexError, match="example 9"):
        pp.breakpoints(9)


def test_save_load_and_iterable_inputs(seeded_mlp, tmp_path):
    net, other = seeded_mlp((3, 5, 2), seed=0), seeded_mlp((3, 5, 2), seed=1)
    x = torch.randn(6, 3)
    whole = piecewise_logit_path(net, other, net, x)
    batches = piecewise_logit_path(net, other, net, [(x[:2], 0), (x[2:], 1)])
    np.testing.assert_array_equal(whole.lo, batches.lo)
    back = PiecewisePath.load(whole.save(tmp_path / "pp"))
    np.testing.assert_array_equal(back.coefficients, whole.coefficients)
    assert "pieces per example" in str(whole)


@settings(max_examples=6, deadline=None)
@given(seeds)
def test_breakpoints_bracket_every_pattern_change_on_a_million_point_grid(seed):
    # brute force: the activation pattern of every neuron on 10⁶ values of α changes only across a breakpoint, and
    # between two consecutive breakpoints it is constant
    g = torch.Generator().manual_seed(seed)
    w = [torch.randn(6, 2, generator=g), torch.randn(5, 6, generator=g) / 2, torch.randn(2, 5, generator=g) / 2]
    v = [t + torch.randn(t.shape, generator=g) for t in w]
    b = [torch.randn(t.shape[0], generator=g) / 2 for t in w]
    c = [t + torch.randn(t.shape, generator=g) / 2 for t in b]
    net = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    keys = ["0", "2", "4"]
    start = {f"{k}.weight": t for k, t in zip(keys, w)} | {f"{k}.bias": t for k, t in zip(keys, b)}
    end = {f"{k}.weight": t for k, t in zip(keys, v)} | {f"{k}.bias": t for k, t in zip(keys, c)}
    x = torch.randn(1, 2, generator=g)
    pp = piecewise_logit_path(net, start, end, x)
    br = pp.breakpoints(0)
    al = np.linspace(0, 1, 1_000_001)
    xs = x.numpy()[0]
    pats = []
    for s0 in range(0, len(al), 200_000):
        a = al[s0 : s0 + 200_000, None]
        h1 = xs @ w[0].numpy().T + a * (xs @ (v[0] - w[0]).numpy().T) + b[0].numpy() + a * (c[0] - b[0]).numpy()
        r1 = np.maximum(h1, 0)
        h2 = r1 @ w[1].numpy().T + a * (r1 @ (v[1] - w[1]).numpy().T) + b[1].numpy() + a * (c[1] - b[1]).numpy()
        pats.append(np.concatenate([h1 > 0, h2 > 0], 1))
    pat = np.concatenate(pats)
    change = np.nonzero((pat[1:] != pat[:-1]).any(1))[0]  # a change between al[i] and al[i + 1]
    for i in change:
        assert ((br >= al[i] - 1e-12) & (br <= al[i + 1] + 1e-12)).any(), f"pattern change at {al[i]} missed"
    # no change strictly inside a piece (except within one grid step of its ends)
    for lo, hi in zip(np.concatenate([[0.0], br]), np.concatenate([br, [1.0]])):
        inside = (al > lo + 1e-6) & (al < hi - 1e-6)
        if inside.sum() > 1:
            assert (pat[inside] == pat[inside][0]).all()


def _sympy_breakpoints(w1, b1, w1e, b1e, w2, b2, w2e, b2e, x):
    """Breakpoints of a 1-input, two-hidden-layer ReLU net on (0, 1) in exact arithmetic (SymPy)."""
    al = sp.Symbol("alpha", real=True)
    lerp = lambda m0, m1: sp.Matrix(m0) + al * (sp.Matrix(m1) - sp.Matrix(m0))
    h1 = lerp(w1, w1e) * sp.Matrix(x) + lerp(b1, b1e)
    cuts = sorted({r for e in h1 for r in sp.solve(sp.Eq(e, 0), al) if r.is_real and 0 < r < 1})
    edges = [sp.Integer(0), *cuts, sp.Integer(1)]
    out = set(cuts)
    for lo, hi in itertools.pairwise(edges):
        mid = (lo + hi) / 2
        mask = sp.diag(*[1 if e.subs(al, mid) > 0 else 0 for e in h1])
        h2 = sp.expand(lerp(w2, w2e) * mask * h1 + lerp(b2, b2e))
        for e in h2:
            poly = sp.Poly(e, al)
            if poly.degree() < 1:
                continue
            # sign changes are the roots of odd multiplicity (square-free factorisation); tangencies are not
            for factor, mult in sp.sqf_list(poly)[1]:
                if mult % 2 == 1:
                    out.update(r for r in sp.real_roots(factor) if lo < r < hi)
    return sorted(out, key=lambda r: float(r))


@settings(max_examples=4, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_dyadic_weight_net_breakpoints_match_exact_arithmetic(seed):
    # weights k/8: SymPy computes every breakpoint exactly (rational for layer 1, quadratic surds for layer 2)
    rng = np.random.default_rng(seed)
    dy = lambda *s: rng.integers(-16, 17, size=s) / 8
    w1, w1e, b1, b1e = dy(4, 1), dy(4, 1), dy(4), dy(4)
    w2, w2e, b2, b2e = dy(3, 4), dy(3, 4), dy(3), dy(3)
    w3, b3 = dy(1, 3), dy(1)
    x = np.array([[1.0]])
    net = nn.Sequential(nn.Linear(1, 4), nn.ReLU(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
    t = lambda a: torch.tensor(a)
    start = {"0.weight": t(w1), "0.bias": t(b1), "2.weight": t(w2), "2.bias": t(b2), "4.weight": t(w3), "4.bias": t(b3)}
    end = dict(start, **{"0.weight": t(w1e), "0.bias": t(b1e), "2.weight": t(w2e), "2.bias": t(b2e)})
    pp = piecewise_logit_path(net, start, end, torch.tensor(x))
    q = lambda m: [[sp.Rational(int(v * 8), 8) for v in row] for row in np.atleast_2d(m)]
    qv = lambda m: [[sp.Rational(int(v * 8), 8)] for v in m]
    exact = _sympy_breakpoints(q(w1), qv(b1), q(w1e), qv(b1e), q(w2), qv(b2), q(w2e), qv(b2e), [[1]])
    got = pp.breakpoints(0)
    assert len(got) == len(exact)
    np.testing.assert_allclose(got, [float(r) for r in exact], rtol=0, atol=1e-14)


def test_interval_other_than_the_unit_interval(seeded_mlp, forward):
    net, other = seeded_mlp((3, 8, 2), seed=0), seeded_mlp((3, 8, 2), seed=1)
    x = torch.randn(3, 3)
    pp = piecewise_logit_path(net, other, net, x, interval=(-0.5, 1.5))
    al = np.linspace(-0.5, 1.5, 21)
    assert _rel(pp.evaluate(al), forward(net, linear_path(other, net), x, al)) < 1e-12
    assert all(math.isclose(pp.lo[i], -0.5) for i in pp.offsets[:-1])


def test_two_hidden_layers_in_many_blocks_of_neurons(seeded_mlp, monkeypatch):
    # the blocked sweep (layer-2 neurons a few at a time) gives the general engine's pieces whatever the block size
    from mlitheory.piecewise import _mlp

    net, other = seeded_mlp((3, 9, 11, 4), seed=5), seeded_mlp((3, 9, 11, 4), seed=6)
    with torch.no_grad():  # layer-2 neurons 0–2 start at exactly 0 (a sign decided only inside the first piece)
        other[2].weight[:3] = 0.0
        other[2].bias[:3] = 0.0
    x = 2 * torch.randn(7, 3, generator=torch.Generator().manual_seed(8))
    slow = piecewise_logit_path(net, other, net, x, engine="graph")
    for elems in (1, 50, 2**18):
        monkeypatch.setattr(_mlp, "_BLOCK_ELEMS", elems)
        fast = piecewise_logit_path(net, other, net, x)
        assert fast.engine == "mlp" and fast.n_pieces.tolist() == slow.n_pieces.tolist()
        np.testing.assert_allclose(fast.lo, slow.lo, rtol=0, atol=1e-13)
        al = np.random.default_rng(0).uniform(0, 1, 40)
        assert _rel(fast.evaluate(al), slow.evaluate(al)) < 1e-12


@pytest.mark.parametrize("engine", ["mlp", "graph"])
def test_a_leaky_slope_keeps_its_float64_digits_under_torchs_float32_default(engine, forward):
    # A user's session has torch's default dtype float32 (this module's fixture sets float64); torch.where on two
    # Python numbers makes a float32 tensor, which would round the slope 0.1 to 0.10000000149 (a relative 1.5e-8).
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        net = nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.1), nn.Linear(3, 2), nn.LeakyReLU(0.3), nn.Linear(2, 2))
        net = net.double()
        other = copy.deepcopy(net)
        with torch.no_grad():
            for p in other.parameters():
                p.mul_(-1.3).add_(0.2)
        x = torch.tensor([[-9.0, 2.0], [3.0, -4.0], [0.5, 0.25]], dtype=torch.float64)
        pp = piecewise_logit_path(net, net, other, x, engine=engine)
        al = np.linspace(0, 1, 101)
        assert _rel(pp.evaluate(al), forward(net, linear_path(net, other), x, al)) < 1e-14
    finally:
        torch.set_default_dtype(old)


class _Constants(nn.Module):
    """Python numbers in the forward, next to values and parameters: each must enter in float64."""

    def __init__(self):
        super().__init__()
        self.l1, self.l2 = nn.Linear(2, 3), nn.Linear(3, 2)

    def forward(self, x):
        h = F.leaky_relu(self.l1(x) * 0.1 + 0.3, 0.1)
        return F.linear(h, self.l2.weight + 0.1, self.l2.bias) - 0.7


def test_python_numbers_in_the_forward_enter_in_float64_under_torchs_float32_default(forward):
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        torch.manual_seed(0)
        net, other = _Constants().double(), _Constants().double()
        x = torch.randn(4, 2, dtype=torch.float64)
        pp = piecewise_logit_path(net, net, other, x)
        assert pp.engine == "graph"
        al = np.linspace(0, 1, 101)
        assert _rel(pp.evaluate(al), forward(net, linear_path(net, other), x, al)) < 1e-14
    finally:
        torch.set_default_dtype(old)


def test_inputs_that_do_not_fit_and_linear_layers_along_a_trailing_axis(seeded_mlp, forward):
    net, other = seeded_mlp((3, 5, 2), seed=1), seeded_mlp((3, 5, 2), seed=2)
    x = torch.randn(4, 6, 3, generator=torch.Generator().manual_seed(0))  # Linear acts on the last axis: (4, 6, 2)
    pp = piecewise_logit_path(net, net, other, x)  # the MLP sweep would flatten (4, 18): the general engine runs
    assert pp.engine == "graph" and pp.n_outputs == 12
    al = np.linspace(0, 1, 31)
    assert _rel(pp.evaluate(al), forward(net, linear_path(net, other), x, al)) < 1e-12
    with pytest.raises(ValueError, match="engine='mlp' needs"):
        piecewise_logit_path(net, net, other, x, engine="mlp")
    with pytest.raises(ValueError, match=r"inputs of shape \(4, 7\).*do not fit the model"):
        piecewise_logit_path(net, net, other, torch.randn(4, 7))


def test_a_forward_hook_that_changes_the_output_is_refused_and_the_model_keeps_it(seeded_mlp):
    net, other = seeded_mlp((3, 5, 2), seed=1), seeded_mlp((3, 5, 2), seed=2)
    handle = net.register_forward_hook(lambda mod, inp, out: out + 1.0)  # fx tracing does not see hooks
    try:
        with pytest.raises(Unsupported, match="forward hook"):
            piecewise_logit_path(net, net.state_dict(), other.state_dict(), torch.randn(4, 3))
        assert len(net._forward_hooks) == 1
    finally:
        handle.remove()
    quiet = net.register_forward_hook(lambda mod, inp, out: None)  # one that only looks is fine
    try:
        assert piecewise_logit_path(net, net.state_dict(), other.state_dict(), torch.randn(4, 3)).n_examples == 4
    finally:
        quiet.remove()
