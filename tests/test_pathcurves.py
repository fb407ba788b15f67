"""Path curves: the homogeneous-bias path against its closed form, layer-wise paths, agreement with measure."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from empirical import measure
from empirical.models import build_model
from empirical.pathcurves import (
    PathSpec,
    homogeneous_bias_path,
    layer_order,
    layerwise_path,
    linear_path,
    path_curve,
    path_state,
)


def _relu_mlp(depth: int, seed: int) -> nn.Module:
    return build_model("mlp", input_shape=(5,), num_classes=3, seed=seed, hidden=[7] * (depth - 1)).double()


@pytest.mark.parametrize("depth", [1, 2, 4])
@pytest.mark.parametrize("alpha", [0.1, 0.37, 0.8])
def test_homogeneous_path_from_zero_scales_as_alpha_power_depth(depth, alpha):
    """theory_bias_plateau.md §3.4: with θ_0 = 0, (W_ℓ, b_ℓ) ↦ (αW_ℓ, α^ℓ b_ℓ) gives f ↦ α^L f exactly (ReLU)."""
    net = _relu_mlp(depth, seed=depth)
    end = {k: v.clone() for k, v in net.state_dict().items()}
    zero = {k: torch.zeros_like(v) for k, v in end.items()}
    path = homogeneous_bias_path(net, end)
    x = torch.randn(11, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    f_alpha = torch.func.functional_call(net, path_state(zero, end, path, alpha), (x,))
    f_end = net(x)
    torch.testing.assert_close(f_alpha, alpha**depth * f_end, rtol=1e-12, atol=1e-14)
    # the plain linear path does not scale that way when the biases are non-zero
    lin = torch.func.functional_call(net, path_state(zero, end, linear_path(end), alpha), (x,))
    if depth > 1:
        assert not torch.allclose(lin, alpha**depth * f_end, rtol=1e-6)


def test_homogeneous_powers_follow_layer_order():
    net = _relu_mlp(3, seed=0)
    names = layer_order(net)
    path = homogeneous_bias_path(net, net.state_dict())
    assert [path.powers[f"{n}.bias"] for n in names] == [1, 2, 3]
    assert all(path.powers[f"{n}.weight"] == 1 for n in names)


def test_layerwise_path_moves_only_its_group():
    net = _relu_mlp(3, seed=1)
    start = {k: torch.randn_like(v) for k, v in net.state_dict().items()}
    end = net.state_dict()
    group = ["net.3.weight", "net.3.bias"]
    path = layerwise_path(end, group)
    at0 = path_state(start, end, path, 0.0)
    half = path_state(start, end, path, 0.5)
    for k in end:
        if k in group:
            torch.testing.assert_close(at0[k], start[k], rtol=0, atol=0)
            torch.testing.assert_close(half[k], 0.5 * (start[k] + end[k]))
        else:
            torch.testing.assert_close(at0[k], end[k], rtol=0, atol=0)
    with pytest.raises(ValueError, match="not float entries"):
        layerwise_path(end, ["no.such.key"])


def test_path_spec_rejects_bad_powers():
    with pytest.raises(ValueError, match="non-negative integers"):
        PathSpec("bad", {"w": -1})
    with pytest.raises(ValueError, match="others"):
        PathSpec("bad", {}, others="middle")


@pytest.mark.parametrize("batchnorm", [False, True])
def test_linear_path_curve_matches_measure(batchnorm):
    """The linear path through path_curve equals empirical.measure's interpolation (same BN re-estimation)."""
    torch.manual_seed(0)
    net = build_model("mlp", input_shape=(6,), num_classes=4, seed=0, hidden=[9], batchnorm=batchnorm)
    start = net.state_dict()
    end = build_model("mlp", input_shape=(6,), num_classes=4, seed=1, hidden=[9], batchnorm=batchnorm).state_dict()
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(64, 6, generator=g), torch.randint(0, 4, (64,), generator=g)
    data = measure.batches(x, y, 16)
    ours = path_curve(net, start, end, linear_path(end), data, alphas=7, loss=F.cross_entropy)
    ref = measure._fallback_curve(
        net, start, end, data, np.linspace(0, 1, 7), F.cross_entropy, ("loss", "accuracy"), "recompute", None, None
    )
    np.testing.assert_allclose(ours.values["loss"], ref["loss"], rtol=1e-6)
    np.testing.assert_allclose(ours.values["accuracy"], ref["accuracy"])
    assert ours.min_delta == pytest.approx(measure.min_delta(ref["loss"]), abs=1e-7)


