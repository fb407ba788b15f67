"""Claim rules: a paper's claim written down as a pre-registered test, and its verdict from the data.

A rule is a table of an experiment's TOML file (``[[claims]]``), committed before the runs it judges:

```text
[[claims]]
id = "adam_more_nonmonotone"
statement = "Adam-trained networks are non-monotone more often than SGD-trained ones"
source = "Lucas et al. 2021, §4.1.2 and Table 1"
kind = "share_difference"          # the statistic and its test (see KINDS)
units = "runs"                     # which units of the analysis it reads
outcome = "nonmonotone"            # a boolean field of each unit
a = { optimizer = "adam" }         # group a; group b below
b = { optimizer = "sgd" }
direction = "greater"              # the paper's direction: share(a) > share(b)
test = "fisher"
min_count = 5                      # fewer units in a group: not detected, with the power it had
labels = { a = "Adam", b = "SGD" }
paper = { a = 0.63, b = 0.19, basis = "Table 1, pooled over its cells" }   # the effect size for power
scope = { datasets = ["mnist", "fashion-mnist"] }                          # else: not comparable
```

[`evaluate`][empirical.claims.rules.evaluate] computes each rule's test on the units an analysis provides;
[`judge`][empirical.claims.rules.judge] corrects the report's p-values for multiplicity (Holm, separately in the paper's
direction and against it) and gives each claim one of [`VERDICTS`][empirical.claims.rules.VERDICTS]:

- **supported**: significant at α in the paper's direction;
- **contradicted**: significant at α against it;
- **not detected**: neither, or too few units (below ``min_count``) or a degenerate sample; the result carries the
  power that this sample had against the paper's effect and the number of units 80 % power needs;
- **not comparable**: the units are outside the claim's scope (stand-in data, or a scale the claim is not about);
  the statistics are still computed and shown, but not judged, and stay out of the correction.

The paper's effect sizes are signed, in the natural sense of each statistic: shares ``a``, ``b`` (or ``share``);
``auc`` (P(score of a positive > score of a negative)); ``rho`` (negative: decreasing); ``dz`` (standardised mean of
first − second); ``d`` (standardised distance of the mean from the bound, negative: below). A rule whose paper
effect does not lie in its own direction is refused.

Filters (``where``, ``a``, ``b``) map a field to a value, a list of values, or a table of comparisons
(``{ le = 0.03 }``; ``eq ne lt le gt ge in``). Kind ``all`` holds ``[[claims.parts]]``, each a rule of another
kind with a ``label``: the claim holds when every part holds (an intersection–union test: its p-value is the
largest of the parts'; against it, Bonferroni over the parts).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from empirical.claims import power as pw
from empirical.claims import stats as st

__all__ = [
    "KINDS",
    "VERDICTS",
    "ClaimResult",
    "Rule",
    "RuleChange",
    "Settings",
    "evaluate",
    "evaluate_all",
    "holm",
    "judge",
    "parse_rule_changes",
    "parse_rules",
    "select",
]

#: the four verdicts
VERDICTS: tuple[str, ...] = ("supported", "contradicted", "not detected", "not comparable")

_DIRECTIONS = {
    "share_difference": ("greater", "less"),
    "share_bound": ("below", "above"),
    "predicts": ("greater", "less"),
    "trend": ("increasing", "decreasing"),
    "paired": ("greater", "less"),
    "mean_bound": ("below", "above"),
    "equivalence": ("within",),
}
_TESTS = {
    "share_difference": ("fisher", "boschloo"),
    "share_bound": ("binomial",),
    "predicts": ("mannwhitney",),
    "trend": ("exact",),
    "paired": ("wilcoxon", "ttest"),
    "mean_bound": ("ttest", "wilcoxon"),
    "equivalence": ("tost",),
}
#: how a test is named in reports when it could not be run (too few units)
_TEST_NAMES = {
    "fisher": "Fisher exact, one-sided",
    "boschloo": "Boschloo exact, one-sided",
    "binomial": "exact binomial, one-sided",
    "mannwhitney": "Mann–Whitney U, one-sided",
    "exact": "correlation, one-sided",
    "wilcoxon": "Wilcoxon signed-rank, one-sided",
    "ttest": "t-test, one-sided",
    "tost": "two one-sided tests (equivalence)",
}
#: per kind: the fields naming unit columns, other required keys, the paper's effect keys, the smallest min_count
_SPEC = {
    "share_difference": (("outcome",), ("a", "b"), ("a", "b"), 1),
    "share_bound": (("outcome",), ("bound",), ("share",), 1),
    "predicts": (("outcome", "score"), (), ("auc",), 1),
    "trend": (("x", "y"), (), ("rho",), 3),
    "paired": (("first", "second"), (), ("dz",), 2),
    "mean_bound": (("value",), ("bound",), ("d",), 2),
    "equivalence": (("x", "y"), ("margin",), ("rho",), 4),
}
#: the kinds of rule: each names its statistic and test (module docstring of `empirical.claims.stats`)
KINDS: tuple[str, ...] = (*_SPEC, "all")
_COMMON = {"id", "statement", "source", "kind", "units", "where", "min_count", "paper", "scope", "labels", "label"}
_COMMON |= {"direction", "test", "note", "parts"}
_OPTIONAL = {"method", "log", "unit_id"}
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda v, t: v == t,
    "ne": lambda v, t: v != t,
    "lt": lambda v, t: v < t,
    "le": lambda v, t: v <= t,
    "gt": lambda v, t: v > t,
    "ge": lambda v, t: v >= t,
    "in": lambda v, t: v in t,
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """The report-wide settings of the verdicts (``[verdicts]`` of the TOML).

    Attributes:
        alpha: significance level of every claim.
        correction: ``"holm"`` (step-down, over the claims judged in one report) or ``"none"``.
        power_target: the power that "runs needed" aims at.
        sims: draws of the simulated powers.
        seed: seed of the simulations, bootstrap intervals and permutations (each claim derives its own).
    """

    alpha: float = 0.05
    correction: str = "holm"
    power_target: float = 0.8
    sims: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 0.5:
            raise ValueError(f"[verdicts] alpha={self.alpha!r}; use a level in (0, 0.5), e.g. 0.05")
        if self.correction not in ("holm", "none"):
            raise ValueError(f"[verdicts] correction={self.correction!r}; valid: 'holm', 'none'")
        if not 0 < self.power_target < 1:
            raise ValueError(f"[verdicts] power_target={self.power_target!r}; valid: (0, 1)")
        if int(self.sims) < 100:
            raise ValueError(f"[verdicts] sims={self.sims!r}; use at least 100 draws")

    @classmethod
    def from_dict(cls, d: Mapping | None) -> Settings:
        d = dict(d or {})
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            valid = "alpha, correction, power_target, sims, seed"
            raise ValueError(f"[verdicts]: unknown key(s) {unknown}; valid: {valid}")
        return cls(**d)


@dataclasses.dataclass(frozen=True)
class Rule:
    """One claim as a pre-registered test (see the module docstring for the TOML form).

    Attributes:
        id, statement, source: the claim's key, wording and place in the paper.
        kind: one of [`KINDS`][empirical.claims.rules.KINDS].
        units: the name of the unit list it reads (``"runs"``, ``"pairs"``, ...).
        params: the kind's fields (``outcome``, ``score``, ``x``, ``y``, ``bound``, ``margin``, ``a``, ``b``, ...).
        direction, test: the paper's direction and the test (defaults: the first valid ones of the kind).
        where: filter of the units.
        min_count: the smallest sample the rule judges (per group, or per outcome class for ``predicts``).
        paper: the paper's effect size for power (kind-specific keys), its ``basis``, optional ``text``.
        scope: ``datasets`` and/or ``scales`` the claim is about, and ``why``.
        labels: display names of groups (``a``, ``b``).
        parts: the sub-rules of kind ``all``.
        label: a part's name.
        note: shown with the claim.
    """

    id: str
    statement: str
    source: str
    kind: str
    units: str = "runs"
    params: Mapping = dataclasses.field(default_factory=dict)
    direction: str = ""
    test: str = ""
    where: Mapping = dataclasses.field(default_factory=dict)
    min_count: int = 1
    paper: Mapping = dataclasses.field(default_factory=dict)
    scope: Mapping = dataclasses.field(default_factory=dict)
    labels: Mapping = dataclasses.field(default_factory=dict)
    parts: tuple = ()
    label: str = ""
    note: str = ""

    @classmethod
    def from_dict(cls, d: Mapping, *, where: str = "claims", part: bool = False) -> Rule:
        """Read and check one ``[[claims]]`` table (``where`` names it in errors)."""
        d = dict(d)
        ident = d.get("id") or d.get("label") or "?"
        at = f"{where} ({ident!r})"
        kind = d.get("kind")
        if kind not in KINDS or (part and kind == "all"):
            valid = [k for k in KINDS if not (part and k == "all")]
            raise ValueError(f"{at}: kind={kind!r}; valid: {', '.join(valid)}")
        need = ("label",) if part else ("id", "statement", "source")
        missing = [k for k in need if not d.get(k)]
        if missing:
            raise ValueError(f"{at}: missing {', '.join(missing)}")
        if kind == "all":
            parts_raw = d.get("parts") or []
            if len(parts_raw) < 2:
                raise ValueError(f"{at}: kind 'all' needs at least two [[claims.parts]]")
            unknown = sorted(set(d) - _COMMON)
            if unknown:
                raise ValueError(f"{at}: unknown key(s) {unknown} for kind 'all'")
            base_where = dict(d.get("where") or {})
            parts = []
            for i, p in enumerate(parts_raw):
                p = dict(p)
                p.setdefault("units", d.get("units", "runs"))
                p["where"] = {**base_where, **(p.get("where") or {})}
                p.setdefault("scope", d.get("scope") or {})
                parts.append(cls.from_dict(p, where=f"{at}.parts[{i}]", part=True))
            labels = [p.label for p in parts]
            if len(set(labels)) != len(labels):
                raise ValueError(f"{at}: part labels repeat: {labels}")
            return cls(
                id=str(d["id"]),
                statement=str(d["statement"]),
                source=str(d["source"]),
                kind="all",
                units=str(d.get("units", "runs")),
                direction="all",
                test="intersection–union",
                where=base_where,
                scope=dict(d.get("scope") or {}),
                parts=tuple(parts),
                note=str(d.get("note", "")),
                min_count=int(d.get("min_count", 1)),
            )
        columns, required, effect, floor = _SPEC[kind]
        unknown = sorted(set(d) - _COMMON - set(columns) - set(required) - _OPTIONAL)
        if unknown:
            raise ValueError(f"{at}: unknown key(s) {unknown} for kind {kind!r}")
        absent = [k for k in (*columns, *required) if k not in d]
        if absent:
            raise ValueError(f"{at}: kind {kind!r} needs {', '.join(absent)}")
        direction = d.get("direction", _DIRECTIONS[kind][0])
        if direction not in _DIRECTIONS[kind]:
            raise ValueError(f"{at}: direction={direction!r}; valid for {kind}: {', '.join(_DIRECTIONS[kind])}")
        test = d.get("test", _TESTS[kind][0])
        if test not in _TESTS[kind]:
            raise ValueError(f"{at}: test={test!r}; valid for {kind}: {', '.join(_TESTS[kind])}")
        paper = dict(d.get("paper") or {})
        if kind == "equivalence":
            paper.setdefault("rho", 0.0)
        lacking = [k for k in effect if k not in paper]
        if lacking or not paper.get("basis"):
            raise ValueError(
                f"{at}: paper = {{...}} needs the effect size {', '.join(effect)} and a 'basis' (where the number "
                "comes from, or why it is assumed); it sets the power"
            )
        against = _effect_against(kind, direction, paper, d)
        if against:
            raise ValueError(f"{at}: the paper's effect ({against}) is not in the claim's direction {direction!r}")
        min_count = int(d.get("min_count", floor))
        if min_count < floor:
            raise ValueError(f"{at}: min_count={min_count} is below the {floor} units that {kind} needs")
        params = {k: d[k] for k in (*columns, *required, *(_OPTIONAL & set(d)))}
        if kind in ("share_difference",):
            for g in ("a", "b"):
                _check_filter(params[g], f"{at}.{g}")
        if kind == "trend" and params.get("method", "spearman") not in ("spearman", "pearson"):
            raise ValueError(f"{at}: method={params['method']!r}; valid: 'spearman', 'pearson'")
        if kind == "equivalence" and not 0 < float(params["margin"]) < 1:
            raise ValueError(f"{at}: margin={params['margin']!r}; valid: (0, 1)")
        _check_filter(d.get("where") or {}, f"{at}.where")
        scope = dict(d.get("scope") or {})
        bad_scope = sorted(set(scope) - {"datasets", "scales", "why"})
        if bad_scope:
            raise ValueError(f"{at}: scope has unknown key(s) {bad_scope}; valid: datasets, scales, why")
        return cls(
            id=str(d.get("id", "")),
            statement=str(d.get("statement", "")),
            source=str(d.get("source", "")),
            kind=kind,
            units=str(d.get("units", "runs")),
            params=params,
            direction=direction,
            test=test,
            where=dict(d.get("where") or {}),
            min_count=min_count,
            paper=paper,
            scope=scope,
            labels=dict(d.get("labels") or {}),
            label=str(d.get("label", "")),
            note=str(d.get("note", "")),
        )

    def flipped(self) -> Rule:
        """The same rule with the paper's direction reversed (for tests that a rule's direction matters)."""
        if self.kind == "all":
            return dataclasses.replace(self, parts=tuple(p.flipped() for p in self.parts))
        if self.kind == "equivalence":
            raise ValueError("an equivalence rule has no direction to flip; change its margin instead")
        a, b = _DIRECTIONS[self.kind]
        return dataclasses.replace(self, direction=b if self.direction == a else a)


@dataclasses.dataclass(frozen=True)
class RuleChange:
    """A rule changed after data it judges were seen (``[[rule_changes]]``): shown in the report."""

    date: str
    claims: tuple
    what: str
    why: str
    data_seen: str = ""

    @classmethod
    def from_dict(cls, d: Mapping, where: str = "rule_changes") -> RuleChange:
        d = dict(d)
        missing = [k for k in ("date", "what", "why") if not d.get(k)]
        unknown = sorted(set(d) - {"date", "claims", "what", "why", "data_seen"})
        if missing or unknown:
            keys = "date, claims, what, why, data_seen"
            raise ValueError(f"{where}: missing {missing} / unknown {unknown}; keys: {keys}")
        claims = d.get("claims", [])
        claims = (claims,) if isinstance(claims, str) else tuple(claims)
        return cls(str(d["date"]), claims, str(d["what"]), str(d["why"]), str(d.get("data_seen", "")))


def _effect_against(kind: str, direction: str, paper: Mapping, params: Mapping) -> str:
    """A description of the paper's effect when it does not favour ``direction`` (signed effect sizes), else ''."""
    if kind == "share_difference":
        a, b = float(paper["a"]), float(paper["b"])
        bad = a <= b if direction == "greater" else a >= b
        return f"a = {a:g}, b = {b:g}" if bad else ""
    if kind == "share_bound":
        p, bound = float(paper["share"]), float(params["bound"])
        bad = p >= bound if direction == "below" else p <= bound
        return f"share {p:g} against the bound {bound:g}" if bad else ""
    if kind == "predicts":
        auc = float(paper["auc"])
        return f"AUC {auc:g}" if (auc <= 0.5 if direction == "greater" else auc >= 0.5) else ""
    if kind == "trend":
        rho = float(paper["rho"])
        return f"ρ {rho:g}" if (rho <= 0 if direction == "increasing" else rho >= 0) else ""
    if kind == "paired":
        dz = float(paper["dz"])
        return f"d_z {dz:g}" if (dz <= 0 if direction == "greater" else dz >= 0) else ""
    if kind == "mean_bound":
        dd = float(paper["d"])
        return f"d {dd:g}" if (dd >= 0 if direction == "below" else dd <= 0) else ""
    if kind == "equivalence":
        rho, m = float(paper["rho"]), float(params["margin"])
        return f"ρ {rho:g} outside ±{m:g}" if abs(rho) >= m else ""
    return ""


