"""The reproduction driver: derived measurements cached once, the results index generated from the reports."""

import pytest

from empirical.experiments import load_experiment
from empirical.report import Claim, Report, Table
from empirical.reproduce import Context, write_index


def test_cached_computes_once_per_key(tmp_path):
    ctx = Context(spec=load_experiment("lucas_table1", "smoke"), records=[], root=tmp_path)
    calls = []

    def compute(a, *, b):
        calls.append((a, b))
        return {"sum": a + b}

    assert ctx.cached({"k": 1}, compute, 2, b=3) == {"sum": 5}
    assert ctx.cached({"k": 1}, compute, 2, b=3) == {"sum": 5}
    assert ctx.cached({"k": 2}, compute, 4, b=3) == {"sum": 7}
    assert calls == [(2, 3), (4, 3)]
    assert len(list((tmp_path / "_derived" / "lucas_table1").glob("*.json"))) == 2
    # a fresh context (a resumed report) reads the stored value
    again = Context(spec=ctx.spec, records=[], root=tmp_path)
    assert again.cached({"k": 1}, compute, 0, b=0) == {"sum": 5}
    assert len(calls) == 2


def test_index_lists_reports_and_open_claims(tmp_path):
    for name, verdict in (("lucas_table1", "supported"), ("wang_plateau", "not supported")):
        rep = Report(name=name, version=1, scale="small", title=name, reference=f"ref of {name}")
        rep.table(Table("t", "t", ["a"], [{"a": 1}]))
        rep.claim(Claim("c", f"claim of {name}", "src", verdict, "numbers 1.5", reason="too few epochs"))
        rep.write(tmp_path / name)
    text = write_index(tmp_path).read_text()
    assert text.index("`lucas_table1`") < text.index("`wang_plateau`")  # the order of EXPERIMENTS
    assert "| `wang_plateau` | ref of wang_plateau | small | 0 | 1 | 0 |" in text
    assert "Every claim checked is supported." in text
    line = "**not supported**: claim of wang_plateau (src). Measured: numbers 1.5. Likely reason: too few epochs"
    assert line in text
    with pytest.raises(FileNotFoundError, match="no reports"):
        write_index(tmp_path / "empty")
