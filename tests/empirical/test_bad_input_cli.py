"""The bad-input matrix of the command lines, the sweep files, run folders and data sets.

Every command-line mistake ends with exit status 2 and one ``error:`` line on stderr, no traceback, and before
any work (no run folder is created). The API cases of this part (sweeps, configurations, run folders, data sets)
follow the same form as tests/mlitheory/test_bad_input.py: an input and the exception with a phrase of its
message, or the documented value. docs/reliability.md reports the counts by class.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from empirical.__main__ import main as empirical_main
from empirical.data import DATA_DIR_ENV, Dataset
from empirical.runs import ConfigMismatch, CorruptRun, RunConfig, execute_run, inspect_folder, load_run, run_folder
from empirical.sweep import expand, load_sweep
from mlitheory.bias_plateau.demo import main as demo_main
from proofs_check.__main__ import main as proofs_main

ROOT = Path(__file__).resolve().parents[2]
CUDA = torch.cuda.is_available()

TINY = """
name = "tiny"
[base]
dataset = "gaussian"
n_train = 32
n_test = 16
data_options = { dim = 4, num_classes = 3 }
model = "mlp"
model_options = { hidden = [4] }
epochs = 1
batch_size = 16
alphas = 3
compute_gauss_length = false
[grid]
lr = [0.1, 0.05]
[scales.smoke]
[scales.small]
[scales.paper]
"""

CLASSES = {
    "cli": "a command-line mistake: one error: line, exit status 2, before any work",
    "silent": "a silent result (a value ignored, a verdict from nothing)",
    "named": "an error that names the key, value or file",
    "resume": "a damaged run folder found before it is read or skipped",
    "load": "loading data sets and run folders",
}


@dataclass(frozen=True)
class Cli:
    """A command line: the program, its arguments (``{tmp}`` is a fresh folder), a phrase of the error line."""

    cls: str
    name: str
    prog: str
    argv: list
    phrase: str
    setup: Callable[[Path], Any] | None = None
    skip: str = ""


def C(name: str, prog: str, argv: str, phrase: str, setup=None, skip: str = "") -> Cli:
    return Cli("cli", name, prog, argv.split(), phrase, setup, skip)


def _tiny(tmp: Path) -> None:
    (tmp / "tiny.toml").write_text(TINY)


def _write(name: str, text: str | bytes):
    def setup(tmp: Path) -> None:
        p = tmp / name
        p.write_bytes(text) if isinstance(text, bytes) else p.write_text(text)

    return setup


def _live_lock(tmp: Path) -> None:
    _tiny(tmp)
    (tmp / "runs").mkdir()
    (tmp / "runs" / ".sweep.lock").write_text(f"{socket.gethostname()} {os.getppid()}")


def _mismatch(tmp: Path) -> None:
    _tiny(tmp)
    c = load_sweep(tmp / "tiny.toml").configs[0]
    folder = run_folder(tmp / "runs", c)
    folder.mkdir(parents=True)
    other = RunConfig.from_dict({**c.to_dict(), "lr": 0.5})
    (folder / "config.json").write_text(json.dumps({"hash": c.hash, "config": other.to_dict()}))


def _train_mismatch(tmp: Path) -> None:
    c = RunConfig.from_dict({"dataset": "gaussian", "n_train": 32, "epochs": 1})
    folder = run_folder(tmp / "runs", c)
    folder.mkdir(parents=True)
    other = RunConfig.from_dict({**c.to_dict(), "lr": 0.5})
    (folder / "config.json").write_text(json.dumps({"hash": c.hash, "config": other.to_dict()}))


def _other_report(tmp: Path) -> None:
    (tmp / "rep").mkdir()
    (tmp / "rep" / "results.json").write_text(json.dumps({"experiment": "lucas_table2", "scale": "smoke"}))


def _same_report_other_runs(tmp: Path) -> None:
    # lucas_table1 at smoke, but from other runs (another --seed): regenerating it in place would lose it
    (tmp / "rep").mkdir()
    report = {"experiment": "lucas_table1", "scale": "smoke", "configs": {"runs": {"0123456789abcdef": {}}}}
    (tmp / "rep" / "results.json").write_text(json.dumps(report))


def _incomplete_cifar(tmp: Path) -> None:
    (tmp / "cifar" / "cifar-10-batches-py").mkdir(parents=True)
    (tmp / "cifar" / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"x")


NOCUDA = "a CUDA device is here" if CUDA else ""
T = "train --dataset gaussian --n-train 32 --epochs 1 --out {tmp}/runs"
S = "sweep {tmp}/tiny.toml --out {tmp}/runs --no-progress"
R = "reproduce lucas_table1 --quick --out {tmp}/rep --runs {tmp}/runs --no-progress"
T2 = "reproduce lucas_table2 --out {tmp}/rep --runs {tmp}/runs --no-progress"
_AFILE = _write("afile", "x")
D = "--quick --out {tmp}/bp --no-progress"

CLIS: list[Cli] = [
    # python -m empirical train
    C("train negative lr", "empirical", T + " --lr -1", "argument --lr: must be a finite number > 0"),
    C("train NaN lr", "empirical", T + " --lr nan", "argument --lr: must be a finite number > 0"),
    C("train lr a word", "empirical", T + " --lr fast", "argument --lr: 'fast' is not a number"),
    C("train negative batch size", "empirical", T + " --batch-size -5", "argument --batch-size: must be >= 0"),
    C("train negative epochs", "empirical", T + " --epochs -1", "argument --epochs: must be >= 0"),
    C("train epochs a float", "empirical", T + " --epochs 1.5", "argument --epochs: '1.5' is not an integer"),
    C("train no training examples", "empirical", T + " --n-train 0", "argument --n-train: must be >= 1"),
    C("train negative seed", "empirical", T + " --seed -1", "argument --seed: must be >= 0"),
    C("train zero threads", "empirical", T + " --threads 0", "argument --threads: must be >= 1"),
    C("train cuda without CUDA", "empirical", T + " --device cuda", "CUDA is not available", skip=NOCUDA),
    C("train unknown device", "empirical", T + " --device gpu7", "is not a torch device"),
    C("train unwritable out", "empirical", "train --dataset gaussian --out /proc/x", "--out /proc/x: cannot write"),
    C("train missing config", "empirical", T + " --config {tmp}/none.toml", "cannot read it"),
    C(
        "train malformed config",
        "empirical",
        T + " --config {tmp}/bad.toml",
        "is not valid TOML",
        _write("bad.toml", "lr = ["),
    ),
    C(
        "train config of random bytes",
        "empirical",
        T + " --config {tmp}/bad.toml",
        "cannot read it",
        _write("bad.toml", bytes(range(128, 256))),
    ),
    C(
        "train config base not a table",
        "empirical",
        T + " --config {tmp}/bad.toml",
        "[base] must be a table",
        _write("bad.toml", "base = 3"),
    ),
    C("train unknown --set key", "empirical", T + " --set nosuch=1", "unknown config key(s) 'nosuch'"),
    C("train --set key close to one", "empirical", T + " --set lrr=0.1", "did you mean 'lr'?"),
    C("train --set without a value", "empirical", T + " --set lr", "use KEY=VALUE"),
    C("train --set negative lr", "empirical", T + " --set lr=-1", "lr=-1.0; use a finite number > 0"),
    C("train --set momentum 1.5", "empirical", T + " --set momentum=1.5", "momentum=1.5; use a value in [0, 1)"),
    C("train --set epochs a word", "empirical", T + " --set epochs=abc", "config key 'epochs'"),
    C("train --set batch size 0", "empirical", T + " --set batch_size=0", "batch_size=0; use an integer >= 1"),
    C("train --set alphas 1", "empirical", T + " --set alphas=1", "alphas=1; use at least 2"),
    C(
        "train --set tiny evaluation budget",
        "empirical",
        T + " --set gauss_max_evaluations=10",
        "gauss_max_evaluations=10; use an integer >= 80",
    ),
    C("train --set negative weight decay", "empirical", T + " --set weight_decay=-0.1", "weight_decay=-0.1"),
    C("train --set betas", "empirical", T + " --set betas=[0.9]", "betas="),
    C("train unknown data set", "empirical", T + " --dataset imagenet", "unknown data set 'imagenet'"),
    C("train unknown model", "empirical", T + " --model vit", "unknown model"),
    C("train unknown optimiser", "empirical", T + " --optimizer lion", "optimizer='lion'"),
    C("train unknown model option", "empirical", T + " --set model_options.depthx=3", "model_options ['depthx']"),
    C("train missing data folder", "empirical", T + " --data-dir {tmp}/nothere", "is not a folder"),
    C("train data set not installed", "empirical", "train --dataset cifar10 --out {tmp}/runs", "is not installed here"),
    C(
        "train folder of another configuration",
        "empirical",
        "train --dataset gaussian --n-train 32 --epochs 1 --out {tmp}/runs",
        "holds a different configuration",
        _train_mismatch,
    ),
    # python -m empirical sweep
    C("sweep unknown name", "empirical", "sweep nosuch --out {tmp}/runs", "no sweep file nosuch; bundled sweeps"),
    C(
        "sweep malformed TOML",
        "empirical",
        "sweep {tmp}/bad.toml --out {tmp}/runs",
        "is not valid TOML",
        _write("bad.toml", "name = "),
    ),
    C(
        "sweep unknown top-level key",
        "empirical",
        "sweep {tmp}/bad.toml --out {tmp}/runs",
        "unknown top-level key",
        _write("bad.toml", 'nme = "x"\n[base]\n'),
    ),
    C(
        "sweep grid entry not a list",
        "empirical",
        "sweep {tmp}/bad.toml --out {tmp}/runs",
        "must be a non-empty list",
        _write("bad.toml", "[grid]\nlr = 0.1\n"),
    ),
    C(
        "sweep scale the file lacks",
        "empirical",
        "sweep {tmp}/bad.toml --quick --out {tmp}/runs",
        "defines no scale 'smoke'",
        _write("bad.toml", "[scales.small]\n"),
    ),
    C("sweep unknown --set key", "empirical", S + " --set nosuch=1", "unknown config key(s) 'nosuch'", _tiny),
    C("sweep --set negative lr over the grid", "empirical", S + " --set lr=-1", "lr=-1.0", _tiny),
    C("sweep unknown scale", "empirical", S + " --scale huge", "argument --scale: invalid choice", _tiny),
    C("sweep unknown backend", "empirical", S + " --backend slurm", "argument --backend: invalid choice", _tiny),
    C("sweep negative workers", "empirical", S + " --workers -2", "argument --workers: must be >= 1", _tiny),
    C("sweep zero workers", "empirical", S + " --workers 0", "argument --workers: must be >= 1", _tiny),
    C("sweep zero threads", "empirical", S + " --threads 0", "argument --threads: must be >= 1", _tiny),
    C("sweep negative seed", "empirical", S + " --seed -1", "argument --seed: must be >= 0", _tiny),
    C("sweep cuda without CUDA", "empirical", S + " --device cuda", "CUDA is not available", _tiny, NOCUDA),
    C("sweep unwritable out", "empirical", "sweep {tmp}/tiny.toml --out /proc/x", "--out /proc/x: cannot write", _tiny),
    C("sweep address without Ray", "empirical", S + " --address 127.0.0.1:6379", "use it with --backend ray", _tiny),
    C("sweep into a root another sweep holds", "empirical", S, "another sweep is running into this root", _live_lock),
    C("sweep into a folder of another configuration", "empirical", S, "holds a different configuration", _mismatch),
    C("sweep missing data folder", "empirical", S + " --data-dir {tmp}/nothere", "is not a folder", _tiny),
    C(
        "sweep data set not installed",
        "empirical",
        "sweep {tmp}/bad.toml --out {tmp}/runs",
        "'cifar10' is not installed here",
        _write("bad.toml", '[base]\ndataset = "cifar10"\n'),
    ),
    # python -m empirical collect
    C("collect missing folder", "empirical", "collect {tmp}/nothere", "is not a folder"),
    C("collect a file", "empirical", "collect {tmp}/bad.toml", "is not a folder", _write("bad.toml", "")),
    C("collect unwritable out", "empirical", "collect {tmp} --out /proc/x/runs.csv", "--out /proc/x: cannot write"),
    # python -m empirical reproduce
    C(
        "reproduce unknown experiment",
        "empirical",
        "reproduce lucas_tabel1 --out {tmp}/rep",
        "unknown experiment 'lucas_tabel1' (did you mean 'lucas_table1'?)",
    ),
    C("reproduce zero workers", "empirical", R + " --workers 0", "argument --workers: must be >= 1"),
    C("reproduce negative seed", "empirical", R + " --seed -1", "argument --seed: must be >= 0"),
    C("reproduce zero threads", "empirical", R + " --threads 0", "argument --threads: must be >= 1"),
    C("reproduce cuda without CUDA", "empirical", R + " --device cuda", "CUDA is not available", skip=NOCUDA),
    C("reproduce unknown scale", "empirical", R + " --scale tiny", "argument --scale: invalid choice"),
    C(
        "reproduce unwritable out",
        "empirical",
        "reproduce lucas_table1 --quick --out /proc/x --runs {tmp}/runs",
        "--out /proc/x: cannot write",
    ),
    C(
        "reproduce unwritable runs",
        "empirical",
        "reproduce lucas_table1 --quick --out {tmp}/rep --runs /proc/x",
        "--runs /proc/x: cannot write",
    ),
    C("reproduce index without out", "empirical", "reproduce index", "give --out"),
    C(
        "reproduce index of an empty folder",
        "empirical",
        "reproduce index --out {tmp}",
        "no reports (*/results.json) under",
    ),
    C("reproduce address without Ray", "empirical", R + " --address auto", "use it with --backend ray"),
    C("reproduce into another report", "empirical", R, "holds another report", _other_report),
    C("reproduce into a report of other runs", "empirical", R + " --seed 1", "other runs", _same_report_other_runs),
    C("reproduce quick and paper", "empirical", R + " --scale paper", "contradicts --scale paper"),
    C("reproduce NaN budget", "empirical", R + " --budget nan", "finite number of seconds"),
    C("reproduce negative budget", "empirical", R + " --budget -5", "finite number of seconds"),
    C("reproduce train-only runs a file", "empirical", R + " --train-only --runs {tmp}/afile", "is a file", _AFILE),
    C("reproduce train-only scale it lacks", "empirical", T2 + " --scale medium --train-only", "no scale 'medium'"),
    C(
        "reproduce an incomplete CIFAR folder",
        "empirical",
        T2 + " --quick --data-dir {tmp}/cifar",
        "lacks data_batch_2",
        _incomplete_cifar,
    ),
    C("reproduce missing data folder", "empirical", R + " --data-dir {tmp}/nothere", "is not a folder"),
    C("empirical without a command", "empirical", "", "the following arguments are required"),
    C("empirical unknown command", "empirical", "fit", "invalid choice: 'fit'"),
    # python -m mlitheory.bias_plateau
    C("bias plateau width 0", "demo", D + " --width 0", "argument --width: must be >= 1"),
    C("bias plateau negative lr", "demo", D + " --lr -1", "argument --lr: must be a finite number > 0"),
    C("bias plateau no points per class", "demo", D + " --n-per-class 0", "argument --n-per-class: must be >= 1"),
    C("bias plateau no steps", "demo", D + " --max-steps 0", "argument --max-steps: must be >= 1"),
    C("bias plateau no toy steps", "demo", D + " --toy-steps 0", "argument --toy-steps: must be >= 1"),
    C("bias plateau no seeds", "demo", D + " --seeds 0", "argument --seeds: must be >= 1"),
    C("bias plateau negative seed", "demo", D + " --seed -1", "argument --seed: must be >= 0"),
    C("bias plateau depth 0", "demo", D + " --depth 3 0", "argument --depth: must be >= 1"),
    C("bias plateau negative init scale", "demo", D + " --init-scale -1", "argument --init-scale: must be a finite"),
    C("bias plateau zero threads", "demo", D + " --threads 0", "argument --threads: must be >= 1"),
    C("bias plateau cuda without CUDA", "demo", D + " --device cuda", "CUDA is not available", skip=NOCUDA),
    C("bias plateau unwritable out", "demo", "--quick --out /proc/x", "--out /proc/x: cannot write"),
    C("bias plateau out a file", "demo", "--quick --out {tmp}/bad.toml", "not a folder", _write("bad.toml", "")),
    C("bias plateau unknown data", "demo", D + " --data cifar", "argument --data: invalid choice"),
    # python -m proofs_check
    C("proofs_check an argument", "proofs", "--bogus", "unrecognized arguments: --bogus"),
]


def _run_cli(prog: str, argv: list[str]) -> int:
    fn = {"empirical": empirical_main, "demo": demo_main, "proofs": proofs_main}[prog]
    try:
        return fn(argv)
    except SystemExit as e:  # argparse
        return int(e.code or 0)


@pytest.mark.parametrize("case", CLIS, ids=[c.name for c in CLIS])
def test_cli_matrix(case: Cli, tmp_path, capsys, monkeypatch):
    if case.skip:
        pytest.skip(case.skip)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(DATA_DIR_ENV, os.environ.get(DATA_DIR_ENV, ""))  # a --data-dir sets it: undone after the case
    if not os.environ[DATA_DIR_ENV]:
        monkeypatch.delenv(DATA_DIR_ENV)
    if case.setup is not None:
        case.setup(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    argv = [a.replace("{tmp}", str(tmp_path)) for a in case.argv]
    code = _run_cli(case.prog, argv)
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 2, f"exit status {code}; stderr: {err[-500:]}"
    assert "Traceback" not in out + err
    assert len(errors) == 1, err
    assert case.phrase in errors[0], errors[0]
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    runs = [p for p in made if p not in before and len(p.parts) >= 2 and p.parts[0] == "runs" and "." not in p.name]
    assert not runs, f"a run folder was created before the error: {runs}"


def test_cli_error_is_a_subprocess_exit_status_2(tmp_path):
    """The same in a fresh interpreter, as a user runs it: status 2, one error line, no traceback."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "empirical", "train", "--lr", "-1", "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if "error:" in line] == [
        "python -m empirical train: error: argument --lr: must be a finite number > 0, got -1"
    ]


