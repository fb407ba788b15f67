"""Warm start of a run from another run's checkpoint with some entries re-initialised (init_from, init_reset)."""

import dataclasses

import pytest
import torch

from empirical.models import build_model
from empirical.runs import RunConfig, execute_run, load_run


def _base():
    return RunConfig(
        dataset="gaussian", data_options={"dim": 5, "num_classes": 3}, n_train=60, n_test=30, model="mlp",
        model_options={"hidden": [8, 8]}, epochs=2, batch_size=20, alphas=3, n_gauss=4,
    )  # fmt: skip


def test_warm_start_keeps_the_trained_state_except_the_reset_entries(tmp_path):
    base = _base()
    assert execute_run(base, tmp_path).status == "finished"
    trained = load_run(tmp_path / base.hash).checkpoint("final")
    warm = dataclasses.replace(base, init_from=base.hash, init_reset=("net.3",), seed=7, epochs=0)
    out = execute_run(warm, tmp_path)
    assert out.status == "finished", out.error
    start = load_run(out.folder).checkpoint("init")
    fresh = build_model("mlp", input_shape=(5,), num_classes=3, seed=7, hidden=[8, 8]).state_dict()
    for k, v in start.items():
        expected = fresh[k] if k.startswith("net.3.") else trained[k]
        assert torch.equal(v, expected), k
    assert any(not torch.equal(fresh[k], trained[k]) for k in fresh if k.startswith("net.3."))
    # a named checkpoint works too
    warm0 = dataclasses.replace(warm, init_from=f"{base.hash}/init")
    start0 = load_run(execute_run(warm0, tmp_path).folder).checkpoint("init")
    initial = load_run(tmp_path / base.hash).checkpoint("init")
    assert torch.equal(start0["net.1.weight"], initial["net.1.weight"])


def test_warm_start_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="init_from is not"):
        dataclasses.replace(_base(), init_reset=("net.1",))
    missing = dataclasses.replace(_base(), init_from="0123456789abcdef")
    out = execute_run(missing, tmp_path)
    assert out.status == "failed" and "no checkpoint" in out.error
    base = _base()
    execute_run(base, tmp_path)
    bad = dataclasses.replace(base, init_from=base.hash, init_reset=("net.9",))
    out = execute_run(bad, tmp_path)
    assert out.status == "failed" and "net.9" in out.error
