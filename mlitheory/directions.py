r"""Directions for loss-landscape planes: filter-normalised random directions and the PCA of a trajectory.

**Filter-normalised random directions** (Li et al. 2018, §4). A Gaussian direction $d\sim\mathcal N(0, I)$
with the shape of the reference state $\theta$ is rescaled filter by filter,

$$
d_{i,j} \leftarrow \frac{d_{i,j}}{\|d_{i,j}\|}\,\|\theta_{i,j}\|,
$$

where $d_{i,j}$ is the $j$-th filter of layer $i$. Plots along such directions are comparable
across networks whose weights differ by a per-filter scale (which ReLU networks are invariant to). What is a
filter here (the slices along the first dimension of every parameter with at least two dimensions):

* ``Linear`` weight ``(out, in)``: a row, the weights into one output unit;
* ``Conv`` weight ``(out, in/groups, *kernel)``: one output channel;
* ``ConvTranspose`` weight ``(in, out/groups, *kernel)``: one output channel too when ``reference`` is a module
  (its layout is known); from a bare state dict the first dimension (an input channel) is used, as nothing says
  which layer a tensor belongs to;
* ``Embedding`` weight ``(num_embeddings, dim)``: one token's vector;
* any other parameter with two or more dimensions: its slices along the first dimension.

Parameters with fewer than two dimensions (biases; the affine weight and bias of BatchNorm, LayerNorm and
GroupNorm; PReLU slopes; scalar gains) are set to zero by default (``biases="zero"``, Li et al.'s choice: such
parameters are not perturbed). With ``biases="keep"`` each of them is one filter: a Gaussian vector rescaled to
the norm of the whole reference tensor. Running statistics, other buffers and integer entries are never
perturbed: they are zero in the direction. ``normalize="layer"`` rescales every parameter tensor as a whole to the
reference tensor's norm; ``normalize="none"`` keeps the raw Gaussian.

The direction is drawn on the CPU, in float64, from an explicit seed or ``torch.Generator`` (one ``randn`` per
floating-point entry, in state order, whether or not it is zeroed afterwards, so that the draws do not depend on
which entries count as parameters), and the norms are computed in float64
(no float16 overflow); the result is then cast to each entry's dtype and moved to its device. The same seed
therefore gives the same direction, bit for bit, on any device.

**PCA directions of a trajectory** (Li et al. 2018, §7). For checkpoints $\theta_0,\dots,\theta_{m-1}$ and
the final state $\theta_n$, the matrix of flattened differences

$$
M = \begin{pmatrix}\theta_0-\theta_n\\ \vdots\\ \theta_{m-1}-\theta_n\end{pmatrix}
  = U\Sigma V^\top \quad\text{(thin SVD)}
$$

gives the directions $v_1,\dots,v_k$ (rows of $V^\top$, orthonormal), their explained variance ratios
$\sigma_i^2/\sum_j\sigma_j^2$ and the coordinates $M v_i$ of every checkpoint, so that the final
state is the origin of the plane. ``center="final"`` (default) is the paper's matrix as written: the differences
are centred at the final state and not further. ``center="mean"`` subtracts the mean difference before the SVD, as
a textbook PCA (scikit-learn's ``PCA``) would; the coordinates are still those of $\theta_t-\theta_n$, so the
final state stays at the origin. Only the parameters enter (running statistics excluded, as for the plane through
three states); the directions are zero elsewhere.

References:
    Li, Xu, Taylor, Studer, Goldstein. *Visualizing the Loss Landscape of Neural Nets*, NeurIPS 2018, §4 (filter
    normalisation) and §7 (PCA of the optimisation trajectory).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mlitheory.paths import State, StateLike, as_state, parameter_keys, validate_states
from mlitheory.results import Result

__all__ = ["NORMALIZATIONS", "TrajectoryDirections", "random_direction", "trajectory_directions"]

NORMALIZATIONS = ("filter", "layer", "none")
_BIASES = ("zero", "keep")
_CENTERS = ("final", "mean")


def _generator(seed: int | torch.Generator) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        if seed.device.type != "cpu":
            raise ValueError(
                f"seed is a torch.Generator on {seed.device}; pass a CPU generator (directions are drawn on the CPU "
                "so that a seed gives the same direction on every device)"
            )
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or a CPU torch.Generator, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return torch.Generator().manual_seed(int(seed))


def _transposed_convs(module: nn.Module) -> dict[str, int]:
    """``{weight key: groups}`` of every ConvTranspose layer of ``module`` (output channels on dimension 1)."""
    out = {}
    for name, m in module.named_modules():
        if isinstance(m, nn.modules.conv._ConvTransposeNd):
            out[f"{name}.weight" if name else "weight"] = int(m.groups)
    return out


def _filter_rows(x: torch.Tensor, groups: int | None) -> torch.Tensor:
    """``x`` as ``(filters, entries)``: dimension 0, or the output channels of a ConvTranspose weight."""
    if groups is None:
        return x.reshape(x.shape[0], -1)
    cin, cout_g = x.shape[0], x.shape[1]
    y = x.reshape(groups, cin // groups, cout_g, -1).permute(0, 2, 1, 3)  # (groups, out/groups, in/groups, k)
    return y.reshape(groups * cout_g, -1)


def _unfilter_rows(rows: torch.Tensor, shape: torch.Size, groups: int | None) -> torch.Tensor:
    if groups is None:
        return rows.reshape(shape)
    cin, cout_g = shape[0], shape[1]
    y = rows.reshape(groups, cout_g, cin // groups, -1).permute(0, 2, 1, 3)
    return y.reshape(shape)


def _rescale_rows(g: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Rows of ``g`` rescaled to the norms of the rows of ``ref`` (a zero Gaussian row stays zero)."""
    gn = torch.linalg.vector_norm(g, dim=1, keepdim=True)
    rn = torch.linalg.vector_norm(ref, dim=1, keepdim=True)
    scale = torch.where(gn > 0, rn / torch.where(gn > 0, gn, torch.ones_like(gn)), torch.zeros_like(gn))
    return g * scale


