"""``python -m mlitheory verify``: every theorem family checked on instances, one table.

Each theorem module contributes a function ``verify_family(*, quick: bool, seed: int) -> list[FamilyReport]``
registered in :data:`FAMILIES`. A *counterexample* is an instance where the theorem's hypotheses hold and its
conclusion does not; there must be none. Rows whose hypotheses fail on purpose (tightness constructions,
converses) report them too, so a reader sees the boundary of each statement.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlitheory._results import Result, atomic_write_text

__all__ = ["FAMILIES", "FamilyReport", "VerifyReport", "format_table", "run_verify"]

#: ``"module:function"`` of each registered theorem family, in the order the table shows them.
FAMILIES: list[str] = [
    "mlitheory.theorem3:verify_family",
    "mlitheory.piecewise.theorem:verify_family",
    "mlitheory.bias_plateau:verify_family",
    "mlitheory.two_layer_linear:verify_family",
    "mlitheory.lemma7:verify_family",
    "mlitheory.wide_networks:verify_family",
]


@dataclass(frozen=True)
class FamilyReport(Result):
    """One row of the verification table.

    Attributes:
        theorem: short name of the statement checked (with its reference).
        instances: number of instances tried.
        hypotheses_held: instances on which the hypotheses hold.
        conclusion_held: instances on which the conclusion holds.
        counterexamples: instances with the hypotheses held and the conclusion failed (must be 0).
        worst_margin: smallest margin of the conclusion over the instances whose hypotheses hold
            (positive: holds with room; ``nan`` when no instance satisfied the hypotheses).
        note: what the row shows, in a few words.
        expect_conclusion: ``False`` for rows built to show the conclusion failing (tightness, converse),
            where ``conclusion_held`` is then expected to be small.
    """

    theorem: str
    instances: int
    hypotheses_held: int
    conclusion_held: int
    counterexamples: int
    worst_margin: float
    note: str = ""
    expect_conclusion: bool = True

    @property
    def ok(self) -> bool:
        return self.counterexamples == 0


@dataclass(frozen=True)
class VerifyReport(Result):
    """All rows of a ``verify`` run, with the settings used."""

    rows: list
    quick: bool
    seed: int

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def summary(self) -> str:
        return format_table(self.rows)


def _fmt_margin(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:+.3e}"


def format_table(rows: Sequence[FamilyReport]) -> str:
    """The verification table as aligned text (also valid Markdown)."""
    head = ["theorem", "instances", "hypotheses held", "conclusion held", "counterexamples", "worst margin", "note"]
    body = [
        [
            r.theorem,
            str(r.instances),
            str(r.hypotheses_held),
            str(r.conclusion_held),
            str(r.counterexamples),
            _fmt_margin(r.worst_margin),
            r.note,
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(b) for b in body]
    return "\n".join(out)


def run_verify(*, quick: bool = False, seed: int = 0, only: Sequence[str] | None = None) -> VerifyReport:
    """Run every registered family (or those whose module name contains one of ``only``)."""
    rows: list[FamilyReport] = []
    for entry in FAMILIES:
        module, _, func = entry.partition(":")
        if only and not any(o in module for o in only):
            continue
        fn = getattr(importlib.import_module(module), func)
        rows.extend(fn(quick=quick, seed=seed))
    return VerifyReport(rows=rows, quick=quick, seed=seed)


def write_report(report: VerifyReport, out: Path) -> None:
    """Write ``table.md`` and ``verify.json`` into ``out`` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "table.md", format_table(report.rows) + "\n")
    data = {
        "quick": report.quick,
        "seed": report.seed,
        "ok": report.ok,
        "rows": [dataclasses.asdict(r) for r in report.rows],
    }
    atomic_write_text(out / "verify.json", json.dumps(data, indent=1, allow_nan=True, default=_json_scalar))


def _json_scalar(value):
    """NumPy scalars and arrays that a family put in a row, as plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to verify.json")
