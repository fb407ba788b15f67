"""Plane through three states: orthonormal coordinates, exact points, projections, losses on the grid."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mlitheory import PlaneSurface, loss_plane, plane_basis

pytestmark = pytest.mark.usefixtures("float64_default")


def _three(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [{"weight": torch.randn(4, 3, generator=g), "bias": torch.randn(4, generator=g)} for _ in range(3)]


def _flat(s):
    return torch.cat([s["weight"].flatten(), s["bias"]])


def test_basis_is_orthonormal_and_reproduces_the_states():
    a, b, c = _three()
    pb = plane_basis(a, b, c)
    pts = pb.points
    assert pts[0].tolist() == [0.0, 0.0] and pts[1][1] == 0.0
    # coordinates are Euclidean: pairwise distances in the plane equal distances in weight space
    fa, fb, fc = map(_flat, (a, b, c))
    for (i, j), (p, q) in zip([(0, 1), (0, 2), (1, 2)], [(fa, fb), (fa, fc), (fb, fc)]):
        assert math.isclose(float(np.linalg.norm(pts[i] - pts[j])), float((p - q).norm()), rel_tol=1e-12)
    for i, s in enumerate((a, b, c)):
        got = _flat(pb.state(*pts[i]))
        assert torch.allclose(got, _flat(s), rtol=0, atol=1e-12)
        u, v, r = pb.project(s)
        assert math.isclose(u, pts[i][0], abs_tol=1e-12) and math.isclose(v, pts[i][1], abs_tol=1e-12)
        assert r < 1e-6  # sqrt of round-off in |θ|² − u² − v²


def test_projection_of_an_off_plane_state():
    a, b, c = _three()
    pb = plane_basis(a, b, c)
    fa, fb, fc = map(_flat, (a, b, c))
    e1 = (fb - fa) / (fb - fa).norm()
    w = (fc - fa) - torch.dot(fc - fa, e1) * e1
    e2 = w / w.norm()
    normal = torch.randn(len(fa), generator=torch.Generator().manual_seed(9))
    normal = normal - torch.dot(normal, e1) * e1 - torch.dot(normal, e2) * e2
    normal = normal / normal.norm()
    target = fa + 0.3 * e1 - 1.2 * e2 + 0.5 * normal
    state = {"weight": target[:12].view(4, 3), "bias": target[12:]}
    u, v, r = pb.project(state)
    assert math.isclose(u, 0.3, abs_tol=1e-12) and math.isclose(v, -1.2, abs_tol=1e-12)
    assert math.isclose(r, 0.5, rel_tol=1e-9)


def test_collinear_states_rejected():
    a, b, _ = _three()
    mid = {k: 0.5 * (a[k] + b[k]) for k in a}
    with pytest.raises(ValueError, match="collinear"):
        plane_basis(a, b, mid)
    with pytest.raises(ValueError, match="a and b are equal"):
        plane_basis(a, a, b)


def test_loss_grid_matches_direct_evaluation(tmp_path):
    a, b, c = _three()
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(10, 3, generator=g), torch.randint(0, 4, (10,), generator=g)
    surf = loss_plane(nn.Linear(3, 4), (a, b, c), (x, y), grid=(4, 3), project=[b], progress=False)
    pb = plane_basis(a, b, c)
    assert surf.loss.shape == (3, 4) and surf.values["accuracy"].shape == (3, 4)
    for i, v in enumerate(surf.v):
        for j, u in enumerate(surf.u):
            s = pb.state(u, v)
            want = F.cross_entropy(F.linear(x, s["weight"], s["bias"]), y).item()
            assert math.isclose(surf.loss[i, j], want, rel_tol=1e-12)
    np.testing.assert_allclose(surf.projected, pb.points[1:2], atol=1e-12)
    assert surf.segment(0, 1)[-1].tolist() == pb.points[1].tolist()
    back = PlaneSurface.load(surf.save(tmp_path / "plane"))
    np.testing.assert_array_equal(back.loss, surf.loss)
    ax = surf.plot()
    assert ax.get_xlabel() == "u"


def test_explicit_coordinates_and_batchnorm_policy():
    torch.manual_seed(0)
    nets = [nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)) for _ in range(3)]
    x, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
    surf = loss_plane(nets[0], nets, (x, y), u=[0.0, 1.0], v=[0.0], bn="interpolate", progress=False)
    assert surf.loss.shape == (1, 2) and surf.finite.all()
    with pytest.raises(ValueError, match="exactly three"):
        loss_plane(nets[0], nets[:2], (x, y), progress=False)