def test_path_curve_does_not_change_the_model_and_checks_states():
    net = _relu_mlp(2, seed=0).float()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    end = _relu_mlp(2, seed=1).float().state_dict()
    x, y = torch.randn(8, 5), torch.randint(0, 3, (8,))
    path_curve(net, before, end, linear_path(end), [(x, y)], alphas=3, loss=F.cross_entropy)
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])
    bad = dict(end)
    bad.pop("net.1.bias")
    with pytest.raises(ValueError, match="differ in keys"):
        path_curve(net, before, bad, linear_path(end), [(x, y)], alphas=3, loss=F.cross_entropy)
    with pytest.raises(ValueError, match="metrics"):
        path_curve(net, before, end, linear_path(end), [(x, y)], alphas=3, loss=F.cross_entropy, metrics=("nll",))


def test_logit_gauss_lengths_of_a_parabola():
    """A bias-free two-layer linear net has z(α) = A + Bα + Cα² per example: its tangent B + 2Cα turns by exactly
    the angle between B and B + 2C. Both estimators converge to it; a one-layer net gives a straight path (0)."""
    from empirical.pathcurves import logit_gauss_lengths

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
    got = logit_gauss_lengths(net, start, end, x, alphas=401)
    np.testing.assert_allclose(got["derivative"], truth, rtol=1e-4, atol=1e-6)
    assert np.all(got["turning"] <= truth + 1e-9)  # the polygon's turning is a lower bound ...
    np.testing.assert_allclose(got["turning"], truth, rtol=2e-2, atol=1e-4)  # ... that converges
    lin = nn.Linear(4, 3, bias=False).double()
    s = {"weight": torch.randn(3, 4, generator=g, dtype=torch.float64)}
    e = {"weight": torch.randn(3, 4, generator=g, dtype=torch.float64)}
    flat = logit_gauss_lengths(lin, s, e, x, alphas=11)
    np.testing.assert_allclose(flat["derivative"], 0.0, atol=1e-12)
    np.testing.assert_allclose(flat["turning"], 0.0, atol=1e-6)


def test_relu_kinks_count_only_in_the_turning_estimate():
    """A one-hidden-unit ReLU net whose unit switches off along the path: the logit path is a polyline (a kink), so
    the derivative estimate is 0 while the polygon sees the turn."""
    from empirical.pathcurves import logit_gauss_lengths

    net = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 2)).double()
    start = {
        "0.weight": torch.tensor([[1.0]]),
        "0.bias": torch.tensor([1.0]),
        "2.weight": torch.tensor([[1.0], [0.0]]),
        "2.bias": torch.tensor([0.0, 0.0]),
    }
    end = dict(start)
    end["0.bias"] = torch.tensor([-1.0])  # the unit's input 1 + ... crosses 0 at α = 0.5 for x = 0
    end["2.bias"] = torch.tensor([0.0, 1.0])  # the second logit moves linearly
    start = {k: v.double() for k, v in start.items()}
    end = {k: v.double() for k, v in end.items()}
    got = logit_gauss_lengths(net, start, end, torch.zeros(1, 1, dtype=torch.float64), alphas=50)
    assert got["derivative"][0] == pytest.approx(0.0, abs=1e-12)
    # velocity (-2, 1) before the kink, (0, 1) after: a turn of arctan(2)
    assert got["turning"][0] == pytest.approx(np.arctan(2.0), abs=1e-9)