def test_sweep_set_over_the_grid_is_applied_and_said(tmp_path, capsys):
    """--set for a key on the grid replaces the grid's values, and the sweep says so."""
    _tiny(tmp_path)
    code = empirical_main(["sweep", str(tmp_path / "tiny.toml"), "--set", "lr=0.2", "--dry-run", "--out",
                           str(tmp_path / "runs")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "note: --set lr=0.2 replaces the grid entry lr = [0.1, 0.05]: every run uses 0.2" in out
    assert "(1 duplicate configurations merged)" in out
    spec = load_sweep(tmp_path / "tiny.toml", overrides={"lr": 0.2})
    assert [c.lr for c in spec.configs] == [0.2] and spec.notes


# ---------------------------------------------------------------------------------------------- API cases


@dataclass(frozen=True)
class Case:
    cls: str
    name: str
    call: Callable[[Path], Any]
    raises: type[BaseException] | None = None
    phrase: str = ""
    check: Callable[[Any], bool] | None = None


def E(cls, name, exc, phrase, call) -> Case:
    return Case(cls, name, call, exc, phrase)


def V(cls, name, call, check, doc) -> Case:
    return Case(cls, name, call, None, doc, check)


def _ds(y_train, k: int = 3, x=None) -> Dataset:
    y = torch.as_tensor(y_train)
    return Dataset("gaussian", torch.zeros(len(y), 2) if x is None else x, y, torch.zeros(1, 2),
                   torch.zeros(1, dtype=torch.long), k, torch.zeros(2), torch.ones(2), {})  # fmt: skip


def _finished(tmp: Path):
    """A finished tiny run; returns (config, folder)."""
    c = RunConfig.from_dict({"dataset": "gaussian", "n_train": 32, "n_test": 16, "epochs": 1, "alphas": 3,
                             "compute_gauss_length": False, "model_options": {"hidden": [4]},
                             "data_options": {"dim": 4, "num_classes": 3}})  # fmt: skip
    out = execute_run(c, tmp)
    assert out.status == "finished", out
    return c, Path(out.folder)


def _damage(tmp: Path, name: str, how: str):
    c, folder = _finished(tmp)
    p = folder / name
    if how == "truncate":
        p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    elif how == "empty":
        p.write_bytes(b"")
    elif how == "bytes":
        p.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 64, dtype=np.uint8)))
    elif how == "flip":
        data = bytearray(p.read_bytes())
        data[-40] ^= 0xFF
        p.write_bytes(bytes(data))
    elif how == "delete":
        p.unlink()
    return c, folder


