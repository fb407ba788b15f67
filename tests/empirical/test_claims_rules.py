"""Claim rules on planted data: each kind reaches each verdict it can give, and a flipped rule fails."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from empirical.claims import (
    VERDICTS,
    Rule,
    Settings,
    evaluate,
    evaluate_all,
    holm,
    judge,
    parse_rule_changes,
    parse_rules,
    select,
)
from empirical.claims import stats as cs
from tests.strategies import plant_units

FAST = Settings(sims=400)

#: one rule of every kind (and a conjunction), with filters of every form
RULES = {
    "share_difference": {
        "kind": "share_difference",
        "outcome": "nonmonotone",
        "a": {"optimizer": "adam"},
        "b": {"optimizer": "sgd"},
        "direction": "greater",
        "min_count": 5,
        "labels": {"a": "Adam", "b": "SGD"},
        "paper": {"a": 0.63, "b": 0.19, "basis": "planted"},
    },
    "share_difference_boschloo": {
        "kind": "share_difference",
        "test": "boschloo",
        "outcome": "nonmonotone",
        "a": {"lr": {"ge": 0.3}},
        "b": {"lr": {"le": 0.03}},
        "where": {"optimizer": "sgd"},
        "min_count": 3,
        "paper": {"a": 0.9, "b": 0.1, "basis": "planted"},
    },
    "share_bound": {
        "kind": "share_bound",
        "outcome": "nonmonotone",
        "bound": 0.1,
        "direction": "below",
        "where": {"optimizer": "sgd", "lr": {"le": 0.03}},
        "min_count": 10,
        "paper": {"share": 0.0, "basis": "planted"},
    },
    "share_bound_above": {
        "kind": "share_bound",
        "outcome": "barrier",
        "bound": 0.5,
        "direction": "above",
        "min_count": 4,
        "paper": {"share": 0.95, "basis": "planted"},
    },
    "predicts": {
        "kind": "predicts",
        "outcome": "fails",
        "score": "distance",
        "min_count": 3,
        "paper": {"auc": 0.8, "positive_share": 0.3, "basis": "assumed"},
    },
    "trend": {
        "kind": "trend",
        "x": "lr",
        "y": "distance",
        "direction": "increasing",
        "min_count": 6,
        "paper": {"rho": 0.6, "basis": "assumed"},
    },
    "trend_pearson_log": {
        "kind": "trend",
        "method": "pearson",
        "log": True,
        "x": "distance",
        "y": "gauss_length",
        "direction": "decreasing",
        "min_count": 5,
        "paper": {"rho": -0.785, "basis": "planted"},
    },
    "paired": {
        "kind": "paired",
        "first": "plateau_linear",
        "second": "plateau_homogeneous",
        "direction": "greater",
        "min_count": 4,
        "paper": {"dz": 1.0, "basis": "assumed"},
    },
    "paired_ttest": {
        "kind": "paired",
        "test": "ttest",
        "first": "a",
        "second": "b",
        "direction": "less",
        "min_count": 4,
        "paper": {"dz": -1.0, "basis": "assumed"},
    },
    "mean_bound": {
        "kind": "mean_bound",
        "value": "spike",
        "bound": 1.5,
        "log": True,
        "direction": "below",
        "min_count": 4,
        "paper": {"d": -1.0, "basis": "assumed"},
    },
    "mean_bound_wilcoxon": {
        "kind": "mean_bound",
        "test": "wilcoxon",
        "value": "ratio",
        "bound": 10.0,
        "direction": "above",
        "min_count": 4,
        "paper": {"d": 1.0, "basis": "assumed"},
    },
    "equivalence": {
        "kind": "equivalence",
        "x": "min_delta",
        "y": "accuracy",
        "margin": 0.3,
        "min_count": 10,
        "paper": {"rho": 0.0, "basis": "the paper: no relation"},
    },
    "all": {
        "kind": "all",
        "parts": [
            {
                "label": "sgd",
                "kind": "trend",
                "x": "lr",
                "y": "distance",
                "where": {"optimizer": "sgd"},
                "min_count": 5,
                "paper": {"rho": 0.5, "basis": "assumed"},
            },
            {
                "label": "adam",
                "kind": "trend",
                "x": "lr",
                "y": "distance",
                "where": {"optimizer": "adam"},
                "min_count": 5,
                "paper": {"rho": 0.5, "basis": "assumed"},
            },
        ],
    },
}
DIRECTED = [k for k in RULES if k != "equivalence"]


def rule(name, **over):
    d = {"id": name, "statement": f"planted {name}", "source": "test", **RULES[name], **over}
    return Rule.from_dict(d)


def judge_one(r, units, scale="small", settings=FAST):
    return evaluate_all([r], units, scale=scale, settings=settings)[0]


@pytest.mark.parametrize("name", list(RULES))
def test_a_strong_effect_in_the_papers_direction_is_supported(name):
    r = rule(name)
    res = judge_one(r, plant_units(r, effect="paper"))
    assert res.verdict == "supported", res.evidence
    assert res.p_value < 0.05 and res.p_adjusted == res.p_value  # one claim: Holm leaves it
    assert res.power is not None and 0 <= res.power <= 1
    assert res.reason == ""


@pytest.mark.parametrize("name", list(RULES))
def test_a_strong_effect_against_the_paper_is_contradicted(name):
    r = rule(name)
    res = judge_one(r, plant_units(r, effect="reversed"))
    assert res.verdict == "contradicted", res.evidence
    assert res.p_against < 0.05 <= res.p_value


@pytest.mark.parametrize("name", DIRECTED)
def test_flipping_the_direction_turns_support_into_contradiction(name):
    r = rule(name)
    units = plant_units(r, effect="paper")
    flipped = judge_one(r.flipped(), units)
    assert flipped.verdict == "contradicted"
    assert flipped.runs_needed is None and "against" in flipped.runs_needed_note  # the paper's effect opposes it
    assert r.flipped().flipped() == r


def test_an_equivalence_rule_has_no_direction_to_flip():
    with pytest.raises(ValueError, match="no direction"):
        rule("equivalence").flipped()
    # its counterpart: a margin narrower than the planted correlation's interval does not support it
    r = rule("equivalence")
    units = plant_units(r, effect="paper")
    assert judge_one(rule("equivalence", margin=0.02), units).verdict == "not detected"


@pytest.mark.parametrize("name", list(RULES))
def test_too_few_units_are_not_detected_with_the_power_they_had(name):
    r = rule(name)
    floor = max(p.min_count for p in r.parts) if r.parts else r.min_count
    res = judge_one(r, plant_units(r, effect="paper", n=floor - 1))
    assert res.verdict == "not detected"
    assert res.p_value is None and res.p_adjusted is None
    assert "too few" in res.reason and "power" in res.reason
    assert res.power is not None and res.power < 0.8
    assert res.runs_needed is not None and res.runs_needed > res.n


@pytest.mark.parametrize(
    ("name", "n"),
    [
        ("share_difference", 5),
        ("share_bound", 12),
        ("predicts", 3),
        ("trend", 6),
        ("paired", 4),
        ("mean_bound", 4),
        ("equivalence", 12),
    ],
)
def test_an_underpowered_sample_is_not_detected_and_says_how_many_would_do(name, n):
    """The paper's effect size at a sample just above the minimum: tested, not significant, power below 80 %."""
    r = rule(name)
    rng = np.random.default_rng(1)
    if name == "share_difference":
        rows = [{"optimizer": "adam", "nonmonotone": i < 2} for i in range(n)]
        rows += [{"optimizer": "sgd", "nonmonotone": i < 1} for i in range(n)]
    elif name == "share_bound":
        rows = [{"optimizer": "sgd", "lr": 0.01, "nonmonotone": False} for _ in range(n)]
    elif name == "predicts":
        rows = [{"fails": i % 2 == 0, "distance": float(rng.normal(0.3 if i % 2 == 0 else 0.0))} for i in range(2 * n)]
    elif name == "trend":
        x = np.arange(n, dtype=float)
        rows = [{"lr": float(v), "distance": float(w)} for v, w in zip(x, x + rng.normal(0, 4, n))]
    elif name == "paired":
        rows = [{"plateau_linear": 1.0 + d, "plateau_homogeneous": 1.0} for d in (0.2, -0.1, 0.3, -0.05)]
    elif name == "mean_bound":
        rows = [{"spike": v} for v in (1.2, 1.7, 1.3, 1.6)]
    else:
        rows = [{"min_delta": float(i), "accuracy": float(v)} for i, v in enumerate(rng.normal(size=n))]
    res = judge_one(r, {"runs": rows}, settings=Settings(sims=600))
    assert res.verdict == "not detected", res.evidence
    assert res.p_value is not None and res.p_value >= 0.05 and res.p_against >= 0.05
    assert res.power < 0.8 and res.runs_needed > res.n
    assert f"{res.runs_needed} units would give 80% power" in res.reason


