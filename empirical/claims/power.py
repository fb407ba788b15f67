"""Power of the claim tests at the paper's effect size, and the number of runs that 80 % power needs.

Each ``power_*`` function returns the probability that the test of [`empirical.claims.stats`][empirical.claims.stats] of
the same name rejects in the paper's direction at level ``alpha``, when the truth is the paper's effect and the sample
has our sizes:

- shares (Fisher, Boschloo, binomial) by **exact enumeration** of the binomial outcomes (Fisher's one-sided
  p-values are the hypergeometric tails ``scipy.stats.hypergeom.sf`` / ``cdf``, the same numbers ``fisher_exact``
  returns; Boschloo's by calling ``boschloo_exact`` on every likely table of a small sample, and Fisher's power, a
  lower bound, above);
- the t-tests exactly through the noncentral t distribution (``scipy.stats.nct``);
- the rank tests (Mann–Whitney, Spearman, Wilcoxon, the equivalence TOST) by **simulation** with an explicit seed
  (``sims`` draws; Monte Carlo standard error about 0.009 at power 0.8 with 2000 draws): normal scores shifted so
  that the AUC is the paper's, a Gaussian copula with the paper's Spearman ρ (Pearson $2\\sin(\\pi\\rho/6)$),
  normal differences with the standardised effect.

[`runs_needed`][empirical.claims.power.runs_needed] searches the smallest total number of units with power ≥ ``target``
by doubling then bisection (the power of an exact test is not monotone in n, so a few more units may occasionally be
needed).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable

import numpy as np
from scipy import stats

from empirical.claims.stats import EXACT_SPEARMAN_MAX, spearman_along

__all__ = [
    "BOSCHLOO_ENUMERATION_MAX",
    "fisher_pvalues",
    "power_equivalence",
    "power_mean_bound",
    "power_paired",
    "power_predicts",
    "power_share_bound",
    "power_share_difference",
    "power_trend",
    "runs_needed",
    "share_difference_power_method",
]

_TAIL = 1e-12  # binomial outcomes less likely than this are left out of the enumerations


def _support(n: int, p: float) -> tuple[np.ndarray, np.ndarray]:
    """The outcomes ``k`` of Binomial(n, p) that carry all but ~1e-12 of the mass, with their probabilities."""
    k = np.arange(n + 1)
    pmf = stats.binom.pmf(k, n, p)
    keep = pmf > _TAIL * 1e-3
    return k[keep], pmf[keep]


def _check_share(p: float, name: str) -> float:
    if not 0 <= p <= 1:
        raise ValueError(f"{name}={p!r}: a share lies in [0, 1]")
    return float(p)


def fisher_pvalues(k_a: np.ndarray, n_a: int, k_b: np.ndarray, n_b: int, alternative: str) -> np.ndarray:
    """One-sided Fisher p-values of the tables ``[[k_a, n_a − k_a], [k_b, n_b − k_b]]`` (broadcast over k_a, k_b).

    ``"greater"``: $P(X \\ge k_a)$, ``"less"``: $P(X \\le k_a)$, with X hypergeometric (population
    ``n_a + n_b``, ``k_a + k_b`` events, ``n_a`` draws), exactly what ``scipy.stats.fisher_exact`` computes.
    """
    total = np.asarray(k_a) + np.asarray(k_b)
    if alternative == "greater":
        return stats.hypergeom.sf(np.asarray(k_a) - 1, n_a + n_b, total, n_a)
    if alternative == "less":
        return stats.hypergeom.cdf(k_a, n_a + n_b, total, n_a)
    raise ValueError(f"alternative={alternative!r}; valid: 'greater', 'less'")


#: Boschloo's power is enumerated over at most this many likely tables; above, Fisher's power is given instead
BOSCHLOO_ENUMERATION_MAX = 400


@functools.lru_cache(maxsize=65536)
def _boschloo_p(k_a: int, n_a: int, k_b: int, n_b: int, alternative: str) -> float:
    return float(stats.boschloo_exact([[k_a, k_b], [n_a - k_a, n_b - k_b]], alternative=alternative).pvalue)


def power_share_difference(
    n_a: int, n_b: int, p_a: float, p_b: float, *, alpha: float = 0.05, direction: str = "greater", test: str = "fisher"
) -> float:
    """Power of [`empirical.claims.stats.share_difference`][empirical.claims.stats.share_difference] when the true
    shares are ``p_a`` and ``p_b``.

    Exact: the sum over the binomial outcomes (k_a, k_b) of their probability times [p-value < α]. For
    ``test="boschloo"`` the tables are enumerated with ``boschloo_exact`` when there are at most
    [`BOSCHLOO_ENUMERATION_MAX`][empirical.claims.power.BOSCHLOO_ENUMERATION_MAX] likely ones; above that, Fisher's
    power is returned, a lower bound (Boschloo's test is uniformly more powerful than Fisher's);
    [`share_difference_power_method`][empirical.claims.power.share_difference_power_method] says which.
    """
    p_a, p_b = _check_share(p_a, "p_a"), _check_share(p_b, "p_b")
    if n_a <= 0 or n_b <= 0:
        return 0.0
    alt = {"greater": "greater", "less": "less"}.get(direction)
    if alt is None:
        raise ValueError(f"direction={direction!r}; valid: 'greater', 'less'")
    ka, pa = _support(n_a, p_a)
    kb, pb = _support(n_b, p_b)
    if test == "boschloo" and len(ka) * len(kb) <= BOSCHLOO_ENUMERATION_MAX:
        pv = np.array([[_boschloo_p(int(i), n_a, int(j), n_b, alt) for j in kb] for i in ka])
    elif test in ("fisher", "boschloo"):
        pv = fisher_pvalues(ka[:, None], n_a, kb[None, :], n_b, alt)
    else:
        raise ValueError(f"test={test!r}; valid: 'fisher', 'boschloo'")
    return float(np.sum(pa[:, None] * pb[None, :] * (pv < alpha)))


def share_difference_power_method(n_a: int, n_b: int, p_a: float, p_b: float, test: str) -> str:
    """How [`power_share_difference`][empirical.claims.power.power_share_difference] computes its number at these
    sizes."""
    if test == "boschloo":
        if len(_support(n_a, p_a)[0]) * len(_support(n_b, p_b)[0]) > BOSCHLOO_ENUMERATION_MAX:
            return "Fisher's exact power by enumeration (a lower bound of Boschloo's at this size)"
        return "exact enumeration of Boschloo's test over the binomial outcomes"
    return "exact enumeration of the binomial outcomes"


def power_share_bound(n: int, p: float, *, bound: float, alpha: float = 0.05, direction: str = "below") -> float:
    """Power of [`empirical.claims.stats.share_bound`][empirical.claims.stats.share_bound] when the true share is ``p``
    (exact).

    The one-sided binomial p-value of k events is $P(K \\le k)$ (``"below"``) or $P(K \\ge k)$
    (``"above"``) under Binomial(n, bound), as ``scipy.stats.binomtest`` computes it.
    """
    p = _check_share(p, "p")
    if n <= 0:
        return 0.0
    k = np.arange(n + 1)
    if direction == "below":
        pv = stats.binom.cdf(k, n, bound)
    elif direction == "above":
        pv = stats.binom.sf(k - 1, n, bound)
    else:
        raise ValueError(f"direction={direction!r}; valid: 'below', 'above'")
    return float(np.sum(stats.binom.pmf(k, n, p) * (pv < alpha)))


def _rng(seed: int | np.random.SeedSequence) -> np.random.Generator:
    return np.random.default_rng(seed)


def power_predicts(
    n_pos: int,
    n_neg: int,
    auc: float,
    *,
    alpha: float = 0.05,
    direction: str = "greater",
    test: str = "mannwhitney",
    sims: int = 2000,
    seed: int = 0,
) -> float:
    """Power of [`empirical.claims.stats.predicts`][empirical.claims.stats.predicts] when the true ROC AUC is ``auc``
    (simulated).

    Scores are normal with unit variance, the positives shifted by $\\sqrt2\\,\\Phi^{-1}(\\text{AUC})$
    (which makes P(positive > negative) = AUC; an AUC below ½ shifts them down).
    """
    if not 0 < auc < 1:
        raise ValueError(f"auc={auc!r}; an AUC effect size lies in (0, 1)")
    if n_pos <= 0 or n_neg <= 0:
        return 0.0
    alt = {"greater": "greater", "less": "less"}[direction]
    shift = math.sqrt(2) * stats.norm.ppf(auc)
    rng = _rng(seed)
    if test != "mannwhitney":
        raise ValueError(f"test={test!r}; valid: 'mannwhitney'")
    pos = rng.standard_normal((sims, n_pos)) + shift
    neg = rng.standard_normal((sims, n_neg))
    p = stats.mannwhitneyu(pos, neg, alternative=alt, axis=1).pvalue
    return float(np.mean(p < alpha))


def _copula(rng: np.random.Generator, sims: int, n: int, r: float) -> tuple[np.ndarray, np.ndarray]:
    x = rng.standard_normal((sims, n))
    y = r * x + math.sqrt(max(0.0, 1 - r * r)) * rng.standard_normal((sims, n))
    return x, y


def _spearman_rows(x: np.ndarray, y: np.ndarray, alternative: str) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise Spearman ρ and its one-sided p-value: Pearson's r of the ranks, whose t-test p-value is the one
    ``scipy.stats.spearmanr`` reports."""
    rx, ry = stats.rankdata(x, axis=1), stats.rankdata(y, axis=1)
    res = stats.pearsonr(rx, ry, axis=1, alternative=alternative)
    return res.statistic, res.pvalue


