"""The reports' exact MLI verdicts beside the sampled ones: a planted rise between the samples, the runs the exact
tools do not cover, and the exact loss against a trained run's own curve."""

import math
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from empirical.data import available
from empirical.experiments import _common
from empirical.report import Report

T0, T1, T2, S = 0.512, 0.520, 0.528, 3.0  # a tent of slope S on [T0, T2], between the samples 25/49 and 26/49


class _Ctx:
    device = None

    def cached(self, key, compute, *args, **kwargs):
        return compute(*args, **kwargs)


def _record(model, start, end, *, bn="recompute", task="classification"):
    config = types.SimpleNamespace(
        hash="planted", task=task, bn=bn, measure_split="train", n_measure=None, alphas=50, dataset="planted"
    )
    states = {"init": start, "final": end}
    return types.SimpleNamespace(
        config=config, curve=None, build_model=lambda: model, checkpoint=lambda name="final": states[name]
    )


def _tent():
    """x = 1, logits (f, 0) with f = α − S·tent(α): cross-entropy of label 0 rises on [T0, T1] only."""
    net = nn.Sequential(nn.Linear(1, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    f64 = {"dtype": torch.float64}
    w2 = torch.zeros(2, 4, **f64)
    w2[0] = torch.tensor([1.0, -S, 2 * S, -S], **f64)
    s = {"0.weight": torch.zeros(4, 1, **f64), "0.bias": torch.tensor([0.0, -T0, -T1, -T2], **f64), "2.weight": w2}
    s["2.bias"] = torch.zeros(2, **f64)
    return net, s, {**s, "0.bias": torch.tensor([1.0, 1 - T0, 1 - T1, 1 - T2], **f64)}


@pytest.fixture
def planted_data(monkeypatch):
    x, y = torch.ones(1, 1), torch.zeros(1, dtype=torch.long)
    monkeypatch.setattr(_common, "load_data", lambda c, split, n: (None, x, y))


def test_a_rise_between_the_samples_overturns_the_sampled_verdict(planted_data):
    net, s, e = _tent()
    r = _common.exact_mli(_Ctx(), _record(net, s, e))
    want = math.log1p(math.exp(-(T1 - S * (T1 - T0)))) - math.log1p(math.exp(-T0))
    assert r["supported"] and not r["monotone"] and r["sampled_min_delta"] == 0.0
    assert abs(r["exact_min_delta"] - want) <= r["exact_min_delta_error"] + 1e-12
    assert abs(r["witness"][0] - T0) < 1e-9 and abs(r["witness"][1] - T1) < 1e-9
    assert abs(r["witness_rise"] - want) < 1e-12  # through the model itself
    # the sampled losses are the model's own at the 50 α
    one, label = torch.ones(1, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.long)
    with torch.no_grad():
        own = [
            F.cross_entropy(torch.func.functional_call(net, {k: (1 - a) * s[k] + a * e[k] for k in s}, (one,)), label)
            for a in np.linspace(0, 1, 50)
        ]
    assert np.allclose(r["sampled_losses"], [float(v) for v in own], rtol=1e-12)
    rep = Report(name="t", version=1, scale="smoke", title="t")
    _common.exact_table(rep, [("tent", r)], 1e-3)
    (table,) = rep.tables
    assert table.rows[0]["sampled_verdict"] == "monotone" and table.rows[0]["exact_verdict"] == "non-monotone"
    summary = rep.numbers["exact_vs_sampled"]
    assert summary["overturned"] == 1 and summary["sampled_monotone_but_rises"] == 1 and summary["lines"] == 1
    assert "overturns the sampled one in 1 of 1 runs" in table.note
    # the generic line: the same decision from explicit end points and grid
    again = _common.exact_line(_record(net, s, e), s, e, torch.ones(1, 1), torch.zeros(1, dtype=torch.long),
                               np.linspace(0, 1, 50))  # fmt: skip
    assert {k: v for k, v in again.items() if k != "seconds"} == {k: v for k, v in r.items() if k != "seconds"}


def test_a_straight_decrease_is_monotone_on_the_continuum(planted_data):
    net, s, e = _tent()
    e = {**e, "2.weight": torch.zeros(2, 4, dtype=torch.float64)}
    e["2.weight"][0, 0] = 1.0  # f = α only on the first neuron: CE = softplus(−α) decreases
    s = {**s, "2.weight": e["2.weight"]}
    r = _common.exact_mli(_Ctx(), _record(net, s, e))
    assert r["supported"] and r["monotone"] and r["exact_min_delta"] == 0.0 and r["witness"] is None


@pytest.mark.parametrize("kind", ["tanh", "batchnorm"])
def test_runs_outside_the_exact_tools_are_counted_with_the_reason(kind, planted_data):
    if kind == "tanh":
        net = nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 2)).double()
        why = "Tanh"
    else:
        net = nn.Sequential(nn.Linear(1, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2)).double()
        why = "batch norm"
    s = {k: v.clone() for k, v in net.state_dict().items()}
    r = _common.exact_mli(_Ctx(), _record(net, s, s))
    assert not r["supported"] and why in r["reason"]
    rep = Report(name="t", version=1, scale="smoke", title="t")
    _common.exact_table(rep, [("x", r)], 1e-3)
    summary = rep.numbers["exact_vs_sampled"]
    assert summary["lines"] == 0 and sum(summary["not_covered"].values()) == 1
    assert why in rep.tables[0].note


@pytest.mark.data
@pytest.mark.skipif(not available("mnist")[0], reason="MNIST not installed (make data)")
def test_exact_loss_matches_a_trained_runs_own_curve(tmp_path):
    # the same examples as the run's measurement: the exact loss at its α grid is its float32 curve to rounding
    from empirical.experiments import load_experiment
    from empirical.runs import load_run, run_folder
    from empirical.sweep import run_sweep

    spec = load_experiment("lucas_table1", "smoke")
    c = next(c for c in spec.configs if c.model_options.get("activation", "relu") == "relu"
             and not c.model_options.get("batchnorm"))  # fmt: skip
    run_sweep([c], tmp_path, progress=False)
    rec = load_run(run_folder(tmp_path, c))
    r = _common.exact_mli(_Ctx(), rec)
    assert r["supported"] and r["n"] == min(_common.EXACT_EXAMPLES, c.n_measure)
    own = np.asarray(rec.curve["loss"], dtype=np.float64)
    assert np.allclose(r["sampled_losses"], own, rtol=1e-4, atol=1e-6)
    assert r["exact_min_delta"] + r["exact_min_delta_error"] >= r["sampled_min_delta"]
    assert math.isfinite(r["seconds"]) and r["pieces_per_example"] >= 1
    # with fewer examples: the first ones of the run's own measuring subset (drawn as the run draws it)
    from empirical.data import load_dataset
    from empirical.runs import _subset
    from mlitheory import interpolate

    ds = load_dataset(c.dataset, n_train=c.n_train, n_test=c.n_test, seed=c.data_seed, normalize=c.normalize)
    mx, my = _subset(ds.x_train, ds.y_train, c.n_measure, c.data_seed + 1)
    r16 = _common.exact_mli(_Ctx(), rec, n=16)
    own16 = interpolate(rec.build_model(), rec.checkpoint("init"), rec.checkpoint("final"), (mx[:16], my[:16]),
                        alphas=rec.curve.alphas, dtype=torch.float64, progress=False)  # fmt: skip
    assert r16["n"] == 16 and np.allclose(r16["sampled_losses"], own16["loss"], rtol=1e-10)
