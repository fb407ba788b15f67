r"""Loss, error and plateau length of an interpolation curve (shared by the theory, the toy model and the demo).

The plateau length with tolerance $\eta$ of a curve $\gamma$ on $[0, 1]$ is

$$
\ell(\eta) = \sup\{\alpha \in [0, 1] : \gamma(\alpha') \ge \gamma_{ref} - \eta\ \ \forall \alpha' \in (0, \alpha]\},
$$

with $\gamma_{ref} = \gamma(0^+)$ for the error curve and $\gamma(0)$ for the loss curve (reference
``theory_bias_plateau.md`` §2). On a grid, [`plateau_end`][mlitheory.bias_plateau.measures.plateau_end] is the practical
version with a fixed threshold.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

__all__ = ["cross_entropy", "error_rate", "plateau_end", "plateau_length"]


def _as_alphas(alphas) -> np.ndarray:
    a = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if a.ndim != 1:
        raise ValueError(f"alphas must be a 1-d array, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError("alphas must be finite and >= 0")
    return a


def error_rate(logits, y) -> np.ndarray:
    """Fraction of points whose label does not have the strictly largest logit (ties count as errors).

    Args:
        logits: shape ``(..., n, k)``.
        y: labels, shape ``(n,)``.

    Returns:
        Error rates, shape ``(...)``.
    """
    z = np.asarray(logits, dtype=np.float64)
    yy = np.asarray(y, dtype=np.int64)
    zy = np.take_along_axis(z, np.broadcast_to(yy[:, None], (*z.shape[:-1], 1)), axis=-1)
    others = np.where(np.arange(z.shape[-1]) == yy[:, None], -np.inf, z)
    correct = zy[..., 0] > others.max(axis=-1)
    return 1.0 - correct.mean(axis=-1)


def cross_entropy(logits, y) -> np.ndarray:
    """Mean cross-entropy $\\mathrm{LSE}(z) - z_y$ over points, shape ``(...)`` for logits ``(..., n, k)``."""
    z = np.asarray(logits, dtype=np.float64)
    yy = np.asarray(y, dtype=np.int64)
    zy = np.take_along_axis(z, np.broadcast_to(yy[:, None], (*z.shape[:-1], 1)), axis=-1)[..., 0]
    return (logsumexp(z, axis=-1) - zy).mean(axis=-1)


def plateau_end(alphas, values, *, threshold: float) -> float:
    r"""Largest grid $\alpha$ such that ``values >= threshold`` at every grid point in $(0, \alpha]$.

    This is the practical plateau end of the reference §7.2 (threshold 0.5 on the error for ``k = 4``).

    Args:
        alphas: increasing grid, shape ``(m,)``.
        values: curve on the grid, shape ``(m,)``.
        threshold: level the curve must stay at or above.

    Returns:
        The plateau end; ``0.0`` when the first positive grid point is already below the threshold.
    """
    a = _as_alphas(alphas)
    v = np.asarray(values, dtype=np.float64)
    if v.shape != a.shape:
        raise ValueError(f"values must have the shape of alphas {a.shape}, got {v.shape}")
    if np.any(np.diff(a) <= 0):
        raise ValueError("alphas must be strictly increasing")
    if not np.all(np.isfinite(v)):
        raise ValueError("values must be finite")
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float, np.floating))
        or not np.isfinite(threshold)
    ):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    pos = a > 0
    ap, vp = a[pos], v[pos]
    below = np.nonzero(vp < threshold)[0]
    if below.size == 0:
        return float(ap[-1]) if ap.size else 0.0
    first = int(below[0])
    return float(ap[first - 1]) if first > 0 else 0.0


def plateau_length(alphas, values, eta: float, *, reference: float | None = None) -> float:
    r"""Grid version of $\ell(\eta) = \sup\{\alpha : \gamma(\alpha') \ge \gamma_{ref} - \eta\ \forall
    \alpha' \in (0, \alpha]\}$ (reference §2).

    Args:
        alphas: increasing grid, shape ``(m,)``.
        values: the error or loss curve on the grid, shape ``(m,)``.
        eta: tolerance, ``>= 0``.
        reference: $\gamma_{ref}$; default the value at the smallest positive grid point ($\gamma(0^+)$,
            as for the error curve); pass ``values[0]`` for the loss curve ($\gamma(0)$).
    """
    if not eta >= 0:
        raise ValueError(f"eta must be >= 0, got {eta}")
    a = _as_alphas(alphas)
    v = np.asarray(values, dtype=np.float64)
    if reference is None:
        pos = np.nonzero(a > 0)[0]
        if pos.size == 0:
            raise ValueError("the grid has no positive alpha; pass reference=")
        reference = float(v[pos[0]])
    return plateau_end(a, v, threshold=float(reference) - float(eta))
