"""Propositions 1 and 2 (mlitheory.bias_plateau.theory) against hand-built instances, direct evaluation,
autograd and finite differences (reference theory_bias_plateau.md §6, items 4 and 5)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp

from mlitheory.bias_plateau import (
    check_proposition1,
    check_proposition2,
    correct_intervals,
    exact_error_curve,
    exact_error_plateau_length,
    loss_expansion,
    loss_lower_bound,
    path_logits,
    plateau_constants,
    plateau_end,
    plateau_length,
)
from mlitheory.bias_plateau._verify import taylor_coefficients_autodiff
from tests.strategies import bias_plateau_problems

EPS = np.finfo(np.float64).eps

# A hand-built instance with known constants: k = 3, two points per class, b_T = (2, 0.5, 0), so j* = 0,
# delta = 1.5, Delta_max = 2; the largest advantage over class 0 is G = 4 and every final margin is exactly 3.
G_T = np.array([[3, 0, 0], [4, 1, 0], [0, 3, 0], [1, 5, 2], [0, 1, 4], [0, 0, 3]], dtype=np.float64)
B_T = np.array([2.0, 0.5, 0.0])
Y = np.array([0, 0, 1, 1, 2, 2])


def _direct_errors(g, b, y, r, alphas):
    """Number of misclassified points at each alpha, by argmax of explicitly built logits, ties counted as errors
    (independent of the library)."""
    out = []
    for a in alphas:
        z = a**r * g + a * b
        wrong = 0
        for i in range(len(y)):
            zy = z[i, y[i]]
            wrong += any(z[i, j] >= zy for j in range(z.shape[1]) if j != y[i])
        out.append(wrong)
    return np.array(out)


def test_constants_of_the_hand_built_instance():
    c = plateau_constants(G_T, B_T, Y, 3)
    assert (c.j_star, c.delta, c.G, c.delta_max, c.m) == (0, 1.5, 4.0, 2.0, 3.0)
    assert c.pi_j_star == pytest.approx(1 / 3, abs=1e-15)
    assert c.alpha_lo == pytest.approx(math.sqrt(1.5 / 4), rel=1e-15)
    assert c.alpha_hi == pytest.approx(math.sqrt(2 / 3), rel=1e-15)


@pytest.mark.parametrize("r", [2, 3, 5.5, 9])
def test_proposition1_on_the_hand_built_instance(r):
    c = plateau_constants(G_T, B_T, Y, r)
    lo, hi = c.alpha_lo, c.alpha_hi
    plateau_grid = np.linspace(0, lo, 400)[1:-1]
    err = _direct_errors(G_T, B_T, Y, r, plateau_grid)
    assert np.all(err == 4)  # every point predicted as j* = 0: error 1 - pi_j* = 4/6
    if hi < 1:
        rec_grid = np.linspace(hi, 1, 200)[1:]
        assert np.all(_direct_errors(G_T, B_T, Y, r, rec_grid) == 0)
    chk = check_proposition1(G_T, B_T, Y, r)
    assert chk.hypotheses_hold and chk.conclusion_holds
    assert chk.plateau_margin > 0 and chk.recovery_margin > 0


def test_equal_biases_give_no_plateau():
    grid = np.linspace(0, 1, 301)[1:]
    for const in (0.0, 1.7, -3.0):
        err = _direct_errors(G_T, np.full(3, const), Y, 3, grid)
        assert np.all(err == 0)  # the final error of g_T is 0, and so is the error at every alpha > 0
    # a constant bias with a misclassified point: error = final error (1/6) everywhere
    g = G_T.copy()
    g[5] = [1, 0, 0.5]
    assert np.all(_direct_errors(g, np.full(3, 0.3), Y, 3, grid) == 1)


def test_exact_error_curve_and_plateau_length_of_the_hand_built_instance():
    # thresholds (r = 3): point 3 at sqrt(1.5/4), points 2 and 4 at sqrt(1/2), point 5 at sqrt(2/3)
    t1, t2, t3 = math.sqrt(1.5 / 4), math.sqrt(0.5), math.sqrt(2 / 3)
    lo, hi = correct_intervals(G_T, B_T, Y, 3)
    np.testing.assert_allclose(lo, [0, 0, t2, t1, t2, t3], rtol=1e-15)
    assert np.all(np.isinf(hi))
    a = np.array([0.3, (t1 + t2) / 2, (t2 + t3) / 2, 0.9])
    np.testing.assert_allclose(exact_error_curve(G_T, B_T, Y, 3, a), [4 / 6, 3 / 6, 1 / 6, 0], rtol=0, atol=1e-15)
    assert exact_error_plateau_length(G_T, B_T, Y, 3, 0.0) == pytest.approx(t1, rel=1e-15)
    assert exact_error_plateau_length(G_T, B_T, Y, 3, 0.2) == pytest.approx(t2, rel=1e-15)
    assert exact_error_plateau_length(G_T, B_T, Y, 3, 0.6) == pytest.approx(t3, rel=1e-15)
    assert exact_error_plateau_length(G_T, B_T, Y, 3, 0.7) == 1.0
    assert exact_error_plateau_length(G_T, B_T, Y, 3, 0.0, scheme="homogeneous") == 1.0  # no drop: final error 0


@given(bias_plateau_problems())
def test_proposition1_holds_whenever_its_hypotheses_do(problem):
    g, b, y, r = problem
    chk = check_proposition1(g, b, y, r)
    c = chk.constants
    if c.j_star >= 0:
        assert chk.plateau_holds, chk.summary()
    if c.m > 0:
        assert chk.recovery_holds, chk.summary()
        if c.j_star >= 0:
            assert chk.exact_plateau_holds, chk.summary()
    assert chk.constant_bias_holds


@given(bias_plateau_problems())
def test_exact_error_curve_equals_direct_evaluation(problem):
    g, b, y, r = problem
    if r <= 1:
        return
    lo, hi = correct_intervals(g, b, y, r)
    ends = np.concatenate([lo, hi[np.isfinite(hi)]])
    grid = np.linspace(0, 1, 157)[1:]
    # stay off the interval ends, where the direct evaluation is a tie decided by round-off
    grid = grid[np.all(np.abs(grid[:, None] - ends[None, :]) > 1e-9, axis=1)]
    direct = _direct_errors(g, b, y, r, grid) / len(y)
    np.testing.assert_allclose(exact_error_curve(g, b, y, r, grid), direct, rtol=0, atol=1e-15)


def test_exact_plateau_continues_through_a_rise_and_return():
    """r = 2, k = 2, b_T = (1, 0): point A (label 0) turns wrong at 0.25, B turns right at 0.5, C at 0.8. The error
    goes 2/3 -> 1 -> 2/3 -> 1/3, so l_err(0) = 0.8: a return to the starting level does not end the plateau."""
    g = np.array([[0.0, 4.0], [0.0, 2.0], [0.0, 1.25]])
    b, y = np.array([1.0, 0.0]), np.array([0, 1, 1])
    np.testing.assert_allclose(exact_error_curve(g, b, y, 2, [0.1, 0.3, 0.6, 0.9]), [2 / 3, 1, 2 / 3, 1 / 3])
    assert exact_error_plateau_length(g, b, y, 2, 0.0) == pytest.approx(0.8, rel=1e-15)
    assert exact_error_plateau_length(g, b, y, 2, 0.4) == 1.0


@given(bias_plateau_problems(), st.sampled_from([0.0, 0.1, 0.3]))
def test_exact_plateau_length_is_bracketed_by_a_fine_grid(problem, eta):
    """The exact l_err(eta) lies between the grid plateau length and the next grid point (direct evaluation)."""
    g, b, y, r = problem
    if r <= 1:
        return
    lo, hi = correct_intervals(g, b, y, r)
    start = 1.0 - np.mean((lo == 0) & (hi > 0))  # error just right of 0
    grid = np.linspace(0, 1, 2001)
    err = _direct_errors(g, b, y, r, grid[1:]) / len(y)
    ok = err >= start - eta - 1e-12
    bad = np.nonzero(~ok)[0]
    exact = exact_error_plateau_length(g, b, y, r, eta)
    if bad.size == 0:
        assert exact == 1.0 or np.all(ok)
    else:
        last_ok = grid[bad[0]]  # grid[1:][bad[0] - 1]
        first_bad = grid[1:][bad[0]]
        assert last_ok - 1e-12 <= exact <= first_bad + 1e-12


@given(bias_plateau_problems())
def test_proposition2_bound_holds(problem):
    g, b, y, r = problem
    alphas = np.linspace(0, 1, 101)
    loss = np.array(
        [np.mean(logsumexp(a**r * g + a * b, axis=1) - (a**r * g + a * b)[np.arange(len(y)), y]) for a in alphas]
    )
    bound = loss_lower_bound(g, b, y, r, alphas)
    scale = math.log(g.shape[1]) + np.abs(g).max() + np.abs(b).max()
    assert np.all(loss - bound >= -8 * EPS * scale)
    assert check_proposition2(g, b, y, r).bound_holds


@given(bias_plateau_problems(balanced=True))
def test_balanced_bound_is_log_k_minus_alpha_r_mean_margin(problem):
    g, b, y, r = problem
    k = g.shape[1]
    alphas = np.linspace(0, 1, 51)
    M = np.mean(g[np.arange(len(y)), y] - g.mean(axis=1))
    np.testing.assert_allclose(loss_lower_bound(g, b, y, r, alphas), math.log(k) - alphas**r * M, atol=1e-13)
    chk = check_proposition2(g, b, y, r, eta=0.1)
    assert chk.loss_plateau_holds
    assert chk.loss[0] == pytest.approx(math.log(k), abs=1e-15)


@given(bias_plateau_problems(integer_r=True))
def test_loss_expansion_equals_autograd_taylor_coefficients(problem):
    g, b, y, r = problem
    mine = loss_expansion(g, b, y, r)
    auto = taylor_coefficients_autodiff(g, b, y, r)
    np.testing.assert_allclose(mine, auto, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("r", [3, 4, 6])
def test_small_alpha_expansion_by_finite_differences(r):
    """For balanced data and r >= 3: gamma(alpha) - log k = alpha^2/2 Var_j b_T + O(alpha^3)."""
    rng = np.random.default_rng(r)
    k, per = 4, 5
    y = np.repeat(np.arange(k), per)
    g = rng.normal(size=(k * per, k))
    b = rng.normal(size=k) * 2

    def gamma(a):
        z = a**r * g + a * b
        return float(np.mean(logsumexp(z, axis=1) - z[np.arange(len(y)), y]))

    def second(h):
        return (gamma(h) - 2 * gamma(0.0) + gamma(-h)) / h**2

    h = 1e-3
    d_h, d_h2 = second(h), second(h / 2)
    # truncation of the h/2 difference is about a third of |d_h - d_h2|; round-off at most 4 eps |gamma| / (h/2)^2
    tol = abs(d_h - d_h2) + 4 * EPS * 2 * math.log(k) / (h / 2) ** 2
    var_b = np.var(b)
    assert abs(d_h2 - var_b) <= tol  # gamma''(0) = Var_j b_T
    assert abs(d_h2 - var_b) < 1e-5 * var_b
    # the first two Taylor coefficients agree with the formula; c2 = Var/2 for r >= 3
    c = loss_expansion(g, b, y, r)
    assert c[1] == pytest.approx(0.0, abs=1e-15)
    assert c[2] == pytest.approx(var_b / 2, rel=1e-14)

    def third(hh):
        return (gamma(2 * hh) - 2 * gamma(hh) + 2 * gamma(-hh) - gamma(-2 * hh)) / (2 * hh**3)

    h = 1e-2
    t_h, t_h2 = third(h), third(h / 2)
    tol3 = abs(t_h - t_h2) + 12 * EPS * math.log(k) / (2 * (h / 2) ** 3)
    assert abs(t_h2 - 6 * c[3]) <= tol3


def test_loss_rises_above_log_k_for_deep_small_alpha():
    """r >= 3 with a bias gap: the loss first rises above log k (the bump of §3.3)."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 3)
    g = rng.normal(size=(12, 4)) + 3 * np.eye(4)[y]
    b = np.array([-3.0, -2.0, -1.0, 6.0])
    z = path_logits(g, b, [0.05], 4)[0]
    loss = np.mean(logsumexp(z, axis=1) - z[np.arange(12), y])
    assert loss > math.log(4)


