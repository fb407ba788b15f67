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


# ---- models a researcher brings (tests/mlitheory/test_bad_input.py, test_api_fuzz.py) ----------------------------


class TiedLM(torch.nn.Module):
    """An embedding whose weight the output layer shares (weight tying): one tensor under two names."""

    def __init__(self, vocab: int = 5, dim: int = 4):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, dim)
        self.out = torch.nn.Linear(dim, vocab, bias=False)
        self.out.weight = self.emb.weight

    def forward(self, t):
        return self.out(torch.tanh(self.emb(t)))


class Counter(torch.nn.Module):
    """A forward that updates an integer buffer (and a float one) in place."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        self.register_buffer("ema", torch.zeros(2))

    def forward(self, x):
        out = self.lin(x)
        self.calls += 1
        self.ema.mul_(0.5).add_(out.detach().mean(0))
        return out


class Uncopyable(torch.nn.Module):
    """A module holding a lock (cannot be deep-copied) that records the caller's training flag during forward."""

    def __init__(self):
        import threading

        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
        self.drop = torch.nn.Dropout(0.5)
        self.lock = threading.Lock()
        self.seen: list = []
        self.owner = [self]  # a plain reference to the caller's object, which copies keep

    def forward(self, x):
        caller = self.owner[0]
        caller.seen.append((caller.training, caller.drop.training))
        return self.drop(self.lin(x))


class AttentionHead(torch.nn.Module):
    """A tiny Transformer encoder layer (fused fast path in eval mode) and a linear read-out."""

    def __init__(self, d: int = 4):
        super().__init__()
        self.enc = torch.nn.TransformerEncoderLayer(d, 2, 8, dropout=0.0, batch_first=True)
        self.fc = torch.nn.Linear(d, 2)

    def forward(self, x):
        return self.fc(self.enc(x).mean(1))


class Zoo:
    """Small models and states for the bad-input matrix and the fuzz (float32 unless named ``*64``)."""

    def __init__(self):
        from torch import nn
        from torch.nn.utils.parametrizations import weight_norm

        g = torch.Generator().manual_seed(0)
        torch.manual_seed(0)
        self.lin = nn.Linear(3, 2)
        self.a = {k: v.clone() for k, v in nn.Linear(3, 2).state_dict().items()}
        self.b = {k: v.clone() for k, v in nn.Linear(3, 2).state_dict().items()}
        self.x = torch.randn(8, 3, generator=g)
        self.y = torch.randint(0, 2, (8,), generator=g)
        self.data = (self.x, self.y)
        self.mlp = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
        self.mlp_b = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).state_dict()
        self.bn = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))
        self.bn_b = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2)).state_dict()
        self.tied0, self.tied1 = TiedLM(), TiedLM()
        self.tokens = torch.randint(0, 5, (6,), generator=g)
        self.next_tokens = torch.randint(0, 5, (6,), generator=g)
        self.counter0, self.counter1 = Counter(), Counter()
        self.uncopyable = Uncopyable()
        self.uncopyable_b = {"lin." + k: v for k, v in nn.Linear(3, 2).state_dict().items()}
        self.attn0, self.attn1 = AttentionHead().double(), AttentionHead().double()
        self.seq = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
        self.wn0 = nn.Sequential(weight_norm(nn.Linear(3, 4)), nn.Tanh(), nn.Linear(4, 2)).double()
        self.wn1 = nn.Sequential(weight_norm(nn.Linear(3, 4)), nn.Tanh(), nn.Linear(4, 2)).double()
        self.x64 = self.x.double()


@pytest.fixture(scope="module")
def zoo() -> Zoo:
    return Zoo()


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
