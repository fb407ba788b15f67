"""Training in chunks: a run paused at a deadline resumes from its last epoch and ends bit for bit where an
uninterrupted run ends; a reproduction with a time budget exits, resumes, and writes the same report."""

from __future__ import annotations

import json
import math
import time

import pytest
import torch

from empirical.data import available
from empirical.reproduce import Incomplete, reproduce
from empirical.runs import RESUME_FILE, RunConfig, execute_run, load_run, run_folder
from empirical.train import train


def tiny(**kw) -> RunConfig:
    base = dict(
        dataset="gaussian", n_train=64, n_test=32, data_options={"dim": 6, "num_classes": 3}, model="mlp",
        model_options={"hidden": [8], "batchnorm": True}, epochs=4, batch_size=16, alphas=6, n_gauss=8,
        gauss_tol=1e-3, gauss_max_evaluations=200, optimizer="adam", lr=0.01, schedule="cosine",
    )  # fmt: skip
    return RunConfig.from_dict({**base, **kw})


def _params(folder, name="final"):
    return torch.load(folder / "checkpoints" / f"{name}.pt", weights_only=True)


class _AlwaysLate:
    """``time`` for empirical.train whose clock is always past any deadline: training pauses after every epoch."""

    perf_counter = staticmethod(time.perf_counter)

    @staticmethod
    def time() -> float:
        return math.inf


@pytest.mark.parametrize("extra", [{}, {"switch_epoch": 2, "switch_optimizer": "sgd", "switch_lr": 0.05}])
def test_a_paused_run_resumes_to_the_same_weights_and_log(tmp_path, monkeypatch, extra):
    c = tiny(**extra)
    straight = execute_run(c, tmp_path / "a")
    assert straight.status == "finished"
    monkeypatch.setattr("empirical.train.time", _AlwaysLate)
    calls = []
    while len(calls) < 10:  # each call trains one epoch, then pauses at its end
        out = execute_run(c, tmp_path / "b", deadline=time.time() + 3600)
        calls.append(out.status)
        if out.status != "paused":
            break
        folder = run_folder(tmp_path / "b", c)
        assert (folder / "checkpoints" / RESUME_FILE).is_file() and not (folder / "metrics.json").exists()
        assert json.loads((folder / "status.json").read_text())["state"] == "paused"
    assert calls == ["paused", "paused", "paused", "finished"]
    fa, fb = run_folder(tmp_path / "a", c), run_folder(tmp_path / "b", c)
    for name in ("init", "final"):
        pa, pb = _params(fa, name), _params(fb, name)
        assert pa.keys() == pb.keys() and all(torch.equal(pa[k], pb[k]) for k in pa)
    la, lb = load_run(fa).log, load_run(fb).log
    strip = lambda log: [{k: v for k, v in e.items() if k != "seconds"} for e in log]
    assert strip(la) == strip(lb) and len(lb) == 4
    ma, mb = load_run(fa).metrics["measures"], load_run(fb).metrics["measures"]
    assert ma["min_delta"] == mb["min_delta"] and ma["curve_loss_final"] == mb["curve_loss_final"]
    assert not (fb / "checkpoints" / RESUME_FILE).exists()  # removed once finished


def test_a_run_not_started_by_its_deadline_is_left_alone(tmp_path):
    c = tiny()
    out = execute_run(c, tmp_path, start_by=time.time() - 1)
    assert out.status == "pending" and not run_folder(tmp_path, c).exists()


def test_train_resumes_from_its_state_file(tmp_path):
    torch.manual_seed(0)
    x, y = torch.randn(40, 5), torch.randint(0, 3, (40,))

    def model():
        return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))

    torch.manual_seed(1)
    m1 = model()
    torch.manual_seed(1)
    m2 = model()
    kw = dict(optimizer="sgd", lr=0.1, epochs=3, batch_size=8, seed=4, progress=False)
    r1 = train(m1, (x, y), **kw)
    state = tmp_path / "state.pt"
    r2 = train(m2, (x, y), resume_path=state, deadline=time.time() - 1, **kw)
    assert r2.status == "paused" and r2.epochs == 1
    torch.manual_seed(99)
    m3 = model()  # a fresh model: everything comes from the state file
    r3 = train(m3, (x, y), resume_path=state, **kw)
    assert r3.status == "finished" and r3.steps == r1.steps
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m3.state_dict().values()))
    with pytest.raises(ValueError, match="deadline needs resume_path"):
        train(model(), (x, y), deadline=time.time(), **kw)
    state.write_bytes(b"not a state")
    with pytest.raises(ValueError, match=r"corrupt or not ours.*delete it"):
        train(model(), (x, y), resume_path=state, **kw)


@pytest.mark.data
@pytest.mark.skipif(not available("mnist")[0], reason="MNIST not installed (make data)")
def test_a_budgeted_reproduction_resumes_and_writes_the_same_report(tmp_path):
    """The chunking of the paper scripts, at smoke size: calls with no time left stop with Incomplete (exit status
    3 on the command line), the next calls continue, and the report equals that of one uninterrupted call."""
    whole = reproduce("lucas_autoencoder", "smoke", out=tmp_path / "whole", root=tmp_path / "r1", progress=False)
    calls = 0
    while True:
        calls += 1
        try:
            chunked = reproduce(
                "lucas_autoencoder", "smoke", out=tmp_path / "chunked", root=tmp_path / "r2", progress=False, budget=0
            )
            break
        except Incomplete as e:
            assert e.done < e.total or e.total == 0  # runs left, or the analysis's measurements (total 0)
        assert calls < 40
    assert calls > 1
    assert [c.to_json() for c in chunked.claims] == [c.to_json() for c in whole.claims]
    assert [t.rows for t in chunked.tables] == [t.rows for t in whole.tables]


def test_cli_budget_exits_with_status_3(tmp_path, capsys):
    from empirical.__main__ import main

    args = ["reproduce", "lucas_autoencoder", "--scale", "smoke", "--runs", str(tmp_path), "--no-progress"]
    if not available("mnist")[0]:
        pytest.skip("MNIST not installed (make data)")
    assert main([*args, "--train-only", "--budget", "0"]) == 3
    assert "left for the next call" in capsys.readouterr().out
