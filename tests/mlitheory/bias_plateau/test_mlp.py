"""Deep MLPs with small initialisation (mlitheory.bias_plateau.mlp): data, initialisation, the bias-mean
conservation law under GD and momentum (theory_bias_plateau.md §6 item 6), and one plateau case."""

import math

import pytest
import torch
from torch.func import functional_call

from mlitheory.bias_plateau import (
    balanced_gaussian_data,
    bias_gap,
    last_bias_name,
    make_mlp,
    run_mlp_case,
    train_mlp,
)


def test_balanced_data():
    x, y = balanced_gaussian_data(4, 20, 30, seed=1)
    assert x.shape == (120, 20) and x.dtype == torch.float64
    assert torch.equal(torch.bincount(y), torch.full((4,), 30))
    x2, y2 = balanced_gaussian_data(4, 20, 30, seed=1)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    # the class means are orthogonal with norm 2: the Gram matrix of the empirical means is 4 I up to noise
    big, yb = balanced_gaussian_data(3, 6, 4000, seed=0)
    means = torch.stack([big[yb == c].mean(0) for c in range(3)])
    assert torch.allclose(means @ means.T, 4 * torch.eye(3, dtype=torch.float64), atol=0.15)


def test_make_mlp_initialisation():
    model, th = make_mlp(20, 4, depth=3, width=200, init_scale=0.5, seed=0)
    assert [n for n in th] == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert all(torch.count_nonzero(th[n]) == 0 for n in th if n.endswith("bias"))
    # He initialisation times the scale: variance 2 / fan_in * scale^2 (sample of 40000 entries: 1% accuracy)
    w = th["2.weight"]
    assert float(w.var()) == pytest.approx(2 / 200 * 0.25, rel=0.03)
    x = torch.randn(5, 20, dtype=torch.float64)
    assert torch.equal(model(x), functional_call(model, th, (x,)))
    assert last_bias_name(model) == "4.bias"
    _, th1 = make_mlp(20, 4, depth=1, seed=0)
    assert list(th1) == ["0.weight", "0.bias"]


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_bias_mean_conserved_by_gd_and_momentum(momentum):
    x, y = balanced_gaussian_data(4, 8, 10, seed=0)
    model, th0 = make_mlp(8, 4, depth=4, width=12, init_scale=0.5, seed=0)
    th0["6.bias"] = torch.tensor([0.3, -0.1, 0.2, 0.5], dtype=torch.float64)
    before = {n: t.clone() for n, t in th0.items()}
    tr = train_mlp(model, th0, x, y, lr=0.05, momentum=momentum, max_steps=600, loss_tol=1e-6)
    assert tr.bias_mean_drift < 1e-10
    assert abs(float(tr.theta_T["6.bias"].mean()) - 0.225) < 1e-10
    assert bias_gap(model, tr.theta_T) > 0
    assert all(torch.equal(before[n], th0[n]) for n in th0)  # theta0 untouched
    assert tr.final_loss < 0.5 and tr.steps == 600


def test_deep_small_init_case_has_a_bias_gap_and_a_plateau():
    x, y = balanced_gaussian_data(4, 20, 25, seed=0)
    case = run_mlp_case(x, y, depth=5, init_scale=0.15, seed=0, width=16, lr=0.05, max_steps=20_000)
    assert case.converged and case.final_loss < 1e-3
    assert case.bias_gap > 0.1
    assert case.bias_mean_drift < 1e-10  # float64 data: the conservation law to round-off
    for s in ("linear", "homogeneous", "eq-last"):
        assert case.error[s][-1] == 0.0
        assert case.loss[s].shape == (101,)
    # logits at theta0 are O(scale^L) = O(1e-4): the loss starts at log k up to that
    assert case.loss["linear"][0] == pytest.approx(math.log(4), abs=1e-3)
    assert case.plateau_end["linear"] > case.plateau_end["homogeneous"]
    assert case.threshold == pytest.approx(0.5)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"depth \(number of linear layers\) must be >= 1"):
        make_mlp(3, 2, depth=0)
    with pytest.raises(ValueError, match="init_scale must be a finite number > 0"):
        make_mlp(3, 2, depth=2, init_scale=0.0)
    with pytest.raises(ValueError, match="init_scale"):
        make_mlp(3, 2, depth=2, init_scale=-1.0)
    with pytest.raises(ValueError, match=r"k \(number of classes\) must be >= 2"):
        make_mlp(3, 1, depth=2)
    with pytest.raises(ValueError, match=r"k \(number of classes\) must be >= 2"):
        balanced_gaussian_data(1, 5, 3)
    with pytest.raises(ValueError, match="k <= d"):
        balanced_gaussian_data(6, 5, 3)
    with pytest.raises(ValueError, match="activation"):
        make_mlp(3, 2, depth=2, activation="tanh")
    x, y = balanced_gaussian_data(2, 3, 4)
    model, th = make_mlp(3, 2, depth=2, width=4)
    with pytest.raises(ValueError, match="momentum"):
        train_mlp(model, th, x, y, momentum=1.0)
    with pytest.raises(ValueError, match="labels"):
        train_mlp(model, th, x, y + 5)
    with pytest.raises(FloatingPointError, match="diverged"):
        big = {n: t * 50 for n, t in th.items()}
        train_mlp(model, big, x * 1e3, y, lr=1e3, max_steps=200)
