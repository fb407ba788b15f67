r"""The exact logit path of a ReLU network along a parameter path: a piecewise polynomial in α.

Along $\theta_\alpha=(1-\alpha)\theta_0+\alpha\theta_1$ (and along the layer-wise and homogeneous-bias paths
of [`mlitheory.paths`][mlitheory.paths], polynomial in α too), a network built from Linear / Conv / ReLU / LeakyReLU /
max- and average-pooling / flatten / residual additions (no batch statistics) is, on every interval of α where no
activation changes, a **polynomial in α**: layer $\ell$'s pre-activations have degree $\le\ell$ on the
linear path. So each example's logits $z(\alpha;x)$ form a piecewise polynomial whose breakpoints are the
real roots of the current region's pre-activation polynomials (or of differences of max-pool candidates) at which
the sign actually changes (``theory_piecewise_paths.md`` §1–2).

[`piecewise_logit_path`][mlitheory.piecewise.path.piecewise_logit_path] computes every piece exactly: a forward pass on
polynomial coefficients (the Taylor mode of [`mlitheory.taylor`][mlitheory.taylor] carried to the full degree, so
nothing is truncated) over segments of α, cut at the certified sign changes of the first nonlinear node that changes
(`mlitheory.piecewise._graph`); for a plain ReLU MLP a faster sweep with closed-form first-layer breakpoints and
rank-one updates (`mlitheory.piecewise._mlp`) gives the same pieces. The coefficients of each piece are stored in powers
of $\alpha-c$ with $c$ the centre of the piece (well conditioned at any degree).

References:
    ``theory_piecewise_paths.md`` (this project), §1–2.
    Hanin, Rolnick. *Complexity of linear regions in deep networks*, ICML 2019 (regions along input-space lines).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from mlitheory import _data
from mlitheory.paths import ParameterPath, StateLike, is_statistic_key, linear_path, validate_states
from mlitheory.piecewise._graph import GraphEngine, Unsupported
from mlitheory.piecewise._poly import derivative as poly_derivative
from mlitheory.piecewise._poly import horner
from mlitheory.piecewise._sweep import graph_sweep, sort_pieces
from mlitheory.results import Result

__all__ = ["PiecewisePath", "Unsupported", "piecewise_logit_path"]


@dataclass(frozen=True)
class PiecewisePath(Result):
    r"""The logit paths $z(\alpha; x_i)$ of ``N`` examples, each a piecewise polynomial on ``interval``.

    The pieces of example ``i`` are ``offsets[i]`` to ``offsets[i+1] − 1``, sorted by α; they tile the interval
    (``hi`` of one piece is ``lo`` of the next). On piece ``p``,
    $z(\alpha)=\sum_k \text{coefficients}[p, :, k]\,(\alpha-\text{centre}[p])^k$.

    Attributes:
        offsets: ``(N + 1,)`` int64.
        lo, hi: ``(P,)`` the pieces' ends.
        centre: ``(P,)`` ``(lo + hi) / 2``, the expansion point.
        coefficients: ``(P, k, K)`` float64, ``K = degree + 1``.
        interval: ``(a, b)``.
        degree: the degree bound of the pieces (the network's degree in α on this path).
        n_examples: N. n_outputs: k.
        engine: ``"mlp"`` (closed-form sweep for a plain ReLU MLP) or ``"graph"`` (the general interpreter).
        path: label of the parameter path.
    """

    offsets: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    centre: np.ndarray
    coefficients: np.ndarray
    interval: tuple
    degree: int
    n_examples: int
    n_outputs: int
    engine: str
    path: str

    # -- structure -------------------------------------------------------------------------------------------
    @property
    def n_pieces(self) -> np.ndarray:
        """``(N,)`` number of pieces of each example (breakpoints + 1)."""
        return np.diff(self.offsets)

    def breakpoints(self, i: int) -> np.ndarray:
        """The sorted interior breakpoints of example ``i``."""
        self._check_example(i)
        return self.hi[self.offsets[i] : self.offsets[i + 1] - 1].copy()

    def pieces(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(lo, hi, centre, coefficients)`` of the pieces of example ``i``."""
        self._check_example(i)
        s = slice(self.offsets[i], self.offsets[i + 1])
        return self.lo[s], self.hi[s], self.centre[s], self.coefficients[s]

    def _check_example(self, i: int) -> None:
        if not 0 <= int(i) < self.n_examples:
            raise IndexError(f"example {i} out of range: the path has {self.n_examples} examples")

    def piece_index(self, alphas: Any, *, side: str = "right") -> np.ndarray:
        """``(m, N)`` global index of the piece holding each α for each example.

        Args:
            alphas: values in ``interval``.
            side: at a breakpoint, ``"right"`` takes the piece that starts there, ``"left"`` the one that ends there.
        """
        al = _alphas(alphas, self.interval)
        if side not in ("right", "left"):
            raise ValueError(f"side must be 'right' or 'left', got {side!r}")
        counts = self.n_pieces
        q = torch.from_numpy(np.tile(al, (self.n_examples, 1)))
        if side == "right":
            pad = torch.from_numpy(_padded(self.lo, self.offsets, np.inf))
            j = torch.searchsorted(pad, q, right=True) - 1
        else:
            pad = torch.from_numpy(_padded(self.hi, self.offsets, np.inf))
            j = torch.searchsorted(pad, q, right=False)
        j = np.clip(j.numpy().T, 0, counts[None, :] - 1)
        return self.offsets[:-1][None, :] + j

    # -- evaluation ------------------------------------------------------------------------------------------
    def evaluate(self, alphas: Any, order: int = 0, *, side: str = "right") -> np.ndarray:
        r"""$z^{(m)}(\alpha)$ for every example: array ``(len(alphas), N, k)``.

        Args:
            alphas: points in ``interval`` (a scalar gives ``(1, N, k)``).
            order: derivative order ``m`` (0: the logits).
            side: which one-sided derivative at a breakpoint (the value itself is continuous).
        """
        if not isinstance(order, (int, np.integer)) or order < 0:
            raise ValueError(f"order must be a non-negative integer, got {order!r}")
        al = _alphas(alphas, self.interval)
        idx = self.piece_index(al, side=side)  # (m, N)
        c = torch.from_numpy(self.coefficients[idx])  # (m, N, k, K)
        if order:
            c = poly_derivative(c, int(order))
        t = torch.from_numpy(al[:, None] - self.centre[idx]).unsqueeze(-1)
        return horner(c, t).numpy()

    def derivative(self, alphas: Any, order: int = 1, *, side: str = "right") -> np.ndarray:
        """The ``order``-th derivative (see `evaluate`)."""
        return self.evaluate(alphas, order, side=side)

    def summary(self) -> str:
        n = self.n_pieces
        return "\n".join(
            [
                f"PiecewisePath ({self.engine} engine, {self.path}) on [{self.interval[0]:g}, {self.interval[1]:g}]",
                f"  {self.n_examples} examples, {self.n_outputs} outputs, degree {self.degree}",
                f"  pieces per example: mean {n.mean():.4g}, min {n.min()}, max {n.max()} ({n.sum()} in all)",
            ]
        )


def _alphas(alphas: Any, interval: tuple) -> np.ndarray:
    if isinstance(alphas, torch.Tensor):
        alphas = alphas.detach().cpu().numpy()
    al = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if al.ndim != 1:
        raise ValueError(f"alphas must be a scalar or one-dimensional, got shape {al.shape}")
    a, b = interval
    if not np.isfinite(al).all() or (al < a).any() or (al > b).any():
        bad = al[~(np.isfinite(al) & (al >= a) & (al <= b))][:3]
        raise ValueError(f"alphas must lie in the path's interval [{a:g}, {b:g}], got {bad}")
    return al


def _padded(x: np.ndarray, offsets: np.ndarray, fill: float) -> np.ndarray:
    """``(N, max pieces)`` rows of the per-example slices of ``x``, padded with ``fill``."""
    counts = np.diff(offsets)
    out = np.full((len(counts), int(counts.max()) if len(counts) else 0), fill)
    ex = np.repeat(np.arange(len(counts)), counts)
    out[ex, np.arange(len(x)) - offsets[:-1][ex]] = x
    return out


# ---------------------------------------------------------------------------------------------------------------
# building
# ---------------------------------------------------------------------------------------------------------------


def resolve_path(
    model: nn.Module, start: StateLike | None, end: StateLike | None, path: ParameterPath | None
) -> ParameterPath:
    """The parameter path from ``start``/``end`` or ``path=`` (exactly one of the two), checked against the model."""
    if path is None:
        if start is None or end is None:
            raise ValueError("pass start and end, or a path=")
        return linear_path(start, end, model=model)
    if start is not None or end is not None:
        raise ValueError("pass either start and end, or path=, not both")
    if not isinstance(path, ParameterPath):
        raise TypeError(f"path must be a ParameterPath (see mlitheory.paths), got {type(path).__name__}")
    validate_states(path.start, path.end, model=model)
    return path


def stack_inputs(inputs: Any, name: str = "inputs") -> torch.Tensor:
    """All model inputs as one tensor ``(N, ...)``: a tensor, a batch ``(x, y)`` or an iterable of them."""
    if isinstance(inputs, torch.Tensor):
        xs = [inputs]
    elif _data.is_single_batch(inputs, lists=False):
        xs = [inputs[0]]
    else:
        xs = list(_data.inputs(inputs, name))
    for i, x in enumerate(xs):
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"{name}: batch {i} holds a {type(x).__name__}; the exact tools take models called with one tensor"
            )
    shapes = {tuple(x.shape[1:]) for x in xs}
    if len(shapes) > 1:
        raise ValueError(f"{name}: batches have different input shapes {sorted(shapes)}")
    x = torch.cat(xs) if len(xs) > 1 else xs[0]
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{name} is empty; pass at least one example")
    return x


