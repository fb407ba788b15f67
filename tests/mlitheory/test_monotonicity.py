"""min_delta, bumps and is_monotone against brute force over all index pairs."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given

from mlitheory.monotonicity import bumps, is_monotone, min_delta
from tests.strategies import loss_curves


def brute(ell):
    return max([0.0] + [ell[j] - ell[i] for i in range(len(ell)) for j in range(i + 1, len(ell))])


@given(loss_curves)
def test_min_delta_is_max_pairwise_rise(ell):
    assert min_delta(ell) == brute(ell)


@given(loss_curves)
def test_largest_bump_is_min_delta_and_bumps_are_consistent(ell):
    bs = bumps(ell)
    assert max([0.0] + [b.height for b in bs]) == min_delta(ell)
    for b in bs:
        assert b.start < b.peak <= b.end
        assert ell[b.peak] - ell[b.start] == b.height > 0
        assert all(ell[k] > ell[b.start] for k in range(b.start + 1, b.end))
    assert is_monotone(ell) == (len(bs) == 0)


def test_rise_at_the_final_step_counts():
    assert min_delta([3.0, 2.0, 1.0, 1.5]) == 0.5
    (b,) = bumps([3.0, 2.0, 1.0, 1.5])
    assert (b.start, b.peak, b.end, b.returns) == (2, 3, 3, False)


def test_examples_and_tolerance():
    assert min_delta([3.0, 2.0, 2.5, 1.0, 1.2]) == 0.5
    assert min_delta([3.0, 2.0, 2.5], tol=0.5) == 0.0
    assert min_delta([3.0, 2.0, 2.5], tol=0.49) == 0.5
    assert is_monotone([1.0, 1.0, 0.5])
    assert is_monotone([1.0, 1.05, 0.5], tol=0.1) and not is_monotone([1.0, 1.05, 0.5])
    assert min_delta(torch.tensor([1.0, 2.0])) == 1.0


def test_widths_use_alphas():
    al = np.linspace(0, 1, 5)
    (b,) = bumps([1.0, 2.0, 3.0, 0.5, 0.1], al)
    assert b.width == pytest.approx(0.75) and b.peak_alpha == pytest.approx(0.5)


def test_nonfinite_raises_naming_index_or_is_omitted():
    with pytest.raises(ValueError, match=r"losses\[2\]"):
        min_delta([1.0, 0.5, math.nan, 0.2])
    assert min_delta([1.0, 0.5, math.inf, 0.7], nonfinite="omit") == pytest.approx(0.2)
    (b,) = bumps([1.0, 0.5, math.nan, 0.7], nonfinite="omit")
    assert (b.start, b.peak) == (1, 3)


def test_alphas_must_increase_and_match():
    with pytest.raises(ValueError, match="strictly increasing"):
        min_delta([1.0, 2.0, 3.0], [0.0, 0.5, 0.5])
    with pytest.raises(ValueError, match="same length"):
        min_delta([1.0, 2.0], [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="one-dimensional"):
        min_delta(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="nonfinite"):
        min_delta([1.0], nonfinite="ignore")