def random_direction(
    reference: StateLike,
    *,
    seed: int | torch.Generator,
    normalize: str = "filter",
    biases: str = "zero",
) -> State:
    r"""A Gaussian direction, filter-normalised to ``reference`` (Li et al. 2018, §4; see the module docstring).

    Args:
        reference: the state the direction is normalised to (a state dict or a module; typically the centre of
            the plane). Never modified.
        seed: an int or a CPU ``torch.Generator`` (advanced by the draw; pass one generator twice for two
            directions).
        normalize: ``"filter"`` (every filter to the reference filter's norm), ``"layer"`` (every parameter
            tensor to the reference tensor's norm) or ``"none"`` (raw Gaussian).
        biases: ``"zero"`` (default): parameters with fewer than two dimensions (biases, norm-layer affine
            parameters) are zero in the direction; ``"keep"``: they are Gaussian, rescaled as one filter each.

    Returns:
        A state dict with every key of ``reference``, same shapes, dtypes and devices: the direction on the
        parameters, zero on running statistics, other buffers and integer entries.

    Raises:
        ValueError: bad ``normalize``/``biases``, a non-finite parameter (named), a seed out of range.
        TypeError: ``seed`` of the wrong type, a complex parameter.

    Examples:
        >>> from torch import nn
        >>> net = nn.Linear(3, 2)
        >>> d = random_direction(net, seed=0)
        >>> bool(torch.allclose(d["weight"].norm(dim=1), net.weight.detach().norm(dim=1)))
        True
        >>> float(d["bias"].abs().max())
        0.0
    """
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
    if biases not in _BIASES:
        raise ValueError(f"biases must be 'zero' (Li et al.'s default) or 'keep', got {biases!r}")
    gen = _generator(seed)
    module = reference if isinstance(reference, nn.Module) else None
    state = as_state(reference, "reference")
    params = set(parameter_keys(state, module))
    if not params:
        raise ValueError("reference has no parameters to draw a direction for")
    transposed = _transposed_convs(module) if module is not None else {}
    out: State = {}
    for key, x in state.items():
        if x.is_complex():
            raise TypeError(f"reference[{key!r}] is complex ({x.dtype}); random directions are real")
        # one draw per floating-point entry, used or not: the draws do not depend on which entries are parameters
        g = torch.randn(x.shape, generator=gen, dtype=torch.float64) if x.is_floating_point() else None
        if key not in params:
            out[key] = torch.zeros_like(x)
            continue
        ref = x.detach().to("cpu", torch.float64)
        if not bool(torch.isfinite(ref).all()):
            raise ValueError(f"reference[{key!r}] has non-finite entries; a direction cannot be normalised to it")
        if ref.ndim < 2:
            if biases == "zero":
                d = torch.zeros_like(ref)
            elif normalize == "none":
                d = g
            else:
                d = _rescale_rows(g.reshape(1, -1), ref.reshape(1, -1)).reshape(ref.shape)
        elif normalize == "filter":
            groups = transposed.get(key)
            d = _unfilter_rows(_rescale_rows(_filter_rows(g, groups), _filter_rows(ref, groups)), ref.shape, groups)
        elif normalize == "layer":
            d = _rescale_rows(g.reshape(1, -1), ref.reshape(1, -1)).reshape(ref.shape)
        else:
            d = g
        out[key] = d.to(dtype=x.dtype).to(x.device)
    return out


