"""Verdicts on the papers' claims: pre-registered rules, their statistical tests, power, and the four verdicts.

A claim of a paper is written, before the runs, as a rule in its experiment's TOML file (``[[claims]]``): which
units it reads, the statistic, the test, the paper's direction, the minimum counts, the paper's effect size (for
power) and the claim's scope. The analysis of an experiment supplies the units (one row per run, pair or
network); [`evaluate_all`][empirical.claims.rules.evaluate_all] tests every rule and
[`judge`][empirical.claims.rules.judge] corrects the report's p-values (Holm) and gives each claim a verdict: supported,
contradicted, not detected (with its power and the runs 80 % power needs), or not comparable (stand-in data or a scale
outside the claim's scope).

Rules ([`empirical.claims.rules`][empirical.claims.rules])
    Rule                  one claim as a pre-registered test (``Rule.from_dict`` reads a ``[[claims]]`` table)
    RuleChange            a rule changed after its data were seen (``[[rule_changes]]``), shown in the report
    Settings              α, the correction, the power target, simulation draws and seed (``[verdicts]``)
    parse_rules           the ``[[claims]]`` of a TOML document
    parse_rule_changes    its ``[[rule_changes]]``
    evaluate              one rule's test on the units, before the correction
    judge                 the report's correction and the verdicts
    evaluate_all          both, for the rules of one report
    holm                  Holm's step-down adjusted p-values
    ClaimResult           a judged claim (the per-claim fields of ``results.json``)
    KINDS, VERDICTS       the rule kinds and the four verdicts

Tests ([`empirical.claims.stats`][empirical.claims.stats]; scipy.stats underneath)
    share_difference      Fisher / Boschloo exact, one-sided, with the odds ratio and its exact interval
    share_bound           exact binomial test of a share against a bound
    predicts              Mann–Whitney U, with the ROC AUC and a bootstrap interval
    trend                 Spearman (or Pearson, log–log) correlation, one-sided, with a bootstrap interval
    paired                Wilcoxon signed-rank or paired t-test
    mean_bound            one-sample t-test or Wilcoxon against a bound
    equivalence           two one-sided tests of |ρ| < margin (null claims)

Power ([`empirical.claims.power`][empirical.claims.power])
    power_share_difference, power_share_bound       exact enumeration
    power_predicts, power_trend, power_paired, power_mean_bound, power_equivalence   simulation (seeded) or exact
    runs_needed           smallest sample with the target power

Paper against ours ([`empirical.claims.cells`][empirical.claims.cells])
    compare_shares        cell by cell: our share with its exact interval beside the paper's
    compare_means         the same for means, through the t interval
"""

from empirical.claims.cells import CellComparison, compare_means, compare_shares
from empirical.claims.power import (
    power_equivalence,
    power_mean_bound,
    power_paired,
    power_predicts,
    power_share_bound,
    power_share_difference,
    power_trend,
    runs_needed,
)
from empirical.claims.rules import (
    KINDS,
    VERDICTS,
    ClaimResult,
    Rule,
    RuleChange,
    Settings,
    evaluate,
    evaluate_all,
    holm,
    judge,
    parse_rule_changes,
    parse_rules,
    select,
)
from empirical.claims.stats import (
    Outcome,
    equivalence,
    mean_bound,
    paired,
    predicts,
    share_bound,
    share_difference,
    trend,
)

__all__ = [
    "KINDS",
    "VERDICTS",
    "CellComparison",
    "ClaimResult",
    "Outcome",
    "Rule",
    "RuleChange",
    "Settings",
    "compare_means",
    "compare_shares",
    "equivalence",
    "evaluate",
    "evaluate_all",
    "holm",
    "judge",
    "mean_bound",
    "paired",
    "parse_rule_changes",
    "parse_rules",
    "power_equivalence",
    "power_mean_bound",
    "power_paired",
    "power_predicts",
    "power_share_bound",
    "power_share_difference",
    "power_trend",
    "predicts",
    "runs_needed",
    "select",
    "share_bound",
    "share_difference",
    "trend",
]
