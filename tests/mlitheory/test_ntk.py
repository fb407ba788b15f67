"""NTK machinery: forward pass, empirical NTK, linearisation and GD residuals against independent computations."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given
from hypothesis import strategies as st

from mlitheory.ntk import (
    NTKMLP,
    empirical_ntk,
    gd_residuals,
    gradient_flow_residuals,
    jacobian,
    linearized_outputs,
    model_outputs,
    param_dict,
    stack_params,
    train_gd,
    train_gd_many,
)
from tests.strategies import seeds


def _data(seed, n=6, d=3, k=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, k, generator=g, dtype=torch.float64)


def test_forward_is_the_ntk_parameterisation():
    """One hidden layer, no bias: f(x) = aᵀ tanh(Wx/√d)/√n, written out by hand."""
    X, _ = _data(0)
    m = NTKMLP(3, 7, 1, seed=1)
    W, a = m.weights[0].detach(), m.weights[1].detach()
    expected = torch.tanh(X @ W.T / math.sqrt(3)) @ a.T / math.sqrt(7)
    assert torch.allclose(m(X), expected, atol=1e-15)


@given(seeds, st.integers(1, 3), st.booleans(), st.sampled_from(["tanh", "erf", "sin", "softplus"]))
def test_forward_stacked_matches_forward(seed, depth, bias, act):
    """S networks at once equal S separate functional calls (any depth, bias, activation)."""
    X, _ = _data(seed % 1000, n=4, d=3, k=2)
    m = NTKMLP(3, 5, 2, depth=depth, bias=bias, activation=act, seed=0)
    ps = [param_dict(NTKMLP(3, 5, 2, depth=depth, bias=bias, activation=act, seed=s)) for s in range(3)]
    out = m.forward_stacked(stack_params(ps), X)
    for s, p in enumerate(ps):
        assert torch.allclose(out[s], model_outputs(m, p, X), atol=1e-14)


def test_empirical_ntk_matches_closed_form():
    """Θ(x, x′) = (1/n) Σ_j [φ(w_j·x/√d)φ(w_j·x′/√d) + a_j² φ′φ′ x·x′/d] for a one-hidden-layer tanh net."""
    X, _ = _data(1, n=5, d=3)
    n, d = 11, 3
    m = NTKMLP(d, n, 1, seed=2)
    W, a = m.weights[0].detach(), m.weights[1].detach()[0]
    pre = X @ W.T / math.sqrt(d)
    h, dh = torch.tanh(pre), 1 - torch.tanh(pre) ** 2
    theta = (h @ h.T + ((dh * a**2) @ dh.T) * (X @ X.T) / d) / n
    assert torch.allclose(empirical_ntk(m, X), theta, atol=1e-13)


def test_jacobian_against_central_differences():
    """J v against (f(θ + hv) − f(θ − hv))/2h; the error is O(h²) (third derivative) + O(eps/h)."""
    X, _ = _data(2, n=4, d=3, k=2)
    m = NTKMLP(3, 6, 2, depth=2, bias=True, seed=3)
    p = param_dict(m)
    J = jacobian(m, X, p)
    g = torch.Generator().manual_seed(0)
    v = {k: torch.randn(t.shape, generator=g, dtype=torch.float64) for k, t in p.items()}
    vflat = torch.cat([t.reshape(-1) for t in v.values()])
    h = 1e-5
    fp = model_outputs(m, {k: p[k] + h * v[k] for k in p}, X).reshape(-1)
    fm = model_outputs(m, {k: p[k] - h * v[k] for k in p}, X).reshape(-1)
    assert torch.allclose(J @ vflat, (fp - fm) / (2 * h), atol=1e-8)


def test_jacobian_vmap_path_matches_loop_path(monkeypatch):
    """Many outputs take the jacrev (vmap) path: the same matrix as the per-output loop."""
    import mlitheory.ntk as ntk

    X, _ = _data(3, n=6, d=2, k=2)
    m = NTKMLP(2, 3, 2, depth=2, bias=True, seed=0)
    J_small = jacobian(m, X)
    monkeypatch.setattr(ntk, "_LOOP_MAX_OUTPUTS", 4)
    J_big = jacobian(m, X)
    assert torch.allclose(J_big, J_small, atol=1e-14)


def test_linearized_outputs():
    """f_lin(θ) = f(θ₀) + J₀(θ − θ₀) (against the Jacobian), and f − f_lin = O(‖θ − θ₀‖²)."""
    X, _ = _data(4)
    m = NTKMLP(3, 9, 1, seed=5)
    p0 = param_dict(m)
    J = jacobian(m, X, p0)
    g = torch.Generator().manual_seed(1)
    d = {k: torch.randn(v.shape, generator=g, dtype=torch.float64) for k, v in p0.items()}
    dflat = torch.cat([t.reshape(-1) for t in d.values()])
    errs = []
    for s in (1e-2, 1e-3):
        p = {k: p0[k] + s * d[k] for k in p0}
        lin = linearized_outputs(m, p0, p, X)
        assert torch.allclose(lin.reshape(-1), model_outputs(m, p0, X).reshape(-1) + s * (J @ dflat), atol=1e-14)
        errs.append(float((model_outputs(m, p, X) - lin).abs().max()))
    assert errs[1] < errs[0] / 50  # quadratic remainder: ratio ≈ 100


@given(seeds, st.integers(1, 20), st.floats(0.05, 1.9))
def test_gd_residuals_closed_form_equals_iterated_gd(seed, T, frac):
    """r_T = (I − ηΘ)^T r₀ equals T explicit GD steps on the linearised model (autograd, float64)."""
    X, Y = _data(seed % 997, n=5, d=3)
    m = NTKMLP(3, 8, 1, seed=seed % 13)
    p0 = param_dict(m)
    theta = empirical_ntk(m, X, p0)
    eta = frac / float(torch.linalg.eigvalsh(theta)[-1])
    r0 = (model_outputs(m, p0, X) - Y).reshape(-1)
    p = {k: v.clone() for k, v in p0.items()}

    def loss(q):
        r = linearized_outputs(m, p0, q, X) - Y
        return 0.5 * torch.sum(r * r)

    for _ in range(T):
        g = torch.func.grad(loss)(p)
        p = {k: p[k] - eta * g[k] for k in p}
    rT = (linearized_outputs(m, p0, p, X) - Y).reshape(-1)
    closed = gd_residuals(theta, r0, eta, T)
    scale = float(r0.norm())
    assert torch.allclose(closed, rT, atol=1e-11 * scale * T)
    assert torch.allclose(gd_residuals(theta, r0, eta, [0, T])[1], closed, atol=1e-14 * scale)


def test_gradient_flow_residuals_equal_expm():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 4))
    theta, r0 = A @ A.T, rng.standard_normal(6)
    for t in (0.0, 0.3, 5.0):
        expected = scipy.linalg.expm(-theta * t) @ r0
        assert np.allclose(gradient_flow_residuals(theta, r0, t).numpy(), expected, atol=1e-12)


def test_train_gd_converges_and_leaves_the_model_alone():
    X, Y = _data(5)
    m = NTKMLP(3, 32, 1, seed=0)
    before = param_dict(m)
    res = train_gd(m, X, Y, target_loss=1e-10)
    assert res.converged and res.final_loss < 1e-10
    assert res.eta == pytest.approx(1 / res.lambda_max) and res.eta_lambda_max == pytest.approx(1.0)
    assert res.loss_history[0] == pytest.approx(res.initial_loss)
    assert all(torch.equal(before[k], v) for k, v in param_dict(m).items())


def test_diverging_step_is_stopped_and_reported():
    """η = 5/λ_max (beyond 2/λ_max, and beyond the catapult range of wide nets): training stops within a few
    steps with status 'diverged' instead of looping."""
    X, Y = _data(6)
    m = NTKMLP(3, 256, 1, seed=0)
    res = train_gd(m, X, Y, eta_scale=5.0, max_steps=100_000)
    assert res.status == "diverged" and res.steps < 500
    assert res.eta_lambda_max == pytest.approx(5.0)
    many = train_gd_many(m, X, Y, [param_dict(NTKMLP(3, 256, 1, seed=s)) for s in range(2)], eta_scale=5.0)
    assert [r.status for r in many] == ["diverged", "diverged"]
    assert all(r.steps < 500 for r in many)


def test_train_gd_many_equals_train_gd():
    """The batched trainer follows each run exactly as the functional single-run trainer does."""
    X, Y = _data(7)
    m = NTKMLP(3, 16, 1, seed=0)
    ps = [param_dict(NTKMLP(3, 16, 1, seed=s)) for s in (3, 4)]
    many = train_gd_many(m, X, Y, ps, target_loss=1e-6)
    for p, r in zip(ps, many):
        single = train_gd(m, X, Y, params0=p, target_loss=1e-6)
        assert single.steps == r.steps and single.status == r.status
        for k in p:
            assert torch.allclose(single.params[k], r.params[k], atol=1e-10)


def test_bad_inputs():
    with pytest.raises(ValueError, match="width must be positive"):
        NTKMLP(3, 0)
    with pytest.raises(ValueError, match="width"):
        NTKMLP(3, [4, -1])
    with pytest.raises(TypeError, match="int"):
        NTKMLP(3, 2.5)
    with pytest.raises(ValueError, match="activation"):
        NTKMLP(3, 4, activation="gelu9")
    with pytest.raises(ValueError, match="steps"):
        gd_residuals(np.eye(2), np.ones(2), 0.1, -1)
    with pytest.raises(ValueError, match="square"):
        gd_residuals(np.ones((2, 3)), np.ones(2), 0.1, 1)
    X, Y = _data(0)
    with pytest.raises(ValueError, match="eta"):
        train_gd(NTKMLP(3, 4), X, Y, eta=-1.0)
    with pytest.raises(TypeError, match="NTKMLP"):
        train_gd_many(torch.nn.Linear(3, 1), X, Y, [])
