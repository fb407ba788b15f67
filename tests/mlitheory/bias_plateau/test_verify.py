"""The bias-plateau rows of ``python -m mlitheory verify``: registered, no counterexample, Adam row as designed."""

from mlitheory.bias_plateau import verify_family
from mlitheory.verify import FAMILIES, FamilyReport


def test_registered():
    assert "mlitheory.bias_plateau:verify_family" in FAMILIES


def test_quick_rows_have_no_counterexample():
    rows = verify_family(quick=True, seed=0)
    assert len(rows) == 17 and all(isinstance(r, FamilyReport) for r in rows)
    assert all(r.ok for r in rows), [r.theorem for r in rows if not r.ok]
    for r in rows:
        if r.expect_conclusion and r.hypotheses_held:
            assert r.conclusion_held == r.hypotheses_held, r.theorem
    adam = next(r for r in rows if "adam" in r.theorem)
    assert not adam.expect_conclusion and adam.conclusion_held == 0  # Adam breaks the conservation law
