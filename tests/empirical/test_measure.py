"""empirical.measure: how a run is measured by mlitheory, against closed forms."""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from torch import nn

from empirical import measure
from empirical.models import build_model
from mlitheory import gauss_length_from_samples, interpolate, weight_distance


def _linear_model_states(seed=0, d=4, k=3):
    model = build_model("mlp", input_shape=(d,), num_classes=k, hidden=[], seed=seed).double()
    start = {n: v.clone() for n, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(seed + 100)
    end = {n: v + torch.randn(v.shape, generator=g, dtype=v.dtype) for n, v in start.items()}
    return model, start, end


def test_curve_min_delta_is_infinite_for_a_non_finite_curve():
    model, start, end = _linear_model_states()
    x = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    data = [(x, torch.zeros(6, dtype=torch.long))]
    finite = measure.loss_curve(
        model, start, end, data, alphas=3, loss=nn.functional.cross_entropy, classification=True, bn="none"
    )
    assert measure.curve_min_delta(finite) == finite.min_delta()
    loss = np.array([1.0, math.inf, 0.5])
    broken = dataclasses.replace(finite, values={**finite.values, "loss": loss}, finite=np.isfinite(loss))
    assert measure.curve_min_delta(broken) == math.inf


def test_curve_of_a_linear_classifier_matches_the_closed_form():
    """Logits z(α) = ((1−α)W₀ + αW₁)x + (1−α)b₀ + αb₁; cross-entropy by log-sum-exp in NumPy (float64)."""
    model, start, end = _linear_model_states()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(37, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (37,), generator=g)
    data = measure.batches(x, y, 10)  # uneven batches: means must be weighted by batch size
    curve = measure.loss_curve(
        model, start, end, data, alphas=11, loss=nn.functional.cross_entropy, classification=True, bn="recompute"
    )
    W0, b0 = start["net.1.weight"].numpy(), start["net.1.bias"].numpy()
    W1, b1 = end["net.1.weight"].numpy(), end["net.1.bias"].numpy()
    X, Y = x.numpy(), y.numpy()
    for i, a in enumerate(np.linspace(0, 1, 11)):
        z = X @ ((1 - a) * W0 + a * W1).T + (1 - a) * b0 + a * b1
        ce = np.mean(logsumexp(z, axis=1) - z[np.arange(37), Y])
        assert curve.values["loss"][i] == pytest.approx(ce, rel=1e-12)
        assert curve.values["accuracy"][i] == pytest.approx(np.mean(z.argmax(1) == Y))
        assert curve.values["error"][i] == pytest.approx(np.mean(z.argmax(1) != Y))
    assert curve.alphas[0] == 0.0 and curve.alphas[-1] == 1.0
    L = curve.values["loss"]
    brute = max(0.0, *(L[j] - L[i] for i in range(11) for j in range(i, 11)))
    assert measure.curve_min_delta(curve) == pytest.approx(brute)


def test_batchnorm_recompute_matches_update_bn_and_leaves_the_model_alone():
    model = build_model("mlp", input_shape=(5,), num_classes=3, hidden=[8], batchnorm=True, seed=0).double()
    model.eval()
    before = copy.deepcopy(model.state_dict())
    start = copy.deepcopy(model.state_dict())
    g = torch.Generator().manual_seed(2)
    end = {
        k: (v + torch.randn(v.shape, generator=g, dtype=v.dtype) if v.is_floating_point() else v)
        for k, v in start.items()
    }
    x = torch.randn(50, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (50,), generator=g)
    data = measure.batches(x, y, 16)
    curve = measure.loss_curve(
        model, start, end, data, alphas=[0.0, 0.3, 1.0], loss=nn.functional.cross_entropy, classification=True,
        bn="recompute",
    )  # fmt: skip
    for i, a in enumerate([0.0, 0.3, 1.0]):
        ref = copy.deepcopy(model)
        ref.load_state_dict(
            {k: torch.lerp(start[k], end[k], a) if v.is_floating_point() else v for k, v in start.items()}
        )
        torch.optim.swa_utils.update_bn([b[0] for b in data], ref)
        ref.eval()
        with torch.no_grad():
            expected = nn.functional.cross_entropy(ref(x), y).item()
        assert curve.values["loss"][i] == pytest.approx(expected, rel=1e-12)
    assert not model.training and model.net[2].momentum == 0.1
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


class _Circle(nn.Module):
    """Logits (cos(t·x), sin(t·x)): along t = α·T each example's logit path is an arc of angle T·x."""

    def __init__(self):
        super().__init__()
        self.t = nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x):
        return torch.stack([torch.cos(self.t * x[:, 0]), torch.sin(self.t * x[:, 0])], -1)