# ---------------------------------------------------------------------------------------------- trajectory PCA


@dataclass(frozen=True)
class TrajectoryDirections(Result):
    r"""Principal directions of a training trajectory around its final state (Li et al. 2018, §7).

    Attributes:
        directions: ``k`` state dicts (keys of the final state), orthonormal over the parameters, zero elsewhere.
        explained_variance_ratio: ``(k,)``, $\sigma_i^2/\sum_j\sigma_j^2$ of the (centred) difference matrix.
        singular_values: ``(k,)`` $\sigma_i$, decreasing.
        coordinates: ``(m, k)`` coordinates $\langle\theta_t-\theta_{\text{final}}, v_i\rangle$ of the
            checkpoints.
        final_coordinates: ``(k,)`` coordinates of the final state (the origin: zeros).
        residuals: ``(m,)`` distance of each checkpoint from the affine span of the final state and the directions.
        labels: names of the checkpoints. keys: the parameter keys used. center: ``"final"`` or ``"mean"``.
    """

    directions: tuple
    explained_variance_ratio: np.ndarray
    singular_values: np.ndarray
    coordinates: np.ndarray
    final_coordinates: np.ndarray
    residuals: np.ndarray
    labels: tuple
    keys: tuple
    center: str = "final"

    @property
    def k(self) -> int:
        return len(self.directions)

    def bounds(self, margin: float = 0.25) -> np.ndarray:
        """``(2, 2)`` box ``[[u_lo, u_hi], [v_lo, v_hi]]`` of the first two coordinates of the checkpoints and the
        final state, widened by ``margin`` times its extent on each side."""
        if self.k < 2:
            raise ValueError(f"the trajectory has k={self.k} direction; a plane needs k >= 2")
        if not (isinstance(margin, (int, float)) and math.isfinite(margin) and margin >= 0):
            raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
        pts = np.vstack([self.coordinates[:, :2], self.final_coordinates[None, :2]])
        lo, hi = pts.min(0), pts.max(0)
        ext = np.where(hi > lo, hi - lo, np.maximum(np.abs(hi), 1.0))
        return np.stack([lo - margin * ext, hi + margin * ext], axis=1)

    def grid(self, n: int | tuple[int, int] = 21, margin: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates ``(u, v)`` spanning `bounds` with ``n`` (or ``(nu, nv)``) points per axis."""
        nu, nv = (n, n) if isinstance(n, int) else n
        b = self.bounds(margin)
        return np.linspace(b[0, 0], b[0, 1], nu), np.linspace(b[1, 0], b[1, 1], nv)

    def summary(self) -> str:
        ratios = ", ".join(f"{r:.4f}" for r in self.explained_variance_ratio)
        lines = [
            f"TrajectoryDirections: k={self.k} principal directions of {len(self.labels)} checkpoints around the "
            f"final state (center={self.center!r}, {sum(int(np.prod(self.directions[0][k].shape)) for k in self.keys)}"
            " parameters)",
            f"  explained variance ratio: {ratios} (sum {float(np.sum(self.explained_variance_ratio)):.4f})",
            f"  distance from the plane: max {float(np.max(self.residuals)):.4g} "
            f"(first checkpoint {float(self.residuals[0]):.4g})",
        ]
        return "\n".join(lines)


def _checkpoint_list(checkpoints: object) -> tuple[list[StateLike], list[str]]:
    if isinstance(checkpoints, (nn.Module, torch.Tensor)) or isinstance(checkpoints, (str, bytes)):
        raise TypeError(
            f"checkpoints must be a sequence of states (state dicts or modules) or a mapping {{label: state}}, "
            f"got a {type(checkpoints).__name__}"
        )
    if isinstance(checkpoints, Mapping):
        if checkpoints and all(isinstance(v, torch.Tensor) for v in checkpoints.values()):
            raise TypeError("checkpoints is a single state dict; pass a list of states, or a mapping {label: state}")
        return list(checkpoints.values()), [str(k) for k in checkpoints]
    if not isinstance(checkpoints, Sequence):
        raise TypeError(f"checkpoints must be a sequence or a mapping of states, got {type(checkpoints).__name__}")
    return list(checkpoints), [str(i) for i in range(len(checkpoints))]


def trajectory_directions(
    checkpoints: Sequence[StateLike] | Mapping[object, StateLike],
    final: StateLike,
    *,
    k: int = 2,
    center: str = "final",
    model: nn.Module | None = None,
) -> TrajectoryDirections:
    r"""The top-``k`` principal directions of $\{\theta_t-\theta_{\text{final}}\}$ (Li et al. 2018, §7).

    Args:
        checkpoints: states along training (state dicts or modules), in order, e.g. initialisation and every
            epoch; a mapping ``{label: state}`` names them. The paper leaves the final state out; including it
            adds a zero row (no change with ``center="final"``).
        final: the final state: the origin of the plane.
        k: number of directions, ``1 <= k <= len(checkpoints)`` (2 for a plane).
        center: ``"final"`` (the paper's matrix, centred at the final state) or ``"mean"`` (mean difference
            subtracted before the SVD); see the module docstring.
        model: tells which entries are parameters (its ``named_parameters``) when ``final`` is a state dict;
            without it (and with ``final`` a state dict) every floating-point entry that is not a batch-norm
            running statistic counts.

    Returns:
        [`TrajectoryDirections`][mlitheory.directions.TrajectoryDirections]. Signs are fixed so that the first
        checkpoint has a negative coordinate on every direction (where that coordinate is zero, so that the direction's
        largest entry is positive).

    Raises:
        ValueError: empty ``checkpoints``, ``k`` out of range, bad ``center``, states that do not match ``final``
            (named key and checkpoint), non-finite entries (named), or differences spanning fewer than ``k``
            dimensions.
        TypeError: ``checkpoints`` is not a sequence or mapping of states.
    """
    if center not in _CENTERS:
        raise ValueError(f"center must be 'final' (the paper's centring) or 'mean', got {center!r}")
    states, labels = _checkpoint_list(checkpoints)
    if not states:
        raise ValueError("checkpoints is empty; pass the states saved along training (at least k of them)")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an int, got {type(k).__name__}")
    if not 1 <= k <= len(states):
        raise ValueError(f"k must be between 1 and the number of checkpoints ({len(states)}), got k={k}")
    module = model if model is not None else final if isinstance(final, nn.Module) else None
    fin = as_state(final, "final")
    keys = parameter_keys(fin, module)
    if not keys:
        raise ValueError("final has no parameters")
    for key in keys:
        if not bool(torch.isfinite(fin[key]).all()):
            raise ValueError(f"final[{key!r}] has non-finite entries")
    dev = fin[keys[0]].device
    rows = []
    for i, s in enumerate(states):
        _, st = validate_states(fin, s, names=("final", f"checkpoints[{labels[i]!r}]"))
        parts = []
        for key in keys:
            x = st[key]
            if not bool(torch.isfinite(x).all()):
                raise ValueError(f"checkpoints[{labels[i]!r}][{key!r}] has non-finite entries")
            parts.append((x.to(torch.float64) - fin[key].to(torch.float64)).reshape(-1))
        rows.append(torch.cat(parts).to(dev))
    m = torch.stack(rows)  # (checkpoints, parameters), float64
    a = m - m.mean(0, keepdim=True) if center == "mean" else m
    _, sv, vt = torch.linalg.svd(a, full_matrices=False)
    total = float(torch.sum(sv * sv))
    if total == 0.0:
        raise ValueError("every checkpoint equals the final state (after centring): the differences are zero")
    tol = max(a.shape) * torch.finfo(torch.float64).eps * float(sv[0])
    rank = int(torch.sum(sv > tol))
    if rank < k:
        raise ValueError(
            f"the differences from the final state span only {rank} dimension(s), fewer than k={k}; "
            "pass more (distinct) checkpoints or a smaller k"
        )
    v = vt[:k].clone()
    coords = m @ v.T  # (m, k)
    for i in range(k):
        c0 = float(coords[0, i])
        flip = c0 > 0 if c0 != 0.0 else float(v[i, int(torch.argmax(v[i].abs()))]) < 0
        if flip:
            v[i].neg_()
            coords[:, i].neg_()
    resid = torch.linalg.vector_norm(m - coords @ v, dim=1)
    directions = []
    sizes = [fin[key].numel() for key in keys]
    for i in range(k):
        pieces = dict(zip(keys, torch.split(v[i], sizes)))
        directions.append(
            {
                key: pieces[key].reshape(x.shape).to(dtype=x.dtype) if key in pieces else torch.zeros_like(x)
                for key, x in fin.items()
            }
        )
    return TrajectoryDirections(
        directions=tuple(directions),
        explained_variance_ratio=(sv[:k] ** 2 / total).cpu().numpy(),
        singular_values=sv[:k].cpu().numpy(),
        coordinates=coords.cpu().numpy(),
        final_coordinates=np.zeros(k),
        residuals=resid.cpu().numpy(),
        labels=tuple(labels),
        keys=tuple(keys),
        center=center,
    )
