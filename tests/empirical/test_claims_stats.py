"""The claim tests of empirical.claims.stats against independent truths: closed-form tails, enumeration."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from empirical.claims import stats as cs


def _hypergeom_upper(k_a, n_a, k_b, n_b):
    """P(X ≥ k_a) for X hypergeometric, in exact rationals (Fisher's one-sided p, 'a has the larger share')."""
    total, events = n_a + n_b, k_a + k_b
    num = sum(math.comb(events, j) * math.comb(total - events, n_a - j) for j in range(k_a, min(events, n_a) + 1))
    return Fraction(num, math.comb(total, n_a))


@given(st.integers(1, 12), st.integers(1, 12), st.data())
def test_fisher_share_difference_is_the_hypergeometric_tail(n_a, n_b, data):
    k_a, k_b = data.draw(st.integers(0, n_a)), data.draw(st.integers(0, n_b))
    out = cs.share_difference(k_a, n_a, k_b, n_b, direction="greater")
    assert out.p_for == pytest.approx(float(_hypergeom_upper(k_a, n_a, k_b, n_b)), rel=1e-9, abs=1e-14)
    # the opposite direction is the same tail with the groups swapped
    assert out.p_against == pytest.approx(float(_hypergeom_upper(k_b, n_b, k_a, n_a)), rel=1e-9, abs=1e-14)
    flipped = cs.share_difference(k_a, n_a, k_b, n_b, direction="less")
    assert (flipped.p_for, flipped.p_against) == (out.p_against, out.p_for)
    assert out.detail["share_a"] == k_a / n_a and out.counts == {"a": [k_a, n_a], "b": [k_b, n_b]}


def _boschloo_brute(k_a, n_a, k_b, n_b, grid=2001):
    """Boschloo's one-sided p ('a has the larger share'): the largest, over the common share π, of the probability
    of the tables whose Fisher p-value is at most the observed one (brute force over a grid of π)."""
    fisher = np.array([[float(_hypergeom_upper(i, n_a, j, n_b)) for j in range(n_b + 1)] for i in range(n_a + 1)])
    extreme = fisher <= fisher[k_a, k_b] * (1 + 1e-9)
    x, y = np.meshgrid(np.arange(n_a + 1), np.arange(n_b + 1), indexing="ij")
    best = 0.0
    for pi in np.linspace(0, 1, grid):
        prob = stats.binom.pmf(x, n_a, pi) * stats.binom.pmf(y, n_b, pi)
        best = max(best, float(prob[extreme].sum()))
    return best


@pytest.mark.parametrize("table", [(4, 5, 0, 5), (3, 6, 1, 7), (5, 5, 2, 6), (1, 4, 3, 4)])
def test_boschloo_orientation_and_value(table):
    k_a, n_a, k_b, n_b = table
    out = cs.share_difference(k_a, n_a, k_b, n_b, direction="greater", test="boschloo")
    assert out.p_for == pytest.approx(_boschloo_brute(k_a, n_a, k_b, n_b), abs=2e-3)
    assert out.p_for <= cs.share_difference(k_a, n_a, k_b, n_b).p_for + 1e-9  # never above Fisher's
    swapped = cs.share_difference(k_b, n_b, k_a, n_a, direction="greater", test="boschloo")
    assert out.p_against == pytest.approx(swapped.p_for, abs=1e-9)


def test_share_difference_rejects_bad_counts():
    with pytest.raises(ValueError, match="group a"):
        cs.share_difference(5, 3, 0, 4)
    with pytest.raises(ValueError, match="both groups"):
        cs.share_difference(0, 0, 1, 4)
    with pytest.raises(ValueError, match="direction"):
        cs.share_difference(1, 3, 0, 4, direction="bigger")
    with pytest.raises(ValueError, match="test"):
        cs.share_difference(1, 3, 0, 4, test="chi2")


@given(st.integers(1, 30), st.data(), st.sampled_from([0.05, 0.1, 0.5, 0.8]))
def test_share_bound_is_the_binomial_tail(n, data, bound):
    k = data.draw(st.integers(0, n))
    b = Fraction(bound).limit_denominator(1000)
    lower = sum(math.comb(n, j) * b**j * (1 - b) ** (n - j) for j in range(0, k + 1))
    upper = sum(math.comb(n, j) * b**j * (1 - b) ** (n - j) for j in range(k, n + 1))
    below = cs.share_bound(k, n, bound=bound, direction="below")
    assert below.p_for == pytest.approx(float(lower), rel=1e-9, abs=1e-15)
    assert below.p_against == pytest.approx(float(upper), rel=1e-9, abs=1e-15)
    lo, hi = below.ci
    assert lo <= k / n <= hi


def test_clopper_pearson_closed_forms():
    # k = 0: the upper bound solves (1 − p)^n = (1 − level)/2
    lo, hi = cs.clopper_pearson(0, 12)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 12), rel=1e-9)
    lo, hi = cs.clopper_pearson(12, 12)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 12), rel=1e-9)
    assert cs.clopper_pearson(0, 0) is None


def _u_exact_upper(pos, neg):
    """P(U ≥ u_obs) under random labelling, by enumerating every split (no ties)."""
    pooled = list(pos) + list(neg)
    u_obs = sum(p > q for p in pos for q in neg)
    hits = total = 0
    for idx in itertools.combinations(range(len(pooled)), len(pos)):
        a = [pooled[i] for i in idx]
        b = [pooled[i] for i in range(len(pooled)) if i not in idx]
        hits += sum(p > q for p in a for q in b) >= u_obs
        total += 1
    return hits / total