def parse_rules(doc: Mapping, *, where: str = "experiment") -> list[Rule]:
    """The ``[[claims]]`` of a TOML document as [`Rule`][empirical.claims.rules.Rule] objects (ids unique)."""
    rules = [Rule.from_dict(d, where=f"{where}: claims[{i}]") for i, d in enumerate(doc.get("claims", []))]
    ids = [r.id for r in rules]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"{where}: claim ids repeat: {dup}")
    return rules


def parse_rule_changes(doc: Mapping, *, where: str = "experiment") -> list[RuleChange]:
    """The ``[[rule_changes]]`` of a TOML document; each must name claims that exist (or none)."""
    ids = {d.get("id") for d in doc.get("claims", [])}
    out = []
    for i, d in enumerate(doc.get("rule_changes", [])):
        ch = RuleChange.from_dict(d, where=f"{where}: rule_changes[{i}]")
        unknown = [c for c in ch.claims if c not in ids]
        if unknown:
            raise ValueError(f"{where}: rule_changes[{i}] names unknown claim(s) {unknown}; known: {sorted(ids)}")
        out.append(ch)
    return out


# ------------------------------------------------------------------------------------------------ selection


def _check_filter(f: Mapping, at: str) -> None:
    if not isinstance(f, Mapping):
        raise ValueError(f"{at}: a filter is a table field → value; got {f!r}")
    for field, cond in f.items():
        if isinstance(cond, Mapping):
            bad = sorted(set(cond) - set(_OPS))
            if bad or not cond:
                raise ValueError(f"{at}.{field}: unknown comparison(s) {bad}; valid: {', '.join(_OPS)}")