def test_logit_gauss_length_of_circular_arcs():
    """The tangent of an arc of angle θ turns by θ: the mean over examples is T · mean(x), to the tolerance."""
    model, T = _Circle(), 2.0
    start, end = {"t": torch.tensor(0.0, dtype=torch.float64)}, {"t": torch.tensor(T, dtype=torch.float64)}
    x = torch.tensor([[1.0], [0.5], [0.25]], dtype=torch.float64)
    gl = measure.gauss_length(model, start, end, x, bn="recompute", tol=1e-6)
    assert gl.mean == pytest.approx(T * x[:, 0].mean().item(), abs=3e-6) and gl.converged
    np.testing.assert_allclose(gl.per_example, T * x[:, 0].numpy(), atol=1e-6)


def test_logit_gauss_length_of_a_linear_model_is_zero():
    model, start, end = _linear_model_states(seed=3)
    x = torch.randn(20, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert measure.gauss_length(model, start, end, x, bn="recompute").mean == pytest.approx(0.0, abs=1e-6)


def test_summary_reads_one_weight_distance():
    """The run's three distances come from one mlitheory.weight_distance: raw, ÷‖θ₀‖, ÷‖θ_T‖ (running
    statistics excluded)."""
    model = build_model("mlp", input_shape=(3,), num_classes=2, hidden=[4], batchnorm=True, seed=0).double()
    a = copy.deepcopy(model.state_dict())
    b = {k: v + 1.0 if v.is_floating_point() else v + 5 for k, v in a.items()}
    n_params = sum(p.numel() for p in model.parameters())
    norm_a = math.sqrt(sum(float((p.detach() ** 2).sum()) for p in model.parameters()))
    norm_b = math.sqrt(sum(float(((p.detach() + 1) ** 2).sum()) for p in model.parameters()))
    x = torch.randn(8, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    data = measure.batches(x, torch.zeros(8, dtype=torch.long), 3)
    curve = measure.loss_curve(
        model, a, b, data, alphas=5, loss=nn.functional.cross_entropy, classification=True, bn="recompute"
    )
    m = measure.summary(curve, weight_distance(a, b))
    assert m["distance"] == pytest.approx(math.sqrt(n_params), rel=1e-12)
    assert m["norm_distance"] == pytest.approx(math.sqrt(n_params) / norm_a, rel=1e-12)
    assert m["norm_distance_end"] == pytest.approx(math.sqrt(n_params) / norm_b, rel=1e-12)
    assert math.isnan(m["gauss_length"]) and m["gauss_evaluations"] == 0
    assert m["curve_loss_final"] == curve["loss"][-1] and m["monotone"] == (m["min_delta"] == 0.0)


def test_batches_split_and_check():
    x, y = torch.arange(10.0).reshape(5, 2), torch.arange(5)
    parts = measure.batches(x, y, 2)
    assert [len(b[1]) for b in parts] == [2, 2, 1] and torch.equal(torch.cat([b[0] for b in parts]), x)
    with pytest.raises(ValueError, match="positive"):
        measure.batches(x, y, 0)
    with pytest.raises(ValueError, match="5 examples but y has 4"):
        measure.batches(x, y[:4], 2)
    with pytest.raises(ValueError, match="at least 2"):
        measure.loss_curve(
            nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2), parts, alphas=1, loss=nn.functional.cross_entropy,
            classification=True, bn="none",
        )  # fmt: skip


def _both_estimates(model, start, end, x, alphas):
    """The two Gauss-length estimates the experiments report (empirical.experiments._common.gauss_lengths): the
    adaptive quadrature with frozen statistics, and the turning of the logit polygon at ``alphas`` points."""
    deriv = measure.gauss_length(model, start, end, x, bn="recompute", frozen_statistics=True, tol=1e-8)
    curve = interpolate(
        model, start, end, (x, torch.zeros(len(x), dtype=torch.long)), alphas=alphas, keep_logits=True,
        metrics=("loss",), progress=False,
    )  # fmt: skip
    return deriv.per_example, gauss_length_from_samples(curve.alphas, curve.logits).value


def test_gauss_length_estimates_of_a_parabola():
    """A bias-free two-layer linear net has z(α) = A + Bα + Cα² per example: its tangent B + 2Cα turns by exactly
    the angle between B and B + 2C. Both estimates converge to it; a one-layer net gives a straight path (0)."""
    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6, bias=False), nn.Linear(6, 3, bias=False)).double()
    start = {k: torch.randn(v.shape, generator=g, dtype=torch.float64) for k, v in net.state_dict().items()}
    end = {k: torch.randn(v.shape, generator=g, dtype=torch.float64) for k, v in net.state_dict().items()}
    x = torch.randn(5, 4, generator=g, dtype=torch.float64)
    w1, w2 = start["0.weight"], start["1.weight"]
    d1, d2 = end["0.weight"] - w1, end["1.weight"] - w2
    b = x @ (d2 @ w1 + w2 @ d1).T
    c = x @ (d2 @ d1).T
    cos = ((b * (b + 2 * c)).sum(1) / (b.norm(dim=1) * (b + 2 * c).norm(dim=1))).clamp(-1, 1)
    truth = torch.arccos(cos).numpy()
    deriv, turning = _both_estimates(net, start, end, x, 401)
    np.testing.assert_allclose(deriv, truth, rtol=1e-7, atol=1e-8)  # quadrature to 1e-8 per example
    assert np.all(turning <= truth + 1e-9)  # the polygon's turning is a lower bound ...
    np.testing.assert_allclose(turning, truth, rtol=2e-2, atol=1e-4)  # ... that converges
    lin = nn.Linear(4, 3, bias=False).double()
    s = {"weight": torch.randn(3, 4, generator=g, dtype=torch.float64)}
    e = {"weight": torch.randn(3, 4, generator=g, dtype=torch.float64)}
    flat_d, flat_t = _both_estimates(lin, s, e, x, 11)
    np.testing.assert_allclose(flat_d, 0.0, atol=1e-12)
    np.testing.assert_allclose(flat_t, 0.0, atol=1e-6)


