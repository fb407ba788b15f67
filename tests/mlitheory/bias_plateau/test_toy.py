"""The diagonal toy model (mlitheory.bias_plateau.toy) against autograd, ODE integration, direct evaluation of the
interpolated logits, and the reference's checked simulation (theory_bias_plateau.md §4, §6 items 6 and 7)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.special import logsumexp

from mlitheory.bias_plateau import (
    check_toy_learning,
    escape_times,
    toy_class_thresholds,
    toy_gradients,
    toy_interpolation,
    toy_logits,
    toy_loss,
    toy_misclassified_intervals,
    toy_model,
    train_toy,
    train_toy_many,
)

EPS = np.finfo(np.float64).eps
GRID = np.linspace(0, 1, 101)


@pytest.fixture(scope="module")
def reference_runs():
    """GD, step 0.05, 7000 steps, k = 4, eps = 0.1, u from seed 0, r = 3 and 4 (the reference §4.3 instance)."""
    models = [toy_model(4, r, 0.1, seed=0) for r in (3, 4)]
    return models, train_toy_many(models, method="gd", lr=0.05, steps=7000)


def test_reference_initialisation():
    m = toy_model(4, 4, 0.1, seed=0)
    np.testing.assert_allclose(m.u, [1.137, 0.770, 0.541, 0.517], atol=5e-4)
    np.testing.assert_allclose(m.w0, 0.1 * m.u, rtol=1e-15)


@given(
    st.integers(2, 6),
    st.integers(2, 6),
    st.integers(0, 2**31 - 1),
)
def test_exact_gradients_equal_autograd(k, r, seed):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.05, 1.5, k)
    b = rng.normal(size=k)
    gw, gb, p_own = toy_gradients(w, b, r)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    z = bt[None, :] + torch.diag(wt**r)
    loss = torch.nn.functional.cross_entropy(z, torch.arange(k))
    aw, ab = torch.autograd.grad(loss, (wt, bt))
    np.testing.assert_allclose(gw, aw.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gb, ab.numpy(), rtol=1e-12, atol=1e-14)
    assert toy_loss(w, b, r) == pytest.approx(float(loss.detach()), rel=1e-14)
    np.testing.assert_allclose(p_own, torch.softmax(z, 1).diagonal().detach().numpy(), rtol=1e-14)
    assert abs(gb.sum()) <= 4 * k * EPS  # the bias gradient sums to 0: the conservation law


def test_logits_layout():
    z = toy_logits([1.0, 2.0, 3.0], [0.1, 0.2, 0.3], 2)
    np.testing.assert_allclose(z, [[1.1, 0.2, 0.3], [0.1, 4.2, 0.3], [0.1, 0.2, 9.3]])


def test_reference_learning_steps_and_bias_order(reference_runs):
    """The reference's checked GD simulation: learning steps 287, 440, 654, 684 (r = 3) and 1027, 2363, 5593,
    5657 (r = 4); classes learned in decreasing u; final biases increase along the learning order."""
    models, runs = reference_runs
    np.testing.assert_array_equal(np.round(runs[0].learning_steps), [287, 440, 654, 684])
    np.testing.assert_array_equal(np.round(runs[1].learning_steps), [1027, 2363, 5593, 5657])
    for m, tr in zip(models, runs):
        chk = check_toy_learning(m, tr)
        assert chk.order_holds and chk.biases_sorted and chk.last_is_argmax, chk.summary()
        assert np.all(np.diff(tr.b_final[tr.learning_order]) > 0)
        assert int(np.argmax(tr.b_final)) == int(tr.learning_order[-1])
        assert chk.first_relative_error < 0.1  # first learning time within 10% of t*
        assert chk.conserves_mean and tr.bias_mean_drift < 1e-10
    # t*/lr: 313 steps (r = 3) and 1031 (r = 4), as in the reference
    assert escape_times(models[0].w0, 3, 4)[0] / 0.05 == pytest.approx(312.7, abs=0.1)
    assert escape_times(models[1].w0, 4, 4)[0] / 0.05 == pytest.approx(1031.4, abs=0.1)
    assert runs[1].bias_gap > runs[0].bias_gap > 0  # deeper: larger gap


@pytest.mark.parametrize("r", [2, 3, 4, 6])
def test_escape_time_equals_linearised_ode(r):
    """t* is the blow-up time (r > 2) or the time to reach 1 (r = 2) of w' = (r/k)(1 - 1/k) w^(r-1)."""
    k, w0 = 4, 0.2
    a = (r / k) * (1 - 1 / k)
    target = 1.0 if r == 2 else 100.0

    def hit(_t, w):
        return w[0] - target

    hit.terminal = True
    sol = solve_ivp(lambda _t, w: a * w ** (r - 1), (0, 1e4), [w0], events=hit, rtol=1e-12, atol=1e-14)
    t_hit = sol.t_events[0][0]
    t_star = float(escape_times([w0], r, k)[0])
    if r == 2:
        assert t_hit == pytest.approx(t_star, rel=1e-8)
    else:  # reaching w = W takes t* - W^-(r-2) / (a (r-2))
        assert t_hit == pytest.approx(t_star - target ** (-(r - 2)) / (a * (r - 2)), rel=1e-8)