def _matches(row: Mapping, f: Mapping) -> bool:
    for field, cond in f.items():
        if field not in row:
            raise KeyError(f"filter field {field!r} is not a field of the units; they have: {sorted(row)}")
        v = row[field]
        if isinstance(cond, Mapping):
            if not all(_OPS[op](v, t) for op, t in cond.items()):
                return False
        elif isinstance(cond, list):
            if v not in cond:
                return False
        elif v != cond:
            return False
    return True


def select(rows: Sequence[Mapping], f: Mapping) -> list[Mapping]:
    """The rows that pass filter ``f`` (see the module docstring)."""
    return [r for r in rows if _matches(r, f)]


def _column(rows: Sequence[Mapping], field: str, rule_id: str) -> list:
    if rows and field not in rows[0]:
        raise KeyError(f"claim {rule_id!r}: field {field!r} is not a field of the units; they have: {sorted(rows[0])}")
    return [r[field] for r in rows]


# ------------------------------------------------------------------------------------------------ results


@dataclasses.dataclass(frozen=True)
class ClaimResult:
    """A claim judged on the data (``results.json`` keeps these fields, per claim).

    Attributes:
        id, statement, source, kind, test, direction: from the rule (``test`` as scipy names it).
        verdict: one of [`VERDICTS`][empirical.claims.rules.VERDICTS] (``None`` before
            [`judge`][empirical.claims.rules.judge]).
        p_value: one-sided p-value in the paper's direction (``None`` when not computed).
        p_adjusted: the same after the report's correction (``None`` without correction or p-value).
        p_against, p_against_adjusted: the p-value against the paper's direction, raw and corrected.
        correction: ``"holm"`` or ``"none"``; alpha: the level.
        n: units used; counts: per group.
        statistic, estimate, ci, ci_level: our value with its interval.
        paper: the paper's numbers (the effect size used for power, its basis, text).
        power: the probability that this test, on this many units, detects the paper's effect at α (before
            correction); power_method: how it was computed.
        runs_needed: units needed for the target power (``None`` when unreachable), with runs_needed_note.
        reason: why the verdict is "not detected" or "not comparable", computed from the data and the rule.
        evidence: our numbers in words.
        parts: for kind ``all``, each part's result (as data).
        detail: further numbers.
    """

    id: str
    statement: str
    source: str
    kind: str
    test: str
    direction: str
    verdict: str | None
    p_value: float | None
    p_adjusted: float | None
    p_against: float | None
    p_against_adjusted: float | None
    correction: str
    alpha: float
    n: int
    counts: dict
    statistic: str
    estimate: float | None
    ci: list | None
    ci_level: float
    paper: dict
    power: float | None
    power_method: str
    runs_needed: int | None
    runs_needed_note: str
    reason: str
    evidence: str
    parts: list = dataclasses.field(default_factory=list)
    detail: dict = dataclasses.field(default_factory=dict)
    scope_ok: bool = True
    note: str = ""

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _seed(settings: Settings, rule_id: str, label: str = "") -> int:
    digest = hashlib.sha256(f"{rule_id}/{label}".encode()).digest()
    return int.from_bytes(digest[:4], "little") ^ int(settings.seed)


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return f"{x:.{digits}g}"


