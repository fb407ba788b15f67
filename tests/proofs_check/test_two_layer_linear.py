"""SymPy proof steps of the two-layer linear family: all hold, and the checker rejects a false step."""

import sympy as sp

import proofs_check
from proofs_check import two_layer_linear as tl


def test_registered():
    assert "proofs_check.two_layer_linear" in proofs_check.MODULES


def test_every_step_holds():
    checks = tl.checks()
    assert len(checks) >= 20
    failed = [c.step for c in checks if not c.holds]
    assert not failed, failed


def test_checker_rejects_a_false_step():
    a0, b0 = sp.symbols("a0 b0", real=True)
    bad = tl._zero(a0 * b0 - 2 * a0 * b0, "false on purpose", "expand")
    assert not bad.holds and "residual" in bad.detail
