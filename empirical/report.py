"""Reports of the reproductions: tables (Markdown + CSV), figures (PNG + PDF), a JSON of every number, claims.

An experiment's analysis fills a :class:`Report` through a few calls::

    rep = Report(name="lucas_table1", version=1, scale="small", title="...", reference="...")
    rep.table(Table("table1", "Proportion of non-monotone runs", columns, rows))
    rep.figure("scatter", fig, "min Δ against distance")
    rep.claim(Claim("sgd_small_lr", "SGD with small learning rates always gave MLI", "Lucas et al. 2021, §4.1.1",
                    verdict="supported", evidence="0 of 12 runs with lr ≤ 0.1 non-monotone", numbers={...}))
    rep.write(folder)

and :meth:`Report.write` lays out the folder::

    report.md              the report: description, notes, tables, figures, claims check
    results.json           every number (tables, claims, per-run measures and curves) and the exact configs
    <table>.md / .csv      each table
    <figure>.png / .pdf    each figure

Every number in a table or a claim comes from the measured runs; the papers' reference values printed beside
ours are typed in with their citation (a table's ``reference`` column, a claim's ``source``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlitheory._results import atomic_write_bytes, atomic_write_text

__all__ = ["VERDICTS", "Claim", "Report", "Table", "fmt", "save_figure"]

#: the verdicts a claim check can reach
VERDICTS: tuple[str, ...] = ("supported", "not supported", "inconclusive")


def fmt(value: Any, digits: int = 3) -> str:
    """A cell as text: floats with ``digits`` significant digits, ``None``/NaN as ``–``."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:.{digits}g}"
    return str(value)


