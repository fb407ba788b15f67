"""Lemma 7a (both sides, failures found) and Lemma 7b (random smooth perturbations) against direct evaluation."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mlitheory.lemma7 import (
    LEMMA7B_RATIO,
    LEMMA7B_SHARP_RATIO,
    SmoothPerturbation,
    check_lemma7a,
    check_lemma7b,
    lambda_max_rtol,
    lemma7a_margin,
    lemma7a_regime,
    lemma7b_bound_factor,
    lemma7b_curve,
    quadratic_path_loss,
    random_smooth_perturbation,
    two_leg_curve,
)
from mlitheory.ntk import NTKMLP, empirical_ntk, model_outputs, param_dict
from mlitheory.wide import lemma7_family as verify_family
from tests.strategies import gd_steps, safe_step_fractions, seeds, unsafe_step_fractions


def _kernel(seed, n=None):
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(2, 10))
    A = rng.standard_normal((n, int(rng.integers(1, 2 * n + 1)))) * np.exp(rng.uniform(-2, 1))
    return A @ A.T, rng.standard_normal(n)


def _ntk_kernel(seed):
    """The empirical NTK of a small tanh network and its initial residual (a realistic Θ, r₀)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(6, 3, generator=g, dtype=torch.float64)
    Y = torch.randn(6, 1, generator=g, dtype=torch.float64)
    m = NTKMLP(3, 16, 1, seed=seed)
    p = param_dict(m)
    return empirical_ntk(m, X, p).numpy(), (model_outputs(m, p, X) - Y).reshape(-1).numpy()


@given(seeds, safe_step_fractions, gd_steps, st.booleans())
def test_7a_small_steps_any_T(seed, frac, T, use_ntk):
    """η ≤ 1/λ_max, any T: spec(M) ⊂ [0, 1], the criterion holds and q is monotone by direct evaluation."""
    theta, r0 = _ntk_kernel(seed % 50) if use_ntk else _kernel(seed)
    chk = check_lemma7a(theta, r0, eta_lambda_max=frac, steps=T)
    assert chk.regime == "eta<=1/lambda_max" and chk.hypotheses_hold
    assert chk.criterion_holds and chk.monotone_truth, chk.summary()
    assert chk.criterion_agrees


@given(seeds, unsafe_step_fractions, st.integers(1, 30))
def test_7a_even_T_below_two_over_lambda(seed, frac, half):
    """Even T with η ∈ (1/λ_max, 2/λ_max): M = ((I − ηΘ)²)^{T/2} has spectrum in [0, 1]; monotone."""
    theta, r0 = _kernel(seed)
    chk = check_lemma7a(theta, r0, eta_lambda_max=frac, steps=2 * half)
    assert chk.regime == "even_T" and chk.hypotheses_hold
    assert chk.conclusion_holds, chk.summary()


@given(seeds, st.floats(0.0, 50.0))
def test_7a_gradient_flow(seed, t):
    theta, r0 = _kernel(seed)
    chk = check_lemma7a(theta, r0, time=t)
    assert chk.regime == "gradient_flow" and chk.hypotheses_hold
    assert chk.conclusion_holds


@given(seeds, unsafe_step_fractions, st.integers(0, 3))
def test_7a_odd_T_criterion_is_exact(seed, frac, k):
    """Outside the sufficient cases (odd T, η ∈ (1,2)/λ_max) the criterion still decides monotonicity exactly:
    the rise of q measured by direct evaluation equals the rise predicted from ‖r_T‖² − ⟨r₀, r_T⟩."""
    theta, r0 = _kernel(seed)
    chk = check_lemma7a(theta, r0, eta_lambda_max=frac, steps=2 * k + 1)
    assert chk.regime == "outside"
    assert chk.criterion_agrees, chk.summary()
    assert chk.criterion_holds == (chk.margin >= -chk.margin_tol)


