"""The bad-input matrix of the public API: every case is an input, and either the exception type with a phrase
of its message, or the documented value. Cases are grouped by the class of fix they check (CLASSES); the
counts by class are reported in docs/reliability.md, and test_counts_match_the_docs keeps them in step.

The command lines, sweeps, run folders and data sets have their matrix in tests/empirical/test_bad_input_cli.py.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import mlitheory as M
from mlitheory.paths import tied_keys
from mlitheory.results import Result
from mlitheory.taylor import TaylorForward, nested_jvp_outputs

nan, inf = float("nan"), float("inf")

#: the classes of the issue: what kind of failure each case guards against
CLASSES = {
    "silent": "a silent result (NaN, 0, a verdict or an array) for input that makes the answer meaningless",
    "named": "an error that names the argument, key, dtype or shape, raised before torch fails inside",
    "model": "any model a researcher brings: ties, attention, weight_norm, buffers, models that cannot be copied",
    "honest": "error estimates that include the round-off of the dtype",
    "load": "loading saved results and data",
}


@dataclass(frozen=True)
class Case:
    cls: str
    name: str
    call: Callable[[Any], Any]
    raises: type[BaseException] | None = None
    phrase: str = ""
    check: Callable[[Any, Any], bool] | None = None


def E(cls: str, name: str, exc: type[BaseException], phrase: str, call: Callable[[Any], Any]) -> Case:
    return Case(cls, name, call, exc, phrase)


def V(cls: str, name: str, call: Callable[[Any], Any], check: Callable[[Any, Any], bool], doc: str) -> Case:
    return Case(cls, name, call, None, doc, check)


# ---------------------------------------------------------------------------------------------- helpers


def _nan_state(s: dict, key: str = "weight", value: float = nan) -> dict:
    out = {k: v.clone() for k, v in s.items()}
    out[key].view(-1)[0] = value
    return out


def _ignored(k, n: int) -> tuple:
    y = k.y.clone()
    y[:n] = -100
    return k.x, y


def _ce_at(model: nn.Module, state: dict, x: torch.Tensor, y: torch.Tensor) -> float:
    return float(F.cross_entropy(torch.func.functional_call(model, state, (x,)), y))


def _curve(k, **kw):
    return M.interpolate(k.lin, k.a, k.b, k.data, progress=False, **kw)


def _lgl(k, **kw):
    opts = {"tol": 1e-3, "max_evaluations": 80, "concatenated": False, "method": "taylor"}
    opts.update(kw)
    return M.logit_gauss_length(k.lin, k.a, k.b, k.x, **opts)


def _buffers_after(k, fn) -> bool:
    pairs = ((k.counter0.calls, k.counter0.ema), (k.counter1.calls, k.counter1.ema))
    before = [(b.clone(), c.clone()) for b, c in pairs]
    fn()
    after = [(k.counter0.calls, k.counter0.ema), (k.counter1.calls, k.counter1.ema)]
    return all(torch.equal(b, a) and torch.equal(c, d) for (b, c), (a, d) in zip(before, after))


def _uncopyable_flags(k, fn) -> bool:
    m = k.uncopyable
    m.train()
    m.seen.clear()
    fn(m)
    return bool(m.seen) and all(s == (True, True) for s in m.seen) and m.training and m.drop.training


class Untied(nn.Module):
    """The tied language model written with one parameter: the independent reference for ties."""

    def __init__(self, tied: nn.Module):
        super().__init__()
        self.emb = nn.Embedding(*tied.emb.weight.shape)

    def forward(self, t):
        return F.linear(torch.tanh(self.emb(t)), self.emb.weight)


def _tied_matches_untied(k) -> bool:
    g_tied = M.logit_gauss_length(k.tied0, k.tied0, k.tied1, k.tokens, tol=1e-6, dtype=torch.float64)
    ref = Untied(k.tied0)
    a, b = {"emb.weight": k.tied0.emb.weight.detach()}, {"emb.weight": k.tied1.emb.weight.detach()}
    g_ref = M.logit_gauss_length(ref, a, b, k.tokens, tol=1e-6, dtype=torch.float64)
    c_tied = M.interpolate(k.tied0, k.tied0, k.tied1, (k.tokens, k.next_tokens), alphas=5, progress=False)
    c_ref = M.interpolate(ref, a, b, (k.tokens, k.next_tokens), alphas=5, progress=False)
    return abs(g_tied.mean - g_ref.mean) < 1e-9 and np.allclose(c_tied.loss, c_ref.loss, rtol=1e-6, atol=0)


def _derivatives_match_fd(model, other, x, alpha: float = 0.3, h: float = 1e-4) -> bool:
    """Taylor mode and nested jvp against central differences of the outputs along the path (float64)."""
    path = M.linear_path(model, other)
    tf = TaylorForward(model, path)
    _, t1, t2 = tf(x, alpha).dense()
    _, j1, j2 = nested_jvp_outputs(model, path, x, alpha)
    tf.close()
    ref = model.__class__.__new__(model.__class__)  # the model itself stays in its mode: evaluate a copy
    import copy

    ref = copy.deepcopy(model).eval()
    f = lambda a: torch.func.functional_call(ref, path.state(a), (x,))
    fd1 = (f(alpha + h) - f(alpha - h)) / (2 * h)
    fd2 = (f(alpha + h) - 2 * f(alpha) + f(alpha - h)) / h**2
    scale = float(fd1.abs().max() + fd2.abs().max())
    return all(float((a - b).abs().max()) < 1e-5 * scale for a, b in ((t1, fd1), (j1, fd1), (t2, fd2), (j2, fd2)))


def _tied_dist(k) -> float:
    return float(torch.dist(k.tied0.emb.weight.detach().double(), k.tied1.emb.weight.detach().double()))


def _honest_float32(k) -> bool:
    """float32 geometry: the error estimate (with the measured round-off floor) covers the float64 difference."""
    torch.manual_seed(3)
    m0 = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 4))
    m1 = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 4))
    with torch.no_grad():  # a short path: the difference of the endpoints loses digits in float32
        for p0, p1 in zip(m0.parameters(), m1.parameters()):
            p1.copy_(p0 + 1e-3 * (p1 - p0))
    x = torch.randn(6, 3)
    g32 = M.logit_gauss_length(m0, m0, m1, x, dtype=torch.float32, tol=1e-7)
    g64 = M.logit_gauss_length(m0, m0, m1, x, tol=1e-10)
    covered = np.all(np.abs(g32.per_example - g64.per_example) <= g32.per_example_error)
    conc = abs(g32.concatenated - g64.concatenated) <= g32.concatenated_error
    return bool(covered and conc and g32.roundoff_error > 0 and not g32.converged and g32.dtype == "float32")


def _saved(tmp: Path, payload: Any, name: str = "r") -> Path:
    p = tmp / f"{name}.json"
    p.write_text(json.dumps(payload) if not isinstance(payload, bytes) else "")
    if isinstance(payload, bytes):
        p.write_bytes(payload)
    return p


_TMP = Path(__file__).parent  # replaced by a tmp folder in the test (see _load)


def _load(payload: Any, tmp: Path) -> Any:
    return Result.load(_saved(tmp, payload))


def _result_entry(cls: str, fields: dict | None = None) -> dict:
    return {"format": 1, "result": {"__result__": cls, "fields": fields or {}}}


# ---------------------------------------------------------------------------------------------- the matrix

CASES: list[Case] = [
    # ---- monotonicity ------------------------------------------------------------------------------------
    E(
        "silent",
        "is_monotone with alphas where tol goes",
        TypeError,
        "pass the alphas by keyword",
        lambda k: M.is_monotone([3.0, 2.0, 1.0], np.array([0.0, 0.5, 1.0])),
    ),
    V(
        "silent",
        "is_monotone returns one bool",
        lambda k: M.is_monotone([3.0, 2.0, 1.0], alphas=[0.0, 0.5, 1.0]),
        lambda k, r: r is True,
        "True (a bool, never an array)",
    ),
    V(
        "silent",
        "is_monotone of a tensor returns a bool",
        lambda k: M.is_monotone(torch.tensor([1.0, 2.0])),
        lambda k, r: r is False,
        "False",
    ),
    E("silent", "min_delta of an empty curve", ValueError, "losses is empty", lambda k: M.min_delta([])),
    V("silent", "min_delta of one point", lambda k: M.min_delta([1.0]), lambda k, r: r == 0.0, "0.0 (documented)"),
    E("silent", "min_delta negative tol", ValueError, "tol must be >= 0", lambda k: M.min_delta([1.0, 2.0], tol=-1)),
    E("silent", "min_delta NaN tol", ValueError, "got NaN", lambda k: M.min_delta([1.0, 2.0], tol=nan)),
    E("silent", "min_delta infinite tol", ValueError, "must be finite", lambda k: M.min_delta([1.0, 2.0], tol=inf)),
    E("named", "min_delta tol a string", TypeError, "tol must be a real number", lambda k: M.min_delta([1.0], tol="a")),
    E("named", "min_delta tol a list", TypeError, "tol must be a number", lambda k: M.min_delta([1.0], tol=[0.1])),
    E("silent", "min_delta NaN loss", ValueError, "is not finite", lambda k: M.min_delta([1.0, nan, 0.5])),
    V(
        "silent",
        "min_delta NaN omitted",
        lambda k: M.min_delta([3.0, nan, 4.0], nonfinite="omit"),
        lambda k, r: r == 1.0,
        "1.0 over the finite points",
    ),
    E(
        "silent",
        "min_delta all NaN omitted",
        ValueError,
        "no finite value",
        lambda k: M.min_delta([nan, nan], nonfinite="omit"),
    ),
    E(
        "named",
        "min_delta alphas decreasing",
        ValueError,
        "strictly increasing",
        lambda k: M.min_delta([1.0, 2.0], [1.0, 0.0]),
    ),
    E(
        "named",
        "min_delta alphas of another length",
        ValueError,
        "same length",
        lambda k: M.min_delta([1.0, 2.0], [0.0, 0.5, 1.0]),
    ),
    E("named", "min_delta NaN alpha", ValueError, "is not finite", lambda k: M.min_delta([1.0, 2.0], [0.0, nan])),
    E("named", "min_delta 2-D losses", ValueError, "one-dimensional", lambda k: M.min_delta(np.ones((2, 2)))),
    E("named", "min_delta strings", TypeError, "1-D sequence of numbers", lambda k: M.min_delta(["a", "b"])),
    E("named", "min_delta a string", TypeError, "1-D sequence of numbers", lambda k: M.min_delta("12")),
    E("named", "min_delta None", TypeError, "1-D sequence of numbers", lambda k: M.min_delta(None)),
    E("named", "min_delta complex", TypeError, "real", lambda k: M.min_delta(np.array([1 + 1j, 2]))),
    E("named", "min_delta complex tensor", TypeError, "real", lambda k: M.min_delta(torch.tensor([1 + 1j]))),
    E("named", "min_delta ragged", TypeError, "1-D sequence of numbers", lambda k: M.min_delta([[1.0], [1.0, 2.0]])),
    E(
        "named",
        "min_delta nonfinite mode",
        ValueError,
        "nonfinite must be",
        lambda k: M.min_delta([1.0], nonfinite="drop"),
    ),
    V(
        "silent",
        "min_delta of the docstring",
        lambda k: M.min_delta([3.0, 2.0, 2.5, 1.0, 1.2]),
        lambda k, r: r == 0.5,
        "0.5",
    ),
    V(
        "silent",
        "min_delta alphas outside [0, 1]",
        lambda k: M.min_delta([1.0, 2.0], [-1.0, 2.0]),
        lambda k, r: r == 1.0,
        "1.0: any real alphas (the [0, 1] restriction is the curve's)",
    ),
    V("silent", "min_delta below tol", lambda k: M.min_delta([1.0, 1.1], tol=0.2), lambda k, r: r == 0.0, "0.0"),
    E("silent", "bumps of an empty curve", ValueError, "losses is empty", lambda k: M.bumps([])),
    E("silent", "bumps negative tol", ValueError, "tol must be >= 0", lambda k: M.bumps([1.0, 2.0], tol=-1.0)),
    V(
        "silent",
        "bumps heights",
        lambda k: [b.height for b in M.bumps([3.0, 2.0, 2.5, 1.0, 1.2])],
        lambda k, r: np.allclose(r, [0.5, 0.2]),
        "[0.5, 0.2]",
    ),
    E("silent", "is_monotone of an empty curve", ValueError, "losses is empty", lambda k: M.is_monotone([])),
    E("silent", "is_monotone NaN tol", ValueError, "got NaN", lambda k: M.is_monotone([1.0], nan)),
    # ---- weight distance ---------------------------------------------------------------------------------
    E(
        "silent",
        "weight_distance NaN entry",
        ValueError,
        "non-finite value",
        lambda k: M.weight_distance(_nan_state(k.a), k.b),
    ),
    E(
        "silent",
        "weight_distance inf entry",
        ValueError,
        "non-finite value",
        lambda k: M.weight_distance(k.a, _nan_state(k.b, "bias", inf)),
    ),
    E(
        "silent",
        "weight_distance model of other shapes",
        ValueError,
        "the model expects",
        lambda k: M.weight_distance(k.a, k.b, model=nn.Linear(4, 2)),
    ),
    E(
        "silent",
        "weight_distance model of other keys",
        ValueError,
        "do not match model=",
        lambda k: M.weight_distance(k.a, k.b, model=nn.Sequential(nn.Linear(3, 2))),
    ),
    E(
        "silent",
        "weight_distance states missing a parameter",
        ValueError,
        "missing from the states",
        lambda k: M.weight_distance({"weight": k.a["weight"]}, {"weight": k.b["weight"]}, model=k.lin),
    ),
    E(
        "named",
        "weight_distance model a function",
        TypeError,
        "must be a torch.nn.Module",
        lambda k: M.weight_distance(k.a, k.b, model=lambda x: x),
    ),
    E(
        "named",
        "weight_distance normalize",
        ValueError,
        "normalize must be",
        lambda k: M.weight_distance(k.a, k.b, normalize="init"),
    ),
    E(
        "named",
        "weight_distance per_layer",
        TypeError,
        "per_layer must be True or False",
        lambda k: M.weight_distance(k.a, k.b, per_layer="yes"),
    ),
    E(
        "named",
        "weight_distance integer weights",
        TypeError,
        "holds integers",
        lambda k: M.weight_distance({n: v.long() for n, v in k.a.items()}, {n: v.long() for n, v in k.b.items()}),
    ),
    E(
        "named",
        "weight_distance meta tensors",
        ValueError,
        "meta tensor",
        lambda k: M.weight_distance({n: v.to("meta") for n, v in k.a.items()}, k.b),
    ),
    E(
        "named",
        "weight_distance keys",
        ValueError,
        "missing from end",
        lambda k: M.weight_distance(k.a, {"weight": k.b["weight"]}),
    ),
    E(
        "named",
        "weight_distance dtypes",
        TypeError,
        "dtype mismatch at key 'weight'",
        lambda k: M.weight_distance(k.a, {**k.b, "weight": k.b["weight"].double()}),
    ),
    E(
        "named",
        "weight_distance shapes",
        ValueError,
        "shape mismatch at key 'weight'",
        lambda k: M.weight_distance(k.a, {**k.b, "weight": torch.zeros(3, 3)}),
    ),
    E(
        "named",
        "weight_distance only statistics",
        ValueError,
        "no floating-point parameters",
        lambda k: M.weight_distance({"bn.running_mean": torch.zeros(2)}, {"bn.running_mean": torch.ones(2)}),
    ),
    E(
        "named",
        "weight_distance zero norm",
        ValueError,
        "it is 0",
        lambda k: M.weight_distance({"w": torch.zeros(2)}, {"w": torch.ones(2)}, normalize="start"),
    ),
    E("named", "weight_distance an int", TypeError, "state dict", lambda k: M.weight_distance(3, k.b)),
    E(
        "named",
        "weight_distance a list value",
        TypeError,
        "not a tensor",
        lambda k: M.weight_distance({"w": [1.0]}, {"w": [2.0]}),
    ),
    V(
        "model",
        "weight_distance tied modules: one tensor",
        lambda k: M.weight_distance(k.tied0, k.tied1).value,
        lambda k, r: math.isclose(r, _tied_dist(k), rel_tol=1e-6),
        "‖Δ‖ of the shared weight (not √2 times it)",
    ),
    V(
        "model",
        "weight_distance tied state dicts (shared storage)",
        lambda k: M.weight_distance(k.tied0.state_dict(), k.tied1.state_dict()).value,
        lambda k, r: math.isclose(r, _tied_dist(k), rel_tol=1e-6),
        "‖Δ‖ of the shared weight",
    ),
    V(
        "model",
        "weight_distance tied copies with model=",
        lambda k: (
            M.weight_distance(
                {n: v.clone() for n, v in k.tied0.state_dict().items()},
                {n: v.clone() for n, v in k.tied1.state_dict().items()},
                model=k.tied0,
            ).keys
        ),
        lambda k, r: r == ("emb.weight",),
        "keys ('emb.weight',)",
    ),
    V(
        "silent",
        "weight_distance leaves running statistics out",
        lambda k: M.weight_distance(k.bn, k.bn_b).keys,
        lambda k, r: not any("running" in n or "num_batches" in n for n in r) and len(r) == 6,
        "6 parameter keys",
    ),
    V(
        "silent",
        "weight_distance of the docstring",
        lambda k: M.weight_distance({"w": torch.tensor([3.0, 0.0])}, {"w": torch.tensor([0.0, 4.0])}).value,
        lambda k, r: r == 5.0,
        "5.0",
    ),
    # ---- paths -------------------------------------------------------------------------------------------
    E(
        "named",
        "linear_path model a function",
        TypeError,
        "must be a torch.nn.Module",
        lambda k: M.linear_path(k.a, k.b, model=len),
    ),
    E("named", "linear_path an int", TypeError, "state dict", lambda k: M.linear_path(3, k.b)),
    E(
        "named",
        "linear_path non-string key",
        TypeError,
        "non-string key",
        lambda k: M.linear_path({1: torch.zeros(1)}, {1: torch.zeros(1)}),
    ),
    E(
        "named",
        "linear_path meta tensors",
        ValueError,
        "meta tensor",
        lambda k: M.linear_path({n: v.to("meta") for n, v in k.a.items()}, {n: v.to("meta") for n, v in k.b.items()}),
    ),
    E(
        "named",
        "linear_path integer weights",
        TypeError,
        "holds integers",
        lambda k: M.linear_path({n: v.long() for n, v in k.a.items()}, {n: v.long() for n, v in k.b.items()}),
    ),
    E(
        "named",
        "linear_path integer weights of a model",
        TypeError,
        "holds integers",
        lambda k: M.linear_path(
            {"a.w": torch.zeros(2, 3, dtype=torch.int32), "a.b": torch.zeros(2)} | {},
            {"a.w": torch.zeros(2, 3, dtype=torch.int32), "a.b": torch.zeros(2)},
            model=_NamedLinear(),
        ),
    ),
    E(
        "named",
        "linear_path states of another model",
        ValueError,
        "missing from start",
        lambda k: M.linear_path(k.a, k.b, model=k.mlp),
    ),
    E(
        "named",
        "linear_path shape against the model",
        ValueError,
        "the model expects",
        lambda k: M.linear_path(
            {"weight": torch.zeros(2, 4), "bias": torch.zeros(2)},
            {"weight": torch.zeros(2, 4), "bias": torch.zeros(2)},
            model=k.lin,
        ),
    ),
    E(
        "named",
        "linear_path meta end state",
        ValueError,
        "end['weight'] is a meta tensor",
        lambda k: M.linear_path(k.a, {n: v.to("meta") for n, v in k.b.items()}),
    ),
    E(
        "model",
        "validate_states tied entries that differ",
        ValueError,
        "ties 'out.weight' to 'emb.weight'",
        lambda k: M.validate_states(
            {"emb.weight": k.tied0.emb.weight.detach(), "out.weight": torch.zeros(5, 4)}, k.tied1, model=k.tied0
        ),
    ),
    E(
        "silent",
        "validate_states finite=True",
        ValueError,
        "non-finite value",
        lambda k: M.validate_states(_nan_state(k.a), k.b, finite=True),
    ),
    V(
        "silent",
        "linear_path to a NaN state is allowed",
        lambda k: M.linear_path(k.a, _nan_state(k.b)).kind,
        lambda k, r: r == "linear",
        "a path (interpolate records where the curve is not finite)",
    ),
    E(
        "named",
        "ParameterPath.to an integer dtype",
        TypeError,
        "floating-point torch dtype",
        lambda k: M.linear_path(k.a, k.b).to(dtype=torch.int32),
    ),
    E(
        "named",
        "ParameterPath.to a missing device",
        ValueError,
        "not a torch device",
        lambda k: M.linear_path(k.a, k.b).to(device="gpu0"),
    ),
    E(
        "named",
        "layerwise_path unknown module",
        ValueError,
        "matches no floating-point key",
        lambda k: M.layerwise_path(k.a, k.b, "fc9"),
    ),
    E("named", "layerwise_path rest", ValueError, "rest must be", lambda k: M.layerwise_path(k.a, k.b, "", rest="x")),
    E(
        "named",
        "layerwise_path unknown keys",
        ValueError,
        "group keys not in the state",
        lambda k: M.layerwise_path(k.a, k.b, ["nope"]),
    ),
    V(
        "model",
        "layerwise_path moves a tied tensor under both names",
        lambda k: M.layerwise_path(k.tied0, k.tied1, "out", model=k.tied0).coefficients,
        lambda k, r: r["emb.weight"].power == 1 and r["out.weight"].power == 1,
        "both coefficients α",
    ),
    E("named", "layer_groups by 0", ValueError, "positive int", lambda k: M.layer_groups(k.a, by=0)),
    E("named", "layer_groups by True", ValueError, "positive int", lambda k: M.layer_groups(k.a, by=True)),
    E(
        "named",
        "homogeneous_bias_path unknown key",
        ValueError,
        "not a floating-point key",
        lambda k: M.homogeneous_bias_path(k.a, k.b, depths={"fc.bias": 1}),
    ),
    E(
        "named",
        "homogeneous_bias_path depth 0",
        ValueError,
        "positive integer layer index",
        lambda k: M.homogeneous_bias_path(k.a, k.b, depths={"bias": 0}),
    ),
    V(
        "model",
        "tied_keys of a tied model",
        lambda k: tied_keys(model=k.tied0),
        lambda k, r: r == {"out.weight": "emb.weight"},
        "{'out.weight': 'emb.weight'}",
    ),
    V(
        "model",
        "tied_keys of state dicts (shared storage)",
        lambda k: tied_keys(k.tied0.state_dict(), k.tied1.state_dict()),
        lambda k, r: r == {"out.weight": "emb.weight"},
        "{'out.weight': 'emb.weight'}",
    ),
    V(
        "model",
        "tied_keys of copied tensors",
        lambda k: tied_keys({n: v.clone() for n, v in k.tied0.state_dict().items()}),
        lambda k, r: r == {},
        "{} (pass model= then)",
    ),
    # ---- interpolate and evaluate_path -------------------------------------------------------------------
    E(
        "silent",
        "interpolate every label ignored",
        ValueError,
        "every target in data is the ignored label",
        lambda k: M.interpolate(k.lin, k.a, k.b, _ignored(k, 8), alphas=3, progress=False),
    ),
    V(
        "silent",
        "interpolate half the labels ignored",
        lambda k: M.interpolate(k.lin, k.a, k.b, _ignored(k, 4), alphas=[0.0, 1.0], progress=False),
        lambda k, r: (
            r.n_ignored == 4
            and r.n_examples == 4
            and math.isclose(r.loss[0], _ce_at(k.lin, k.a, k.x[4:], k.y[4:]), rel_tol=1e-6)
        ),
        "n_ignored 4; the loss is the mean over the 4 others",
    ),
    V(
        "silent",
        "ignored labels do not depend on the batching",
        lambda k: (
            M.interpolate(
                k.lin,
                k.a,
                k.b,
                [(k.x[:3], _ignored(k, 4)[1][:3]), (k.x[3:], _ignored(k, 4)[1][3:])],
                alphas=4,
                progress=False,
            ).loss,
            M.interpolate(k.lin, k.a, k.b, _ignored(k, 4), alphas=4, progress=False).loss,
        ),
        lambda k, r: np.allclose(r[0], r[1], rtol=1e-6, atol=0),
        "the same curve for batches (3, 5) and (8,)",
    ),
    V(
        "silent",
        "accuracy leaves ignored labels out",
        lambda k: M.interpolate(k.lin, k.a, k.b, _ignored(k, 4), alphas=[0.0], progress=False).accuracy[0],
        lambda k, r: math.isclose(
            r, float((torch.func.functional_call(k.lin, k.a, (k.x[4:],)).argmax(-1) == k.y[4:]).double().mean())
        ),
        "accuracy over the 4 examples that count",
    ),
    E(
        "silent",
        "interpolate label out of range",
        ValueError,
        "label 5 is outside [0, 2)",
        lambda k: M.interpolate(k.lin, k.a, k.b, (k.x, torch.full((8,), 5)), alphas=3, progress=False),
    ),
    E(
        "silent",
        "interpolate negative label",
        ValueError,
        "label -1 is outside [0, 2)",
        lambda k: M.interpolate(k.lin, k.a, k.b, (k.x, torch.full((8,), -1)), alphas=3, progress=False),
    ),
    E(
        "silent",
        "interpolate label out of range for accuracy",
        ValueError,
        "is outside [0, 2)",
        lambda k: M.interpolate(
            k.lin, k.a, k.b, (k.x, torch.full((8,), 2)), alphas=3, loss=lambda o, t: o.sum() * 0, progress=False
        ),
    ),
    E(
        "silent",
        "curve.min_delta with one alpha in [0, 1]",
        ValueError,
        "only 1 of the 3 alphas lie in [0, 1]",
        lambda k: _curve(k, alphas=[-1.0, 0.0, 2.0]).min_delta(),
    ),
    E(
        "silent",
        "curve.is_monotone with no alpha in [0, 1]",
        ValueError,
        "only 0 of the 2 alphas",
        lambda k: _curve(k, alphas=[-1.0, 2.0]).is_monotone(),
    ),
    V(
        "silent",
        "curve.min_delta uses only [0, 1]",
        lambda k: (
            _curve(k, alphas=[-0.5, 0.0, 0.5, 1.0, 1.5]).min_delta(),
            M.min_delta(_curve(k, alphas=[0.0, 0.5, 1.0]).loss),
        ),
        lambda k, r: r[0] == r[1],
        "equal to min_delta of the points in [0, 1]",
    ),
    V(
        "silent",
        "a diverged end state is recorded, not hidden",
        lambda k: M.interpolate(k.lin, k.a, _nan_state(k.b, "bias", inf), k.data, alphas=5, progress=False).finite,
        lambda k, r: bool(r[0]) and not r[1:].any(),
        "finite only at α = 0; min_delta raises",
    ),
    E(
        "silent",
        "min_delta of a diverged curve",
        ValueError,
        "not finite",
        lambda k: M.interpolate(k.lin, k.a, _nan_state(k.b, "bias", inf), k.data, alphas=5, progress=False).min_delta(),
    ),
    E(
        "named",
        "interpolate model a function",
        TypeError,
        "wrap a plain function in an nn.Module",
        lambda k: M.interpolate(lambda z: z, k.a, k.b, k.data, progress=False),
    ),
    E(
        "named",
        "interpolate model None",
        TypeError,
        "must be a torch.nn.Module",
        lambda k: M.interpolate(None, k.a, k.b, k.data, progress=False),
    ),
    E("named", "interpolate loss not callable", TypeError, "loss must be a callable", lambda k: _curve(k, loss=3)),
    E("named", "interpolate loss a string", TypeError, "loss must be a callable", lambda k: _curve(k, loss="mse")),
    E("named", "interpolate unknown metric", ValueError, "unknown metric", lambda k: _curve(k, metrics=("top5",))),
    E("named", "interpolate metric not callable", TypeError, "must be callable", lambda k: _curve(k, metrics={"m": 3})),
    E(
        "named",
        "interpolate metric name not a string",
        TypeError,
        "metric names must be strings",
        lambda k: _curve(k, metrics=(3,)),
    ),
    E(
        "named",
        "interpolate integer dtype",
        TypeError,
        "floating-point torch dtype",
        lambda k: _curve(k, dtype=torch.int32),
    ),
    E(
        "named",
        "interpolate dtype a string",
        TypeError,
        "torch dtype such as torch.float64",
        lambda k: _curve(k, dtype="float64"),
    ),
    E(
        "named",
        "interpolate dtype bool",
        TypeError,
        "floating-point torch dtype",
        lambda k: _curve(k, dtype=torch.bool),
    ),
    E(
        "named",
        "interpolate on a CUDA device that is not here",
        ValueError,
        "CUDA",
        lambda k: _curve(k, device="cuda:99" if torch.cuda.is_available() else "cuda"),
    ),
    E("named", "interpolate unknown device", ValueError, "not a torch device", lambda k: _curve(k, device="gpu")),
    E("named", "interpolate device an int", TypeError, "device must be a string", lambda k: _curve(k, device=3.5)),
    E("named", "interpolate meta device", ValueError, "meta tensors hold no data", lambda k: _curve(k, device="meta")),
    E(
        "named",
        "interpolate float64 inputs, float32 states",
        TypeError,
        "the inputs are torch.float64",
        lambda k: M.interpolate(k.lin, k.a, k.b, (k.x64, k.y), progress=False),
    ),
    E(
        "named",
        "interpolate float32 inputs, float64 states",
        TypeError,
        "but the states are torch.float64",
        lambda k: M.interpolate(
            k.lin,
            {n: v.double() for n, v in k.a.items()},
            {n: v.double() for n, v in k.b.items()},
            k.data,
            progress=False,
        ),
    ),
    V(
        "named",
        "interpolate dtype= casts inputs and states",
        lambda k: M.interpolate(k.lin, k.a, k.b, (k.x64, k.y), alphas=3, dtype=torch.float64, progress=False).loss,
        lambda k, r: r.dtype == np.float64 and np.isfinite(r).all(),
        "a finite float64 curve",
    ),
    E(
        "named",
        "interpolate integer weights",
        TypeError,
        "holds integers",
        lambda k: M.interpolate(
            k.lin, {n: v.long() for n, v in k.a.items()}, {n: v.long() for n, v in k.b.items()}, k.data, progress=False
        ),
    ),
    E(
        "named",
        "interpolate meta states",
        ValueError,
        "meta tensor",
        lambda k: M.interpolate(
            k.lin,
            {n: v.to("meta") for n, v in k.a.items()},
            {n: v.to("meta") for n, v in k.b.items()},
            k.data,
            progress=False,
        ),
    ),
    E(
        "named",
        "interpolate NaN inputs",
        ValueError,
        "NaN value(s)",
        lambda k: M.interpolate(k.lin, k.a, k.b, (torch.full((8, 3), nan), k.y), progress=False),
    ),
    E(
        "named",
        "interpolate inputs and targets of other lengths",
        ValueError,
        "the inputs hold 8 examples but the",
        lambda k: M.interpolate(k.lin, k.a, k.b, (k.x, k.y[:4]), progress=False),
    ),
    E(
        "named",
        "interpolate empty data",
        ValueError,
        "no batches",
        lambda k: M.interpolate(k.lin, k.a, k.b, [], progress=False),
    ),
    E(
        "named",
        "interpolate empty batches",
        ValueError,
        "no examples",
        lambda k: M.interpolate(k.lin, k.a, k.b, (k.x[:0], k.y[:0]), progress=False),
    ),
    E(
        "named",
        "interpolate data an int",
        TypeError,
        "must be a batch (x, y)",
        lambda k: M.interpolate(k.lin, k.a, k.b, 3, progress=False),
    ),
    E(
        "named",
        "interpolate a malformed batch",
        TypeError,
        "batch 0 of data must be (x, y)",
        lambda k: M.interpolate(k.lin, k.a, k.b, [k.x], progress=False),
    ),
    E("named", "interpolate alphas 1", ValueError, "at least 2", lambda k: _curve(k, alphas=1)),
    E("named", "interpolate alphas True", TypeError, "alphas must be a count", lambda k: _curve(k, alphas=True)),
    E("named", "interpolate alphas a string", TypeError, "alphas must be a count", lambda k: _curve(k, alphas="ab")),
    E("named", "interpolate alphas None", TypeError, "alphas must be a count", lambda k: _curve(k, alphas=None)),
    E("named", "interpolate alphas empty", ValueError, "alphas is empty", lambda k: _curve(k, alphas=[])),
    E("named", "interpolate NaN alpha", ValueError, "alphas must be finite", lambda k: _curve(k, alphas=[0.0, nan])),
    E("named", "interpolate repeated alphas", ValueError, "repeated", lambda k: _curve(k, alphas=[0.0, 0.5, 0.5])),
    E(
        "named",
        "interpolate alphas ragged",
        TypeError,
        "alphas must be a count",
        lambda k: _curve(k, alphas=[[0.0], [0.5, 1.0]]),
    ),
    E("named", "interpolate bn policy", ValueError, "bn must be", lambda k: _curve(k, bn="running")),
    E(
        "named",
        "interpolate keep_logits",
        TypeError,
        "keep_logits must be True or False",
        lambda k: _curve(k, keep_logits="yes"),
    ),
    E(
        "named",
        "interpolate progress",
        TypeError,
        "progress must be True or False",
        lambda k: M.interpolate(k.lin, k.a, k.b, k.data, progress=None),
    ),
    E(
        "named",
        "interpolate accuracy on float targets",
        TypeError,
        "integer class labels",
        lambda k: M.interpolate(k.lin, k.a, k.b, (k.x, torch.randn(8, 2)), loss=F.mse_loss, progress=False),
    ),
    E(
        "named",
        "interpolate a model returning a tuple",
        TypeError,
        "must return a tensor of logits",
        lambda k: M.interpolate(_TupleOut(), k.a, k.b, k.data, progress=False),
    ),
    E(
        "named",
        "interpolate a metric of the wrong shape",
        ValueError,
        "must return a scalar",
        lambda k: _curve(k, metrics={"m": lambda o, t: o}),
    ),
    E("named", "curve of an unknown metric", KeyError, "no metric", lambda k: _curve(k, alphas=3)["top5"]),
    E(
        "named",
        "evaluate_path with a state dict",
        TypeError,
        "path must be a ParameterPath",
        lambda k: M.evaluate_path(k.lin, k.a, k.data, progress=False),
    ),
    E(
        "named",
        "evaluate_path model a function",
        TypeError,
        "must be a torch.nn.Module",
        lambda k: M.evaluate_path(print, M.linear_path(k.a, k.b), k.data, progress=False),
    ),
    E(
        "named",
        "evaluate_path path of another model",
        ValueError,
        "missing from start",
        lambda k: M.evaluate_path(k.mlp, M.linear_path(k.a, k.b), k.data, progress=False),
    ),
    E(
        "named",
        "interpolate recompute without data",
        ValueError,
        "needs bn_data",
        lambda k: M.recompute_statistics(k.bn, k.bn_b, None),
    ),
    V(
        "model",
        "interpolate a tied model",
        lambda k: (
            M.interpolate(k.tied0, k.tied0, k.tied1, (k.tokens, k.next_tokens), alphas=[0.0, 1.0], progress=False).loss
        ),
        lambda k, r: (
            math.isclose(r[0], float(F.cross_entropy(k.tied0(k.tokens), k.next_tokens)), rel_tol=1e-6)
            and math.isclose(r[1], float(F.cross_entropy(k.tied1(k.tokens), k.next_tokens)), rel_tol=1e-6)
        ),
        "the endpoint losses of the two tied models",
    ),
    V(
        "model",
        "tied model: interpolate and Gauss length equal the single-parameter model",
        lambda k: _tied_matches_untied(k),
        lambda k, r: r is True,
        "equal to the model written with one tensor",
    ),
    V(
        "model",
        "a forward that updates buffers leaves the caller's unchanged (interpolate)",
        lambda k: _buffers_after(
            k, lambda: M.interpolate(k.counter0, k.counter0, k.counter1, k.data, alphas=4, progress=False)
        ),
        lambda k, r: r is True,
        "both models' buffers bit-identical",
    ),
    V(
        "model",
        "a forward that updates buffers leaves the caller's unchanged (Gauss length)",
        lambda k: _buffers_after(
            k, lambda: M.logit_gauss_length(k.counter0, k.counter0, k.counter1, k.x, tol=1e-3, max_evaluations=80)
        ),
        lambda k, r: r is True,
        "both models' buffers bit-identical",
    ),
    V(
        "model",
        "a forward that updates buffers gets the same state at every α",
        lambda k: (
            M.interpolate(
                k.counter0,
                k.counter0,
                k.counter1,
                k.data,
                alphas=[0.0, 0.0 + 1e-12, 1.0],
                progress=False,
                reuse_first_layer=False,
            ).loss
        ),
        lambda k, r: abs(r[0] - r[1]) < 1e-6,
        "no state leaks from one evaluation into the next",
    ),
    V(
        "model",
        "a model that cannot be deep-copied is never switched to eval (interpolate)",
        lambda k: _uncopyable_flags(k, lambda m: M.interpolate(m, m, k.uncopyable_b, k.data, alphas=3, progress=False)),
        lambda k, r: r is True,
        "the caller's training flags stay True during and after the call",
    ),
    V(
        "model",
        "a model that cannot be deep-copied is never switched to eval (Gauss length)",
        lambda k: _uncopyable_flags(
            k, lambda m: M.logit_gauss_length(m, m, k.uncopyable_b, k.x, tol=1e-3, max_evaluations=80)
        ),
        lambda k, r: r is True,
        "the caller's training flags stay True during and after the call",
    ),
    V(
        "model",
        "fresh initialisations of a model that cannot be deep-copied",
        lambda k: (M.fresh_initializations(k.uncopyable, 2, seed=0), k.uncopyable.lin.weight.detach().clone()),
        lambda k, r: not torch.equal(r[0][0]["lin.weight"], r[1]) and torch.equal(k.uncopyable.lin.weight, r[1]),
        "new weights; the model's own unchanged",
    ),
    V(
        "model",
        "weight_norm parametrization: interpolate",
        lambda k: M.interpolate(k.wn0, k.wn0, k.wn1, (k.x64, k.y), alphas=3, progress=False).loss,
        lambda k, r: np.isfinite(r).all(),
        "a finite curve",
    ),
    V(
        "model",
        "weight_norm parametrization: derivatives match finite differences",
        lambda k: _derivatives_match_fd(k.wn0, k.wn1, k.x64),
        lambda k, r: r is True,
        "Taylor mode and nested jvp = central differences",
    ),
    V(
        "model",
        "weight_norm parametrization: logit Gauss length",
        lambda k: M.logit_gauss_length(k.wn0, k.wn0, k.wn1, k.x64, tol=1e-2, max_evaluations=80, concatenated=False),
        lambda k, r: np.isfinite(r.mean) and r.mean > 0,
        "a finite length",
    ),
    V(
        "model",
        "Transformer encoder layer: derivatives match finite differences",
        lambda k: _derivatives_match_fd(k.attn0, k.attn1, k.seq),
        lambda k, r: r is True,
        "Taylor mode and nested jvp = central differences (math attention, fast path off)",
    ),
    V(
        "model",
        "Transformer encoder layer: logit Gauss length",
        lambda k: M.logit_gauss_length(
            k.attn0, k.attn0, k.attn1, k.seq, tol=1.0, max_evaluations=80, concatenated=False, method="jvp"
        ),
        lambda k, r: np.isfinite(r.mean),
        "a finite length",
    ),
    V(
        "model",
        "scaled_dot_product_attention in a model: derivatives",
        lambda k: _derivatives_match_fd(_SDPA().double(), _SDPA().double(), k.seq),
        lambda k, r: r is True,
        "Taylor mode and nested jvp = central differences",
    ),
    V(
        "model",
        "the fast-path switch is restored",
        lambda k: (_derivatives_match_fd(k.attn0, k.attn1, k.seq), torch.backends.mha.get_fastpath_enabled())[1],
        lambda k, r: r is True,
        "torch.backends.mha fast path enabled again after the call",
    ),
    # ---- logit Gauss length ------------------------------------------------------------------------------
    E(
        "named",
        "logit_gauss_length model a function",
        TypeError,
        "must be a torch.nn.Module",
        lambda k: M.logit_gauss_length(lambda z: z, k.a, k.b, k.x),
    ),
    E(
        "named",
        "logit_gauss_length empty tensor",
        ValueError,
        "inputs holds no examples",
        lambda k: M.logit_gauss_length(k.lin, k.a, k.b, k.x[:0]),
    ),
    E(
        "named",
        "logit_gauss_length empty list",
        ValueError,
        "no batches",
        lambda k: M.logit_gauss_length(k.lin, k.a, k.b, []),
    ),
    E(
        "named",
        "logit_gauss_length empty batches",
        ValueError,
        "inputs holds no examples",
        lambda k: M.logit_gauss_length(k.lin, k.a, k.b, [k.x[:0], k.x[:0]]),
    ),
    E("named", "logit_gauss_length tol", ValueError, "tol must be > 0", lambda k: _lgl(k, tol=-1)),
    E("named", "logit_gauss_length tol a string", TypeError, "tol must be a real number", lambda k: _lgl(k, tol="a")),
    E("named", "logit_gauss_length max_evaluations", ValueError, "at least 80", lambda k: _lgl(k, max_evaluations=10)),
    E(
        "named",
        "logit_gauss_length max_evaluations a float",
        TypeError,
        "max_evaluations must be an integer",
        lambda k: _lgl(k, max_evaluations=100.5),
    ),
    E("named", "logit_gauss_length reversed interval", ValueError, "a < b", lambda k: _lgl(k, interval=(1.0, 0.0))),
    E(
        "named",
        "logit_gauss_length NaN interval",
        ValueError,
        "interval[1] must be a number",
        lambda k: _lgl(k, interval=(0.0, nan)),
    ),
    E(
        "named",
        "logit_gauss_length interval of one number",
        TypeError,
        "interval must be a pair",
        lambda k: _lgl(k, interval=(0.0,)),
    ),
    E(
        "named",
        "logit_gauss_length interval a string",
        TypeError,
        "interval must be a pair",
        lambda k: _lgl(k, interval="01"),
    ),
    E("named", "logit_gauss_length method", ValueError, "method must be", lambda k: _lgl(k, method="fd")),
    E(
        "named",
        "logit_gauss_length nothing to compute",
        ValueError,
        "nothing to compute",
        lambda k: _lgl(k, per_example=False, concatenated=False),
    ),
    E(
        "named",
        "logit_gauss_length per_example",
        TypeError,
        "per_example must be True or False",
        lambda k: _lgl(k, per_example="yes"),
    ),
    E(
        "named",
        "logit_gauss_length integer dtype",
        TypeError,
        "floating-point torch dtype",
        lambda k: _lgl(k, dtype=torch.int64),
    ),
    E("named", "logit_gauss_length device", ValueError, "not a torch device", lambda k: _lgl(k, device="tpu")),
    E(
        "named",
        "logit_gauss_length batch_size 0",
        ValueError,
        "batch_size must be >= 1",
        lambda k: _lgl(k, batch_size=0),
    ),
    E(
        "named",
        "logit_gauss_length batch_size a float",
        TypeError,
        "batch_size must be an integer",
        lambda k: _lgl(k, batch_size=2.5),
    ),
    E(
        "silent",
        "logit_gauss_length NaN state",
        ValueError,
        "non-finite value",
        lambda k: M.logit_gauss_length(k.lin, k.a, _nan_state(k.b), k.x),
    ),
    E(
        "named",
        "logit_gauss_length no states",
        ValueError,
        "pass start and end",
        lambda k: M.logit_gauss_length(k.lin, None, k.b, k.x),
    ),
    E(
        "named",
        "logit_gauss_length states and a path",
        ValueError,
        "not both",
        lambda k: M.logit_gauss_length(k.lin, k.a, k.b, k.x, path=M.linear_path(k.a, k.b)),
    ),
    E(
        "named",
        "logit_gauss_length path a dict",
        TypeError,
        "path must be a ParameterPath",
        lambda k: M.logit_gauss_length(k.lin, None, None, k.x, path=k.a),
    ),
    E("named", "logit_gauss_length bn policy", ValueError, "bn must be", lambda k: _lgl(k, bn="frozen")),
    E(
        "named",
        "logit_gauss_length states of another model",
        ValueError,
        "missing from start",
        lambda k: M.logit_gauss_length(k.mlp, k.a, k.b, k.x),
    ),
    V(
        "silent",
        "logit_gauss_length of a linear model",
        lambda k: _lgl(k, dtype=torch.float64).mean,
        lambda k, r: abs(r) < 1e-12,
        "0 (straight logit paths)",
    ),
    V(
        "honest",
        "logit_gauss_length computes in float64 by default",
        lambda k: _lgl(k),
        lambda k, r: r.dtype == "float64" and r.roundoff_error == 0.0,
        "dtype 'float64', no round-off floor",
    ),
    V(
        "honest",
        "logit_gauss_length in float32 reports its round-off floor",
        lambda k: _lgl(k, dtype=torch.float32),
        lambda k, r: r.dtype == "float32" and r.roundoff_error >= 0.0,
        "dtype 'float32' and the floor it measured",
    ),
    V(
        "honest",
        "float32 errors cover the difference from float64",
        _honest_float32,
        lambda k, r: r is True,
        "|G32 - G64| <= error estimate (per example and concatenated); converged False at tol 1e-7",
    ),
    V(
        "honest",
        "the summary says the dtype",
        lambda k: str(_lgl(k, dtype=torch.float32)),
        lambda k, r: "computed in float32" in r,
        "'computed in float32'",
    ),
    # ---- Taylor mode and batch-norm statistics -----------------------------------------------------------
    E(
        "named",
        "TaylorForward with a state dict",
        TypeError,
        "path must be a ParameterPath",
        lambda k: TaylorForward(k.lin, k.a),
    ),
    E(
        "named",
        "TaylorForward mode",
        ValueError,
        "mode must be",
        lambda k: TaylorForward(k.lin, M.linear_path(k.a, k.b), mode="train"),
    ),
    E(
        "named",
        "TaylorForward statistics",
        ValueError,
        "statistics must be",
        lambda k: TaylorForward(k.lin, M.linear_path(k.a, k.b), statistics="frozen"),
    ),
    E(
        "named",
        "TaylorForward model a function",
        TypeError,
        "must be a torch.nn.Module",
        lambda k: TaylorForward(abs, M.linear_path(k.a, k.b)),
    ),
    E(
        "named",
        "recompute_statistics model a function",
        TypeError,
        "must be a torch.nn.Module",
        lambda k: M.recompute_statistics(abs, k.bn_b, k.x),
    ),
    E(
        "named",
        "recompute_statistics integer dtype",
        TypeError,
        "floating-point torch dtype",
        lambda k: M.recompute_statistics(k.bn, k.bn_b, k.x, dtype=torch.int16),
    ),
    E(
        "named",
        "recompute_statistics empty state",
        ValueError,
        "state is empty",
        lambda k: M.recompute_statistics(k.bn, {}, k.x),
    ),
    E(
        "silent",
        "recompute_statistics NaN state",
        ValueError,
        "non-finite value",
        lambda k: M.recompute_statistics(k.bn, _nan_state(k.bn_b, "0.weight"), k.x),
    ),
    E(
        "named",
        "recompute_statistics without data",
        ValueError,
        "needs bn_data",
        lambda k: M.recompute_statistics(k.bn, k.bn_b, None),
    ),
    E(
        "named",
        "recompute_statistics empty data",
        ValueError,
        "yielded no batches",
        lambda k: M.recompute_statistics(k.bn, k.bn_b, []),
    ),
    V(
        "silent",
        "recompute_statistics of a model without batch norm",
        lambda k: M.recompute_statistics(k.lin, k.a, k.x),
        lambda k, r: r == {},
        "{} (no running statistics)",
    ),
    V(
        "model",
        "recompute_statistics leaves the caller's buffers",
        lambda k: _buffers_after(k, lambda: M.recompute_statistics(k.counter0, k.counter1, k.x)),
        lambda k, r: r is True,
        "both models' buffers bit-identical",
    ),
    # ---- geometry ----------------------------------------------------------------------------------------
    E("named", "gauss_length of a number", TypeError, "curve must be a callable", lambda k: M.gauss_length(3)),
    E(
        "named",
        "gauss_length tol a string",
        TypeError,
        "tol must be a real number",
        lambda k: M.gauss_length(M.circular_arc(1.0), tol="x"),
    ),
    E(
        "named",
        "gauss_length max_evaluations a float",
        TypeError,
        "max_evaluations must be an integer",
        lambda k: M.gauss_length(M.circular_arc(1.0), max_evaluations=100.5),
    ),
    E(
        "named",
        "gauss_length NaN end",
        ValueError,
        "a must be a number",
        lambda k: M.gauss_length(M.circular_arc(1.0), nan),
    ),
    E(
        "named",
        "gauss_length reversed interval",
        ValueError,
        "need finite a < b",
        lambda k: M.gauss_length(M.circular_arc(1.0), 1.0, 0.0),
    ),
    E(
        "named",
        "gauss_length a string end",
        TypeError,
        "a must be a real number",
        lambda k: M.gauss_length(M.circular_arc(1.0), "0"),
    ),
    E(
        "silent",
        "gauss_length of a NaN curve",
        ValueError,
        "not finite",
        lambda k: M.gauss_length(lambda a: torch.stack([a, a * nan])),
    ),
    E(
        "named",
        "gauss_length of an integer curve",
        ValueError,
        "floating tensor",
        lambda k: M.gauss_length(lambda a: torch.ones(2, dtype=torch.long)),
    ),
    E(
        "named",
        "gauss_length of a scalar curve",
        ValueError,
        "shape (n,) or (batch, n)",
        lambda k: M.gauss_length(lambda a: a * 2),
    ),
    E(
        "named",
        "gauss_length of a list",
        ValueError,
        "must return a torch.Tensor",
        lambda k: M.gauss_length(lambda a: [a]),
    ),
    V(
        "silent",
        "gauss_length of an arc",
        lambda k: M.gauss_length(M.circular_arc(1.0)).value,
        lambda k, r: abs(r - 1.0) < 1e-8,
        "1.0 (the arc's angle)",
    ),
    E("named", "arc_length of a number", TypeError, "curve must be a callable", lambda k: M.arc_length(2.0)),
    E(
        "named",
        "arc_length reversed",
        ValueError,
        "need finite a < b",
        lambda k: M.arc_length(M.circular_arc(1.0), 1, 0),
    ),
    V(
        "silent",
        "arc_length of a unit arc",
        lambda k: M.arc_length(M.circular_arc(1.0)).value,
        lambda k, r: abs(r - 1.0) < 1e-9,
        "1.0",
    ),
    E(
        "named",
        "tail_gauss_length alpha beyond b",
        ValueError,
        "need finite a < b",
        lambda k: M.tail_gauss_length(M.circular_arc(1.0), 2.0),
    ),
    E(
        "named",
        "cone_condition one point",
        ValueError,
        "points >= 2",
        lambda k: M.cone_condition(M.circular_arc(1.0), points=1),
    ),
    E(
        "named",
        "cone_condition points a float",
        TypeError,
        "points must be an integer",
        lambda k: M.cone_condition(M.circular_arc(1.0), points=2.5),
    ),
    E(
        "named",
        "cone_condition negative tol",
        ValueError,
        "tol must be >= 0",
        lambda k: M.cone_condition(M.circular_arc(1.0), tol=-1.0),
    ),
    E(
        "silent",
        "cone_condition of a NaN curve",
        ValueError,
        "not finite",
        lambda k: M.cone_condition(lambda a: torch.stack([a, a * nan])),
    ),
    E("named", "cone_condition of a number", TypeError, "curve must be a callable", lambda k: M.cone_condition(1)),
    E(
        "named",
        "curve_derivatives alpha a string",
        TypeError,
        "alpha must be a real number",
        lambda k: M.curve_derivatives(M.circular_arc(1.0), "a"),
    ),
    E(
        "named",
        "curve_derivatives two alphas",
        ValueError,
        "alpha must be one point",
        lambda k: M.curve_derivatives(M.circular_arc(1.0), torch.tensor([0.0, 1.0])),
    ),
    E(
        "named",
        "gauss_integrand shapes",
        ValueError,
        "same shape",
        lambda k: M.gauss_integrand(torch.ones(3), torch.ones(2)),
    ),
    E(
        "silent",
        "gauss_integrand NaN",
        ValueError,
        "must be finite",
        lambda k: M.gauss_integrand(torch.tensor([nan, 1.0]), torch.ones(2)),
    ),
    E("named", "gauss_integrand lists", TypeError, "must be tensors", lambda k: M.gauss_integrand([1.0], [1.0])),
    E(
        "named",
        "gauss_length_from_derivatives wrong shapes",
        ValueError,
        "shape (m, batch, n)",
        lambda k: M.gauss_length_from_derivatives(lambda a: (torch.ones(len(a), 2), torch.ones(len(a), 2))),
    ),
    E(
        "named",
        "gauss_length_from_samples two points",
        ValueError,
        "at least 3 points",
        lambda k: M.gauss_length_from_samples([0.0, 1.0], np.ones((2, 2))),
    ),
    E(
        "named",
        "gauss_length_from_samples unsorted",
        ValueError,
        "strictly increasing",
        lambda k: M.gauss_length_from_samples([0.0, 1.0, 0.5], np.ones((3, 2))),
    ),
    E(
        "silent",
        "gauss_length_from_samples NaN",
        ValueError,
        "not finite",
        lambda k: M.gauss_length_from_samples([0.0, 0.5, 1.0], np.array([[0, 0], [nan, 1], [1, 1.0]])),
    ),
    E(
        "silent",
        "gauss_length_from_samples negative max_angle",
        ValueError,
        "max_angle must be an angle",
        lambda k: M.gauss_length_from_samples([0.0, 0.5, 1.0], np.eye(3)[:, :2], max_angle=-1.0),
    ),
    E(
        "named",
        "gauss_length_from_samples shapes",
        ValueError,
        "z must have shape",
        lambda k: M.gauss_length_from_samples([0.0, 0.5, 1.0], np.ones((4, 2))),
    ),
    # ---- curves ------------------------------------------------------------------------------------------
    E("named", "bezier_curve one point", ValueError, "shape (d + 1, n)", lambda k: M.bezier_curve(torch.ones(1, 2))),
    E(
        "silent",
        "bezier_curve NaN",
        ValueError,
        "NaN or inf",
        lambda k: M.bezier_curve(torch.tensor([[0.0, 0], [nan, 1]])),
    ),
    E("named", "bezier_curve 1-D", ValueError, "shape (d + 1, n)", lambda k: M.bezier_curve(torch.ones(3))),
    E("named", "random_bezier_curve dim 0", ValueError, "need dim >= 2", lambda k: M.random_bezier_curve(0)),
    E("named", "random_bezier_curve degree 1", ValueError, "degree >= 2", lambda k: M.random_bezier_curve(2, degree=1)),
    E(
        "named",
        "random_bezier_curve negative bend",
        ValueError,
        "bend >= 0",
        lambda k: M.random_bezier_curve(2, bend=-1.0),
    ),
    E(
        "named",
        "random_bezier_curve dim a float",
        TypeError,
        "dim must be an integer",
        lambda k: M.random_bezier_curve(2.5),
    ),
    E(
        "named",
        "random_polynomial_curve dim a float",
        TypeError,
        "dim must be an integer",
        lambda k: M.random_polynomial_curve(2.5),
    ),
    E(
        "named",
        "random_polynomial_curve NaN scale",
        ValueError,
        "got NaN",
        lambda k: M.random_polynomial_curve(3, scale=nan),
    ),
    E(
        "named",
        "random_polynomial_curve negative seed",
        ValueError,
        "seed must be >= 0",
        lambda k: M.random_polynomial_curve(3, seed=-1),
    ),
    E("silent", "circular_arc NaN angle", ValueError, "finite angle > 0", lambda k: M.circular_arc(nan)),
    E("silent", "circular_arc negative angle", ValueError, "finite angle > 0", lambda k: M.circular_arc(-1.0)),
    E("silent", "circular_arc radius 0", ValueError, "radius > 0", lambda k: M.circular_arc(1.0, radius=0)),
    E("named", "circular_arc dim 1", ValueError, "dim must be at least 2", lambda k: M.circular_arc(1.0, dim=1)),
    E("named", "circular_arc dim a float", TypeError, "dim must be an integer", lambda k: M.circular_arc(1.0, dim=2.0)),
    E("silent", "reversal_curve of zero", ValueError, "nonzero vector", lambda k: M.reversal_curve(torch.zeros(2))),
    # ---- Theorem 3 ---------------------------------------------------------------------------------------
    E("named", "check_theorem3 of a number", TypeError, "curve must be a callable", lambda k: M.check_theorem3(5)),
    E(
        "named",
        "check_theorem3 grid 1",
        ValueError,
        "grid >= 3",
        lambda k: M.check_theorem3(M.circular_arc(1.0), grid=1),
    ),
    E(
        "named",
        "check_theorem3 grid a float",
        TypeError,
        "grid must be an integer",
        lambda k: M.check_theorem3(M.circular_arc(1.0), grid=2.5),
    ),
    E(
        "named",
        "check_theorem3 negative tol",
        ValueError,
        "tol > 0",
        lambda k: M.check_theorem3(M.circular_arc(1.0), tol=-1.0),
    ),
    E(
        "named",
        "check_theorem3 float32 curve",
        TypeError,
        "float64",
        lambda k: M.check_theorem3(lambda a: torch.stack([a, a * a]).float()),
    ),
    E("named", "loss_slope no alphas", ValueError, "alphas is empty", lambda k: M.loss_slope(M.circular_arc(1.0), [])),
    E(
        "silent",
        "loss_slope NaN alpha",
        ValueError,
        "not finite",
        lambda k: M.loss_slope(M.circular_arc(1.0), np.array([nan])),
    ),
    E("named", "loss_slope of a number", TypeError, "curve must be a callable", lambda k: M.loss_slope(1, [0.5])),
    E(
        "silent",
        "projective_gauss_length NaN end",
        ValueError,
        "b must be a number",
        lambda k: M.projective_gauss_length(M.circular_arc(1.0), 0, nan),
    ),
    E(
        "silent",
        "projective_gauss_length reversed",
        ValueError,
        "need a < b",
        lambda k: M.projective_gauss_length(M.circular_arc(1.0), 1.0, 0.0),
    ),
    E(
        "named",
        "projective_gauss_length of a number",
        TypeError,
        "curve must be a callable",
        lambda k: M.projective_gauss_length(4),
    ),
    E("silent", "smoothed_turn NaN", ValueError, "delta must lie in", lambda k: M.smoothed_turn(nan)),
    E("silent", "smoothed_turn negative", ValueError, "delta must lie in", lambda k: M.smoothed_turn(-1.0)),
    E("silent", "smoothed_turn at π/2", ValueError, "delta must lie in", lambda k: M.smoothed_turn(math.pi / 2)),
    # ---- two-layer linear networks -----------------------------------------------------------------------
    E("silent", "problem_from_sigma NaN", ValueError, "NaN or inf", lambda k: M.problem_from_sigma(np.array([[nan]]))),
    E("named", "problem_from_sigma 1-D", ValueError, "2 dimension", lambda k: M.problem_from_sigma(np.ones(3))),
    E(
        "named",
        "problem_from_data rows",
        ValueError,
        "same examples",
        lambda k: M.problem_from_data(np.ones((5, 2)), np.ones((4, 2))),
    ),
    E(
        "silent",
        "problem_from_data NaN",
        ValueError,
        "NaN or inf",
        lambda k: M.problem_from_data(np.array([[nan, 1], [1, 2], [3, 4.0]]), np.ones((3, 1)), whiten=True),
    ),
    E("named", "random_problem d 0", ValueError, "must be positive", lambda k: M.random_problem(0, 2)),
    E("named", "random_problem rank", ValueError, "rank must lie in", lambda k: M.random_problem(2, 2, rank=5)),
    E(
        "named",
        "random_problem s_range",
        ValueError,
        "0 < low <= high",
        lambda k: M.random_problem(2, 2, s_range=(3, 0.5)),
    ),
    E("named", "whiten_inputs one row", ValueError, "singular", lambda k: M.whiten_inputs(np.ones((1, 3)))),
    E(
        "silent",
        "whiten_inputs NaN",
        ValueError,
        "NaN or inf",
        lambda k: M.whiten_inputs(np.array([[nan, 1.0], [1, 2]])),
    ),
    E(
        "named",
        "mode_closed_form negative time",
        ValueError,
        "non-negative",
        lambda k: M.mode_closed_form(0.1, 0.1, 1.0, -1.0),
    ),
    E(
        "named",
        "mode_closed_form tau 0",
        ValueError,
        "tau must be positive",
        lambda k: M.mode_closed_form(0.1, 0.1, 1.0, 1.0, tau=0),
    ),
    E("silent", "mode_closed_form NaN", ValueError, "NaN or inf", lambda k: M.mode_closed_form(nan, 0.1, 1.0, 1.0)),
    E(
        "named",
        "balanced_mode_strength negative u0",
        ValueError,
        "u0 > 0",
        lambda k: M.balanced_mode_strength(-1, 1, 1),
    ),
    E(
        "named",
        "decoupled_init too many modes",
        ValueError,
        "modes requested",
        lambda k: M.decoupled_init(M.random_problem(3, 2, seed=0), np.ones(5), np.ones(5)),
    ),
    E(
        "named",
        "gaussian_init negative scale",
        ValueError,
        "scale must be positive",
        lambda k: M.gaussian_init(3, 2, 2, scale=-1),
    ),
    E(
        "named",
        "gradient_flow negative time",
        ValueError,
        "non-negative",
        lambda k: M.gradient_flow(M.random_problem(3, 2, seed=0), np.ones((2, 3)), np.ones((2, 2)), -1.0),
    ),
    E(
        "named",
        "gradient_flow shapes",
        ValueError,
        "weights must be W1",
        lambda k: M.gradient_flow(M.random_problem(3, 2, seed=0), np.ones((2, 4)), np.ones((2, 2)), 1.0),
    ),
    E(
        "silent",
        "check_two_layer_linear NaN time",
        ValueError,
        "NaN or inf",
        lambda k: M.check_two_layer_linear(M.random_problem(3, 2, seed=0), np.ones(2) * 0.1, np.ones(2) * 0.1, nan),
    ),
    E(
        "named",
        "check_interpolation shapes",
        ValueError,
        "weights must be W1 (h, d)",
        lambda k: M.check_interpolation(
            M.random_problem(3, 2, seed=0), np.ones((2, 3)), np.ones((2, 2)), np.ones((2, 3)), np.ones((3, 2))
        ),
    ),
    E(
        "named",
        "condition_c1 shapes",
        ValueError,
        "shapes that broadcast",
        lambda k: M.condition_c1(np.ones(2), np.ones(3), np.ones(2), np.ones(2)),
    ),
    E(
        "silent",
        "condition_c1 NaN",
        ValueError,
        "NaN or infinite",
        lambda k: M.condition_c1(np.ones(2), np.full(2, nan), np.ones(2), np.ones(2)),
    ),
    E("silent", "mode_path NaN alpha", ValueError, "alphas holds 1 NaN", lambda k: M.mode_path(1, 1, 2, 2, [nan])),
    E(
        "named",
        "velocity_angle shapes",
        ValueError,
        "same number of entries",
        lambda k: M.velocity_angle(np.ones(2), np.ones(3)),
    ),
    E(
        "silent",
        "velocity_angle NaN",
        ValueError,
        "NaN or infinite",
        lambda k: M.velocity_angle([nan, 1.0], [1.0, 1.0]),
    ),
    V(
        "silent",
        "velocity_angle of a zero velocity",
        lambda k: M.velocity_angle([0.0, 0.0], [1.0, 0.0]),
        lambda k, r: r == 0.0,
        "0.0 (documented: a zero endpoint velocity adds no turning)",
    ),
    # ---- last-layer-bias plateau ------------------------------------------------------------------------
    E("named", "plateau_constants r = 1", ValueError, "r must be > 1", lambda k: M.plateau_constants(*_bp(), 1)),
    E(
        "silent",
        "plateau_constants label out of range",
        ValueError,
        "labels y must lie in",
        lambda k: M.plateau_constants(_bp()[0], _bp()[1], np.array([0, 1, 5, 0, 1, 2]), 3),
    ),
    E(
        "silent",
        "plateau_constants NaN",
        ValueError,
        "must be finite",
        lambda k: M.plateau_constants(np.full((6, 3), nan), _bp()[1], _bp()[2], 3),
    ),
    E(
        "named",
        "plateau_constants shapes",
        ValueError,
        "b_T must have shape",
        lambda k: M.plateau_constants(_bp()[0], np.ones(4), _bp()[2], 3),
    ),
    E(
        "silent",
        "check_proposition2 negative eta",
        ValueError,
        "eta must be a finite number > 0",
        lambda k: M.check_proposition2(*_bp(), 3, eta=-1),
    ),
    E(
        "silent",
        "check_proposition1 NaN alphas",
        ValueError,
        "finite",
        lambda k: M.check_proposition1(*_bp(), 3, alphas=[nan, 0.5]),
    ),
    E(
        "silent",
        "plateau_end NaN threshold",
        ValueError,
        "threshold must be a finite number",
        lambda k: M.plateau_end([0, 0.5, 1], [1, 1, 1], threshold=nan),
    ),
    E(
        "silent",
        "plateau_end NaN values",
        ValueError,
        "values must be finite",
        lambda k: M.plateau_end([0, 0.5, 1], [nan, 1, 1], threshold=0.5),
    ),
    E(
        "named",
        "plateau_length negative eta",
        ValueError,
        "eta must be >= 0",
        lambda k: M.plateau_length([0, 0.5, 1], [1, 1, 1], -1),
    ),
    E("named", "toy_model one class", ValueError, "k (number of classes) must be >= 2", lambda k: M.toy_model(k=1)),
    E("named", "toy_model negative eps", ValueError, "eps (initialisation scale)", lambda k: M.toy_model(eps=-1)),
    E("named", "train_toy negative lr", ValueError, "lr must be > 0", lambda k: M.train_toy(M.toy_model(3, 3), lr=-1)),
    E(
        "named",
        "train_toy no steps",
        ValueError,
        "steps must be a positive integer",
        lambda k: M.train_toy(M.toy_model(3, 3), steps=0),
    ),
    E(
        "named",
        "toy_interpolation scheme",
        ValueError,
        "unknown scheme",
        lambda k: M.toy_interpolation(np.ones(3), np.ones(3), np.ones(3), 3, [0, 1], scheme="x"),
    ),
    E(
        "silent",
        "toy_interpolation NaN bias",
        ValueError,
        "b_T holds NaN",
        lambda k: M.toy_interpolation(np.ones(3), np.ones(3), np.full(3, nan), 3, [0, 1]),
    ),
    E(
        "silent",
        "escape_times NaN",
        ValueError,
        "w0 must be finite and > 0",
        lambda k: M.escape_times([nan, 1.0], 3, 3),
    ),
    E(
        "named",
        "escape_times negative",
        ValueError,
        "w0 must be finite and > 0",
        lambda k: M.escape_times([-1.0], 3, 3),
    ),
    E(
        "silent",
        "check_homogeneous_scaling no c",
        ValueError,
        "cs must be a non-empty",
        lambda k: M.check_homogeneous_scaling(*_relu_net(), []),
    ),
    E(
        "named",
        "check_homogeneous_scaling c = 0",
        ValueError,
        "needs c > 0",
        lambda k: M.check_homogeneous_scaling(*_relu_net(), [0.0]),
    ),
    E(
        "named",
        "check_deep_linear_identity x dtype",
        TypeError,
        "x is torch.float64 but thetaT",
        lambda k: M.check_deep_linear_identity(_relu_net()[0], _relu_net()[1], _relu_net()[2].double(), [0.5]),
    ),
    E(
        "named",
        "check_output_bias_decomposition features",
        ValueError,
        "x has 7 features",
        lambda k: M.check_output_bias_decomposition(_relu_net()[0], _relu_net()[1], torch.randn(4, 7), [0.5]),
    ),
    E(
        "silent",
        "check_output_bias_decomposition NaN x",
        ValueError,
        "x holds NaN",
        lambda k: M.check_output_bias_decomposition(_relu_net()[0], _relu_net()[1], torch.full((4, 3), nan), [0.5]),
    ),
    E(
        "named",
        "check_output_bias_decomposition a function",
        TypeError,
        "expected an nn.Sequential",
        lambda k: M.check_output_bias_decomposition(abs, {}, torch.randn(4, 3), [0.5]),
    ),
    E(
        "named",
        "run_mlp_case depth 0",
        ValueError,
        "depth (number of linear layers) must be >= 1",
        lambda k: M.run_mlp_case(k.x, torch.tensor([0, 1] * 4), depth=0, init_scale=1, seed=0),
    ),
    E(
        "silent",
        "run_mlp_case NaN init scale",
        ValueError,
        "init_scale must be a finite number > 0",
        lambda k: M.run_mlp_case(k.x, torch.tensor([0, 1] * 4), depth=2, init_scale=nan, seed=0),
    ),
    # ---- wide networks, NTK ------------------------------------------------------------------------------
    E("named", "NTKMLP width 0", ValueError, "width must be positive", lambda k: M.NTKMLP(3, 0)),
    E("named", "NTKMLP activation", ValueError, "unknown activation", lambda k: M.NTKMLP(3, 4, activation="gelu9")),
    E(
        "named",
        "empirical_ntk of a number",
        TypeError,
        "must be a torch.nn.Module",
        lambda k: M.empirical_ntk(3, torch.randn(5, 3, dtype=torch.float64)),
    ),
    E(
        "named",
        "empirical_ntk float32 inputs",
        TypeError,
        "X is torch.float32 but the parameters are torch.float64",
        lambda k: M.empirical_ntk(_ntk(), torch.randn(5, 3)),
    ),
    E(
        "named",
        "empirical_ntk features",
        ValueError,
        "X has 4 features",
        lambda k: M.empirical_ntk(_ntk(), torch.randn(5, 4, dtype=torch.float64)),
    ),
    E(
        "silent",
        "empirical_ntk NaN inputs",
        ValueError,
        "X holds NaN",
        lambda k: M.empirical_ntk(_ntk(), torch.full((5, 3), nan, dtype=torch.float64)),
    ),
    E(
        "named",
        "linearized_outputs parameters",
        ValueError,
        "does not match the model's parameters",
        lambda k: M.linearized_outputs(
            _ntk(), dict(_ntk().named_parameters()), {}, torch.randn(5, 3, dtype=torch.float64)
        ),
    ),
    E(
        "silent",
        "gd_residuals negative step",
        ValueError,
        "eta must be > 0",
        lambda k: M.gd_residuals(torch.eye(5), torch.ones(5), -1.0, 3),
    ),
    E(
        "named",
        "gd_residuals shapes",
        ValueError,
        "r0 must have shape (4,)",
        lambda k: M.gd_residuals(torch.eye(4), torch.ones(5), 0.1, 3),
    ),
    E(
        "named",
        "gd_residuals negative steps",
        ValueError,
        "non-negative integers",
        lambda k: M.gd_residuals(torch.eye(5), torch.ones(5), 0.1, -3),
    ),
    E(
        "silent",
        "gradient_flow_residuals negative time",
        ValueError,
        "t must be finite times >= 0",
        lambda k: M.gradient_flow_residuals(torch.eye(5), torch.ones(5), -1.0),
    ),
    E(
        "silent",
        "gradient_flow_residuals NaN kernel",
        ValueError,
        "theta holds NaN",
        lambda k: M.gradient_flow_residuals(torch.eye(5) * nan, torch.ones(5), 1.0),
    ),
    E(
        "named",
        "train_gd targets",
        ValueError,
        "Y must be a tensor of targets",
        lambda k: M.train_gd(_ntk(), torch.randn(5, 3, dtype=torch.float64), torch.randn(4, 1, dtype=torch.float64)),
    ),
    E(
        "named",
        "train_gd negative step",
        ValueError,
        "eta must be positive",
        lambda k: M.train_gd(
            _ntk(), torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 1, dtype=torch.float64), eta=-1
        ),
    ),
    E(
        "named",
        "check_lemma7a descent and flow",
        ValueError,
        "give either",
        lambda k: M.check_lemma7a(np.eye(2), np.ones(2), eta=0.1, time=1.0),
    ),
    E(
        "named",
        "check_lemma7a shapes",
        ValueError,
        "to match r0",
        lambda k: M.check_lemma7a(np.eye(2), np.ones(3), eta=0.1, steps=2),
    ),
    E("named", "width_scan no widths", ValueError, "widths must be a non-empty list", lambda k: M.width_scan([])),
    # ---- interpolation studies ---------------------------------------------------------------------------
    E(
        "named",
        "fresh_initializations n 0",
        ValueError,
        "n must be at least 1",
        lambda k: M.fresh_initializations(k.lin, 0, seed=0),
    ),
    E(
        "named",
        "fresh_initializations seed a string",
        TypeError,
        "seed must be an integer",
        lambda k: M.fresh_initializations(k.lin, 2, seed="a"),
    ),
    E(
        "named",
        "fresh_initializations negative seed",
        ValueError,
        "seed must be >= 0",
        lambda k: M.fresh_initializations(k.lin, 2, seed=-1),
    ),
    E(
        "named",
        "fresh_initializations of a number",
        TypeError,
        "must be a torch.nn.Module",
        lambda k: M.fresh_initializations(3, 2, seed=0),
    ),
    E(
        "named",
        "checkpoint_barriers no checkpoints",
        ValueError,
        "checkpoints is empty",
        lambda k: M.checkpoint_barriers(k.lin, [], k.b, k.data, progress=False),
    ),
    E(
        "named",
        "checkpoint_barriers steps",
        ValueError,
        "1 steps for 2 checkpoints",
        lambda k: M.checkpoint_barriers(k.lin, [k.a, k.a], k.b, k.data, steps=[1], progress=False),
    ),
    E(
        "named",
        "unrelated_initializations none",
        ValueError,
        "n must be at least 1",
        lambda k: M.unrelated_initializations(k.lin, k.b, 0, k.data, progress=False),
    ),
    E(
        "named",
        "pairwise_interpolations empty",
        ValueError,
        "at least one initialisation",
        lambda k: M.pairwise_interpolations(k.lin, [], [k.b], k.data, progress=False),
    ),
    E(
        "named",
        "layerwise_interpolation rest",
        ValueError,
        "rest must be",
        lambda k: M.layerwise_interpolation(k.mlp, k.mlp, k.mlp_b, k.data, rest="x", progress=False),
    ),
    E(
        "named",
        "layerwise_interpolation unknown group",
        ValueError,
        "matches no floating-point key",
        lambda k: M.layerwise_interpolation(k.mlp, k.mlp, k.mlp_b, k.data, groups=["fc9"], progress=False),
    ),
    E("named", "plane_basis of one state", ValueError, "no plane", lambda k: M.plane_basis(k.a, k.a, k.b)),
    # ---- loading results ---------------------------------------------------------------------------------
    E("load", "Result.load of nothing", FileNotFoundError, "no saved result", lambda k: Result.load(k.tmp / "none")),
    E(
        "load",
        "Result.load of random bytes",
        ValueError,
        "is not valid JSON",
        lambda k: _load(bytes(range(128, 256)), k.tmp),
    ),
    E("load", "Result.load of an empty file", ValueError, "is not valid JSON", lambda k: _load(b"", k.tmp)),
    E(
        "load",
        "Result.load of another format",
        ValueError,
        "is not a saved mlitheory result",
        lambda k: _load({"format": 7}, k.tmp),
    ),
    E(
        "load",
        "Result.load of a function of os",
        TypeError,
        "is not a Result class",
        lambda k: _load(_result_entry("os:system"), k.tmp),
    ),
    E(
        "load",
        "Result.load of a module it would import",
        TypeError,
        "imports only modules of mlitheory, empirical",
        lambda k: _load(_result_entry("antigravity_not_imported_module:X"), k.tmp),
    ),
    E(
        "load",
        "Result.load of a class that is not a result",
        TypeError,
        "is not a Result class",
        lambda k: _load(_result_entry("mlitheory.paths:ParameterPath"), k.tmp),
    ),
    E(
        "load",
        "Result.load of a malformed class name",
        ValueError,
        "module:qualname",
        lambda k: _load(_result_entry("mlitheory.paths.ParameterPath"), k.tmp),
    ),
    E(
        "load",
        "Result.load of fields the class does not have",
        ValueError,
        "do not fit the class",
        lambda k: _load(_result_entry("mlitheory.monotonicity:Bump", {"nope": 1}), k.tmp),
    ),
    E(
        "load",
        "Result.load of a result without fields",
        ValueError,
        "has no fields",
        lambda k: _load({"format": 1, "result": {"__result__": "mlitheory.monotonicity:Bump"}}, k.tmp),
    ),
    E(
        "load",
        "Result.load of another class",
        TypeError,
        "not a WeightDistance",
        lambda k: M.WeightDistance.load(M.bumps([1.0, 2.0])[0].save(k.tmp / "bump", overwrite=True)),
    ),
    E(
        "load",
        "Result.load of garbled arrays",
        ValueError,
        "cannot be read as the result's arrays",
        lambda k: (
            M.weight_distance(k.a, k.b, per_layer=True).save(k.tmp / "wd", overwrite=True),
            (k.tmp / "wd.npz").write_bytes(b"PK\x03\x04garbage"),
            M.WeightDistance.load(k.tmp / "wd"),
        )[2],
    ),
    V(
        "load",
        "Result.load round trip",
        lambda k: (
            M.WeightDistance.load(M.weight_distance(k.a, k.b, per_layer=True).save(k.tmp / "wd2", overwrite=True)).value
        ),
        lambda k, r: r == M.weight_distance(k.a, k.b).value,
        "the same value",
    ),
]


class _NamedLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Module()
        self.a.w = nn.Parameter(torch.zeros(2, 3))
        self.a.b = nn.Parameter(torch.zeros(2))

    def forward(self, x):
        return x @ self.a.w.T + self.a.b


class _TupleOut(nn.Linear):
    def __init__(self):
        super().__init__(3, 2)

    def forward(self, x):
        return (super().forward(x),)


class _SDPA(nn.Module):
    def __init__(self, d: int = 4):
        super().__init__()
        self.q = nn.Linear(d, d)
        self.fc = nn.Linear(d, 2)

    def forward(self, x):
        q = self.q(x).unsqueeze(1)  # (N, heads=1, L, d): the 4-D layout of the fused CPU kernels
        return self.fc(F.scaled_dot_product_attention(q, q, q).squeeze(1).mean(1))


def _bp():
    g = np.random.default_rng(0).standard_normal((6, 3))
    return g, np.array([0.1, 0.2, 0.3]), np.array([0, 1, 2, 0, 1, 2])


def _relu_net():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    return net, {k: v.detach().clone() for k, v in net.state_dict().items()}, torch.randn(4, 3)


def _ntk():
    return M.NTKMLP(3, 8, generator=torch.Generator().manual_seed(0)).double()


# ---------------------------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def kit(zoo, tmp_path_factory):
    zoo.tmp = tmp_path_factory.mktemp("results")
    return zoo


@pytest.mark.parametrize("case", CASES, ids=[f"{c.cls}: {c.name}" for c in CASES])
def test_matrix(case: Case, kit):
    if case.raises is not None:
        with pytest.raises(case.raises, match=re.escape(case.phrase)):
            case.call(kit)
    else:
        result = case.call(kit)
        assert case.check(kit, result), f"{case.name}: expected {case.phrase}, got {result!r}"


def test_the_matrix_is_large_and_every_case_has_a_class():
    assert len(CASES) >= 250
    assert {c.cls for c in CASES} <= set(CLASSES)
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"


def counts() -> dict[str, int]:
    """Cases by class, in the order of CLASSES."""
    tally = Tally(c.cls for c in CASES)
    return {cls: tally.get(cls, 0) for cls in CLASSES}
