"""A private, configurable view of the caller's model: the caller's module is never touched.

:class:`ModelView` makes a *structural* clone of the model with :func:`copy.deepcopy`, sharing every parameter and
buffer tensor (the memo maps each tensor to itself, so no weight is copied). Mode flags (train/eval, batch-norm
momentum) are then set on the clone only, and the clone's states are supplied with
:func:`torch.func.functional_call`. If a model cannot be deep-copied, the view falls back to the model itself and
restores every flag it changed on exit (also on error).
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ["ModelView", "batchnorm_modules"]


def batchnorm_modules(model: nn.Module) -> list[tuple[str, _BatchNorm]]:
    """``(name, module)`` of every batch-norm module (BatchNorm1d/2d/3d, SyncBatchNorm, lazy variants)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, _BatchNorm)]


class ModelView:
    """A clone of ``model`` sharing its tensors, whose flags can be set freely.

    Modes:
        ``"eval"``: every module in eval mode (dropout off, running statistics used).
        ``"stats"``: batch-norm modules in train mode with ``momentum=None`` (exact cumulative average of the
            running statistics, as :func:`torch.optim.swa_utils.update_bn`); every other module in eval mode.
        ``"batch"``: batch-norm modules normalise with the statistics of the current batch and update nothing
            (train mode, ``track_running_stats=False``); every other module in eval mode.
    """

    def __init__(self, model: nn.Module):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.original = model
        memo: dict[int, Any] = {id(t): t for t in itertools.chain(model.parameters(), model.buffers())}
        try:
            self.module = copy.deepcopy(model, memo)
            self.cloned = True
        except Exception:  # a module holding something that cannot be copied: work on it, restore the flags
            self.module = model
            self.cloned = False
        self._saved = [(m, m.training) for m in self.module.modules()]
        self.bn = batchnorm_modules(self.module)
        self._bn_saved = [(m, m.momentum, m.track_running_stats) for _, m in self.bn]
        self.mode = ""
        self.configure("eval")

    @property
    def statistic_keys(self) -> list[str]:
        """State keys of the running statistics of the batch-norm modules that track them."""
        keys = []
        for name, m in self.bn:
            if m.running_mean is None:
                continue
            p = f"{name}." if name else ""
            keys += [p + "running_mean", p + "running_var"]
            if m.num_batches_tracked is not None:
                keys.append(p + "num_batches_tracked")
        return keys

    def configure(self, mode: str) -> None:
        if mode == self.mode:
            return
        if mode not in ("eval", "stats", "batch"):
            raise ValueError(f"unknown mode {mode!r}")
        self.module.train(False)
        for (_, m), (_, momentum, track) in zip(self.bn, self._bn_saved):
            m.momentum, m.track_running_stats = momentum, track
            if mode == "stats":
                m.training, m.momentum = True, None
            elif mode == "batch":
                m.training, m.track_running_stats = True, False
        self.mode = mode

    def close(self) -> None:
        """Restore every flag (only matters when the model itself had to be used)."""
        for m, training in self._saved:
            m.training = training
        for m, momentum, track in self._bn_saved:
            m.momentum, m.track_running_stats = momentum, track
        self.mode = ""

    def __enter__(self) -> ModelView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def extra_buffers(model: nn.Module, state: dict[str, torch.Tensor], device: torch.device | None) -> dict:
    """Non-persistent buffers of ``model`` (not in state dicts), moved to ``device`` for functional calls."""
    out = {}
    for name, buf in model.named_buffers(remove_duplicate=False):
        if name not in state and buf is not None:
            out[name] = buf.to(device) if device is not None else buf
    return out
