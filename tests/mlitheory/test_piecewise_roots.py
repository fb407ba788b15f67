"""Sign-changing roots with certified brackets, against numpy's companion roots and exact SymPy rationals."""

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st

from mlitheory.piecewise import sign_changes
from mlitheory.piecewise._poly import bernstein, horner, horner_bound, multiply, shift
from tests.strategies import seeds


def _t(a):
    return torch.as_tensor(np.array(a, dtype=np.float64))


@given(seeds, st.integers(min_value=2, max_value=8))
def test_roots_match_companion_eigenvalues(seed, n):
    # random polynomials on [-1, 1]: every real root of multiplicity one is found, nothing else
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((40, n))
    r = sign_changes(_t(c), _t(-np.ones(40)), _t(np.ones(40)))
    assert r.certified.all()
    for i in range(40):
        ref = np.roots(c[i][::-1])
        ref = np.sort(ref[(np.abs(ref.imag) < 1e-7) & (np.abs(ref.real) < 1 - 1e-9)].real)
        got = r.root[r.index == i].numpy()
        assert len(got) == len(ref)
        np.testing.assert_allclose(got, ref, atol=1e-9)
        # the bracket holds the root and the signs at its ends are certified opposite
        lo, hi = r.lo[r.index == i], r.hi[r.index == i]
        assert torch.all(lo <= r.root[r.index == i]) and torch.all(r.root[r.index == i] <= hi)


@given(seeds)
def test_double_roots_are_not_sign_changes(seed):
    # p = (x - a)² (x - b) q(x) with q > 0: only b is a sign change
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-0.9, 0.9, 2)
    if abs(a - b) < 1e-3:
        b = a + 0.1
    p = np.polymul(np.polymul(np.poly([a, a]), np.poly([b])), [1.0, 0.0, 2.0])[::-1]
    r = sign_changes(_t(p[None]), _t([-1.0]), _t([1.0]))
    np.testing.assert_allclose(r.root.numpy(), [b], atol=1e-12)


def test_exact_rational_roots_and_brackets():
    # (α − 1/3)(α − 5/8)(α − 7/2) on (0, 1): roots 1/3 and 5/8 to float64 accuracy (SymPy exact reference)
    x = sp.Symbol("x")
    poly = sp.Poly(sp.expand((x - sp.Rational(1, 3)) * (x - sp.Rational(5, 8)) * (x - sp.Rational(7, 2))), x)
    coefs = [float(v) for v in reversed(poly.all_coeffs())]
    r = sign_changes(_t([coefs]), _t([0.0]), _t([1.0]))
    exact = [float(v) for v in sorted(sp.real_roots(poly)) if 0 < v < 1]
    assert r.certified.all()
    np.testing.assert_allclose(r.root.numpy(), exact, rtol=0, atol=4e-16)
    # the bracket ends evaluate beyond their rounding bound with opposite signs
    c = _t([coefs])
    for lo, hi in zip(r.lo, r.hi):
        va, vb = horner(c, lo), horner(c, hi)
        assert (va.abs() > horner_bound(c, lo)).all() and (vb.abs() > horner_bound(c, hi)).all()
        assert float(va * vb) < 0


def test_edges_identically_zero_and_constants():
    # a root at the interval end is not interior; zero and constant polynomials have no roots
    c = _t([[0.0, 1.0], [0.0, 0.0], [3.0, 0.0], [-0.5, 1.0]])
    r = sign_changes(c, _t([0.0, 0.0, 0.0, 0.0]), _t([1.0, 1.0, 1.0, 1.0]), edge=1e-14)
    assert r.index.tolist() == [3] and abs(float(r.root[0]) - 0.5) < 1e-15
    with pytest.raises(ValueError, match=r"\(M, d\+1\)"):
        sign_changes(_t([1.0, 2.0]), _t([0.0]), _t([1.0]))


@given(seeds)
def test_polynomial_helpers(seed):
    rng = np.random.default_rng(seed)
    c = _t(rng.standard_normal((3, 5)))
    h = _t(rng.uniform(-1, 1, 3))
    t = _t(rng.uniform(-1, 1, 3))
    np.testing.assert_allclose(horner(shift(c, h), t), horner(c, t + h), atol=1e-12)
    d = _t(rng.standard_normal((3, 4)))
    np.testing.assert_allclose(horner(multiply(c, d), t), horner(c, t) * horner(d, t), atol=1e-12)
    b = bernstein(c, _t([-1.0] * 3).reshape(-1, 1)[:, 0], _t([1.0] * 3))
    grid = torch.linspace(-1, 1, 2001, dtype=torch.float64)
    vals = horner(c.unsqueeze(1), grid.unsqueeze(0))
    # convex-hull property: the graph lies within the Bernstein coefficients' range
    assert (vals.amin(1) >= b.amin(1) - 1e-12).all() and (vals.amax(1) <= b.amax(1) + 1e-12).all()