def _jsonable(value: Any) -> Any:
    """Plain JSON values (non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"``)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if hasattr(value, "item"):
        return _jsonable(value.item())
    raise TypeError(f"report values must be numbers, strings, lists or dicts; got {type(value).__name__}")


@dataclasses.dataclass
class Table:
    """A table of the report.

    Attributes:
        name: file stem (``<name>.md``, ``<name>.csv``); letters, digits, ``_`` and ``-``.
        title: caption shown above it.
        columns: column keys, in order.
        rows: one dict per row (``column → value``; other keys are kept in the JSON only); the CSV keeps full
            precision, Markdown rounds.
        headers: optional display names of the columns.
        note: text shown under it (e.g. what the counts mean, where the reference numbers come from).
    """

    name: str
    title: str
    columns: list[str]
    rows: list[dict]
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    note: str = ""

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "_-" for c in self.name):
            raise ValueError(f"table name {self.name!r}: use letters, digits, '_' and '-' (it is a file name)")

    def markdown(self) -> str:
        head = [self.headers.get(c, c) for c in self.columns]
        esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
        lines = ["| " + " | ".join(esc(h) for h in head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        for row in self.rows:
            lines.append("| " + " | ".join(esc(fmt(row.get(c))) for c in self.columns) + " |")
        return "\n".join(lines)

    def csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.columns, restval="", lineterminator="\n")
        w.writeheader()
        for row in self.rows:
            w.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in self.columns})
        return buf.getvalue()

    def to_json(self) -> dict:
        rows = [{c: r.get(c) for c in self.columns} for r in self.rows]
        return {"title": self.title, "columns": self.columns, "rows": _jsonable(rows), "note": self.note}


@dataclasses.dataclass
class Claim:
    """One claim of a paper, tested at the scale run.

    Attributes:
        id: short key.
        statement: the claim, in our words.
        source: where the paper makes it (section, table or figure).
        verdict: one of :data:`VERDICTS`.
        evidence: the measured numbers behind the verdict, in words.
        numbers: the same numbers as data.
        reason: for a claim not supported (or inconclusive), the likely reason (scale, data, epochs, ...).
    """

    id: str
    statement: str
    source: str
    verdict: str
    evidence: str
    numbers: dict = dataclasses.field(default_factory=dict)
    reason: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"claim {self.id!r}: verdict {self.verdict!r}; valid: {', '.join(VERDICTS)}")

    @staticmethod
    def decide(ok: bool | None) -> str:
        """``True`` → supported, ``False`` → not supported, ``None`` → inconclusive."""
        return "inconclusive" if ok is None else ("supported" if ok else "not supported")


def save_figure(fig: Any, folder: str | os.PathLike, stem: str, *, dpi: int = 110) -> list[Path]:
    """Save a matplotlib figure as ``stem.png`` and ``stem.pdf`` in ``folder`` (atomically) and close it."""
    import warnings

    import matplotlib.pyplot as plt

    with warnings.catch_warnings():  # layouts with a shared colour bar cannot always be tightened; keep them
        warnings.simplefilter("ignore", UserWarning)
        if not fig.get_constrained_layout():
            fig.tight_layout()
    paths = []
    for ext in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(
            buf, format=ext, dpi=dpi, bbox_inches="tight", metadata={"CreationDate": None} if ext == "pdf" else None
        )
        path = Path(folder) / f"{stem}.{ext}"
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths


@dataclasses.dataclass
class Report:
    """A reproduction's report, filled by the experiment's analysis and written by :meth:`write`.

    Attributes:
        name, version, scale: which experiment, which version of its configuration, which preset.
        title: headline.
        reference: the paper(s) and the part reproduced.
        description: what was run, in a paragraph.
        notes: plain statements the reader must see (e.g. "Fashion-MNIST padded to 32×32×3 stood in for
            CIFAR-10, which was not found").
        tables, figures, claims: the content; ``figures`` maps a stem to its caption.
        numbers: every other measured number worth keeping (JSON only).
        configs: the exact run configurations (``hash → config dict``) and the experiment document.
        runs: per-run measures (and curves) as data.
    """

    name: str
    version: int
    scale: str
    title: str
    reference: str = ""
    description: str = ""
    notes: list[str] = dataclasses.field(default_factory=list)
    tables: list[Table] = dataclasses.field(default_factory=list)
    figures: dict[str, str] = dataclasses.field(default_factory=dict)
    claims: list[Claim] = dataclasses.field(default_factory=list)
    numbers: dict = dataclasses.field(default_factory=dict)
    configs: dict = dataclasses.field(default_factory=dict)
    runs: list = dataclasses.field(default_factory=list)
    _pending_figures: dict = dataclasses.field(default_factory=dict, repr=False)

    def table(self, table: Table) -> Table:
        if any(t.name == table.name for t in self.tables):
            raise ValueError(f"a table named {table.name!r} is already in the report")
        self.tables.append(table)
        return table

    def figure(self, stem: str, fig: Any, caption: str) -> None:
        """Add a matplotlib figure (saved as PNG and PDF when the report is written)."""
        if stem in self.figures:
            raise ValueError(f"a figure named {stem!r} is already in the report")
        self.figures[stem] = caption
        self._pending_figures[stem] = fig

    def claim(self, claim: Claim) -> Claim:
        self.claims.append(claim)
        return claim

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def claims_summary(self) -> dict[str, int]:
        """``verdict → count``."""
        return {v: sum(c.verdict == v for c in self.claims) for v in VERDICTS}

    def markdown(self) -> str:
        s = self.claims_summary()
        out = [
            f"# {self.title}",
            "",
            f"Experiment `{self.name}` (configuration version {self.version}), scale **{self.scale}**. "
            f"Reproduces: {self.reference}.",
            "",
            f"Regenerate: `python -m empirical reproduce {self.name} --scale {self.scale}`",
            "",
        ]
        if self.description:
            out += [self.description, ""]
        if self.notes:
            out += ["**Notes.**", ""] + [f"- {n}" for n in self.notes] + [""]
        out += [
            "**Claims check:** " + ", ".join(f"{s[v]} {v}" for v in VERDICTS) + " (details at the end).",
            "",
        ]
        for t in self.tables:
            out += [f"## {t.title}", "", t.markdown(), ""]
            if t.note:
                out += [t.note, ""]
            out += [f"(`{t.name}.md`, `{t.name}.csv`)", ""]
        for stem, caption in self.figures.items():
            out += [
                f"## Figure: {stem}",
                "",
                f"![{stem}]({stem}.png)",
                "",
                caption,
                "",
                f"(`{stem}.png`, `{stem}.pdf`)",
                "",
            ]
        out += ["## Claims check", "", "| claim | source | verdict | evidence |", "|---|---|---|---|"]
        esc = lambda x: str(x).replace("|", "\\|").replace("\n", " ")
        for c in self.claims:
            ev = c.evidence + (f" *Likely reason:* {c.reason}" if c.reason else "")
            out.append(f"| {esc(c.statement)} | {esc(c.source)} | **{c.verdict}** | {esc(ev)} |")
        out += [
            "",
            "Every number above is measured from this scale's runs; `results.json` holds them all, with the "
            "exact run configurations. Reference values from the papers are marked as such.",
            "",
        ]
        return "\n".join(out)

    def to_json(self) -> dict:
        return _jsonable(
            {
                "experiment": self.name,
                "version": self.version,
                "scale": self.scale,
                "title": self.title,
                "reference": self.reference,
                "description": self.description,
                "notes": self.notes,
                "claims_summary": self.claims_summary(),
                "claims": [dataclasses.asdict(c) for c in self.claims],
                "tables": {t.name: t.to_json() for t in self.tables},
                "figures": self.figures,
                "numbers": self.numbers,
                "configs": self.configs,
                "runs": self.runs,
                "written": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            }
        )

    def write(self, folder: str | os.PathLike, *, force: bool = False) -> Path:
        """Write the report folder (atomically, file by file).

        Raises:
            FileExistsError: ``folder`` holds the report of another experiment or scale (pass ``force=True``
                to replace it). A report of the same experiment and scale is regenerated in place.
        """
        folder = Path(folder)
        old = folder / "results.json"
        if old.is_file() and not force:
            try:
                prev = json.loads(old.read_text())
                same = (prev.get("experiment"), prev.get("scale")) == (self.name, self.scale)
            except (json.JSONDecodeError, AttributeError):
                same = False
            if not same:
                raise FileExistsError(
                    f"{folder} holds another report ({old}); choose another --out or pass --force to replace it"
                )
        folder.mkdir(parents=True, exist_ok=True)
        for t in self.tables:
            atomic_write_text(
                folder / f"{t.name}.md", f"{t.title}\n\n{t.markdown()}\n" + (f"\n{t.note}\n" if t.note else "")
            )
            atomic_write_text(folder / f"{t.name}.csv", t.csv())
        for stem, fig in list(self._pending_figures.items()):
            save_figure(fig, folder, stem)
            del self._pending_figures[stem]
        atomic_write_text(folder / "results.json", json.dumps(self.to_json(), indent=1, allow_nan=False) + "\n")
        atomic_write_text(folder / "report.md", self.markdown())
        return folder / "report.md"


def proportion(flags: Sequence[bool]) -> float | None:
    """Share of ``True`` in ``flags``; ``None`` when empty."""
    flags = list(flags)
    return sum(bool(f) for f in flags) / len(flags) if flags else None