def _interval(interval: Sequence[float]) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in interval)
    except (TypeError, ValueError) as e:
        raise ValueError(f"interval must be a pair (a, b) of numbers, got {interval!r}") from e
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise ValueError(f"interval must satisfy a < b (finite), got ({a}, {b})")
    return a, b


def statistic_overrides(path: ParameterPath, bn: str) -> dict[str, torch.Tensor] | None:
    """Batch-norm running statistics held at the end state (``bn="none"``), or ``None`` (they follow the path)."""
    if bn == "interpolate":
        return None
    if bn == "none":
        return {k: v for k, v in path.end.items() if is_statistic_key(k)}
    raise ValueError(
        f"bn={bn!r}: the exact tools take bn='interpolate' (running statistics follow the path; the running "
        "variance must then be equal at both ends) or bn='none' (the end state's statistics throughout); "
        "re-estimated or batch statistics are not polynomial in α"
    )


_CHECK_EXAMPLES = 64  # inputs of the model's own forward that the pieces are checked against


def check_alpha(a: float, b: float) -> float:
    """Where the pieces are checked against the model: off the interval's centre, so that a reversed path (the same
    state at the centre) is told apart."""
    return a + 0.3819660112501051 * (b - a)


def model_logits(model: nn.Module, path: ParameterPath, x: torch.Tensor, alpha: float, overrides=None) -> torch.Tensor:
    """The model's own logits ``(N, k)`` at ``alpha`` (float64 states, tied names one value, never modified).

    Raises:
        ValueError: the inputs do not fit the model (its own forward fails on them), with torch's message.
    """
    from mlitheory._model import ModelView, extra_buffers

    with ModelView(model) as view, torch.no_grad():
        state = {**path.state(float(alpha)), **extra_buffers(model, path.start, x.device), **(overrides or {})}
        try:
            z = torch.func.functional_call(view.module, view.private(state), (x,))
        except (RuntimeError, ValueError, TypeError, IndexError) as err:
            raise ValueError(
                f"inputs of shape {tuple(x.shape)} ({x.dtype}) do not fit the model: its own forward fails on them "
                f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); pass a batch (N, ...) of "
                "the shape the model takes"
            ) from err
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"the model must return one tensor of logits, got {type(z).__name__}")
    return z.reshape(z.shape[0], -1).to(torch.float64)


