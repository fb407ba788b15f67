"""The GPU scripts of the paper presets: one per experiment, each a valid reproduce command with a time budget, and
the chunking run as is on a CPU at smoke size (every call exits 3 until the last writes the report)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from empirical.data import available
from empirical.experiments import EXPERIMENTS

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "paper"


def test_one_script_per_experiment():
    assert sorted(p.stem for p in SCRIPTS.glob("*.sh")) == sorted(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_each_script_is_a_budgeted_paper_call_on_cuda_with_its_expected_time(name, monkeypatch):
    text = (SCRIPTS / f"{name}.sh").read_text()
    assert f"reproduce {name} " in text and '"${SCALE:-paper}"' in text and '"${DEVICE:-cuda}"' in text
    assert '--budget "${BUDGET:-480}"' in text  # 8 minutes of training, then an epoch at most: under 10 minutes
    assert "Expected total:" in text and re.search(r"GPU-(hours|minutes)|minutes", text)
    if name in ("lucas_table2", "frankle_barriers", "vlaar_frankle_layerwise"):
        assert "--data-dir DIR" in text
    # the command parses with the real CLI (as on the GPU machine it is written for: --device cuda is checked to exist)
    import torch

    from empirical.__main__ import _parser

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)

    cmd = text[text.index("-m empirical") + len("-m empirical") :].replace("\\\n", " ")
    args = shlex.split(cmd.replace('"$scale"', "paper").replace('"$@"', "").replace("$scale", "paper"))
    args = [a.replace("${DEVICE:-cuda}", "cuda").replace("${BUDGET:-480}", "480") for a in args]
    ns = _parser().parse_args(args)
    assert ns.name == name and ns.scale == "paper" and ns.device == "cuda" and ns.budget == 480


@pytest.mark.data
@pytest.mark.skipif(not available("mnist")[0], reason="MNIST not installed (make data)")
def test_a_script_run_as_is_on_a_cpu_chunks_and_resumes(tmp_path):
    env = {**os.environ, "SCALE": "smoke", "DEVICE": "cpu", "BUDGET": "0", "PYTHON": sys.executable}
    args = ["--out", str(tmp_path / "out"), "--runs", str(tmp_path / "runs")]
    codes = []
    while len(codes) < 40:
        done = subprocess.run(
            ["sh", str(SCRIPTS / "lucas_autoencoder.sh"), *args], env=env, capture_output=True, text=True
        )
        codes.append(done.returncode)
        if done.returncode != 3:
            break
        assert "call the same command again" in done.stdout
    assert codes[-1] == 0 and set(codes[:-1]) == {3} and len(codes) > 2, codes
    assert (tmp_path / "out" / "report.md").is_file()
