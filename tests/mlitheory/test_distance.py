"""Weight distance against hand-computed norms."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from torch import nn

from mlitheory import WeightDistance, weight_distance
from tests.strategies import seeds


def test_hand_computed():
    a = {"l.weight": torch.tensor([[3.0, 0.0]]), "l.bias": torch.tensor([0.0]), "bn.running_mean": torch.zeros(2)}
    b = {"l.weight": torch.tensor([[0.0, 4.0]]), "l.bias": torch.tensor([12.0]), "bn.running_mean": torch.ones(2) * 9}
    d = weight_distance(a, b)
    assert d.value == 13.0 and float(d) == 13.0  # sqrt(9 + 16 + 144): running statistics excluded
    assert d.start_norm == 3.0 and d.end_norm == math.sqrt(16 + 144)
    assert weight_distance(a, b, normalize="start").value == 13.0 / 3.0
    assert weight_distance(a, b, normalize="end").value == 13.0 / math.sqrt(160)
    assert d.keys == ("l.weight", "l.bias")


@given(seeds)
def test_per_layer_table_adds_up(seed):
    torch.manual_seed(seed % 1000)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    d = weight_distance(net, other, per_layer=True)
    assert d.layers == ("0", "1", "2")
    assert math.isclose(float(np.sqrt(np.sum(d.layer_distance**2))), d.distance, rel_tol=1e-12)
    assert math.isclose(float(np.sqrt(np.sum(d.layer_start_norm**2))), d.start_norm, rel_tol=1e-12)
    # float64 accumulation equals the direct flat computation
    flat = torch.cat([(q - p).detach().double().flatten() for p, q in zip(net.parameters(), other.parameters())])
    assert math.isclose(d.distance, float(flat.norm()), rel_tol=1e-12)
    assert "total" in d.table() and "layer" in str(d)


def test_model_decides_the_parameters():
    class WithBuffer(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(2))
            self.register_buffer("scale", torch.full((2,), 5.0))

    a, b = WithBuffer(), WithBuffer()
    with torch.no_grad():
        b.w.fill_(2.0)
        b.scale.fill_(-5.0)
    assert weight_distance(a, b).value == math.sqrt(2)  # the module tells which entries are parameters
    assert weight_distance(a.state_dict(), b.state_dict()).value == math.sqrt(2 + 200)  # a plain state cannot


def test_errors_and_save(tmp_path):
    a = {"w": torch.zeros(2)}
    b = {"w": torch.ones(2)}
    with pytest.raises(ValueError, match="normalize"):
        weight_distance(a, b, normalize="init")
    with pytest.raises(ValueError, match="norm: it is 0"):
        weight_distance(a, b, normalize="start")
    with pytest.raises(ValueError, match="missing from end"):
        weight_distance(a, {"v": torch.ones(2)})
    d = weight_distance(a, b, per_layer=True)
    back = WeightDistance.load(d.save(tmp_path / "d"))
    assert back.value == d.value and back.layers == d.layers