CASES: list[Case] = [
    E(
        "named",
        "RunConfig unknown key",
        ValueError,
        "unknown config key(s) 'lrate'",
        lambda t: RunConfig.from_dict({"lrate": 0.1}),
    ),
    E(
        "named",
        "RunConfig wrong type",
        TypeError,
        "config key 'epochs'",
        lambda t: RunConfig.from_dict({"epochs": "2"}),
    ),
    E(
        "named",
        "RunConfig bool for a number",
        TypeError,
        "config key 'lr'",
        lambda t: RunConfig.from_dict({"lr": True}),
    ),
    E("named", "RunConfig NaN lr", ValueError, "lr=nan", lambda t: RunConfig(lr=float("nan"))),
    E("named", "RunConfig zero eps", ValueError, "eps=0.0", lambda t: RunConfig(eps=0.0)),
    E("named", "RunConfig negative warm-up", ValueError, "warmup_epochs=-1.0", lambda t: RunConfig(warmup_epochs=-1.0)),
    E("named", "RunConfig negative seed", ValueError, "seed=-1", lambda t: RunConfig(seed=-1)),
    E("named", "RunConfig zero n_gauss", ValueError, "n_gauss=0", lambda t: RunConfig(n_gauss=0)),
    E("named", "RunConfig negative milestone", ValueError, "milestones=(-1,)", lambda t: RunConfig(milestones=(-1,))),
    E("named", "RunConfig stop_if of one number", ValueError, "use [epoch, loss]", lambda t: RunConfig(stop_if=(1,))),
    E(
        "named",
        "RunConfig switch epoch without optimiser",
        ValueError,
        "switch_optimizer is not",
        lambda t: RunConfig(switch_epoch=1.0),
    ),
    E(
        "named",
        "RunConfig warm start reset without source",
        ValueError,
        "init_from is not",
        lambda t: RunConfig(init_reset=("fc",)),
    ),
    E("named", "expand grid entry empty", ValueError, "non-empty list", lambda t: expand({}, {"lr": []})),
    E("named", "load_sweep unknown scale", ValueError, "scale='huge'", lambda t: load_sweep("mnist_mlp", scale="huge")),
    V(
        "silent",
        "load_sweep override on the grid is applied and noted",
        lambda t: load_sweep("mnist_mlp", overrides={"lr": 0.05}),
        lambda s: {c.lr for c in s.configs} == {0.05} and any("replaces the grid entry lr" in n for n in s.notes),
        "every run at lr 0.05; notes say what was replaced",
    ),
    V(
        "silent",
        "load_sweep override of a table merges with the grid",
        lambda t: load_sweep("mnist_mlp", overrides={"model_options": {"hidden": [8]}}),
        lambda s: (
            {str(c.model_options["hidden"]) for c in s.configs} == {"[8]"}
            and {c.model_options["batchnorm"] for c in s.configs} == {False, True}
        ),
        "hidden [8] in every run; the grid's batchnorm values kept",
    ),
    E("load", "Dataset label out of range", ValueError, "label(s) of y_train outside [0, 3)", lambda t: _ds([0, 1, 3])),
    E("load", "Dataset negative label", ValueError, "outside [0, 3), e.g. -1", lambda t: _ds([0, -1, 2])),
    E("load", "Dataset float labels", ValueError, "1-D tensor of integer labels", lambda t: _ds([0.0, 1.0])),
    E(
        "load",
        "Dataset x and y of other lengths",
        ValueError,
        "has 3 examples but y_train 2",
        lambda t: _ds([0, 1], x=torch.zeros(3, 2)),
    ),
    E("load", "Dataset NaN inputs", ValueError, "holds NaN", lambda t: _ds([0, 1], x=torch.full((2, 2), float("nan")))),
    E("load", "Dataset zero classes", ValueError, "num_classes must be a positive int", lambda t: _ds([0], k=0)),
    V(
        "load",
        "a data set's class count is fixed, not inferred",
        lambda t: __import__("empirical.data").data.NUM_CLASSES,
        lambda n: n["mnist"] == 10 and n["cifar100"] == 100,
        "mnist 10, cifar100 100",
    ),
    V(
        "resume",
        "inspect_folder of an intact run",
        lambda t: inspect_folder(*_finished(t)[::-1]),
        lambda r: r == "",
        "'' (intact)",
    ),
    V("resume", "inspect_folder of a missing folder", lambda t: inspect_folder(t / "nope"), lambda r: r == "", "''"),
    *[
        V(
            "resume",
            f"inspect_folder: {name} {how}",
            lambda t, name=name, how=how: inspect_folder(_damage(t, name, how)[1]),
            lambda r, name=name: name in r,
            f"a reason naming {name}",
        )
        for name in ("metrics.json", "config.json", "status.json")
        for how in ("truncate", "empty", "bytes")
    ],
    V(
        "resume",
        "inspect_folder: final.pt with a flipped byte",
        lambda t: inspect_folder(_damage(t, "checkpoints/final.pt", "flip")[1]),
        lambda r: "final.pt does not match its checksum" in r,
        "the checksum names final.pt",
    ),
    V(
        "resume",
        "inspect_folder: final.pt deleted",
        lambda t: inspect_folder(_damage(t, "checkpoints/final.pt", "delete")[1]),
        lambda r: "final.pt is missing" in r,
        "final.pt is missing",
    ),
    V(
        "resume",
        "inspect_folder: curve.json with a flipped byte",
        lambda t: inspect_folder(_damage(t, "curve.json", "flip")[1]),
        lambda r: "curve.json does not match its checksum" in r,
        "the checksum names curve.json",
    ),
    E(
        "resume",
        "load_run of a damaged checkpoint",
        CorruptRun,
        "does not match its checksum",
        lambda t: load_run(_damage(t, "checkpoints/final.pt", "flip")[1]),
    ),
    E(
        "resume",
        "load_run of random bytes",
        CorruptRun,
        "metrics.json is not valid JSON",
        lambda t: load_run(_damage(t, "metrics.json", "bytes")[1]),
    ),
    V(
        "resume",
        "execute_run quarantines a damaged run and redoes it",
        lambda t: execute_run(_damage(t, "metrics.json", "empty")[0], t),
        lambda o: (
            o.status == "finished"
            and ".quarantine" in o.quarantined
            and (Path(o.quarantined) / "QUARANTINED.txt").read_text().count("metrics.json") >= 1
        ),
        "finished again; the old folder under .quarantine with the reason",
    ),
    E(
        "resume",
        "execute_run of a folder of another configuration",
        ConfigMismatch,
        "holds a different configuration",
        lambda t: (_mismatch(t), execute_run(load_sweep(t / "tiny.toml").configs[0], t / "runs")),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.cls}: {c.name}" for c in CASES])
def test_api_matrix(case: Case, tmp_path):
    if case.raises is not None:
        with pytest.raises(case.raises, match=re.escape(case.phrase)):
            case.call(tmp_path)
    else:
        result = case.call(tmp_path)
        assert case.check(result), f"{case.name}: expected {case.phrase}, got {result!r}"


def counts() -> dict[str, int]:
    """Cases by class (command lines and API cases of this part), in the order of CLASSES."""
    tally = Tally([c.cls for c in CLIS] + [c.cls for c in CASES])
    return {cls: tally.get(cls, 0) for cls in CLASSES}


def test_the_counts_in_the_docs():
    """docs/reliability.md reports the cases by class of both matrices; this recomputes the table."""
    import importlib

    a, b = importlib.import_module("tests.mlitheory.test_bad_input").counts(), counts()
    assert sum(a.values()) + sum(b.values()) >= 250
    text = (ROOT / "docs" / "reliability.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[2].isdigit():
            rows[cells[0]] = tuple(int(c) for c in cells[2:])
    for cls in sorted(set(a) | set(b)):
        got = (a.get(cls, 0), b.get(cls, 0), a.get(cls, 0) + b.get(cls, 0))
        assert rows.get(cls) == got, f"docs/reliability.md row {cls!r}: {rows.get(cls)}, the matrices give {got}"
    total = (sum(a.values()), sum(b.values()), sum(a.values()) + sum(b.values()))
    assert rows.get("all") == total, f"docs/reliability.md total: {rows.get('all')}, the matrices give {total}"
