"""Every pre-registered claim rule of every experiment on planted data: the paper's effect is supported, the reverse
contradicted, a flipped rule fails, stand-in data are not comparable; the paper's numbers typed into the rules
are the papers' tables pooled."""

import dataclasses

import pytest

from empirical.claims import Settings, evaluate_all
from empirical.experiments import EXPERIMENTS, load_experiment
from empirical.experiments.lucas_table1 import PAPER_TABLE1
from empirical.experiments.lucas_table2 import PAPER_TABLE2
from tests.strategies import plant_units

FAST = Settings(sims=300)
RULES = [(name, rule) for name in EXPERIMENTS for rule in load_experiment(name, "small").rules]


def _scale(rule) -> str:
    scales = (rule.scope or {}).get("scales")
    return scales[0] if scales else "small"


def _verdict(rule, units, scale=None):
    return evaluate_all([rule], units, scale=scale or _scale(rule), settings=FAST)[0]


def test_every_experiment_has_rules():
    names = {name for name, _ in RULES}
    assert names == set(EXPERIMENTS)
    assert len(RULES) >= 30


@pytest.mark.parametrize(("name", "rule"), RULES, ids=[f"{n}:{r.id}" for n, r in RULES])
def test_the_papers_effect_planted_is_supported_and_its_reverse_contradicted(name, rule):
    assert _verdict(rule, plant_units(rule, effect="paper")).verdict == "supported"
    assert _verdict(rule, plant_units(rule, effect="reversed")).verdict == "contradicted"


@pytest.mark.parametrize(("name", "rule"), RULES, ids=[f"{n}:{r.id}" for n, r in RULES])
def test_a_rule_with_its_direction_flipped_fails(name, rule):
    """Flipping a rule's comparison turns the planted paper effect into a contradiction (and so fails the test
    above); an equivalence rule has no direction: a margin too narrow for the planted data does not support it."""
    units = plant_units(rule, effect="paper")
    if rule.kind == "equivalence":
        narrow = dataclasses.replace(rule, params={**rule.params, "margin": 0.01})
        assert _verdict(narrow, units).verdict != "supported"
        return
    assert _verdict(rule.flipped(), units).verdict == "contradicted"


SCOPED = [(n, r) for n, r in RULES if (r.scope or {}).get("datasets") or (r.scope or {}).get("scales")]


@pytest.mark.parametrize(("name", "rule"), SCOPED, ids=[f"{n}:{r.id}" for n, r in SCOPED])
def test_outside_the_claims_scope_is_not_comparable(name, rule):
    scope = rule.scope
    slots = rule.parts if rule.kind == "all" else (rule,)
    pinned = all("dataset" in s.where for s in slots)  # every group names its data set: no stand-in can enter
    if scope.get("datasets") and not pinned:
        res = _verdict(rule, plant_units(rule, effect="paper", dataset="stand-in"))
        assert res.verdict == "not comparable" and "stand-in data" in res.reason
    if scope.get("scales"):
        other = next(s for s in ("smoke", "small", "medium", "paper") if s not in scope["scales"])
        res = _verdict(rule, plant_units(rule, effect="paper"), scale=other)
        assert res.verdict == "not comparable" and f"scale {other!r}" in res.reason


def test_resnet_claims_on_stand_in_data_are_scoped_to_cifar():
    for name in ("lucas_table2", "frankle_barriers", "vlaar_frankle_layerwise"):
        for rule in load_experiment(name, "small").rules:
            datasets = (rule.scope or {}).get("datasets", [])
            if rule.id != "mlp_no_plateau":
                assert "cifar10" in datasets, (name, rule.id)


def _pool(table, pred):
    k = n = 0
    for key, cells in table.items():
        for sub, cell in cells.items():
            if cell is not None and pred(key, sub):
                k += round(cell[0] * cell[1])
                n += cell[1]
    return k / n, n


SGD_LARGE = lambda g, lr: g[0] == "sgd" and lr >= 0.3
SGD_SMALL = lambda g, lr: g[0] == "sgd" and lr <= 0.03
ADAM_BN = lambda g, lr: g == ("adam", True)


@pytest.mark.parametrize(
    ("claim", "part", "pred_a", "pred_b"),
    [
        ("large_lr_nonmonotone", None, SGD_LARGE, SGD_SMALL),
        ("adam_more_nonmonotone", None, lambda g, lr: g[0] == "adam", lambda g, lr: g[0] == "sgd"),
        ("bn_more_nonmonotone", None, lambda g, lr: g[1], lambda g, lr: not g[1]),
        ("adam_bn_worst", "Adam BN > SGD BN", ADAM_BN, lambda g, lr: g == ("sgd", True)),
        ("adam_bn_worst", "Adam BN > SGD no BN", ADAM_BN, lambda g, lr: g == ("sgd", False)),
        ("adam_bn_worst", "Adam BN > Adam no BN", ADAM_BN, lambda g, lr: g == ("adam", False)),
    ],
)
def test_table1_rules_carry_the_papers_pooled_shares(claim, part, pred_a, pred_b):
    rule = {r.id: r for r in load_experiment("lucas_table1", "small").rules}[claim]
    if part:
        rule = {p.label: p for p in rule.parts}[part]
    a, n_a = _pool(PAPER_TABLE1, pred_a)
    b, n_b = _pool(PAPER_TABLE1, pred_b)
    assert rule.paper["a"] == pytest.approx(a, abs=6e-4) and rule.paper["b"] == pytest.approx(b, abs=6e-4)
    if "n_a" in rule.paper:
        assert (rule.paper["n_a"], rule.paper["n_b"]) == (n_a, n_b)


def test_table1_small_lr_share_and_table2_rules_carry_the_papers_numbers():
    t1 = {r.id: r for r in load_experiment("lucas_table1", "small").rules}
    share, n = _pool(PAPER_TABLE1, lambda g, lr: g[0] == "sgd" and lr <= 0.03)
    assert t1["sgd_small_lr_monotone"].paper["share"] == share == 0.0 and n == 136
    t2 = {r.id: r for r in load_experiment("lucas_table2", "small").rules}
    cases = {
        "bn_more_nonmonotone": (lambda o, v: v == "bn", lambda o, v: v in ("nbn-i", "nbn-f")),
        "adam_more_nonmonotone": (lambda o, v: o == "adam", lambda o, v: o == "sgd"),
        "identity_init_helps": (lambda o, v: v == "bn-i", lambda o, v: v == "bn"),
    }
    for claim, (pa, pb) in cases.items():
        a, n_a = _pool(PAPER_TABLE2, pa)
        b, n_b = _pool(PAPER_TABLE2, pb)
        rule = t2[claim]
        assert rule.paper["a"] == pytest.approx(a, abs=6e-4) and rule.paper["b"] == pytest.approx(b, abs=6e-4)
        assert (rule.paper["n_a"], rule.paper["n_b"]) == (n_a, n_b)


def test_the_rule_changes_the_issue_names_are_recorded():
    f68 = load_experiment("lucas_fig6_8", "small").rule_changes
    assert any("0.01 to 0.1" in c.what and "no_barrier_inits" in c.claims for c in f68)
    f57 = load_experiment("lucas_fig5_7", "small").rule_changes
    assert any("min_group = 5" in c.what and c.claims == ("power_law_within_settings",) for c in f57)
    for name in EXPERIMENTS:
        changes = load_experiment(name, "small").rule_changes
        assert changes and all(c.date and c.why for c in changes), name
