"""empirical.models: architectures, the four ResNet variants at initialisation, seeded init, registry errors."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats
from torch import nn

from empirical.models import MODELS, RESNET_VARIANTS, NTKLinear, build_model, model_options, model_task


def _resnet_param_count(depth: int, classes: int = 10, bn: bool = True) -> int:
    """Closed-form parameter count of the option-A CIFAR ResNet (He et al. 2016 §4.2) with BatchNorm."""
    n = (depth - 2) // 6
    conv = lambda ci, co: 9 * ci * co
    count = conv(3, 16) + (2 * 16 if bn else 0)
    c = 16
    for co in (16, 32, 64):
        for _ in range(n):
            count += conv(c, co) + conv(co, co) + (4 * co if bn else 0)
            c = co
    return count + 64 * classes + classes


@pytest.mark.parametrize("depth", [20, 32, 44, 56])
def test_resnet_parameter_counts_match_the_closed_form(depth):
    model = build_model(f"resnet{depth}", input_shape=(3, 32, 32), seed=0)
    assert sum(p.numel() for p in model.parameters()) == _resnet_param_count(depth)


def test_resnet20_has_the_papers_size():
    # He et al. 2016, Table 6: ResNet-20 has 0.27M parameters
    assert _resnet_param_count(20) == 269_722
    assert round(sum(p.numel() for p in build_model("resnet20", input_shape=(3, 32, 32)).parameters()), -4) == 270_000


def _blocks(model):
    return list(model.blocks)


@pytest.mark.parametrize("variant", ["bn-i", "nbn-i", "nbn-f"])
def test_identity_variants_start_with_identity_blocks(variant):
    """BN-I (γ = 0), NBN-I (res_scale = 0) and Fixup (last conv = 0): every block maps x to relu(shortcut(x))."""
    model = build_model("resnet20", input_shape=(3, 32, 32), seed=1, variant=variant)
    x = torch.randn(4, 16, 32, 32, generator=torch.Generator().manual_seed(0))
    for block in _blocks(model):
        y = block(x)
        assert torch.equal(y, torch.relu(block.shortcut(x if variant != "nbn-f" else block.bias1a(x))))
        x = torch.randn_like(y)


def test_bn_variant_blocks_are_not_identity():
    model = build_model("resnet20", input_shape=(3, 32, 32), seed=1, variant="bn")
    x = torch.randn(4, 16, 32, 32)
    block = _blocks(model)[0]
    assert not torch.allclose(block(x), torch.relu(block.shortcut(x)))


def test_fixup_initialisation():
    model = build_model("resnet56", input_shape=(3, 32, 32), seed=2, variant="fixup")
    assert model.variant == "nbn-f"
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert torch.equal(model(torch.randn(3, 3, 32, 32)), torch.zeros(3, 10))  # classifier starts at zero
    n_branches = 27
    w = torch.cat([b.conv1.weight.detach().flatten() for b in _blocks(model)[19:]])  # 64→64 convs: fan_in 576
    # Zhang et al. 2019: He init scaled by L^{-1/(2m-2)} with m = 2 layers per branch
    expected_std = math.sqrt(2 / 576) * n_branches ** (-0.5)
    assert stats.kstest(w.numpy() / expected_std, "norm").pvalue > 1e-3
    assert all(b.conv2.weight.abs().sum() == 0 for b in _blocks(model))


def test_default_initialisation_is_pytorchs_uniform():
    model = build_model("mlp", input_shape=(300,), seed=0, hidden=[200])
    w = model.net[1].weight.detach()
    bound = 1 / math.sqrt(300)
    assert float(w.abs().max()) <= bound
    assert stats.kstest(w.flatten().numpy(), "uniform", args=(-bound, 2 * bound)).pvalue > 1e-3


def test_he_initialisation_and_scale_and_zero_bias():
    model = build_model("mlp", input_shape=(400,), seed=0, hidden=[300], init="he", init_scale=0.1)
    w = model.net[1].weight.detach().flatten().numpy()
    assert stats.kstest(w / (0.1 * math.sqrt(2 / 400)), "norm").pvalue > 1e-3
    assert float(model.net[1].bias.detach().abs().sum()) == 0.0


def test_ntk_layer_computes_the_parameterisation():
    torch.manual_seed(0)
    layer = NTKLinear(5, 3, sigma_w=1.3, sigma_b=0.2)
    nn.init.normal_(layer.weight)
    nn.init.normal_(layer.bias)
    x = torch.randn(7, 5, dtype=torch.float32)
    expected = 1.3 / math.sqrt(5) * x @ layer.weight.T + 0.2 * layer.bias
    assert torch.allclose(layer(x), expected, atol=1e-6)


def test_ntk_mlp_has_standard_normal_parameters():
    model = build_model("mlp", input_shape=(50,), seed=0, hidden=[400], parameterization="ntk")
    layers = [m for m in model.modules() if isinstance(m, NTKLinear)]
    assert len(layers) == 2
    w = torch.cat([m.weight.flatten() for m in layers]).detach().numpy()
    assert stats.kstest(w, "norm").pvalue > 1e-3


def test_mlp_puts_batchnorm_before_each_hidden_activation():
    model = build_model("mlp", input_shape=(1, 8, 8), seed=0, hidden=[32, 16], batchnorm=True, activation="tanh")
    kinds = [type(m).__name__ for m in model.net]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "Tanh", "Linear", "BatchNorm1d", "Tanh", "Linear"]
    assert model(torch.randn(5, 1, 8, 8)).shape == (5, 10)
    model = build_model("mlp", input_shape=(6,), depth=3, width=7, activation="sigmoid")
    assert [m.out_features for m in model.net if isinstance(m, nn.Linear)] == [7, 7, 7, 10]


def test_autoencoder_shape_and_task():
    model = build_model("autoencoder", input_shape=(1, 28, 28), seed=0, bottleneck=5)
    sizes = [(m.in_features, m.out_features) for m in model.net if isinstance(m, nn.Linear)]
    assert sizes == [(784, 512), (512, 5), (5, 512), (512, 784)]
    assert type(model.net[-1]).__name__ == "Linear"  # linear output
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 784)
    assert model_task("autoencoder") == "reconstruction" and model_task("resnet32") == "classification"


def test_cnn_shapes():
    assert build_model("cnn", input_shape=(1, 28, 28), seed=0)(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    cnn = build_model("cnn", input_shape=(3, 8, 8), num_classes=4, channels=[8], hidden=0, batchnorm=True)
    assert cnn(torch.randn(2, 3, 8, 8)).shape == (2, 4)
    with pytest.raises(ValueError, match="pooling stages are too many"):
        build_model("cnn", input_shape=(1, 4, 4), channels=[4, 4, 4])


@pytest.mark.parametrize("name", MODELS)
def test_same_seed_same_weights_and_global_rng_untouched(name):
    shape = (3, 32, 32) if name.startswith("resnet") or name == "cnn" else (1, 8, 8)
    opts = {"variant": "bn-i"} if name.startswith("resnet") else {}
    state = torch.random.get_rng_state()
    a = build_model(name, input_shape=shape, seed=7, **opts).state_dict()
    b = build_model(name, input_shape=shape, seed=7, **opts).state_dict()
    c = build_model(name, input_shape=shape, seed=8, **opts).state_dict()
    assert torch.equal(state, torch.random.get_rng_state())
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point())


def test_registry_errors_list_valid_names():
    with pytest.raises(ValueError, match="unknown model 'resnet18'; valid names: mlp, autoencoder, cnn, resnet20"):
        build_model("resnet18", input_shape=(3, 32, 32))
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['widht'\].*valid options: hidden, depth, width"):
        build_model("mlp", input_shape=(4,), widht=3)
    with pytest.raises(ValueError, match=r"unknown ResNet variant 'nbn'.*bn, bn-i, nbn-i, nbn-f"):
        build_model("resnet20", input_shape=(3, 32, 32), variant="nbn")
    with pytest.raises(ValueError, match="unknown activation 'gelu'; valid: relu, tanh, sigmoid"):
        build_model("mlp", input_shape=(4,), activation="gelu")
    with pytest.raises(ValueError, match="either hidden"):
        build_model("mlp", input_shape=(4,), hidden=[3], depth=2)
    with pytest.raises(ValueError, match="image inputs"):
        build_model("resnet20", input_shape=(10,))
    assert "variant" in model_options("resnet44") and set(RESNET_VARIANTS) == {"bn", "bn-i", "nbn-i", "nbn-f"}
