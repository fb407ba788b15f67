"""Theorem 3 with corners: properties over random polygons and piecewise polynomials, tightness, the counterexample."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mlitheory import check_theorem3, check_theorem3_piecewise
from mlitheory.piecewise._verify import verify_family
from mlitheory.piecewise.theorem import (
    curve_from_pieces,
    kink_blind_counterexample,
    polygon,
    random_piecewise_curve,
    random_polygon,
    turn_polygon,
)
from tests.strategies import piecewise_curves


def _curve(kw):
    if kw["kind"] == "polygon":
        return random_polygon(kw["dim"], kw["parts"], turn=kw["size"], seed=kw["seed"])
    return random_piecewise_curve(kw["dim"], kw["parts"], degree=kw["degree"], bend=kw["size"], seed=kw["seed"])


@given(piecewise_curves())
def test_total_curvature_with_corners_below_right_angle_gives_strict_decrease(kw):
    r = check_theorem3_piecewise(_curve(kw))
    if r.hypothesis is True:
        assert r.monotone and r.min_delta == 0.0
        assert r.descent_margin >= math.cos(r.gauss_length) - 1e-9  # ⟨T(α⁺), z* − z⟩/ℓ >= cos G
    # the quantitative bound holds on every curve (G_α clipped at π)
    assert r.bound_holds


@given(st.floats(min_value=1e-4, max_value=0.3, allow_nan=False))
def test_tightness_a_turn_just_past_a_right_angle_rises(delta):
    r = check_theorem3_piecewise(turn_polygon(delta))
    assert abs(r.gauss_length - (math.pi / 2 + delta)) < 1e-14
    assert r.hypothesis is False and not r.monotone and r.min_delta > 0
    # a turn just below a right angle is monotone
    v = np.array([-math.sin(-delta), math.cos(-delta)])
    eps = 0.5 * math.sin(delta)
    ok = check_theorem3_piecewise(polygon(np.array([[0.0, 0.0], [eps, 0.0], [eps + v[0], v[1]]])))
    assert ok.hypothesis is True and ok.monotone


def test_the_kink_blind_gauss_length_is_no_certificate():
    r = check_theorem3_piecewise(kink_blind_counterexample())
    assert r.smooth_part == 0.0  # both legs straight: a derivative-based Gauss length says 0 < π/2
    assert abs(r.corner_part - 3 * math.pi / 4) < 1e-15 and r.hypothesis is False
    assert not r.monotone and abs(r.min_delta - 1.0) < 1e-14  # ‖z‖² rises from 1 to 2 on the first leg


def test_one_piece_agrees_with_the_smooth_theorem():
    # a single polynomial piece: the smooth Theorem 3 check (jvp, adaptive quadrature) gives the same G
    rng = np.random.default_rng(0)
    c = rng.standard_normal((3, 4)) * np.array([1.0, 1.0, 0.3, 0.2])
    c[:, 0] -= c @ (0.5 ** np.arange(4))  # z(1) = 0: shift the constant so that the end is z*
    curve = curve_from_pieces([0.0, 1.0], c[None])

    def z(alpha):
        t = alpha - 0.5
        return torch.stack([sum(float(c[i, k]) * t**k for k in range(4)) for i in range(3)])

    smooth = check_theorem3(z)
    pw = check_theorem3_piecewise(curve)
    assert abs(smooth.gauss_length - pw.gauss_length) < 1e-8 and smooth.monotone == pw.monotone


@pytest.mark.parametrize("bad", [dict(breaks=[0.0, 1.0], coefficients=np.zeros((2, 2, 2))), dict(breaks=[1.0, 0.0])])
def test_curve_validation(bad):
    with pytest.raises(ValueError, match="breaks"):
        curve_from_pieces(bad["breaks"], bad.get("coefficients", np.zeros((1, 2, 2))))


def test_verify_family_has_no_counterexample():
    rows = verify_family(quick=True, seed=0)
    assert all(r.ok for r in rows) and len(rows) == 4
    checks = [r for r in rows if r.kind == "check"]
    assert checks[0].hypotheses_held > 0 and checks[0].counterexamples == 0
