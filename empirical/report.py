"""Reports of the reproductions: tables (Markdown + CSV), figures (PNG + PDF), a JSON of every number, claims.

An experiment's analysis fills a [`Report`][empirical.report.Report] through a few calls:

```text
rep = Report(name="lucas_table1", version=2, scale="small", title="...", reference="...")
rep.table(Table("table1", "Proportion of non-monotone runs", columns, rows))
rep.figure("scatter", fig, "min Δ against distance")
rep.judge(rules, {"runs": rows}, settings)      # the pre-registered claim rules on the analysis' units
rep.write(folder)
```

and [`Report.write`][empirical.report.Report.write] lays out the folder:

```text
report.md              the report: description, notes, tables, figures, claims check, rule changes
results.json           every number (tables, claims, per-run measures and curves) and the exact configs
<table>.md / .csv      each table
<figure>.png / .pdf    each figure
```

Every number in a table or a claim comes from the measured runs; the papers' reference values printed beside
ours are typed in with their citation (a table's ``reference`` column, a claim rule's ``paper`` table). Each claim
is an [`empirical.claims.ClaimResult`][empirical.claims.rules.ClaimResult]: its test, p-value (and Holm-adjusted
p-value), n, the power against the paper's effect, the interval of our estimate and one of the four verdicts of
[`VERDICTS`][empirical.claims.rules.VERDICTS].
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

from empirical.claims import VERDICTS, ClaimResult, Rule, RuleChange, Settings, evaluate_all
from mlitheory.results import atomic_write_bytes, atomic_write_text, jsonable

__all__ = ["VERDICTS", "Report", "Table", "claims_table", "fmt", "save_figure"]


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
    try:
        return jsonable(value, nonfinite="string", strict=True)
    except TypeError as e:
        raise TypeError(f"report values must be numbers, strings, lists or dicts ({e})") from e


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
    """A reproduction's report, filled by the experiment's analysis and written by `write`.

    Attributes:
        name, version, scale: which experiment, which version of its configuration, which preset.
        title: headline.
        reference: the paper(s) and the part reproduced.
        description: what was run, in a paragraph.
        notes: plain statements the reader must see (e.g. "Fashion-MNIST padded to 32×32×3 stood in for
            CIFAR-10, which was not found").
        tables, figures: the content; ``figures`` maps a stem to its caption.
        claims: the judged claims ([`empirical.claims.ClaimResult`][empirical.claims.rules.ClaimResult]), in the rules'
            order.
        rule_changes: the rules changed after their data were seen
            ([`empirical.claims.RuleChange`][empirical.claims.rules.RuleChange]).
        sensitivity: claims evaluated again under another analysis choice (label → results), shown, not judged.
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
    claims: list[ClaimResult] = dataclasses.field(default_factory=list)
    rule_changes: list[RuleChange] = dataclasses.field(default_factory=list)
    sensitivity: dict = dataclasses.field(default_factory=dict)
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

    def judge(self, rules: Sequence[Rule], units: dict, settings: Settings | None = None) -> list[ClaimResult]:
        """Test every pre-registered rule on the analysis' ``units`` (``name → rows``) and keep the verdicts.

        The claims of one report are one family for Holm's correction, so this is called once per report.
        """
        if self.claims:
            raise ValueError("the report's claims are already judged; judge all its rules in one call")
        self.claims = evaluate_all(rules, units, scale=self.scale, settings=settings)
        return self.claims

    def sensitivity_analysis(
        self, label: str, rules: Sequence[Rule], units: dict, settings: Settings | None = None
    ) -> list[ClaimResult]:
        """The same rules on units made under another analysis choice (e.g. another loss filter): shown in the
        report as a labelled sensitivity analysis, never as the claims' verdicts."""
        res = evaluate_all(rules, units, scale=self.scale, settings=settings)
        self.sensitivity[label] = res
        return res

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
        out += ["## Claims check", ""]
        if self.claims:
            c0 = self.claims[0]
            out += [
                f"Each claim is a rule written in `empirical/experiments/{self.name}.toml` (statistic, test, the "
                f"paper's direction, minimum counts, the paper's effect size for power): α = {c0.alpha:g}"
                + (
                    ", with Holm's correction over the claims of this report (separately in the paper's direction and "
                    "against it)"
                    if c0.correction == "holm"
                    else ", no correction"
                )
                + ". *supported*: significant in the paper's direction; *contradicted*: significant against it; "
                "*not detected*: neither, with the power this sample had against the paper's effect (before the "
                "correction) and the units 80 % power needs; *not comparable*: outside the claim's scope (shown, "
                "not judged).",
                "",
                claims_table(self.claims),
                "",
            ]
            why = [c for c in self.claims if c.reason or c.note]
            if why:
                out += ["**Reasons and notes.**", ""]
                for c in why:
                    text = "; ".join(x for x in (c.reason, c.note) if x)
                    out.append(f"- `{c.id}` ({c.verdict}): {text}")
                out.append("")
        else:
            out += ["No claims.", ""]
        for label, res in self.sensitivity.items():
            out += [
                f"### Sensitivity analysis: {label}",
                "",
                "The same rules under another analysis choice; not the claims' verdicts.",
                "",
                claims_table(res),
                "",
            ]
        if self.rule_changes:
            out += [
                "## Rule changes after the data were seen",
                "",
                "| date | claims | what changed | why | data seen |",
                "|---|---|---|---|---|",
            ]
            for ch in self.rule_changes:
                out.append(
                    f"| {ch.date} | {_esc(', '.join(ch.claims))} | {_esc(ch.what)} | {_esc(ch.why)} | "
                    f"{_esc(ch.data_seen)} |"
                )
            out.append("")
        out += [
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
                "claims": [c.to_json() for c in self.claims],
                "rule_changes": [dataclasses.asdict(c) for c in self.rule_changes],
                "sensitivity": {k: [c.to_json() for c in v] for k, v in self.sensitivity.items()},
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
            FileExistsError: ``folder`` holds the report of another experiment or scale, or one from other runs
                (another seed or data set; pass ``force=True`` to replace it). A report of the same experiment and
                scale from the same runs is regenerated in place.
        """
        folder = Path(folder)
        runs = set(self.configs["runs"]) if isinstance(self.configs.get("runs"), dict) else None
        other = "" if force else other_report(folder, self.name, self.scale, runs)
        if other:
            raise FileExistsError(
                f"{folder} holds another report ({other}); choose another --out or pass --force to replace it"
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


def other_report(folder: str | os.PathLike, name: str, scale: str, runs: set[str] | None = None) -> str:
    """Why ``folder`` holds another report: '' when it holds none, or the report of experiment ``name`` at ``scale``
    from the same ``runs`` (run hashes; not compared when ``None``); else another experiment or scale, other runs
    (another seed or data set), or an unreadable ``results.json``."""
    old = Path(folder) / "results.json"
    if not old.is_file():
        return ""
    try:
        prev = json.loads(old.read_bytes().decode("utf-8"))
        if (prev.get("experiment"), prev.get("scale")) != (name, scale):
            return f"the report of {prev.get('experiment')!r} at scale {prev.get('scale')!r}"
        if runs is not None and set((prev.get("configs") or {}).get("runs") or {}) != runs:
            return f"a report of {name!r} at scale {scale!r} from other runs (another --seed or data set)"
        return ""
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return f"an unreadable {old.name} (a damaged report)"


def proportion(flags: Sequence[bool]) -> float | None:
    """Share of ``True`` in ``flags``; ``None`` when empty."""
    flags = list(flags)
    return sum(bool(f) for f in flags) / len(flags) if flags else None


def _esc(x: Any) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return f"{p:.2g}" if p >= 1e-4 else "< 1e-4"


def claims_table(claims: Sequence[ClaimResult]) -> str:
    """The claims as a Markdown table: the paper's number beside ours, n, the test, p (Holm), power, verdict."""
    lines = [
        "| claim | source | paper | ours [95% CI] | n | test | p (Holm) | power (units for 80%) | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in claims:
        p = _p(c.p_value) + (f" ({_p(c.p_adjusted)})" if c.p_adjusted is not None else "")
        power = "–" if c.power is None else f"{c.power:.2f}"
        power += f" ({c.runs_needed})" if c.runs_needed is not None else ""
        lines.append(
            f"| {_esc(c.statement)} | {_esc(c.source)} | {_esc(c.paper.get('text', ''))} | {_esc(c.evidence)} | "
            f"{c.n} | {_esc(c.test)} | {p} | {power} | **{c.verdict}** |"
        )
    return "\n".join(lines)
