"""Gauss length of a curve known only at sample points: the total turning of the inscribed polygon."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from mlitheory._quadrature import unit_angle
from mlitheory.results import Result

__all__ = ["SampledGaussLength", "gauss_length_from_samples"]


@dataclass(frozen=True)
class SampledGaussLength(Result):
    """Gauss length of a curve known at samples: the total turning of the inscribed polygon.

    Attributes:
        value: sum of turning angles between consecutive chords (radians); float or ``(batch,)`` array. For a
            smooth curve this is a lower bound of the Gauss length that converges as the sampling is refined.
        error: ``|value − value on every other sample|``, a rough estimate of the sampling error.
        max_turn: the largest single turning angle (radians); float or ``(batch,)``.
        max_turn_at: α of the sample where the largest turn happens (float or ``(batch,)``).
        trustworthy: whether every turning angle is at most ``max_angle`` (finer sampling would change little);
            bool or ``(batch,)`` bool array.
        max_angle: the threshold used for ``trustworthy``.
        skipped_chords: number of zero-length chords (repeated points) skipped.
    """

    value: float | np.ndarray
    error: float | np.ndarray
    max_turn: float | np.ndarray
    max_turn_at: float | np.ndarray
    trustworthy: bool | np.ndarray
    max_angle: float
    skipped_chords: int


def _polygon_turning(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Turning angles of the polygon through z (m, batch, n) → (total (batch,), max (batch,), argmax, skipped)."""
    chords = np.diff(z, axis=0)  # (m-1, batch, n)
    norms = np.linalg.norm(chords, axis=-1)
    scale = np.linalg.norm(z, axis=-1).max(axis=0) + norms.max(axis=0)
    keep = norms > 1e-14 * np.where(scale > 0, scale, 1.0)
    _, batch, _ = chords.shape
    total = np.zeros(batch)
    biggest = np.zeros(batch)
    where = np.zeros(batch, dtype=int)
    skipped = int((~keep).sum())
    for j in range(batch):
        idx = np.nonzero(keep[:, j])[0]
        if len(idx) < 2:
            continue
        u = chords[idx, j] / norms[idx, j, None]
        a = unit_angle(u[1:], u[:-1])
        total[j] = a.sum()
        k = int(np.argmax(a))
        biggest[j] = a[k]
        where[j] = idx[k + 1]
    return total, biggest, where, skipped


def gauss_length_from_samples(
    alphas: np.ndarray | torch.Tensor | list, z: np.ndarray | torch.Tensor, *, max_angle: float = math.pi / 8
) -> SampledGaussLength:
    """Gauss length of a curve known only at sample points (e.g. logits saved at a few α).

    The sum of turning angles of the inscribed polygon converges to the total curvature from below (Milnor 1950)
    and counts a reversal as π even when it falls between samples, unlike a trapezoid rule on a
    finite-difference integrand. The result says when the sampling is too coarse to trust: a turning angle
    above ``max_angle`` means the curve turns a lot between consecutive samples.

    Args:
        alphas: strictly increasing sample positions, shape ``(m,)``, ``m >= 3``.
        z: the curve at those positions, shape ``(m, n)`` or ``(m, batch, n)``.
        max_angle: largest turning angle (radians) still called trustworthy.

    Returns:
        [`SampledGaussLength`][mlitheory.geometry.SampledGaussLength].
    """
    max_angle = (
        float(max_angle) if isinstance(max_angle, (int, float)) and not isinstance(max_angle, bool) else max_angle
    )
    if not isinstance(max_angle, float) or not 0.0 < max_angle <= math.pi:
        raise ValueError(f"max_angle must be an angle in (0, π] radians, got {max_angle!r}")
    al = np.asarray(alphas.detach().cpu() if isinstance(alphas, torch.Tensor) else alphas, dtype=np.float64)
    zz = np.asarray(z.detach().cpu() if isinstance(z, torch.Tensor) else z, dtype=np.float64)
    if al.ndim != 1 or al.shape[0] < 3:
        raise ValueError(f"alphas must be a 1-D array of at least 3 points, got shape {al.shape}")
    if zz.ndim not in (2, 3) or zz.shape[0] != al.shape[0]:
        raise ValueError(f"z must have shape (m, n) or (m, batch, n) with m={al.shape[0]}, got {zz.shape}")
    if not np.isfinite(al).all():
        raise ValueError(f"alphas[{int(np.nonzero(~np.isfinite(al))[0][0])}] is not finite")
    bad = np.nonzero(np.diff(al) <= 0)[0]
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"alphas must be strictly increasing: alphas[{i}]={al[i]!r} >= alphas[{i + 1}]={al[i + 1]!r}; sort them"
        )
    finite = np.isfinite(zz).reshape(zz.shape[0], -1).all(axis=1)
    if not finite.all():
        i = int(np.nonzero(~finite)[0][0])
        raise ValueError(f"z at index {i} (alpha={al[i]:.6g}) is not finite (NaN or inf)")
    batched = zz.ndim == 3
    z3 = zz if batched else zz[:, None, :]
    total, biggest, where, skipped = _polygon_turning(z3)
    coarse, _, _, _ = _polygon_turning(z3[::2] if len(z3) % 2 == 1 else np.concatenate([z3[::2], z3[-1:]]))
    err = np.abs(total - coarse)
    trust = biggest <= max_angle

    def out(x):
        return x if batched else x[0].item()

    return SampledGaussLength(
        value=out(total),
        error=out(err),
        max_turn=out(biggest),
        max_turn_at=out(al[where]),
        trustworthy=out(trust),
        max_angle=float(max_angle),
        skipped_chords=skipped,
    )
