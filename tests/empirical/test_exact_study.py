"""``python -m empirical.exact_study --quick`` runs end to end and writes its report, data and figures."""

import json

import pytest

from empirical.data import available
from empirical.exact_study import main, plan


@pytest.mark.data
@pytest.mark.skipif(not available("mnist")[0], reason="MNIST not installed (make data)")
def test_quick_study_writes_a_consistent_report(tmp_path):
    assert main(["--quick", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "results.json").read_text())
    runs = data["runs"]
    assert len(runs) == len(plan(True)[0])
    for r in runs:
        # the exact values bound the 50-point ones: min Δ on a grid never exceeds the continuum's, and the kink-blind
        # derivative estimate misses the corners
        assert r["ce_sampled_min_delta"] <= r["ce_exact_min_delta"] + r["ce_exact_min_delta_error"] + 1e-12
        assert r["G_exact_mean"] >= r["G_smooth_mean"] >= 0 and r["pieces_mean"] >= 1
    text = (tmp_path / "report.md").read_text()
    assert "## Findings" in text and "sampled verdict" in text
    for stem in ("pieces", "gauss_length", "min_delta", "curve"):
        assert (tmp_path / f"{stem}.png").stat().st_size > 0 and (tmp_path / f"{stem}.pdf").stat().st_size > 0


def test_missing_out_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as e:
        main([])
    assert e.value.code == 2 and "--out" in capsys.readouterr().err