def test_relu_kinks_count_in_both_estimates():
    """A one-hidden-unit ReLU net whose unit switches off along the path: the logit path is a polyline (a kink).
    z″ = 0 on both legs, but the quadrature's guard (the tangent turns between its nodes are a lower bound of the
    Gauss length) counts the jump of the tangent, as the polygon does: both give the turn, arctan 2. (A trapezoid
    rule on ‖T′‖, the authors' estimator, would give 0.)"""
    net = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 2)).double()
    start = {
        "0.weight": torch.tensor([[1.0]]),
        "0.bias": torch.tensor([1.0]),
        "2.weight": torch.tensor([[1.0], [0.0]]),
        "2.bias": torch.tensor([0.0, 0.0]),
    }
    end = dict(start)
    end["0.bias"] = torch.tensor([-1.0])  # the unit's input 1 − 2α crosses 0 at α = 0.5 for x = 0
    end["2.bias"] = torch.tensor([0.0, 1.0])  # the second logit moves linearly
    start = {k: v.double() for k, v in start.items()}
    end = {k: v.double() for k, v in end.items()}
    deriv, turning = _both_estimates(net, start, end, torch.zeros(1, 1, dtype=torch.float64), 50)
    # velocity (-2, 1) before the kink, (0, 1) after: a turn of arctan(2)
    assert deriv[0] == pytest.approx(np.arctan(2.0), abs=1e-9)
    assert turning[0] == pytest.approx(np.arctan(2.0), abs=1e-9)