def _ci_text(ci) -> str:
    return "" if ci is None else f" [{_fmt(ci[0])}, {_fmt(ci[1])}]"


def _p_text(p: float | None) -> str:
    if p is None:
        return "–"
    return f"{p:.2g}" if p >= 1e-4 else "< 0.0001"


def _scope_reason(rule: Rule, rows: Sequence[Mapping], scale: str) -> str:
    sc = rule.scope or {}
    why = f" ({sc['why']})" if sc.get("why") else ""
    if sc.get("datasets"):
        used = sorted({str(r["dataset"]) for r in rows if "dataset" in r})
        off = [d for d in used if d not in sc["datasets"]]
        if off:
            return (
                f"stand-in data: the units use {', '.join(off)} where the claim is about "
                f"{', '.join(sc['datasets'])}{why}"
            )
    if sc.get("scales") and scale not in sc["scales"]:
        return f"scale {scale!r} is outside the claim's scope (it is about {', '.join(sc['scales'])}){why}"
    return ""


def _label(rule: Rule, g: str) -> str:
    return str(rule.labels.get(g, g))


class _Sample:
    """The numbers a rule's test needs, its sizes, its power at given sizes and its test."""

    def __init__(self, rule: Rule, rows: Sequence[Mapping], settings: Settings):
        self.rule, self.settings = rule, settings
        self.seed = _seed(settings, rule.id, rule.label)
        p, k = rule.params, rule.kind
        rid = rule.id or rule.label
        self.short = ""  # why the sample is too small, if it is
        if k == "share_difference":
            ga, gb = select(rows, p["a"]), select(rows, p["b"])
            if any(any(x is y for y in gb) for x in ga):
                raise ValueError(f"claim {rid!r}: groups a and b overlap (a unit matches both filters); fix the rule")
            self.a = [bool(v) for v in _column(ga, p["outcome"], rid)]
            self.b = [bool(v) for v in _column(gb, p["outcome"], rid)]
            self.sizes = (len(self.a), len(self.b))
            if min(self.sizes) < rule.min_count:
                self.short = (
                    f"too few units: {_label(rule, 'a')} {len(self.a)}, {_label(rule, 'b')} {len(self.b)} "
                    f"(the rule needs ≥ {rule.min_count} in each group)"
                )
        elif k == "share_bound":
            self.v = [bool(v) for v in _column(rows, p["outcome"], rid)]
            self.sizes = (len(self.v),)
            if len(self.v) < rule.min_count:
                self.short = f"too few units: {len(self.v)} (the rule needs ≥ {rule.min_count})"
        elif k == "predicts":
            out = _column(rows, p["outcome"], rid)
            score = _column(rows, p["score"], rid)
            self.pos = [s for o, s in zip(out, score) if o]
            self.neg = [s for o, s in zip(out, score) if not o]
            self.sizes = (len(self.pos), len(self.neg))
            if min(self.sizes) < rule.min_count:
                self.short = (
                    f"too few units of one outcome: {len(self.pos)} with {p['outcome']}, {len(self.neg)} without "
                    f"(the rule needs ≥ {rule.min_count} of each)"
                )
        elif k in ("trend", "equivalence", "paired"):
            f1, f2 = ("x", "y") if k != "paired" else ("first", "second")
            self.x, self.y = _column(rows, p[f1], rid), _column(rows, p[f2], rid)
            self.sizes = (len(self.x),)
            if len(self.x) < rule.min_count:
                self.short = f"too few units: {len(self.x)} (the rule needs ≥ {rule.min_count})"
        elif k == "mean_bound":
            self.v = _column(rows, p["value"], rid)
            self.sizes = (len(self.v),)
            if len(self.v) < rule.min_count:
                self.short = f"too few units: {len(self.v)} (the rule needs ≥ {rule.min_count})"
        else:  # pragma: no cover - parse_rules rejects other kinds
            raise ValueError(k)

    def outcome(self) -> st.Outcome:
        r, p = self.rule, self.rule.params
        if r.kind == "share_difference":
            return st.share_difference(
                sum(self.a), len(self.a), sum(self.b), len(self.b), direction=r.direction, test=r.test
            )
        if r.kind == "share_bound":
            return st.share_bound(sum(self.v), len(self.v), bound=float(p["bound"]), direction=r.direction)
        if r.kind == "predicts":
            return st.predicts(self.pos, self.neg, direction=r.direction, test=r.test, seed=self.seed)
        if r.kind == "trend":
            return st.trend(
                self.x,
                self.y,
                direction=r.direction,
                method=p.get("method", "spearman"),
                log=bool(p.get("log", False)),
                seed=self.seed,
            )
        if r.kind == "paired":
            return st.paired(self.x, self.y, direction=r.direction, test=r.test)
        if r.kind == "mean_bound":
            return st.mean_bound(
                self.v, bound=float(p["bound"]), direction=r.direction, test=r.test, log=bool(p.get("log", False))
            )
        return st.equivalence(self.x, self.y, margin=float(p["margin"]), alpha=self.settings.alpha)

    def power_at(self, sizes: Sequence[int]) -> float:
        r, e, s = self.rule, self.rule.paper, self.settings
        kw = {"alpha": s.alpha}
        sim = {"sims": s.sims, "seed": self.seed}
        if r.kind == "share_difference":
            return pw.power_share_difference(
                sizes[0], sizes[1], float(e["a"]), float(e["b"]), direction=r.direction, test=r.test, **kw
            )
        if r.kind == "share_bound":
            return pw.power_share_bound(
                sizes[0], float(e["share"]), bound=float(r.params["bound"]), direction=r.direction, **kw
            )
        if r.kind == "predicts":
            return pw.power_predicts(
                sizes[0], sizes[1], float(e["auc"]), direction=r.direction, test=r.test, **kw, **sim
            )
        if r.kind == "trend":
            return pw.power_trend(
                sizes[0],
                float(e["rho"]),
                direction=r.direction,
                method=r.params.get("method", "spearman"),
                **kw,
                **sim,
            )
        if r.kind == "paired":
            return pw.power_paired(sizes[0], float(e["dz"]), direction=r.direction, test=r.test, **kw, **sim)
        if r.kind == "mean_bound":
            return pw.power_mean_bound(sizes[0], float(e["d"]), direction=r.direction, test=r.test, **kw, **sim)
        return pw.power_equivalence(sizes[0], float(e["rho"]), margin=float(r.params["margin"]), **kw, **sim)

    def power_method(self) -> str:
        k, t, e = self.rule.kind, self.rule.test, self.rule.paper
        if k == "share_difference":
            n_a, n_b = self.sizes
            return pw.share_difference_power_method(n_a, n_b, float(e["a"]), float(e["b"]), t)
        if k == "share_bound":
            return "exact enumeration of the binomial outcomes"
        if t == "ttest":
            return "exact (noncentral t)"
        return f"simulation, {self.settings.sims} draws, seed {self.seed}"

    def fractions(self) -> tuple[tuple[float, ...], str]:
        """How a larger sample would split over the groups: ours, else the paper's, else even."""
        tot = sum(self.sizes)
        if len(self.sizes) == 1:
            return (1.0,), ""
        if all(n > 0 for n in self.sizes):
            return tuple(n / tot for n in self.sizes), "at our split between the groups"
        e = self.rule.paper
        if self.rule.kind == "predicts" and e.get("positive_share"):
            q = float(e["positive_share"])
            return (q, 1 - q), f"at the paper's share of positives ({q:.2g})"
        if self.rule.kind == "share_difference" and e.get("n_a") and e.get("n_b"):
            q = float(e["n_a"]) / (float(e["n_a"]) + float(e["n_b"]))
            return (q, 1 - q), "at the paper's split between the groups"
        return (0.5, 0.5), "split evenly between the groups (one is empty here)"

    def sizes_for(self, total: int) -> tuple[int, ...]:
        fr, _ = self.fractions()
        if len(fr) == 1:
            return (int(total),)
        first = max(1, round(fr[0] * total))
        return first, max(1, int(total) - first)


