"""Studies: barriers against closed forms; each study against the single interpolations it is made of."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mlitheory import (
    checkpoint_barriers,
    evaluate_path,
    fresh_initializations,
    interpolate,
    layerwise_interpolation,
    layerwise_path,
    pairwise_interpolations,
    unrelated_initializations,
)
from mlitheory.studies import LayerwiseCurves, chord_barrier, end_barrier, max_increase

pytestmark = pytest.mark.usefixtures("float64_default")


@pytest.fixture(scope="module")
def _mlp(make_mlp):
    return lambda: make_mlp(3, [5], 3, activation=nn.Tanh)


@pytest.fixture(scope="module")
def _data(make_batch):
    return make_batch


def test_chord_barrier_of_a_concave_quadratic():
    # L(α) = −mean‖(A + αB)‖² = −(c0 + c1 α + c2 α²): above its chord by c2 α(1 − α), largest c2/4 at α = 1/2.
    g = torch.Generator().manual_seed(0)
    a = {"weight": torch.randn(2, 3, generator=g), "bias": torch.zeros(2)}
    b = {"weight": torch.randn(2, 3, generator=g), "bias": torch.zeros(2)}
    x = torch.randn(9, 3, generator=g)
    y = torch.zeros(9, 2)
    B = F.linear(x, b["weight"] - a["weight"])
    c2 = float((B * B).sum(1).mean())

    def neg_sq(z, t):
        return -((z - t) ** 2).sum(1)

    curve = interpolate(nn.Linear(3, 2), a, b, (x, y), alphas=51, loss=neg_sq, metrics=("loss",), progress=False)
    assert math.isclose(chord_barrier(curve), c2 / 4, rel_tol=1e-12)
    assert (
        chord_barrier(
            interpolate(
                nn.Linear(3, 2),
                a,
                b,
                (x, y),
                alphas=51,
                loss=lambda z, t: -neg_sq(z, t),
                metrics=("loss",),
                progress=False,
            )
        )
        == 0.0
    )  # convex: never above the chord


def _curve_of(values, alphas=None):
    """An InterpolationCurve holding given loss values (for the height measures' closed forms)."""
    from mlitheory import InterpolationCurve

    v = np.asarray(values, dtype=float)
    a = np.linspace(0, 1, len(v)) if alphas is None else np.asarray(alphas, dtype=float)
    ends = np.array([v[np.argmin(a)], v[np.argmax(a)]])
    return InterpolationCurve(a, {"loss": v}, np.isfinite(v), 1, "none", "linear", {"loss": ends}, {"loss": ends})


def test_three_heights_on_closed_forms():
    a = np.linspace(0, 1, 101)
    bump = 1 - a + 0.3 * np.sin(np.pi * a)  # above the chord by 0.3 sin(πα): 0.3 at α = 1/2
    assert chord_barrier(_curve_of(bump)) == pytest.approx(0.3, abs=1e-12)
    assert end_barrier(_curve_of(bump)) == pytest.approx(np.max(bump) - 1)
    assert max_increase(_curve_of(bump)) == pytest.approx(np.max(bump) - 1)
    line = _curve_of(1 - a)
    assert end_barrier(line) == max_increase(line) == chord_barrier(line) == 0.0
    assert max_increase(_curve_of([0.5, 0.7, 0.1])) == pytest.approx(0.2)
    assert end_barrier(_curve_of([0.5, 0.7, 0.1])) == pytest.approx(0.2)
    rising = _curve_of([0.1, 0.3, 0.5])  # rising to the end: above the start, not above the higher end or the chord
    assert end_barrier(rising) == 0.0 and chord_barrier(rising) == 0.0
    assert max_increase(rising) == pytest.approx(0.4)
    unsorted = _curve_of([0.7, 0.5, 0.1], alphas=[0.5, 0.0, 1.0])  # sorted by α before measuring
    assert end_barrier(unsorted) == pytest.approx(0.2) and chord_barrier(unsorted) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="not finite"):
        end_barrier(_curve_of([0.5, np.inf, 0.1]))