@functools.lru_cache(maxsize=16)
def _spearman_null(n: int) -> np.ndarray:
    """Every value of Spearman's ρ over the n! orderings of n untied ranks, sorted (the exact null distribution)."""
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.float64)
    base = np.broadcast_to(np.arange(n, dtype=np.float64), perms.shape)
    return np.sort(spearman_along(base, perms, axis=1))


def power_trend(
    n: int,
    rho: float,
    *,
    alpha: float = 0.05,
    direction: str = "increasing",
    method: str = "spearman",
    sims: int = 2000,
    seed: int = 0,
) -> float:
    """Power of [`empirical.claims.stats.trend`][empirical.claims.stats.trend] at the true correlation ``rho``
    (simulated).

    ``rho`` is signed (negative: decreasing). ``method="spearman"``: ρ is Spearman's, drawn through a Gaussian
    copula with Pearson $2\\sin(\\pi\\rho/6)$; up to ``EXACT_SPEARMAN_MAX`` units the p-values come from
    the exact permutation distribution, as in the test. ``method="pearson"``: ``rho`` is the Pearson r of the
    (log) values, drawn normal.
    """
    if not -1 < rho < 1:
        raise ValueError(f"rho={rho!r}; a correlation effect size lies in (-1, 1)")
    if n < 3:
        return 0.0
    alt = {"increasing": "greater", "decreasing": "less"}[direction]
    rng = _rng(seed)
    if method == "spearman":
        x, y = _copula(rng, sims, n, 2 * math.sin(math.pi * rho / 6))
        r, p = _spearman_rows(x, y, alt)
        if n <= EXACT_SPEARMAN_MAX:  # the exact permutation distribution, as the test uses
            null = _spearman_null(n)
            if alt == "greater":
                p = 1.0 - np.searchsorted(null, r - 1e-12, side="left") / len(null)
            else:
                p = np.searchsorted(null, r + 1e-12, side="right") / len(null)
    elif method == "pearson":
        x, y = _copula(rng, sims, n, rho)
        p = stats.pearsonr(x, y, axis=1, alternative=alt).pvalue
    else:
        raise ValueError(f"method={method!r}; valid: 'spearman', 'pearson'")
    return float(np.mean(p < alpha))


