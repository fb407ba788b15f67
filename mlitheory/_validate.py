"""Argument checks at the API boundary, in one place: each error names the argument and says how to fix it.

The public functions call these before any work, so that bad input gives our error (``TypeError`` for a wrong
kind of value, ``ValueError`` for a value out of range) instead of a failure deep inside torch, and never a
silent NaN or verdict. The ``argparse`` types and checks of the command lines are in
`mlitheory.cli_args`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "IGNORE_INDEX",
    "boolean",
    "check_device",
    "finite_array",
    "float_dtype",
    "function",
    "integer",
    "module",
    "real",
    "state_entries",
]

#: the target label that marks an example to leave out (PyTorch's default ``ignore_index``)
IGNORE_INDEX = -100


def _kind(value: Any) -> str:
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    return type(value).__name__


def module(obj: Any, name: str = "model") -> nn.Module:
    """``obj`` if it is an ``nn.Module``; else ``TypeError`` saying how to wrap a function."""
    if not isinstance(obj, nn.Module):
        hint = (
            "; wrap a plain function in an nn.Module (a class whose forward calls it) so that its parameters "
            "can be supplied functionally"
            if callable(obj)
            else ""
        )
        raise TypeError(f"{name} must be a torch.nn.Module, got {_kind(obj)}{hint}")
    return obj


def function(obj: Any, name: str, signature: str = "fn(logits, targets)") -> Callable:
    """``obj`` if it is callable; else ``TypeError`` naming the expected signature."""
    if not callable(obj):
        raise TypeError(f"{name} must be a callable {signature}, got {_kind(obj)}")
    return obj


def boolean(value: Any, name: str) -> bool:
    """``value`` as a bool; only ``True``/``False`` (and NumPy bools) are accepted."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def real(
    value: Any,
    name: str,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    finite: bool = True,
    low: float | None = None,
    high: float | None = None,
) -> float:
    """``value`` as a float after checking it is a real scalar, finite, and in range.

    Raises:
        TypeError: not a real number (an array, a string, a bool, a complex number).
        ValueError: NaN, infinite (when ``finite``), not > 0 / >= 0, or outside ``[low, high]``.
    """
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_kind(value)}")
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{name} must be a number, got NaN")
    if finite and math.isinf(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if positive and not v > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if nonnegative and not v >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    if low is not None and v < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")
    return v


def integer(value: Any, name: str, *, minimum: int | None = None) -> int:
    """``value`` as an int (Python or NumPy integer, not a bool or a float), at least ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_kind(value)}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def finite_array(values: Any, name: str, *, ndim: int | None = None) -> np.ndarray:
    """``values`` as a float64 NumPy array, real and finite (of ``ndim`` dimensions when given)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        arr = np.asarray(values)
        if arr.dtype.kind == "c":
            raise TypeError(f"{name} must be real, got complex values")
        arr = arr.astype(np.float64)
    except ValueError as e:
        raise TypeError(f"{name} must be an array of real numbers ({e})") from e
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds {int((~np.isfinite(arr)).sum())} NaN or infinite value(s); pass finite values")
    return arr


def float_dtype(dtype: Any, name: str = "dtype") -> torch.dtype | None:
    """``None`` or a floating torch dtype (``torch.float32``, ``torch.float64``, ...)."""
    if dtype is None:
        return None
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"{name} must be a torch dtype such as torch.float64 (or None), got {dtype!r}")
    if not dtype.is_floating_point:
        raise TypeError(f"{name} must be a floating-point torch dtype (torch.float32, torch.float64), got {dtype}")
    return dtype


def check_device(device: Any, name: str = "device") -> torch.device | None:
    """``None`` or a ``torch.device`` that exists here (a CUDA or MPS device is checked to be available)."""
    if device is None:
        return None
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"{name} must be a string such as 'cpu' or 'cuda', or a torch.device, got {_kind(device)}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as e:
        raise ValueError(f"{name}={device!r} is not a torch device ({e}); use 'cpu', 'cuda', 'cuda:1' or 'mps'") from e
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name}={device!r}: CUDA is not available on this machine (use 'cpu')")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"{name}={device!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"{name}={device!r}: MPS is not available on this machine (use 'cpu')")
    elif dev.type == "meta":
        raise ValueError(f"{name}={device!r}: meta tensors hold no data; compute on 'cpu' or 'cuda'")
    return dev


def state_entries(state: Mapping[str, torch.Tensor], name: str, *, finite: bool = True) -> None:
    """Every tensor of ``state`` holds data (not a meta tensor) and, when ``finite``, every float is finite.

    Raises:
        ValueError: a meta tensor, or NaN/inf entries (the error names the key and the count).
    """
    for k, v in state.items():
        if v.device.type == "meta":
            raise ValueError(
                f"{name}[{k!r}] is a meta tensor (shape only, no data), e.g. from a model built on the 'meta' "
                "device; materialise it first (model.to_empty(device='cpu') and load_state_dict)"
            )
        if finite and (v.is_floating_point() or v.is_complex()):
            bad = int((~torch.isfinite(v)).sum())
            if bad:
                raise ValueError(
                    f"{name}[{k!r}] has {bad} non-finite value(s) (NaN or inf) of {v.numel()}; the state is "
                    "diverged or corrupt, and every result computed from it would be NaN"
                )
