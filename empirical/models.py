"""The papers' models as plain ``nn.Module``\\ s with seeded initialisation, and a registry.

- `mlp` — fully connected classifier: ``hidden`` widths (or ``depth`` × ``width``), activation relu / tanh / sigmoid,
  optional BatchNorm before each activation, standard or NTK parameterisation, initialisation scale
- `autoencoder` — deep fully connected autoencoder ``D-512-k-512-D`` (ReLU, linear output), Lucas et al. §4.1.2
- `cnn` — small convolutional classifier: two conv-pool stages, one hidden linear layer
- `resnet8` — CIFAR ResNet (He et al. 2016; 3 stages of 16/32/64 channels, zero-padding shortcuts), depth
- `resnet14` — 8, 14, 20, 32, 44 or 56, in the four variants of Lucas et al. Table 2 (``variant=``):
- `resnet20` — ``bn`` (BatchNorm), ``bn-i`` (last BN γ of each residual branch zero),
- `resnet32/44` — ``nbn-i`` (no BN, scalar residual scale initialised to zero), ``nbn-f`` (Fixup, Zhang et al. 2019)
- `resnet56` — (8 and 14 are the small members of the family, for CPU-sized runs)

[`build_model`][empirical.models.build_model] constructs a model on the ``meta`` device and then initialises every
parameter and buffer from a ``torch.Generator`` seeded with ``seed``: the same seed gives the same weights, and the
global random state is neither read nor changed.

References:
    Lucas, Bae, Zhang, Fort, Zemel, Grosse. Analyzing Monotonic Linear Interpolation in Neural Network Loss
    Landscapes. ICML 2021 (arXiv 2104.11044), §4 and Table 2.
    He, Zhang, Ren, Sun. Deep Residual Learning for Image Recognition. CVPR 2016, §4.2 (CIFAR ResNets).
    Goyal et al. Accurate, Large Minibatch SGD. 2017 (zero-γ block-identity initialisation).
    Zhang, Dauphin, Ma. Fixup Initialization: Residual Learning Without Normalization. ICLR 2019.
    Jacot, Gabriel, Hongler. Neural Tangent Kernel. NeurIPS 2018 (NTK parameterisation).
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "MLP",
    "MODELS",
    "RESNET_VARIANTS",
    "CifarResNet",
    "ConvNet",
    "FCAutoencoder",
    "NTKLinear",
    "build_model",
    "model_options",
    "model_task",
]

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
RESNET_VARIANTS: tuple[str, ...] = ("bn", "bn-i", "nbn-i", "nbn-f")
_VARIANT_ALIASES = {"fixup": "nbn-f", "nbn_f": "nbn-f", "nbn_i": "nbn-i", "bn_i": "bn-i"}


def _activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]()


def _uniform_default(weight: torch.Tensor, bias: torch.Tensor | None, g: torch.Generator, scale: float = 1.0):
    """PyTorch's default Linear/Conv init, ``U(-1/√fan_in, 1/√fan_in)`` for weight and bias, drawn from ``g``."""
    fan_in = weight[0].numel()
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        weight.uniform_(-bound, bound, generator=g).mul_(scale)
        if bias is not None:
            bias.uniform_(-bound, bound, generator=g).mul_(scale)


def _he_normal(weight: torch.Tensor, g: torch.Generator, scale: float = 1.0):
    """He (Kaiming) normal init, ``N(0, 2/fan_in)``, times ``scale``."""
    with torch.no_grad():
        weight.normal_(0.0, math.sqrt(2.0 / weight[0].numel()), generator=g).mul_(scale)


