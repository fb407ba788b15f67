"""Power of the claim tests against independent truths: the tests simulated with scipy, closed forms, limits."""

import math

import numpy as np
import pytest
from scipy import stats

from empirical.claims import power as pw
from empirical.claims import stats as cs


def _simulated(test, draws, seed):
    """Share of ``draws`` simulated samples (``test(rng) -> p``) with p < 0.05."""
    rng = np.random.default_rng(seed)
    return np.mean([test(rng) < 0.05 for _ in range(draws)])


def _tolerance(p, draws):
    return 4.5 * math.sqrt(max(p * (1 - p), 0.01) / draws)


def test_fisher_p_values_of_the_enumeration_are_fisher_exact():
    for n_a, n_b in ((7, 5), (12, 9)):
        ka, kb = np.meshgrid(np.arange(n_a + 1), np.arange(n_b + 1), indexing="ij")
        for alt in ("greater", "less"):
            grid = pw.fisher_pvalues(ka, n_a, kb, n_b, alt)
            for i in range(n_a + 1):
                for j in range(n_b + 1):
                    ref = stats.fisher_exact([[i, n_a - i], [j, n_b - j]], alternative=alt).pvalue
                    assert grid[i, j] == pytest.approx(ref, rel=1e-9, abs=1e-14)


@pytest.mark.parametrize(
    ("n_a", "n_b", "p_a", "p_b", "direction"), [(20, 15, 0.6, 0.2, "greater"), (9, 30, 0.1, 0.5, "less")]
)
def test_share_difference_power_is_the_rejection_rate_of_fisher_exact(n_a, n_b, p_a, p_b, direction):
    exact = pw.power_share_difference(n_a, n_b, p_a, p_b, direction=direction)
    draws = 2000

    def one(rng):
        ka, kb = rng.binomial(n_a, p_a), rng.binomial(n_b, p_b)
        return stats.fisher_exact([[ka, n_a - ka], [kb, n_b - kb]], alternative=direction).pvalue

    assert exact == pytest.approx(_simulated(one, draws, 11), abs=_tolerance(exact, draws))


def test_share_difference_power_limits():
    # no difference: the power is the size of the test, at most α (Fisher is conservative)
    assert pw.power_share_difference(30, 30, 0.3, 0.3) <= 0.05
    assert pw.power_share_difference(200, 200, 0.9, 0.1) == pytest.approx(1.0, abs=1e-9)
    assert pw.power_share_difference(0, 10, 0.9, 0.1) == 0.0
    # the wrong direction has (almost) no power
    assert pw.power_share_difference(50, 50, 0.2, 0.6, direction="greater") < 1e-4


def test_boschloo_power_matches_simulation_and_bounds_fisher():
    exact = pw.power_share_difference(6, 6, 0.8, 0.2, test="boschloo")
    draws, cache = 3000, {}

    def one(rng):
        ka, kb = rng.binomial(6, 0.8), rng.binomial(6, 0.2)
        if (ka, kb) not in cache:
            cache[ka, kb] = stats.boschloo_exact([[ka, kb], [6 - ka, 6 - kb]], alternative="greater").pvalue
        return cache[ka, kb]

    assert exact == pytest.approx(_simulated(one, draws, 5), abs=_tolerance(exact, draws))
    fisher = pw.power_share_difference(6, 6, 0.8, 0.2, test="fisher")
    assert exact >= fisher - 1e-12  # Boschloo is uniformly more powerful
    assert "Boschloo" in pw.share_difference_power_method(6, 6, 0.8, 0.2, "boschloo")
    big = pw.share_difference_power_method(100, 100, 0.5, 0.3, "boschloo")
    assert "lower bound" in big
    assert pw.power_share_difference(100, 100, 0.5, 0.3, test="boschloo") == pw.power_share_difference(
        100, 100, 0.5, 0.3
    )


def test_share_bound_power_closed_form():
    # share truly 0, bound 0.1, "below": rejects exactly when 0.9^n < 0.05, i.e. n ≥ 29
    assert pw.power_share_bound(28, 0.0, bound=0.1) == 0.0
    assert pw.power_share_bound(29, 0.0, bound=0.1) == 1.0
    assert pw.runs_needed(lambda n: pw.power_share_bound(n, 0.0, bound=0.1)) == 29
    exact = pw.power_share_bound(40, 0.7, bound=0.5, direction="above")
    draws = 3000
    binom = lambda rng: stats.binomtest(rng.binomial(40, 0.7), 40, 0.5, alternative="greater").pvalue
    sim = _simulated(binom, draws, 2)
    assert exact == pytest.approx(sim, abs=_tolerance(exact, draws))


