"""``python -m mlitheory.bias_plateau --quick``: the numbers it prints are the ones in its JSON, and they show the
bias gap and the plateau; output-folder collisions and bad options are refused or redirected."""

import contextlib
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from mlitheory.bias_plateau.demo import OUTPUT_FILES, format_report, main, prepare_out, run_demo

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bias_plateau") / "out"
    buf, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        rc = main(["--quick", "--out", str(out), "--no-progress"])
    return rc, buf.getvalue(), out


def test_quick_demo_writes_everything(quick_run):
    rc, _stdout, out = quick_run
    assert rc == 0
    assert (out / "results.json").is_file()
    for name in OUTPUT_FILES[1:]:
        for ext in ("png", "pdf"):
            assert (out / f"{name}.{ext}").stat().st_size > 1000


def test_printed_numbers_are_the_json_numbers(quick_run):
    _, stdout, out = quick_run
    res = json.loads((out / "results.json").read_text())
    assert format_report(res) in stdout  # the tables are rebuilt from the saved JSON, character for character
    deep = next(r for r in res["mlp"]["table"] if r["depth"] == 7 and r["init_scale"] == 0.3)
    line = next(ln for ln in stdout.splitlines() if ln.startswith("|     7 |        0.3 |"))
    assert f"{deep['bias_gap']['mean']:.2f} ± {deep['bias_gap']['spread']:.2f}" in line
    assert f"{deep['plateau_end']['linear']['mean']:.2f} ±" in line


def test_quick_demo_shows_the_gap_and_the_plateau(quick_run):
    _, _, out = quick_run
    res = json.loads((out / "results.json").read_text())
    mlp = res["mlp"]
    assert all(c["bias_gap"] > 0 for c in mlp["cases"])
    assert all(c["converged"] for c in mlp["cases"])
    deep = [r for r in mlp["table"] if r["depth"] == max(res["settings"]["depths"])]
    small = next(r for r in deep if r["init_scale"] == min(res["settings"]["scales"]))
    assert small["plateau_end"]["linear"]["mean"] > small["plateau_end"]["homogeneous"]["mean"]
    assert small["plateau_end"]["linear"]["mean"] >= 0.3
    # on the plateau the error is near 1 - 1/k and the loss near log k
    assert abs(small["plateau_error"]["mean"] - 0.75) < 0.1
    assert abs(small["plateau_loss"]["mean"] - math.log(4)) < 0.1
    # toy model, r = 4: sequential learning, last learned has the largest bias, plateau cured by the homogeneous scheme
    r4 = next(r for r in res["toy"]["runs"] if r["r"] == 4)
    assert r4["learning_order"] == [0, 1, 2, 3] and r4["biases_sorted"] and r4["last_is_argmax"]
    assert r4["plateau"]["observed_linear"] > 0.6 and r4["plateau"]["observed_homogeneous"] == 0.0
    assert r4["plateau"]["alpha_lo"] <= r4["plateau"]["predicted"] <= r4["plateau"]["alpha_hi"]
    assert abs(r4["plateau"]["observed_linear"] - r4["plateau"]["predicted"]) < 0.05
    assert r4["bias_mean_drift"] < 1e-10
    assert res["toy"]["optimisers"]["adam"]["bias_mean_drift"] > 1e-3


def test_out_folder_collisions(tmp_path):
    empty = tmp_path / "new"
    assert prepare_out(empty)[0] == empty and empty.is_dir()
    full = tmp_path / "full"
    full.mkdir()
    (full / "mine.txt").write_text("keep me")
    first, note = prepare_out(full)
    assert first == full / "run-1" and "fresh folder" in note
    assert prepare_out(full)[0] == full / "run-2"
    assert prepare_out(full, force=True)[0] == full
    assert (full / "mine.txt").read_text() == "keep me"
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        prepare_out(a_file)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["--quick", "--out", str(a_file)]) == 2
    assert "not a folder" in err.getvalue()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--depth", "0"], "argument --depth: must be >= 1, got 0"),
        (["--init-scale", "0"], "argument --init-scale: must be a finite number > 0, got 0"),
        (["--init-scale", "-0.5"], "argument --init-scale: must be a finite number > 0, got -0.5"),
        (["--seeds", "0"], "argument --seeds: must be >= 1, got 0"),
    ],
)
def test_bad_options_are_refused(argv, message, tmp_path):
    """Refused by the parser, as argparse refuses a malformed option: exit 2, the option named, nothing written."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert message in err.getvalue() and "Traceback" not in err.getvalue()
    assert not (tmp_path / "o").exists()


def test_run_demo_rejects_bad_settings():
    with pytest.raises(ValueError, match="depth"):
        run_demo(depths=[0], progress=False)
    with pytest.raises(ValueError, match="init scale"):
        run_demo(scales=[0.0], progress=False)
    with pytest.raises(ValueError, match="unknown data"):
        run_demo(data="cifar", progress=False)


def test_real_data_without_empirical_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "empirical.data", None)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["--quick", "--data", "mnist", "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "empirical" in err.getvalue() and "synthetic" in err.getvalue()


def test_a_provider_that_says_a_data_set_is_missing_stops_the_demo_before_training(tmp_path, monkeypatch):
    import types

    provider = types.ModuleType("my_provider")
    provider.load = lambda *a, **k: pytest.fail("the loader must not run")
    provider.available = lambda name: (False, f"{name} is not on this machine (install it with my-tool)")
    monkeypatch.setitem(sys.modules, "my_provider", provider)
    monkeypatch.setenv("MLITHEORY_DATA_PROVIDER", "my_provider:load")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["--quick", "--data", "mnist", "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert err.getvalue() == "error: --data mnist: mnist is not on this machine (install it with my-tool)\n"
    assert not (tmp_path / "o").exists()


def test_help_and_no_empirical_import_at_module_import():
    code = "import sys, mlitheory, mlitheory.bias_plateau.demo; print('empirical' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    with pytest.raises(SystemExit) as e, contextlib.redirect_stdout(io.StringIO()) as buf:
        main(["--help"])
    assert e.value.code == 0 and "--init-scale" in buf.getvalue()


def test_real_data_through_empirical_loaders():
    """The --data path reads empirical.data.load_dataset and keeps a balanced, standardised subset."""
    import torch

    from mlitheory.bias_plateau.demo import load_real_data

    x, y = load_real_data("digits", 20, seed=0, dtype=torch.float32, device="cpu")
    assert x.shape == (200, 64) and x.dtype == torch.float32
    assert torch.equal(torch.bincount(y), torch.full((10,), 20))
    assert torch.allclose(x.mean(0), torch.zeros(64), atol=1e-5)
    with pytest.raises(RuntimeError, match="fewer than"):
        load_real_data("digits", 1000, seed=0, dtype=torch.float32, device="cpu")
    with pytest.raises(RuntimeError, match="could not load 'no-such-set'"):
        load_real_data("no-such-set", 5, seed=0, dtype=torch.float32, device="cpu")
