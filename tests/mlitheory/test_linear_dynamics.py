"""Two-layer linear dynamics: closed form against the solve_ivp integrator and against Saxe's sigmoid."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlitheory.linear_dynamics import (
    GradientFlowResult,
    balanced_mode_strength,
    decoupled_init,
    decoupled_modes,
    gaussian_init,
    gradient_flow,
    linear_loss,
    mode_closed_form,
    problem_from_data,
    problem_from_sigma,
    random_problem,
    whiten_inputs,
)
from tests.strategies import decoupled_factors as _factors
from tests.strategies import decoupled_runs, init_scales, seeds, training_times


@given(decoupled_runs())
def test_closed_form_matches_integrator(run):
    """Closed-form mode dynamics equal solve_ivp (rtol 1e-12) to 1e-10 relative to |a| + |b|, any init."""
    d, m, k, scale, kind, T, seed = run
    rng = np.random.default_rng(seed)
    prob = random_problem(d, m, seed=rng)
    a0, b0 = _factors(kind, k, scale, rng)
    W1, W2, R = decoupled_init(prob, a0, b0, h=k + 1, seed=rng)
    ts = np.array([T / 3, T])
    gf = gradient_flow(prob, W1, W2, ts)
    a_int, b_int = decoupled_modes(prob, gf.W1, gf.W2, R)
    a_cf, b_cf = mode_closed_form(a0, b0, prob.s[:k], ts)
    size = np.abs(a_cf) + np.abs(b_cf)
    assert np.max(np.abs(a_int - a_cf) / size) < 1e-10
    assert np.max(np.abs(b_int - b_cf) / size) < 1e-10
    assert gf.conserved_drift < 1e-12 * max(1.0, scale**2) * k


@given(init_scales, st.floats(0.2, 4.0), training_times)
def test_balanced_closed_form_is_saxe_sigmoid(scale, s, T):
    """Balanced case a = b: u = ab equals Saxe's sigmoid s e^{2st}/(e^{2st} − 1 + s/u0)."""
    u_cf = mode_closed_form(scale, scale, s, T)
    u = u_cf[0] * u_cf[1]
    expected = balanced_mode_strength(scale**2, s, T)
    assert u == pytest.approx(float(expected), rel=1e-12)
    # Saxe's formula in its original (overflow-prone) form, where it is finite
    if 2 * s * T < 600:
        E = np.exp(2 * s * T)
        assert u == pytest.approx(s * E / (E - 1 + s / scale**2), rel=1e-11)


@given(decoupled_runs())
def test_conserved_quantity_and_no_overshoot(run):
    """a² − b² is conserved and u = ab moves monotonically towards s without crossing it."""
    _, _, k, scale, kind, T, seed = run
    rng = np.random.default_rng(seed)
    a0, b0 = _factors(kind, k, scale, rng)
    s = rng.uniform(0.5, 3.0, k)
    ts = np.linspace(0.0, max(T, 1e-3), 60)
    a, b = mode_closed_form(a0, b0, s, ts)
    c = a * a - b * b
    assert np.allclose(c, a0 * a0 - b0 * b0, rtol=1e-12, atol=1e-13 * (1 + scale**2))
    u = a * b
    tol = 1e-12 * (np.abs(u).max(axis=0) + s)
    toward = np.sign(s - u[0])
    assert np.all(toward * np.diff(u, axis=0) >= -tol)  # monotone towards s
    assert np.all(toward * (s - u) >= -tol)  # never crosses s


@given(seeds)
def test_ode_residual_by_finite_differences(seed):
    """The closed form solves τȧ = b(s − ab), τḃ = a(s − ab): five-point stencil in float64.

    Error bound: truncation h⁴/30·|a⁽⁵⁾| with the Cauchy estimate |a⁽ⁿ⁾| ≤ n!·M·(K/τ)ⁿ (M = |a| + |b|,
    K = 2(a² + b²) + s bounds the rate of the polynomial vector field), plus round-off 3·eps·M/h.
    """
    rng = np.random.default_rng(seed)
    a0, b0 = rng.uniform(-1.0, 1.0, 3), rng.uniform(-1.0, 1.0, 3)
    s, tau = rng.uniform(0.5, 2.0, 3), 1.0
    t, h = rng.uniform(0.1, 5.0), 2e-3
    ts = t + h * np.array([-2.0, -1.0, 1.0, 2.0])
    A, B = mode_closed_form(a0, b0, s, ts, tau=tau)
    w = np.array([1.0, -8.0, 8.0, -1.0]) / (12 * h)
    da, db = w @ A, w @ B
    a, b = mode_closed_form(a0, b0, s, t, tau=tau)
    M = np.abs(a) + np.abs(b)
    K = 2 * (a0**2 + b0**2 + a**2 + b**2) + s
    tol = h**4 / 30 * 120 * (M + s) * (K / tau) ** 5 + 3e-16 * (M + s) / h
    assert np.all(np.abs(tau * da - b * (s - a * b)) <= tol)
    assert np.all(np.abs(tau * db - a * (s - a * b)) <= tol)