def check_pieces(
    pieces: PiecewisePath, z_ref: torch.Tensor, alpha: float, what: str, error: type[Exception] = ValueError
) -> None:
    """Raise ``error`` unless the pieces give the model's own logits ``z_ref`` (the first examples) at ``alpha``."""
    m = min(z_ref.shape[0], pieces.n_examples)
    # the first m examples only (evaluate would index every example's pieces): the last piece starting at or
    # before α, counted within each example (every example has at least one piece)
    first = pieces.offsets[:m]
    starts = np.add.reduceat(pieces.lo[: pieces.offsets[m]] <= alpha, first) if m else np.zeros(0, dtype=int)
    j = first + np.maximum(starts - 1, 0)
    t = torch.from_numpy(alpha - pieces.centre[j]).reshape(-1, 1)
    z = horner(torch.from_numpy(pieces.coefficients[j]), t)
    if z.shape != z_ref.shape:
        shapes = f"{tuple(z.shape[1:])} per example, the model {tuple(z_ref.shape[1:])}"
        raise error(f"{what}: the pieces have logits of shape {shapes}")
    scale = 1.0 + float(z_ref.abs().max()) if z_ref.numel() else 1.0
    err = float((z - z_ref.cpu()).abs().max()) if z_ref.numel() else 0.0
    if not err <= 1e-9 * scale:
        raise error(
            f"{what}: the pieces differ from the model's own forward at α = {alpha:.6g} by {err:.3g} (logits of "
            f"size {scale - 1:.3g})"
        )


