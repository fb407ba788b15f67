"""empirical.train: optimiser steps against hand-computed gradients, schedules, switch, checkpoints, divergence."""

from __future__ import annotations

import math
import pickle

import pytest
import torch
from torch import nn

from empirical.models import build_model
from empirical.train import crop_flip, load_checkpoint, lr_multiplier, make_optimizer, save_checkpoint, train
from mlitheory import weight_distance


def _problem(n=40, d=5, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, k, (n,), generator=g)
    model = build_model("mlp", input_shape=(d,), num_classes=k, hidden=[], seed=seed).double()
    return model, x, y


def test_lr_schedules_closed_forms():
    assert lr_multiplier("constant", 3.0, 10) == 1.0
    assert lr_multiplier("multistep", 5.9, 10, milestones=[2, 6], gamma=0.1) == pytest.approx(0.1)
    assert lr_multiplier("multistep", 6.0, 10, milestones=[2, 6], gamma=0.1) == pytest.approx(0.01)
    assert lr_multiplier("cosine", 2.5, 10) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_multiplier("linear", 7.5, 10) == pytest.approx(0.25)
    assert lr_multiplier("constant", 0.5, 10, warmup_epochs=2) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="unknown schedule 'step'; valid: constant, multistep, cosine, linear"):
        lr_multiplier("step", 0, 1)


