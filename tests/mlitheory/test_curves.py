"""Curve families: endpoints, closed forms, determinism of seeds, differentiability, bad input."""

import math

import numpy as np
import pytest
import torch

from mlitheory.curves import bezier_curve, circular_arc, random_bezier_curve, random_polynomial_curve, reversal_curve

F64 = torch.float64


def at(curve, a):
    return curve(torch.tensor(a, dtype=F64))


def test_random_families_end_at_z_star():
    one = torch.tensor(1.0, dtype=F64)
    pts = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(bezier_curve(pts)(one).numpy(), pts[-1], atol=1e-15)
    np.testing.assert_allclose(at(bezier_curve(pts), 0.0).numpy(), pts[0])
    for make in (random_bezier_curve, random_polynomial_curve):
        a, b, c = make(7, seed=3), make(7, seed=3), make(7, seed=4)
        assert torch.equal(at(a, 0.3), at(b, 0.3)) and not torch.equal(at(a, 0.3), at(c, 0.3))
    # the random Bézier curve starts one unit from its end, on the chord's start point
    z = random_bezier_curve(9, bend=0.2, seed=5)
    assert float(torch.linalg.vector_norm(z(one) - at(z, 0.0))) == pytest.approx(1.0, abs=1e-14)


def test_arc_closed_form_and_plane():
    phi, radius = 2.0, 1.5
    arc = circular_arc(phi, radius=radius, dim=7, seed=2)
    for a in (0.0, 0.3, 1.0):
        chord = torch.linalg.vector_norm(at(arc, 1.0) - at(arc, a))
        assert float(chord) == pytest.approx(2 * radius * math.sin(phi * (1 - a) / 2), abs=1e-14)
    # the arc lies in a plane: the velocities at three points span two dimensions
    one = torch.ones((), dtype=F64)
    vel = torch.stack([torch.func.jvp(arc, (torch.tensor(a, dtype=F64),), (one,))[1] for a in (0.1, 0.5, 0.9)])
    assert torch.linalg.matrix_rank(vel, atol=1e-12) == 2


def test_bezier_derivative_at_ends_matches_control_polygon():
    pts = np.random.default_rng(1).standard_normal((4, 5))
    one = torch.ones((), dtype=F64)
    _, d0 = torch.func.jvp(bezier_curve(pts), (torch.tensor(0.0, dtype=F64),), (one,))
    _, d1 = torch.func.jvp(bezier_curve(pts), (torch.tensor(1.0, dtype=F64),), (one,))
    np.testing.assert_allclose(d0.numpy(), 3 * (pts[1] - pts[0]), atol=1e-14)
    np.testing.assert_allclose(d1.numpy(), 3 * (pts[3] - pts[2]), atol=1e-14)


def test_reversal_values():
    v = np.array([1.0, -2.0])
    z = reversal_curve(v)
    for a in (0.0, 1 / 3, 0.5, 2 / 3, 1.0):
        np.testing.assert_allclose(at(z, a).numpy(), (1 - a) * (1 - 3 * a) * v, atol=1e-15)


def test_bad_input():
    with pytest.raises(ValueError, match="control_points"):
        bezier_curve(np.zeros(3))
    with pytest.raises(ValueError, match="angle"):
        circular_arc(-1.0)
    with pytest.raises(ValueError, match="dim"):
        circular_arc(1.0, dim=1)
    with pytest.raises(ValueError, match="v must"):
        reversal_curve(np.zeros(3))
    with pytest.raises(ValueError, match="dim"):
        random_bezier_curve(1)
    with pytest.raises(ValueError, match="degree"):
        random_polynomial_curve(3, degree=1)
