"""``python -m proofs_check`` runs every symbolic proof step, prints the table and every step holds."""

import subprocess
import sys
from pathlib import Path

import pytest

import proofs_check

ROOT = Path(__file__).resolve().parents[2]


def test_cli_prints_table_and_exits_zero():
    proc = subprocess.run([sys.executable, "-m", "proofs_check"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "step" in proc.stdout and "status" in proc.stdout
    assert "FAILS" not in proc.stdout
    assert "Theorem 3 (Gauss length)" in proc.stdout


def test_gauss_length_module_is_registered():
    assert "proofs_check.gauss_length" in proofs_check.MODULES


@pytest.mark.parametrize("check", proofs_check.run_all(), ids=lambda c: c.step[:60])
def test_every_step_holds(check):
    assert check.holds, f"{check.family}: {check.step} — {check.detail}"