def test_plateau_end_and_length_on_grids():
    a = np.linspace(0, 1, 11)
    err = np.array([0.7, 0.75, 0.75, 0.75, 0.6, 0.75, 0.4, 0.1, 0, 0, 0])
    assert plateau_end(a, err, threshold=0.5) == pytest.approx(0.5)
    assert plateau_end(a, err, threshold=0.7) == pytest.approx(0.3)
    assert plateau_end(a, err, threshold=0.8) == 0.0
    assert plateau_end(a, err, threshold=0.0) == 1.0
    assert plateau_length(a, err, 0.0) == pytest.approx(0.3)  # reference = error at the first alpha > 0
    assert plateau_length(a, err, 0.2) == pytest.approx(0.5)
    loss = np.array([1.39, 1.39, 1.38, 1.3, 1.0, 0.5, 0.2, 0.1, 0, 0, 0])
    assert plateau_length(a, loss, 0.1, reference=loss[0]) == pytest.approx(0.3)


@pytest.mark.parametrize(
    "args, exc, match",
    [
        ((np.ones((3, 1)), np.ones(1), np.zeros(3, int), 3), ValueError, "k >= 2"),
        ((np.ones((3, 2)), np.ones(3), np.zeros(3, int), 3), ValueError, "b_T must have shape"),
        ((np.ones((3, 2)), np.ones(2), np.zeros(2, int), 3), ValueError, "y must have shape"),
        ((np.ones((3, 2)), np.ones(2), np.array([0, 1, 2]), 3), ValueError, "labels y must lie"),
        ((np.ones((3, 2)), np.ones(2), np.zeros(3), 3), TypeError, "integer class labels"),
        ((np.full((3, 2), np.nan), np.ones(2), np.zeros(3, int), 3), ValueError, "finite"),
        ((np.ones((3, 2)), np.ones(2), np.zeros(3, int), 1.0), ValueError, "r must be > 1"),
        ((np.ones(3), np.ones(2), np.zeros(3, int), 3), ValueError, r"shape \(n, k\)"),
    ],
)
def test_bad_inputs_are_named(args, exc, match):
    with pytest.raises(exc, match=match):
        plateau_constants(*args)


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="unknown scheme"):
        path_logits(G_T, B_T, [0.5], 3, scheme="quadratic")
    with pytest.raises(ValueError, match="alphas must be finite and >= 0"):
        path_logits(G_T, B_T, [-0.5], 3)
    with pytest.raises(ValueError, match="integer r >= 2"):
        loss_expansion(G_T, B_T, Y, 2.5)
    with pytest.raises(ValueError, match="strictly increasing"):
        plateau_end([0, 0.5, 0.4], [1, 1, 1], threshold=0.5)
    with pytest.raises(ValueError, match="eta must be"):
        exact_error_plateau_length(G_T, B_T, Y, 3, -0.1)


def test_autograd_coefficients_use_float64():
    c = taylor_coefficients_autodiff(G_T, B_T, Y, 3)
    assert c[0] == pytest.approx(math.log(3), abs=1e-15)
    assert torch.get_default_dtype() in (torch.float32, torch.float64)


def test_results_save_and_load(tmp_path):
    chk = check_proposition1(G_T, B_T, Y, 3)
    chk.save(tmp_path / "p1")
    back = type(chk).load(tmp_path / "p1")
    assert back.constants == chk.constants and np.array_equal(back.error, chk.error)
    assert back.conclusion_holds and "Proposition 1" in str(back)
    p2 = check_proposition2(G_T, B_T, Y, 3)
    p2.save(tmp_path / "p2")
    assert np.array_equal(type(p2).load(tmp_path / "p2").loss, p2.loss)
