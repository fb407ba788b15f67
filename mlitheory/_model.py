"""A private, configurable view of the caller's model: the caller's module is never touched, even temporarily.

`ModelView` makes a *structural* clone of the model with `copy.deepcopy`, sharing every parameter
(the memo maps each parameter to itself, so no weight is copied) and copying the buffers. Mode flags (train/eval,
batch-norm momentum) are then set on the clone only, and the clone's states are supplied with
`torch.func.functional_call`. If a model cannot be deep-copied (it holds a lock, a file, a generator), the
clone is built module by module instead: a new module object per module, with its own attribute dictionary and
its own parameter, buffer and child tables, sharing the values. If even that fails, the view refuses with an
error; it never falls back to switching the caller's model.

States handed to a forward are private too (`ModelView.private`): every buffer entry is a fresh copy, so a
forward that updates a buffer in place (a step counter, an average) changes neither the caller's states nor the
next evaluation; names that the model ties to one tensor get one value.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
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
            running statistics, as `torch.optim.swa_utils.update_bn`); every other module in eval mode.
        ``"batch"``: batch-norm modules normalise with the statistics of the current batch and update nothing
            (train mode, ``track_running_stats=False``); every other module in eval mode.
    """

    def __init__(self, model: nn.Module):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.original = model
        # parameters are shared; buffers are copied (small), so that nothing run on the clone (torch.fx tracing
        # executes a forward on real buffers) can write into the caller's
        memo: dict[int, Any] = {id(t): t for t in model.parameters()}
        try:
            self.module = copy.deepcopy(model, memo)
        except Exception as deep:  # a module holding something that cannot be copied: clone module by module
            try:
                self.module = structural_clone(model, copy_buffers=True)
            except Exception as e:
                raise TypeError(
                    f"cannot make a private copy of the model ({type(model).__name__}): copy.deepcopy failed with "
                    f"{type(deep).__name__}: {deep}, and a module-by-module copy with {type(e).__name__}: {e}. "
                    "mlitheory never switches the caller's model to eval mode; make the model deep-copyable "
                    "(keep locks, files and generators outside the module)"
                ) from e
        self.cloned = True
        self._saved = [(m, m.training) for m in self.module.modules()]
        self.bn = batchnorm_modules(self.module)
        self._bn_saved = [(m, m.momentum, m.track_running_stats) for _, m in self.bn]
        self.ties = tied_names(self.module)
        self.buffer_keys = frozenset(n for n, _ in self.module.named_buffers(remove_duplicate=False))
        self.mode = ""
        self.configure("eval")

    def private(self, state: Mapping[str, Any], keep: Any = ()) -> dict[str, Any]:
        """``state`` ready for a forward: buffers copied (except the names in ``keep``), tied names one value."""
        out = dict(state)
        for k in self.buffer_keys.intersection(out):
            v = out[k]
            if isinstance(v, torch.Tensor) and k not in keep:
                out[k] = v.clone()
        for alias, canon in self.ties.items():
            if alias in out and canon in out:
                out[alias] = out[canon]
        return out

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


def tied_names(model: nn.Module) -> dict[str, str]:
    """``{alias: first name}`` of the parameters and buffers that ``model`` holds under several names."""
    seen: dict[int, str] = {}
    out: dict[str, str] = {}
    for name, t in itertools.chain(
        model.named_parameters(remove_duplicate=False), model.named_buffers(remove_duplicate=False)
    ):
        if t is not None and seen.setdefault(id(t), name) != name:
            out[name] = seen[id(t)]
    return out


def structural_clone(model: nn.Module, *, copy_tensors: bool = False, copy_buffers: bool = False) -> nn.Module:
    """A new module object for every module of ``model``, sharing every value (tensors, functions, locks).

    Each clone has its own attribute dictionary and its own tables of parameters, buffers, children and hooks,
    so setting a flag (``training``, ``momentum``) or an attribute on it leaves the original unchanged. With
    ``copy_tensors`` the parameters and buffers are copies too (ties kept), so the clone can be re-initialised;
    with ``copy_buffers`` only the buffers are.
    """
    memo: dict[int, nn.Module] = {}
    copies: dict[int, torch.Tensor] = {}

    def fresh(t: torch.Tensor | None, buffer: bool = False) -> torch.Tensor | None:
        if t is None or not (copy_tensors or (buffer and copy_buffers)):
            return t
        if id(t) not in copies:
            c = t.detach().clone()
            copies[id(t)] = nn.Parameter(c, requires_grad=t.requires_grad) if isinstance(t, nn.Parameter) else c
        return copies[id(t)]

    def clone(m: nn.Module) -> nn.Module:
        if id(m) in memo:
            return memo[id(m)]
        new = object.__new__(type(m))
        memo[id(m)] = new
        attrs = {}
        for k, v in m.__dict__.items():
            attrs[k] = copy.copy(v) if isinstance(v, (dict, set, list)) else v
        attrs["_modules"] = type(m._modules)((k, None if c is None else clone(c)) for k, c in m._modules.items())
        attrs["_parameters"] = type(m._parameters)((k, fresh(v)) for k, v in m._parameters.items())
        attrs["_buffers"] = type(m._buffers)((k, fresh(v, buffer=True)) for k, v in m._buffers.items())
        new.__dict__.update(attrs)
        return new

    out = clone(model)
    originals = {id(m) for m in model.modules()}
    if any(id(m) in originals for m in out.modules()):
        raise TypeError("a module of the copy is still the caller's module")
    return out


def extra_buffers(model: nn.Module, state: dict[str, torch.Tensor], device: torch.device | None) -> dict:
    """Non-persistent buffers of ``model`` (not in state dicts), moved to ``device`` for functional calls.

    Floating buffers are cast to the floating dtype of ``state``, in which the model is evaluated."""
    out = {}
    dtype = next((v.dtype for v in state.values() if isinstance(v, torch.Tensor) and v.is_floating_point()), None)
    for name, buf in model.named_buffers(remove_duplicate=False):
        if name not in state and buf is not None:
            cast = dtype if (dtype is not None and buf.is_floating_point()) else None
            out[name] = buf.to(device=device, dtype=cast)
    return out
