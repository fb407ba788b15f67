r"""Monotonicity of a loss curve along a path: $\min\Delta$, bumps, and the MLI test.

A curve $\ell(\alpha_0), \dots, \ell(\alpha_{m-1})$ (sampled along the path, in path order) is
*Δ-monotone* when no later value exceeds an earlier one by more than Δ. The smallest such Δ is

$$
\min\Delta = \max_{i<j} \big[\ell(\alpha_j) - \ell(\alpha_i)\big]_+
           = \max_j \big[\ell(\alpha_j) - \min_{i<j}\ell(\alpha_i)\big]_+ ,
$$

and MLI holds on the grid exactly when $\min\Delta = 0$ (Lucas et al. 2021, §4). Every index pair is
compared, including a rise at the final step.

Every rise above the running minimum is a *bump*: it starts at the running minimum, peaks, and ends where the
curve comes back down to its starting level (or at the end of the path). $\min\Delta$ is the largest
bump height.

References:
    Lucas et al., *Analyzing Monotonic Linear Interpolation in Neural Network Loss Landscapes*, ICML 2021.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mlitheory import _validate
from mlitheory.results import Result

__all__ = ["Bump", "bumps", "is_monotone", "min_delta"]

ArrayLike = np.ndarray | torch.Tensor | Sequence[float]


def _as_array(values: ArrayLike, name: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu()
        if values.is_complex():
            raise TypeError(f"{name} must be real numbers, got a complex tensor")
        values = values.to(torch.float64).numpy()
    if isinstance(values, (str, bytes, dict, set)) or values is None:
        raise TypeError(f"{name} must be a 1-D sequence of numbers, got {type(values).__name__}")
    try:
        arr = np.asarray(values)
        complex_values = arr.dtype.kind == "c"
        if not complex_values:
            arr = arr.astype(np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a 1-D sequence of numbers ({e})") from e
    if complex_values:
        raise TypeError(f"{name} must be real numbers, got complex values")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one value per alpha), got shape {arr.shape}")
    return arr


def _tol(tol: object) -> float:
    if isinstance(tol, (np.ndarray, torch.Tensor, list, tuple)) and np.ndim(tol) > 0:
        raise TypeError(
            f"tol must be a number, got an array of shape {np.shape(tol)}; is_monotone's second argument is the "
            "tolerance: pass the alphas by keyword, is_monotone(losses, alphas=alphas)"
        )
    return _validate.real(tol, "tol", nonnegative=True)


def _prepare(losses: ArrayLike, alphas: ArrayLike | None, nonfinite: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate; return (losses, alphas, original indices) with non-finite entries removed if asked."""
    if nonfinite not in ("raise", "omit"):
        raise ValueError(f"nonfinite must be 'raise' or 'omit', got {nonfinite!r}")
    ell = _as_array(losses, "losses")
    if ell.size == 0:
        raise ValueError("losses is empty: a curve needs at least one value (one point is monotone, min_delta 0)")
    if alphas is None:
        al = np.arange(len(ell), dtype=np.float64)
    else:
        al = _as_array(alphas, "alphas")
        if al.shape != ell.shape:
            raise ValueError(f"alphas and losses must have the same length, got {len(al)} and {len(ell)}")
        if not np.isfinite(al).all():
            i = int(np.nonzero(~np.isfinite(al))[0][0])
            raise ValueError(f"alphas[{i}] = {al[i]} is not finite")
        bad = np.nonzero(np.diff(al) <= 0)[0]
        if len(bad):
            i = int(bad[0])
            raise ValueError(
                f"alphas must be strictly increasing (path order): alphas[{i}]={al[i]!r} >= "
                f"alphas[{i + 1}]={al[i + 1]!r}; sort alphas and losses together"
            )
    idx = np.arange(len(ell))
    finite = np.isfinite(ell)
    if not finite.all():
        i = int(np.nonzero(~finite)[0][0])
        if nonfinite == "raise":
            raise ValueError(
                f"losses[{i}] = {ell[i]} (alpha={al[i]:.6g}) is not finite; the loss diverged there. "
                "Pass nonfinite='omit' to measure the finite part only."
            )
        ell, al, idx = ell[finite], al[finite], idx[finite]
        if ell.size == 0:
            raise ValueError("losses has no finite value: nothing is left to measure with nonfinite='omit'")
    return ell, al, idx


