"""SymPy proof steps of the two-layer linear family and of Lemma 7: all hold, and the checker rejects a false step."""

import sympy as sp

import proofs_check
from proofs_check import two_layer_linear as tl
from proofs_check import wide_networks as wn


def test_registered():
    assert "proofs_check.two_layer_linear" in proofs_check.MODULES
    assert "proofs_check.wide_networks" in proofs_check.MODULES


def test_every_two_layer_step_holds():
    checks = tl.checks()
    assert len(checks) >= 20
    failed = [c.step for c in checks if not c.holds]
    assert not failed, failed


def test_every_lemma7_step_holds():
    checks = wn.checks()
    assert len(checks) >= 10
    failed = [c.step for c in checks if not c.holds]
    assert not failed, failed


def test_checkers_reject_false_steps():
    a0, b0 = sp.symbols("a0 b0", real=True)
    bad = tl._zero(a0 * b0 - 2 * a0 * b0, "false on purpose", "expand")
    assert not bad.holds and "residual" in bad.detail
    mu = sp.symbols("mu", real=True)
    # μ − μ² < 0 does happen on [−1, 1] (the odd-T case): the checker must say so
    assert not wn._empty(mu - mu**2 < 0, mu, sp.Interval(-1, 1), "false on purpose").holds
