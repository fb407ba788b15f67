"""The papers' experiments as named, versioned configurations, each with an analysis that writes a report.

- `lucas_table1` — Lucas et al. 2021, Table 1: share of non-monotone MNIST/Fashion-MNIST MLPs by optimiser × batch norm
  × learning rate
- `lucas_table2` — Lucas et al. 2021, Table 2: CIFAR ResNet variants BN / BN-I / NBN-I / NBN-F × SGD / Adam (CIFAR-10
  when present, else Fashion-MNIST padded to 32×32×3)
- `lucas_fig5_7` — Lucas et al. 2021, Figures 5 and 7: distance and Gauss length against min Δ; the power law of Gauss
  length on distance
- `lucas_fig6_8` — Lucas et al. 2021, Figures 6 and 8: unrelated initialisations → an optimum; init↔init, init→optimum,
  optimum↔optimum
- `lucas_autoencoder` — Lucas et al. 2021, Figure 4: deep MNIST autoencoders, SGD vs Adam
- `frankle_barriers` — Frankle 2020, Figures 1–3: init → final and checkpoint → final; barriers by iteration
- `vlaar_frankle_layerwise` — Vlaar & Frankle 2022: layer-wise interpolation of a ResNet; all-but-one-layer retrain
- `wang_plateau` — Wang et al. 2023: last-layer bias gap and error plateau, linear vs homogeneous bias
- `optimizer_switch` — Lucas et al. 2021, §4.2.2 / App. C.4: SGD → Adam and Adam → SGD mid-training

Each experiment is a TOML file ``<name>.toml`` beside this module (the configuration, versioned by its
``version`` key) and a Python module ``<name>.py`` with ``analyse(ctx) -> Report``. The TOML holds a sweep in
the format of [`empirical.sweep`][empirical.sweep] (``[base]``, ``[grid]``, ``[[runs]]``) plus:

- ``name``, ``version``, ``title``, ``reference``, ``description``;
- ``[analysis]``: the analysis parameters (thresholds, numbers of random initialisations, ...);
- ``[scales.smoke|small|paper]``: overrides of ``base`` for each preset, with optional ``grid`` (entries
  replaced; an empty list removes one), ``runs`` (list replaced) and ``analysis`` (merged) tables;
- ``same_runs_as = "<other experiment>"``: take the sweep (``base``, ``grid``, ``runs``, the scales' overrides
  and ``fallbacks``) from another experiment, so both analyse the same runs (trained once in a shared root);
- ``[[fallbacks]]``: ``dataset = "cifar10"``, ``replace = {...}``, ``note = "..."``: when the named data set is
  not installed, every configuration that uses it gets ``replace`` merged in and the report says so;
- ``changes = ["..."]``: what moved in the numbers with this ``version`` of the configuration and why (the
  report's notes start with them);
- ``[[claims]]``: the paper's claims as pre-registered rules ([`empirical.claims.rules`][empirical.claims.rules]:
  statistic, test, direction, minimum counts, the paper's effect size, scope), ``[verdicts]``: α, the correction, the
  power target, and ``[[rule_changes]]``: each rule changed after its data were seen (date, what, why), shown in the
  report.

[`load_experiment`][empirical.experiments.load_experiment] reads one at a scale and returns an
[`ExperimentSpec`][empirical.experiments.ExperimentSpec]; [`empirical.reproduce`][empirical.reproduce] runs it.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from empirical.runs import RunConfig
from empirical.sweep import SCALES, expand, merge_values

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["EXPERIMENTS", "ExperimentSpec", "experiment_file", "experiment_module", "load_experiment"]

#: the reproductions, in the order of the issue
EXPERIMENTS: tuple[str, ...] = (
    "lucas_table1",
    "lucas_table2",
    "lucas_fig5_7",
    "lucas_fig6_8",
    "lucas_autoencoder",
    "frankle_barriers",
    "vlaar_frankle_layerwise",
    "wang_plateau",
    "optimizer_switch",
)
_HERE = Path(__file__).parent
_KNOWN = {"name", "version", "title", "reference", "description", "base", "grid", "runs", "scales", "analysis"}
_KNOWN |= {"claims", "rule_changes", "verdicts"}
_KNOWN |= {"fallbacks", "same_runs_as", "changes"}


@dataclasses.dataclass(frozen=True)
class ExperimentSpec:
    """An experiment read at one scale.

    Attributes:
        name, version, title, reference, description: from the TOML file.
        scale: the preset (one of [`empirical.sweep.SCALES`][empirical.sweep.SCALES]).
        configs: the run configurations of its sweep (deduplicated, in grid order).
        analysis: the analysis parameters at this scale.
        notes: statements for the report (e.g. a data set that stood in for a missing one).
        document: the TOML document as read (for the report's record of the exact configuration).
        path: the TOML file.
        rules: the claims as [`empirical.claims.Rule`][empirical.claims.rules.Rule] objects.
        rule_changes: the recorded rule changes ([`empirical.claims.RuleChange`][empirical.claims.rules.RuleChange]).
        verdicts: the verdict settings ([`empirical.claims.Settings`][empirical.claims.rules.Settings]).
    """

    name: str
    version: int
    title: str
    reference: str
    description: str
    scale: str
    configs: list
    analysis: dict
    notes: list
    document: dict
    path: str
    rules: list = dataclasses.field(default_factory=list)
    rule_changes: list = dataclasses.field(default_factory=list)
    verdicts: Any = None


def _check_name(name: str) -> str:
    if name not in EXPERIMENTS:
        import difflib

        close = difflib.get_close_matches(str(name), EXPERIMENTS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown experiment {name!r}{hint}; valid: {', '.join(EXPERIMENTS)}")
    return name


def experiment_file(name: str) -> Path:
    """The TOML file of experiment ``name``."""
    return _HERE / f"{_check_name(name)}.toml"


def experiment_module(name: str) -> ModuleType:
    """The analysis module of experiment ``name`` (it defines ``analyse(ctx) -> Report``)."""
    return importlib.import_module(f"empirical.experiments.{_check_name(name)}")


def _dataset_available(name: str, data_dir: str | os.PathLike | None) -> bool:
    from empirical.data import available

    return available(name, data_dir)[0]


def load_experiment(
    name: str,
    scale: str = "small",
    *,
    data_dir: str | os.PathLike | None = None,
    seed_offset: int = 0,
    available: dict[str, bool] | None = None,
) -> ExperimentSpec:
    """Read experiment ``name`` at ``scale``.

    Args:
        name: one of [`EXPERIMENTS`][empirical.experiments.EXPERIMENTS].
        scale: ``"smoke"`` (seconds), ``"small"`` (a 2-core CPU, minutes), ``"medium"`` (the MLP experiments on
            the full MNIST / Fashion-MNIST training sets, under an hour each on a 2-core CPU) or ``"paper"``.
        data_dir: folder searched for CIFAR (default ``$MLITHEORY_DATA_DIR``); decides the fallbacks.
        seed_offset: added to every run's seed (a different draw of the whole experiment).
        available: data set name → whether installed, to decide fallbacks without looking (for tests).

    Raises:
        ValueError: unknown experiment, scale or configuration key (named).
    """
    path = experiment_file(name)
    doc = tomllib.loads(path.read_text())
    unknown = sorted(set(doc) - _KNOWN)
    if unknown:
        raise ValueError(f"{path}: unknown top-level key(s) {unknown}; valid: {sorted(_KNOWN)}")
    if scale not in SCALES:
        raise ValueError(f"scale={scale!r}; valid: {', '.join(SCALES)}")
    if "same_runs_as" in doc:
        other = tomllib.loads(experiment_file(doc["same_runs_as"]).read_text())
        own_analysis = {k: v.get("analysis", {}) for k, v in doc.get("scales", {}).items()}
        for key in ("base", "grid", "runs", "fallbacks"):
            doc.pop(key, None)
            if key in other:
                doc[key] = other[key]
        doc["scales"] = {
            k: {**{kk: vv for kk, vv in v.items() if kk != "analysis"}, "analysis": own_analysis.get(k, {})}
            for k, v in other.get("scales", {}).items()
        }
    scales = doc.get("scales", {})
    if scale not in scales:
        raise ValueError(f"{path} defines no scale {scale!r}; it defines: {', '.join(scales)}")
    over = copy.deepcopy(scales[scale])
    grid = dict(doc.get("grid", {}))
    for k, v in over.pop("grid", {}).items():  # an empty list removes the entry from the grid
        if v == []:
            grid.pop(k, None)
        else:
            grid[k] = v
    runs = over.pop("runs", doc.get("runs"))
    analysis = merge_values(doc.get("analysis", {}), over.pop("analysis", {}))
    base = merge_values(doc.get("base", {}), over)
    try:
        configs = expand(base, grid, runs)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{path} (scale {scale}): {e}") from e
    notes: list[str] = [str(n) for n in doc.get("changes", [])]
    for fb in doc.get("fallbacks", []):
        target = fb["dataset"]
        users = [c for c in configs if c.dataset == target]
        if not users:
            continue
        ok = (available or {}).get(target)
        if ok is None:
            ok = _dataset_available(target, data_dir)
            if not ok and data_dir is not None:  # a folder named by the user: its data set is meant, not a stand-in
                from empirical.data import available as _available

                raise ValueError(f"data_dir={str(data_dir)!r}: {_available(target, data_dir)[1]}")
        if not ok:
            configs = [
                RunConfig.from_dict(merge_values(c.to_dict(), fb["replace"])) if c.dataset == target else c
                for c in configs
            ]
            notes.append(fb["note"])
    if seed_offset:
        configs = [RunConfig.from_dict({**c.to_dict(), "seed": c.seed + int(seed_offset)}) for c in configs]
    unique: dict[str, RunConfig] = {}
    for c in configs:
        unique.setdefault(c.hash, c)
    from empirical.claims import Settings, parse_rule_changes, parse_rules

    rules = parse_rules(doc, where=str(path))
    changes = parse_rule_changes(doc, where=str(path))
    try:
        verdicts = Settings.from_dict(doc.get("verdicts"))
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: {e}") from e
    return ExperimentSpec(
        name=str(doc.get("name", name)),
        version=int(doc.get("version", 1)),
        title=str(doc.get("title", name)),
        reference=str(doc.get("reference", "")),
        description=str(doc.get("description", "")),
        scale=scale,
        configs=list(unique.values()),
        analysis=analysis,
        notes=notes,
        document=doc,
        path=str(path),
        rules=rules,
        rule_changes=changes,
        verdicts=verdicts,
    )