def test_flow_agrees_with_small_step_gd():
    m = toy_model(4, 4, 0.1, seed=0)
    flow = train_toy(m, method="flow", lr=0.05, steps=7000)
    gd = train_toy(m, method="gd", lr=0.01, steps=35000)
    np.testing.assert_allclose(gd.learning_times, flow.learning_times, rtol=3e-3)
    assert flow.bias_mean_drift < 1e-10
    np.testing.assert_array_equal(flow.learning_order, [0, 1, 2, 3])


def test_momentum_conserves_mean_bias_and_adam_does_not():
    m = toy_model(4, 4, 0.1, seed=0)
    mom = train_toy(m, method="momentum", lr=0.05, steps=3000)
    adam = train_toy(m, method="adam", lr=0.01, steps=3000)
    assert mom.bias_mean_drift < 1e-10
    assert adam.bias_mean_drift > 1e-3
    assert abs(adam.b_final.mean()) > 1e-3


@st.composite
def _toy_paths(draw):
    k = draw(st.integers(2, 5))
    r = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    w0 = rng.uniform(0.0, 0.3, k) * draw(st.sampled_from([0.0, 1.0]))  # w0 = 0: ties at alpha = 0 count as errors
    wT = rng.uniform(0.2, 3.0, k)
    bT = rng.normal(size=k) * rng.uniform(0.1, 8)
    b0 = rng.normal(size=k) * draw(st.sampled_from([0.0, 0.5]))
    scheme = draw(st.sampled_from(["linear", "homogeneous"]))
    return w0, wT, bT, b0, r, scheme


@given(_toy_paths())
def test_closed_form_curves_equal_direct_evaluation(path):
    w0, wT, bT, b0, r, scheme = path
    k = wT.size
    alphas = np.linspace(0, 1, 41)
    c = toy_interpolation(w0, wT, bT, r, alphas, scheme=scheme, b0=b0)
    for i, a in enumerate(alphas):
        beta = a if scheme == "linear" else a**r
        w = (1 - a) * w0 + a * wT
        b = (1 - beta) * b0 + beta * bT
        z = b[None, :] + np.diag(w**r)
        loss = np.mean(logsumexp(z, axis=1) - np.diag(z))
        assert c.loss[i] == pytest.approx(loss, rel=1e-12, abs=1e-13)
        wrong = sum(any(z[cc, j] >= z[cc, cc] for j in range(k) if j != cc) for cc in range(k))
        assert c.error[i] * k == pytest.approx(wrong, abs=1e-12)


