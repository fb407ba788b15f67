"""A paper's table against ours, cell by cell: our share with its exact interval beside the paper's number.

Where a paper prints a table of shares with their counts (Lucas et al. 2021, Tables 1 and 2), each cell of ours is
compared with the paper's: our share k/n with its Clopper–Pearson 95 % interval, the paper's share (and count), and
whether the paper's share lies inside our interval. The two-sided Fisher exact p-value of ours against the paper's
counts (its share times its count, rounded) is given beside it. A cell of ours without runs, or a cell the paper
leaves empty ("-"), is shown but not counted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from empirical.claims.stats import CI_LEVEL, clopper_pearson

__all__ = ["CellComparison", "compare_means", "compare_shares"]


@dataclasses.dataclass(frozen=True)
class CellComparison:
    """Paper vs ours over the cells of a table.

    Attributes:
        rows: one dict per cell: ``cell``, ``ours`` (share or mean), ``n``, ``ci_low``, ``ci_high``, ``paper``,
            ``paper_n``, ``agree`` (``True``/``False``, ``None`` when not compared), ``p_value`` (two-sided, ours
            against the paper's counts; ``None`` when not compared).
        compared: cells with both numbers.
        agree: cells where the paper's number lies inside our interval.
        ci_level: level of the intervals.
    """

    rows: list
    compared: int
    agree: int
    ci_level: float = CI_LEVEL

    def summary(self) -> str:
        return (
            f"{self.agree} of {self.compared} cells agree (the paper's number inside our {self.ci_level:.0%} interval)"
        )

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def compare_shares(
    ours: Mapping[str, tuple[int, int]], paper: Mapping[str, tuple[float, int] | None]
) -> CellComparison:
    """Compare cells of shares.

    Args:
        ours: cell → ``(k, n)``: events and units of ours.
        paper: cell → ``(share, count)`` as the paper prints it, or ``None`` for an empty cell.

    Returns:
        [`CellComparison`][empirical.claims.cells.CellComparison] over the cells of ``ours`` (in their order).
    """
    rows, compared, agree = [], 0, 0
    for cell, (k, n) in ours.items():
        ref = paper.get(cell)
        ci = clopper_pearson(k, n)
        row = {
            "cell": cell,
            "ours": k / n if n else None,
            "k": int(k),
            "n": int(n),
            "ci_low": None if ci is None else ci[0],
            "ci_high": None if ci is None else ci[1],
            "paper": None if ref is None else float(ref[0]),
            "paper_n": None if ref is None else int(ref[1]),
            "agree": None,
            "p_value": None,
        }
        if ci is not None and ref is not None:
            share, count = float(ref[0]), int(ref[1])
            kp = round(share * count)
            row["agree"] = bool(ci[0] <= share <= ci[1])
            row["p_value"] = float(stats.fisher_exact([[k, n - k], [kp, count - kp]]).pvalue)
            compared += 1
            agree += row["agree"]
        rows.append(row)
    return CellComparison(rows, compared, agree)


def compare_means(ours: Mapping[str, Sequence[float]], paper: Mapping[str, float | None]) -> CellComparison:
    """Compare cells of means (e.g. the mean min Δ of the non-monotone runs) through the t interval of ours.

    A cell with fewer than two values of ours, or with constant values, has no interval and is not compared.
    """
    rows, compared, agree = [], 0, 0
    for cell, values in ours.items():
        v = np.asarray(values, dtype=np.float64)
        ref = paper.get(cell)
        ci = None
        if len(v) >= 2 and np.ptp(v) > 0:
            res = stats.ttest_1samp(v, 0.0).confidence_interval(confidence_level=CI_LEVEL)
            ci = (float(res.low), float(res.high))
        row = {
            "cell": cell,
            "ours": float(v.mean()) if len(v) else None,
            "n": len(v),
            "ci_low": None if ci is None else ci[0],
            "ci_high": None if ci is None else ci[1],
            "paper": None if ref is None else float(ref),
            "paper_n": None,
            "agree": None,
            "p_value": None,
        }
        if ci is not None and ref is not None:
            row["agree"] = bool(ci[0] <= float(ref) <= ci[1])
            row["p_value"] = float(stats.ttest_1samp(v, float(ref)).pvalue)
            compared += 1
            agree += row["agree"]
        rows.append(row)
    return CellComparison(rows, compared, agree)
