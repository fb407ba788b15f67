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


# ---------------------------------------------------------------------------------------------------------------
# small models for the loss-landscape tests (mlitheory.directions, mlitheory.plane, mlitheory.plotting)
# ---------------------------------------------------------------------------------------------------------------


class ParameterZoo(torch.nn.Module):
    """Every kind of entry a filter rule has to handle: embedding, conv, batch norm, grouped transposed conv,
    layer norm, linear, a scalar parameter, a persistent and a non-persistent buffer."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.embed = nn.Embedding(7, 5)
        self.conv = nn.Conv2d(2, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.deconv = nn.ConvTranspose2d(4, 6, 2, groups=2)
        self.ln = nn.LayerNorm(6)
        self.fc = nn.Linear(6, 3)
        self.gain = nn.Parameter(torch.tensor(1.5))
        self.register_buffer("scale", torch.ones(3))
        self.register_buffer("cache", torch.zeros(2), persistent=False)


def _fill(module, g, scale=1.0):
    """Every parameter of ``module`` from ``g`` (normal, times ``scale``): no global random state involved."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


@pytest.fixture
def parameter_zoo():
    """A float64 :class:`ParameterZoo` with non-trivial running statistics."""
    g = torch.Generator().manual_seed(0)
    zoo = _fill(ParameterZoo().double(), g)
    with torch.no_grad():
        zoo.bn.running_mean.copy_(torch.randn(4, generator=g, dtype=torch.float64))
        zoo.bn.running_var.copy_(torch.rand(4, generator=g, dtype=torch.float64) + 0.5)
        zoo.bn.num_batches_tracked.fill_(5)
    return zoo


@pytest.fixture
def tanh_mlp_data():
    """``(model, x, y)``: a float64 tanh MLP 5-8-3 and 40 labelled examples."""
    g = torch.Generator().manual_seed(1)
    net = _fill(torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double(), g, 0.5)
    x = torch.randn(40, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (40,), generator=g)
    return net, x, y


@pytest.fixture
def bn_mlp_data():
    """``(model, x, y)``: a float64 MLP with BatchNorm1d whose running statistics have a history, 48 examples."""
    g = torch.Generator().manual_seed(2)
    layers = [torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3)]
    net = _fill(torch.nn.Sequential(*layers).double(), g, 0.5)
    net.train()
    with torch.no_grad():
        for _ in range(4):
            net(2 * torch.randn(32, 5, generator=g, dtype=torch.float64) + 1)
    net.eval()
    x = torch.randn(48, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (48,), generator=g)
    return net, x, y
