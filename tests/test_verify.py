"""``python -m mlitheory verify``: two sections, exit 0 when clean, 1 on a counterexample or a failed demonstration,
2 with one error line on a bad argument (before any check runs)."""

import subprocess
import sys
from pathlib import Path

import pytest

from mlitheory import __main__ as cli
from mlitheory import verify
from mlitheory._rows import FamilyReport, check_counts, check_row, demonstration_row

ROOT = Path(__file__).resolve().parents[1]


def _family_with_a_counterexample(*, quick, seed):
    """A fake family: one instance whose hypotheses held and whose conclusion failed."""
    return [check_row("fake theorem", [True, False], [False, False], [-1.0, 5.0], note="planted")]


def _family_with_a_failed_demonstration(*, quick, seed):
    return [demonstration_row("fake construction", [False, False], expected="a rise", required=1)]


def _family_never_run(*, quick, seed):  # pragma: no cover - must not be imported or called by --only
    raise AssertionError("ran a family that --only excluded")


def test_verify_quick_prints_two_sections_and_exits_zero():
    proc = subprocess.run(
        [sys.executable, "-m", "mlitheory", "verify", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "## Checks: hypotheses ⇒ conclusion" in out and "## Demonstrations and expected failures" in out
    checks, demos = out.split("## Demonstrations and expected failures")
    for column in ("theorem", "instances", "hypotheses held", "conclusion held", "counterexamples", "worst margin"):
        assert column in checks
    for column in ("construction", "expected", "as expected", "required"):
        assert column in demos
    # the rows whose counterexample count is 0 by construction are demonstrations, not checks
    for name in ("tightness", "reversal", "converse fails", "Adam breaks", "bottleneck", "needs spec(M)"):
        assert name in demos and name not in checks, name
    assert "Thm 3: G < π/2" in checks
    assert "no counterexamples; every demonstration as expected" in out


def test_verify_exits_one_on_a_counterexample(monkeypatch, capsys):
    monkeypatch.setattr(verify, "FAMILIES", {"fake": "tests.test_verify:_family_with_a_counterexample"})
    assert cli.main(["verify", "--quick"]) == 1
    out = capsys.readouterr().out
    assert "fake theorem" in out and "COUNTEREXAMPLES OR FAILED DEMONSTRATIONS FOUND" in out


def test_verify_exits_one_on_a_failed_demonstration(monkeypatch, capsys):
    monkeypatch.setattr(verify, "FAMILIES", {"fake": "tests.test_verify:_family_with_a_failed_demonstration"})
    assert cli.main(["verify", "--quick"]) == 1
    assert "fake construction" in capsys.readouterr().out


def test_only_runs_just_the_families_asked_for(monkeypatch, capsys):
    monkeypatch.setattr(
        verify,
        "FAMILIES",
        {
            "fake": "tests.test_verify:_family_with_a_failed_demonstration",
            "other": "tests.test_verify:_family_never_run",
        },
    )
    assert cli.main(["verify", "--only", "fake"]) == 1


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["verify", "--only", "NOMATCH"], "matches no theorem family"),
        (["verify", "--only", "theorem3", "--only", "nope"], "'nope' matches no theorem family"),
        (["verify", "--seed", "-1"], "--seed must be >= 0"),
        (["verify", "--out", "/proc/mlitheory-verify"], "cannot write there"),
    ],
)
def test_bad_arguments_are_one_error_line_and_exit_two_before_any_check(monkeypatch, capsys, argv, phrase):
    monkeypatch.setattr(verify, "FAMILIES", {"theorem3": "tests.test_verify:_family_never_run"})
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert phrase in err and "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("python -m mlitheory")][-1].endswith(phrase) or (
        phrase in err.splitlines()[-1]
    )


def test_every_family_is_registered_by_name():
    assert list(verify.FAMILIES) == ["theorem3", "bias_plateau", "two_layer_linear", "lemma7", "wide_networks"]
    with pytest.raises(ValueError, match="families are: theorem3"):
        verify.select_families(["NOMATCH"])


def test_row_constructors_mean_one_thing():
    r = check_row("t", [True, True, False, True], [True, False, False, True], [0.5, -1.0, -9.0, 0.25])
    # conclusion held counts only instances whose hypotheses hold; the margin is read only there
    assert (r.instances, r.hypotheses_held, r.conclusion_held, r.counterexamples) == (4, 3, 2, 1)
    assert r.worst_margin == -1.0 and not r.ok
    c = check_counts("t", instances=5, hypotheses_held=3, counterexamples=0, worst_margin=0.1)
    assert c.conclusion_held == 3 and c.ok
    with pytest.raises(ValueError, match="counterexamples <= hypotheses_held"):
        check_counts("t", instances=2, hypotheses_held=1, counterexamples=2)
    d = demonstration_row("d", [True, False, True], expected="x", required=2)
    assert d.ok and d.counterexamples == 0 and d.as_expected == 2
    assert not demonstration_row("d", [True, False], expected="x").ok  # default: all instances
    with pytest.raises(ValueError, match="one entry per instance"):
        check_row("t", [True], [True, False])


def test_write_report_accepts_numpy_scalars(tmp_path):
    import json

    import numpy as np

    from mlitheory.verify import VerifyReport, write_report

    row = FamilyReport("t", "check", np.int64(3), np.int64(3), np.int64(3), np.int64(0), np.float64(0.5), note="n")
    write_report(VerifyReport(rows=[row], quick=True, seed=0), tmp_path)
    data = json.loads((tmp_path / "verify.json").read_text())
    assert data["ok"] and data["rows"][0]["instances"] == 3
    assert "| t " in (tmp_path / "table.md").read_text()
