"""Parameter paths: exact states and derivatives, group selection, and named errors for bad states."""

import re

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from mlitheory.paths import (
    Coefficient,
    homogeneous_bias_path,
    layer_groups,
    layer_numbers,
    layerwise_path,
    linear_path,
    parameter_keys,
    validate_states,
)

pytestmark = pytest.mark.usefixtures("float64_default")


def _mlp():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


@pytest.fixture
def states():
    torch.manual_seed(0)
    a, b = _mlp(), _mlp()
    with torch.no_grad():
        b[1].running_mean.fill_(2.0)
        b[1].num_batches_tracked.fill_(7)
    return a.state_dict(), b.state_dict()


@given(st.floats(min_value=-3, max_value=3, allow_nan=False))
def test_linear_path_is_the_affine_combination(alpha):
    g = torch.Generator().manual_seed(0)
    a = {"w": torch.randn(5, generator=g)}
    b = {"w": torch.randn(5, generator=g)}
    got = linear_path(a, b).state(alpha)["w"]
    want = (1 - alpha) * a["w"] + alpha * b["w"]
    # lerp and the two-term formula differ by a few ulps of the largest term
    bound = 4 * torch.finfo(torch.float64).eps * (abs(1 - alpha) * a["w"].abs() + abs(alpha) * b["w"].abs())
    assert torch.all((got - want).abs() <= bound + 1e-300)


def test_endpoints_exact(states):
    a, b = states
    p = linear_path(a, b)
    for k in a:
        assert torch.equal(p.state(0.0)[k], a[k] if a[k].is_floating_point() else b[k])
        assert torch.equal(p.state(1.0)[k], b[k])


def test_coefficient_derivatives():
    c = Coefficient(3)
    for a in (0.0, 0.5, -2.0):
        assert c.value(a) == a**3 and c.d1(a) == 3 * a**2 and c.d2(a) == 6 * a
    assert Coefficient(0).value(0.0) == 1.0 and Coefficient(0).d1(0.3) == 0.0
    assert Coefficient(1).d1(0.0) == 1.0 and Coefficient(1).d2(0.4) == 0.0
    assert Coefficient(0, 0.0).value(0.7) == 0.0
    with pytest.raises(ValueError):
        Coefficient(-1)


def test_path_derivatives(states):
    a, b = states
    p = homogeneous_bias_path(a, b)
    d1, d2 = p.derivatives(0.5)
    delta = b["3.bias"] - a["3.bias"]  # layer 2 (Linear "3"): α² coefficient
    assert torch.allclose(d1["3.bias"], 2 * 0.5 * delta) and torch.allclose(d2["3.bias"], 2 * delta)
    assert torch.equal(d1["0.weight"], b["0.weight"] - a["0.weight"]) and "0.weight" not in d2
    assert p.coefficients["0.bias"].power == 1 and p.coefficients["3.bias"].power == 2
    assert p.coefficients["1.bias"].power == 1  # batch-norm affine parameters move linearly


def test_layerwise_selection(states):
    a, b = states
    p = layerwise_path(a, b, "3")
    s = p.state(0.25)
    assert torch.equal(s["0.weight"], b["0.weight"]) and torch.equal(s["1.running_mean"], b["1.running_mean"])
    assert torch.allclose(s["3.weight"], 0.75 * a["3.weight"] + 0.25 * b["3.weight"])
    assert p.label == "layer-wise: 3"
    q = layerwise_path(a, b, re.compile(r"\.bias$"), rest="start")
    s = q.state(1.0)
    assert torch.equal(s["0.bias"], b["0.bias"]) and torch.equal(s["0.weight"], a["0.weight"])
    r = layerwise_path(a, b, ["0.weight"])
    assert set(k for k, c in r.coefficients.items() if not c.is_constant) == {"0.weight"}
    with pytest.raises(ValueError, match=r"matches no floating-point key.*modules are"):
        layerwise_path(a, b, "encoder")
    with pytest.raises(ValueError, match="not in the state"):
        layerwise_path(a, b, ["nope"])
    with pytest.raises(ValueError, match="rest must be"):
        layerwise_path(a, b, "3", rest="middle")


def test_layer_groups(states):
    a, _ = states
    assert list(layer_groups(a)) == ["0", "1", "3"]
    model = _mlp()
    assert layer_groups(a, model=model)["1"] == ["1.weight", "1.bias", "1.running_mean", "1.running_var"]
    nested = {"layer1.0.conv.weight": torch.zeros(1), "layer1.0.bn.weight": torch.zeros(1), "fc.weight": torch.zeros(1)}
    assert list(layer_groups(nested, by=2)) == ["layer1.0", "fc"]
    with pytest.raises(ValueError, match="by must be"):
        layer_groups(a, by="block")


