"""Logit Gauss length against closed forms: straight paths, planar parabolas, a reversal."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from mlitheory import LogitGaussLength, logit_gauss_length
from mlitheory.paths import linear_path

pytestmark = pytest.mark.usefixtures("float64_default")


def _angle(u: np.ndarray, v: np.ndarray) -> float:
    c = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.arccos(np.clip(c, -1.0, 1.0)))


def test_linear_model_has_straight_logit_paths():
    torch.manual_seed(0)
    a, b = nn.Linear(4, 3), nn.Linear(4, 3)
    g = logit_gauss_length(a, a, b, torch.randn(6, 4), tol=1e-10)
    assert g.mean == 0.0 and g.concatenated == 0.0 and np.all(g.per_example == 0.0)
    assert g.converged and g.n_examples == 6


def test_two_layer_linear_network_parabolas():
    # z(α) = W2(α) W1(α) x is a parabola z₀ + bα + cα² with b = z'(0), 2c = z'' (constant). Its tangent turns
    # monotonically in the plane of (b, c): the Gauss length is the angle between z'(0) and z'(1) = b + 2c.
    g = torch.Generator().manual_seed(1)
    w1, v1 = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    w2, v2 = torch.randn(2, 5, generator=g), torch.randn(2, 5, generator=g)
    x = torch.randn(3, 3, generator=g)
    net = nn.Sequential(nn.Linear(3, 5, bias=False), nn.Linear(5, 2, bias=False))
    start, end = {"0.weight": w1, "1.weight": w2}, {"0.weight": v1, "1.weight": v2}
    d1, d2 = v1 - w1, v2 - w2
    b = (x @ w1.T @ d2.T + x @ d1.T @ w2.T).numpy()  # z'(0), per example (7, 2)
    c2 = (2 * x @ d1.T @ d2.T).numpy()  # z'' = 2c
    want = np.array([_angle(b[i], b[i] + c2[i]) for i in range(3)])
    want_cat = _angle(b.ravel(), (b + c2).ravel())
    res = logit_gauss_length(net, start, end, x, tol=1e-9)
    # the error estimate bounds the quadrature error; 1e-12 covers arccos round-off of the closed form
    assert np.all(np.abs(res.per_example - want) <= res.per_example_error + 1e-12)
    assert abs(res.mean - want.mean()) <= res.per_example_error.max() + 1e-12
    assert abs(res.concatenated - want_cat) <= res.concatenated_error + 1e-12


def test_reversal_counts_pi_and_vanishing_velocity_is_not_nan():
    # z(α) = (1 − 2α)² x u: the curve runs back along a line, velocity 0 at α = 1/2 -> Gauss length π.
    u = torch.tensor([[0.6], [0.8]])
    net = nn.Sequential(nn.Linear(1, 1, bias=False), nn.Linear(1, 2, bias=False))
    start = {"0.weight": torch.ones(1, 1), "1.weight": u}
    end = {"0.weight": -torch.ones(1, 1), "1.weight": -u}
    x = torch.tensor([[1.0], [-2.0], [0.5]])
    res = logit_gauss_length(net, start, end, x, tol=1e-10)
    np.testing.assert_allclose(res.per_example, math.pi, rtol=0, atol=1e-9)
    assert abs(res.concatenated - math.pi) < 1e-9
    assert res.vanishing_velocity == 3 and np.all(res.min_speed == 0)
    # the same state twice: no motion at all, length 0 (not NaN)
    still = logit_gauss_length(net, start, start, x)
    assert still.mean == 0.0 and still.concatenated == 0.0 and still.vanishing_velocity == 3


@pytest.mark.parametrize("bn", ["recompute", "batch"])
def test_taylor_and_nested_jvp_agree_with_batch_norm(bn):
    # Identical quadratures fed by two derivative methods (nested jvp through native eval-mode layers, or
    # composite ones where statistics move): the results agree to round-off.
    torch.manual_seed(0)

    def make():
        return nn.Sequential(nn.Linear(3, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 3))

    m0, m1 = make(), make()
    with torch.no_grad():
        m1[1].running_var.fill_(2.0)
        m1[1].running_mean.fill_(0.3)
    x = torch.randn(10, 3)
    kw = dict(tol=1e-2, per_example=False)
    t = logit_gauss_length(m0, m0, m1, x, bn=bn, **kw)
    j = logit_gauss_length(m0, m0, m1, x, bn=bn, method="jvp", **kw)
    assert t.converged and abs(t.concatenated - j.concatenated) < 1e-10
    fine = logit_gauss_length(m0, m0, m1, x, bn=bn, tol=1e-6, per_example=False)
    assert fine.converged and abs(fine.concatenated - t.concatenated) < 1e-2 + 1e-6
    assert t.evaluations == j.evaluations and t.fallback_nodes == []
    assert t.statistics == ("exact" if bn == "recompute" else "")


def test_frozen_statistics_convention():
    torch.manual_seed(0)

    def make():
        return nn.Sequential(nn.Linear(3, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 3))

    m0, m1 = make(), make()
    x = torch.randn(10, 3)
    with pytest.warns(UserWarning):  # frozen "derivatives" belong to no curve: the turning check objects
        g = logit_gauss_length(m0, m0, m1, x, frozen_statistics=True, tol=1e-8, max_evaluations=120)
    assert g.statistics == "frozen" and np.isfinite(g.concatenated)


def test_options_and_errors(tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    other = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = torch.randn(8, 3)
    whole = logit_gauss_length(net, net, other, x, tol=1e-8)
    chunked = logit_gauss_length(net, None, None, [(x[:5], 0), (x[5:], 1)], path=linear_path(net, other), tol=1e-8)
    np.testing.assert_allclose(chunked.per_example, whole.per_example, atol=1e-12)
    split = logit_gauss_length(net, net, other, (x, torch.zeros(8)), batch_size=3, tol=1e-8, per_example=False)
    assert abs(split.concatenated - whole.concatenated) < 1e-12 and split.per_example.size == 0
    back = LogitGaussLength.load(whole.save(tmp_path / "g"))
    np.testing.assert_array_equal(back.per_example, whole.per_example)
    assert "mean per-example" in str(whole)
    with pytest.raises(ValueError, match="not both"):
        logit_gauss_length(net, net, other, x, path=linear_path(net, other))
    with pytest.raises(ValueError, match="method"):
        logit_gauss_length(net, net, other, x, method="fd")
    with pytest.raises(ValueError, match="nothing to compute"):
        logit_gauss_length(net, net, other, x, per_example=False, concatenated=False)
