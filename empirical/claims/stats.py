"""The statistical tests behind the claim rules, each a thin, checked call of `scipy.stats`.

Every test returns a [`Outcome`][empirical.claims.stats.Outcome]: the estimate of the claim's statistic with a
confidence interval, the one-sided p-value in the paper's direction (``p_for``) and the one against it (``p_against``),
and the counts. A claim is *supported* when ``p_for`` is below α and *contradicted* when ``p_against`` is (after the
report's correction for multiple claims, [`empirical.claims.rules.judge`][empirical.claims.rules.judge]).

- ```share_difference``` — ``fisher_exact`` or ``boschloo_exact``, one-sided; odds ratio, exact conditional CI
  (``contingency.odds_ratio``)
- ```share_bound``` — ``binomtest`` against the bound, one-sided; share, Clopper–Pearson CI
- ```predicts``` — ``mannwhitneyu``, one-sided; ROC AUC (U / n₊n₋), bootstrap CI
- ```trend``` — ``spearmanr`` / ``pearsonr``, one-sided           ρ (; r), bootstrap (Fisher-z) CI
- ```paired``` — ``wilcoxon`` or ``ttest_rel``, one-sided; mean difference, t CI
- ```mean_bound``` — ``ttest_1samp`` or ``wilcoxon`` against the bound; mean, t CI
- ```equivalence``` — two one-sided tests (TOST) of Spearman's ρ within ±margin, on the ranks through ``pearsonr``; ρ,
  Fisher-z CI at 1 − 2α

The equivalence test is the one place where a p-value is written out: scipy has no test of a correlation against a
non-zero value, so the TOST p-values are the Fisher-z normal tail areas
$\\Phi\\big((\\operatorname{atanh} r \\mp \\operatorname{atanh} m)\\sqrt{n-3}\\big)$, the same approximation that
``scipy.stats.pearsonr(...).confidence_interval`` inverts (the tests check that the two agree).

References:
    Schuirmann 1987 (two one-sided tests); Holm 1979 (step-down correction); Fisher 1921 (z-transform).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

__all__ = [
    "Outcome",
    "clopper_pearson",
    "equivalence",
    "mean_bound",
    "paired",
    "predicts",
    "share_bound",
    "share_difference",
    "trend",
]

#: two-sided level of the confidence intervals shown beside the estimates
CI_LEVEL = 0.95


@dataclasses.dataclass(frozen=True)
class Outcome:
    """The result of one test.

    Attributes:
        test: the test, as named in reports (e.g. ``"Fisher exact, one-sided"``).
        statistic: what ``estimate`` is (e.g. ``"odds ratio"``, ``"AUC"``, ``"Spearman ρ"``).
        estimate: our value of the statistic (``None`` when undefined, e.g. an empty group).
        ci: confidence interval ``(low, high)`` of the estimate, or ``None``.
        ci_level: its two-sided level.
        p_for: one-sided p-value in the paper's direction (the claim holds).
        p_against: one-sided p-value against it.
        n: units used.
        counts: the group sizes and counts (kind-specific, e.g. ``{"a": [k, n], "b": [k, n]}``).
        detail: further numbers (kind-specific, e.g. each group's share with its interval).
    """

    test: str
    statistic: str
    estimate: float | None
    ci: tuple[float, float] | None
    ci_level: float
    p_for: float
    p_against: float
    n: int
    counts: dict
    detail: dict = dataclasses.field(default_factory=dict)


def _finite(values: Sequence[float], name: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(v)):
        bad = int(np.flatnonzero(~np.isfinite(v))[0])
        raise ValueError(f"{name}: value {v[bad]!r} at position {bad} is not finite; drop or fix that unit first")
    return v


def _alternatives(direction: str, up: str, down: str) -> tuple[str, str]:
    """(scipy ``alternative`` for the claim, for its opposite) given a direction word ``up`` or ``down``."""
    if direction == up:
        return "greater", "less"
    if direction == down:
        return "less", "greater"
    raise ValueError(f"direction={direction!r}; valid: {up!r}, {down!r}")


def clopper_pearson(k: int, n: int, level: float = CI_LEVEL) -> tuple[float, float] | None:
    """Exact (Clopper–Pearson) interval of a share ``k / n`` (``scipy.stats.binomtest``); ``None`` when ``n = 0``."""
    if n == 0:
        return None
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def _count(k: int, n: int, name: str) -> tuple[int, int]:
    if int(k) != k or int(n) != n or not 0 <= k <= n:
        raise ValueError(f"{name}: need integer counts 0 ≤ k ≤ n; got k={k!r}, n={n!r}")
    return int(k), int(n)


def share_difference(
    k_a: int, n_a: int, k_b: int, n_b: int, *, direction: str = "greater", test: str = "fisher"
) -> Outcome:
    """Is the share of group a larger (``direction="greater"``) or smaller (``"less"``) than that of group b?

    Args:
        k_a, n_a: events and units of group a (e.g. non-monotone runs among Adam runs).
        k_b, n_b: the same for group b.
        direction: the paper's claim, ``"greater"`` (share a > share b) or ``"less"``.
        test: ``"fisher"`` (``scipy.stats.fisher_exact``, conditional) or ``"boschloo"``
            (``scipy.stats.boschloo_exact``: unconditional, uniformly more powerful than Fisher's; slower).

    Returns:
        [`Outcome`][empirical.claims.stats.Outcome] with the conditional odds ratio
        (``scipy.stats.contingency.odds_ratio``) and its exact interval as estimate and ``ci``; ``detail`` holds each
        group's share and Clopper–Pearson interval.
    """
    k_a, n_a = _count(k_a, n_a, "group a")
    k_b, n_b = _count(k_b, n_b, "group b")
    if n_a == 0 or n_b == 0:
        raise ValueError(f"share_difference needs units in both groups; got n_a={n_a}, n_b={n_b}")
    alt_for, alt_against = _alternatives(direction, "greater", "less")
    table = [[k_a, n_a - k_a], [k_b, n_b - k_b]]
    if test == "fisher":
        p_for = stats.fisher_exact(table, alternative=alt_for).pvalue
        p_against = stats.fisher_exact(table, alternative=alt_against).pvalue
        name = "Fisher exact, one-sided"
    elif test == "boschloo":
        cols = [[k_a, k_b], [n_a - k_a, n_b - k_b]]  # scipy's unconditional tests: each column is one sample
        p_for = stats.boschloo_exact(cols, alternative=alt_for).pvalue
        p_against = stats.boschloo_exact(cols, alternative=alt_against).pvalue
        name = "Boschloo exact, one-sided"
    else:
        raise ValueError(f"test={test!r} for shares; valid: 'fisher', 'boschloo'")
    ratio = stats.contingency.odds_ratio(table, kind="conditional")
    ci = ratio.confidence_interval(confidence_level=CI_LEVEL)
    return Outcome(
        test=name,
        statistic="odds ratio",
        estimate=float(ratio.statistic),
        ci=(float(ci.low), float(ci.high)),
        ci_level=CI_LEVEL,
        p_for=float(p_for),
        p_against=float(p_against),
        n=n_a + n_b,
        counts={"a": [k_a, n_a], "b": [k_b, n_b]},
        detail={
            "share_a": k_a / n_a,
            "share_b": k_b / n_b,
            "ci_a": clopper_pearson(k_a, n_a),
            "ci_b": clopper_pearson(k_b, n_b),
            "difference": k_a / n_a - k_b / n_b,
        },
    )


def share_bound(k: int, n: int, *, bound: float, direction: str = "below") -> Outcome:
    """Is a share below (``direction="below"``) or above (``"above"``) ``bound``? Exact binomial test.

    ``p_for`` is ``scipy.stats.binomtest(k, n, bound)`` one-sided in the claim's direction; ``p_against`` the
    other side.
    """
    k, n = _count(k, n, "share")
    if n == 0:
        raise ValueError("share_bound needs at least one unit")
    if not 0 < bound < 1:
        raise ValueError(f"bound={bound!r}; a share bound must lie strictly between 0 and 1")
    alt_for, alt_against = _alternatives(direction, "above", "below")
    p_for = stats.binomtest(k, n, bound, alternative=alt_for).pvalue
    p_against = stats.binomtest(k, n, bound, alternative=alt_against).pvalue
    return Outcome(
        test=f"exact binomial against {bound:g}, one-sided",
        statistic="share",
        estimate=k / n,
        ci=clopper_pearson(k, n),
        ci_level=CI_LEVEL,
        p_for=float(p_for),
        p_against=float(p_against),
        n=n,
        counts={"k": k, "n": n},
        detail={"bound": bound},
    )


def _bootstrap_ci(
    data: tuple, statistic: Any, *, paired: bool, seed: int, n_resamples: int = 2000, vectorized: bool = False
):
    """Percentile bootstrap interval (``scipy.stats.bootstrap``), ``None`` when it is degenerate."""
    if any(len(d) < 2 for d in data):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a degenerate resample distribution warns and gives NaN; reported as None
        res = stats.bootstrap(
            data,
            statistic,
            paired=paired,
            vectorized=vectorized,
            n_resamples=n_resamples,
            confidence_level=CI_LEVEL,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None


def _auc(pos: np.ndarray, neg: np.ndarray, axis: int = -1) -> np.ndarray:
    """ROC AUC: the Mann–Whitney U of the positives over ``n₊ n₋`` (along ``axis``, for the bootstrap)."""
    u = stats.mannwhitneyu(pos, neg, axis=axis).statistic
    return u / (pos.shape[axis] * neg.shape[axis])


def predicts(
    positive: Sequence[float],
    negative: Sequence[float],
    *,
    direction: str = "greater",
    test: str = "mannwhitney",
    seed: int = 0,
) -> Outcome:
    """Does a score predict an outcome: are the scores of the positive units larger (or smaller) than the negatives'?

    Args:
        positive: scores of the units where the outcome holds (e.g. distances of non-monotone runs).
        negative: scores of the others.
        direction: ``"greater"`` (positives score higher, AUC > ½) or ``"less"``.
        test: ``"mannwhitney"`` (``scipy.stats.mannwhitneyu``; exact for small samples without ties).
        seed: seed of the bootstrap interval.

    Returns:
        [`Outcome`][empirical.claims.stats.Outcome] with the ROC AUC $U/(n_+ n_-)$ and its percentile bootstrap
        interval.
    """
    pos, neg = _finite(positive, "positive scores"), _finite(negative, "negative scores")
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError(f"predicts needs both outcomes; got {len(pos)} positive and {len(neg)} negative units")
    alt_for, alt_against = _alternatives(direction, "greater", "less")
    if test != "mannwhitney":
        raise ValueError(f"test={test!r} for predicts; valid: 'mannwhitney'")
    p_for = stats.mannwhitneyu(pos, neg, alternative=alt_for).pvalue
    p_against = stats.mannwhitneyu(pos, neg, alternative=alt_against).pvalue
    name = "Mann–Whitney U, one-sided"
    return Outcome(
        test=name,
        statistic="AUC",
        estimate=float(_auc(pos, neg)),
        ci=_bootstrap_ci((pos, neg), _auc, paired=False, seed=seed, vectorized=True),
        ci_level=CI_LEVEL,
        p_for=float(p_for),
        p_against=float(p_against),
        n=len(pos) + len(neg),
        counts={"positive": len(pos), "negative": len(neg)},
        detail={"median_positive": float(np.median(pos)), "median_negative": float(np.median(neg))},
    )


#: up to this many units, Spearman's test uses the exact permutation distribution (n! pairings), not the t
#: approximation of ``spearmanr`` (which gives p = 0 for three perfectly ordered points)
EXACT_SPEARMAN_MAX = 8


def spearman_along(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman's ρ along ``axis``: Pearson's r of the ranks (``scipy.stats.rankdata``, ties averaged)."""
    rx, ry = stats.rankdata(x, axis=axis), stats.rankdata(y, axis=axis)
    rx = rx - rx.mean(axis=axis, keepdims=True)
    ry = ry - ry.mean(axis=axis, keepdims=True)
    return (rx * ry).sum(axis=axis) / np.sqrt((rx * rx).sum(axis=axis) * (ry * ry).sum(axis=axis))


def _prepare_xy(x: Sequence[float], y: Sequence[float], log: bool) -> tuple[np.ndarray, np.ndarray]:
    x, y = _finite(x, "x"), _finite(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length ({len(x)} and {len(y)})")
    if log:
        if np.any(x <= 0) or np.any(y <= 0):
            raise ValueError("log=True needs positive x and y; drop the non-positive units first")
        x, y = np.log(x), np.log(y)
    return x, y


def trend(
    x: Sequence[float],
    y: Sequence[float],
    *,
    direction: str = "increasing",
    method: str = "spearman",
    test: str = "exact",
    log: bool = False,
    seed: int = 0,
) -> Outcome:
    """Does ``y`` increase (or decrease) with ``x``? A one-sided test of a rank (or linear) correlation.

    Args:
        x, y: paired values, one pair per unit.
        direction: ``"increasing"`` or ``"decreasing"``.
        method: ``"spearman"`` (rank correlation ρ, ``scipy.stats.spearmanr``) or ``"pearson"``
            (``scipy.stats.pearsonr``; with ``log=True`` this is the log–log fit of a power law, R² = r²).
        test: ``"exact"``: for Spearman, the exact permutation distribution of ρ up to
            `EXACT_SPEARMAN_MAX` units (``scipy.stats.permutation_test``), the t approximation of
            ``spearmanr`` above; for Pearson, ``pearsonr`` (exact under normality).
        log: correlate ``log x`` and ``log y``.
        seed: seed of the bootstrap interval.

    Returns:
        [`Outcome`][empirical.claims.stats.Outcome] with ρ (r) and its interval: percentile bootstrap of the pairs for
        Spearman, the Fisher-z interval of ``pearsonr`` for Pearson.
    """
    x, y = _prepare_xy(x, y, log)
    if len(x) < 3:
        raise ValueError(f"trend needs at least 3 units; got {len(x)}")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise ValueError("trend: x or y is constant, so no correlation is defined")
    alt_for, alt_against = _alternatives(direction, "increasing", "decreasing")
    if method == "spearman":
        corr = lambda a, b: stats.spearmanr(a, b).statistic
        label = "Spearman ρ"
    elif method == "pearson":
        corr = lambda a, b: stats.pearsonr(a, b).statistic
        label = "Pearson r" + (" (log–log)" if log else "")
    else:
        raise ValueError(f"method={method!r}; valid: 'spearman', 'pearson'")
    if test != "exact":
        raise ValueError(f"test={test!r} for trend; valid: 'exact'")
    if method == "spearman" and len(x) <= EXACT_SPEARMAN_MAX:
        kw = {"permutation_type": "pairings", "n_resamples": np.inf, "vectorized": True}
        p_for = stats.permutation_test((x, y), spearman_along, alternative=alt_for, **kw).pvalue
        p_against = stats.permutation_test((x, y), spearman_along, alternative=alt_against, **kw).pvalue
        name = "Spearman correlation, exact permutation distribution, one-sided"
    else:
        fn = stats.spearmanr if method == "spearman" else stats.pearsonr
        p_for = fn(x, y, alternative=alt_for).pvalue
        p_against = fn(x, y, alternative=alt_against).pvalue
        name = f"{'Spearman' if method == 'spearman' else 'Pearson'} correlation, one-sided"
    est = float(corr(x, y))
    if method == "pearson":
        ci_obj = stats.pearsonr(x, y).confidence_interval(confidence_level=CI_LEVEL)
        ci = (float(ci_obj.low), float(ci_obj.high)) if len(x) > 3 else None
    else:
        ci = _bootstrap_ci((x, y), spearman_along, paired=True, seed=seed, vectorized=True)
    detail = {"r2": est**2} if method == "pearson" else {}
    return Outcome(name, label, est, ci, CI_LEVEL, float(p_for), float(p_against), len(x), {"n": len(x)}, detail)


def _mean_ci(v: np.ndarray) -> tuple[float, float] | None:
    if len(v) < 2 or np.ptp(v) == 0:
        return None
    ci = stats.ttest_1samp(v, 0.0).confidence_interval(confidence_level=CI_LEVEL)
    return float(ci.low), float(ci.high)


def paired(a: Sequence[float], b: Sequence[float], *, direction: str = "greater", test: str = "wilcoxon") -> Outcome:
    """Is ``a`` larger (or smaller) than ``b`` on the same units? A one-sided paired test.

    Args:
        a, b: the two measurements of each unit (e.g. the plateau of the linear and of the homogeneous path).
        direction: ``"greater"`` (a > b) or ``"less"``.
        test: ``"wilcoxon"`` (signed-rank, ``scipy.stats.wilcoxon``; zero differences dropped) or ``"ttest"``
            (``scipy.stats.ttest_rel``).

    Returns:
        [`Outcome`][empirical.claims.stats.Outcome] with the mean difference a − b and its t interval.
    """
    a, b = _finite(a, "a"), _finite(b, "b")
    if len(a) != len(b):
        raise ValueError(f"a and b differ in length ({len(a)} and {len(b)})")
    d = a - b
    if len(d) < 2:
        raise ValueError(f"paired needs at least 2 units; got {len(d)}")
    alt_for, alt_against = _alternatives(direction, "greater", "less")
    if test == "wilcoxon":
        if np.all(d == 0):
            p_for = p_against = 1.0
        else:
            p_for = stats.wilcoxon(d, alternative=alt_for).pvalue
            p_against = stats.wilcoxon(d, alternative=alt_against).pvalue
        name = "Wilcoxon signed-rank, one-sided"
    elif test == "ttest":
        if np.ptp(d) == 0:
            raise ValueError("paired t-test: every difference is the same, so its variance is zero; use 'wilcoxon'")
        p_for = stats.ttest_rel(a, b, alternative=alt_for).pvalue
        p_against = stats.ttest_rel(a, b, alternative=alt_against).pvalue
        name = "paired t-test, one-sided"
    else:
        raise ValueError(f"test={test!r} for paired; valid: 'wilcoxon', 'ttest'")
    return Outcome(
        name,
        "mean difference",
        float(d.mean()),
        _mean_ci(d),
        CI_LEVEL,
        float(p_for),
        float(p_against),
        len(d),
        {"n": len(d), "nonzero": int(np.sum(d != 0))},
    )


def mean_bound(
    values: Sequence[float],
    *,
    bound: float,
    direction: str = "below",
    test: str = "ttest",
    log: bool = False,
) -> Outcome:
    """Is the mean (``ttest``) or the median (``wilcoxon``) of ``values`` below (or above) ``bound``?

    Args:
        values: one measurement per unit (e.g. the loss ratio across an optimiser switch, per run).
        bound: the claim's threshold (in the units of ``values``; with ``log=True`` compared as ``log bound``).
        direction: ``"below"`` or ``"above"``.
        test: ``"ttest"`` (``scipy.stats.ttest_1samp``) or ``"wilcoxon"`` (signed-rank of ``values − bound``).
        log: test ``log values`` against ``log bound`` (for ratios).
    """
    v = _finite(values, "values")
    if log:
        if np.any(v <= 0) or bound <= 0:
            raise ValueError("log=True needs positive values and bound")
        v, ref = np.log(v), math.log(bound)
    else:
        ref = float(bound)
    if len(v) < 2:
        raise ValueError(f"mean_bound needs at least 2 units; got {len(v)}")
    alt_for, alt_against = _alternatives(direction, "above", "below")
    if test == "ttest":
        if np.ptp(v) == 0:
            raise ValueError("one-sample t-test: every value is the same, so its variance is zero; use 'wilcoxon'")
        p_for = stats.ttest_1samp(v, ref, alternative=alt_for).pvalue
        p_against = stats.ttest_1samp(v, ref, alternative=alt_against).pvalue
        name = f"one-sample t-test against {bound:g}{' (log scale)' if log else ''}, one-sided"
    elif test == "wilcoxon":
        d = v - ref
        if np.all(d == 0):
            p_for = p_against = 1.0
        else:
            p_for = stats.wilcoxon(d, alternative=alt_for).pvalue
            p_against = stats.wilcoxon(d, alternative=alt_against).pvalue
        name = f"Wilcoxon signed-rank against {bound:g}{' (log scale)' if log else ''}, one-sided"
    else:
        raise ValueError(f"test={test!r} for mean_bound; valid: 'ttest', 'wilcoxon'")
    est, ci = float(v.mean()), _mean_ci(v)
    if log:
        est = math.exp(est)
        ci = None if ci is None else (math.exp(ci[0]), math.exp(ci[1]))
    return Outcome(
        name,
        "geometric mean" if log else "mean",
        est,
        ci,
        CI_LEVEL,
        float(p_for),
        float(p_against),
        len(v),
        {"n": len(v)},
        {"bound": bound},
    )


def _fisher_z_tails(r: float, n: int, margin: float) -> tuple[float, float, float, float]:
    """One-sided Fisher-z p-values of H0 ρ ≥ m, H0 ρ ≤ −m (equivalence) and H0 ρ ≤ m, H0 ρ ≥ −m (outside)."""
    se = 1.0 / math.sqrt(n - 3)
    z = math.atanh(float(np.clip(r, -1 + 1e-15, 1 - 1e-15)))
    zm = math.atanh(margin)
    below_upper = stats.norm.cdf((z - zm) / se)  # small when ρ is clearly below +m
    above_lower = stats.norm.sf((z + zm) / se)  # small when ρ is clearly above −m
    above_upper = stats.norm.sf((z - zm) / se)  # small when ρ is clearly above +m
    below_lower = stats.norm.cdf((z + zm) / se)  # small when ρ is clearly below −m
    return float(below_upper), float(above_lower), float(above_upper), float(below_lower)


def equivalence(x: Sequence[float], y: Sequence[float], *, margin: float, alpha: float = 0.05) -> Outcome:
    """Is Spearman's ρ between ``x`` and ``y`` within ``±margin`` (a null claim: "x does not predict y")?

    Two one-sided tests (TOST) on Fisher's z of the rank correlation, with standard error $1/\\sqrt{n-3}$:
    ``p_for = max`` of the p-values of $H_0: \\rho \\ge m$ and $H_0: \\rho \\le -m$; ``p_against``
    (ρ lies outside the margin) is twice the smaller of the p-values of $H_0: \\rho \\le m$ and
    $H_0: \\rho \\ge -m$ (Bonferroni over the two sides). The interval is the $1-2\\alpha$ Fisher-z
    interval of ``scipy.stats.pearsonr`` on the ranks, the one whose inclusion in ``(−m, m)`` is the TOST at α.

    Args:
        x, y: paired values, at least 4 units.
        margin: the equivalence margin ``m`` in (0, 1): correlations inside ``(−m, m)`` count as "no relation".
        alpha: level that sets the interval (1 − 2α).
    """
    x, y = _prepare_xy(x, y, False)
    if not 0 < margin < 1:
        raise ValueError(f"margin={margin!r}; an equivalence margin of a correlation lies in (0, 1)")
    n = len(x)
    if n < 4:
        raise ValueError(f"equivalence needs at least 4 units; got {n}")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise ValueError("equivalence: x or y is constant, so no correlation is defined")
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    r = float(stats.pearsonr(rx, ry).statistic)
    p1, p2, q1, q2 = _fisher_z_tails(r, n, margin)
    ci = stats.pearsonr(rx, ry).confidence_interval(confidence_level=1 - 2 * alpha)
    return Outcome(
        test=f"two one-sided tests (Fisher z) of |ρ| < {margin:g}",
        statistic="Spearman ρ",
        estimate=r,
        ci=(float(ci.low), float(ci.high)),
        ci_level=1 - 2 * alpha,
        p_for=max(p1, p2),
        p_against=min(1.0, 2 * min(q1, q2)),
        n=n,
        counts={"n": n},
        detail={"margin": margin},
    )
