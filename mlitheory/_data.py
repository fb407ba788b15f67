"""Data handling shared by the path tools: batches, devices, calling a model on an input.

A *batch* is ``(x, y)``: ``x`` is what the model takes (a tensor; a tuple or list is unpacked as positional
arguments; a dict as keyword arguments) and ``y`` the targets (a tensor whose first dimension is the batch size).
``data`` is one batch or any iterable of batches (a ``DataLoader``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch

Batch = tuple[Any, torch.Tensor]


def is_single_batch(data: Any, lists: bool = True) -> bool:
    """``(x, y)`` with ``y`` a tensor: one batch (rather than an iterable of batches).

    With ``lists=False`` only a tuple counts: for model inputs, ``[x1, x2]`` is two batches of inputs (as for
    `torch.optim.swa_utils.update_bn`), not one batch ``(x, y)``.
    """
    kinds = (tuple, list) if lists else tuple
    return isinstance(data, kinds) and len(data) == 2 and isinstance(data[1], torch.Tensor)


def reiterable(data: Any, name: str, *, lists: bool = True) -> Iterable:
    """``data`` as something that can be iterated more than once (a one-shot iterator is stored in a list)."""
    if isinstance(data, torch.Tensor) or is_single_batch(data, lists):
        return [data]
    if not isinstance(data, Iterable):
        raise TypeError(
            f"{name} must be a batch (x, y) or an iterable of batches (e.g. a DataLoader), got {type(data)}"
        )
    if iter(data) is data:  # a generator or iterator: it can be consumed only once
        return list(data)
    return data


def batches(data: Any, name: str = "data") -> Iterator[Batch]:
    """Iterate ``(x, y)`` batches of ``data``; raise a clear error on a malformed batch or an empty iterable."""
    if is_single_batch(data):
        yield data[0], data[1]
        return
    if isinstance(data, torch.Tensor) or not isinstance(data, Iterable):
        raise TypeError(
            f"{name} must be a batch (x, y) of tensors or an iterable of such batches (e.g. a DataLoader), "
            f"got {type(data).__name__}"
        )
    count = 0
    for i, b in enumerate(data):
        if not (isinstance(b, (tuple, list)) and len(b) >= 2 and isinstance(b[1], torch.Tensor)):
            raise TypeError(f"batch {i} of {name} must be (x, y) with y a tensor of targets, got {type(b).__name__}")
        count += 1
        yield b[0], b[1]
    if count == 0:
        raise ValueError(f"{name} yielded no batches; pass at least one batch (x, y)")


def inputs(data: Any, name: str = "bn_data") -> Iterator[Any]:
    """Iterate model inputs ``x`` of ``data``: a tensor of inputs, a tuple ``(x, y)`` or an iterable of tensors or
    batches (like `torch.optim.swa_utils.update_bn`; a list is always an iterable). Raises if empty."""
    if isinstance(data, torch.Tensor):
        yield data
        return
    if is_single_batch(data, lists=False):
        yield data[0]
        return
    if not isinstance(data, Iterable):
        raise TypeError(f"{name} must be a tensor of inputs, a batch or an iterable of batches, got {type(data)}")
    count = 0
    for b in data:
        count += 1
        yield b[0] if isinstance(b, (tuple, list)) else b
    if count == 0:
        raise ValueError(f"{name} yielded no batches")


def move(obj: Any, device: torch.device | None, dtype: torch.dtype | None = None) -> Any:
    """Move tensors (also inside tuples, lists, dicts) to ``device``; floating tensors cast to ``dtype``."""
    if isinstance(obj, torch.Tensor):
        cast = dtype if (dtype is not None and obj.is_floating_point()) else None
        if (device is None or obj.device == device) and cast is None:
            return obj
        return obj.to(device=device, dtype=cast)
    if isinstance(obj, (tuple, list)):
        return type(obj)(move(o, device, dtype) for o in obj)
    if isinstance(obj, dict):
        return {k: move(v, device, dtype) for k, v in obj.items()}
    return obj


def check_dtype(x: Any, ref: torch.dtype | None, where: str) -> None:
    """The floating tensors of a model input ``x`` have the dtype ``ref`` of the states (``None``: any)."""
    if ref is None:
        return
    parts = [x] if isinstance(x, torch.Tensor) else list(x.values()) if isinstance(x, dict) else list(x)
    for t in parts:
        if isinstance(t, torch.Tensor) and t.is_floating_point() and t.dtype != ref:
            raise TypeError(
                f"{where}: the inputs are {t.dtype} but the states are {ref}; pass dtype={ref} (inputs and states "
                "are cast to it) or convert the inputs"
            )


def call(fn: Callable, x: Any) -> Any:
    """``fn(x)``; a tuple or list ``x`` is unpacked as positional arguments, a dict as keyword arguments."""
    if isinstance(x, (tuple, list)):
        return fn(*x)
    if isinstance(x, dict):
        return fn(**x)
    return fn(x)


def args_kwargs(x: Any) -> tuple[tuple, dict]:
    """``(args, kwargs)`` for `torch.func.functional_call` from a model input ``x``."""
    if isinstance(x, (tuple, list)):
        return tuple(x), {}
    if isinstance(x, dict):
        return (), dict(x)
    return (x,), {}


def length(data: Any) -> int | None:
    """Number of batches when known without iterating (``len``), else ``None``."""
    if is_single_batch(data) or isinstance(data, torch.Tensor):
        return 1
    try:
        return len(data)
    except TypeError:
        return None
