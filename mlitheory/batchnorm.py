r"""Batch normalisation along a path: an explicit policy for the running statistics.

Interpolating the parameters of a network with batch norm leaves its running statistics (``running_mean``,
``running_var``) without a meaning: they were estimated for the start or the end state, not for
$\theta_\alpha$. Lucas et al. (2021, §4, "A note on batch normalization") reset and re-estimate them at
every α. The tools of this package make the choice explicit:

``"recompute"`` (default)
    At every point, reset the running statistics and re-estimate them over ``bn_data`` with an exact cumulative
    average (``momentum=None``), exactly as `torch.optim.swa_utils.update_bn` does: the average over
    batches of each batch's mean and unbiased variance (for equal batch sizes, the mean over all examples of
    the batch means). Then evaluate in eval mode. Unlike ``update_bn``, other modules (dropout) stay in eval
    mode while the statistics are estimated, and the caller's model is not touched. The authors' code uses an
    exponential average with momentum 0.1 instead (``measurement_and_experiments.md`` §3).
``"interpolate"``
    The float buffers follow the path like the parameters, $(1-\alpha)\mu_0 + \alpha\mu_T$; eval mode.
    Integer buffers (``num_batches_tracked``) are never interpolated.
``"batch"``
    Batch-norm layers normalise with the statistics of each evaluated batch (train-mode normalisation, no
    update of any buffer); results then depend on how the data is batched.
``"none"``
    The running statistics of the ``end`` state are used at every point; eval mode.

Except for ``"interpolate"``, a policy changes the loss at the endpoints themselves: at α = 0 the recomputed
statistics are not those stored in ``start``. [`mlitheory.interpolate`][mlitheory.interpolation.interpolate] therefore
also evaluates both endpoint states directly and reports the shift (``InterpolationCurve.endpoint_shift``).

For derivatives along the path ([`mlitheory.logit_gauss_length`][mlitheory.logit_geometry.logit_gauss_length]), the
statistics recomputed at α are held constant while differentiating, as in the authors' code; ``"interpolate"`` and
``"batch"`` differentiate through the statistics.

References:
    Lucas et al., ICML 2021, §4. Izmailov et al., *Averaging Weights Leads to Wider Optima and Better
    Generalization* (UAI 2018): ``update_bn``. Garipov et al., *Loss Surfaces, Mode Connectivity, and Fast
    Ensembling of DNNs* (NeurIPS 2018).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from mlitheory import _data, _validate
from mlitheory._model import ModelView, batchnorm_modules, extra_buffers
from mlitheory.paths import StateLike, as_state

__all__ = ["BN_POLICIES", "batchnorm_modules", "check_policy", "recompute_statistics"]

BN_POLICIES = ("recompute", "interpolate", "batch", "none")


def check_policy(bn: str) -> str:
    """Validate a batch-norm policy name."""
    if bn not in BN_POLICIES:
        raise ValueError(f"bn must be one of {BN_POLICIES}, got {bn!r}")
    return bn


def _recompute(view: ModelView, state: Mapping[str, torch.Tensor], extra: dict, bn_inputs: Any, device, dtype):
    """Fresh running statistics of ``view``'s batch-norm layers at ``state`` (dict of the statistic keys)."""
    bufs: dict[str, torch.Tensor] = {}
    for key in view.statistic_keys:
        ref = state[key]
        if key.endswith("running_var"):
            bufs[key] = torch.ones_like(ref)
        else:
            bufs[key] = torch.zeros_like(ref)
    if not bufs:
        return bufs
    full = view.private({**state, **extra, **bufs}, keep=bufs)  # the fresh statistics are updated in place
    view.configure("stats")
    ref = None if dtype is not None else next((v.dtype for v in state.values() if v.is_floating_point()), None)
    try:
        with torch.no_grad():
            for i, x in enumerate(_data.inputs(bn_inputs, "bn_data")):
                x = _data.move(x, device, dtype)
                _data.check_dtype(x, ref, f"batch {i} of bn_data")
                args, kwargs = _data.args_kwargs(x)
                torch.func.functional_call(view.module, full, args, kwargs)
    finally:
        view.configure("eval")
    return bufs


def needs_statistics(view: ModelView, bn: str, bn_data: Any) -> None:
    """Raise a clear error when ``bn="recompute"`` has no data for a model with batch norm."""
    if bn == "recompute" and view.statistic_keys and bn_data is None:
        names = ", ".join(repr(n) for n, _ in view.bn[:4])
        raise ValueError(
            f"bn='recompute' re-estimates the running statistics of the batch-norm layers ({names}) and needs "
            "bn_data (inputs or batches); pass bn_data=, or choose bn='interpolate', 'batch' or 'none'"
        )


def recompute_statistics(
    model: nn.Module,
    state: StateLike,
    bn_data: Any,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> dict[str, torch.Tensor]:
    """Running statistics of ``model``'s batch-norm layers re-estimated at ``state``, functionally.

    The result equals what `torch.optim.swa_utils.update_bn` leaves in a model loaded with ``state``
    (exact cumulative average over the batches of ``bn_data``) when the model has no dropout; neither ``model``
    nor ``state`` is modified.

    Args:
        model: any module with batch-norm layers.
        state: a state dict or module with the model's keys.
        bn_data: a tensor of inputs, a batch ``(x, y)`` or an iterable of batches (``x`` is the first element).
        device, dtype: where and in which float dtype to compute (default: the state's).

    Returns:
        ``{key: tensor}`` for every ``running_mean``, ``running_var`` and ``num_batches_tracked``.

    Raises:
        TypeError: ``model`` is not a module, ``dtype`` not a floating dtype.
        ValueError: ``bn_data`` is ``None`` or empty; the state is empty, holds meta tensors or NaN/inf.
    """
    _validate.module(model)
    dtype = _validate.float_dtype(dtype)
    device = _validate.check_device(device)
    s = as_state(state)
    if not s:
        raise ValueError("state is empty; pass the model's state_dict() (or the model)")
    _validate.state_entries(s, "state")
    dev = device if device is not None else next(iter(s.values())).device
    s = {k: _data.move(v, dev, dtype) for k, v in s.items()}
    with ModelView(model) as view:
        needs_statistics(view, "recompute", bn_data)
        return _recompute(
            view, s, extra_buffers(model, s, dev), _data.reiterable(bn_data, "bn_data", lists=False), dev, dtype
        )
