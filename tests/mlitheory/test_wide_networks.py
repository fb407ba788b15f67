"""Theorem 8: a small width scan, the output-path Gauss length against an independent computation, the fit, the CLI."""

import math

import numpy as np
import pytest
import torch

from mlitheory.geometry import gauss_length
from mlitheory.ntk import NTKMLP, model_outputs, param_dict, train_gd
from mlitheory.ntk_width import main
from mlitheory.wide_networks import (
    WidthScanResult,
    check_wide_network,
    fit_power_law,
    make_data,
    output_path_derivatives,
    plot_width_scan,
    verify_family,
    width_scan,
)


@pytest.fixture(scope="module")
def small_scan():
    """Widths 16, 64, 256 with 2 seeds on 8 points (a few seconds)."""
    return width_scan([16, 64, 256], 2, n_train=8, target_loss=1e-8, fit_min_width=16)


def test_small_scan_mli_and_decay(small_scan):
    """Every run converges with MLI; G and the weight distance shrink with width; the fitted slope is negative."""
    res = small_scan
    assert res.converged.all()
    assert res.mli.all() and np.all(res.mli_rate == 1.0)
    assert np.all(res.gauss < math.pi / 2)
    g = res.gauss_mean
    assert g[0] > g[1] > g[2]
    d = res.rel_distance_mean
    assert d[0] > d[1] > d[2]
    assert np.all(res.max_slope < 0)  # L′(α) < 0 on the grid: strictly decreasing
    f = res.fit
    assert f.n_points == 6 and f.n_widths == 3
    assert -1.2 < f.slope < -0.2 and f.ci_low < f.slope < f.ci_high
    text = res.summary()
    assert "mean G" in text and "slope" in text


def test_scan_result_roundtrip(small_scan, tmp_path):
    small_scan.save(tmp_path / "scan")
    back = WidthScanResult.load(tmp_path / "scan")
    assert np.array_equal(back.gauss, small_scan.gauss)
    assert back.fit.slope == small_scan.fit.slope and back.status == small_scan.status


def test_plot_writes_png_and_pdf(small_scan, tmp_path):
    paths = plot_width_scan(small_scan, tmp_path)
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_stacked_path_derivatives_match_gauss_length_of_the_curve():
    """The batched stacked-forward derivatives give the same Gauss length as ``gauss_length`` on the plain curve
    α ↦ vec f(θ_α)(X) (nested jvp through functional_call, an independent path)."""
    X, Y = make_data(6, 3, 2, seed=1)
    m = NTKMLP(3, 12, 2, depth=2, bias=True, seed=4)
    p0 = param_dict(m)
    tr = train_gd(m, X, Y, target_loss=1e-6)
    delta = {k: tr.params[k] - p0[k] for k in p0}
    chk = check_wide_network(m, p0, tr, X, Y, gauss_tol=1e-10)
    G = gauss_length(lambda a: model_outputs(m, {k: p0[k] + a * delta[k] for k in p0}, X).reshape(-1), tol=1e-10)
    assert chk.gauss_length == pytest.approx(G.value, abs=1e-8)
    # derivatives against central differences of the outputs (error O(h²) + O(eps/h))
    al = torch.tensor([0.2, 0.7], dtype=torch.float64)
    d1, _ = output_path_derivatives(m, p0, delta, X)(al)
    h = 1e-5
    for i, a in enumerate(al):
        zp = model_outputs(m, {k: p0[k] + (a + h) * delta[k] for k in p0}, X).reshape(-1)
        zm = model_outputs(m, {k: p0[k] + (a - h) * delta[k] for k in p0}, X).reshape(-1)
        assert torch.allclose(d1[i, 0], (zp - zm) / (2 * h), atol=1e-7)


def test_fit_power_law_recovers_known_slopes():
    widths = np.repeat([128, 512, 2048, 8192], 4)
    rng = np.random.default_rng(0)
    exact = fit_power_law(widths, 3.0 * widths**-0.5)
    assert exact.slope == pytest.approx(-0.5, abs=1e-12) and exact.stderr < 1e-10
    # the 95% interval covers the true slope in about 95% of noisy data sets (binomial: 400 draws, ±3 sd)
    fits = [
        fit_power_law(widths, 3.0 * widths**-0.5 * np.exp(0.1 * rng.standard_normal(widths.size))) for _ in range(400)
    ]
    coverage = np.mean([f.contains(-0.5) for f in fits])
    assert 0.95 - 3 * 0.011 < coverage < 0.95 + 3 * 0.011
    assert all(f.ci_high - f.ci_low < 0.3 for f in fits)
    few = fit_power_law([128, 512], [0.3, 0.15])
    assert few.slope == pytest.approx(-0.5) and math.isnan(few.ci_low)
    none = fit_power_law([8, 16], [1.0, 0.5], min_width=128)
    assert math.isnan(none.slope) and none.n_points == 0


def test_diverging_step_is_reported_not_looped():
    """η = 5/λ_max: every run stops quickly as 'diverged', with a warning; the fit is undefined."""
    with pytest.warns(UserWarning, match="diverges"):
        res = width_scan([256], 2, n_train=6, eta_scale=5.0, max_steps=100_000)
    assert res.status == [["diverged", "diverged"]]
    assert np.all(res.steps < 500)
    assert np.all(np.isnan(res.gauss)) and math.isnan(res.fit.slope)
    assert "diverged: 2" in res.summary()


def test_bad_widths():
    with pytest.raises(ValueError, match="positive"):
        width_scan([0, 16], 1)
    with pytest.raises(ValueError, match="positive"):
        width_scan([-8], 1)
    with pytest.raises(ValueError, match="distinct"):
        width_scan([16, 16], 1)
    with pytest.raises(ValueError, match="eta_scale"):
        width_scan([16], 1, eta_scale=0.0)


def test_cli_writes_figure_and_table(tmp_path, capsys):
    argv = ["--widths", "16", "32", "--seeds", "2", "--n-train", "6", "--target-loss", "1e-6", "--out", str(tmp_path)]
    assert main([*argv, "--fit-min-width", "16"]) == 0
    out = capsys.readouterr().out
    assert "mean G" in out and "slope" in out
    assert (tmp_path / "width_scan.png").exists() and (tmp_path / "width_scan.pdf").exists()
    assert (tmp_path / "width_scan_result.json").exists()
    assert main(argv) == 2  # a finished result is not overwritten without --force


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    assert "--widths" in capsys.readouterr().out


@pytest.mark.slow
def test_verify_family_quick():
    rows = verify_family(quick=True, seed=0)
    assert all(r.counterexamples == 0 for r in rows)


def test_few_seeds_for_the_widest():
    res = width_scan([16, 32], 2, n_train=6, target_loss=1e-6, few_seeds_from=(32, 1), fit_min_width=16)
    assert res.status[1][1] == "skipped" and res.status[1][0] == "converged"
    assert res.fit.n_points == 3
    assert "skipped: 1" in res.summary()


def test_threads_restored():
    before = torch.get_num_threads()
    width_scan([8], 1, n_train=4, target_loss=1e-4, threads=1)
    assert torch.get_num_threads() == before
