"""The experiments' analysis helpers against independent truths (closed forms, scipy, hand counts)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu

from empirical.experiments._common import auc, half_drop_alpha, log_fit, rank_correlation, share
from empirical.experiments.lucas_table1 import PAPER_TABLE1, classify
from empirical.experiments.optimizer_switch import spike
from empirical.experiments.vlaar_frankle_layerwise import reset_prefixes, resnet_groups
from empirical.models import build_model
from mlitheory import plateau_end


@given(
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=12),
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=12),
)
def test_auc_is_the_mann_whitney_statistic(pos, neg):
    got = auc(pos + neg, [True] * len(pos) + [False] * len(neg))
    u = mannwhitneyu(pos, neg, alternative="two-sided").statistic
    assert got == pytest.approx(u / (len(pos) * len(neg)), abs=1e-12)


def test_auc_edge_cases():
    assert auc([1, 2], [True, True]) is None
    assert auc([1, 2, 3, 4], [False, False, True, True]) == 1.0
    assert auc([1, 2, math.nan, 4], [True, False, True, False]) == 0.0


@given(st.floats(0.1, 2) | st.floats(-2, -0.1), st.floats(-3, 3))
def test_log_fit_recovers_an_exact_power_law(a, b):
    x = np.geomspace(0.01, 100, 9)
    fit = log_fit(x, np.exp(b) * x**a)
    assert fit["slope"] == pytest.approx(a, abs=1e-9)
    assert fit["intercept"] == pytest.approx(b, abs=1e-8)
    assert fit["r2"] == pytest.approx(1.0, abs=1e-9)
    assert fit["n"] == 9


def test_log_fit_r2_is_the_coefficient_of_determination():
    rng = np.random.default_rng(0)
    x = np.geomspace(0.1, 10, 40)
    y = 2 * x**0.5 * np.exp(rng.normal(0, 0.3, 40))
    fit = log_fit(x, y)
    lx, ly = np.log(x), np.log(y)
    r = np.corrcoef(lx, ly)[0, 1]
    assert fit["r2"] == pytest.approx(r**2, rel=1e-10)  # simple regression: R² = r²
    assert log_fit([1, 2], [1, 2]) is None
    assert log_fit([1, -1, 0, 2], [1, 1, 1, 1]) is None  # fewer than 3 positive pairs


def test_rank_correlation_matches_scipy():
    from scipy.stats import spearmanr

    x, y = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
    assert rank_correlation(x, y) == pytest.approx(spearmanr(x, y).statistic)
    assert rank_correlation([1, 2], [1, 2]) is None
    assert rank_correlation([1, 1, 1], [1, 2, 3]) is None


def test_half_drop_alpha_on_closed_forms():
    a = np.linspace(0, 1, 101)
    assert half_drop_alpha(a, 2 - 2 * a) == pytest.approx(0.5)
    assert half_drop_alpha(a, 2 - 2 * a**4) == pytest.approx(0.5 ** (1 / 4), abs=1e-3)  # plateau: later
    assert half_drop_alpha(a, a) is None


def test_plateau_end_as_wang_plateau_reads_it():
    a = np.linspace(0, 1, 11)
    err = [0.9, 0.9, 0.8, 0.6, 0.5, 0.4, 0.6, 0.1, 0.0, 0.0, 0.0]
    assert plateau_end(a, err, threshold=0.5) == pytest.approx(0.4)
    assert plateau_end(a, [0.9] + [0.0] * 10, threshold=0.5) == 0.0
    assert plateau_end(a, [0.9] * 11, threshold=0.5) == 1.0


def test_share_and_table1_classification():
    assert share([]) == (None, 0)
    assert share([True, False, False, True]) == (0.5, 4)
    rows = [
        {"measured": True, "final_train_loss": 0.05, "min_delta": 0.002},
        {"measured": True, "final_train_loss": 0.05, "min_delta": 0.0005},
        {"measured": True, "final_train_loss": 0.5, "min_delta": 1.0},
        {"measured": False, "final_train_loss": math.nan, "min_delta": math.nan},
    ]
    kept = classify(rows, 0.1, 1e-3)
    assert [r["nonmonotone"] for r in kept] == [True, False]
    # the typed-in reference table has the paper's shape: 4 settings × 8 learning rates
    assert all(len(v) == 8 for v in PAPER_TABLE1.values()) and len(PAPER_TABLE1) == 4
    assert PAPER_TABLE1[("sgd", True)][1.0] == (0.83, 24)


def test_spike():
    log = [{"epoch": 1, "train_loss": 1.0}, {"epoch": 2, "train_loss": 0.5}, {"epoch": 3, "train_loss": 0.75}]
    assert spike(log, 2) == pytest.approx(1.5)
    assert spike(log, 0) is None and spike(log, 3) is None


@pytest.mark.parametrize("depth", [8, 14, 20])
def test_resnet_groups_partition_the_state(depth):
    net = build_model(f"resnet{depth}", input_shape=(3, 8, 8), num_classes=10, seed=0)
    keys = [k for k, v in net.state_dict().items() if v.is_floating_point()]
    n = (depth - 2) // 6
    for by, count in (("block", 3 * n + 2), ("stage", 5)):
        groups = resnet_groups(keys, depth, by)
        assert len(groups) == count
        flat = [k for g in groups.values() for k in g]
        assert sorted(flat) == sorted(keys)  # every key in exactly one group
        assert next(iter(groups)) == "stem" and list(groups)[-1] == "head"
    stages = resnet_groups(keys, depth, "stage")
    for g in ("stem", "stage1", "stage2", "stage3", "head"):
        prefixes = reset_prefixes(g, depth)
        under = [k for k in keys if any(k == p or k.startswith(p + ".") for p in prefixes)]
        assert sorted(under) == sorted(stages[g])
    with pytest.raises(ValueError, match="unknown group"):
        reset_prefixes("stage4", depth)
