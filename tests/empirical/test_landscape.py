"""``python -m empirical landscape``: the plane around a finished run, from its checkpoints; clear refusals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

import mlitheory as mli
from empirical.__main__ import main
from empirical.landscape import checkpoint_names
from empirical.runs import RunConfig, execute_run, load_run, run_folder


def _tiny(**kw) -> RunConfig:
    base = dict(
        dataset="gaussian", n_train=64, n_test=32, data_options={"dim": 6, "num_classes": 3}, model="mlp",
        model_options={"hidden": [8]}, epochs=3, batch_size=16, alphas=4, compute_gauss_length=False,
    )  # fmt: skip
    return RunConfig.from_dict({**base, **kw})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    cfg = _tiny(checkpoint_epochs=[1, 2])
    assert execute_run(cfg, root).status == "finished"
    return run_folder(root, cfg)


def test_pca_plane_of_a_finished_run(run_dir, tmp_path, capsys):
    out = tmp_path / "fig"
    code = main(["landscape", str(run_dir), "--out", str(out), "--grid", "5", "--n-data", "40", "--no-progress"])
    assert code == 0
    text = capsys.readouterr().out
    assert "PCA of 3 checkpoints around final" in text and "epoch_0002" in text
    names = {p.name for p in out.iterdir()}
    for stem in ("landscape_pca_contour", "landscape_pca_surface"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
    surf = mli.PlaneSurface.load(out / "landscape_pca")
    traj = mli.TrajectoryDirections.load(out / "trajectory_pca")
    assert surf.loss.shape == (5, 5) and surf.projected_labels == ("init", "epoch_0001", "epoch_0002", "final")
    np.testing.assert_allclose(surf.projected[:3], traj.coordinates, atol=1e-6)  # float32 directions
    np.testing.assert_array_equal(surf.projected[3], [0.0, 0.0])
    # the final state's loss, evaluated directly on the same examples, is the one reported
    rec = load_run(run_dir)
    model = rec.build_model()
    model.load_state_dict(rec.checkpoint("final"))
    from empirical.data import load_dataset

    c = rec.config
    ds = load_dataset(c.dataset, n_train=c.n_train, n_test=c.n_test, seed=c.data_seed, **c.data_options)
    idx = torch.randperm(len(ds.x_train), generator=torch.Generator().manual_seed(c.data_seed + 1))[:40].sort().values
    with torch.no_grad():
        want = float(torch.nn.functional.cross_entropy(model(ds.x_train[idx]), ds.y_train[idx]))
    assert surf.point_direct["loss"][0] == pytest.approx(want, rel=1e-6)


def test_random_plane_and_checkpoint_order(run_dir, tmp_path):
    code = main(
        ["landscape", str(run_dir), "--out", str(tmp_path), "--directions", "random", "--quick", "--no-progress",
         "--format", "png", "--span", "0.5"]
    )  # fmt: skip
    assert code == 0
    surf = mli.PlaneSurface.load(tmp_path / "landscape_random")
    assert surf.u[0] == -0.5 and surf.u[3] == 0.0 and len(surf.u) == 7
    assert not (tmp_path / "landscape_random_contour.pdf").exists()
    assert checkpoint_names(run_dir, None) == ["init", "epoch_0001", "epoch_0002", "final"]


def test_folders_without_checkpoints_are_refused(run_dir, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["landscape", str(empty)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {empty} is not a run folder")
    bare = tmp_path / "bare"
    shutil.copytree(run_dir, bare, ignore=shutil.ignore_patterns("*.pt"))
    assert main(["landscape", str(bare)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "has no checkpoints" in err and err.count("\n") == 1
    two = tmp_path / "two"  # a run that kept no epoch checkpoints (none listed in its checksums either)
    shutil.copytree(run_dir, two, ignore=shutil.ignore_patterns("epoch_*.pt"))
    metrics = json.loads((two / "metrics.json").read_text())
    metrics["checksums"] = {k: v for k, v in metrics["checksums"].items() if "epoch_" not in k}
    (two / "metrics.json").write_text(json.dumps(metrics))
    assert main(["landscape", str(two), "--no-progress"]) == 2
    assert "the PCA plane needs at least 2" in capsys.readouterr().err
    lost = tmp_path / "lost"  # a checkpoint listed in metrics.json went missing: damaged, refused by name
    shutil.copytree(run_dir, lost, ignore=shutil.ignore_patterns("epoch_*.pt"))
    assert main(["landscape", str(lost), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is missing (listed in metrics.json)" in err and err.count("\n") == 1
    nofinal = tmp_path / "nofinal"
    shutil.copytree(run_dir, nofinal, ignore=shutil.ignore_patterns("final.pt"))
    assert main(["landscape", str(nofinal)]) == 2
    assert "no checkpoints/final.pt" in capsys.readouterr().err
