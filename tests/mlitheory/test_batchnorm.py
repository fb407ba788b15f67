"""Batch-norm policies against torch.optim.swa_utils.update_bn and models loaded by hand."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import update_bn

from mlitheory import interpolate, recompute_statistics
from mlitheory.paths import linear_path

pytestmark = pytest.mark.usefixtures("float64_default")


@pytest.fixture(scope="module")
def _net(make_conv_bn_net):
    return make_conv_bn_net


@pytest.fixture(scope="module")
def _trained_like(_net):
    def make(seed: int) -> nn.Module:
        """A network with non-trivial running statistics and num_batches_tracked (as after training)."""
        torch.manual_seed(seed)
        m = _net()
        m.train()
        with torch.no_grad():
            for _ in range(3):
                m(torch.randn(16, 2, 4, 4) * 2 + 1)
        return m

    return make


@pytest.fixture
def setup(_trained_like):
    m0, m1 = _trained_like(0), _trained_like(1)
    g = torch.Generator().manual_seed(7)
    loader = [(torch.randn(n, 2, 4, 4, generator=g), torch.randint(0, 3, (n,), generator=g)) for n in (8, 8, 5)]
    return m0, m1, loader


def _loss_of(model: nn.Module, loader) -> float:
    tot, n = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            tot += F.cross_entropy(model(x), y, reduction="sum").item()
            n += len(y)
    return tot / n


def test_recompute_statistics_equals_update_bn(setup):
    m0, _, loader = setup
    ref = copy.deepcopy(m0)
    update_bn(loader, ref)
    got = recompute_statistics(m0, m0.state_dict(), loader)
    want = ref.state_dict()
    assert set(got) == {k for k in want if "running" in k or "num_batches" in k}
    for k, v in got.items():
        assert torch.equal(v, want[k]), k  # the same operations in the same order: bit for bit


@pytest.mark.parametrize("bn", ["recompute", "interpolate", "batch", "none"])
def test_policies_against_models_loaded_by_hand(setup, bn, _net):
    m0, m1, loader = setup
    alphas = np.array([0.0, 0.3, 1.0, 1.2])
    curve = interpolate(m0, m0, m1, loader, alphas=alphas, bn=bn, metrics=("loss",), progress=False)
    path = linear_path(m0, m1)
    for i, a in enumerate(alphas):
        net = _net()
        state = path.state(float(a))
        if bn == "none":
            state.update({k: v for k, v in m1.state_dict().items() if "running" in k})
        net.load_state_dict(state)
        if bn == "recompute":
            update_bn(loader, net)
        net.train(bn == "batch")  # "batch": train-mode normalisation with each batch's own statistics
        want = _loss_of(net, loader)
        assert abs(curve.loss[i] - want) <= 1e-13 * max(1.0, abs(want)), (bn, a)
    assert curve.has_batchnorm and curve.bn == bn


def test_endpoint_shift_reports_what_the_policy_did(setup):
    m0, m1, loader = setup
    curve = interpolate(m0, m0, m1, loader, alphas=5, bn="recompute", progress=False)
    direct = [_loss_of(m.eval(), loader) for m in (copy.deepcopy(m0), copy.deepcopy(m1))]
    np.testing.assert_allclose(curve.endpoint_direct["loss"], direct, rtol=1e-13)
    np.testing.assert_allclose(curve.endpoint_values["loss"], curve.loss[[0, -1]], rtol=0)
    shift = curve.endpoint_shift["loss"]
    np.testing.assert_allclose(shift, curve.loss[[0, -1]] - np.array(direct), rtol=1e-12, atol=1e-15)
    assert np.all(shift != 0)  # the statistics seen in training differ from the re-estimated ones
    assert "moved the endpoint loss" in str(curve)
    same = interpolate(m0, m0, m1, loader, alphas=5, bn="interpolate", progress=False)
    np.testing.assert_array_equal(same.endpoint_shift["loss"], 0.0)


def test_integer_buffers_never_interpolated(setup):
    m0, m1, _ = setup
    with torch.no_grad():
        m1[1].num_batches_tracked.fill_(1000)
    path = linear_path(m0, m1)
    assert "1.num_batches_tracked" not in path.coefficients
    assert path.state(0.5)["1.num_batches_tracked"].item() == 1000
    assert path.state(0.5)["1.num_batches_tracked"].dtype == torch.long


def test_recompute_needs_data(setup):
    m0, m1, loader = setup
    with pytest.raises(ValueError, match="no batches"):
        interpolate(m0, m0, m1, loader, bn="recompute", bn_data=[], alphas=3, progress=False)
    with pytest.raises(ValueError, match="needs bn_data"):
        recompute_statistics(m0, m0.state_dict(), None)
    # a model without batch norm needs nothing, whatever the policy
    lin = nn.Linear(3, 2)
    x, y = torch.randn(4, 3), torch.randint(0, 2, (4,))
    curve = interpolate(lin, lin, nn.Linear(3, 2), (x, y), alphas=3, bn="recompute", bn_data=None, progress=False)
    assert not curve.has_batchnorm


def test_one_shot_iterator_with_recompute(setup):
    m0, m1, loader = setup
    ref = interpolate(m0, m0, m1, loader, alphas=3, progress=False)
    gen = (b for b in loader)  # consumed once: kept in memory for the statistics and the evaluation
    np.testing.assert_array_equal(interpolate(m0, m0, m1, gen, alphas=3, progress=False).loss, ref.loss)


def test_separate_bn_data(setup, _net):
    m0, m1, loader = setup
    other = [torch.randn(10, 2, 4, 4, generator=torch.Generator().manual_seed(3))]  # inputs only
    curve = interpolate(m0, m0, m1, loader, alphas=[0.5], bn_data=other, metrics=("loss",), progress=False)
    net = _net()
    net.load_state_dict(linear_path(m0, m1).state(0.5))
    update_bn(other, net)
    net.eval()
    assert abs(curve.loss[0] - _loss_of(net, loader)) < 1e-13