def piecewise_logit_path(
    model: nn.Module,
    start: StateLike | None,
    end: StateLike | None,
    inputs: Any,
    *,
    path: ParameterPath | None = None,
    interval: tuple[float, float] = (0.0, 1.0),
    bn: str = "interpolate",
    engine: str = "auto",
    device: torch.device | str | None = None,
    chunk: int | None = None,
    progress: bool = False,
) -> PiecewisePath:
    r"""The exact logit path of every input along a parameter path, as a piecewise polynomial in α.

    Args:
        model: a network of supported modules (Linear, Conv, ReLU, LeakyReLU, max/avg pooling, Flatten, residual
            additions, eval-mode batch norm with a running variance that is constant along the path); never
            modified.
        start, end: state dicts or modules (``None`` when ``path`` is given).
        inputs: a tensor ``(N, ...)``, a batch ``(x, y)`` or an iterable of batches (their ``x`` are used).
        path: any [`ParameterPath`][mlitheory.paths.ParameterPath] instead of the linear path.
        interval: the α interval ``(a, b)``.
        bn: ``"interpolate"`` (running statistics follow the path) or ``"none"`` (held at the end state's).
        engine: ``"auto"`` (the MLP sweep when the model is a plain Linear/ReLU chain on an affine path, else the
            general interpreter), ``"mlp"`` or ``"graph"``.
        device: where to compute (default: the states' device). Everything is float64.
        chunk: segments per forward pass of the general engine (memory).
        progress: a tqdm bar.

    Returns:
        [`PiecewisePath`][mlitheory.piecewise.path.PiecewisePath].

    Raises:
        Unsupported: a module or operation is not piecewise polynomial along the path (named), e.g. a smooth
            activation or batch norm with batch statistics; or the model's forward is not what its traced operations
            compute (a forward hook that changes the output): the pieces are checked against the model's own forward
            at one α on up to 64 inputs. Use the sampled tools then.
        ValueError: the inputs do not fit the model (its own forward fails on them), with torch's message.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
        >>> s = {"0.weight": torch.tensor([[1.0], [1.0]]), "0.bias": torch.tensor([-0.5, 0.5]),
        ...      "2.weight": torch.tensor([[1.0, 1.0]]), "2.bias": torch.zeros(1)}
        >>> e = {**s, "0.bias": torch.tensor([-1.5, -1.5])}   # pre-activations 0.5 − α and 1.5 − 2α at x = 1
        >>> p = piecewise_logit_path(net, s, e, torch.ones(1, 1))
        >>> p.breakpoints(0).tolist(), p.n_pieces.tolist()
        ([0.5, 0.75], [3])
    """
    path = resolve_path(model, start, end, path)
    a, b = _interval(interval)
    if engine not in ("auto", "mlp", "graph"):
        raise ValueError(f"engine must be 'auto', 'mlp' or 'graph', got {engine!r}")
    ref = next(iter(path.start.values()))
    dev = torch.device(device) if device is not None else ref.device
    path = path.to(dev, torch.float64)
    x = stack_inputs(inputs).to(dev)
    x = x.to(torch.float64) if x.is_floating_point() else x
    overrides = statistic_overrides(path, bn)
    if x.shape[0] == 0:
        raise ValueError("inputs is empty: pass at least one input")
    at = check_alpha(a, b)
    # the model's own forward on a few inputs: a clear error when they do not fit it, and the check of the pieces
    z_ref = model_logits(model, path, x[:_CHECK_EXAMPLES], at, overrides)
    use_mlp = False
    if engine in ("auto", "mlp"):
        from mlitheory.piecewise._mlp import mlp_layers

        layers = mlp_layers(model, path, overrides)
        if layers is not None and z_ref.shape[1] != layers[-1].w0.shape[0]:
            layers = None  # Linear layers applied along a trailing axis of (N, ..., features) inputs: not a chain
        if layers is None and engine == "mlp":
            raise ValueError(
                "engine='mlp' needs a plain chain of Linear and ReLU/LeakyReLU layers on a path that is affine in α, "
                "applied to inputs (N, features) (or flattened first); use engine='graph' (or 'auto') for this model"
            )
        use_mlp = layers is not None
    if use_mlp:
        from mlitheory.piecewise._mlp import mlp_sweep

        ex, lo, hi, coefs = mlp_sweep(layers, x, a, b)
        name = "mlp"
    else:
        eng = GraphEngine(model, path, overrides=overrides)
        try:
            ex, lo, hi, coefs = graph_sweep(eng, x, a, b, chunk=chunk or 256, progress=progress)
        finally:
            eng.close()
        name = "graph"
    offsets, lo, hi, coefs = sort_pieces(ex, lo, hi, coefs, x.shape[0])
    out = PiecewisePath(
        offsets=offsets.cpu().numpy(),
        lo=lo.cpu().numpy(),
        hi=hi.cpu().numpy(),
        centre=(0.5 * (lo + hi)).cpu().numpy(),
        coefficients=coefs.cpu().numpy(),
        interval=(a, b),
        degree=int(coefs.shape[-1] - 1),
        n_examples=int(x.shape[0]),
        n_outputs=int(coefs.shape[1]),
        engine=name,
        path=path.label,
    )
    why = (
        "the model's forward is not the composition of its traced operations (a forward hook, or an operation that "
        "torch.fx does not see); the exact tools cannot represent it, use the sampled tools"
    )
    check_pieces(out, z_ref, at, why, Unsupported)
    return out
