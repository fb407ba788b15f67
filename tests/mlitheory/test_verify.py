"""``python -m mlitheory verify``: prints the table, exits 0 without counterexamples and 1 with one."""

import subprocess
import sys
from pathlib import Path

from mlitheory import __main__ as cli
from mlitheory import verify
from mlitheory.verify import FamilyReport

ROOT = Path(__file__).resolve().parents[2]


def _family_with_a_counterexample(*, quick, seed):
    """A fake family: one instance whose hypotheses held and whose conclusion failed."""
    return [
        FamilyReport(
            theorem="fake theorem",
            instances=1,
            hypotheses_held=1,
            conclusion_held=0,
            counterexamples=1,
            worst_margin=-1.0,
            note="planted",
        )
    ]


def test_verify_quick_prints_the_table_and_exits_zero():
    proc = subprocess.run(
        [sys.executable, "-m", "mlitheory", "verify", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    head = proc.stdout.splitlines()[0]
    for column in ("theorem", "instances", "hypotheses held", "conclusion held", "counterexamples", "worst margin"):
        assert column in head
    assert "Thm 3" in proc.stdout
    assert "no counterexamples" in proc.stdout


def test_verify_exits_one_on_a_counterexample(monkeypatch, capsys):
    monkeypatch.setattr(verify, "FAMILIES", ["tests.test_verify:_family_with_a_counterexample"])
    assert cli.main(["verify", "--quick"]) == 1
    out = capsys.readouterr().out
    assert "fake theorem" in out and "COUNTEREXAMPLES FOUND" in out


def test_theorem3_family_is_registered():
    assert "mlitheory.theorem3:verify_family" in verify.FAMILIES


def test_write_report_accepts_numpy_scalars(tmp_path):
    import json

    import numpy as np

    from mlitheory.verify import FamilyReport, VerifyReport, write_report

    row = FamilyReport("t", np.int64(3), np.int64(3), np.int64(3), np.int64(0), np.float64(0.5), "n")
    write_report(VerifyReport(rows=[row], quick=True, seed=0), tmp_path)
    data = json.loads((tmp_path / "verify.json").read_text())
    assert data["ok"] and data["rows"][0]["instances"] == 3
    assert "| t " in (tmp_path / "table.md").read_text()
