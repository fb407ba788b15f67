"""Taylor mode against independent truths: closed forms, nested jvp through native layers, finite differences."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mlitheory.paths import homogeneous_bias_path, layerwise_path, linear_path
from mlitheory.taylor import Jet, TaylorForward, jbilinear, nested_jvp_outputs

pytestmark = pytest.mark.usefixtures("float64_default")


EPS = torch.finfo(torch.float64).eps


class Block(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=1)
        self.b1 = nn.BatchNorm2d(c)
        self.c2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(self.b2(self.c2(F.relu(self.b1(self.c1(x))))) + x)


class ResNetLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.block = Block(4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        x = self.block(torch.tanh(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def _randomize(m: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    for mod in m.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            mod.running_mean.copy_(torch.rand(mod.num_features, generator=g) - 0.5)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
            mod.weight.data.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
            mod.bias.data.copy_(torch.rand(mod.num_features, generator=g) - 0.5)
    return m


MODELS = {
    "mlp": (
        lambda: nn.Sequential(
            nn.Flatten(), nn.Linear(12, 7), nn.Tanh(), nn.Linear(7, 6), nn.GELU(), nn.Linear(6, 3), nn.SiLU()
        ),
        (5, 3, 4),
    ),
    "mlp_more_activations": (
        lambda: nn.Sequential(
            nn.Linear(4, 6),
            nn.ELU(),
            nn.Linear(6, 6),
            nn.Softplus(),
            nn.Linear(6, 5),
            nn.LeakyReLU(0.2),
            nn.Linear(5, 5),
            nn.Sigmoid(),
            nn.Dropout(0.3),
            nn.Linear(5, 2),
        ),
        (7, 4),
    ),
    "cnn": (
        lambda: nn.Sequential(
            nn.Conv2d(3, 4, 3),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 5, 2),
            nn.Softplus(),
            nn.AvgPool2d(1),
            nn.Flatten(),
            nn.Linear(5, 3),
        ),
        (5, 3, 7, 7),
    ),
    "resnet_block": (ResNetLike, (4, 3, 6, 6)),
    "bn1d": (
        lambda: nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ELU(), nn.Linear(6, 6), nn.BatchNorm1d(6)),
        (7, 4),
    ),
}


def _pair(name: str):
    make, shape = MODELS[name]
    torch.manual_seed(0)
    m0, m1 = _randomize(make(), 1), _randomize(make(), 2)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(3))
    return m0, m1, x


def _assert_jets_close(jet: Jet, ref: tuple, rel: float = 1e-12) -> None:
    """Agreement to ``rel`` of the largest magnitude of each component (round-off of two evaluation orders)."""
    for got, want, name in zip(jet.dense(), ref, ("z", "z'", "z''")):
        scale = max(1.0, float(want.abs().max()))
        err = float((got - want).abs().max())
        assert err <= rel * scale, f"{name}: error {err:.3e} at scale {scale:.3e}"


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("kind", ["linear", "homogeneous"])
def test_taylor_matches_nested_jvp_with_constant_statistics(name, kind):
    # Eval mode, running statistics held constant: nested jvp runs through PyTorch's native layers,
    # an independent implementation. Both are exact; they differ by round-off (~1e-15 relative).
    m0, m1, x = _pair(name)
    path = linear_path(m0, m1) if kind == "linear" else homogeneous_bias_path(m0, m1)
    tf = TaylorForward(m0, path)
    for alpha in (0.0, 0.3, 1.0, 1.7, -0.4):
        bufs = {k: path.end[k] for k in tf.view.statistic_keys}
        ref = nested_jvp_outputs(m0, path, x, alpha, buffers=bufs)
        _assert_jets_close(tf(x, alpha, bufs), ref)
    assert tf.fallback_nodes == []


def test_layerwise_path_jets():
    m0, m1, x = _pair("resnet_block")
    path = layerwise_path(m0, m1, "block.c2")
    tf = TaylorForward(m0, path)
    bufs = {k: path.end[k] for k in tf.view.statistic_keys}
    _assert_jets_close(tf(x, 0.6, bufs), nested_jvp_outputs(m0, path, x, 0.6, buffers=bufs))


def test_two_layer_linear_network_closed_form():
    # z(α) = W2(α) W1(α) x with W_i(α) = W_i + α Δ_i:  z' = Δ2 W1 x + W2 Δ1 x,  z'' = 2 Δ2 Δ1 x.
    g = torch.Generator().manual_seed(0)
    w = [torch.randn(5, 3, generator=g), torch.randn(2, 5, generator=g)]
    v = [torch.randn(5, 3, generator=g), torch.randn(2, 5, generator=g)]
    model = nn.Sequential(nn.Linear(3, 5, bias=False), nn.Linear(5, 2, bias=False))
    start = {"0.weight": w[0], "1.weight": w[1]}
    end = {"0.weight": v[0], "1.weight": v[1]}
    x = torch.randn(4, 3, generator=g)
    d0, d1 = v[0] - w[0], v[1] - w[1]
    tf = TaylorForward(model, linear_path(start, end))
    for a in (0.0, 0.25, 1.0):
        w0, w1 = w[0] + a * d0, w[1] + a * d1
        z = x @ w0.T @ w1.T
        dz = x @ w0.T @ d1.T + x @ d0.T @ w1.T
        d2z = 2 * x @ d0.T @ d1.T
        _assert_jets_close(tf(x, a), (z, dz, d2z), rel=10 * EPS)


def _fd(fn, alpha: float, h: float = 1e-3):
    """First and second derivatives by Richardson-extrapolated central differences (steps h and h/2)."""

    def c2(s):
        return (fn(alpha + s) - 2 * fn(alpha) + fn(alpha - s)) / s**2

    def c1(s):
        return (fn(alpha + s) - fn(alpha - s)) / (2 * s)

    return (4 * c1(h / 2) - c1(h)) / 3, (4 * c2(h / 2) - c2(h)) / 3


def _fd_tolerances(fn, alpha: float, h: float = 1e-3) -> tuple[float, float]:
    """Error bounds of :func:`_fd`: the truncation error is O(h⁴), estimated a posteriori by the change from
    step 2h to h (which is ≈ 15× the error at h), plus round-off: each quotient errs by ≲ 4·eps·|z|/s (first
    derivative) or 4·eps·|z|/s² (second) at s = h/2, amplified 5/3 by the extrapolation."""
    d1h, d2h = _fd(fn, alpha, h)
    d1H, d2H = _fd(fn, alpha, 2 * h)
    m = float(fn(alpha).abs().max())
    r1, r2 = 5 / 3 * 4 * EPS * m / (h / 2), 5 / 3 * 4 * EPS * m / (h / 2) ** 2
    return float((d1h - d1H).abs().max()) / 15 * 2 + r1, float((d2h - d2H).abs().max()) / 15 * 2 + r2


@pytest.mark.parametrize("mode", ["eval", "batch"])
def test_batch_statistic_norms_against_finite_differences(mode):
    # Layer norm and batch statistics: checked against differences of the plain forward pass, a truth that
    # does not use forward-mode AD at all. Error bound: h⁴·|z⁽⁶⁾|/… + 4·eps·|z|/h² ≈ 1e-9 for h=1e-3.
    torch.manual_seed(1)

    def make():
        return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 5), nn.LayerNorm(5))

    m0, m1 = _randomize(make(), 1), _randomize(make(), 2)
    x = torch.randn(9, 4)
    path = linear_path(m0, m1)
    tf = TaylorForward(m0, path, mode=mode)
    net = make()
    net.train(mode == "batch")
    for mod in net.modules():
        if isinstance(mod, nn.BatchNorm1d):
            mod.track_running_stats = mode == "eval"  # batch mode: normalise by the batch, update nothing

    def z(a: float) -> torch.Tensor:
        with torch.no_grad():
            return torch.func.functional_call(net, path.state(a), (x,))

    d1, d2 = _fd(z, 0.4)
    tol1, tol2 = _fd_tolerances(z, 0.4)
    jet = tf(x, 0.4)
    assert torch.allclose(jet.v, z(0.4), atol=1e-14, rtol=0)
    assert float((jet.d1 - d1).abs().max()) < tol1
    assert float((jet.d2 - d2).abs().max()) < tol2


@pytest.mark.xfail(strict=True, reason="torch 2.13: forward-over-forward AD of native layer_norm is wrong")
def test_native_layer_norm_second_forward_derivative():
    # Documents why nested-jvp fallbacks use composite normalisation layers. When PyTorch fixes this,
    # the strict xfail turns red and the workaround can be revisited.
    g = torch.Generator().manual_seed(0)
    x, v = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    one = torch.ones(())

    def f(t):
        return F.layer_norm(x + t * v, (4,))

    (_, _), (_, d2) = torch.func.jvp(lambda t: torch.func.jvp(f, (t,), (one,)), (torch.zeros(()),), (one,))
    _, fd2 = _fd(lambda a: f(torch.tensor(a)), 0.0)
    assert float((d2 - fd2).abs().max()) < _fd_tolerances(lambda a: f(torch.tensor(a)), 0.0)[1]


def test_recomputed_statistics_jets_against_finite_differences(make_conv_bn_net):
    # The curve evaluated with bn="recompute": z(α) = f(x; θ_α, update_bn statistics at θ_α). Its derivatives
    # carry the jets of every batch mean and variance; the truth is a finite difference of that curve.
    from mlitheory import recompute_statistics

    torch.manual_seed(0)

    def make():
        return make_conv_bn_net(nn.Tanh, nn.Softplus)

    m0, m1 = make(), make()
    x = torch.randn(10, 2, 4, 4)
    bn_data = [torch.randn(6, 2, 4, 4), torch.randn(5, 2, 4, 4)]
    path = linear_path(m0, m1)
    net = make().eval()

    def z(a: float) -> torch.Tensor:
        state = path.state(a)
        state.update(recompute_statistics(m0, state, bn_data))
        with torch.no_grad():
            return torch.func.functional_call(net, state, (x,))

    tf = TaylorForward(m0, path)
    stats = tf.recomputed_statistics(bn_data, 0.4)
    assert stats["1.num_batches_tracked"].item() == 2
    jet = tf(x, 0.4, stats)
    d1, d2 = _fd(z, 0.4)
    tol1, tol2 = _fd_tolerances(z, 0.4)
    assert float((jet.v - z(0.4)).abs().max()) < 1e-14
    assert float((jet.d1 - d1).abs().max()) < tol1
    assert float((jet.d2 - d2).abs().max()) < tol2
    _assert_jets_close(jet, nested_jvp_outputs(m0, path, x, 0.4, buffers=stats))


class Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.norm = nn.LayerNorm(4)
        self.b = nn.Linear(4, 2)

    def forward(self, x):
        h = self.a(x)
        if h.sum() > 0:  # data-dependent control flow: torch.fx cannot trace this
            h = torch.tanh(h)
        return self.b(self.norm(h))


def test_fallbacks_unknown_modules_and_untraceable_models():
    torch.manual_seed(0)
    make = lambda: nn.Sequential(nn.Linear(3, 4), nn.Hardtanh(-0.5, 0.5), nn.Linear(4, 4), nn.Softmax(-1))
    m0, m1 = make(), make()
    x = torch.randn(6, 3)
    path = linear_path(m0, m1)
    tf = TaylorForward(m0, path)
    _assert_jets_close(tf(x, 0.3), nested_jvp_outputs(m0, path, x, 0.3))
    assert set(tf.fallback_nodes) == {"_1", "_3"}  # Hardtanh and Softmax have no rule

    class Scaled(nn.Module):  # a parametrization: the layer's weight is computed from a stored tensor
        def forward(self, w):
            return w * w.norm()

    def make():
        lin = nn.Linear(3, 4)
        nn.utils.parametrize.register_parametrization(lin, "weight", Scaled())
        return nn.Sequential(lin, nn.Tanh(), nn.Linear(4, 2))

    m0, m1 = make(), make()
    path = linear_path(m0, m1)
    assert "0.parametrizations.weight.original" in path.coefficients
    tf = TaylorForward(m0, path)
    _assert_jets_close(tf(x, 0.3), nested_jvp_outputs(m0, path, x, 0.3))

    u0, u1 = Untraceable(), Untraceable()
    path = linear_path(u0, u1)
    tf = TaylorForward(u0, path)
    assert tf.fallback_nodes == ["<model>"]
    net = Untraceable()

    def z(a: float) -> torch.Tensor:
        with torch.no_grad():
            return torch.func.functional_call(net, path.state(a), (x,))

    d1, d2 = _fd(z, 0.3)
    tol1, tol2 = _fd_tolerances(z, 0.3)
    jet = tf(x, 0.3)  # whole model by nested jvp with a composite layer norm: still right
    assert float((jet.d1 - d1).abs().max()) < tol1
    assert float((jet.d2 - d2).abs().max()) < tol2


def test_functional_forward_with_parameters_and_residuals():
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(4, 3))
            self.v = nn.Parameter(torch.randn(4, 4))

        def forward(self, x):
            h = F.relu(F.linear(x, self.w))
            h = h + torch.tanh(h @ self.v.t()) * h
            return torch.cat([h, h.sum(-1, keepdim=True)], dim=-1).view(x.shape[0], -1)

    torch.manual_seed(0)
    m0, m1 = Functional(), Functional()
    x = torch.randn(5, 3)
    path = linear_path(m0, m1)
    tf = TaylorForward(m0, path)
    _assert_jets_close(tf(x, 0.7), nested_jvp_outputs(m0, path, x, 0.7))
    assert tf.fallback_nodes == []


def test_bilinear_rule_is_the_product_rule():
    a = Jet(torch.tensor(2.0), torch.tensor(3.0), torch.tensor(5.0))
    b = Jet(torch.tensor(7.0), torch.tensor(11.0), None)
    out = jbilinear(torch.mul, a, b)
    assert out.v == 14 and out.d1 == 3 * 7 + 2 * 11 and out.d2 == 5 * 7 + 2 * 3 * 11


def test_model_untouched():
    m0, m1, x = _pair("bn1d")
    m0.train()
    before = {k: v.clone() for k, v in m0.state_dict().items()}
    tf = TaylorForward(m0, linear_path(m0, m1), mode="batch")
    tf(x, 0.5)
    nested_jvp_outputs(m0, linear_path(m0, m1), x, 0.5, mode="batch")
    assert m0.training and all(m.training for m in m0.modules())
    assert all(torch.equal(before[k], v) for k, v in m0.state_dict().items())
    assert not any("forward" in vars(m) for m in m0.modules())


def test_leaky_relu_jets_keep_the_slope_in_float64_under_torchs_float32_default():
    # torch.where on two Python numbers gives torch's default dtype: under float32 the slope 0.1 of z′ was rounded
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        m0 = nn.Sequential(nn.Linear(1, 1), nn.LeakyReLU(0.1), nn.Linear(1, 1)).double()
        m1 = nn.Sequential(nn.Linear(1, 1), nn.LeakyReLU(0.1), nn.Linear(1, 1)).double()
        with torch.no_grad():
            for m, w in ((m0, 1.0), (m1, 2.0)):
                m[0].weight.fill_(w), m[0].bias.fill_(-1.0), m[2].weight.fill_(1.0), m[2].bias.fill_(0.0)
        x = torch.full((1, 1), -9.0, dtype=torch.float64)
        # pre-activation −9(1 + α) − 1 < 0 on the whole line: z = 0.1·(−9(1 + α) − 1), z′ = −0.9, z″ = 0 exactly
        z, d1, d2 = TaylorForward(m0, linear_path(m0, m1))(x, 0.5, {}).dense()
        assert float(z) == pytest.approx(-1.45, rel=1e-15) and float(d1) == pytest.approx(-0.9, rel=1e-15)
        assert float(d2) == 0.0
    finally:
        torch.set_default_dtype(old)