def test_predicts_power():
    # AUC ½: the size of the test
    assert pw.power_predicts(15, 15, 0.5000001, sims=4000, seed=1) == pytest.approx(0.05, abs=0.02)
    p = pw.power_predicts(10, 12, 0.8, sims=2000, seed=3)
    draws = 1500
    shift = math.sqrt(2) * stats.norm.ppf(0.8)

    def one(rng):
        return stats.mannwhitneyu(rng.normal(shift, 1, 10), rng.normal(0, 1, 12), alternative="greater").pvalue

    assert p == pytest.approx(_simulated(one, draws, 9), abs=_tolerance(p, draws) + 0.02)
    # the shift gives the stated AUC: P(X + shift > Y) = Φ(shift / √2)
    assert stats.norm.cdf(shift / math.sqrt(2)) == pytest.approx(0.8)
    assert pw.power_predicts(0, 12, 0.8) == 0.0


def test_trend_power():
    assert pw.power_trend(20, 1e-9, sims=4000, seed=2) == pytest.approx(0.05, abs=0.02)
    p = pw.power_trend(15, 0.5, sims=2000, seed=4)
    draws = 1500
    r = 2 * math.sin(math.pi * 0.5 / 6)

    def one(rng):
        x = rng.normal(size=15)
        y = r * x + math.sqrt(1 - r * r) * rng.normal(size=15)
        return stats.spearmanr(x, y, alternative="greater").pvalue

    assert p == pytest.approx(_simulated(one, draws, 8), abs=_tolerance(p, draws) + 0.02)
    # the copula's Pearson r gives the stated Spearman ρ (large sample)
    rng = np.random.default_rng(0)
    x = rng.normal(size=200000)
    y = r * x + math.sqrt(1 - r * r) * rng.normal(size=200000)
    assert stats.spearmanr(x, y).statistic == pytest.approx(0.5, abs=0.01)
    assert pw.power_trend(2, 0.9) == 0.0


def test_small_sample_spearman_power_uses_the_exact_null():
    # n = 4: the smallest one-sided exact p is 1/24 (< 0.05): only the perfect ordering rejects
    null = pw._spearman_null(4)
    assert len(null) == 24 and null[-1] == pytest.approx(1.0) and null[-2] < 1.0
    p = pw.power_trend(4, 0.9, sims=3000, seed=1)
    draws = 300

    def one(rng):
        r = 2 * math.sin(math.pi * 0.9 / 6)
        x = rng.normal(size=4)
        return cs.trend(x, r * x + math.sqrt(1 - r * r) * rng.normal(size=4)).p_for

    assert p == pytest.approx(_simulated(one, draws, 4), abs=_tolerance(p, draws) + 0.02)
    assert pw.power_trend(3, 0.99, sims=500) == 0.0  # with 3 units the smallest exact p is 1/6


def test_t_power_is_the_noncentral_t_and_matches_simulation():
    p = pw.power_mean_bound(8, -1.0, direction="below", test="ttest")
    draws = 2000

    def one(rng):
        return stats.ttest_1samp(rng.normal(-1.0, 1.0, 8), 0.0, alternative="less").pvalue

    assert p == pytest.approx(_simulated(one, draws, 6), abs=_tolerance(p, draws))
    assert pw.power_paired(8, 1.0, direction="greater", test="ttest") == pytest.approx(p, rel=1e-12)
    assert pw.power_paired(8, -1.0, direction="less", test="ttest") == pytest.approx(p, rel=1e-12)
    assert pw.power_mean_bound(8, 1.0, direction="below") < 0.01  # the effect against the claim: no power
    assert pw.power_mean_bound(1, 5.0) == 0.0
    w = pw.power_paired(12, 1.0, test="wilcoxon", sims=1500, seed=1)
    assert w == pytest.approx(pw.power_paired(12, 1.0, test="ttest"), abs=0.08)  # Wilcoxon ~95 % as efficient


def test_equivalence_power():
    # ρ truly 0: with many units the TOST concludes equivalence; at ρ = margin its size is at most α
    assert pw.power_equivalence(200, 0.0, margin=0.3, sims=1000, seed=1) > 0.95
    assert pw.power_equivalence(200, 0.3, margin=0.3, sims=2000, seed=1) <= 0.07
    assert pw.power_equivalence(8, 0.0, margin=0.5, sims=2000, seed=1) < 0.2
    draws = 600

    def one(rng):
        x = rng.normal(size=30)
        return cs.equivalence(x, rng.normal(size=30), margin=0.5).p_for

    p = pw.power_equivalence(30, 0.0, margin=0.5, sims=2000, seed=2)
    assert p == pytest.approx(_simulated(one, draws, 3), abs=_tolerance(p, draws) + 0.02)


def test_runs_needed_finds_the_smallest_n():
    assert pw.runs_needed(lambda n: 1 - math.exp(-n / 10)) == math.ceil(10 * math.log(5))
    assert pw.runs_needed(lambda n: 0.5) is None
    assert pw.runs_needed(lambda n: 1.0) <= 2
    # Fisher, 0.6 vs 0.2, equal groups: the first total with power ≥ 0.8, and the one below fails
    f = lambda n: pw.power_share_difference(n // 2, n - n // 2, 0.6, 0.2)
    n = pw.runs_needed(f)
    assert f(n) >= 0.8 > f(n - 1)
