"""empirical.measure: the loss curve, min Δ, logit Gauss length and distance against closed forms."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp
from torch import nn

from empirical import measure
from empirical.models import build_model


def _linear_model_states(seed=0, d=4, k=3):
    model = build_model("mlp", input_shape=(d,), num_classes=k, hidden=[], seed=seed).double()
    start = {n: v.clone() for n, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(seed + 100)
    end = {n: v + torch.randn(v.shape, generator=g, dtype=v.dtype) for n, v in start.items()}
    return model, start, end


@given(st.lists(st.floats(-10, 10), min_size=1, max_size=30))
def test_min_delta_is_the_largest_later_rise(losses):
    brute = max([max(losses[j] - losses[i], 0.0) for i in range(len(losses)) for j in range(i + 1, len(losses))] + [0])
    assert measure.min_delta(losses) == pytest.approx(brute, abs=1e-12)


def test_curve_min_delta_is_infinite_for_a_non_finite_curve():
    assert measure.curve_min_delta([1.0, math.inf, 0.5]) == math.inf
    assert measure.curve_min_delta([1.0, 0.9, 0.95]) == pytest.approx(0.05)


def test_curve_of_a_linear_classifier_matches_the_closed_form():
    """Logits z(α) = ((1−α)W₀ + αW₁)x + (1−α)b₀ + αb₁; cross-entropy by log-sum-exp in NumPy (float64)."""
    model, start, end = _linear_model_states()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(37, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (37,), generator=g)
    data = measure.batches(x, y, 10)  # uneven batches: means must be weighted by batch size
    curve = measure.interpolation_curve(model, start, end, data, alphas=11, loss=nn.functional.cross_entropy)
    W0, b0 = start["net.1.weight"].numpy(), start["net.1.bias"].numpy()
    W1, b1 = end["net.1.weight"].numpy(), end["net.1.bias"].numpy()
    X, Y = x.numpy(), y.numpy()
    for i, a in enumerate(np.linspace(0, 1, 11)):
        z = X @ ((1 - a) * W0 + a * W1).T + (1 - a) * b0 + a * b1
        ce = np.mean(logsumexp(z, axis=1) - z[np.arange(37), Y])
        assert curve.values["loss"][i] == pytest.approx(ce, rel=1e-12)
        assert curve.values["accuracy"][i] == pytest.approx(np.mean(z.argmax(1) == Y))
    assert curve.alphas[0] == 0.0 and curve.alphas[-1] == 1.0
    L = curve.values["loss"]
    assert curve.min_delta == pytest.approx(max(0.0, *(L[j] - L[i] for i in range(11) for j in range(i, 11))))


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
    curve = measure.interpolation_curve(
        model, start, end, data, alphas=[0.0, 0.3, 1.0], loss=nn.functional.cross_entropy
    )
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
    """The tangent of an arc of angle θ turns by θ. An inscribed polygon through m equally spaced points turns
    by θ(m−2)/(m−1) (m−2 vertices, θ/(m−1) each): the fallback's exact value; the exact engine's is θ."""
    model, T = _Circle(), 2.0
    start, end = {"t": torch.tensor(0.0, dtype=torch.float64)}, {"t": torch.tensor(T, dtype=torch.float64)}
    x = torch.tensor([[1.0], [0.5], [0.25]], dtype=torch.float64)
    gl = measure.logit_gauss_length(model, start, end, x, alphas=51).value
    arcs = T * x[:, 0].mean().item()
    if measure.uses_mlitheory()["logit_gauss_length"]:
        assert gl == pytest.approx(arcs, abs=1e-5)  # adaptive quadrature, tolerance 1e-6 per example
    else:
        assert gl == pytest.approx(arcs * 49 / 50, rel=1e-12)


def test_logit_gauss_length_of_a_linear_model_is_zero():
    model, start, end = _linear_model_states(seed=3)
    x = torch.randn(20, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert measure.logit_gauss_length(model, start, end, x, alphas=21).value == pytest.approx(0.0, abs=1e-6)


def test_weight_distance_excludes_running_statistics():
    model = build_model("mlp", input_shape=(3,), num_classes=2, hidden=[4], batchnorm=True, seed=0).double()
    a = copy.deepcopy(model.state_dict())
    b = {k: v + 1.0 if v.is_floating_point() else v + 5 for k, v in a.items()}
    n_params = sum(p.numel() for p in model.parameters())
    assert measure.weight_distance(a, b) == pytest.approx(math.sqrt(n_params), rel=1e-12)
    norm_a = math.sqrt(sum(float((p.detach() ** 2).sum()) for p in model.parameters()))
    assert measure.weight_distance(a, b, normalize="start") == pytest.approx(math.sqrt(n_params) / norm_a, rel=1e-12)
    with pytest.raises(ValueError, match=r"normalize.*'init'"):
        measure.weight_distance(a, b, normalize="init")


def test_fallback_rejects_what_it_cannot_do():
    model, start, end = _linear_model_states()
    data = [(torch.zeros(2, 4, dtype=torch.float64), torch.zeros(2, dtype=torch.long))]
    if not measure.uses_mlitheory()["interpolate"]:
        with pytest.raises(ValueError, match="bn='batch'"):
            measure.interpolation_curve(model, start, end, data, loss=nn.functional.cross_entropy, bn="batch")
        with pytest.raises(ValueError, match="holds no batches"):
            measure.interpolation_curve(model, start, end, [], loss=nn.functional.cross_entropy)
    with pytest.raises(ValueError, match="at least 2"):
        measure.interpolation_curve(model, start, end, data, alphas=1, loss=nn.functional.cross_entropy)