@given(seeds, st.floats(-0.5, 0.5), st.integers(0, 7), st.booleans())
def test_7a_regime_at_the_boundary_is_decided_once_with_the_allowance(seed, u, T, at_two):
    """ηλ_max within half the rounding allowance of 1 (or of 2, for even T): whichever λ_max the caller used,
    check_lemma7a decides the regime from its own λ_max with the allowance lambda_max_rtol, so a step computed
    with NumPy's λ_max (which may differ from torch's in the last ulps) lands on the sufficient side, and the
    conclusion holds (the hypotheses within rounding)."""
    theta, r0 = _kernel(seed)
    boundary = 2.0 if at_two and T % 2 == 0 else 1.0
    frac = boundary * (1.0 + u * lambda_max_rtol(r0.size))
    lmax_np = np.linalg.eigvalsh(theta)[-1]
    expected = "even_T" if boundary == 2.0 else "eta<=1/lambda_max"
    for chk in (
        check_lemma7a(theta, r0, eta=frac / lmax_np, steps=T),
        check_lemma7a(theta, r0, eta_lambda_max=frac, steps=T),
    ):
        assert chk.regime == expected, (frac, chk.eta_lambda_max)
        assert chk.hypotheses_hold and chk.conclusion_holds, chk.summary()


def test_7a_regime_rule():
    tol = lambda_max_rtol(10)
    assert 0 < tol < 1e-12
    assert lemma7a_regime(1.0, 3) == "eta<=1/lambda_max"
    assert lemma7a_regime(1.0 + tol / 2, 3, rtol=tol) == "eta<=1/lambda_max"
    assert lemma7a_regime(1.0 + 2 * tol, 3, rtol=tol) == "outside"
    assert lemma7a_regime(1.0 + 2 * tol, 4, rtol=tol) == "even_T"
    assert lemma7a_regime(2.0, 4) == "even_T" and lemma7a_regime(2.0 + 1e-9, 4, rtol=tol) == "outside"
    with pytest.raises(ValueError, match="positive"):
        lemma7a_regime(0.0, 1)
    theta, r0 = _kernel(0)
    with pytest.raises(ValueError, match="not both"):
        check_lemma7a(theta, r0, eta=0.1, eta_lambda_max=0.5, steps=1)
    with pytest.raises(ValueError, match="either"):
        check_lemma7a(theta, r0, eta_lambda_max=0.5, time=1.0)


def test_7a_failures_are_found_for_odd_T_and_large_steps():
    """The converse side: for odd T and η ∈ (1/λ, 2/λ), non-monotone q occurs (reference: 64/200 at 1.5/λ, T=1)."""
    fails, total = 0, 80
    for seed in range(total):
        theta, r0 = _kernel(seed)
        chk = check_lemma7a(theta, r0, eta_lambda_max=1.5, steps=1)
        assert not chk.hypotheses_hold  # spec(M) reaches −0.5
        if not chk.criterion_holds:
            fails += 1
            assert not chk.monotone_truth and chk.max_rise > 0
    print(f"odd-T failures at η = 1.5/λ_max, T = 1: {fails}/{total}")
    assert 0.1 * total < fails < 0.9 * total


def test_7a_explicit_failure_on_the_top_eigenvector():
    """r₀ along the top eigenvector, η = 1.5/λ_max, T = 1: r₁ = −r₀/2 and q rises (q(1) > q(α*) = 0)."""
    theta = np.diag([4.0, 1.0])
    r0 = np.array([1.0, 0.0])
    chk = check_lemma7a(theta, r0, eta=1.5 / 4.0, steps=1)
    assert np.allclose(chk.rT, [-0.5, 0.0])
    assert lemma7a_margin(r0, chk.rT) == pytest.approx(-0.75)
    assert not chk.criterion_holds and not chk.monotone_truth
    assert chk.max_rise == pytest.approx(0.125)  # q(1) − q(2/3) = ½·0.25 − 0


def test_quadratic_path_loss():
    r0, r1 = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    al = np.array([0.0, 0.25, 1.0])
    expected = [0.5 * np.sum((r0 + a * (r1 - r0)) ** 2) for a in al]
    assert np.allclose(quadratic_path_loss(r0, r1, al), expected)


# --------------------------------------------------------------------------------------------- Lemma 7b


