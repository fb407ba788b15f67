"""Report writer: tables as Markdown and CSV, figures as PNG and PDF, the JSON of numbers, claim verdicts."""

import csv
import json
import math

import pytest

from empirical.claims import Rule, RuleChange, Settings
from empirical.report import VERDICTS, Report, Table, claims_table, fmt


def test_fmt():
    assert fmt(None) == "–"
    assert fmt(math.nan) == "–"
    assert fmt(math.inf) == "∞"
    assert fmt(0.123456) == "0.123"
    assert fmt(12345.0) == "1.23e+04"
    assert fmt(True) == "yes"
    assert fmt("0.17 (24)") == "0.17 (24)"


def test_table_markdown_and_csv_keep_the_numbers():
    t = Table("t1", "a table", ["name", "value"], [{"name": "a|b", "value": 0.123456789}, {"name": "c", "value": None}])
    md = t.markdown().splitlines()
    assert md[0] == "| name | value |"
    assert md[2] == "| a\\|b | 0.123 |"
    assert md[3] == "| c | – |"
    rows = list(csv.DictReader(t.csv().splitlines()))
    assert rows[0] == {"name": "a|b", "value": "0.123456789"}
    assert rows[1]["value"] == ""
    with pytest.raises(ValueError, match="file name"):
        Table("bad name", "x", ["a"], [])


def test_the_four_verdicts():
    assert VERDICTS == ("supported", "contradicted", "not detected", "not comparable")


RULE = {
    "id": "c1",
    "statement": "claim one",
    "source": "src",
    "kind": "share_difference",
    "outcome": "nm",
    "a": {"g": "a"},
    "b": {"g": "b"},
    "min_count": 3,
    "paper": {"a": 0.8, "b": 0.1, "basis": "a table"},
}


def _units(ka=9, kb=1, n=10):
    return [{"g": "a", "nm": i < ka} for i in range(n)] + [{"g": "b", "nm": i < kb} for i in range(n)]


def _report(name="exp", scale="smoke"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rep = Report(name=name, version=2, scale=scale, title="A title", reference="Paper, Table 1")
    rep.note("a note")
    rep.table(Table("tab", "Numbers", ["k", "v"], [{"k": "x", "v": 1.5}]))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    rep.figure("fig", fig, "a caption")
    rules = [Rule.from_dict(RULE), Rule.from_dict({**RULE, "id": "c2", "statement": "claim two", "min_count": 20})]
    rep.judge(rules, {"runs": _units()}, Settings(sims=200))
    rep.rule_changes = [RuleChange("2026-12-01", ("c2",), "min_count 3 → 20", "to show the record", "smoke")]
    rep.numbers["nan"] = math.nan
    return rep


def test_report_folder_structure(tmp_path):
    rep = _report()
    rep.write(tmp_path)
    for f in ("report.md", "results.json", "tab.md", "tab.csv", "fig.png", "fig.pdf"):
        assert (tmp_path / f).is_file(), f
    text = (tmp_path / "report.md").read_text()
    assert "## Claims check" in text
    assert "1 supported, 0 contradicted, 1 not detected, 0 not comparable" in text
    assert "too few units" in text and "would give 80% power" in text  # the reason, computed
    assert "## Rule changes after the data were seen" in text and "min_count 3 → 20" in text
    assert "| claim one | src | a 0.8 vs b 0.1 |" in text  # the paper's number beside ours
    assert "python -m empirical reproduce exp --scale smoke" in text
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["experiment"] == "exp" and data["version"] == 2 and data["scale"] == "smoke"
    assert data["tables"]["tab"]["rows"] == [{"k": "x", "v": 1.5}]
    assert data["claims_summary"] == {"supported": 1, "contradicted": 0, "not detected": 1, "not comparable": 0}
    c1 = data["claims"][0]
    assert c1["verdict"] == "supported" and c1["test"] == "Fisher exact, one-sided"
    assert c1["p_value"] < 0.05 and c1["p_adjusted"] == c1["p_value"]  # the only claim with a test: Holm leaves it
    assert c1["n"] == 20 and len(c1["ci"]) == 2 and 0 <= c1["power"] <= 1
    assert data["rule_changes"][0]["what"] == "min_count 3 → 20"
    assert data["numbers"]["nan"] == "nan"  # strict JSON: non-finite floats as strings
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "fig.pdf").read_bytes()[:4] == b"%PDF"


def test_report_refuses_to_replace_another_report(tmp_path):
    _report("one").write(tmp_path)
    _report("one").write(tmp_path)  # the same experiment and scale: regenerated in place
    with pytest.raises(FileExistsError, match="another report"):
        _report("two").write(tmp_path)
    with pytest.raises(FileExistsError):
        _report("one", scale="small").write(tmp_path)
    _report("two").write(tmp_path, force=True)
    assert json.loads((tmp_path / "results.json").read_text())["experiment"] == "two"


def test_claims_are_judged_once_per_report():
    rep = Report(name="x", version=1, scale="small", title="t")
    rep.judge([Rule.from_dict(RULE)], {"runs": _units()}, Settings(sims=200))
    with pytest.raises(ValueError, match="one call"):
        rep.judge([Rule.from_dict(RULE)], {"runs": _units()}, Settings(sims=200))


def test_claims_table_shows_paper_ours_p_power_and_verdict():
    rep = Report(name="x", version=1, scale="small", title="t")
    (c,) = rep.judge([Rule.from_dict(RULE)], {"runs": _units(5, 4)}, Settings(sims=200))
    assert c.verdict == "not detected"
    line = claims_table([c]).splitlines()[2]
    assert line.startswith("| claim one | src | a 0.8 vs b 0.1 | a 5/10 = 0.5")
    assert f"({c.runs_needed})" in line and "**not detected**" in line
    sens = rep.sensitivity_analysis("another filter", [Rule.from_dict(RULE)], {"runs": _units()}, Settings(sims=200))
    assert sens[0].verdict == "supported" and rep.claims[0].verdict == "not detected"  # shown, not the verdict
    assert "### Sensitivity analysis: another filter" in rep.markdown()


def test_a_report_from_other_runs_is_not_replaced_without_force(tmp_path):
    def report(runs):
        rep = Report(name="x", version=1, scale="small", title="t")
        rep.configs = {"runs": {h: {} for h in runs}}
        return rep

    report(["a1"]).write(tmp_path)
    report(["a1"]).write(tmp_path)  # the same runs: regenerated in place
    with pytest.raises(FileExistsError, match="from other runs"):
        report(["b2"]).write(tmp_path)  # another seed: the finished report is kept
    assert json.loads((tmp_path / "results.json").read_text())["configs"]["runs"] == {"a1": {}}
    report(["b2"]).write(tmp_path, force=True)
    assert json.loads((tmp_path / "results.json").read_text())["configs"]["runs"] == {"b2": {}}
