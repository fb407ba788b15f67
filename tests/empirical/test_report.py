"""Report writer: tables as Markdown and CSV, figures as PNG and PDF, the JSON of numbers, claim verdicts."""

import csv
import json
import math

import pytest

from empirical.report import VERDICTS, Claim, Report, Table, fmt


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


def test_claim_verdicts():
    assert Claim.decide(True) == "supported"
    assert Claim.decide(False) == "not supported"
    assert Claim.decide(None) == "inconclusive"
    assert set(VERDICTS) == {"supported", "not supported", "inconclusive"}
    with pytest.raises(ValueError, match="verdict"):
        Claim("x", "s", "src", "maybe", "e")


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
    rep.claim(Claim("c1", "claim one", "src", "supported", "1.5 > 1", {"v": 1.5}))
    rep.claim(Claim("c2", "claim two", "src", "not supported", "0 < 1", reason="small scale"))
    rep.numbers["nan"] = math.nan
    return rep


def test_report_folder_structure(tmp_path):
    rep = _report()
    rep.write(tmp_path)
    for f in ("report.md", "results.json", "tab.md", "tab.csv", "fig.png", "fig.pdf"):
        assert (tmp_path / f).is_file(), f
    text = (tmp_path / "report.md").read_text()
    assert "## Claims check" in text and "1 supported, 1 not supported, 0 inconclusive" in text
    assert "*Likely reason:* small scale" in text
    assert "python -m empirical reproduce exp --scale smoke" in text
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["experiment"] == "exp" and data["version"] == 2 and data["scale"] == "smoke"
    assert data["tables"]["tab"]["rows"] == [{"k": "x", "v": 1.5}]
    assert data["claims_summary"] == {"supported": 1, "not supported": 1, "inconclusive": 0}
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