@given(seeds, st.floats(0.0, 0.999), st.sampled_from(["fourier", "rotating", "constant"]), st.integers(2, 8))
def test_7b_small_perturbations_give_strict_decrease(seed, frac, kind, n):
    """sup‖z′ − v‖ ≤ ε < (√2 − 1)‖v‖ ⇒ L′ ≤ −2(1−α)(‖v‖² − 2ε‖v‖ − ε²) < 0: the bound and strict decrease."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(n)
    pert = random_smooth_perturbation(n, frac * LEMMA7B_RATIO * np.linalg.norm(v), seed=rng, kind=kind)
    chk = check_lemma7b(v, pert, z_star=rng.standard_normal(n))
    assert chk.hypotheses_hold
    assert chk.bound_margin >= 0 and chk.strictly_decreasing, chk.summary()
    assert chk.min_delta == 0.0


@given(seeds, st.sampled_from(["fourier", "rotating"]))
def test_7b_sup_bound_is_certified(seed, kind):
    """The certified bound on sup‖e‖ is not below the sup measured on a 10⁵-point grid (4001 certify it)."""
    pert = random_smooth_perturbation(4, 0.3, seed=seed, kind=kind)
    sup = np.max(np.linalg.norm(pert(np.linspace(0, 1, 100_001)), axis=1))
    assert sup <= pert.sup_bound * (1 + 1e-12)
    assert sup >= 0.9 * pert.sup_bound  # and not wastefully loose


@given(seeds)
def test_7b_closed_form_derivatives(seed):
    """The closed-form ∫_α^1 e and L′ agree with scipy quadrature and central differences of L."""
    from scipy.integrate import quad

    rng = np.random.default_rng(seed)
    v = rng.standard_normal(3)
    pert = random_smooth_perturbation(3, 0.2, seed=rng)
    al = np.array([0.1, 0.5, 0.9])
    tail = pert.integral_to_one(al)
    for i, a in enumerate(al):
        for j in range(3):
            q, _ = quad(lambda s, j=j: pert([s])[0, j], a, 1.0, epsabs=1e-13)
            assert tail[i, j] == pytest.approx(q, abs=1e-11)
    h = 1e-5
    _, _, Lp, _ = lemma7b_curve(v, pert, al + h)
    _, _, Lm, _ = lemma7b_curve(v, pert, al - h)
    _, _, _, dL = lemma7b_curve(v, pert, al)
    assert np.allclose((Lp - Lm) / (2 * h), dL, atol=1e-7)


def test_7b_large_perturbation_can_break_monotonicity():
    """Beyond the hypothesis (ε = 2‖v‖, fast rotation starting opposite to v): L rises at α = 0."""
    v = np.array([1.0, 0.0, 0.0])
    eps = 2.0
    pert = SmoothPerturbation(
        c0=np.zeros(3), C=np.array([[-eps, 0.0, 0.0]]), D=np.array([[0.0, eps, 0.0]]), omega=np.array([40.0]),
        sup_bound=eps, kind="rotating",
    )  # fmt: skip
    chk = check_lemma7b(v, pert)
    assert not chk.hypotheses_hold and not chk.strictly_decreasing
    assert chk.max_slope > 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="either"):
        check_lemma7a(np.eye(2), np.ones(2))
    with pytest.raises(ValueError, match="either"):
        check_lemma7a(np.eye(2), np.ones(2), eta=0.1, steps=1, time=1.0)
    with pytest.raises(ValueError, match="theta"):
        check_lemma7a(np.eye(3), np.ones(2), time=1.0)
    with pytest.raises(ValueError, match="eta"):
        check_lemma7a(np.eye(2), np.ones(2), eta=-0.1, steps=1)
    with pytest.raises(ValueError, match="nonzero"):
        check_lemma7b(np.zeros(2), random_smooth_perturbation(2, 0.1))
    with pytest.raises(ValueError, match="kind"):
        random_smooth_perturbation(2, 0.1, kind="square")


def test_roundtrip_and_summary(tmp_path):
    theta, r0 = _kernel(0)
    chk = check_lemma7a(theta, r0, eta=0.5 / np.linalg.eigvalsh(theta)[-1], steps=3)
    chk.save(tmp_path / "a")
    back = type(chk).load(tmp_path / "a")
    assert back.margin == chk.margin and np.array_equal(back.rT, chk.rT)
    assert "criterion" in str(back)


def test_verify_family_quick():
    rows = verify_family(quick=True, seed=3)
    assert all(r.ok for r in rows), [r.theorem for r in rows if not r.ok]
    assert all(r.counterexamples == 0 for r in rows)
    assert any("iff" in r.theorem for r in rows)
    assert not math.isnan(rows[0].worst_margin)
    demos = [r for r in rows if r.kind == "demonstration"]
    assert len(demos) == 2 and demos[0].as_expected >= 1


@pytest.mark.parametrize("side", [-1e-6, -1e-12, 1e-12, 1e-6, 0.2])
def test_7b_hypothesis_is_exactly_where_the_bound_proves_a_decrease(side):
    """The probe at √2 − 1: the lemma's bound −2(1−α)‖v‖²(1 − 2r − r²) is negative (proves a strict decrease)
    exactly for r < √2 − 1, its positive root; check_lemma7b's hypothesis must switch there, not elsewhere."""
    import sympy as sp

    r = sp.symbols("r", positive=True)
    (root,) = sp.solve(sp.Eq(1 - 2 * r - r**2, 0), r)
    assert sp.simplify(root - (sp.sqrt(2) - 1)) == 0
    assert LEMMA7B_RATIO == pytest.approx(float(root), rel=1e-15)
    ratio = float(root) * (1 + side)
    v = np.array([3.0, 4.0])
    empty = np.zeros((0, 2))
    pert = SmoothPerturbation(np.zeros(2), empty, empty, np.zeros(0), ratio * 5.0, "constant")
    chk = check_lemma7b(v, pert, grid=11)
    assert chk.hypotheses_hold == (side < 0)
    assert (lemma7b_bound_factor(ratio) > 0) == (side < 0)


