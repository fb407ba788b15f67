"""loss_plane along two directions: exact at the centre, equal to interpolate on grid lines, functional, checked."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mlitheory import PlaneSurface, interpolate, loss_plane, random_direction, trajectory_directions

pytestmark = pytest.mark.usefixtures("float64_default")


def _snapshot(state):
    return {k: v.detach().clone() for k, v in state.items()}


def _same(a, b):
    return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)


def _directions(net, seed=0, **kw):
    g = torch.Generator().manual_seed(seed)
    return random_direction(net, seed=g, **kw), random_direction(net, seed=g, **kw)


def _moved(centre, d1, d2, a, b):
    return {k: (x + a * d1[k] + b * d2[k]) if x.is_floating_point() else x for k, x in centre.items()}


def _mean_loss(net, state, x, y):
    """The loss at ``state`` as the engine sums it: batch mean times count, divided by the count."""
    with torch.no_grad():
        out = torch.func.functional_call(net, state, (x,))
    return float(F.cross_entropy(out, y).to(torch.float64) * len(y)) / len(y)


@pytest.mark.parametrize("reuse", [True, False])
def test_centre_is_exact_and_every_point_matches_a_direct_evaluation(tanh_mlp_data, reuse):
    net, x, y = tanh_mlp_data
    centre = _snapshot(net.state_dict())
    d1, d2 = _directions(net)
    surf = loss_plane(net, centre, (x, y), directions=(d1, d2), grid=(5, 3), reuse_first_layer=reuse, progress=False)
    assert surf.u.tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0] and surf.v.tolist() == [-1.0, 0.0, 1.0]
    assert surf.first_layer_reuse == ("0" if reuse else "")
    # (0, 0) is the centre itself: its loss exactly, and the centre evaluated directly
    assert surf.loss[1, 2] == _mean_loss(net, centre, x, y)
    assert surf.point_direct["loss"][0] == surf.loss[1, 2] == surf.point_values["loss"][0]
    for i, b in enumerate(surf.v):
        for j, a in enumerate(surf.u):
            want = _mean_loss(net, _moved(centre, d1, d2, a, b), x, y)
            assert math.isclose(surf.loss[i, j], want, rel_tol=1e-13), (a, b)
    acc = (torch.func.functional_call(net, _moved(centre, d1, d2, 1.0, -1.0), (x,)).argmax(1) == y).double().mean()
    assert surf.values["accuracy"][0, 4] == pytest.approx(float(acc), abs=1e-15)


def test_reuse_and_plain_forwards_agree_on_a_conv_first_layer():
    g = torch.Generator().manual_seed(4)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2)).double()
    x, y = torch.randn(6, 1, 6, 6, generator=g), torch.randint(0, 2, (6,), generator=g)
    dirs = _directions(net, seed=1, biases="keep")
    kw = dict(directions=dirs, u=[-0.7, 0.0, 0.4], v=[-0.2, 0.0, 0.9], progress=False)
    with_reuse = loss_plane(net, net, (x, y), **kw)
    plain = loss_plane(net, net, (x, y), reuse_first_layer=False, **kw)
    assert with_reuse.first_layer_reuse == "0" and plain.first_layer_reuse == ""
    np.testing.assert_allclose(with_reuse.loss, plain.loss, rtol=1e-13)
    assert with_reuse.loss[1, 1] == plain.loss[1, 1]  # the centre: bit for bit


@pytest.mark.parametrize("bn", ["recompute", "interpolate", "batch", "none"])
def test_grid_lines_equal_interpolate_along_the_same_line(bn_mlp_data, bn):
    net, x, y = bn_mlp_data
    centre = _snapshot(net.state_dict())
    d1, d2 = _directions(net, seed=2)
    u = [-0.5, 0.0, 0.25, 1.0]
    surf = loss_plane(net, centre, (x, y), directions=(d1, d2), u=u, v=u, bn=bn, progress=False)
    for line, d in ((surf.loss[1, :], d1), (surf.loss[:, 1], d2)):  # v = 0 along d1, u = 0 along d2
        end = {k: (centre[k] + d[k]) if centre[k].is_floating_point() else centre[k] for k in centre}
        curve = interpolate(net, centre, end, (x, y), alphas=u, bn=bn, progress=False)
        np.testing.assert_allclose(line, curve.loss, rtol=1e-12)
    # the centre evaluated directly: its own statistics, as interpolate reports for its start
    curve = interpolate(net, centre, end, (x, y), alphas=[0.0, 1.0], bn=bn, progress=False)
    assert surf.point_direct["loss"][0] == pytest.approx(curve.endpoint_direct["loss"][0], rel=1e-14)
    assert surf.point_values["loss"][0] == surf.loss[1, 1]  # (0, 0) under the policy
    if bn in ("recompute", "batch"):
        assert surf.point_shift["loss"][0] != 0.0 and surf.has_batchnorm


def test_caller_model_states_and_directions_are_untouched(bn_mlp_data):
    net, x, y = bn_mlp_data
    net.train()  # a model left in train mode stays in train mode; its running statistics do not move
    before = _snapshot(net.state_dict())
    centre = _snapshot(net.state_dict())
    d1, d2 = _directions(net, seed=3)
    saved = _snapshot(d1), _snapshot(d2)
    ids = [id(p) for p in net.parameters()]
    loss_plane(net, centre, (x, y), directions=(d1, d2), grid=3, bn="recompute", project=[centre], progress=False)
    loss_plane(net, net, (x, y), directions=(d1, d2), grid=3, bn="batch", progress=False)
    assert net.training and all(m.training for m in net.modules())
    assert _same(before, net.state_dict()) and _same(before, centre)
    assert _same(saved[0], d1) and _same(saved[1], d2)
    assert ids == [id(p) for p in net.parameters()]


def test_three_state_form_keeps_working_and_reports_direct_values(tanh_mlp_data):
    net, x, y = tanh_mlp_data
    g = torch.Generator().manual_seed(5)
    states = [{k: v + 0.3 * torch.randn(v.shape, generator=g) for k, v in net.state_dict().items()} for _ in range(3)]
    surf = loss_plane(net, states, (x, y), grid=4, labels=("init", "opt 1", "opt 2"), progress=False)
    assert surf.kind == "states" and surf.loss.shape == (4, 4)
    np.testing.assert_array_equal(surf.gram, np.eye(2))
    for i, s in enumerate(states):
        assert surf.point_direct["loss"][i] == _mean_loss(net, s, x, y)
    assert "opt 2 (evaluated directly)" in surf.summary()


def test_trajectory_plane_default_box_and_projection(tanh_mlp_data):
    net, x, y = tanh_mlp_data
    final = _snapshot(net.state_dict())
    g = torch.Generator().manual_seed(6)
    cks = [{k: v + 0.2 * (4 - i) * torch.randn(v.shape, generator=g) for k, v in final.items()} for i in range(4)]
    tr = trajectory_directions(cks, final)
    surf = loss_plane(net, final, (x, y), directions=tr, grid=4, margin=0.1, project=cks, progress=False)
    u, v = tr.grid(4, margin=0.1)
    np.testing.assert_array_equal(surf.u, u)
    np.testing.assert_array_equal(surf.v, v)
    np.testing.assert_allclose(surf.projected, tr.coordinates, atol=1e-12)
    np.testing.assert_allclose(surf.projected_distance, tr.residuals, atol=1e-9)
    np.testing.assert_allclose(surf.gram, np.eye(2), atol=1e-12)


def test_projection_onto_skew_directions(tanh_mlp_data):
    net, x, y = tanh_mlp_data
    centre = _snapshot(net.state_dict())
    d1, d2 = _directions(net, seed=7, biases="keep")
    keys = list(centre)
    flat = lambda s: torch.cat([s[k].reshape(-1) for k in keys])
    f1, f2 = flat(d1), flat(d2)
    normal = torch.randn(len(f1), generator=torch.Generator().manual_seed(8))
    q, _ = torch.linalg.qr(torch.stack([f1, f2], 1))
    normal = normal - q @ (q.T @ normal)
    normal = 0.5 * normal / normal.norm()
    target = flat(centre) + 0.3 * f1 - 0.7 * f2 + normal
    state, i = {}, 0
    for k in keys:
        state[k] = target[i : i + centre[k].numel()].reshape(centre[k].shape)
        i += centre[k].numel()
    surf = loss_plane(net, centre, (x, y), directions=(d1, d2), grid=2, project=[state], progress=False)
    np.testing.assert_allclose(surf.projected[0], [0.3, -0.7], atol=1e-12)
    assert surf.projected_distance[0] == pytest.approx(0.5, rel=1e-9)
    assert abs(surf.gram[0, 1]) > 0  # the random directions are not orthogonal


def test_save_load_round_trip(tanh_mlp_data, tmp_path):
    net, x, y = tanh_mlp_data
    surf = loss_plane(net, net, (x, y), directions=_directions(net), grid=3, progress=False)
    back = PlaneSurface.load(surf.save(tmp_path / "plane"))
    np.testing.assert_array_equal(back.loss, surf.loss)
    assert back.kind == "directions" and back.point_direct["loss"][0] == surf.point_direct["loss"][0]
    np.testing.assert_array_equal(back.gram, surf.gram)


def test_bad_directions_and_grids_are_named(tanh_mlp_data):
    net, x, y = tanh_mlp_data
    data = (x, y)
    d1, d2 = _directions(net)
    run = lambda **kw: loss_plane(net, net, data, progress=False, **kw)
    with pytest.raises(ValueError, match=r"missing from directions\[1\]: '2.bias'"):
        run(directions=(d1, {k: v for k, v in d2.items() if k != "2.bias"}))
    with pytest.raises(ValueError, match=r"key '0.weight': centre \(8, 5\), directions\[0\] \(3, 3\)"):
        run(directions=({**d1, "0.weight": torch.zeros(3, 3)}, d2))
    with pytest.raises(ValueError, match=r"in directions\[0\] but not in the model's state_dict: 'extra'"):
        run(directions=({**d1, "extra": torch.zeros(1)}, d2))
    bad = _snapshot(d2)
    bad["2.weight"][0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"directions\[1\]\['2.weight'\] has non-finite entries"):
        run(directions=(d1, bad))
    with pytest.raises(ValueError, match=r"directions\[0\] is zero on every parameter"):
        run(directions=({k: torch.zeros_like(v) for k, v in d1.items()}, d2))
    with pytest.raises(ValueError, match="parallel"):
        run(directions=(d1, {k: 2 * v for k, v in d1.items()}))
    with pytest.raises(ValueError, match="exactly two directions"):
        run(directions=(d1, d2, d1))
    with pytest.raises(TypeError, match="directions must be a pair"):
        run(directions=d1)
    with pytest.raises(TypeError, match=r"dtype mismatch at key '0.weight'"):
        run(directions=({k: v.float() for k, v in d1.items()}, d2))
    with pytest.raises(ValueError, match="states is the centre of the plane"):
        loss_plane(net, [net, net, net], data, directions=(d1, d2), progress=False)
    with pytest.raises(ValueError, match="exactly three states, got 1"):
        loss_plane(net, net, data, progress=False)
    with pytest.raises(ValueError, match="grid must be a positive int"):
        run(directions=(d1, d2), grid=0)
    with pytest.raises(ValueError, match="u must be finite"):
        run(directions=(d1, d2), u=[0.0, float("nan")])
    with pytest.raises(ValueError, match="v has repeated values"):
        run(directions=(d1, d2), v=[0.0, 0.0])
    with pytest.raises(ValueError, match="labels must name the 1 named state"):
        run(directions=(d1, d2), labels=("a", "b"))
    with pytest.raises(ValueError, match="project_labels must name the 1 projected states"):
        run(directions=(d1, d2), project=[net], project_labels=("x", "y"))
    with pytest.raises(ValueError, match="bn must be one of"):
        run(directions=(d1, d2), bn="update")
    one = trajectory_directions([{k: v + 1 for k, v in net.state_dict().items()}], net, k=1)
    with pytest.raises(ValueError, match="a plane needs k >= 2"):
        run(directions=one)


def test_dtype_and_device_arguments_cast_the_centre_and_directions(tanh_mlp_data):
    net, x, y = tanh_mlp_data
    dirs = _directions(net)
    ref = loss_plane(net, net, (x, y), directions=dirs, grid=3, progress=False)
    low = loss_plane(net, net, (x, y), directions=dirs, grid=3, dtype=torch.float32, device="cpu", progress=False)
    np.testing.assert_allclose(low.loss, ref.loss, rtol=1e-5)
    assert low.first_layer_reuse == "0" and net[0].weight.dtype == torch.float64