def test_bad_optimiser_and_lr_are_named():
    p = [nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'; valid: sgd, adam, adamw, rmsprop"):
        make_optimizer("lbfgs", p, lr=0.1)
    with pytest.raises(ValueError, match="lr=-1"):
        make_optimizer("sgd", p, lr=-1)


def test_full_batch_sgd_step_matches_the_softmax_gradient():
    """One step of full-batch SGD with weight decay on a linear softmax classifier, against the closed form
    ∇_W = (softmax(z) − onehot(y))ᵀ x / n, ∇_b = mean(softmax(z) − onehot(y)), step −lr(∇ + λθ)."""
    model, x, y = _problem()
    W0, b0 = model.net[1].weight.detach().clone(), model.net[1].bias.detach().clone()
    lr, wd = 0.3, 0.01
    res = train(
        model, (x, y), optimizer="sgd", lr=lr, momentum=0.0, weight_decay=wd, epochs=1, batch_size=None, progress=False
    )
    r = torch.softmax(x @ W0.T + b0, -1) - nn.functional.one_hot(y, 3).double()
    gW, gb = r.T @ x / len(x), r.mean(0)
    assert torch.allclose(model.net[1].weight, W0 - lr * (gW + wd * W0), atol=1e-14, rtol=0)
    assert torch.allclose(model.net[1].bias, b0 - lr * (gb + wd * b0), atol=1e-14, rtol=0)
    ce0 = nn.functional.cross_entropy(x @ W0.T + b0, y).item()
    assert res.log[0]["train_loss"] == pytest.approx(ce0, rel=1e-12)  # loss of the step, before the update
    assert res.steps == 1 and res.status == "finished"


def test_sgd_momentum_two_steps_by_hand():
    """Heavy ball: v₁ = g₀, θ₁ = θ₀ − lr v₁; v₂ = μ v₁ + g₁, θ₂ = θ₁ − lr v₂ (PyTorch's convention)."""
    model, x, y = _problem(seed=1)
    W = model.net[1].weight.detach().clone()
    b = model.net[1].bias.detach().clone()
    lr, mu = 0.2, 0.9

    def grad(W, b):
        r = torch.softmax(x @ W.T + b, -1) - nn.functional.one_hot(y, 3).double()
        return r.T @ x / len(x), r.mean(0)

    gW, gb = grad(W, b)
    vW, vb = gW, gb
    W1, b1 = W - lr * vW, b - lr * vb
    gW, gb = grad(W1, b1)
    W2 = W1 - lr * (mu * vW + gW)
    train(model, (x, y), optimizer="sgd", lr=lr, momentum=mu, epochs=2, batch_size=None, progress=False)
    assert torch.allclose(model.net[1].weight, W2, atol=1e-14, rtol=0)


def test_optimiser_switch_equals_two_separate_phases():
    m1, x, y = _problem(seed=2)
    m2, _, _ = _problem(seed=2)
    kw = dict(batch_size=None, progress=False, momentum=0.9)
    train(m1, (x, y), optimizer="sgd", lr=0.1, epochs=4, switch_epoch=2, switch_optimizer="adam", switch_lr=0.01, **kw)
    train(m2, (x, y), optimizer="sgd", lr=0.1, epochs=2, **kw)
    train(m2, (x, y), optimizer="adam", lr=0.01, epochs=2, **kw)
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.allclose(a, b, atol=1e-12, rtol=0)


def test_checkpoints_and_log(tmp_path):
    model, x, y = _problem(n=64, seed=3)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    res = train(
        model, (x, y), lr=0.1, epochs=3, batch_size=16, checkpoint_dir=tmp_path, checkpoint_epochs=[2],
        checkpoint_steps=[5], eval_data=(x[:10], y[:10]), progress=False,
    )  # fmt: skip
    assert res.checkpoints == {
        "init": "init.pt", "step_0000005": "step_0000005.pt", "epoch_0002": "epoch_0002.pt", "final": "final.pt",
    }  # fmt: skip
    loaded = {name: load_checkpoint(tmp_path / f) for name, f in res.checkpoints.items()}
    assert all(torch.equal(loaded["init"][k], init[k]) for k in init)
    assert all(torch.equal(loaded["final"][k], v) for k, v in model.state_dict().items())
    assert res.steps == 12 and [e["step"] for e in res.log] == [4, 8, 12]
    assert res.log[1]["distance"] == pytest.approx(
        weight_distance(loaded["init"], loaded["epoch_0002"]).value, rel=1e-12
    )
    assert set(res.log[0]) >= {"train_loss", "train_accuracy", "test_loss", "test_accuracy", "norm_distance", "lr"}


def test_same_seed_same_training_and_different_seed_differs():
    runs = []
    for seed in (0, 0, 1):
        model, x, y = _problem(n=50, seed=4)
        res = train(model, (x, y), optimizer="adam", lr=0.01, epochs=2, batch_size=8, seed=seed, progress=False)
        runs.append((res.log, model.net[1].weight.detach()))
    assert runs[0][0] == [dict(e, seconds=runs[0][0][i]["seconds"]) for i, e in enumerate(runs[1][0])]
    assert torch.equal(runs[0][1], runs[1][1]) and not torch.equal(runs[0][1], runs[2][1])


def test_non_finite_loss_stops_training_as_diverged(tmp_path):
    g = torch.Generator().manual_seed(5)
    x, y = torch.randn(40, 5, generator=g), torch.randint(0, 3, (40,), generator=g)
    model = build_model("mlp", input_shape=(5,), num_classes=3, hidden=[16], seed=5)  # float32 overflows
    res = train(
        model, (x, y), lr=1e20, momentum=0.9, epochs=50, batch_size=None, checkpoint_dir=tmp_path, progress=False
    )
    assert res.status == "diverged" and 1 <= res.diverged_at_step < 50
    assert res.steps == res.diverged_at_step - 1 and res.epochs == res.steps
    assert "final" in res.checkpoints and len(res.log) == res.epochs


def test_stop_if_aborts_slow_runs():
    model, x, y = _problem(seed=6)
    res = train(model, (x, y), lr=1e-6, epochs=10, batch_size=None, stop_if=(2, 0.01), progress=False)
    assert res.status == "stopped" and res.epochs == 3


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_checkpoint_errors_name_the_file(tmp_path):
    bad = tmp_path / "final.pt"
    bad.write_bytes(b"\x80\x04 definitely not a checkpoint")
    with pytest.raises(ValueError, match=f"checkpoint {bad} is corrupt"):
        load_checkpoint(bad)
    truncated = tmp_path / "init.pt"
    save_checkpoint(truncated, {"w": torch.ones(100)})
    truncated.write_bytes(truncated.read_bytes()[:50])
    with pytest.raises(ValueError, match=r"init\.pt is corrupt"):
        load_checkpoint(truncated)
    other = tmp_path / "list.pt"
    torch.save([torch.ones(1)], other)
    with pytest.raises(ValueError, match=r"list\.pt does not hold a state dict"):
        load_checkpoint(other)
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(print))
    with pytest.raises(ValueError, match=r"evil\.pt is corrupt or not a torch state dict"):  # weights_only refuses it
        load_checkpoint(evil)
    with pytest.raises(FileNotFoundError, match=r"missing\.pt does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_crop_flip_equals_a_per_example_crop_and_flip():
    x = torch.randn(6, 2, 5, 7, generator=torch.Generator().manual_seed(0))
    out = crop_flip(x, torch.Generator().manual_seed(3), pad=2)
    g = torch.Generator().manual_seed(3)  # the same draws, in the same order
    i, j = torch.randint(0, 5, (6,), generator=g), torch.randint(0, 5, (6,), generator=g)
    flip = torch.rand(6, generator=g) < 0.5
    xp = nn.functional.pad(x, (2, 2, 2, 2))
    for k in range(6):
        crop = xp[k, :, i[k] : i[k] + 5, j[k] : j[k] + 7]
        assert torch.equal(out[k], crop.flip(-1) if flip[k] else crop)


def test_augmented_training_runs_and_rejects_non_images():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 3, 8, 8, generator=g), torch.randint(0, 4, (16,), generator=g)
    model = build_model("cnn", input_shape=(3, 8, 8), num_classes=4, channels=[4], hidden=0, seed=0)
    res = train(model, (x, y), lr=0.01, epochs=2, batch_size=8, augment="crop-flip", progress=False)
    assert res.status == "finished" and res.steps == 4
    with pytest.raises(ValueError, match="needs image inputs"):
        train(build_model("mlp", input_shape=(5,)), (torch.randn(4, 5), torch.zeros(4, dtype=torch.long)),
              augment="crop-flip", progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="unknown augmentation 'mixup'"):
        train(model, (x, y), augment="mixup", progress=False)