@pytest.mark.parametrize("name", ["share_difference", "trend", "all"])
def test_stand_in_data_are_not_comparable(name):
    r = rule(name, scope={"datasets": ["cifar10"], "why": "the claim is about CIFAR-10"})
    real = judge_one(r, plant_units(r, effect="paper"))
    assert real.verdict == "supported"
    res = judge_one(r, plant_units(r, effect="paper", dataset="fashion-mnist"))
    assert res.verdict == "not comparable"
    assert "stand-in data" in res.reason and "fashion-mnist" in res.reason and "cifar10" in res.reason
    assert res.p_value is not None  # computed and shown, not judged
    assert res.p_adjusted is None


def test_a_scale_outside_the_scope_is_not_comparable():
    r = rule("share_difference", scope={"scales": ["medium", "paper"]})
    units = plant_units(r, effect="paper")
    assert judge_one(r, units, scale="medium").verdict == "supported"
    res = judge_one(r, units, scale="small")
    assert res.verdict == "not comparable" and "scale 'small'" in res.reason


def test_not_comparable_claims_stay_out_of_the_correction():
    inside = rule("share_difference")
    outside = dataclass_replace(rule("trend"), id="other", units="networks", scope={"datasets": ["cifar10"]})
    units = {**plant_units(inside), **plant_units(outside, dataset="mnist")}
    both = evaluate_all([inside, outside], units, scale="small", settings=FAST)
    assert [r.verdict for r in both] == ["supported", "not comparable"]
    assert both[0].p_adjusted == both[0].p_value  # a family of one


