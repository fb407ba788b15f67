"""mlitheory.directions: filter-normalised random directions and the PCA of a trajectory, against direct truths."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mlitheory import TrajectoryDirections, random_direction, trajectory_directions
from tests.strategies import seeds

pytestmark = pytest.mark.usefixtures("float64_default")

STATS = ("bn.running_mean", "bn.running_var", "bn.num_batches_tracked")


def _snapshot(state):
    return {k: v.detach().clone() for k, v in state.items()}


def _same(a, b):
    return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)


def _output_channels(w, groups):
    """Output channels of a ConvTranspose weight (in, out/groups, *k), built by explicit indexing."""
    cin, cout_g = w.shape[0], w.shape[1]
    per = cin // groups
    return [w[gi * per : (gi + 1) * per, j] for gi in range(groups) for j in range(cout_g)]


# ---------------------------------------------------------------------------------------------- random directions


def test_every_filter_has_the_reference_filters_norm(parameter_zoo):
    ref = _snapshot(parameter_zoo.state_dict())
    d = random_direction(parameter_zoo, seed=3)
    for key in ("embed.weight", "conv.weight", "fc.weight"):  # filters along dimension 0
        for i in range(ref[key].shape[0]):
            want = float(ref[key][i].norm())
            assert float(d[key][i].norm()) == pytest.approx(want, rel=1e-12, abs=0), (key, i)
    # a transposed convolution's filters are its output channels (dimension 1, per group)
    for got, want in zip(_output_channels(d["deconv.weight"], 2), _output_channels(ref["deconv.weight"], 2)):
        assert float(got.norm()) == pytest.approx(float(want.norm()), rel=1e-12, abs=0)
    assert not torch.equal(d["conv.weight"], torch.zeros_like(d["conv.weight"]))
    # from a bare state dict nothing says which layer is transposed: dimension 0 is used
    d2 = random_direction(ref, seed=3)
    for i in range(ref["deconv.weight"].shape[0]):
        assert float(d2["deconv.weight"][i].norm()) == pytest.approx(float(ref["deconv.weight"][i].norm()), rel=1e-12)
    assert torch.equal(d2["conv.weight"], d["conv.weight"])  # same draws for every other key


def test_the_direction_is_the_seeded_gaussian_rescaled_filter_by_filter(parameter_zoo):
    """The whole direction against a hand-made one: replayed draws, explicit loops over the filters."""
    ref = _snapshot(parameter_zoo.state_dict())
    d = random_direction(parameter_zoo, seed=9)
    g = torch.Generator().manual_seed(9)
    draws = {k: torch.randn(x.shape, generator=g, dtype=torch.float64) for k, x in ref.items() if x.is_floating_point()}
    for key in ("embed.weight", "conv.weight", "fc.weight"):
        want = torch.stack([draws[key][i] * ref[key][i].norm() / draws[key][i].norm() for i in range(len(ref[key]))])
        torch.testing.assert_close(d[key], want, rtol=1e-13, atol=0)
    want = draws["deconv.weight"].clone()
    for got_g, ref_f, out_f in zip(
        _output_channels(draws["deconv.weight"], 2), _output_channels(ref["deconv.weight"], 2),
        _output_channels(want, 2),
    ):  # fmt: skip
        out_f.copy_(got_g * ref_f.norm() / got_g.norm())  # views into want
    torch.testing.assert_close(d["deconv.weight"], want, rtol=1e-13, atol=0)


def test_biases_norm_parameters_and_buffers_are_zero_by_default(parameter_zoo):
    ref = _snapshot(parameter_zoo.state_dict())
    d = random_direction(parameter_zoo, seed=0)
    assert d.keys() == ref.keys()
    for k, x in ref.items():
        assert d[k].shape == x.shape and d[k].dtype == x.dtype and d[k].device == x.device
    for k in ("conv.bias", "bn.weight", "bn.bias", "deconv.bias", "ln.weight", "ln.bias", "fc.bias", "gain", "scale"):
        assert torch.count_nonzero(d[k]) == 0, k
    for k in STATS:
        assert torch.count_nonzero(d[k]) == 0, k
    assert _same(ref, parameter_zoo.state_dict())  # running statistics (and everything else) untouched
    assert "cache" not in d


def test_keep_biases_and_layer_and_none_normalisations(parameter_zoo):
    ref = _snapshot(parameter_zoo.state_dict())
    keep = random_direction(ref, seed=5, biases="keep")
    for k in ("conv.bias", "bn.weight", "ln.bias", "fc.bias", "gain"):  # one filter each: the tensor's norm
        assert float(keep[k].norm()) == pytest.approx(float(ref[k].norm()), rel=1e-12), k
    for k in STATS:
        assert torch.count_nonzero(keep[k]) == 0
    zero = random_direction(ref, seed=5)
    assert torch.equal(keep["fc.weight"], zero["fc.weight"])  # the option does not change the other draws
    layer = random_direction(ref, seed=5, normalize="layer")
    for k in ("embed.weight", "conv.weight", "deconv.weight", "fc.weight"):
        assert float(layer[k].norm()) == pytest.approx(float(ref[k].norm()), rel=1e-12)
    # "none": the raw Gaussian, one randn per floating-point entry in state order, float64, on the CPU
    raw = random_direction(parameter_zoo, seed=5, normalize="none", biases="keep")
    g = torch.Generator().manual_seed(5)
    for k, x in ref.items():
        draw = torch.randn(x.shape, generator=g, dtype=torch.float64) if x.is_floating_point() else None
        if k in STATS or k == "scale":  # buffers: drawn, then zero
            assert torch.count_nonzero(raw[k]) == 0
            continue
        assert torch.equal(raw[k], draw), k


def test_same_seed_same_direction_bit_for_bit_different_seed_different(parameter_zoo):
    a, b = random_direction(parameter_zoo, seed=11), random_direction(parameter_zoo, seed=11)
    assert _same(a, b)
    c = random_direction(parameter_zoo, seed=12)
    assert not torch.equal(a["conv.weight"], c["conv.weight"])
    g = torch.Generator().manual_seed(11)
    first, second = random_direction(parameter_zoo, seed=g), random_direction(parameter_zoo, seed=g)
    assert _same(first, a) and not torch.equal(first["fc.weight"], second["fc.weight"])
    # the draw and the norms are float64 on the CPU: a float32 reference gets the float64 direction rounded
    ref32 = {k: (v.float() if v.is_floating_point() else v) for k, v in parameter_zoo.state_dict().items()}
    d32 = random_direction(ref32, seed=11)
    ref64 = {k: (v.double() if v.is_floating_point() else v) for k, v in ref32.items()}
    want = random_direction(ref64, seed=11)
    for k in ref32:
        assert d32[k].dtype == ref32[k].dtype
        if ref32[k].is_floating_point():
            assert torch.equal(d32[k], want[k].float()), k


def test_half_precision_norms_do_not_overflow():
    ref = {"weight": torch.full((3, 100), 1000.0, dtype=torch.float16)}  # row norm 1e4, squares overflow in fp16
    d = random_direction(ref, seed=0)
    assert d["weight"].dtype == torch.float16 and torch.isfinite(d["weight"]).all()
    np.testing.assert_allclose(d["weight"].double().norm(dim=1).numpy(), 1e4, rtol=2e-3)


def test_zero_reference_filter_gives_a_zero_filter():
    ref = {"weight": torch.tensor([[0.0, 0.0], [3.0, 4.0]])}
    d = random_direction(ref, seed=0)
    assert torch.count_nonzero(d["weight"][0]) == 0
    assert float(d["weight"][1].norm()) == pytest.approx(5.0, rel=1e-12)


def test_bad_arguments_are_named(parameter_zoo):
    with pytest.raises(ValueError, match="normalize must be one of"):
        random_direction(parameter_zoo, seed=0, normalize="filters")
    with pytest.raises(ValueError, match="biases must be 'zero'"):
        random_direction(parameter_zoo, seed=0, biases="ignore")
    with pytest.raises(TypeError, match=r"seed must be an int or a CPU torch\.Generator"):
        random_direction(parameter_zoo, seed="0")
    with pytest.raises(TypeError, match="seed must be"):
        random_direction(parameter_zoo, seed=True)
    with pytest.raises(ValueError, match="seed must be in"):
        random_direction(parameter_zoo, seed=-1)
    with pytest.raises(TypeError, match="reference must be a state dict"):
        random_direction([1, 2], seed=0)
    bad = parameter_zoo.state_dict()
    bad["fc.weight"] = bad["fc.weight"].clone()
    bad["fc.weight"][0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"reference\['fc.weight'\] has non-finite entries"):
        random_direction(bad, seed=0)
    with pytest.raises(ValueError, match="no parameters"):
        random_direction({"n": torch.tensor(3)}, seed=0)


# ---------------------------------------------------------------------------------------------- trajectory PCA


def _flat(state, keys):
    return torch.cat([state[k].reshape(-1) for k in keys]).numpy()


def _trajectory(zoo, m=6, seed=0, scale=0.3):
    final = _snapshot(zoo.state_dict())
    g = torch.Generator().manual_seed(seed)
    cks = []
    for i in range(m):
        s = {}
        for k, v in final.items():
            moves = v.is_floating_point() and k not in STATS and k != "scale"
            s[k] = v + scale * (m - i) * torch.randn(v.shape, generator=g, dtype=v.dtype) if moves else v.clone()
        cks.append(s)
    return cks, final


@pytest.mark.parametrize("center", ["final", "mean"])
def test_pca_matches_numpy_svd_and_is_orthonormal(parameter_zoo, center):
    cks, final = _trajectory(parameter_zoo)
    before = [_snapshot(c) for c in cks], _snapshot(final)
    tr = trajectory_directions(cks, final, k=3, center=center, model=parameter_zoo)
    keys = list(tr.keys)
    assert "bn.running_mean" not in keys and "scale" not in keys
    m = np.stack([_flat(c, keys) - _flat(final, keys) for c in cks])
    a = m - m.mean(0) if center == "mean" else m
    _, s, vt = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(tr.singular_values, s[:3], rtol=1e-12)
    np.testing.assert_allclose(tr.explained_variance_ratio, s[:3] ** 2 / np.sum(s**2), rtol=1e-12)
    v = np.stack([_flat(d, keys) for d in tr.directions])
    np.testing.assert_allclose(v @ v.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.abs(np.sum(v * vt[:3], axis=1)), 1.0, atol=1e-12)  # same axes up to sign
    np.testing.assert_allclose(tr.coordinates, m @ v.T, atol=1e-12 * np.abs(m).max())
    assert (tr.coordinates[0] < 0).all()  # the sign convention, also for the mirrored and other trajectories
    for seed in range(4):
        other, _ = _trajectory(parameter_zoo, seed=seed + 1)
        mirrored = [{k: (2 * final[k] - c[k]) if c[k].is_floating_point() else c[k] for k in c} for c in other]
        for cks_ in (other, mirrored):
            assert (trajectory_directions(cks_, final, k=3, center=center).coordinates[0] < 0).all()
    assert tr.explained_variance_ratio.sum() <= 1 + 1e-12
    np.testing.assert_array_equal(tr.final_coordinates, np.zeros(3))
    for d in tr.directions:  # zero off the parameters, shaped like the final state
        assert d.keys() == final.keys()
        assert all(torch.count_nonzero(d[k]) == 0 for k in (*STATS, "scale"))
    assert all(_same(a, b) for a, b in zip(before[0], cks)) and _same(before[1], final)


def test_a_trajectory_in_a_plane_is_projected_exactly(parameter_zoo):
    final = _snapshot(parameter_zoo.state_dict())
    keys = [k for k, v in final.items() if v.is_floating_point() and k not in STATS and k != "scale"]
    n = sum(final[k].numel() for k in keys)
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(n, 2)))  # orthonormal e1, e2
    ab = np.array([[-3.0, 1.0], [-2.5, 2.0], [-1.0, 1.5], [-0.4, -0.6], [0.2, 0.1]])
    cks = []
    for coef in ab:
        flat = torch.from_numpy(basis @ coef)
        s, i = dict(final), 0
        for k in keys:
            s[k] = final[k] + flat[i : i + final[k].numel()].reshape(final[k].shape)
            i += final[k].numel()
        cks.append(s)
    tr = trajectory_directions({f"epoch {i}": c for i, c in enumerate(cks)}, parameter_zoo, k=2)
    assert tr.labels[0] == "epoch 0"
    assert tr.residuals.max() < 1e-12 * np.abs(ab).max()
    assert tr.explained_variance_ratio.sum() == pytest.approx(1.0, abs=1e-12)
    # the coordinates are those of the plane up to a rotation/reflection: pairwise distances are preserved
    dist = lambda p: np.linalg.norm(p[:, None] - p[None], axis=-1)
    np.testing.assert_allclose(dist(tr.coordinates), dist(ab), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(tr.coordinates, axis=1), np.linalg.norm(ab, axis=1), atol=1e-12)
    # and reconstruct every checkpoint exactly
    v = np.stack([_flat(d, keys) for d in tr.directions])
    for c, coords in zip(cks, tr.coordinates):
        np.testing.assert_allclose(_flat(final, keys) + coords @ v, _flat(c, keys), atol=1e-12)
    box = tr.bounds(0.1)
    assert (box[:, 0] < tr.coordinates.min(0)).all() and (box[:, 1] > tr.coordinates.max(0)).all()
    assert (box[:, 0] < 0).all() and (box[:, 1] > 0).all()
    u, vv = tr.grid((5, 4), margin=0.1)
    assert u[0] == box[0, 0] and u[-1] == box[0, 1] and len(vv) == 4


@given(st.integers(min_value=1, max_value=7), st.integers(min_value=3, max_value=30), seeds)
def test_explained_variance_and_pythagoras_for_any_trajectory(m, n, seed):
    rng = np.random.default_rng(seed)
    final = {"w": torch.from_numpy(rng.normal(size=(n,)) * 0 + rng.normal(size=(n,))).reshape(1, n)}
    cks = [{"w": final["w"] + torch.from_numpy(rng.normal(size=(1, n)))} for _ in range(m)]
    k = min(m, 2)
    tr = trajectory_directions(cks, final, k=k)
    r = tr.explained_variance_ratio
    assert (r >= 0).all() and r.sum() <= 1 + 1e-12 and (np.diff(r) <= 1e-15).all()
    sq = np.array([float(((c["w"] - final["w"]) ** 2).sum()) for c in cks])
    np.testing.assert_allclose((tr.coordinates**2).sum(1) + tr.residuals**2, sq, rtol=1e-9, atol=1e-12)


def test_save_load_round_trip(parameter_zoo, tmp_path):
    cks, final = _trajectory(parameter_zoo, m=4)
    tr = trajectory_directions(cks, final)
    back = TrajectoryDirections.load(tr.save(tmp_path / "traj"))
    np.testing.assert_array_equal(back.coordinates, tr.coordinates)
    assert back.labels == tr.labels and back.center == "final"
    assert all(torch.equal(back.directions[0][k], tr.directions[0][k]) for k in final)
    assert "explained variance ratio" in tr.summary()


def test_bad_trajectories_are_named(parameter_zoo):
    cks, final = _trajectory(parameter_zoo, m=3)
    with pytest.raises(ValueError, match="checkpoints is empty"):
        trajectory_directions([], final)
    with pytest.raises(ValueError, match=r"k must be between 1 and the number of checkpoints \(3\), got k=0"):
        trajectory_directions(cks, final, k=0)
    with pytest.raises(ValueError, match="got k=4"):
        trajectory_directions(cks, final, k=4)
    with pytest.raises(TypeError, match="k must be an int"):
        trajectory_directions(cks, final, k=2.0)
    with pytest.raises(ValueError, match="center must be 'final'"):
        trajectory_directions(cks, final, center="median")
    with pytest.raises(TypeError, match="single state dict"):
        trajectory_directions(final, final)
    bad = dict(cks[1])
    bad["fc.weight"] = bad["fc.weight"].clone()
    bad["fc.weight"][1, 1] = float("inf")
    with pytest.raises(ValueError, match=r"checkpoints\['1'\]\['fc.weight'\] has non-finite entries"):
        trajectory_directions([cks[0], bad], final)
    missing = {k: v for k, v in cks[0].items() if k != "ln.bias"}
    with pytest.raises(ValueError, match=r"missing from checkpoints\['0'\]: 'ln.bias'"):
        trajectory_directions([missing], final, k=1)
    wrong = dict(cks[0])
    wrong["fc.weight"] = torch.zeros(2, 2)
    with pytest.raises(ValueError, match=r"shape mismatch at key 'fc\.weight'"):
        trajectory_directions([wrong], final, k=1)
    along = lambda k, t: final[k] + t * (cks[0][k] - final[k]) if final[k].is_floating_point() else final[k]
    line = [{k: along(k, t) for k in final} for t in (1.0, 2.0, 3.0)]
    with pytest.raises(ValueError, match=r"span only 1 dimension\(s\), fewer than k=2"):
        trajectory_directions(line, final, k=2)
    with pytest.raises(ValueError, match="every checkpoint equals the final state"):
        trajectory_directions([final, final], final, k=1)
    with pytest.raises(ValueError, match="a plane needs k >= 2"):
        trajectory_directions(cks, final, k=1).bounds()