def test_time_zero_and_degenerate_modes():
    """t = 0 returns the initial factors; zero target or zero factors stay put where they must."""
    a0, b0 = np.array([0.3, -0.2, 0.0, 0.5]), np.array([0.1, 0.4, 0.0, -0.5])
    s = np.array([1.0, 2.0, 1.0, 0.0])
    a, b = mode_closed_form(a0, b0, s, 0.0)
    assert np.allclose(a, a0, atol=1e-16) and np.allclose(b, b0, atol=1e-16)
    a, b = mode_closed_form(a0, b0, s, 10.0)
    assert a[2] == 0 and b[2] == 0  # a = b = 0 is a fixed point
    # s = 0, a = -b: the mode decays on the saddle manifold, u → 0 from below
    assert a[3] == pytest.approx(-b[3]) and 0 < a[3] < 0.5


def test_generic_gradient_flow_converges_and_conserves():
    """Generic Gaussian init with h ≥ rank reaches Σyx; W1W1ᵀ − W2ᵀW2 is conserved."""
    prob = random_problem(6, 5, seed=3)
    W1, W2 = gaussian_init(6, 7, 5, scale=0.01, seed=4)
    gf = gradient_flow(prob, W1, W2, [10.0, 60.0])
    assert isinstance(gf, GradientFlowResult)
    assert gf.loss[-1] < 1e-20
    assert gf.conserved_drift < 1e-12
    assert linear_loss(prob, gf.W1[-1], gf.W2[-1]) == pytest.approx(gf.loss[-1], abs=1e-25)


def test_whitening_required_or_applied():
    """Non-whitened inputs raise a ValueError that says how to fix it; whiten=True establishes Σxx = I."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4)) @ np.diag([1.0, 2.0, 0.5, 3.0])
    Y = rng.standard_normal((40, 3))
    with pytest.raises(ValueError, match=r"not whitened.*whiten=True"):
        problem_from_data(X, Y)
    prob = problem_from_data(X, Y, whiten=True)
    Xw = X @ prob.whitening
    assert np.allclose(Xw.T @ Xw / 40, np.eye(4), atol=1e-12)
    assert np.allclose(prob.sigma_yx, Y.T @ Xw / 40, atol=1e-14)
    # the Σyx-form loss equals the data MSE/2 (independent computation on the data)
    W1, W2 = gaussian_init(4, 5, 3, scale=0.3, seed=1)
    direct = 0.5 * np.mean(np.sum((Y - Xw @ (W2 @ W1).T) ** 2, axis=1))
    assert linear_loss(prob, W1, W2) == pytest.approx(direct, rel=1e-12)
    # already whitened data passes without the flag
    prob2 = problem_from_data(Xw, Y)
    assert prob2.whitening is None and np.allclose(prob2.sigma_yx, prob.sigma_yx, atol=1e-14)


def test_whiten_inputs_rejects_singular():
    X = np.ones((10, 3))
    with pytest.raises(ValueError, match="singular"):
        whiten_inputs(X)


def test_bad_inputs():
    prob = random_problem(3, 3, seed=0)
    with pytest.raises(ValueError, match="non-negative"):
        mode_closed_form(0.1, 0.1, -1.0, 1.0)
    with pytest.raises(ValueError, match="times t"):
        mode_closed_form(0.1, 0.1, 1.0, -1.0)
    with pytest.raises(ValueError, match="NaN"):
        mode_closed_form(np.nan, 0.1, 1.0, 1.0)
    with pytest.raises(ValueError, match="hidden width"):
        decoupled_init(prob, [0.1, 0.1], [0.1, 0.1], h=1)
    with pytest.raises(ValueError, match="W1"):
        gradient_flow(prob, np.zeros((2, 4)), np.zeros((3, 2)), 1.0)
    with pytest.raises(ValueError, match="same examples"):
        problem_from_data(np.eye(3), np.ones((4, 2)))
    with pytest.raises(ValueError, match="rank"):
        random_problem(3, 3, rank=5)
    with pytest.raises(ValueError, match="scale"):
        gaussian_init(2, 2, 2, scale=0.0)


def test_problem_rank_and_roundtrip(tmp_path):
    prob = random_problem(5, 4, rank=2, seed=1)
    assert prob.rank == 2 and prob.shape == (4, 5)
    assert "rank=2" in prob.summary()
    prob.save(tmp_path / "p")
    back = type(prob).load(tmp_path / "p")
    assert np.array_equal(back.sigma_yx, prob.sigma_yx)
    again = problem_from_sigma(prob.sigma_yx)
    assert np.allclose(again.s, prob.s)