def dataclass_replace(r, **kw):
    import dataclasses

    return dataclasses.replace(r, **kw)


def test_a_conjunction_needs_every_part():
    r = rule("all")
    units = plant_units(r, effect="paper")
    rows = units["runs"]
    # reverse the Adam part only: the conjunction is contradicted (one part significantly against)
    for row in select(rows, {"optimizer": "adam"}):
        row["distance"] = 1.0 / row["distance"]
    res = judge_one(r, units)
    assert res.verdict == "contradicted"
    parts = {p["id"]: p for p in res.parts}
    assert parts["sgd"]["p_value"] < 0.05 and parts["adam"]["p_against"] < 0.05
    assert res.p_value == max(p["p_value"] for p in res.parts)
    # one part without enough units: not detected, naming it
    few = [row for row in rows if row["optimizer"] == "sgd"] + select(rows, {"optimizer": "adam"})[:3]
    res = judge_one(r, {"runs": few})
    assert res.verdict == "not detected" and "adam" in res.reason


@given(st.lists(st.floats(0, 1), min_size=1, max_size=12), st.sampled_from([0.01, 0.05, 0.1]))
def test_holm_rejects_what_the_step_down_procedure_rejects(ps, alpha):
    """Holm: sort the p-values; reject while p_(j) ≤ α / (m − j + 1); stop at the first that is not."""
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    rejected = set()
    for j, i in enumerate(order):
        if ps[i] <= alpha / (m - j):
            rejected.add(i)
        else:
            break
    adj = holm(ps)
    assert {i for i in range(m) if adj[i] <= alpha} == rejected
    assert all(a >= p - 1e-15 for a, p in zip(adj, ps)) and all(a <= 1 for a in adj)


def test_holm_changes_a_verdict_that_one_test_alone_would_give():
    r1, r2 = rule("share_difference"), dataclass_replace(rule("share_difference"), id="again")
    rows = [{"optimizer": "adam", "nonmonotone": i < 6} for i in range(10)]
    rows += [{"optimizer": "sgd", "nonmonotone": i < 1} for i in range(10)]
    alone = judge_one(r1, {"runs": rows})
    assert 0.025 < alone.p_value < 0.05 and alone.verdict == "supported"
    both = evaluate_all([r1, r2], {"runs": rows}, scale="small", settings=FAST)
    assert [b.verdict for b in both] == ["not detected", "not detected"]
    assert both[0].p_adjusted == pytest.approx(min(1, 2 * alone.p_value))
    plain = evaluate_all([r1, r2], {"runs": rows}, scale="small", settings=Settings(sims=400, correction="none"))
    assert [b.verdict for b in plain] == ["supported", "supported"] and plain[0].p_adjusted is None


