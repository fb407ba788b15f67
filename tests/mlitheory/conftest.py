"""Small networks and reference evaluations shared by the tests of the exact tools (mlitheory.piecewise)."""

import numpy as np
import pytest
import torch
from torch import nn

from mlitheory.paths import ParameterPath


def _mlp(widths, *, act=nn.ReLU, seed=0):
    g = torch.Generator().manual_seed(seed)
    layers = []
    for i in range(len(widths) - 1):
        lin = nn.Linear(widths[i], widths[i + 1]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=g, dtype=torch.float64) / widths[i] ** 0.5)
            lin.bias.copy_(0.3 * torch.randn(lin.bias.shape, generator=g, dtype=torch.float64))
        layers.append(lin)
        if i < len(widths) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


@pytest.fixture(scope="session")
def seeded_mlp():
    """``seeded_mlp(widths, act=nn.ReLU, seed=0)``: a float64 MLP with seeded weights (scaled like 1/√fan_in)."""
    return _mlp


class TinyResNet(nn.Module):
    """A residual CNN written as a plain module: conv, two residual blocks with a scalar gain, pooling, linear."""

    def __init__(self, c: int = 3, k: int = 3):
        super().__init__()
        self.stem = nn.Conv2d(1, c, 3, padding=1)
        self.a1, self.a2 = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1)
        self.gain = nn.Parameter(torch.tensor(0.7))
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(c * 3 * 3, k)

    def forward(self, x):
        h = torch.relu(self.stem(x))
        h = torch.relu(h + self.gain * self.a2(torch.relu(self.a1(h))))
        h = self.pool(h)
        return self.fc(h.flatten(1))


class TinyCNN(nn.Module):
    """Conv2d → LeakyReLU → MaxPool2d → Conv1d over rows → ReLU → AdaptiveAvgPool1d → Linear."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 2, 3, padding=1)
        self.act = nn.LeakyReLU(0.1)
        self.pool = nn.MaxPool2d(2)
        self.c2 = nn.Conv1d(6, 3, 2)
        self.avg = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        h = self.pool(self.act(self.c1(x)))  # (N, 2, 3, 3)
        h = h.reshape(h.shape[0], 6, 3)
        h = torch.relu(self.c2(h))
        return self.fc(self.avg(h).flatten(1))


@pytest.fixture
def tiny_resnet():
    torch.manual_seed(0)
    return TinyResNet().double()


@pytest.fixture
def tiny_cnn():
    torch.manual_seed(1)
    return TinyCNN().double()


def _perturbed(state, scale, seed):
    g = torch.Generator().manual_seed(seed)
    return {
        k: v + scale * torch.randn(v.shape, generator=g, dtype=v.dtype) if v.is_floating_point() else v
        for k, v in state.items()
    }


@pytest.fixture(scope="session")
def perturbed():
    """``perturbed(state, scale, seed)``: the state plus seeded Gaussian noise on its floating entries."""
    return _perturbed


def _forward(model: nn.Module, path: ParameterPath, x: torch.Tensor, alphas) -> np.ndarray:
    out = []
    with torch.no_grad():
        for a in np.atleast_1d(alphas):
            z = torch.func.functional_call(model, path.state(float(a)), (x,))
            out.append(z.reshape(z.shape[0], -1).numpy())
    return np.stack(out)


@pytest.fixture(scope="session")
def forward():
    """``forward(model, path, x, alphas)``: logits ``(m, N, k)`` through the model itself at each α."""
    return _forward
