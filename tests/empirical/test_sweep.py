"""empirical.sweep and the CLI: grids, scales, each backend, resume after a kill, identical reruns, collect."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from empirical import data as D
from empirical.__main__ import main
from empirical.collect import collect, read_csv
from empirical.runs import RunConfig, is_finished, load_run, run_folder
from empirical.sweep import _RootLock, expand, load_sweep, run_sweep

ROOT = Path(__file__).resolve().parents[2]

TINY = """
name = "tiny"
[base]
dataset = "gaussian"
n_train = 64
n_test = 32
data_options = { dim = 6, num_classes = 3 }
model = "mlp"
model_options = { hidden = [8] }
epochs = 2
batch_size = 16
alphas = 6
n_gauss = 8
gauss_tol = 1e-3
gauss_max_evaluations = 200
[grid]
optimizer = ["sgd", "adam"]
"model_options.batchnorm" = [false, true]
[scales.smoke]
lr = 0.05
[scales.smoke.grid]
"model_options.batchnorm" = [false]
[scales.small]
[scales.paper]
epochs = 100
"""


@pytest.fixture
def tiny_sweep(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def _measures(root: Path, configs) -> list:
    return [json.loads((run_folder(root, c) / "metrics.json").read_text())["measures"] for c in configs]


# ---------------------------------------------------------------------------------------------- grids and files


def test_expand_is_a_cartesian_product_with_dotted_keys():
    configs = expand(
        {"model_options": {"hidden": [4]}, "epochs": 1},
        {"lr": [0.1, 0.2, 0.3], "model_options.batchnorm": [False, True]},
        [{"seed": 0}, {"seed": 1}],
    )
    assert len(configs) == 12 and len({c.hash for c in configs}) == 12
    assert [(c.seed, c.lr, c.model_options["batchnorm"]) for c in configs[:3]] == [
        (0, 0.1, False), (0, 0.1, True), (0, 0.2, False),
    ]  # fmt: skip
    assert all(c.model_options["hidden"] == [4] for c in configs)
    with pytest.raises(ValueError, match="grid entry 'lr' must be a non-empty list"):
        expand({}, {"lr": 0.1})
    with pytest.raises(ValueError, match="unknown config key"):
        expand({}, {"learning_rate": [0.1]})


def test_scales_override_base_and_grid(tiny_sweep):
    smoke = load_sweep(tiny_sweep, scale="smoke")
    small = load_sweep(tiny_sweep, scale="small")
    paper = load_sweep(tiny_sweep, scale="paper", overrides={"seed": 3})
    assert len(smoke.configs) == 2 and all(c.lr == 0.05 and not c.model_options["batchnorm"] for c in smoke.configs)
    assert len(small.configs) == 4 and all(c.lr == 0.1 for c in small.configs)
    assert all(c.epochs == 100 and c.seed == 3 for c in paper.configs)
    with pytest.raises(ValueError, match="scale='huge'; valid: smoke, small, medium, paper"):
        load_sweep(tiny_sweep, scale="huge")
    with pytest.raises(FileNotFoundError, match=r"no sweep file nope\.toml; bundled sweeps: mnist_mlp"):
        load_sweep("nope.toml")
    tiny_sweep.write_text(TINY + "\n[extras]\nx = 1\n")
    with pytest.raises(ValueError, match=r"unknown top-level key\(s\) \['extras'\]"):
        load_sweep(tiny_sweep)


def test_bundled_mnist_sweep_parses_at_every_scale():
    sizes = {s: len(load_sweep("mnist_mlp", scale=s).configs) for s in ("smoke", "small", "paper")}
    assert sizes == {"smoke": 4, "small": 8, "paper": 96}
    paper = load_sweep("mnist_mlp", scale="paper").configs[0]
    assert paper.model_options["hidden"] == [1024, 1024] and paper.batch_size == 512 and paper.n_train is None


# ---------------------------------------------------------------------------------------------- backends


def test_local_sweep_resumes_and_collects(tiny_sweep, tmp_path):
    spec = load_sweep(tiny_sweep, scale="small")
    root = tmp_path / "runs"
    first = run_sweep(spec.configs, root, progress=False)
    assert (first.total, first.done, first.skipped, first.failed) == (4, 4, 0, 0)
    second = run_sweep(
        [*spec.configs, RunConfig.from_dict({**spec.configs[0].to_dict(), "seed": 5})], root, progress=False
    )
    assert (second.total, second.done, second.skipped, second.failed) == (5, 1, 4, 0)
    assert "4 skipped (already finished)" in second.summary()
    rows = collect(root)
    assert len(rows) == 5 and all(r["status"] == "finished" for r in rows)
    for r in rows:
        assert float(r["min_delta"]) >= 0 and float(r["gauss_length"]) > 0 and float(r["norm_distance"]) > 0
    assert not (root / ".sweep.lock").exists()


def test_same_seed_gives_identical_results_on_the_same_backend(tiny_sweep, tmp_path):
    configs = load_sweep(tiny_sweep, scale="small").configs
    run_sweep(configs, tmp_path / "a", progress=False)
    run_sweep(configs, tmp_path / "b", progress=False)
    assert _measures(tmp_path / "a", configs) == _measures(tmp_path / "b", configs)
    curves = [(run_folder(tmp_path / r, configs[3]) / "curve.json").read_text() for r in "ab"]
    assert curves[0] == curves[1]


def test_process_backend(tiny_sweep, tmp_path):
    configs = load_sweep(tiny_sweep, scale="smoke").configs
    summary = run_sweep(configs, tmp_path / "p", backend="process", workers=2, progress=False)
    assert (summary.done, summary.failed) == (2, 0), summary.summary()
    run_sweep(configs, tmp_path / "l", progress=False)
    for p, l in zip(_measures(tmp_path / "p", configs), _measures(tmp_path / "l", configs)):
        assert p["min_delta"] == pytest.approx(l["min_delta"], abs=1e-6)
        assert p["gauss_length"] == pytest.approx(l["gauss_length"], rel=1e-5)


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (pip install -e '.[ray]')")
def test_ray_backend_started_locally_with_two_cpus(tiny_sweep, tmp_path):
    configs = load_sweep(tiny_sweep, scale="smoke").configs
    summary = run_sweep(configs, tmp_path / "r", backend="ray", workers=2, progress=False)
    assert (summary.done, summary.failed) == (2, 0), summary.summary()
    assert all(load_run(run_folder(tmp_path / "r", c)).state == "finished" for c in configs)
    again = run_sweep(configs, tmp_path / "r", backend="ray", workers=2, progress=False)
    assert again.skipped == 2  # resumes without starting Ray: nothing to do


def test_unknown_backend_is_named(tmp_path):
    with pytest.raises(ValueError, match="unknown backend 'slurm'; valid: local, process, ray"):
        run_sweep([RunConfig()], tmp_path, backend="slurm")


def test_failed_and_diverged_runs_do_not_stop_the_sweep(tiny_sweep, tmp_path, monkeypatch):
    monkeypatch.delenv(D.DATA_DIR_ENV, raising=False)
    good = load_sweep(tiny_sweep, scale="smoke").configs[0]
    diverging = RunConfig.from_dict({**good.to_dict(), "lr": 1e20, "epochs": 20})
    missing = RunConfig(dataset="cifar10", model="resnet20")
    summary = run_sweep([missing, diverging, good], tmp_path, progress=False)
    assert (summary.done, summary.failed, summary.diverged) == (2, 1, 1)
    assert "FAILED" in summary.summary() and "DatasetUnavailable" in summary.summary()
    assert is_finished(run_folder(tmp_path, good))


def test_root_lock(tmp_path):
    lock = tmp_path / ".sweep.lock"
    lock.write_text(f"{socket.gethostname()} {os.getpid()}")  # a live sweep (this process)
    with pytest.raises(RuntimeError, match="another sweep is running into this root"):
        run_sweep([], tmp_path, progress=False)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock.write_text(f"{socket.gethostname()} {int(dead.stdout)}")  # a stale lock is taken over
    with _RootLock(tmp_path):
        assert lock.read_text().endswith(str(os.getpid()))
    assert not lock.exists()


# ---------------------------------------------------------------------------------------------- kill and resume


def test_resume_after_the_sweep_is_killed_mid_run(tmp_path):
    """Kill a sweep process while its second run trains; re-running keeps the first result, redoes the second."""
    sweep = tmp_path / "kill.toml"
    sweep.write_text(
        TINY.split("[grid]")[0]
        + '[[runs]]\nseed = 0\n[[runs]]\nseed = 1\nepochs = 800\n[[runs]]\nseed = 2\n'
    )  # fmt: skip
    configs = load_sweep(sweep).configs
    root = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "empirical", "sweep", str(sweep), "--out", str(root), "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    second = run_folder(root, configs[1])
    deadline = time.time() + 120
    while not (second / "status.json").exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline, "the sweep never reached its second run"
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = run_folder(root, configs[0])
    assert is_finished(first) and not is_finished(second), "kill came too late: the second run finished"
    assert load_run(second).state == "killed"
    kept = {p: p.read_bytes() for p in first.rglob("*") if p.is_file()}

    summary = run_sweep(configs, root, progress=False)
    assert (summary.skipped, summary.done, summary.failed) == (1, 2, 0)
    assert kept == {p: p.read_bytes() for p in first.rglob("*") if p.is_file()}
    assert all(is_finished(run_folder(root, c)) for c in configs)
    assert len(load_run(second).log) == 800


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the pool's worker processes")
def test_pool_workers_stop_when_the_sweep_is_killed(tmp_path):
    """A killed process-backend sweep leaves no worker running on (and later writing into) its runs."""
    sweep = tmp_path / "pool.toml"
    sweep.write_text(TINY.split("[grid]")[0] + "[[runs]]\nseed = 1\nepochs = 800\n")
    configs = load_sweep(sweep).configs
    root = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "empirical", "sweep", str(sweep), "--out", str(root), "--no-progress"]
    proc = subprocess.Popen([*cmd, "--backend", "process", "--workers", "1"], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (run_folder(root, configs[0]) / "status.json").exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline, "the sweep never started its run"
        time.sleep(0.05)
    workers = [c for c in _children(proc.pid) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
    assert workers
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while any(Path(f"/proc/{w}").exists() for w in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{w}").exists() for w in workers), "a pool worker outlived its sweep"
    assert not is_finished(run_folder(root, configs[0]))
    assert run_sweep(configs, root, progress=False).done == 1


# ---------------------------------------------------------------------------------------------- command line


def test_cli_sweep_collect_and_train(tiny_sweep, tmp_path, capsys):
    root = tmp_path / "cli"
    assert main(["sweep", str(tiny_sweep), "--scale", "smoke", "--out", str(root), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "2 done, 0 skipped" in out and "min_delta" in out and "optimizer" in out
    assert main(["sweep", str(tiny_sweep), "--quick", "--out", str(root), "--no-progress"]) == 0
    assert "0 done, 2 skipped" in capsys.readouterr().out
    assert main(["collect", str(root), "--out", str(tmp_path / "t.csv")]) == 0
    rows = read_csv(tmp_path / "t.csv")
    assert len(rows) == 2 and {"min_delta", "gauss_length", "norm_distance", "optimizer", "lr"} <= set(rows[0])
    args = ["train", "--config", str(tiny_sweep), "--set", "optimizer='adam'", "--lr", "0.01", "--out", str(root)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "train_loss" in out and "min_delta" in out
    folder = next(
        p
        for p in root.iterdir()
        if p.is_dir() and load_run(p).config.optimizer == "adam" and load_run(p).config.lr == 0.01
    )
    assert (folder / "curve.png").exists() and (folder / "curve.pdf").exists()


@pytest.mark.data
@pytest.mark.skipif(not D.available("mnist")[0], reason="MNIST not installed: run `make data`")
def test_cli_bundled_mnist_sweep_smoke(tmp_path, capsys):
    root = tmp_path / "mnist"
    assert main(["sweep", "mnist_mlp", "--scale", "smoke", "--out", str(root), "--no-progress"]) == 0
    rows = read_csv(root / "runs.csv")
    assert len(rows) == 4 and all(r["status"] == "finished" for r in rows)
    assert all(r["min_delta"] != "" and r["gauss_length"] != "" and r["distance"] != "" for r in rows)