def test_results_carry_the_fields_other_code_reads():
    r = rule("share_difference")
    res = judge_one(r, plant_units(r)).to_json()
    for key in ("verdict", "test", "p_value", "p_adjusted", "n", "power", "ci", "paper", "runs_needed", "reason"):
        assert key in res
    assert res["verdict"] in VERDICTS and res["test"].startswith("Fisher exact")
    assert res["paper"]["a"] == 0.63 and "Adam 0.63" in res["paper"]["text"]
    assert len(res["ci"]) == 2 and res["n"] == 300


def test_degenerate_samples_are_not_detected_with_the_reason():
    r = rule("trend")
    rows = [{"lr": float(i), "distance": 1.0} for i in range(10)]
    res = judge_one(r, {"runs": rows})
    assert res.verdict == "not detected" and "constant" in res.reason


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"kind": "anova"}, "kind='anova'"),
        ({"direction": "up"}, "direction='up'"),
        ({"test": "chi2"}, "test='chi2'"),
        ({"paper": {"a": 0.5, "b": 0.1}}, "basis"),
        ({"paper": {"a": 0.5, "basis": "x"}}, "effect size a, b"),
        ({"min_count": 0}, "min_count=0"),
        ({"paper": {"a": 0.1, "b": 0.5, "basis": "x"}}, "not in the claim's direction"),
        ({"colour": "red"}, "unknown key"),
        ({"a": {"lr": {"about": 1}}}, "unknown comparison"),
        ({"scope": {"dataset": ["cifar10"]}}, "scope has unknown"),
    ],
)
def test_bad_rules_are_named(over, match):
    d = {"id": "x", "statement": "s", "source": "t", **RULES["share_difference"], **over}
    with pytest.raises(ValueError, match=match):
        Rule.from_dict(d)


def test_missing_fields_and_units_are_named():
    r = rule("share_difference")
    with pytest.raises(KeyError, match="'optimizer'"):
        evaluate(r, {"runs": [{"opt": "adam", "nonmonotone": True}]}, scale="small", settings=FAST)
    with pytest.raises(KeyError, match="reads units 'runs'"):
        evaluate(r, {"pairs": []}, scale="small", settings=FAST)


def test_overlapping_groups_are_refused():
    r = rule("share_difference", a={"lr": {"ge": 0.1}}, b={"lr": {"le": 0.3}})
    rows = [{"lr": 0.2, "optimizer": "sgd", "nonmonotone": True} for _ in range(10)]
    with pytest.raises(ValueError, match="overlap"):
        evaluate(r, {"runs": rows}, scale="small", settings=FAST)


def test_parse_rules_and_rule_changes_from_a_document():
    doc = {
        "claims": [
            {"id": "one", "statement": "s", "source": "t", **RULES["share_bound"]},
            {"id": "two", "statement": "s", "source": "t", **RULES["trend"]},
        ],
        "rule_changes": [
            {"date": "2026-11-25", "claims": ["one"], "what": "bound 0.05 → 0.1", "why": "w", "data_seen": "small"}
        ],
    }
    rules = parse_rules(doc)
    assert [r.id for r in rules] == ["one", "two"] and rules[0].params["bound"] == 0.1
    (ch,) = parse_rule_changes(doc)
    assert ch.claims == ("one",) and ch.data_seen == "small"
    doc["rule_changes"][0]["claims"] = ["three"]
    with pytest.raises(ValueError, match="unknown claim"):
        parse_rule_changes(doc)
    doc["claims"].append(doc["claims"][0])
    with pytest.raises(ValueError, match="repeat"):
        parse_rules(doc)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="alpha"):
        Settings(alpha=0.7)
    with pytest.raises(ValueError, match="correction"):
        Settings(correction="bonferroni")
    with pytest.raises(ValueError, match="unknown key"):
        Settings.from_dict({"alpha": 0.05, "level": 1})


def test_judging_twice_gives_the_same_verdicts_and_seeds_are_explicit():
    r = rule("predicts")
    units = plant_units(r, n=8)
    a = evaluate_all([r], units, scale="small", settings=FAST)[0]
    b = evaluate_all([r], units, scale="small", settings=FAST)[0]
    assert a == b
    c = evaluate_all([r], units, scale="small", settings=Settings(sims=400, seed=5))[0]
    assert c.verdict == a.verdict and (c.power, c.ci) != (a.power, a.ci)
    assert judge([a], FAST)[0].verdict == a.verdict


def test_spearman_uses_the_exact_null_for_a_handful_of_units():
    out = cs.trend([1, 2, 3], [1, 2, 3])
    assert out.p_for == pytest.approx(1 / 6)  # the identity is one of 3! orderings
    assert not math.isnan(out.p_against)