def _paper_text(rule: Rule) -> str:
    e = rule.paper
    if e.get("text"):
        return str(e["text"])
    k = rule.kind
    if k == "share_difference":
        return f"{_label(rule, 'a')} {_fmt(float(e['a']), 2)} vs {_label(rule, 'b')} {_fmt(float(e['b']), 2)}"
    if k == "share_bound":
        return f"share {_fmt(float(e['share']), 2)}"
    key = {"predicts": "auc", "trend": "rho", "paired": "dz", "mean_bound": "d", "equivalence": "rho"}[k]
    name = {"auc": "AUC", "rho": "ρ", "dz": "d_z", "d": "d"}[key]
    return f"{name} = {_fmt(float(e[key]), 3)}"


def _evidence(rule: Rule, o: st.Outcome) -> str:
    k, d = rule.kind, o.detail
    if k == "share_difference":
        (ka, na), (kb, nb) = o.counts["a"], o.counts["b"]
        return (
            f"{_label(rule, 'a')} {ka}/{na} = {_fmt(d['share_a'], 2)}{_ci_text(d['ci_a'])} vs {_label(rule, 'b')} "
            f"{kb}/{nb} = {_fmt(d['share_b'], 2)}{_ci_text(d['ci_b'])}; odds ratio {_fmt(o.estimate)}{_ci_text(o.ci)}"
        )
    if k == "share_bound":
        return (
            f"{o.counts['k']}/{o.counts['n']} = {_fmt(o.estimate, 2)}{_ci_text(o.ci)} "
            f"({rule.direction} {_fmt(float(rule.params['bound']), 2)} claimed)"
        )
    if k == "predicts":
        return (
            f"AUC {_fmt(o.estimate)}{_ci_text(o.ci)} of {rule.params['score']} for {rule.params['outcome']} "
            f"({o.counts['positive']} with, {o.counts['negative']} without)"
        )
    if k in ("trend", "equivalence"):
        extra = f", R² = {_fmt(d['r2'])}" if "r2" in d else ""
        return f"{o.statistic} = {_fmt(o.estimate)}{_ci_text(o.ci)}{extra} over {o.n} units"
    if k == "paired":
        return (
            f"mean of {rule.params['first']} − {rule.params['second']} = {_fmt(o.estimate)}{_ci_text(o.ci)} "
            f"over {o.n} units"
        )
    return f"{o.statistic} of {rule.params['value']} = {_fmt(o.estimate)}{_ci_text(o.ci)} over {o.n} units"