@pytest.mark.parametrize("seed", range(4))
def test_predicts_mann_whitney_is_the_permutation_distribution_of_u(seed):
    rng = np.random.default_rng(seed)
    pos, neg = rng.normal(0.8, 1, 4), rng.normal(0, 1, 5)
    out = cs.predicts(pos, neg, direction="greater")
    assert out.p_for == pytest.approx(_u_exact_upper(pos, neg), abs=1e-12)
    assert out.estimate == pytest.approx(np.mean(pos[:, None] > neg[None, :]))
    assert out.ci[0] <= out.estimate <= out.ci[1]
    rev = cs.predicts(pos, neg, direction="less")
    assert (rev.p_for, rev.p_against) == (out.p_against, out.p_for)


def test_predicts_checks_its_input():
    with pytest.raises(ValueError, match="both outcomes"):
        cs.predicts([], [1.0, 2.0])
    with pytest.raises(ValueError, match="not finite"):
        cs.predicts([1.0, math.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="test"):
        cs.predicts([1.0], [2.0], test="permutation")


def test_trend_spearman_p_is_the_t_test_of_the_rank_correlation():
    rng = np.random.default_rng(3)
    x = rng.normal(size=15)
    y = x + rng.normal(size=15)
    out = cs.trend(x, y, direction="increasing")
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    d2 = float(((rx - ry) ** 2).sum())
    rho = 1 - 6 * d2 / (15 * (15**2 - 1))  # no ties
    t = rho * math.sqrt(13 / (1 - rho**2))
    assert out.estimate == pytest.approx(rho, abs=1e-12)
    assert out.p_for == pytest.approx(stats.t.sf(t, 13), rel=1e-9)
    assert out.p_against == pytest.approx(stats.t.cdf(t, 13), rel=1e-9)
    assert out.ci[0] <= rho <= out.ci[1]
    dec = cs.trend(x, y, direction="decreasing")
    assert dec.p_for == out.p_against


def test_trend_pearson_log_log_is_the_power_law_fit():
    x = np.geomspace(0.1, 10, 12)
    y = 3 * x**0.7 * np.exp(np.sin(np.arange(12)) * 0.3)
    out = cs.trend(x, y, method="pearson", log=True)
    lx, ly = np.log(x), np.log(y)
    slope, intercept = np.polyfit(lx, ly, 1)
    resid = ly - slope * lx - intercept
    r2 = 1 - (resid**2).sum() / ((ly - ly.mean()) ** 2).sum()
    assert out.detail["r2"] == pytest.approx(r2, rel=1e-10)
    with pytest.raises(ValueError, match="positive"):
        cs.trend([1, -1, 2], [1, 2, 3], log=True)
    with pytest.raises(ValueError, match="constant"):
        cs.trend([1, 1, 1], [1, 2, 3])


def test_paired_and_mean_bound_directions():
    a = np.array([3.0, 4.0, 5.5, 6.0, 7.2, 8.0])
    b = a - np.array([1.0, 0.5, 1.5, 0.7, 1.1, 0.9])
    out = cs.paired(a, b, direction="greater")
    assert out.p_for == pytest.approx(1 / 64)  # every difference positive: the smallest signed-rank tail, 2^-6
    assert out.estimate == pytest.approx(np.mean(a - b))
    t = cs.paired(a, b, direction="greater", test="ttest")
    assert t.p_for == pytest.approx(stats.ttest_1samp(a - b, 0, alternative="greater").pvalue)
    v = np.array([1.1, 1.2, 1.05, 1.3, 1.15])
    below = cs.mean_bound(v, bound=1.5, direction="below", log=True)
    assert below.p_for == pytest.approx(stats.ttest_1samp(np.log(v), math.log(1.5), alternative="less").pvalue)
    assert below.estimate == pytest.approx(math.exp(np.mean(np.log(v))))
    with pytest.raises(ValueError, match="variance"):
        cs.mean_bound([2.0, 2.0, 2.0], bound=1.0)


@pytest.mark.parametrize("seed", range(5))
def test_equivalence_tost_matches_the_fisher_z_interval_of_scipy(seed):
    """p_for < α exactly when scipy's 1 − 2α interval lies inside (−m, m): at m equal to the interval's far end,
    p_for is α."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=40)
    y = 0.2 * x + rng.normal(size=40)
    out = cs.equivalence(x, y, margin=0.9, alpha=0.05)
    lo, hi = out.ci
    m = max(abs(lo), abs(hi))
    at_edge = cs.equivalence(x, y, margin=m, alpha=0.05)
    assert at_edge.p_for == pytest.approx(0.05, rel=1e-9)
    assert cs.equivalence(x, y, margin=min(0.999, m * 1.01)).p_for < 0.05 < cs.equivalence(x, y, margin=m * 0.99).p_for
    assert out.estimate == pytest.approx(stats.spearmanr(x, y).statistic)


def test_equivalence_outside_the_margin():
    x = np.arange(30.0)
    out = cs.equivalence(x, x + np.sin(x), margin=0.3)
    assert out.p_against < 1e-6 and out.p_for > 0.5
    with pytest.raises(ValueError, match="margin"):
        cs.equivalence(x, x, margin=1.5)
    with pytest.raises(ValueError, match="at least 4"):
        cs.equivalence([1, 2, 3], [1, 2, 3], margin=0.5)
