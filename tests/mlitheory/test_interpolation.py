"""interpolate / evaluate_path against hand-computed curves of tiny float64 models, and the contract around it."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from torch import nn

from mlitheory import InterpolationCurve, evaluate_path, interpolate
from mlitheory.paths import homogeneous_bias_path
from tests.strategies import batch_splits

pytestmark = pytest.mark.usefixtures("float64_default")


EPS = float(np.finfo(np.float64).eps)


@pytest.fixture(scope="module")
def _data(make_batch):
    return lambda n=12, d=3, k=4, seed=0: make_batch(n, d, k, seed=seed)


def _linear_states(d=3, k=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    a = {"weight": torch.randn(k, d, generator=g), "bias": torch.randn(k, generator=g)}
    b = {"weight": torch.randn(k, d, generator=g), "bias": torch.randn(k, generator=g)}
    return a, b


def test_linear_model_cross_entropy_by_hand(_data):
    # L(α) = mean_i [LSE(z_i) − z_{i,y_i}],  z_i = ((1−α)W₀ + αW₁) x_i + (1−α)b₀ + αb₁, computed in NumPy.
    x, y = _data()
    a, b = _linear_states()
    alphas = np.array([-0.5, 0.0, 0.2, 0.5, 1.0, 1.3])
    curve = interpolate(nn.Linear(3, 4), a, b, (x, y), alphas=alphas, progress=False)
    X, Y = x.numpy(), y.numpy()
    for i, al in enumerate(alphas):
        W = (1 - al) * a["weight"].numpy() + al * b["weight"].numpy()
        c = (1 - al) * a["bias"].numpy() + al * b["bias"].numpy()
        z = X @ W.T + c
        lse = np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1)
        loss = np.mean(lse - z[np.arange(len(Y)), Y])
        acc = np.mean(z.argmax(1) == Y)
        assert abs(curve.loss[i] - loss) <= 50 * EPS * max(1.0, abs(loss))
        assert curve.accuracy[i] == acc
    np.testing.assert_array_equal(curve.alphas, alphas)


def test_mse_quadratic_in_alpha(_data):
    # A linear model with MSE: L(α) = mean‖(A + αB) − Y‖² is a quadratic in α, known in closed form.
    x, _ = _data()
    y = torch.randn(12, 4, generator=torch.Generator().manual_seed(5))
    a, b = _linear_states()
    A = F.linear(x, a["weight"], a["bias"]) - y
    B = F.linear(x, b["weight"] - a["weight"], b["bias"] - a["bias"])
    c0 = float((A * A).sum(1).mean())
    c1 = float(2 * (A * B).sum(1).mean())
    c2 = float((B * B).sum(1).mean())

    def mse(z, t):
        return ((z - t) ** 2).sum(1)  # per-example

    curve = interpolate(nn.Linear(3, 4), a, b, (x, y), alphas=7, loss=mse, metrics=("loss",), progress=False)
    al = curve.alphas
    np.testing.assert_allclose(curve.loss, c0 + c1 * al + c2 * al**2, rtol=1e-13, atol=1e-13)
    assert "accuracy" not in curve.values


def test_default_alpha_grid_has_exact_endpoints(_data):
    x, y = _data()
    a, b = _linear_states()
    curve = interpolate(nn.Linear(3, 4), a, b, (x, y), progress=False)
    assert len(curve.alphas) == 51 and curve.alphas[0] == 0.0 and curve.alphas[-1] == 1.0
    # the endpoints are the states themselves, bit for bit
    for i, s in ((0, a), (1, b)):
        direct = F.cross_entropy(F.linear(x, s["weight"], s["bias"]), y).item()
        assert curve.endpoint_direct["loss"][i] == direct
        assert curve.loss[-i] == direct


@given(batch_splits(n=12))
def test_exact_batch_size_weighting(_data, sizes):
    x, y = _data()
    a, b = _linear_states()
    whole = interpolate(nn.Linear(3, 4), a, b, (x, y), alphas=5, progress=False)
    batches, i = [], 0
    for s in sizes:
        batches.append((x[i : i + s], y[i : i + s]))
        i += s
    parts = interpolate(nn.Linear(3, 4), a, b, batches, alphas=5, progress=False)
    np.testing.assert_allclose(parts.loss, whole.loss, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(parts.accuracy, whole.accuracy)
    assert parts.n_examples == 12


def test_dataloader_and_generator_data(_data):
    x, y = _data()
    a, b = _linear_states()
    ref = interpolate(nn.Linear(3, 4), a, b, (x, y), alphas=4, progress=False)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=5)
    np.testing.assert_allclose(interpolate(nn.Linear(3, 4), a, b, loader, alphas=4, progress=False).loss, ref.loss)
    gen = ((x[i : i + 4], y[i : i + 4]) for i in range(0, 12, 4))
    np.testing.assert_allclose(interpolate(nn.Linear(3, 4), a, b, gen, alphas=4, progress=False).loss, ref.loss)


MLP_FIRST = [
    ("linear", lambda: nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 4)), (12, 3)),
    ("flatten+linear", lambda: nn.Sequential(nn.Flatten(), nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4)), (12, 2, 3)),
    (
        "conv",
        lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 4)),
        (12, 2, 6, 6),
    ),
]


@pytest.mark.parametrize("name,make,shape", MLP_FIRST)
def test_first_layer_reuse_matches_plain_path(name, make, shape):
    torch.manual_seed(0)
    m0, m1 = make(), make()
    x = torch.randn(*shape)
    y = torch.randint(0, 4, (shape[0],))
    alphas = np.linspace(-0.5, 1.5, 9)
    fast = interpolate(m0, m0, m1, (x, y), alphas=alphas, keep_logits=True, progress=False)
    plain = interpolate(m0, m0, m1, (x, y), alphas=alphas, keep_logits=True, progress=False, reuse_first_layer=False)
    assert fast.first_layer_reuse and not plain.first_layer_reuse
    # Σ_j w_j (W_j x + b_j) versus (Σ_j w_j W_j) x + Σ_j w_j b_j: equal up to round-off of the first layer.
    scale = float(np.abs(plain.logits).max())
    assert np.abs(fast.logits - plain.logits).max() <= 1e3 * EPS * scale
    np.testing.assert_allclose(fast.loss, plain.loss, rtol=1e-12)
    # at the endpoints the reused outputs are the endpoint layers' own outputs: identical values
    np.testing.assert_array_equal(fast.endpoint_values["loss"], plain.endpoint_direct["loss"])


def test_reuse_switches_off_when_first_layer_input_depends_on_the_point():
    class Recurrent(nn.Module):  # the same Linear applied twice: its second input depends on α
        def __init__(self):
            super().__init__()
            self.f = nn.Linear(4, 4)

        def forward(self, x):
            return self.f(torch.tanh(self.f(x)))

    torch.manual_seed(0)
    m0, m1 = Recurrent(), Recurrent()
    x, y = torch.randn(10, 4), torch.randint(0, 4, (10,))
    fast = interpolate(m0, m0, m1, (x, y), alphas=9, progress=False)
    plain = interpolate(m0, m0, m1, (x, y), alphas=9, progress=False, reuse_first_layer=False)
    np.testing.assert_allclose(fast.loss, plain.loss, rtol=1e-12)


def test_keep_logits_match_direct_evaluation(_data):
    x, y = _data()
    a, b = _linear_states()
    curve = interpolate(nn.Linear(3, 4), a, b, (x, y), alphas=[0.0, 0.25, 1.0], keep_logits=True, progress=False)
    assert curve.logits.shape == (3, 12, 4)
    z = F.linear(x, 0.75 * a["weight"] + 0.25 * b["weight"], 0.75 * a["bias"] + 0.25 * b["bias"])
    np.testing.assert_allclose(curve.logits[1], z.numpy(), rtol=1e-14, atol=1e-14)


def test_custom_metric_and_error(_data):
    x, y = _data()
    a, b = _linear_states()

    def margin(z, t):
        return z.gather(1, t[:, None]).squeeze(1) - z.logsumexp(1)

    curve = interpolate(
        nn.Linear(3, 4), a, b, (x, y), alphas=3, metrics={"error": None, "logp": margin}, progress=False
    )
    np.testing.assert_allclose(curve["logp"], -curve.loss, rtol=1e-13)
    assert set(curve.values) == {"loss", "error", "logp"}


def test_model_never_modified(_data):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 6), nn.BatchNorm1d(6), nn.Dropout(0.5), nn.ReLU(), nn.Linear(6, 4))
    model.train()
    model[4].eval()  # a mixed mode must survive too
    other = copy.deepcopy(model)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(1.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ids = {k: v.data_ptr() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    x, y = _data()
    for bn in ("recompute", "interpolate", "batch", "none"):
        interpolate(model, model, other, (x, y), alphas=4, bn=bn, progress=False)
    with pytest.raises(ValueError):  # also after a failure inside
        interpolate(model, model, other, [], alphas=4, bn="interpolate", progress=False)
    assert [m.training for m in model.modules()] == modes
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]) and v.data_ptr() == ids[k], k
    assert model[1].momentum == 0.1 and model[1].track_running_stats
    assert not any("forward" in vars(m) for m in model.modules())


def test_nonfinite_losses_are_recorded_and_min_delta_raises(_data):
    x, y = _data()
    a, b = _linear_states()
    b = {k: v.clone() for k, v in b.items()}
    b["bias"][0] = float("inf")  # z = inf at α > 0: the loss is inf or nan there
    curve = interpolate(nn.Linear(3, 4), a, b, (x, y), alphas=5, progress=False)
    assert curve.finite[0] and not curve.finite[1:].any()
    with pytest.raises(ValueError, match="not finite"):
        curve.min_delta()
    assert curve.min_delta(nonfinite="omit") == 0.0
    assert "non-finite" in str(curve)


def test_bad_inputs(_data):
    x, y = _data()
    a, b = _linear_states()
    lin = nn.Linear(3, 4)
    with pytest.raises(ValueError, match="no batches"):
        interpolate(lin, a, b, [], progress=False)
    with pytest.raises(ValueError, match="repeated"):
        interpolate(lin, a, b, (x, y), alphas=[0.0, 0.5, 0.5], progress=False)
    with pytest.raises(ValueError, match="at least 2"):
        interpolate(lin, a, b, (x, y), alphas=1, progress=False)
    with pytest.raises(ValueError, match="bn must be"):
        interpolate(lin, a, b, (x, y), bn="running", progress=False)
    with pytest.raises(TypeError, match="integer class labels"):
        interpolate(lin, a, b, (x, torch.randn(12, 4)), loss=F.mse_loss, progress=False)
    with pytest.raises(TypeError, match="batch 0"):
        interpolate(lin, a, b, [x], progress=False)
    with pytest.raises(ValueError, match="unknown metric"):
        interpolate(lin, a, b, (x, y), metrics=("f1",), progress=False)


def test_dtype_and_device_arguments(_data):
    x, y = _data()
    a, b = _linear_states()
    a32 = {k: v.float() for k, v in a.items()}
    b32 = {k: v.float() for k, v in b.items()}
    c64 = interpolate(nn.Linear(3, 4), a32, b32, (x.float(), y), alphas=3, dtype=torch.float64, progress=False)
    ref = interpolate(nn.Linear(3, 4), a32, b32, (x.float(), y), alphas=3, progress=False)
    np.testing.assert_allclose(c64.loss, ref.loss, rtol=1e-5)
    cpu = interpolate(nn.Linear(3, 4), a, b, (x, y), alphas=3, device="cpu", progress=False)
    np.testing.assert_array_equal(cpu.loss, interpolate(nn.Linear(3, 4), a, b, (x, y), alphas=3, progress=False).loss)


def test_homogeneous_bias_path_scales_relu_network_exactly(_data):
    # θ_start = 0: f(x; θ(α)) = α^L f(x; θ_end) for a ReLU net (theory_bias_plateau.md §3.4), L = 3.
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 5), nn.ReLU(), nn.Linear(5, 4))
    end = net.state_dict()
    zero = {k: torch.zeros_like(v) for k, v in end.items()}
    x, y = _data()
    alphas = np.array([0.1, 0.5, 0.9])
    curve = evaluate_path(
        net, homogeneous_bias_path(zero, end), (x, y), alphas=alphas, keep_logits=True, progress=False
    )
    with torch.no_grad():
        fT = net(x).numpy()
    for i, al in enumerate(alphas):
        np.testing.assert_allclose(curve.logits[i], al**3 * fT, rtol=1e-13, atol=1e-15)
    assert curve.path == "homogeneous bias"


def test_path_must_fit_the_model_and_progress_bar(capsys, _data):
    x, y = _data()
    a, b = _linear_states()
    with pytest.raises(ValueError, match=r"start\['weight'\] has shape \(4, 3\) but the model expects \(5, 3\)"):
        evaluate_path(nn.Linear(3, 5), homogeneous_bias_path(a, b), (x, y), progress=False)
    curve = interpolate(nn.Linear(3, 4), a, b, (x, y), alphas=3, progress=True)
    assert curve.loss.shape == (3,) and "interpolate" in capsys.readouterr().err


def test_save_load_and_plot(tmp_path, _data):
    x, y = _data()
    a, b = _linear_states()
    curve = interpolate(nn.Linear(3, 4), a, b, (x, y), alphas=6, keep_logits=True, progress=False)
    path = curve.save(tmp_path / "curve")
    back = InterpolationCurve.load(path)
    np.testing.assert_array_equal(back.loss, curve.loss)
    np.testing.assert_array_equal(back.logits, curve.logits)
    assert back.endpoint_direct.keys() == curve.endpoint_direct.keys() and back.bn == curve.bn
    with pytest.raises(FileExistsError):
        curve.save(tmp_path / "curve")
    ax = curve.plot()
    assert ax.get_xlabel() == r"$\alpha$" and len(ax.lines) == 1
    assert "min_delta(loss)" in str(curve)
