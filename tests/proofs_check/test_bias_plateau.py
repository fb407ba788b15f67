"""Every symbolic proof step of the bias plateau holds (proofs_check.bias_plateau)."""

import pytest

from proofs_check import MODULES
from proofs_check.bias_plateau import checks


def test_registered():
    assert "proofs_check.bias_plateau" in MODULES


@pytest.fixture(scope="module")
def steps():
    return checks()


def test_every_step_holds(steps):
    failed = [f"{c.step}: {c.detail}" for c in steps if not c.holds]
    assert not failed, failed
    assert len(steps) >= 14
