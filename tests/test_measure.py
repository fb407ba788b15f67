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
from mlitheory import weight_distance


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
