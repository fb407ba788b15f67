"""Gauss length, arc length, cone condition: closed forms, scipy quadrature, and the sampled estimator."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from numpy.polynomial import polynomial as P
from scipy import integrate

from mlitheory.geometry import (
    arc_length,
    cone_condition,
    curve_derivatives,
    gauss_integrand,
    gauss_length,
    gauss_length_from_derivatives,
    gauss_length_from_samples,
    tail_gauss_length,
)
from tests.strategies import polynomial_curves

TOL = 1e-9


def poly_curve(coef):
    c = torch.as_tensor(coef, dtype=torch.float64)

    def z(t):
        powers = torch.stack([t**k for k in range(c.shape[0])])
        return powers @ c

    return z


def np_integrand(coef, t):
    d1 = np.stack([P.polyval(t, P.polyder(coef[:, j])) for j in range(coef.shape[1])])
    d2 = np.stack([P.polyval(t, P.polyder(coef[:, j], 2)) for j in range(coef.shape[1])])
    s2 = d1 @ d1
    return math.sqrt(max(s2 * (d2 @ d2) - (d1 @ d2) ** 2, 0.0)) / s2


# ---- closed forms -------------------------------------------------------------------------------------------


def test_line_has_zero_gauss_length():
    r = gauss_length(lambda t: torch.stack([1 + 2 * t, 3 - t, 0.5 * t]), tol=TOL)
    assert r.value == pytest.approx(0.0, abs=TOL)
    assert r.converged


@pytest.mark.parametrize("phi", [0.1, 1.0, math.pi / 2, math.pi, 2 * math.pi, 5.0])
def test_arc_of_angle_phi(phi):
    r = gauss_length(lambda t: 2.5 * torch.stack([torch.cos(phi * t), torch.sin(phi * t)]), tol=TOL)
    assert abs(r.value - phi) <= TOL + r.error


@pytest.mark.parametrize("radius,pitch", [(1.0, 0.5), (2.0, 3.0), (0.3, 0.1)])
def test_helix_is_curvature_times_length(radius, pitch):
    turns = 2 * math.pi * 1.5
    z = lambda a: torch.stack([radius * torch.cos(turns * a), radius * torch.sin(turns * a), pitch * turns * a])
    kappa = radius / (radius**2 + pitch**2)
    length = turns * math.sqrt(radius**2 + pitch**2)
    r = gauss_length(z, tol=TOL)
    assert abs(r.value - kappa * length) <= TOL + r.error
    assert arc_length(z).value == pytest.approx(length, rel=1e-10)


def test_reversal_counts_pi_on_the_sphere():
    v = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    r = gauss_length(lambda t: (1 - t) * (1 - 3 * t) * v, tol=TOL)
    assert r.value == pytest.approx(math.pi, abs=TOL)


def test_reversal_exactly_at_a_node_and_a_pause_without_reversal():
    v = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert gauss_length(lambda t: (t - 0.5) ** 2 * v).value == pytest.approx(math.pi, abs=TOL)
    # velocity vanishes at 0.5 but the direction continues: adds nothing
    assert gauss_length(lambda t: (t - 0.5) ** 3 * v).value == pytest.approx(0.0, abs=TOL)


@pytest.mark.parametrize("eps", [1e-3, 1e-5, 1e-7])
def test_near_reversal_spike(eps):
    """Velocity (2(α−c), ε): the tangent turns by nearly π inside a width ~ε; a 50-point trapezoid sees ~0."""
    c = 0.337
    z = lambda t: torch.stack([(t - c) ** 2, eps * (t - c)])
    truth = math.pi - math.atan(eps / (2 * c)) - math.atan(eps / (2 * (1 - c)))
    r = gauss_length(z, tol=1e-8)
    assert abs(r.value - truth) <= 1e-8 + 2 * r.error
    grid = np.linspace(0, 1, 50)
    f = [float(gauss_integrand(*curve_derivatives(z, a)[1:])) for a in grid]
    assert np.trapezoid(f, grid) < 0.8  # the coarse rule misses it (0.24 at eps=1e-3)


def test_constant_curve_is_zero_with_zero_speed():
    r = gauss_length(lambda t: torch.tensor([1.0, 2.0], dtype=torch.float64) + 0 * t)
    assert r.value == 0.0 and r.min_speed == 0.0 and r.converged


def test_batch_matches_individual_curves():
    c1 = lambda t: torch.stack([torch.cos(3 * t), torch.sin(3 * t), t])
    c2 = lambda t: torch.stack([t, t**2, t**3])
    both = lambda t: torch.stack([c1(t), c2(t)])
    rb = gauss_length(both, tol=TOL)
    assert rb.value.shape == (2,)
    for k, c in enumerate((c1, c2)):
        assert float(rb.value[k]) == pytest.approx(gauss_length(c, tol=TOL).value, abs=3 * TOL)


def test_interval_and_tail():
    arc = lambda t: torch.stack([torch.cos(math.pi * t), torch.sin(math.pi * t)])
    assert tail_gauss_length(arc, 0.25) == pytest.approx(0.75 * math.pi, abs=TOL)
    r = gauss_length(arc, tol=TOL)
    assert r.tail(0.5) == pytest.approx(0.5 * math.pi, abs=1e-8)
    assert np.all(np.diff(r.cumulative) >= 0)


def test_derivatives_entry_point_agrees():
    arc = lambda t: torch.stack([torch.cos(2 * t), torch.sin(2 * t)])

    def deriv(alphas):
        d1 = torch.stack([-2 * torch.sin(2 * alphas), 2 * torch.cos(2 * alphas)], -1)[:, None, :]
        d2 = torch.stack([-4 * torch.cos(2 * alphas), -4 * torch.sin(2 * alphas)], -1)[:, None, :]
        return d1, d2

    r = gauss_length_from_derivatives(deriv, tol=TOL)
    assert float(r.value[0]) == pytest.approx(2.0, abs=TOL)
    assert gauss_length(arc).value == pytest.approx(2.0, abs=TOL)


# ---- independent truth: scipy quad of the analytic integrand ----------------------------------------------------


@given(polynomial_curves())
def test_polynomial_curves_against_scipy_quad(coef):
    ref, ref_err = integrate.quad(lambda t: np_integrand(coef, t), 0, 1, epsabs=1e-13, epsrel=1e-13, limit=500)
    r = gauss_length(poly_curve(coef), tol=1e-10)
    assert abs(r.value - ref) <= 1e-8 + ref_err
    # the error estimate is honest: it bounds the actual error (up to rounding of the reference)
    assert abs(r.value - ref) <= r.error + ref_err + 1e-13


@given(polynomial_curves(max_dim=4))
def test_integrand_matches_closed_form(coef):
    z = poly_curve(coef)
    for t in (0.0, 0.3, 0.77, 1.0):
        _, d1, d2 = curve_derivatives(z, t)
        assert float(gauss_integrand(d1, d2)) == pytest.approx(np_integrand(coef, t), rel=1e-12, abs=1e-14)


def test_arc_length_against_quad():
    coef = np.array([[0.0, 1.0], [1.0, 0.5], [0.3, -2.0], [1.0, 0.1]])
    speed = lambda t: np.linalg.norm([P.polyval(t, P.polyder(coef[:, j])) for j in range(2)])
    ref = integrate.quad(speed, 0, 1, epsabs=1e-13)[0]
    assert arc_length(poly_curve(coef)).value == pytest.approx(ref, abs=1e-10)


# ---- sampled estimator ------------------------------------------------------------------------------------------


def test_samples_converge_from_below_and_flag_coarse_sampling():
    phi = 2.0
    arc = lambda t: np.stack([np.cos(phi * t), np.sin(phi * t)], -1)
    prev = 0.0
    for m in (5, 20, 100, 1000):
        al = np.linspace(0, 1, m)
        s = gauss_length_from_samples(al, arc(al))
        assert prev <= s.value <= phi + 1e-12
        prev = s.value
    assert s.value == pytest.approx(phi, abs=1e-2)
    assert gauss_length_from_samples(np.linspace(0, 1, 1000), arc(np.linspace(0, 1, 1000))).trustworthy
    coarse = gauss_length_from_samples(np.linspace(0, 1, 4), arc(np.linspace(0, 1, 4)) * np.array([1, 1]))
    assert coarse.trustworthy is False or coarse.max_turn <= math.pi / 8


def test_samples_do_not_miss_a_reversal_between_points():
    al = np.linspace(0, 1, 7)  # the reversal at 2/3 lies between samples 4 and 5
    v = np.array([1.0, -2.0])
    s = gauss_length_from_samples(al, ((1 - al) * (1 - 3 * al))[:, None] * v)
    assert s.value == pytest.approx(math.pi, abs=1e-12)
    assert not s.trustworthy


def test_samples_batched_and_repeated_points():
    al = np.linspace(0, 1, 50)
    z = np.stack([np.stack([al, al**2], -1), np.stack([np.cos(al), np.sin(al)], -1)], 1)
    s = gauss_length_from_samples(al, z)
    assert s.value.shape == (2,)
    zr = np.stack([al, np.zeros_like(al)], -1)
    zr[10] = zr[9]
    assert gauss_length_from_samples(al, zr).skipped_chords == 1


# ---- cone condition ---------------------------------------------------------------------------------------------


def test_cone_condition():
    assert cone_condition(lambda t: torch.stack([torch.cos(1.5 * t), torch.sin(1.5 * t)])).holds
    res = cone_condition(lambda t: torch.stack([torch.cos(2.0 * t), torch.sin(2.0 * t)]))
    assert not res.holds and res.min_cosine == pytest.approx(math.cos(2.0), abs=1e-12)


# ---- bad input --------------------------------------------------------------------------------------------------


def test_nan_curve_names_alpha():
    with pytest.raises(ValueError, match=r"alpha=0\.5"):
        gauss_length(lambda t: torch.stack([t, 1 / (t - 0.5)]))


@pytest.mark.parametrize(
    "curve,match",
    [
        (lambda t: t * torch.ones(2, 2, 2, dtype=torch.float64), "shape"),
        (lambda t: t, "shape"),
        (lambda t: [t, t], "torch.Tensor"),
    ],
)
def test_wrong_output(curve, match):
    with pytest.raises(ValueError, match=match):
        gauss_length(curve)


def test_bad_interval_and_samples():
    with pytest.raises(ValueError, match="a < b"):
        gauss_length(lambda t: torch.stack([t, t]), 1.0, 0.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        gauss_length_from_samples([0.0, 0.5, 0.5, 1.0], np.zeros((4, 2)))
    with pytest.raises(ValueError, match="index 2"):
        z = np.zeros((4, 2))
        z[2, 1] = np.nan
        gauss_length_from_samples([0.0, 0.3, 0.6, 1.0], z)


def test_non_vmappable_curve_falls_back_to_a_loop():
    def curve(t):
        if t.item() > 0.5:  # data-dependent branch: vmap cannot trace it
            return torch.stack([t, t * t])
        return torch.stack([t, t])

    assert gauss_length(curve).value == pytest.approx(math.atan(2) - math.pi / 4, abs=1e-8)


@given(st.floats(0.05, 3.1))
def test_arc_property(phi):
    r = gauss_length(lambda t: torch.stack([torch.cos(phi * t), torch.sin(phi * t), 0 * t]), tol=TOL)
    assert abs(r.value - phi) <= TOL + r.error


@pytest.mark.parametrize("delta", [0.05, 0.17, 0.28125])
def test_error_estimate_bounds_the_error_on_a_sharp_turn(delta):
    """A turn by π/2 + δ concentrated near α ≈ 0.12 (about two initial panels): truth is π/2 + δ exactly."""
    from mlitheory.theorem3 import smoothed_turn

    e = 0.5 * math.sin(delta)
    r = gauss_length(smoothed_turn(delta, corner=e / (1 + e), smoothing=0.5), tol=1e-9)
    assert abs(r.value - (math.pi / 2 + delta)) <= max(r.error, 1e-9)
