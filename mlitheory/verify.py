"""``python -m mlitheory verify``: every theorem family checked on instances, one table in two sections.

Each theorem family contributes ``verify_family(*, quick: bool, seed: int) -> list[FamilyReport]``, registered in
[`FAMILIES`][mlitheory.verify.FAMILIES] under a short name. Its rows are built with the constructors of the leaf module
`mlitheory._rows` (which imports no theorem module, so there is no import circle):

* **checks** — a theorem tried on instances. *Hypotheses held* counts the instances whose hypotheses hold;
  *conclusion held* counts, among those, the instances whose conclusion holds; a *counterexample* is an instance
  with the hypotheses held and the conclusion failed (there must be none). *Slack* states the allowance the pass
  rule adds.
* **demonstrations and expected failures** — constructions that show where a statement ends (tightness, a false
  converse, a hypothesis that cannot be dropped). They have no counterexamples by construction; each states what it
  must show and on how many instances it did.

The run fails (exit status 1) on a counterexample or on a demonstration that did not show what it must.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlitheory._rows import FamilyReport
from mlitheory.results import Result, atomic_write_text

__all__ = ["FAMILIES", "FamilyReport", "VerifyReport", "family_names", "format_table", "run_verify"]

#: the registered theorem families, in the order the table shows them: ``name -> "module:function"`` (or the function
#: itself). The modules are imported when their family runs (``--only`` imports just the ones asked for).
FAMILIES: dict[str, str] = {
    "theorem3": "mlitheory.theorem3._verify:verify_family",
    "piecewise": "mlitheory.piecewise._verify:verify_family",
    "bias_plateau": "mlitheory.bias_plateau._verify:verify_family",
    "two_layer_linear": "mlitheory.two_layer_linear._verify:verify_family",
    "lemma7": "mlitheory.wide._verify:lemma7_family",
    "wide_networks": "mlitheory.wide._verify:networks_family",
}


def family_names() -> list[str]:
    """The names ``--only`` accepts."""
    return list(FAMILIES)


def _load(entry: str | Callable) -> Callable:
    if callable(entry):
        return entry
    module, _, func = entry.partition(":")
    return getattr(importlib.import_module(module), func)


def select_families(only: Sequence[str] | None = None) -> list[str]:
    """The family names to run: all, or those whose name (or module) contains one of ``only``.

    Raises:
        ValueError: an entry of ``only`` matches no family (the message lists the names).
    """
    if not only:
        return list(FAMILIES)
    chosen = []
    for o in only:
        hits = [n for n, e in FAMILIES.items() if o in n or (isinstance(e, str) and o in e.partition(":")[0])]
        if not hits:
            raise ValueError(f"--only {o!r} matches no theorem family; the families are: {', '.join(FAMILIES)}")
        chosen += [h for h in hits if h not in chosen]
    return [n for n in FAMILIES if n in chosen]


@dataclass(frozen=True)
class VerifyReport(Result):
    """All rows of a ``verify`` run, with the settings used."""

    rows: list
    quick: bool
    seed: int

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def checks(self) -> list:
        return [r for r in self.rows if r.kind == "check"]

    @property
    def demonstrations(self) -> list:
        return [r for r in self.rows if r.kind == "demonstration"]

    def summary(self) -> str:
        return format_table(self.rows)


def _fmt_margin(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:+.3e}"


def _aligned(head: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    return [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(b) for b in body]


def format_table(rows: Sequence[FamilyReport]) -> str:
    """The verification table as aligned text (also valid Markdown): checks, then demonstrations."""
    checks = [r for r in rows if r.kind == "check"]
    demos = [r for r in rows if r.kind == "demonstration"]
    out = [
        "## Checks: hypotheses ⇒ conclusion",
        "",
        "'conclusion held' counts the instances whose conclusion holds among those whose hypotheses hold; a "
        "counterexample is hypotheses held and conclusion failed (there must be none).",
        "",
    ]
    out += _aligned(
        [
            "theorem",
            "instances",
            "hypotheses held",
            "conclusion held",
            "counterexamples",
            "worst margin",
            "slack",
            "note",
        ],
        [
            [
                r.theorem,
                str(r.instances),
                str(r.hypotheses_held),
                str(r.conclusion_held),
                str(r.counterexamples),
                _fmt_margin(r.worst_margin),
                r.slack or "none",
                r.note,
            ]
            for r in checks
        ],
    )
    if demos:
        out += [
            "",
            "## Demonstrations and expected failures",
            "",
            "Constructions that show where a statement ends; each must show what it states on the required instances.",
            "",
        ]
        out += _aligned(
            ["construction", "instances", "expected", "as expected", "required", "note"],
            [[r.theorem, str(r.instances), r.expected, str(r.as_expected), str(r.required), r.note] for r in demos],
        )
    return "\n".join(out)


def run_verify(*, quick: bool = False, seed: int = 0, only: Sequence[str] | None = None) -> VerifyReport:
    """Run every registered family (or those selected by ``only``, see `select_families`).

    Raises:
        ValueError: ``only`` matches no family.
    """
    rows: list[FamilyReport] = []
    for name in select_families(only):
        rows.extend(_load(FAMILIES[name])(quick=quick, seed=seed))
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
