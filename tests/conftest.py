"""Shared test set-up: Hypothesis profiles, float64 by default, one thread for steady timings."""

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

# `ci`: bounded and fast, the default run. `thorough`: many examples for deep runs.
settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("dev", max_examples=10, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def float64_default():
    """float64 as torch's default dtype for one test module (``pytestmark = usefixtures(...)``), restored after."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


# ---------------------------------------------------------------------------------------------- small models, data


def _mlp(d_in: int, widths, k: int, *, activation=torch.nn.ReLU, batchnorm: bool = False, bias: bool = True):
    layers, width = [], d_in
    for w in widths:
        layers.append(torch.nn.Linear(width, w, bias=bias))
        if batchnorm:
            layers.append(torch.nn.BatchNorm1d(w))
        layers.append(activation())
        width = w
    layers.append(torch.nn.Linear(width, k, bias=bias))
    return torch.nn.Sequential(*layers)


@pytest.fixture(scope="session")
def make_mlp():
    """``make_mlp(d_in, widths, k, activation=nn.ReLU, batchnorm=False, bias=True)``: a fresh ``nn.Sequential`` MLP
    (Linear, [BatchNorm1d], activation per hidden width, then Linear), initialised from torch's global generator."""
    return _mlp


def _batch(n: int = 16, d: int = 3, k: int = 3, *, seed: int = 0, dtype=None):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=dtype), torch.randint(0, k, (n,), generator=g)


@pytest.fixture(scope="session")
def make_batch():
    """``make_batch(n=16, d=3, k=3, seed=0)``: a classification batch ``(x (n, d) Gaussian, y (n,) in [0, k))``."""
    return _batch


def _conv_bn_net(activation=torch.nn.ReLU, head_activation=torch.nn.Tanh):
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3),
        torch.nn.BatchNorm2d(3),
        activation(),
        torch.nn.Flatten(),
        torch.nn.Linear(12, 5),
        torch.nn.BatchNorm1d(5),
        head_activation(),
        torch.nn.Linear(5, 3),
    )


@pytest.fixture(scope="session")
def make_conv_bn_net():
    """``make_conv_bn_net(activation=nn.ReLU, head_activation=nn.Tanh)``: Conv2d(2→3, 3×3), BatchNorm2d, activation,
    flatten, Linear(12→5), BatchNorm1d, head activation, Linear(5→3), for inputs ``(N, 2, 4, 4)``."""
    return _conv_bn_net