class NTKLinear(nn.Module):
    """Linear layer in the NTK parameterisation.

    $$
    y = \\frac{\\sigma_w}{\\sqrt{n_\\text{in}}} W x + \\sigma_b b, \\qquad W_{ij}, b_i \\sim \\mathcal N(0, 1).
    $$

    Args:
        in_features: $n_\\text{in}$.
        out_features: output width.
        sigma_w: weight multiplier $\\sigma_w$.
        sigma_b: bias multiplier $\\sigma_b$ (Jacot et al. use 0.1).
    """

    def __init__(self, in_features: int, out_features: int, *, sigma_w: float = 1.0, sigma_b: float = 0.1):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.sigma_w, self.sigma_b = float(sigma_w), float(sigma_b)
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * (self.sigma_w / math.sqrt(self.in_features)), self.bias * self.sigma_b)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, sigma_w={self.sigma_w}, sigma_b={self.sigma_b}"


class MLP(nn.Module):
    """Fully connected classifier ``D → hidden[0] → … → hidden[-1] → num_classes``.

    Each hidden layer is ``Linear → [BatchNorm1d] → activation`` (BatchNorm before the activation, none on the
    output layer), as in Lucas et al.'s MNIST classifiers. Inputs of any shape are flattened.

    Args:
        in_features: input dimension ``D`` (product of the input shape).
        num_classes: number of output logits.
        hidden: widths of the hidden layers (may be empty: a linear model).
        activation: ``"relu"``, ``"tanh"`` or ``"sigmoid"``.
        batchnorm: BatchNorm1d before each hidden activation.
        parameterization: ``"standard"`` (``nn.Linear``) or ``"ntk"`` ([`NTKLinear`][empirical.models.NTKLinear]).
        init: ``"default"`` (PyTorch's ``U(±1/√fan_in)``) or ``"he"`` (``N(0, 2/fan_in)``); standard only.
        init_scale: multiplies every initial weight (and bias) — small values give the rich regime.
        bias_init: ``"default"`` or ``"zero"`` (every bias starts at 0).
        sigma_w, sigma_b: NTK multipliers (see [`NTKLinear`][empirical.models.NTKLinear]).
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        hidden: Sequence[int] = (100,),
        *,
        activation: str = "relu",
        batchnorm: bool = False,
        parameterization: str = "standard",
        init: str = "default",
        init_scale: float = 1.0,
        bias_init: str = "default",
        sigma_w: float = 1.0,
        sigma_b: float = 0.1,
    ):
        super().__init__()
        if parameterization not in ("standard", "ntk"):
            raise ValueError(f"parameterization={parameterization!r}; use 'standard' or 'ntk'")
        if init not in ("default", "he"):
            raise ValueError(f"init={init!r}; use 'default' or 'he'")
        if bias_init not in ("default", "zero"):
            raise ValueError(f"bias_init={bias_init!r}; use 'default' or 'zero'")
        hidden = [int(h) for h in hidden]
        if any(h < 1 for h in hidden):
            raise ValueError(f"hidden={hidden}: widths must be positive")
        self.init, self.init_scale, self.bias_init = init, float(init_scale), bias_init
        self.parameterization = parameterization

        def linear(i, o):
            if parameterization == "ntk":
                return NTKLinear(i, o, sigma_w=sigma_w, sigma_b=sigma_b)
            return nn.Linear(i, o)

        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers.append(linear(width, h))
            if batchnorm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(_activation(activation))
            width = h
        layers.append(linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def reset_parameters(self, g: torch.Generator) -> None:
        for m in self.modules():
            if isinstance(m, NTKLinear):
                with torch.no_grad():
                    m.weight.normal_(generator=g).mul_(self.init_scale)
                    m.bias.normal_(generator=g).mul_(self.init_scale)
            elif isinstance(m, nn.Linear):
                if self.init == "he":
                    _he_normal(m.weight, g, self.init_scale)
                    with torch.no_grad():
                        m.bias.zero_()
                else:
                    _uniform_default(m.weight, m.bias, g, self.init_scale)
            if isinstance(m, (nn.Linear, NTKLinear)) and self.bias_init == "zero":
                with torch.no_grad():
                    m.bias.zero_()
        _reset_norms(self)


class FCAutoencoder(nn.Module):
    """Deep fully connected autoencoder ``D-512-k-512-D`` (ReLU after every layer but the last).

    The output is the flattened reconstruction ``(N, D)``; the loss is the squared error summed over the
    ``D`` outputs and averaged over examples (Lucas et al. §4.1.2, Figure 4).

    Args:
        in_features: ``D`` (784 for MNIST).
        bottleneck: ``k``.
        hidden: width of the layers around the bottleneck (512 in the paper).
        activation: hidden activation.
    """

    def __init__(self, in_features: int, bottleneck: int = 25, *, hidden: int = 512, activation: str = "relu"):
        super().__init__()
        sizes = [in_features, hidden, bottleneck, hidden, in_features]
        layers: list[nn.Module] = [nn.Flatten()]
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(_activation(activation))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def reset_parameters(self, g: torch.Generator) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                _uniform_default(m.weight, m.bias, g)


class ConvNet(nn.Module):
    """Small CNN: ``[conv3×3 → (BN) → act → maxpool2] × len(channels) → flatten → linear → act → linear``.

    Args:
        in_channels: image channels.
        image_size: ``(H, W)`` of the input images.
        num_classes: number of logits.
        channels: output channels of the conv stages.
        hidden: width of the hidden linear layer (0: none).
        activation: activation name.
        batchnorm: BatchNorm2d after each convolution.
    """

    def __init__(
        self,
        in_channels: int,
        image_size: tuple[int, int],
        num_classes: int,
        *,
        channels: Sequence[int] = (32, 64),
        hidden: int = 128,
        activation: str = "relu",
        batchnorm: bool = False,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        c, (h, w) = in_channels, image_size
        for co in channels:
            layers.append(nn.Conv2d(c, co, 3, padding=1))
            if batchnorm:
                layers.append(nn.BatchNorm2d(co))
            layers += [_activation(activation), nn.MaxPool2d(2)]
            c, h, w = co, h // 2, w // 2
            if h < 1 or w < 1:
                raise ValueError(f"{len(channels)} pooling stages are too many for {image_size} images")
        layers.append(nn.Flatten())
        width = c * h * w
        if hidden:
            layers += [nn.Linear(width, hidden), _activation(activation)]
            width = hidden
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def reset_parameters(self, g: torch.Generator) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                _uniform_default(m.weight, m.bias, g)
        _reset_norms(self)


class _Scalar(nn.Module):
    """One learnable scalar, added (``kind="bias"``) or multiplied (``kind="scale"``)."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.value = nn.Parameter(torch.empty(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.value if self.kind == "bias" else x * self.value