def test_checkpoint_barriers_are_the_curves_min_delta(_mlp, _data):
    torch.manual_seed(0)
    ckpts = {10: _mlp().state_dict(), 100: _mlp().state_dict(), 1000: _mlp().state_dict()}
    final = _mlp().state_dict()
    data = _data()
    res = checkpoint_barriers(_mlp(), ckpts, final, data, alphas=11)
    assert res.steps.tolist() == [10, 100, 1000] and res.loss.shape == (3, 11) and res.error.shape == (3, 11)
    for i, s in enumerate(ckpts.values()):
        c = interpolate(_mlp(), s, final, data, alphas=11, metrics=("loss", "error"), progress=False)
        assert res.loss_delta[i] == c.min_delta() and res.error_delta[i] == c.min_delta("error")
        assert res.loss_chord_barrier[i] == chord_barrier(c) and res.error_chord_barrier[i] == chord_barrier(c, "error")
        assert res.loss_increase[i] == max_increase(c) and res.error_increase[i] == max_increase(c, "error")
    assert "checkpoints" in str(res) and res.plot(kind="chord_barrier").get_xscale() == "log"
    with pytest.raises(ValueError, match="kind"):
        res.plot(kind="barrier")
    reg = checkpoint_barriers(_mlp(), list(ckpts.values()), final, data, alphas=5, classification=False)
    assert reg.error.size == 0 and reg.steps.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="empty"):
        checkpoint_barriers(_mlp(), [], final, data)


def test_fresh_initializations_are_seeded_and_leave_everything_alone(_mlp):
    model = _mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    a = fresh_initializations(model, 2, seed=5)
    b = fresh_initializations(model, 2, seed=5)
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(torch.equal(a[i][k], b[i][k]) for i in range(2) for k in a[0])
    assert not torch.equal(a[0]["0.weight"], a[1]["0.weight"])


def test_unrelated_initializations(_mlp, _data):
    torch.manual_seed(1)
    opt, orig = _mlp().state_dict(), _mlp().state_dict()
    data = _data()
    res = unrelated_initializations(_mlp(), opt, 3, data, original=orig, seed=2, alphas=9)
    assert res.loss.shape == (3, 9)
    np.testing.assert_allclose(res.mean, res.loss.mean(0)) and np.testing.assert_allclose(res.std, res.loss.std(0))
    inits = fresh_initializations(_mlp(), 3, seed=2)
    want = interpolate(_mlp(), inits[1], opt, data, alphas=9, progress=False)
    np.testing.assert_array_equal(res.loss[1], want.loss)
    assert res.original_min_delta == interpolate(_mlp(), orig, opt, data, alphas=9, progress=False).min_delta()
    assert "random initialisations" in str(res) and res.plot().get_legend() is not None


def test_pairwise_interpolations(_mlp, _data):
    torch.manual_seed(2)
    inits = [_mlp().state_dict() for _ in range(2)]
    optima = [_mlp().state_dict() for _ in range(3)]
    data = _data()
    res = pairwise_interpolations(_mlp(), inits, optima, data, alphas=7)
    assert [len(res.pairs[g]) for g in ("init_init", "init_opt", "opt_opt")] == [1, 6, 3]
    assert res.pairs["init_opt"][4] == (1, 1)
    want = interpolate(_mlp(), inits[1], optima[1], data, alphas=7, progress=False)
    np.testing.assert_array_equal(res.loss["init_opt"][4], want.loss)
    assert res.end_barrier["opt_opt"].shape == (3,) and len(res.plot()) == 3
    assert res.end_barrier["init_opt"][4] == end_barrier(want) and res.chord_barrier["init_opt"][4] == chord_barrier(
        want
    )
    assert "init_opt" in str(res)


def test_layerwise_interpolation(tmp_path, _mlp, _data):
    torch.manual_seed(3)
    start, end = _mlp(), _mlp()
    data = _data()
    res = layerwise_interpolation(_mlp(), start, end, data, alphas=5)
    assert res.groups == ("0", "2")
    for g in res.groups:
        want = evaluate_path(_mlp(), layerwise_path(start, end, g), data, alphas=5, progress=False)
        np.testing.assert_array_equal(res[g].loss, want.loss)
        # at α = 1 every layer is final: the final network's loss
        assert res[g].loss[-1] == res[res.groups[0]].loss[-1]
    assert res.min_delta.shape == (2,) and "others fixed at end" in str(res)
    back = LayerwiseCurves.load(res.save(tmp_path / "lw"))
    np.testing.assert_array_equal(back["2"].loss, res["2"].loss)
    with pytest.raises(KeyError):
        res["9"]
    named = layerwise_interpolation(_mlp(), start, end, data, groups={"first": "0"}, alphas=3)
    assert named.groups == ("first",)
    assert res.plot().get_legend() is not None