def _power_summary(sample: _Sample, settings: Settings) -> tuple[float | None, int | None, str]:
    r = sample.rule
    against = _effect_against(r.kind, r.direction, r.paper, r.params)
    if against:
        power = sample.power_at(sample.sizes) if sum(sample.sizes) else 0.0
        return power, None, f"no number of units helps: the paper's effect ({against}) is against this rule's direction"
    try:
        power = sample.power_at(sample.sizes)
        _, split = sample.fractions()
        need = pw.runs_needed(lambda n: sample.power_at(sample.sizes_for(n)), start=2, target=settings.power_target)
    except ValueError as e:
        return None, None, f"no power: {e}"
    if sample.rule.test == "boschloo":
        split += " (Fisher's power above 400 tables, so at most this many for Boschloo's test)"
    note = (
        f"units for {settings.power_target:.0%} power {split}".strip()
        if need is not None
        else f"{settings.power_target:.0%} power is out of reach within 5000 units at the paper's effect size"
    )
    return power, need, note


def _result(rule: Rule, rows: Sequence[Mapping], scale: str, settings: Settings) -> ClaimResult:
    sample = _Sample(rule, rows, settings)
    scope_reason = _scope_reason(rule, rows, scale)
    outcome, reason = None, sample.short
    if not sample.short:
        try:
            outcome = sample.outcome()
        except ValueError as e:
            reason = f"the test is undefined on these units: {e}"
    power, need, need_note = _power_summary(sample, settings)
    base = {
        "id": rule.id or rule.label,
        "statement": rule.statement or rule.label,
        "source": rule.source,
        "kind": rule.kind,
        "direction": rule.direction,
        "correction": settings.correction,
        "alpha": settings.alpha,
        "paper": {**dict(rule.paper), "text": _paper_text(rule)},
        "power": power,
        "power_method": sample.power_method(),
        "runs_needed": need,
        "runs_needed_note": need_note,
        "note": rule.note,
        "p_adjusted": None,
        "p_against_adjusted": None,
    }
    if outcome is None:
        return ClaimResult(
            **base,
            test=_TEST_NAMES.get(rule.test or _TESTS[rule.kind][0], rule.test),
            verdict="not comparable" if scope_reason else None,
            p_value=None,
            p_against=None,
            n=sum(sample.sizes),
            counts={"sizes": list(sample.sizes)},
            statistic="",
            estimate=None,
            ci=None,
            ci_level=st.CI_LEVEL,
            reason=scope_reason or reason,
            evidence=reason,
            scope_ok=not scope_reason,
        )
    return ClaimResult(
        **base,
        test=outcome.test,
        verdict="not comparable" if scope_reason else None,
        p_value=outcome.p_for,
        p_against=outcome.p_against,
        n=outcome.n,
        counts=outcome.counts,
        statistic=outcome.statistic,
        estimate=outcome.estimate,
        ci=None if outcome.ci is None else list(outcome.ci),
        ci_level=outcome.ci_level,
        reason=scope_reason,
        evidence=_evidence(rule, outcome),
        detail=outcome.detail,
        scope_ok=not scope_reason,
    )


