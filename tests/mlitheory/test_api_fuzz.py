"""Hypothesis fuzz of the public API: random models, states, data and arguments (good and bad).

Every call either returns, with no NaN or inf in its numbers unless documented (an interpolation curve records a
non-finite point in ``finite``; a length not computed is NaN), or raises one of our errors (``TypeError``,
``ValueError``, ``NotImplementedError`` for a layer without forward derivatives) — never a failure from deep
inside torch (``RuntimeError``, ``IndexError``, ``KeyError``, ``AttributeError``). After every call the caller's
model and states are bit-identical: parameters, buffers, ``requires_grad``, ``.grad``, training flags.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import mlitheory as M
from tests.conftest import Counter, TiedLM
from tests.strategies import seeds

OURS = (TypeError, ValueError, NotImplementedError)
pytestmark = pytest.mark.filterwarnings("ignore::mlitheory.geometry.ConvergenceWarning")


# ---------------------------------------------------------------------------------------------- models


def _build(kind: str, dtype: torch.dtype) -> nn.Module:
    if kind == "linear":
        m = nn.Linear(3, 2)
    elif kind == "mlp":
        m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    elif kind == "bn":
        m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    elif kind == "dropout":
        m = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.ReLU(), nn.Linear(4, 2))
    elif kind == "counter":
        m = Counter()
    else:
        m = TiedLM(vocab=3, dim=2)
    return m.to(dtype)


@st.composite
def setups(draw):
    """A model in some mode (flags, requires_grad, .grad set), two states and a batch of data."""
    kind = draw(st.sampled_from(["linear", "mlp", "bn", "dropout", "counter", "tied"]))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    seed = draw(seeds)
    torch.manual_seed(seed)
    model, other = _build(kind, dtype), _build(kind, dtype)
    for m in model.modules():
        m.training = draw(st.booleans())
    for p in model.parameters():
        p.requires_grad_(draw(st.booleans()))
        if draw(st.booleans()):
            p.grad = torch.randn_like(p)
    g = torch.Generator().manual_seed(seed)
    n = draw(st.integers(1, 6))
    if kind == "tied":
        x = torch.randint(0, 3, (n,), generator=g)
        k = 3
    else:
        x = torch.randn(n, 3, generator=g, dtype=draw(st.sampled_from([dtype, dtype, torch.float64])))
        k = 2
    labels = draw(st.lists(st.sampled_from([*range(k), -100, -100, k, -1]), min_size=n, max_size=n))
    y = torch.tensor(labels)
    start_kind = draw(st.sampled_from(["module", "state", "copies"]))
    start = (
        model
        if start_kind == "module"
        else model.state_dict()
        if start_kind == "state"
        else {name: v.clone() for name, v in model.state_dict().items()}
    )
    end = {name: v.clone() for name, v in other.state_dict().items()}
    if draw(st.integers(0, 9)) == 0:  # now and then a diverged end state
        first = next(name for name, v in end.items() if v.is_floating_point())
        end[first].view(-1)[0] = draw(st.sampled_from([math.nan, math.inf]))
    return kind, model, start, end, x, y


def snapshot(model: nn.Module, *states) -> list:
    out = [(m.training, type(m).__name__) for m in model.modules()]
    for name, p in model.named_parameters(remove_duplicate=False):
        out.append((name, p.detach().clone(), p.requires_grad, None if p.grad is None else p.grad.clone()))
    out += [(name, b.clone()) for name, b in model.named_buffers(remove_duplicate=False)]
    for s in states:
        if isinstance(s, dict):
            out += [(name, v.clone()) for name, v in s.items()]
    return out


def same(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            if isinstance(u, torch.Tensor):
                if not (isinstance(v, torch.Tensor) and u.dtype == v.dtype and torch.equal(u, v)):
                    if not (
                        u.is_floating_point()
                        and torch.equal(torch.isnan(u), torch.isnan(v))
                        and torch.equal(u.nan_to_num(), v.nan_to_num())
                    ):
                        return False
            elif u != v:
                return False
    return True


def finite_numbers(result) -> bool:
    """No NaN or inf where none is documented."""
    if isinstance(result, M.InterpolationCurve):
        vals = np.stack(list(result.values.values()))
        return bool(np.array_equal(np.isfinite(vals).all(0), result.finite)) and result.n_examples > 0
    if isinstance(result, M.LogitGaussLength):
        return bool(
            np.isfinite(result.per_example).all()
            and np.isfinite(result.per_example_error).all()
            and np.isfinite(result.mean)
        )
    if isinstance(result, M.WeightDistance):
        return all(math.isfinite(v) for v in (result.value, result.distance, result.start_norm, result.end_norm))
    if isinstance(result, dict):
        return all(bool(torch.isfinite(v.double()).all()) for v in result.values())
    return True


def _call(fn):
    try:
        return fn(), None
    except OURS as e:
        return None, e


# ---------------------------------------------------------------------------------------------- the fuzz


_alpha = st.one_of(st.floats(-1.5, 2.5), st.just(math.nan))


@given(
    setups(),
    st.one_of(st.integers(-1, 6), st.lists(_alpha, max_size=5)),
    st.sampled_from(["recompute", "interpolate", "batch", "none"]),
    st.sampled_from([None, torch.float64]),
)
def test_interpolate_fuzz(setup, alphas, bn, dtype):
    kind, model, start, end, x, y = setup
    before = snapshot(model, start, end)
    curve, err = _call(
        lambda: M.interpolate(model, start, end, (x, y), alphas=alphas, bn=bn, dtype=dtype, progress=False)
    )
    assert same(before, snapshot(model, start, end)), "the caller's model or states changed"
    if curve is not None:
        assert finite_numbers(curve)
        if curve.finite.all() and ((curve.alphas >= 0) & (curve.alphas <= 1)).sum() >= 2:
            assert curve.min_delta() >= 0.0 and isinstance(curve.is_monotone(), bool)
    elif (y == -100).all() and kind != "tied":
        assert "ignored" in str(err) or "dtype" in str(err) or "alphas" in str(err) or "non-finite" in str(err)


@given(setups(), st.sampled_from([None, "module", 1]), st.sampled_from(["end", "start"]))
def test_layerwise_fuzz(setup, by, rest):
    _, model, start, end, x, y = setup
    before = snapshot(model, start, end)
    out, _ = _call(
        lambda: M.layerwise_interpolation(
            model, start, end, (x, y), groups=by or "module", rest=rest, alphas=3, progress=False
        )
    )
    assert same(before, snapshot(model, start, end))
    if out is not None:
        assert all(finite_numbers(c) for c in out.curves)


@given(setups(), st.sampled_from([None, torch.float32, torch.float64]), st.booleans())
def test_logit_gauss_length_fuzz(setup, dtype, concatenated):
    _, model, start, end, x, _ = setup
    before = snapshot(model, start, end)
    g, _ = _call(
        lambda: M.logit_gauss_length(
            model, start, end, x, tol=1e-2, max_evaluations=80, dtype=dtype, concatenated=concatenated
        )
    )
    assert same(before, snapshot(model, start, end)), "the caller's model or states changed"
    if g is not None:
        assert finite_numbers(g)
        expected = "float32" if dtype == torch.float32 and g.method != "exact" else "float64"  # exact: float64
        assert g.dtype == expected


@given(setups(), st.sampled_from([None, "start", "end"]), st.booleans(), st.booleans())
def test_weight_distance_fuzz(setup, normalize, per_layer, with_model):
    _, model, start, end, _, _ = setup
    before = snapshot(model, start, end)
    d, err = _call(
        lambda: M.weight_distance(
            start, end, normalize=normalize, per_layer=per_layer, model=model if with_model else None
        )
    )
    assert same(before, snapshot(model, start, end))
    if d is not None:
        assert finite_numbers(d) and d.value >= 0
    else:
        assert any(w in str(err) for w in ("non-finite", "it is 0")), err


@given(setups())
def test_recompute_statistics_fuzz(setup):
    _, model, start, end, x, _ = setup
    before = snapshot(model, start, end)
    out, _ = _call(lambda: M.recompute_statistics(model, end, x))
    assert same(before, snapshot(model, start, end))
    if out is not None:
        assert finite_numbers(out)


@given(setups(), st.integers(1, 3))
def test_studies_fuzz(setup, n):
    _, model, start, end, _, _ = setup
    before = snapshot(model, start, end)
    inits, _ = _call(lambda: M.fresh_initializations(model, n, seed=0))
    assert same(before, snapshot(model, start, end))
    if inits is not None:
        assert len(inits) == n and all(finite_numbers(s) for s in inits)


@given(
    st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5)), max_size=12),
    st.one_of(st.none(), st.floats(-1, 1), st.just(math.nan)),
    st.sampled_from(["raise", "omit"]),
)
def test_monotonicity_fuzz(losses, tol, nonfinite):
    kw = {} if tol is None else {"tol": tol}
    for fn in (M.min_delta, M.bumps):
        out, _ = _call(lambda fn=fn: fn(losses, nonfinite=nonfinite, **kw))
        if out is not None:
            vals = [out] if isinstance(out, float) else [b.height for b in out]
            assert all(math.isfinite(v) and v >= 0 for v in vals)
    out, _ = _call(lambda: M.is_monotone(losses, **kw))
    assert out is None or isinstance(out, bool)


@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=4),
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=4),
)
def test_small_geometry_fuzz(u, v):
    out, _ = _call(lambda: M.velocity_angle(u, v))
    assert out is None or (math.isfinite(out) and 0.0 <= out <= math.pi + 1e-12)
    du, dv = torch.tensor(u, dtype=torch.float64), torch.tensor(v, dtype=torch.float64)
    out, _ = _call(lambda: M.gauss_integrand(du, dv))
    assert out is None or bool(torch.isfinite(out).all())


@pytest.mark.parametrize("seed", range(3))
def test_snapshot_sees_a_change(seed):
    """The fuzz's snapshot is able to fail: a changed flag, grad or value is seen."""
    torch.manual_seed(seed)
    m = _build("bn", torch.float32)
    before = snapshot(m)
    [m.train, m.eval][seed % 2]() if seed < 2 else m[0].weight.data.add_(1e-7)
    if seed < 2 and all(mod.training == (seed == 0) for mod in m.modules()):
        m[1].training = not m[1].training
    assert not same(before, snapshot(m))
