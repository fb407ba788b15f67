"""The paper's table against ours, cell by cell: exact intervals, agreement counts, the two-sided tests."""

import math

import pytest
from scipy import stats

from empirical.claims import compare_means, compare_shares
from empirical.experiments._common import cells_table


def test_compare_shares_against_closed_forms():
    ours = {"a": (0, 12), "b": (6, 10), "c": (3, 4), "d": (0, 0)}
    paper = {"a": (0.0, 24), "b": (0.68, 22), "c": (0.17, 24), "d": (1.0, 16), "e": (0.5, 10)}
    cmp = compare_shares(ours, paper)
    rows = {r["cell"]: r for r in cmp.rows}
    assert list(rows) == ["a", "b", "c", "d"]  # the cells of ours, in order
    # k = 0: the exact upper bound solves (1 − p)^n = 0.025
    assert rows["a"]["ci_low"] == 0 and rows["a"]["ci_high"] == pytest.approx(1 - 0.025 ** (1 / 12))
    assert rows["a"]["agree"] is True and rows["a"]["p_value"] == pytest.approx(1.0)
    # 6/10 against 0.68 of 22 (15 of 22): inside; Fisher two-sided on the counts
    lo, hi = stats.beta.ppf(0.025, 6, 5), stats.beta.ppf(0.975, 7, 4)  # Clopper–Pearson by the beta quantiles
    assert (rows["b"]["ci_low"], rows["b"]["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert rows["b"]["agree"] is True
    assert rows["b"]["p_value"] == pytest.approx(stats.fisher_exact([[6, 4], [15, 7]]).pvalue)
    # 3/4 against 0.17 of 24: 0.17 lies below the interval's lower end (0.194)
    assert rows["c"]["agree"] is False and rows["c"]["ci_low"] > 0.17
    # no run of ours: shown, not compared
    assert rows["d"]["ours"] is None and rows["d"]["agree"] is None
    assert (cmp.compared, cmp.agree) == (3, 2)
    assert cmp.summary().startswith("2 of 3 cells agree")


def test_compare_means_uses_the_t_interval():
    cmp = compare_means({"x": [0.2, 0.4, 0.6], "y": [0.5], "z": [1.0, 1.0]}, {"x": 0.9, "y": 0.5, "z": 1.0})
    rows = {r["cell"]: r for r in cmp.rows}
    half = stats.t.ppf(0.975, 2) * 0.2 / math.sqrt(3)
    assert rows["x"]["ci_low"] == pytest.approx(0.4 - half) and rows["x"]["ci_high"] == pytest.approx(0.4 + half)
    assert rows["x"]["agree"] is False  # 0.9 is outside [0.40 ± 0.50]
    assert rows["x"]["p_value"] == pytest.approx(stats.ttest_1samp([0.2, 0.4, 0.6], 0.9).pvalue)
    assert rows["y"]["agree"] is None and rows["z"]["agree"] is None  # one value; no spread
    assert (cmp.compared, cmp.agree) == (1, 0)


def test_cells_table_shows_both_and_counts():
    cmp = compare_shares({"Adam BN, lr 0.01": (0, 8)}, {"Adam BN, lr 0.01": (0.83, 24)})
    t = cells_table("t1", "title", cmp)
    row = t.rows[0]
    assert row["paper"] == "0.83 (24)" and row["ours"] == "0.00 (0/8)" and row["agree"] is False
    assert "0 of 1 cells agree" in t.note
