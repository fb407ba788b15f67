"""The bias-plateau rows of ``python -m mlitheory verify``: registered, no counterexample, Adam as a demonstration."""

from mlitheory.bias_plateau import verify_family
from mlitheory.verify import FAMILIES, FamilyReport


def test_registered():
    assert FAMILIES["bias_plateau"].endswith(":verify_family") and "bias_plateau" in FAMILIES["bias_plateau"]


def test_quick_rows_have_no_counterexample():
    rows = verify_family(quick=True, seed=0)
    assert len(rows) == 17 and all(isinstance(r, FamilyReport) for r in rows)
    assert all(r.ok for r in rows), [r.theorem for r in rows if not r.ok]
    for r in rows:
        if r.kind == "check":
            assert r.conclusion_held == r.hypotheses_held - r.counterexamples, r.theorem
    adam = next(r for r in rows if "Adam" in r.theorem)
    assert adam.kind == "demonstration" and adam.as_expected == adam.instances  # Adam breaks the conservation law
    assert all(r.kind == "check" for r in rows if r is not adam)