def test_error_plateau_for_r4_and_its_removal(reference_runs):
    models, runs = reference_runs
    m, tr = models[1], runs[1]
    lin = toy_interpolation(m.w0, tr.w_final, tr.b_final, 4, GRID)
    hom = toy_interpolation(m.w0, tr.w_final, tr.b_final, 4, GRID, scheme="homogeneous")
    plateau = (GRID >= 0.01) & (GRID <= 0.6)
    assert np.all(lin.error[plateau] == 0.75)  # 1 - 1/k
    assert lin.error[-1] == 0.0
    assert np.all(hom.error[1:] == 0.0)  # b^[alpha] = alpha^r b_T: no plateau
    # the linear-scheme loss rises above log k (a large gap): the bump of §3.3; the homogeneous one does not
    assert lin.loss.max() > math.log(4) + 0.1
    assert np.all(np.diff(hom.loss) <= 1e-15)


def test_misclassified_intervals_and_thresholds(reference_runs):
    models, runs = reference_runs
    m, tr = models[1], runs[1]
    iv = toy_misclassified_intervals(m.w0, tr.w_final, tr.b_final, 4)
    # error from the intervals equals the closed form on grid points away from the ends
    ends = np.array([e for ivs in iv for seg in ivs for e in seg])
    a = GRID[np.all(np.abs(GRID[:, None] - ends[None, :]) > 1e-6, axis=1)]
    from_iv = np.array([sum(any(s <= x <= e for s, e in ivs) for ivs in iv) / 4 for x in a])
    np.testing.assert_array_equal(from_iv, toy_interpolation(m.w0, tr.w_final, tr.b_final, 4, a).error)
    # with w(0) -> 0 the interval ends tend to the thresholds ((b_j* - b_c) / w_c^r)^(1/(r-1))
    thr = toy_class_thresholds(tr.w_final, tr.b_final, 4)
    tiny = toy_misclassified_intervals(1e-9 * m.u, tr.w_final, tr.b_final, 4)
    for c in range(3):
        assert tiny[c][-1][1] == pytest.approx(thr[c], rel=1e-6)
    assert tiny[3] == [] and thr[3] == 0.0  # the class with the largest bias is never misclassified


def test_records_and_summary(reference_runs):
    _, runs = reference_runs
    tr = runs[1]
    assert tr.times[0] == 0.0 and tr.times[-1] == pytest.approx(7000 * 0.05)
    assert tr.w.shape == tr.b.shape == (tr.times.size, 4)
    np.testing.assert_allclose(tr.b[-1], tr.b_final)
    assert "learning steps" in tr.summary()


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"k \(number of classes\) must be >= 2"):
        toy_model(1, 4)
    with pytest.raises(ValueError, match=r"r \(degree of the weights\) must be >= 2"):
        toy_model(4, 1)
    with pytest.raises(ValueError, match="eps"):
        toy_model(4, 4, 0.0)
    with pytest.raises(ValueError, match="u must be"):
        toy_model(4, 4, 0.1, u=[1.0, 2.0])
    with pytest.raises(TypeError, match="integer"):
        toy_model(4.0, 4)
    m = toy_model(4, 4)
    with pytest.raises(ValueError, match="unknown method"):
        train_toy(m, method="sgd")
    with pytest.raises(ValueError, match="steps"):
        train_toy(m, steps=0)
    with pytest.raises(ValueError, match="same k"):
        train_toy_many([m, toy_model(3, 4)])
    with pytest.raises(ValueError, match="scheme"):
        toy_interpolation(m.w0, m.w0, np.zeros(4), 4, GRID, scheme="cubic")
    with pytest.raises(ValueError, match="shape"):
        toy_interpolation(m.w0, m.w0[:3], np.zeros(4), 4, GRID)


def test_trajectory_save_and_load(reference_runs, tmp_path):
    _, runs = reference_runs
    runs[1].save(tmp_path / "toy")
    back = type(runs[1]).load(tmp_path / "toy")
    np.testing.assert_array_equal(back.b, runs[1].b)
    np.testing.assert_array_equal(back.learning_times, runs[1].learning_times)
    assert back.method == "gd" and back.bias_gap == runs[1].bias_gap