def min_delta(
    losses: ArrayLike, alphas: ArrayLike | None = None, *, tol: float = 0.0, nonfinite: str = "raise"
) -> float:
    r"""The smallest Δ for which the curve is Δ-monotone: $\max_{i<j}(\ell_j - \ell_i)_+$.

    Args:
        losses: loss values in path order, shape ``(m,)``, ``m >= 1`` (one point: 0).
        alphas: their positions, strictly increasing (only checked; the order is what matters). Any real
            values (points outside [0, 1] included);
            [`InterpolationCurve.min_delta`][mlitheory.interpolation.InterpolationCurve.min_delta] is the one that
            restricts to [0, 1].
        tol: noise floor ``>= 0``: a largest rise ``<= tol`` is reported as 0.
        nonfinite: ``"raise"`` (default) raises on NaN/inf naming the index; ``"omit"`` drops those points.

    Returns:
        ``min Δ >= 0`` (a float).

    Raises:
        ValueError: empty ``losses`` (or no finite value left with ``"omit"``), a NaN/inf loss (``"raise"``),
            non-increasing or non-finite ``alphas``, a negative or NaN ``tol``.
        TypeError: values that are not real numbers.

    Examples:
        >>> min_delta([3.0, 2.0, 2.5, 1.0, 1.2])
        0.5
    """
    tol = _tol(tol)
    ell, _, _ = _prepare(losses, alphas, nonfinite)
    if len(ell) < 2:
        return 0.0
    running_min = np.minimum.accumulate(ell)
    rise = float(np.max(ell[1:] - running_min[:-1]))
    rise = max(rise, 0.0)
    return 0.0 if rise <= tol else rise


def is_monotone(losses: ArrayLike, tol: float = 0.0, *, alphas: ArrayLike | None = None) -> bool:
    """Whether the curve is non-increasing up to ``tol``: ``min_delta(losses) <= tol`` (a bool).

    ``tol`` is a number ``>= 0`` (an array there is an error: pass the alphas as ``alphas=``); the other
    arguments and errors are those of [`min_delta`][mlitheory.monotonicity.min_delta].
    """
    tol = _tol(tol)
    return bool(min_delta(losses, alphas) <= tol)


@dataclass(frozen=True)
class Bump(Result):
    """One rise of the loss above its running minimum.

    Attributes:
        start: index where the bump starts (the running minimum before the rise).
        peak: index of its highest value.
        end: index where the curve first comes back to ``≤`` its starting value, or the last index.
        height: ``loss[peak] − loss[start]``.
        width: ``alpha[end] − alpha[start]`` (in index units when no alphas are given).
        returns: whether the curve comes back down to the starting level (False: it ends higher).
        start_alpha: α at the start. peak_alpha: α at the peak.
    """

    start: int
    peak: int
    end: int
    height: float
    width: float
    returns: bool
    start_alpha: float
    peak_alpha: float


def bumps(
    losses: ArrayLike, alphas: ArrayLike | None = None, *, tol: float = 0.0, nonfinite: str = "raise"
) -> list[Bump]:
    """Every bump of the curve: each excursion above the running minimum higher than ``tol``.

    The largest height equals [`min_delta`][mlitheory.monotonicity.min_delta]. Indices refer to the input arrays (also
    when non-finite points are omitted).

    Examples:
        >>> [(b.start, b.peak, b.end, b.height) for b in bumps([3.0, 2.0, 2.5, 1.0, 1.2])]
        [(1, 2, 3, 0.5), (3, 4, 4, 0.19999999999999996)]
    """
    tol = _tol(tol)
    ell, al, idx = _prepare(losses, alphas, nonfinite)
    out: list[Bump] = []
    m = len(ell)
    j = 0
    while j < m - 1:
        if ell[j + 1] > ell[j]:  # a rise starting at j, which is the running minimum of its excursion
            s = j
            k = j + 1
            while k < m and ell[k] > ell[s]:
                k += 1
            end = min(k, m - 1)
            seg = ell[s : end + 1]
            p = s + int(np.argmax(seg))
            height = float(ell[p] - ell[s])
            if height > tol:
                out.append(
                    Bump(
                        start=int(idx[s]),
                        peak=int(idx[p]),
                        end=int(idx[end]),
                        height=height,
                        width=float(al[end] - al[s]),
                        returns=k < m,
                        start_alpha=float(al[s]),
                        peak_alpha=float(al[p]),
                    )
                )
            j = end if k < m else m
        else:
            j += 1
    return out
