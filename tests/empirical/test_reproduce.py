"""The reproduction driver: derived measurements cached once, the results index generated from the reports."""

import json
import time

import pytest
import torch

from empirical.claims import Rule, Settings
from empirical.experiments import load_experiment
from empirical.report import Report, Table
from empirical.reproduce import Context, write_index


def test_cached_computes_once_per_key(tmp_path):
    ctx = Context(spec=load_experiment("lucas_table1", "smoke"), records=[], root=tmp_path)
    calls = []

    def compute(a, *, b):
        calls.append((a, b))
        time.sleep(0.05)
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
    # the time each value took is stored with it and counted by every report that uses it
    assert ctx.derived_seconds >= 0.1 and 0.05 <= again.derived_seconds < ctx.derived_seconds
    assert ctx.derived_untimed == again.derived_untimed == 0
    for f in (tmp_path / "_derived" / "lucas_table1").glob("*.json"):  # entries written before times were stored
        f.write_text(json.dumps({k: v for k, v in json.loads(f.read_text()).items() if k != "seconds"}))
    old = Context(spec=ctx.spec, records=[], root=tmp_path)
    assert old.cached({"k": 1}, compute, 0, b=0) == {"sum": 5} and old.derived_untimed == 1 and len(calls) == 2


def test_cached_results_are_read_back_and_a_damaged_entry_is_recomputed(tmp_path):
    import mlitheory as mli

    ctx = Context(spec=load_experiment("lucas_table1", "smoke"), records=[], root=tmp_path)
    made = []

    def distance(v):
        made.append(v)
        return mli.weight_distance({"w": torch.zeros(3)}, {"w": torch.full((3,), float(v))})

    first = ctx.cached({"d": 1}, distance, 2.0)
    again = Context(spec=ctx.spec, records=[], root=tmp_path).cached({"d": 1}, distance, 0.0)
    assert type(again) is type(first) and again.distance == first.distance and made == [2.0]
    files = sorted(p.name for p in (tmp_path / "_derived" / "lucas_table1").iterdir())
    keys = [f for f in files if f.count(".") == 1]
    assert len(keys) == 1 and keys[0].replace(".json", ".result.json") in files, files  # no file written twice
    key = tmp_path / "_derived" / "lucas_table1" / keys[0]  # the key file, beside the result's own files
    assert json.loads(key.read_text())["key"] == {"d": 1}
    key.write_text("{ torn")
    assert Context(spec=ctx.spec, records=[], root=tmp_path).cached({"d": 1}, distance, 2.0).distance == first.distance
    assert made == [2.0, 2.0]


def test_index_puts_the_paper_beside_ours_for_every_claim(tmp_path):
    rule = {
        "id": "c",
        "source": "src",
        "kind": "share_bound",
        "outcome": "nm",
        "bound": 0.5,
        "direction": "below",
        "min_count": 4,
        "paper": {"share": 0.1, "basis": "b", "text": "0.10 of 100"},
    }
    for name, scale, k, n in (
        ("wang_plateau", "small", 9, 10),
        ("lucas_table1", "medium", 0, 10),
        ("lucas_table1", "small", 0, 2),
    ):
        rep = Report(name=name, version=1, scale=scale, title=name, reference=f"ref of {name}")
        rep.table(Table("t", "t", ["a"], [{"a": 1}]))
        r = Rule.from_dict({**rule, "statement": f"claim of {name}"})
        rep.judge([r], {"runs": [{"nm": i < k} for i in range(n)]}, Settings(sims=200))
        rep.write(tmp_path / scale / name)
    text = write_index(tmp_path).read_text()
    # the order of EXPERIMENTS, then of the scales
    heads = ("### `lucas_table1` (small)", "### `lucas_table1` (medium)", "### `wang_plateau` (small)")
    assert text.index(heads[0]) < text.index(heads[1]) < text.index(heads[2])
    assert "| `wang_plateau` | ref of wang_plateau | small | 0 | 1 | 0 | 0 | [small/wang_plateau/report.md]" in text
    assert "| `lucas_table1` | ref of lucas_table1 | medium | 1 | 0 | 0 | 0 |" in text
    assert "| claim of lucas_table1 | 0.10 of 100 | 0/10 = 0" in text  # paper beside ours
    assert "`c` (not detected): too few units: 2" in text  # the computed reason
    # another study's report in the folder is linked, not counted as a reproduction
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "results.json").write_text('{"runs": []}')
    (tmp_path / "study" / "report.md").write_text("# a study")
    text = write_index(tmp_path).read_text()
    assert "| `study`" not in text and "- [study/report.md](study/report.md)" in text
    with pytest.raises(FileNotFoundError, match="no reports"):
        write_index(tmp_path / "empty")


def test_failed_runs_make_the_command_fail_and_the_report_holds_no_machine_path(tmp_path, capsys, monkeypatch):
    # a CIFAR folder with every file name but no data: the folder counts as installed, every run fails to load it
    from empirical.__main__ import main
    from empirical.data import DATA_DIR_ENV

    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "cifar"))  # the command sets it too: undone after the test

    batches = tmp_path / "cifar" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (batches / name).write_bytes(b"not a pickle")
    argv = ["reproduce", "lucas_table2", "--quick", "--no-progress", "--data-dir", str(tmp_path / "cifar"),
            "--out", str(tmp_path / "rep"), "--runs", str(tmp_path / "runs")]  # fmt: skip
    assert main(argv) == 1
    assert "run(s) failed" in capsys.readouterr().out
    text = (tmp_path / "rep" / "report.md").read_text() + (tmp_path / "rep" / "results.json").read_text()
    assert "failed and are left out" in text and str(tmp_path) not in text and "cifar-10-batches-py/" in text


def test_the_index_lists_a_damaged_report_and_indexes_the_others(tmp_path):
    good = {"experiment": "lucas_table1", "scale": "smoke", "title": "T", "claims": [], "claims_summary": {}}
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "results.json").write_text(json.dumps(good))
    (tmp_path / "a" / "report.md").write_text("# T\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "results.json").write_text('{"experiment": "luc')  # cut off
    text = write_index(tmp_path).read_text()
    assert "a/report.md" in text and "## Damaged reports (not indexed)" in text and "`b/results.json`" in text


def test_result_files_get_the_mode_of_any_new_file(tmp_path):
    import os

    from mlitheory.results import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "r.md", "x")
        assert (os.stat(tmp_path / "r.md").st_mode & 0o777) == 0o644
    finally:
        os.umask(old)