def _all_result(rule: Rule, rows: Sequence[Mapping], scale: str, settings: Settings) -> ClaimResult:
    parts = [_result(p, select(rows, p.where), scale, settings) for p in rule.parts]
    k = len(parts)
    computed = all(p.p_value is not None for p in parts)
    scope = next((p.reason for p in parts if not p.scope_ok), "")
    powers = [p.power for p in parts]
    power = math.prod(powers) if all(x is not None for x in powers) else None
    samples = [_Sample(p, select(rows, p.where), settings) for p in rule.parts]
    total0 = sum(sum(s.sizes) for s in samples)
    try:
        if total0 == 0 or any(sum(s.sizes) == 0 for s in samples):
            raise ValueError("a part has no units to scale from")
        against = [p.label for p in rule.parts if _effect_against(p.kind, p.direction, p.paper, p.params)]
        if against:
            raise ValueError(f"the paper's effect is against the direction of part(s) {', '.join(against)}")

        def power_at(total: int) -> float:
            out = 1.0
            for s in samples:
                out *= s.power_at(s.sizes_for(max(1, round(sum(s.sizes) * total / total0))))
            return out

        need = pw.runs_needed(power_at, start=2, target=settings.power_target)
        note = (
            f"units over all parts (each part grown in proportion) for {settings.power_target:.0%} power of the "
            "conjunction"
            if need is not None
            else f"{settings.power_target:.0%} power is out of reach within 5000 units"
        )
    except ValueError as e:
        need, note = None, f"no power: {e}"
    short = [f"{p.id}: {p.reason or p.evidence}" for p in parts if p.p_value is None]
    return ClaimResult(
        id=rule.id,
        statement=rule.statement,
        source=rule.source,
        kind="all",
        test=f"intersection–union over {k} parts (max p; against: Bonferroni over the parts)",
        direction="all",
        verdict="not comparable" if scope else None,
        p_value=max(p.p_value for p in parts) if computed else None,
        p_adjusted=None,
        p_against=min(1.0, k * min(p.p_against for p in parts if p.p_against is not None))
        if any(p.p_against is not None for p in parts)
        else None,
        p_against_adjusted=None,
        correction=settings.correction,
        alpha=settings.alpha,
        n=sum(p.n for p in parts),
        counts={p.id: p.counts for p in parts},
        statistic="; ".join(f"{p.id}: {p.statistic}" for p in parts),
        estimate=None,
        ci=None,
        ci_level=st.CI_LEVEL,
        paper={"text": "; ".join(f"{p.id}: {p.paper['text']}" for p in parts)},
        power=power,
        power_method="product of the parts' powers (parts treated as independent)",
        runs_needed=need,
        runs_needed_note=note,
        reason=scope or ("; ".join(short) if short else ""),
        evidence="; ".join(f"{p.id}: {p.evidence} (p = {_p_text(p.p_value)})" for p in parts),
        parts=[p.to_json() for p in parts],
        scope_ok=not scope,
        note=rule.note,
    )


