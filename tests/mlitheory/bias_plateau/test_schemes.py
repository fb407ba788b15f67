"""Bias schemes and identities (1)-(3) (mlitheory.bias_plateau.schemes) against an independent NumPy forward pass
(theory_bias_plateau.md §6 items 1-3)."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call

from mlitheory.bias_plateau import (
    SCHEMES,
    check_deep_linear_identity,
    check_homogeneous_scaling,
    check_output_bias_decomposition,
    interpolate_params,
    layer_depths,
    make_mlp,
    path_loss_error,
)

ALPHAS = [0.1, 0.37, 0.8]


def _numpy_forward(theta, depth, x, relu=True):
    """Independent forward pass: h <- act(W h + b), no activation after the last layer."""
    h = x
    for ell in range(depth):
        W = theta[f"{2 * ell}.weight"]
        b = theta.get(f"{2 * ell}.bias", np.zeros(W.shape[0]))
        h = h @ W.T + b
        if ell < depth - 1 and relu:
            h = np.maximum(h, 0.0)
    return h


def _random_net(depth, seed, *, activation="relu", hidden_bias=True, width=7, d=5, k=3):
    model, theta = make_mlp(d, k, depth=depth, width=width, seed=seed, activation=activation, hidden_bias=hidden_bias)
    g = torch.Generator().manual_seed(seed + 17)
    theta = {
        n: t + torch.randn(t.shape, generator=g, dtype=t.dtype) if n.endswith("bias") else t for n, t in theta.items()
    }
    x = torch.randn(11, d, generator=g, dtype=torch.float64)
    return model, theta, x


def _np(theta):
    return {n: t.numpy() for n, t in theta.items()}


@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize("r", [2, 3, 5])
def test_decomposition_1(activation, r):
    """Bias-free hidden layers, output bias, theta0 = 0: f(x; theta_alpha) = alpha^r g_T(x) + alpha b_T."""
    model, thT, x = _random_net(r, seed=r, activation=activation, hidden_bias=False)
    th0 = {n: torch.zeros_like(t) for n, t in thT.items()}
    depths = layer_depths(model)
    tn, xn = _np(thT), x.numpy()
    fT = _numpy_forward(tn, r, xn, relu=activation == "relu")
    bT = tn[f"{2 * (r - 1)}.bias"]
    for a in ALPHAS:
        lhs = functional_call(model, interpolate_params(th0, thT, a, scheme="linear", depths=depths), (x,)).numpy()
        rhs = a**r * (fT - bT) + a * bT
        assert np.max(np.abs(lhs - rhs)) < 1e-12
    chk = check_output_bias_decomposition(model, thT, x, ALPHAS)
    assert chk.holds and np.all(chk.max_abs_diff < 1e-12)


def test_deep_linear_identity_2():
    """L = 5 linear net with biases in every layer: f(x; alpha theta_T) = alpha^L A x + sum_l alpha^(L-l+1) ..."""
    L = 5
    model, thT, x = _random_net(L, seed=3, activation="linear")
    tn, xn = _np(thT), x.numpy()
    W = [tn[f"{2 * i}.weight"] for i in range(L)]
    b = [tn[f"{2 * i}.bias"] for i in range(L)]
    for a in ALPHAS:
        A = np.linalg.multi_dot(W[::-1])
        rhs = a**L * xn @ A.T
        for ell in range(1, L + 1):
            v = b[ell - 1]
            for Wm in W[ell:]:
                v = Wm @ v
            rhs = rhs + a ** (L - ell + 1) * v
        lhs = _numpy_forward({n: a * t for n, t in tn.items()}, L, xn, relu=False)
        assert np.max(np.abs(lhs - rhs)) < 1e-12
        lib = functional_call(model, {n: a * t for n, t in thT.items()}, (x,)).numpy()
        assert np.max(np.abs(lib - rhs)) < 1e-12
    chk = check_deep_linear_identity(model, thT, x, ALPHAS)
    assert chk.holds and np.all(chk.max_abs_diff < 1e-12)


@pytest.mark.parametrize("L", [1, 2, 4, 6])
def test_homogeneous_scaling_3(L):
    model, thT, x = _random_net(L, seed=L)
    tn, xn = _np(thT), x.numpy()
    fT = _numpy_forward(tn, L, xn)
    for c in [0.1, 0.37, 0.8, 1.7]:
        scaled = {n: (c ** (int(n.split(".")[0]) // 2 + 1) if n.endswith("bias") else c) * t for n, t in tn.items()}
        assert np.max(np.abs(_numpy_forward(scaled, L, xn) - c**L * fT)) < 1e-12 * max(1.0, c**L)
    assert check_homogeneous_scaling(model, thT, x, [0.1, 0.37, 0.8, 1.7]).holds


@given(st.integers(1, 5), st.integers(2, 9), st.integers(0, 10_000), st.sampled_from(["relu", "linear"]))
def test_identities_hold_within_their_round_off_bound(depth, width, seed, activation):
    model, thT, x = _random_net(depth, seed, activation=activation, width=width)
    assert check_homogeneous_scaling(model, thT, x, [0.05, 0.5, 3.0]).holds
    if activation == "linear":
        assert check_deep_linear_identity(model, thT, x, ALPHAS).holds
    model, thT, x = _random_net(depth, seed, activation=activation, width=width, hidden_bias=False)
    assert check_output_bias_decomposition(model, thT, x, ALPHAS).holds


def test_homogeneous_scheme_from_zero_scales_the_output_exactly():
    """With theta0 = 0 the homogeneous path gives alpha^L f_T: the error curve is the final error for alpha > 0."""
    L = 4
    model, thT, x = _random_net(L, seed=5)
    th0 = {n: torch.zeros_like(t) for n, t in thT.items()}
    depths = layer_depths(model)
    fT = functional_call(model, thT, (x,))
    for a in ALPHAS:
        f = functional_call(model, interpolate_params(th0, thT, a, scheme="homogeneous", depths=depths), (x,))
        assert torch.max(torch.abs(f - a**L * fT)) < 1e-13
    y = fT.argmax(1)
    y[0] = (y[0] + 1) % 3  # one point misclassified at the end
    alphas = np.linspace(0, 1, 21)
    _, err = path_loss_error(model, th0, thT, x, y, alphas, scheme="homogeneous")
    assert np.all(err[1:] == pytest.approx(1 / 11, abs=1e-15))


def test_scheme_endpoints_and_eq_last():
    model, th0 = make_mlp(5, 3, depth=3, width=6, seed=0)
    _, thT = make_mlp(5, 3, depth=3, width=6, seed=1)
    thT = {n: t + 1.0 for n, t in thT.items()}
    depths = layer_depths(model)
    for s in SCHEMES:
        p0 = interpolate_params(th0, thT, 0.0, scheme=s, depths=depths)
        assert all(torch.equal(p0[n], th0[n]) for n in th0)
    for s in ("linear", "homogeneous"):
        p1 = interpolate_params(th0, thT, 1.0, scheme=s, depths=depths)
        assert all(torch.equal(p1[n], thT[n]) for n in thT)
    p1 = interpolate_params(th0, thT, 1.0, scheme="eq-last", depths=depths)
    assert torch.allclose(p1["4.bias"], thT["4.bias"].mean().expand(3), rtol=0, atol=1e-15)
    assert all(torch.equal(p1[n], thT[n]) for n in thT if n != "4.bias")
    ph = interpolate_params(th0, thT, 0.5, scheme="homogeneous", depths=depths)
    assert torch.allclose(ph["2.bias"], 0.75 * th0["2.bias"] + 0.25 * thT["2.bias"])  # depth 2: alpha^2
    assert torch.allclose(ph["2.weight"], 0.5 * th0["2.weight"] + 0.5 * thT["2.weight"])


def test_path_loss_error_matches_manual_evaluation_and_mutates_nothing():
    model, th0 = make_mlp(5, 3, depth=3, width=6, seed=0)
    _, thT = make_mlp(5, 3, depth=3, width=6, seed=1, init_scale=3.0)
    before = {n: t.clone() for n, t in thT.items()}
    params_before = [p.clone() for p in model.parameters()]
    x = torch.randn(9, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2] * 3)
    loss, err = path_loss_error(model, th0, thT, x, y, [0.0, 0.5, 1.0])
    for i, a in enumerate([0.0, 0.5, 1.0]):
        f = _numpy_forward({n: (1 - a) * th0[n].numpy() + a * thT[n].numpy() for n in th0}, 3, x.numpy())
        ce = np.mean(np.log(np.exp(f).sum(1)) - f[np.arange(9), y.numpy()])
        assert loss[i] == pytest.approx(ce, rel=1e-13)
        assert err[i] == pytest.approx(np.mean(f.argmax(1) != y.numpy()), abs=1e-15)
    assert all(torch.equal(before[n], thT[n]) for n in thT)
    assert all(torch.equal(p, q) for p, q in zip(params_before, model.parameters()))


def test_bad_models_and_parameters():
    with pytest.raises(TypeError, match=r"nn\.Sequential"):
        layer_depths(nn.Linear(3, 2))
    with pytest.raises(TypeError, match="Tanh"):
        layer_depths(nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 2)))
    model, th0 = make_mlp(5, 3, depth=2, width=4)
    depths = layer_depths(model)
    with pytest.raises(ValueError, match="missing"):
        interpolate_params({}, th0, 0.5, depths=depths)
    with pytest.raises(ValueError, match="unknown scheme"):
        interpolate_params(th0, th0, 0.5, scheme="cubic", depths=depths)
    bad = dict(th0)
    bad["0.weight"] = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="shape"):
        interpolate_params(th0, bad, 0.5, depths=depths)
    x = torch.zeros(3, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match="hidden bias"):
        check_output_bias_decomposition(model, {n: t + 1 for n, t in th0.items()}, x, ALPHAS)
    with pytest.raises(ValueError, match="linear networks"):
        check_deep_linear_identity(model, th0, x, ALPHAS)
    with pytest.raises(ValueError, match="c > 0"):
        check_homogeneous_scaling(model, th0, x, [0.0])