class _Shortcut(nn.Module):
    """Parameter-free "option A" shortcut: spatial subsampling and zero channels appended."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.c_out > self.c_in:
            x = F.pad(x, (0, 0, 0, 0, 0, self.c_out - self.c_in))
        return x


class _Block(nn.Module):
    """Basic residual block of a CIFAR ResNet, in one of the four variants."""

    def __init__(self, c_in: int, c_out: int, stride: int, variant: str):
        super().__init__()
        self.variant = variant
        bn = variant in ("bn", "bn-i")
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=variant == "nbn-i")
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=variant == "nbn-i")
        self.bn1 = nn.BatchNorm2d(c_out) if bn else nn.Identity()
        self.bn2 = nn.BatchNorm2d(c_out) if bn else nn.Identity()
        self.shortcut = _Shortcut(c_in, c_out, stride)
        if variant == "nbn-i":
            self.res_scale = _Scalar("scale")
        if variant == "nbn-f":
            self.bias1a, self.bias1b = _Scalar("bias"), _Scalar("bias")
            self.bias2a, self.bias2b = _Scalar("bias"), _Scalar("bias")
            self.scale = _Scalar("scale")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.variant == "nbn-f":
            xb = self.bias1a(x)
            out = F.relu(self.bias1b(self.conv1(xb)))
            out = self.bias2b(self.scale(self.conv2(self.bias2a(out))))
            return F.relu(out + self.shortcut(xb))
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.variant == "nbn-i":
            out = self.res_scale(out)
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """CIFAR ResNet of depth ``6n + 2`` (20, 32, 44, 56) with 16/32/64 channels (He et al. 2016, §4.2).

    Variants (Lucas et al. Table 2):

    - ``"bn"``: BatchNorm after every convolution; He-normal convolutions; γ = 1.
    - ``"bn-i"``: as ``"bn"``, but the last BatchNorm γ of every residual branch starts at 0, so each block
      is the identity map (up to the shortcut) at initialisation.
    - ``"nbn-i"``: no BatchNorm; convolutions with biases; each branch is multiplied by a scalar ``res_scale``
      that starts at 0.
    - ``"nbn-f"``: Fixup — no BatchNorm; scalar biases before each convolution and activation and a scalar
      multiplier per branch; the first convolution of each branch He-normal scaled by $L^{-1/2}$
      (``L`` residual branches, two layers each), the second convolution and the classifier start at 0.

    Args:
        depth: 20, 32, 44 or 56.
        in_channels: image channels (3 for CIFAR).
        num_classes: number of logits.
        variant: one of [`RESNET_VARIANTS`][empirical.models.RESNET_VARIANTS] (``"fixup"`` is an alias of ``"nbn-f"``).
    """

    def __init__(self, depth: int = 20, in_channels: int = 3, num_classes: int = 10, *, variant: str = "bn"):
        super().__init__()
        variant = _VARIANT_ALIASES.get(str(variant).lower(), str(variant).lower())
        if variant not in RESNET_VARIANTS:
            raise ValueError(f"unknown ResNet variant {variant!r}; valid: {', '.join(RESNET_VARIANTS)} (or 'fixup')")
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(f"depth={depth}; CIFAR ResNets have depth 6n+2, e.g. 20, 32, 44, 56")
        self.depth, self.variant = depth, variant
        n = (depth - 2) // 6
        bn = variant in ("bn", "bn-i")
        self.conv = nn.Conv2d(in_channels, 16, 3, padding=1, bias=variant == "nbn-i")
        self.bn = nn.BatchNorm2d(16) if bn else nn.Identity()
        self.stem_bias = _Scalar("bias") if variant == "nbn-f" else nn.Identity()
        blocks: list[nn.Module] = []
        c = 16
        for stage, co in enumerate((16, 32, 64)):
            for i in range(n):
                stride = 2 if (stage > 0 and i == 0) else 1
                blocks.append(_Block(c, co, stride, variant))
                c = co
        self.blocks = nn.Sequential(*blocks)
        self.fc_bias = _Scalar("bias") if variant == "nbn-f" else nn.Identity()
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.stem_bias(self.bn(self.conv(x))))
        out = self.blocks(out)
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.fc(self.fc_bias(out))

    def reset_parameters(self, g: torch.Generator) -> None:
        n_branches = len(self.blocks)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                _he_normal(m.weight, g)
                if m.bias is not None:
                    with torch.no_grad():
                        m.bias.zero_()
            elif isinstance(m, _Scalar):
                with torch.no_grad():
                    m.value.fill_(0.0 if m.kind == "bias" else 1.0)
        _uniform_default(self.fc.weight, self.fc.bias, g)
        _reset_norms(self)
        with torch.no_grad():
            for block in self.blocks:
                if self.variant == "bn-i":
                    block.bn2.weight.zero_()
                elif self.variant == "nbn-i":
                    block.res_scale.value.zero_()
                elif self.variant == "nbn-f":
                    block.conv1.weight.mul_(n_branches ** (-0.5))
                    block.conv2.weight.zero_()
            if self.variant == "nbn-f":
                self.fc.weight.zero_()
                self.fc.bias.zero_()


def _reset_norms(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_parameters()  # γ = 1, β = 0, running statistics reset; no randomness


# ---------------------------------------------------------------------------------------------- registry


def _numel(shape: Sequence[int]) -> int:
    return int(math.prod(shape))


def _image(shape: Sequence[int], name: str) -> tuple[int, tuple[int, int]]:
    if len(shape) != 3:
        raise ValueError(f"{name} needs image inputs (C, H, W); got input_shape {tuple(shape)}")
    return int(shape[0]), (int(shape[1]), int(shape[2]))


def _mlp(input_shape, num_classes, *, hidden=None, depth=None, width=None, **kw):
    if hidden is not None and (depth is not None or width is not None):
        raise ValueError("give either hidden=[...] or depth= and width=, not both")
    if hidden is None:
        hidden = [int(width if width is not None else 100)] * int(depth if depth is not None else 1)
    return MLP(_numel(input_shape), num_classes, hidden, **kw)


def _ae(input_shape, num_classes, **kw):
    return FCAutoencoder(_numel(input_shape), **kw)


def _cnn(input_shape, num_classes, **kw):
    c, hw = _image(input_shape, "cnn")
    return ConvNet(c, hw, num_classes, **kw)


def _resnet(depth):
    def build(input_shape, num_classes, *, variant="bn"):
        c, _ = _image(input_shape, f"resnet{depth}")
        return CifarResNet(depth, c, num_classes, variant=variant)

    return build


_REGISTRY: dict[str, tuple[Callable[..., nn.Module], str, Callable]] = {
    "mlp": (_mlp, "classification", MLP),
    "autoencoder": (_ae, "reconstruction", FCAutoencoder),
    "cnn": (_cnn, "classification", ConvNet),
    # resnet8 and resnet14 (the small members, for CPU-sized runs) come last so the paper's depths are listed first
    **{f"resnet{d}": (_resnet(d), "classification", CifarResNet) for d in (20, 32, 44, 56, 8, 14)},
}
#: model names accepted by `build_model`
MODELS: tuple[str, ...] = tuple(_REGISTRY)


def _lookup(name: str):
    key = str(name).strip().lower()
    if key not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(MODELS)}")
    return _REGISTRY[key]


def model_task(name: str) -> str:
    """``"classification"`` or ``"reconstruction"`` (the autoencoder) for model ``name``."""
    return _lookup(name)[1]


def model_options(name: str) -> list[str]:
    """The keyword options that [`build_model`][empirical.models.build_model] accepts for model ``name``."""
    builder, _, cls = _lookup(name)
    own = [p for p in inspect.signature(builder).parameters if p not in ("input_shape", "num_classes", "kw")]
    if "kw" in inspect.signature(builder).parameters:
        skip = {"self", "in_features", "num_classes", "in_channels", "image_size", "depth"}
        own += [p for p in inspect.signature(cls.__init__).parameters if p not in skip and p not in own]
    return own


def build_model(
    name: str,
    *,
    input_shape: Sequence[int],
    num_classes: int = 10,
    seed: int = 0,
    device: str | torch.device | None = None,
    **options,
) -> nn.Module:
    """Build model ``name`` for inputs of ``input_shape``, initialised from ``seed``.

    Args:
        name: one of [`MODELS`][empirical.models.MODELS].
        input_shape: shape of one input, e.g. ``(1, 28, 28)`` or ``(20,)``.
        num_classes: number of logits (ignored by the autoencoder).
        seed: initialisation seed; the same seed gives identical parameters and buffers.
        device: where the model lives (default CPU). Initialisation is done on the CPU, then moved.
        **options: model options (see [`model_options`][empirical.models.model_options]), e.g. ``hidden=[512, 512]``,
            ``batchnorm=True``, ``activation="tanh"``, ``variant="bn-i"``.

    Returns:
        The model, in training mode.

    Raises:
        ValueError: unknown name (lists the valid ones), unknown option (lists the valid ones) or bad value.
    """
    builder, _, _ = _lookup(name)
    valid = model_options(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for model {name!r}; valid options: {', '.join(valid)}")
    with torch.device("meta"):
        model = builder(tuple(int(s) for s in input_shape), int(num_classes), **options)
    model = model.to_empty(device="cpu")
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.fill_(float("nan"))
    g = torch.Generator().manual_seed(int(seed))
    model.reset_parameters(g)
    for key, t in list(model.named_parameters()) + list(model.named_buffers()):
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise RuntimeError(f"{type(model).__name__}.reset_parameters left {key} uninitialised")
    return model.to(device) if device is not None else model