def _t_power(n: int, d: float, alpha: float, alternative: str) -> float:
    """Exact power of a one-sided one-sample t-test when the mean lies ``d`` standard deviations above the null
    value (``d < 0``: below), for ``alternative`` "greater" or "less" (noncentral t, ``n − 1`` degrees of freedom)."""
    if n < 2:
        return 0.0
    df, nc = n - 1, d * math.sqrt(n)
    if alternative == "greater":
        return float(stats.nct.sf(stats.t.ppf(1 - alpha, df), df, nc))
    return float(stats.nct.cdf(stats.t.ppf(alpha, df), df, nc))


def power_paired(
    n: int,
    dz: float,
    *,
    alpha: float = 0.05,
    direction: str = "greater",
    test: str = "wilcoxon",
    sims: int = 2000,
    seed: int = 0,
) -> float:
    """Power of [`empirical.claims.stats.paired`][empirical.claims.stats.paired] when the differences a − b are normal
    with standardised mean
    ``dz`` (positive: a > b), for the claim ``direction`` (exact for the t-test, simulated for Wilcoxon)."""
    alt = {"greater": "greater", "less": "less"}.get(direction)
    if alt is None:
        raise ValueError(f"direction={direction!r}; valid: 'greater', 'less'")
    if n < 2:
        return 0.0
    if test == "ttest":
        return _t_power(n, dz, alpha, alt)
    if test == "wilcoxon":
        d = _rng(seed).standard_normal((sims, n)) + dz
        p = stats.wilcoxon(d, alternative=alt, axis=1).pvalue
        return float(np.mean(p < alpha))
    raise ValueError(f"test={test!r}; valid: 'wilcoxon', 'ttest'")


