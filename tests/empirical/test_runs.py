"""empirical.runs: configuration hashing, run folders, never redoing finished runs, bad input."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

from empirical.runs import ConfigMismatch, RunConfig, execute_run, load_run, run_folder
from mlitheory import InterpolationCurve, LogitGaussLength


def tiny(**kw) -> RunConfig:
    """A run of about a second: Gaussian classes, a small MLP."""
    base = dict(
        dataset="gaussian", n_train=64, n_test=32, data_options={"dim": 6, "num_classes": 3}, model="mlp",
        model_options={"hidden": [8]}, epochs=2, batch_size=16, alphas=6, n_gauss=8, gauss_tol=1e-3,
        gauss_max_evaluations=200,
    )  # fmt: skip
    return RunConfig.from_dict({**base, **kw})


# ---------------------------------------------------------------------------------------------- configs


def test_hash_ignores_representation_but_not_content():
    a = tiny(lr=1)  # an int from TOML is the float 1.0
    assert a.lr == 1.0 and a.hash == tiny(lr=1.0).hash
    assert a.hash == RunConfig.from_dict(dict(reversed(list(tiny(lr=1.0).to_dict().items())))).hash
    assert a.hash != tiny(lr=0.5).hash
    assert tiny(model_options={"hidden": [8], "batchnorm": False}).hash != tiny().hash  # stated ≠ default-filled
    assert RunConfig().hash == RunConfig().hash and len(RunConfig().hash) == 16
    assert "lr" not in RunConfig().non_default() and tiny(lr=0.5).non_default()["lr"] == 0.5


def test_bad_config_values_are_named():
    with pytest.raises(ValueError, match=r"unknown config key\(s\) 'learning_rate'.*valid keys: dataset"):
        RunConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(ValueError, match="'optimiser' \\(did you mean 'optimizer'\\?\\)"):
        RunConfig.from_dict({"optimiser": "sgd"})
    with pytest.raises(TypeError, match="config key 'epochs': 'ten'"):
        RunConfig.from_dict({"epochs": "ten"})
    with pytest.raises(ValueError, match="unknown data set 'imagenet'; valid names: mnist"):
        RunConfig(dataset="imagenet")
    with pytest.raises(ValueError, match="unknown model 'vgg'; valid names: mlp"):
        RunConfig(model="vgg")
    with pytest.raises(ValueError, match="optimizer='lion'; valid: sgd, adam, adamw, rmsprop"):
        RunConfig(optimizer="lion")
    with pytest.raises(ValueError, match=r"model_options \['widht'\] unknown for model 'mlp'; valid: hidden"):
        RunConfig(model_options={"widht": 3})
    with pytest.raises(ValueError, match=r"data_options \['dim'\] unknown for data set 'mnist'; valid: pad_to"):
        RunConfig(dataset="mnist", data_options={"dim": 3})


# ---------------------------------------------------------------------------------------------- executing


def test_run_folder_contents_and_finished_run_is_never_redone(tmp_path):
    cfg = tiny()
    out = execute_run(cfg, tmp_path)
    folder = run_folder(tmp_path, cfg)
    assert out.status == "finished" and out.folder == str(folder) and folder.name == cfg.hash
    names = {p.name for p in folder.iterdir()}
    assert names >= {"config.json", "status.json", "train_log.json", "checkpoints", "curve.json", "metrics.json"}
    assert names >= {"curve.npz", "gauss_length.json", "gauss_length.npz"}
    assert {p.name for p in (folder / "checkpoints").iterdir()} == {"init.pt", "final.pt"}
    metrics = json.loads((folder / "metrics.json").read_text())
    m = metrics["measures"]
    assert m["min_delta"] >= 0 and m["gauss_length"] >= 0 and m["distance"] > 0 and m["norm_distance"] > 0
    rec = load_run(folder)  # the run's mlitheory results, read back as the objects they were
    assert isinstance(rec.curve, InterpolationCurve) and isinstance(rec.gauss_length(), LogitGaussLength)
    assert len(rec.curve.alphas) == 6 and rec.curve["loss"][-1] == m["curve_loss_final"]
    assert rec.curve.min_delta() == m["min_delta"] and rec.gauss_length().mean == m["gauss_length"]
    np.testing.assert_allclose(rec.curve["error"], 1 - rec.curve["accuracy"], atol=1e-15)
    assert len(json.loads((folder / "train_log.json").read_text())) == 2
    stamp = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()}
    again = execute_run(cfg, tmp_path)
    assert again.status == "skipped" and again.result == "finished"
    assert stamp == {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()}


def test_stored_config_that_differs_is_an_error(tmp_path):
    cfg = tiny()
    execute_run(cfg, tmp_path)
    path = run_folder(tmp_path, cfg) / "config.json"
    doc = json.loads(path.read_text())
    doc["config"]["lr"] = 0.7
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigMismatch, match=r"config\.json holds a different config.*lr: stored 0\.7, this run 0\.1"):
        execute_run(cfg, tmp_path)


def test_killed_run_is_redone_from_scratch(tmp_path):
    cfg = tiny()
    folder = run_folder(tmp_path, cfg)
    execute_run(cfg, tmp_path)
    finished = json.loads((folder / "metrics.json").read_text())
    # turn it into the folder of a run killed mid-way: no metrics.json, a stale "running" status, a partial file
    (folder / "metrics.json").unlink()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    status = json.loads((folder / "status.json").read_text())
    (folder / "status.json").write_text(json.dumps({**status, "state": "running", "pid": int(dead.stdout)}))
    (folder / "checkpoints" / "epoch_0001.pt").write_bytes(b"half a checkpoint")
    assert load_run(folder).state == "killed"
    out = execute_run(cfg, tmp_path)
    assert out.status == "finished"
    assert not (folder / "checkpoints" / "epoch_0001.pt").exists()
    redone = json.loads((folder / "metrics.json").read_text())
    assert redone["measures"] == finished["measures"]  # same seed, same numbers


def test_a_run_in_progress_elsewhere_is_not_started_twice(tmp_path):
    cfg = tiny()
    folder = run_folder(tmp_path, cfg)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"hash": cfg.hash, "config": cfg.to_dict()}))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        status = {"state": "running", "host": socket.gethostname(), "pid": other.pid}
        (folder / "status.json").write_text(json.dumps(status))
        out = execute_run(cfg, tmp_path)
        assert out.status == "failed" and f"in progress in process {other.pid}" in out.error
        assert load_run(folder).state == "running"
    finally:
        other.kill()
        other.wait()
    assert execute_run(cfg, tmp_path).status == "finished"  # the process is gone: the run is redone


def test_failed_run_is_recorded_and_retried(tmp_path, monkeypatch):
    monkeypatch.delenv("MLITHEORY_DATA_DIR", raising=False)
    cfg = RunConfig(dataset="cifar10", model="resnet20")
    out = execute_run(cfg, tmp_path)
    assert out.status == "failed" and "DatasetUnavailable" in out.error and "cifar-10-batches-py" in out.error
    rec = load_run(out.folder)
    assert rec.state == "failed" and rec.metrics is None and "MLITHEORY_DATA_DIR" in rec.error
    assert execute_run(cfg, tmp_path).status == "failed"  # not skipped: a failed run is retried


def test_diverged_run_is_finished_without_measures(tmp_path):
    cfg = tiny(lr=1e20, epochs=30)
    out = execute_run(cfg, tmp_path)
    assert out.status == "diverged"
    rec = load_run(out.folder)
    assert rec.state == "diverged" and rec.metrics["measures"] is None and rec.metrics["train"]["diverged_at_step"] > 0
    assert execute_run(cfg, tmp_path).status == "skipped"


def test_load_run_gives_checkpoints_and_the_architecture(tmp_path):
    cfg = tiny(checkpoint_epochs=[1])
    rec = load_run(execute_run(cfg, tmp_path).folder)
    model = rec.build_model()
    model.load_state_dict(rec.checkpoint("final"))
    x = torch.randn(4, 6)
    assert model(x).shape == (4, 3)
    assert set(rec.checkpoint("epoch_0001")) == set(rec.checkpoint("init"))
    with pytest.raises(FileNotFoundError, match="this run has: epoch_0001, final, init"):
        rec.checkpoint("epoch_0002")
    (rec.folder / "checkpoints" / "final.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"checkpoints/final\.pt is corrupt"):
        rec.checkpoint("final")
    assert math.isfinite(rec.metrics["measures"]["gauss_length"]) and os.path.isdir(rec.folder)


def test_package_re_exports_are_lazy():
    code = "import sys, empirical; print('empirical.data' in sys.modules, empirical.RunConfig.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "empirical.runs"]