def evaluate(rule: Rule, units: Mapping[str, Sequence[Mapping]], *, scale: str, settings: Settings) -> ClaimResult:
    """The test of ``rule`` on the analysis' ``units`` (``name → list of rows``), before
    [`judge`][empirical.claims.rules.judge].

    Raises:
        KeyError: the rule names a unit list or a field that the analysis does not provide (named).
    """
    if rule.units not in units:
        raise KeyError(f"claim {rule.id!r} reads units {rule.units!r}; the analysis provides: {sorted(units)}")
    rows = select(units[rule.units], rule.where)
    if rule.kind == "all":
        return _all_result(rule, rows, scale, settings)
    return _result(rule, rows, scale, settings)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values: $\\tilde p_{(i)} = \\max_{j\\le i}\\min(1, (m-j+1)\\,p_{(j)})$."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(pvalues[i])))
        out[i] = running
    return out


def _power_text(r: ClaimResult, settings: Settings) -> str:
    power = "–" if r.power is None else f"{r.power:.2f}"
    need = (
        f"; {r.runs_needed} units would give {settings.power_target:.0%} power"
        if r.runs_needed is not None
        else f"; {r.runs_needed_note}"
    )
    return f"power {power} against the paper's effect ({r.paper.get('text', '')}) with n = {r.n}{need}"


def judge(results: Sequence[ClaimResult], settings: Settings) -> list[ClaimResult]:
    """Give every claim of one report its verdict, after the correction for multiple claims.

    The family is the claims with a p-value that are in scope; Holm's correction is applied to their p-values in
    the paper's direction, and separately to those against it. Claims out of scope stay "not comparable"; claims
    without a test (too few units, degenerate samples) are "not detected".
    """
    family = [i for i, r in enumerate(results) if r.p_value is not None and r.scope_ok]
    adj_for = adj_against = [r.p_value for r in results]
    if settings.correction == "holm" and family:
        a = holm([results[i].p_value for i in family])
        b = holm([results[i].p_against for i in family])
        adj_for, adj_against = [None] * len(results), [None] * len(results)
        for j, i in enumerate(family):
            adj_for[i], adj_against[i] = a[j], b[j]
    out = []
    for i, r in enumerate(results):
        if not r.scope_ok:
            out.append(dataclasses.replace(r, verdict="not comparable"))
            continue
        if r.p_value is None:
            out.append(dataclasses.replace(r, verdict="not detected", reason=f"{r.reason}; {_power_text(r, settings)}"))
            continue
        pf = adj_for[i] if settings.correction == "holm" else r.p_value
        pa = adj_against[i] if settings.correction == "holm" else r.p_against
        if pf < settings.alpha:
            verdict, reason = "supported", ""
        elif pa < settings.alpha:
            verdict, reason = "contradicted", ""
        else:
            verdict = "not detected"
            reason = (
                f"neither direction significant at α = {settings.alpha:g}"
                f"{' after Holm' if settings.correction == 'holm' else ''}; {_power_text(r, settings)}"
            )
        corr = settings.correction == "holm"
        out.append(
            dataclasses.replace(
                r,
                verdict=verdict,
                reason=reason,
                p_adjusted=adj_for[i] if corr else None,
                p_against_adjusted=adj_against[i] if corr else None,
            )
        )
    return out


def evaluate_all(
    rules: Sequence[Rule], units: Mapping[str, Sequence[Mapping]], *, scale: str, settings: Settings | None = None
) -> list[ClaimResult]:
    """[`evaluate`][empirical.claims.rules.evaluate] every rule, then [`judge`][empirical.claims.rules.judge] them
    together (one report's claims)."""
    settings = settings or Settings()
    return judge([evaluate(r, units, scale=scale, settings=settings) for r in rules], settings)