def power_mean_bound(
    n: int,
    d: float,
    *,
    alpha: float = 0.05,
    direction: str = "below",
    test: str = "ttest",
    sims: int = 2000,
    seed: int = 0,
) -> float:
    """Power of [`empirical.claims.stats.mean_bound`][empirical.claims.stats.mean_bound] when the values are normal with
    their mean ``d`` standard deviations above the bound (``d < 0``: below it), for the claim ``direction`` "below" or
    "above" (exact for the
    t-test, simulated for Wilcoxon)."""
    alt = {"above": "greater", "below": "less"}.get(direction)
    if alt is None:
        raise ValueError(f"direction={direction!r}; valid: 'below', 'above'")
    if n < 2:
        return 0.0
    if test == "ttest":
        return _t_power(n, d, alpha, alt)
    if test == "wilcoxon":
        v = _rng(seed).standard_normal((sims, n)) + d
        p = stats.wilcoxon(v, alternative=alt, axis=1).pvalue
        return float(np.mean(p < alpha))
    raise ValueError(f"test={test!r}; valid: 'ttest', 'wilcoxon'")


def power_equivalence(
    n: int, rho: float, *, margin: float, alpha: float = 0.05, sims: int = 2000, seed: int = 0
) -> float:
    """Power of [`empirical.claims.stats.equivalence`][empirical.claims.stats.equivalence] (TOST at ``±margin``) when
    the true Spearman ρ is ``rho``
    (simulated through a Gaussian copula)."""
    if not 0 < margin < 1:
        raise ValueError(f"margin={margin!r}; valid: (0, 1)")
    if n < 4:
        return 0.0
    x, y = _copula(_rng(seed), sims, n, 2 * math.sin(math.pi * rho / 6))
    r, _ = _spearman_rows(x, y, "two-sided")
    z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    se, zm = 1.0 / math.sqrt(n - 3), math.atanh(margin)
    p_for = np.maximum(stats.norm.cdf((z - zm) / se), stats.norm.sf((z + zm) / se))
    return float(np.mean(p_for < alpha))


def runs_needed(
    power_at: Callable[[int], float], *, start: int = 2, target: float = 0.8, n_max: int = 5000
) -> int | None:
    """The smallest total ``n ≥ start`` found with ``power_at(n) ≥ target`` (doubling, then bisection).

    Returns:
        That ``n``, or ``None`` when even ``n_max`` units do not reach ``target`` (e.g. the paper's effect is nil).
    """
    lo, hi = max(1, int(start)) - 1, max(2, int(start))
    while power_at(hi) < target:
        lo = hi
        hi *= 2
        if hi > n_max:
            if power_at(n_max) < target:
                return None
            hi = n_max
            break
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if power_at(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi
