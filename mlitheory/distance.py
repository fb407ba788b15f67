r"""Distance travelled in weight space: $\|\theta_T - \theta_0\|_2$, normalised, per layer.

Lucas et al. (2021, §4.2.1) relate non-monotonic interpolation to the distance the weights moved. Their
measurement (``measurement_and_experiments.md`` §2): the $\ell_2$ distance over every parameter (weights,
biases, batch-norm affine parameters), **excluding** batch-norm running statistics; the normalised variant
divides by $\|\theta_0\|_2$ in the figures, while the value logged during training divides by the final
norm $\|\theta_T\|_2$. Both are offered:

$$
d = \|\theta_{\text{end}} - \theta_{\text{start}}\|_2,\qquad
d_{\text{start}} = \frac{d}{\|\theta_{\text{start}}\|_2},\qquad
d_{\text{end}} = \frac{d}{\|\theta_{\text{end}}\|_2}.
$$

Sums are accumulated in float64 whatever the parameters' dtype. A tied parameter (one tensor under two names, as
an embedding shared with the output layer) is counted once. Entries that are NaN or infinite are an error, not a
NaN distance.

References:
    Lucas et al., *Analyzing Monotonic Linear Interpolation in Neural Network Loss Landscapes*, ICML 2021, §4.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mlitheory import _validate
from mlitheory.paths import StateLike, layer_groups, parameter_keys, tied_keys, validate_states
from mlitheory.results import Result

__all__ = ["WeightDistance", "weight_distance"]


@dataclass(frozen=True)
class WeightDistance(Result):
    """Weight distance between two states.

    Attributes:
        value: the distance, divided by the norm chosen by ``normalize``.
        distance: the raw ℓ2 distance.
        start_norm: ‖θ_start‖₂ over the same entries. end_norm: ‖θ_end‖₂.
        normalize: ``None``, ``"start"`` or ``"end"``.
        keys: the state entries measured.
        layers: per-layer names (empty unless ``per_layer=True``).
        layer_distance: ``(L,)`` raw distance per layer.
        layer_start_norm: ``(L,)`` ‖θ_start‖ per layer. layer_end_norm: ``(L,)`` ‖θ_end‖ per layer.
    """

    value: float
    distance: float
    start_norm: float
    end_norm: float
    normalize: str | None
    keys: tuple
    layers: tuple = ()
    layer_distance: np.ndarray | None = None
    layer_start_norm: np.ndarray | None = None
    layer_end_norm: np.ndarray | None = None

    def __float__(self) -> float:
        return self.value

    @property
    def relative_to_start(self) -> float:
        """$d / \\|\\theta_{\\text{start}}\\|_2$ (``inf`` when that norm is 0), whatever ``normalize`` was."""
        return self.distance / self.start_norm if self.start_norm > 0 else math.inf

    @property
    def relative_to_end(self) -> float:
        """$d / \\|\\theta_{\\text{end}}\\|_2$ (``inf`` when that norm is 0), whatever ``normalize`` was."""
        return self.distance / self.end_norm if self.end_norm > 0 else math.inf

    def table(self) -> str:
        """Per-layer table: distance, the two norms, distance relative to the start norm."""
        if not self.layers:
            return "(no per-layer table; call weight_distance(..., per_layer=True))"
        w = max(12, *(len(n) for n in self.layers))
        lines = [f"{'layer':<{w}} {'distance':>11} {'|start|':>11} {'|end|':>11} {'d/|start|':>10}"]
        for i, name in enumerate(self.layers):
            d, s, e = self.layer_distance[i], self.layer_start_norm[i], self.layer_end_norm[i]
            rel = d / s if s > 0 else math.inf
            lines.append(f"{name:<{w}} {d:11.5g} {s:11.5g} {e:11.5g} {rel:10.4g}")
        lines.append(f"{'total':<{w}} {self.distance:11.5g} {self.start_norm:11.5g} {self.end_norm:11.5g}")
        return "\n".join(lines)

    def summary(self) -> str:
        norm = {None: "", "start": " / |start|", "end": " / |end|"}[self.normalize]
        head = f"WeightDistance{norm} = {self.value:.6g} (raw {self.distance:.6g}, {len(self.keys)} entries)"
        return head + ("\n" + self.table() if self.layers else "")


def _sq(t: torch.Tensor) -> float:
    return float(torch.sum(t.detach().to(torch.float64) ** 2))


def _match_model(state: dict, model: nn.Module) -> None:
    """The states hold every parameter of ``model`` with its shape, and only keys of its state dict."""
    ref = model.state_dict()
    params = [n for n, _ in model.named_parameters(remove_duplicate=False)]
    missing = [k for k in params if k not in state]
    extra = [k for k in state if k not in ref]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"parameters of the model missing from the states: {', '.join(map(repr, missing[:5]))}")
        if extra:
            parts.append(f"keys the model does not have: {', '.join(map(repr, extra[:5]))}")
        raise ValueError("the states do not match model= (" + "; ".join(parts) + "); pass the model they come from")
    for k in params:
        if tuple(state[k].shape) != tuple(ref[k].shape):
            raise ValueError(
                f"start[{k!r}] has shape {tuple(state[k].shape)} but the model expects {tuple(ref[k].shape)}"
            )


def weight_distance(
    start: StateLike,
    end: StateLike,
    *,
    normalize: str | None = None,
    per_layer: bool = False,
    model: nn.Module | None = None,
) -> WeightDistance:
    """ℓ2 distance between two states over the parameters (running statistics excluded).

    Args:
        start, end: state dicts or modules with the same keys, shapes and dtypes.
        normalize: ``None`` (raw), ``"start"`` (÷‖θ_start‖, the paper's figures) or ``"end"`` (÷‖θ_end‖, the
            value the authors logged during training).
        per_layer: also return the per-layer table (layers = modules owning parameters).
        model: when given (or when ``start`` is a module), exactly its parameters are measured, each tied tensor
            once; the states must hold every parameter of the model and no key the model does not have.
            Otherwise every floating-point entry except ``running_mean``, ``running_var``,
            ``num_batches_tracked`` (entries sharing storage in both states count once).

    Returns:
        [`WeightDistance`][mlitheory.distance.WeightDistance] (``float(result)`` is the value).

    Raises:
        ValueError: unknown ``normalize``, mismatched keys/shapes (named), states that do not match ``model``
            (missing parameters or unknown keys, named), NaN/inf or meta entries, or a zero norm to divide by.
        TypeError: ``model`` is not a module, dtype mismatches or integer weights (named).

    Examples:
        >>> import torch
        >>> d = weight_distance({"w": torch.tensor([3.0, 0.0])}, {"w": torch.tensor([0.0, 4.0])})
        >>> d.value
        5.0
    """
    if normalize not in (None, "start", "end"):
        raise ValueError(f"normalize must be None, 'start' or 'end', got {normalize!r}")
    per_layer = _validate.boolean(per_layer, "per_layer")
    if model is not None:
        _validate.module(model)
    elif isinstance(start, nn.Module):
        model = start
    a, b = validate_states(start, end, finite=False)
    if model is not None:
        _match_model(a, model)
        keys = parameter_keys(a, model)
    else:
        tied = tied_keys(a, b)
        keys = [k for k in parameter_keys(a) if k not in tied]
    if not keys:
        raise ValueError("the states have no floating-point parameters to measure")
    for state, name in ((a, "start"), (b, "end")):
        _validate.state_entries({k: state[k] for k in keys}, name)
    d2 = {k: _sq(b[k] - a[k]) for k in keys}
    s2 = {k: _sq(a[k]) for k in keys}
    e2 = {k: _sq(b[k]) for k in keys}
    dist, sn, en = (math.sqrt(sum(v.values())) for v in (d2, s2, e2))
    denom = {None: 1.0, "start": sn, "end": en}[normalize]
    if denom == 0.0:
        raise ValueError(f"cannot normalise by the {normalize} norm: it is 0 (all parameters zero)")
    extra = {}
    if per_layer:
        groups = layer_groups(a, model=model)
        chosen = set(keys)
        names = [g for g, ks in groups.items() if any(k in chosen for k in ks)]

        def per(v: dict) -> np.ndarray:
            return np.sqrt([sum(v[k] for k in groups[g] if k in chosen) for g in names])

        extra = {
            "layers": tuple(n or "<root>" for n in names),
            "layer_distance": per(d2),
            "layer_start_norm": per(s2),
            "layer_end_norm": per(e2),
        }
    return WeightDistance(
        value=dist / denom,
        distance=dist,
        start_norm=sn,
        end_norm=en,
        normalize=normalize,
        keys=tuple(keys),
        **extra,
    )