@given(seeds, st.floats(0.0, 1.5), st.integers(2, 9))
def test_7b_two_leg_curve_closed_form(seed, ratio, n):
    """The two-leg curve: sup‖z′ − v‖ = ε by construction, and L is monotone iff ε/‖v‖ ≤ 1/√2 (the corner's left
    slope → −2(1−α₀)(‖v‖²/2 − ε²)); so Lemma 7b's √2 − 1 is sufficient, and no counterexample lies between."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(n)
    V = np.linalg.norm(v)
    if abs(ratio - LEMMA7B_SHARP_RATIO) < 1e-3:
        ratio = LEMMA7B_SHARP_RATIO - 1e-3
    al = np.linspace(0, 1, 2001)
    L, _ = two_leg_curve(v, ratio, al, seed=seed)
    # closed form of the left slope at the corner α₀ = 1/2, and of L(1) = 0
    inner = V**2 / 2 - (ratio * V) ** 2 if ratio >= 0.5 else (V - ratio * V) ** 2
    left = two_leg_curve(v, ratio, [0.5 - 1e-9], seed=seed)[1][0]
    assert left == pytest.approx(-2 * 0.5 * inner - 2 * 1e-9 * (ratio**2 * V**2 if ratio >= 0.5 else inner), abs=1e-6)
    assert L[-1] == 0.0
    assert np.all(np.isfinite(L))
    monotone = bool(np.all(np.diff(L) <= 1e-12 * max(1.0, L.max())))
    assert monotone == (ratio <= LEMMA7B_SHARP_RATIO), (ratio, inner)


@given(st.floats(0.01, 0.999))
def test_7b_aligned_constant_perturbation_closed_form(frac):
    """e ≡ −ε v̂ (the worst direction): L′(α) = −2(1−α)(‖v‖ − ε)² exactly, within the lemma's bound."""
    v = np.array([3.0, 4.0])
    eps = frac * LEMMA7B_RATIO * 5.0
    empty = np.zeros((0, 2))
    pert = SmoothPerturbation(-eps * v / 5.0, empty, empty, np.zeros(0), eps, "constant")
    al = np.linspace(0, 1, 101)
    _, _, _, dL = lemma7b_curve(v, pert, al)
    assert np.allclose(dL, -2 * (1 - al) * (5.0 - eps) ** 2, atol=1e-12)
    assert check_lemma7b(v, pert).conclusion_holds
    # the lemma's bound is not tight here: its slack is exactly 4(1−α)ε²
    bound = -2 * (1 - al) * (25.0 - 2 * eps * 5.0 - eps**2)
    assert np.allclose(bound - dL, 4 * (1 - al) * eps**2, atol=1e-12)
