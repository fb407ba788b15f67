"""mlitheory.plotting: the contour map draws the trajectory and the straight path where they are; files are written."""

import numpy as np
import pytest
import torch

from mlitheory import loss_plane, plot_contour, plot_surface, random_direction, save_landscape, trajectory_directions

pytestmark = pytest.mark.usefixtures("float64_default")


@pytest.fixture
def trajectory_surface(tanh_mlp_data):
    net, x, y = tanh_mlp_data
    final = {k: v.clone() for k, v in net.state_dict().items()}
    g = torch.Generator().manual_seed(0)
    cks = [{k: v + 0.3 * (3 - i) * torch.randn(v.shape, generator=g) for k, v in final.items()} for i in range(3)]
    tr = trajectory_directions(cks, final)
    labels = ("init", "epoch 1", "epoch 2", "final")
    surf = loss_plane(
        net, final, (x, y), directions=tr, grid=6, labels=("final",), project=[*cks, final], project_labels=labels,
        progress=False,
    )  # fmt: skip
    return surf


def _line(ax, label):
    return next(ln for ln in ax.get_lines() if ln.get_label() == label)


def test_contour_draws_the_trajectory_and_the_straight_path(trajectory_surface):
    surf = trajectory_surface
    ax = plot_contour(surf, xlabel="PC 1", title="t")
    traj = _line(ax, "trajectory (projected)")
    np.testing.assert_array_equal(np.column_stack(traj.get_data()), surf.projected)
    straight = _line(ax, "straight path init → final")
    np.testing.assert_array_equal(np.column_stack(straight.get_data()), [surf.projected[0], [0.0, 0.0]])
    assert ax.get_xlabel() == "PC 1" and ax.get_ylabel() == "v" and ax.get_title() == "t"
    assert ax.get_aspect() == 1.0  # orthonormal PCA directions: Euclidean coordinates
    ax = plot_contour(surf, line=("epoch 1", (1.0, 2.0)), log=True, trajectory=False)
    np.testing.assert_array_equal(np.column_stack(_line(ax, "straight path").get_data()), [surf.projected[1], [1, 2]])
    assert all(ln.get_label() != "trajectory (projected)" for ln in ax.get_lines())
    with pytest.raises(ValueError, match="line end 'epoch 9' is not a named or projected state"):
        plot_contour(surf, line=("init", "epoch 9"))
    with pytest.raises(KeyError, match="no metric 'error'"):
        plot_contour(surf, metric="error")


def test_random_plane_axes_are_not_forced_equal(tanh_mlp_data):
    net, x, y = tanh_mlp_data
    g = torch.Generator().manual_seed(1)
    dirs = (random_direction(net, seed=g), random_direction(net, seed=g))
    surf = loss_plane(net, net, (x, y), directions=dirs, grid=4, progress=False)
    ax = surf.plot()
    assert ax.get_aspect() == "auto" and ax.get_xlabel() == "u"
    assert plot_surface(surf, clip=1.0).name == "3d"


def test_save_landscape_writes_both_figures(trajectory_surface, tmp_path):
    paths = save_landscape(trajectory_surface, tmp_path / "fig", name="pca", formats=("png",))
    assert [p.name for p in paths] == ["pca_contour.png", "pca_surface.png"]
    assert all(p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG" for p in paths)
    with pytest.raises(ValueError, match="formats must be among"):
        save_landscape(trajectory_surface, tmp_path, formats=("jpeg",))


def test_non_finite_points_are_left_out(trajectory_surface):
    import dataclasses

    finite = trajectory_surface.finite.copy()
    finite[0, 0] = False
    values = {k: v.copy() for k, v in trajectory_surface.values.items()}
    values["loss"][0, 0] = np.inf
    surf = dataclasses.replace(trajectory_surface, finite=finite, values=values)
    assert plot_contour(surf).get_xlabel() == "u"  # drawn without raising
    assert plot_surface(surf).name == "3d"