def test_parameter_keys(states):
    a, _ = states
    assert "1.running_mean" not in parameter_keys(a) and "1.weight" in parameter_keys(a)
    assert parameter_keys(a, _mlp()) == ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"]


def test_homogeneous_depth_override_errors(states):
    a, b = states
    with pytest.raises(ValueError, match="not a floating-point key"):
        homogeneous_bias_path(a, b, depths={"9.bias": 2})
    with pytest.raises(ValueError, match="positive integer"):
        homogeneous_bias_path(a, b, depths={"3.bias": 0})


def test_validation_errors_name_the_key(states):
    a, b = states
    missing = {k: v for k, v in b.items() if k != "3.bias"}
    with pytest.raises(ValueError, match=r"missing from end: '3\.bias'"):
        validate_states(a, missing)
    extra = dict(b, **{"4.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"in end but not in start: '4\.weight'"):
        validate_states(a, extra)
    prefixed = {"module." + k: v for k, v in b.items()}
    with pytest.raises(ValueError, match=r"prefix 'module\."):
        validate_states(a, prefixed)
    with pytest.raises(ValueError, match=r"shape mismatch at key '0\.weight'"):
        validate_states(a, dict(b, **{"0.weight": torch.zeros(3, 4)}))
    with pytest.raises(TypeError, match=r"dtype mismatch at key '0\.bias'.*float32"):
        validate_states(a, dict(b, **{"0.bias": b["0.bias"].float()}))
    with pytest.raises(ValueError, match=r"end\['0\.bias'\] is a meta tensor.*materialise it"):
        validate_states(a, dict(b, **{"0.bias": b["0.bias"].to("meta")}))
    with pytest.raises(TypeError, match=r"end\['0\.bias'\] is a list"):
        validate_states(a, dict(b, **{"0.bias": [1.0]}))
    with pytest.raises(TypeError, match="state dict"):
        validate_states(a, 3)
    with pytest.raises(ValueError, match="the model expects"):
        validate_states(a, b, model=nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)))
    with pytest.raises(ValueError, match="model's state_dict"):
        validate_states(a, b, model=nn.Linear(3, 4))


def test_modules_accepted_and_path_to(states):
    torch.manual_seed(0)
    m0, m1 = _mlp(), _mlp()
    p = linear_path(m0, m1, model=m0).to(dtype=torch.float32)
    assert p.start["0.weight"].dtype == torch.float32 and p.start["1.num_batches_tracked"].dtype == torch.long


@pytest.mark.parametrize("depth", [1, 2, 4])
@pytest.mark.parametrize("alpha", [0.1, 0.37, 0.8])
def test_homogeneous_path_from_zero_scales_as_alpha_power_depth(make_mlp, depth, alpha):
    """theory_bias_plateau.md §3.4: with θ_0 = 0, (W_ℓ, b_ℓ) ↦ (αW_ℓ, α^ℓ b_ℓ) gives f ↦ α^L f exactly (ReLU)."""
    torch.manual_seed(depth)
    net = make_mlp(5, [7] * (depth - 1), 3)
    end = {k: v.clone() for k, v in net.state_dict().items()}
    zero = {k: torch.zeros_like(v) for k, v in end.items()}
    x = torch.randn(11, 5, generator=torch.Generator().manual_seed(0))
    f_alpha = torch.func.functional_call(net, homogeneous_bias_path(zero, end).state(alpha), (x,))
    torch.testing.assert_close(f_alpha, alpha**depth * net(x), rtol=1e-12, atol=1e-14)
    # the plain linear path does not scale that way when the biases are non-zero
    lin = torch.func.functional_call(net, linear_path(zero, end).state(alpha), (x,))
    if depth > 1:
        assert not torch.allclose(lin, alpha**depth * net(x), rtol=1e-6)


def test_layer_numbers_follow_the_state_and_skip_normalisation(make_mlp):
    net = make_mlp(3, [4, 4], 2, batchnorm=True)  # Linear, BN, ReLU, Linear, BN, ReLU, Linear
    assert layer_numbers(net) == {"0": 1, "3": 2, "6": 3}
    path = homogeneous_bias_path(net, net)
    assert [path.coefficients[f"{m}.bias"].power for m in ("0", "3", "6")] == [1, 2, 3]
    assert path.coefficients["1.bias"].power == 1  # a batch-norm shift is not a layer's bias
    assert layer_numbers(nn.Linear(2, 2)) == {"": 1}
    with pytest.raises(ValueError, match="no layer to number"):
        layer_numbers({"scale": torch.ones(3)})
