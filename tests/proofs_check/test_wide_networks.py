"""SymPy proof steps of Lemma 7: all hold, and the checker rejects a false step."""

import sympy as sp

import proofs_check
from proofs_check import wide_networks as wn


def test_registered():
    assert "proofs_check.wide_networks" in proofs_check.MODULES


def test_every_step_holds():
    checks = wn.checks()
    assert len(checks) >= 10
    failed = [c.step for c in checks if not c.holds]
    assert not failed, failed


def test_checker_rejects_a_false_step():
    mu = sp.symbols("mu", real=True)
    # μ − μ² < 0 does happen on [−1, 1] (the odd-T case): the checker must say so
    assert not wn._empty(mu - mu**2 < 0, mu, sp.Interval(-1, 1), "false on purpose").holds
