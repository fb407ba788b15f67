"""Rows of the verification table, and the two constructors every theorem family builds them with.

A leaf module: it imports nothing of the package but the result base, so the theorem families import it at module
level and [`mlitheory.verify`][mlitheory.verify] imports the families, with no circle.

Two kinds of row, shown in two sections of ``python -m mlitheory verify``:

* a **check** tries a theorem on instances: *hypotheses held* counts the instances on which the statement's
  hypotheses hold; *conclusion held* counts, **among those**, the instances on which the conclusion holds; a
  *counterexample* is an instance with the hypotheses held and the conclusion failed, so
  ``counterexamples = hypotheses_held − conclusion_held``, and there must be none. ``slack`` states the allowance
  the pass rule adds (rounding, quadrature error, a confidence interval), so a reader sees what "held" tolerates.
* a **demonstration** is a construction that shows where a statement ends (tightness, a converse that fails, an
  expected failure when a hypothesis is dropped). It has no counterexamples by construction; instead it states what
  it must show (``expected``) and on how many instances it did (``as_expected``). A demonstration that does not show
  what it must (fewer than ``required`` instances as expected) fails the run, like a counterexample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from mlitheory.results import Result

__all__ = ["FamilyReport", "check_counts", "check_row", "demonstration_row"]


@dataclass(frozen=True)
class FamilyReport(Result):
    """One row of the verification table (a check or a demonstration; see the module docstring).

    Attributes:
        theorem: the statement checked, or the construction shown, with its reference.
        kind: ``"check"`` or ``"demonstration"``.
        instances: number of instances tried.
        hypotheses_held: (check) instances on which the hypotheses hold; (demonstration) 0.
        conclusion_held: (check) instances, among ``hypotheses_held``, on which the conclusion holds.
        counterexamples: (check) ``hypotheses_held − conclusion_held``, must be 0; (demonstration) 0.
        worst_margin: (check) smallest margin of the conclusion over the instances whose hypotheses hold
            (positive: holds with room; ``nan`` when none, or when the row has no margin).
        slack: (check) the allowance the pass rule adds, in words ("" when none).
        expected: (demonstration) what the construction must show.
        as_expected: (demonstration) instances that showed it.
        required: (demonstration) how many must show it (all instances, unless the row says "occurs").
        note: what the row measured, in a few words.
    """

    theorem: str
    kind: str
    instances: int
    hypotheses_held: int = 0
    conclusion_held: int = 0
    counterexamples: int = 0
    worst_margin: float = math.nan
    slack: str = ""
    expected: str = ""
    as_expected: int = 0
    required: int = 0
    note: str = ""

    def __post_init__(self):
        if self.kind not in ("check", "demonstration"):
            raise ValueError(f"kind must be 'check' or 'demonstration', got {self.kind!r}")

    @property
    def ok(self) -> bool:
        """No counterexample (check), or the construction showed what it must (demonstration)."""
        if self.kind == "check":
            return self.counterexamples == 0
        return self.as_expected >= self.required


def check_row(
    theorem: str,
    hypotheses: Sequence[bool],
    conclusions: Sequence[bool],
    margins: Sequence[float] | None = None,
    *,
    slack: str = "",
    note: str = "",
) -> FamilyReport:
    """A check row from per-instance booleans (and margins, read only where the hypotheses hold).

    Args:
        theorem: the statement, with its reference.
        hypotheses: per instance, whether the statement's hypotheses hold.
        conclusions: per instance, whether its conclusion holds (counted only where the hypotheses hold).
        margins: per instance, the conclusion's margin (``None``: the row has none).
        slack: the allowance the pass rule adds, in words.
        note: what was measured.

    Raises:
        ValueError: the sequences differ in length, or a row has no instance.
    """
    hyp = [bool(h) for h in hypotheses]
    con = [bool(c) for c in conclusions]
    if len(hyp) != len(con) or (margins is not None and len(margins) != len(hyp)):
        raise ValueError(
            f"{theorem}: hypotheses ({len(hyp)}), conclusions ({len(con)})"
            + ("" if margins is None else f" and margins ({len(margins)})")
            + " must have one entry per instance"
        )
    if not hyp:
        raise ValueError(f"{theorem}: a check row needs at least one instance")
    held = sum(h and c for h, c in zip(hyp, con))
    worst = math.nan
    if margins is not None:
        vals = [float(m) for h, m in zip(hyp, margins) if h and math.isfinite(float(m))]
        worst = min(vals) if vals else math.nan
    return FamilyReport(
        theorem=theorem,
        kind="check",
        instances=len(hyp),
        hypotheses_held=sum(hyp),
        conclusion_held=held,
        counterexamples=sum(hyp) - held,
        worst_margin=worst,
        slack=slack,
        note=note,
    )


def check_counts(
    theorem: str,
    *,
    instances: int,
    hypotheses_held: int,
    counterexamples: int,
    worst_margin: float = math.nan,
    slack: str = "",
    note: str = "",
) -> FamilyReport:
    """A check row from counts, for families that tally instances as they go (see `check_row`).

    ``conclusion_held`` is derived as ``hypotheses_held − counterexamples`` (the conclusion among the instances
    whose hypotheses hold), so it means the same in every row.

    Raises:
        ValueError: counts that do not fit (negative, or more held or failed than tried).
    """
    n, h, c = int(instances), int(hypotheses_held), int(counterexamples)
    if not (n >= 1 and 0 <= h <= n and 0 <= c <= h):
        raise ValueError(
            f"{theorem}: need instances >= 1 and 0 <= counterexamples <= hypotheses_held <= instances, "
            f"got {n}, {c}, {h}"
        )
    wm = float(worst_margin)
    return FamilyReport(
        theorem=theorem,
        kind="check",
        instances=n,
        hypotheses_held=h,
        conclusion_held=h - c,
        counterexamples=c,
        worst_margin=wm if h and math.isfinite(wm) else math.nan,
        slack=slack,
        note=note,
    )


def demonstration_row(
    theorem: str, outcomes: Sequence[bool], *, expected: str, required: int | None = None, note: str = ""
) -> FamilyReport:
    """A demonstration row: per instance, whether the construction showed what it must (``expected``).

    Args:
        theorem: the construction and the statement whose boundary it shows.
        outcomes: per instance, whether it showed ``expected``.
        expected: what it must show, in words ("hypotheses fail and L rises", "G ≥ π/2 occurs", …).
        required: how many instances must show it (default: all).
        note: what was measured.
    """
    out = [bool(o) for o in outcomes]
    if not out:
        raise ValueError(f"{theorem}: a demonstration row needs at least one instance")
    need = len(out) if required is None else int(required)
    if not 0 < need <= len(out):
        raise ValueError(f"{theorem}: required must be in [1, {len(out)}], got {required}")
    return FamilyReport(
        theorem=theorem,
        kind="demonstration",
        instances=len(out),
        expected=expected,
        as_expected=sum(out),
        required=need,
        note=note,
    )
