"""Theorem 8: a small width scan, the output-path Gauss length against an independent computation, the fit, the CLI."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from mlitheory.geometry import gauss_length
from mlitheory.ntk import NTKMLP, model_outputs, param_dict, train_gd
from mlitheory.ntk_width import main
from mlitheory.wide import networks_family as verify_family
from mlitheory.wide import theorem8_rows
from mlitheory.wide_networks import (
    WidthScanResult,
    check_wide_network,
    fit_power_law,
    make_data,
    mli_verdict,
    output_path_derivatives,
    plot_width_scan,
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


# ------------------------------------------------------------------ the Theorem 8 rows and the MLI detector can fail


def _planted(scan, exponent, noise=0.02, seed=0):
    """The scan with its Gauss lengths replaced by c·n^exponent (times small log-normal noise per seed)."""
    rng = np.random.default_rng(seed)
    w = np.asarray(scan.widths, dtype=np.float64)[:, None]
    g = 2.0 * w**exponent * np.exp(noise * rng.standard_normal(scan.gauss.shape))
    return dataclasses.replace(scan, gauss=g)


@pytest.mark.parametrize(("exponent", "counterexample"), [(-0.2, True), (-0.35, True), (-0.5, False), (-0.8, False)])
def test_theorem8_row_reports_a_slope_that_does_not_reach_minus_half(small_scan, exponent, counterexample):
    """A planted scan whose G decays like n^−0.2 contradicts G = O(n^−1/2): the decay row must count it; a planted
    n^−1/2 or a steeper (pre-asymptotic) decay must not."""
    rows = theorem8_rows(_planted(small_scan, exponent))
    decay = rows[1]
    assert decay.kind == "check" and decay.instances == 1
    assert decay.counterexamples == int(counterexample), decay.note
    assert (decay.worst_margin < 0) == counterexample


def test_theorem8_row_fits_widths_not_seeds(small_scan):
    """The seeds at one width are one point of the fit: duplicating seeds does not narrow the interval."""
    planted = _planted(small_scan, -0.5, noise=0.0)
    f1 = fit_power_law(np.repeat(planted.widths, 2), planted.gauss.ravel(), min_width=16, per_width=True)
    doubled = np.concatenate([planted.gauss, planted.gauss], axis=1)
    f2 = fit_power_law(np.repeat(planted.widths, 4), doubled.ravel(), min_width=16, per_width=True)
    assert f1.n_points == f2.n_points == 3
    assert f1.slope == pytest.approx(-0.5, abs=1e-12) and f2.slope == pytest.approx(f1.slope, abs=1e-12)


def test_theorem8_row_with_too_few_widths_is_not_a_pass(small_scan):
    one = dataclasses.replace(small_scan, widths=small_scan.widths[:1], gauss=small_scan.gauss[:1])
    rows = theorem8_rows(dataclasses.replace(one, mli=small_scan.mli[:1], max_slope=small_scan.max_slope[:1],
                                             status=small_scan.status[:1]))  # fmt: skip
    assert rows[1].hypotheses_held == 0 and "not tested" in rows[1].note


def test_a_planted_non_monotone_path_is_caught():
    """θ_T = θ₀ + a random step from a network that already fits Y: the loss along the path rises from 0 by a
    small amount (well below 1). check_wide_network must report mli=False with min Δ equal to the rise measured
    by direct forward passes; the rounding allowance must stay far below the rise."""
    torch.manual_seed(0)
    X, _ = make_data(8, seed=0)
    model = NTKMLP(X.shape[1], 64, 1, seed=0)
    p0 = param_dict(model)
    Y = model_outputs(model, p0, X).detach()  # loss 0 at α = 0
    gen = torch.Generator().manual_seed(1)
    delta = {k: 0.05 * torch.randn(v.shape, generator=gen, dtype=v.dtype) for k, v in p0.items()}
    pT = {k: p0[k] + delta[k] for k in p0}
    trained = train_gd(model, X, Y, params0=p0, max_steps=1)
    trained = dataclasses.replace(trained, params=pT, status="converged")
    run = check_wide_network(model, p0, trained, X, Y, grid=101)
    al = np.linspace(0.0, 1.0, 101)
    direct = [
        0.5 * float(torch.sum((model_outputs(model, {k: p0[k] + a * delta[k] for k in p0}, X) - Y) ** 2)) for a in al
    ]
    rise = max(max(direct[j] - direct[i] for j in range(i, len(direct))) for i in range(len(direct)))
    assert 1e-4 < rise < 0.5
    assert run.mli is False
    assert run.min_delta == pytest.approx(rise, rel=1e-9)
    assert run.loss_tol < 1e-6 * rise


def test_mli_verdict():
    assert mli_verdict([3.0, 2.0, 2.0, 1.0], 0.0) == (True, 0.0)
    mono, md = mli_verdict([3.0, 2.0, 2.25, 1.0], 1e-12)
    assert not mono and md == pytest.approx(0.25)
    with pytest.raises(ValueError, match="loss_tol"):
        mli_verdict([1.0], float("nan"))
