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
