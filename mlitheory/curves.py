r"""Curve families α ↦ z(α) ∈ ℝⁿ for checking theorems about curves: Bézier and polynomial curves ending at a
chosen point, circular arcs, and the reversal.

Every constructor returns a plain callable on 0-dim float64 tensors, built from torch operations only, so that
`torch.func.jvp` (nested, for z″) and `torch.func.vmap` apply. Randomness is explicit: ``seed`` is an
int or a `numpy.random.Generator`.

References:
    Lucas et al., *Analyzing Monotonic Linear Interpolation in Neural Network Loss Landscapes*, ICML 2021, §3 (the
    reversal is the project's counterexample for the projective Gauss length; see ``docs/theorem3.md``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from mlitheory import _validate

__all__ = ["bezier_curve", "circular_arc", "random_bezier_curve", "random_polynomial_curve", "reversal_curve"]

Curve = Callable[[torch.Tensor], torch.Tensor]

_F64 = torch.float64


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None:
        _validate.integer(seed, "seed", minimum=0)
    return np.random.default_rng(seed)


def _plane(dim: int, seed: int | np.random.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Two orthonormal vectors of ℝ^dim: the first two axes, or a random pair when ``seed`` is given."""
    if _validate.integer(dim, "dim") < 2:
        raise ValueError(f"dim must be at least 2 for a planar curve, got {dim}")
    if seed is None:
        e = torch.eye(dim, dtype=_F64)
        return e[0], e[1]
    q, _ = np.linalg.qr(_rng(seed).standard_normal((dim, 2)))
    return torch.tensor(q[:, 0]), torch.tensor(q[:, 1])


def _powers(x: torch.Tensor, degree: int) -> list[torch.Tensor]:
    """[1, x, x², …, x^degree] by repeated products (cheaper than ``pow`` under nested jvp and vmap)."""
    out = [torch.ones_like(x)]
    for _ in range(degree):
        out.append(out[-1] * x)
    return out


def bezier_curve(control_points: torch.Tensor | np.ndarray) -> Curve:
    r"""The Bézier curve $z(\alpha)=\sum_{k=0}^d\binom dk\alpha^k(1-\alpha)^{d-k}P_k$; it ends at $P_d$.

    Args:
        control_points: ``(d + 1, n)`` control points, ``d >= 1``.

    Returns:
        A curve ``z(alpha) -> (n,)`` in float64 with ``z(0) = P_0`` and ``z(1) = P_d = z*``.
    """
    p = torch.as_tensor(np.asarray(control_points, dtype=np.float64))
    if p.ndim != 2 or p.shape[0] < 2 or p.shape[1] < 1:
        raise ValueError(f"control_points must have shape (d + 1, n) with d >= 1, n >= 1; got {tuple(p.shape)}")
    if not torch.isfinite(p).all():
        raise ValueError("control_points hold NaN or inf")
    d = p.shape[0] - 1
    binom = torch.tensor([math.comb(d, k) for k in range(d + 1)], dtype=_F64)

    def z(alpha: torch.Tensor) -> torch.Tensor:
        a, b = _powers(alpha, d), _powers(1 - alpha, d)
        basis = torch.stack([a[k] * b[d - k] for k in range(d + 1)]) * binom
        return basis @ p

    return z


def random_bezier_curve(
    dim: int, *, degree: int = 5, bend: float = 0.3, seed: int | np.random.Generator | None = 0
) -> Curve:
    """A random Bézier curve from ``z* − u`` to ``z*`` (``‖u‖ = 1``) whose inner control points leave the chord.

    Args:
        dim: dimension ``n >= 2``.
        degree: Bézier degree ``d >= 2``.
        bend: size of the random displacement of the inner control points off the chord (``0`` gives a segment);
            about ``0.3`` gives Gauss lengths on both sides of π/2.
        seed: seed or ``numpy.random.Generator``.

    Returns:
        A curve ``(n,)``-valued, ending at a random ``z*``.
    """
    _validate.integer(dim, "dim"), _validate.integer(degree, "degree"), _validate.real(bend, "bend")
    if dim < 2 or degree < 2 or not bend >= 0:
        raise ValueError(f"need dim >= 2, degree >= 2, bend >= 0; got dim={dim}, degree={degree}, bend={bend}")
    g = _rng(seed)
    z_star = g.standard_normal(dim)
    u = g.standard_normal(dim)
    u /= np.linalg.norm(u)
    frac = np.arange(degree + 1)[:, None] / degree
    pts = z_star - u + frac * u
    pts[1:-1] += bend * g.standard_normal((degree - 1, dim)) / math.sqrt(dim)
    return bezier_curve(pts)


def random_polynomial_curve(
    dim: int, *, degree: int = 4, scale: float = 0.3, seed: int | np.random.Generator | None = 0
) -> Curve:
    r"""A random polynomial curve $z(\alpha)=z^*-(1-\alpha)u+\sum_{k=2}^{d}c_k(1-\alpha)^k$ ending at ``z*``.

    Args:
        dim: dimension ``n >= 2``.
        degree: polynomial degree ``d >= 2``.
        scale: size of the higher coefficients ``c_k`` (``‖u‖ = 1``; ``‖c_k‖ ≈ scale``).
        seed: seed or ``numpy.random.Generator``.
    """
    _validate.integer(dim, "dim"), _validate.integer(degree, "degree"), _validate.real(scale, "scale")
    if dim < 2 or degree < 2 or not scale >= 0:
        raise ValueError(f"need dim >= 2, degree >= 2, scale >= 0; got dim={dim}, degree={degree}, scale={scale}")
    g = _rng(seed)
    z_star = torch.tensor(g.standard_normal(dim))
    u = g.standard_normal(dim)
    coef = np.concatenate([[-u / np.linalg.norm(u)], scale * g.standard_normal((degree - 1, dim)) / math.sqrt(dim)])
    c = torch.tensor(coef)

    def z(alpha: torch.Tensor) -> torch.Tensor:
        return z_star + torch.stack(_powers(1 - alpha, degree)[1:]) @ c

    return z


def circular_arc(
    angle: float, *, radius: float = 1.0, dim: int = 2, seed: int | np.random.Generator | None = None
) -> Curve:
    r"""A circular arc of the given angle: $z(\alpha)=R\,(\sin(\varphi\alpha)\,e_1+(1-\cos(\varphi\alpha))\,e_2)$.

    Its Gauss length is ``angle`` and ``‖z* − z(α)‖ = 2R sin(φ(1 − α)/2)``, so it is monotone exactly when
    ``angle <= π``.

    Args:
        angle: the angle φ > 0 turned (radians).
        radius: R > 0.
        dim: ambient dimension ``>= 2``.
        seed: if given, the plane of the arc is a random one (else the first two axes).
    """
    if not (angle > 0 and radius > 0 and math.isfinite(angle) and math.isfinite(radius)):
        raise ValueError(f"need a finite angle > 0 and radius > 0, got angle={angle}, radius={radius}")
    e1, e2 = _plane(dim, seed)

    def z(alpha: torch.Tensor) -> torch.Tensor:
        t = angle * alpha
        return radius * (torch.sin(t) * e1 + (1 - torch.cos(t)) * e2)

    return z


def reversal_curve(v: torch.Tensor | np.ndarray | None = None, *, dim: int = 2) -> Curve:
    r"""The reversal $z(\alpha)=(1-\alpha)(1-3\alpha)\,v$ with $z^*=0$.

    The curve passes through $z^*$ at $\alpha=1/3$, stops and reverses at $\alpha=2/3$, and
    returns. Projective Gauss length 0, spherical $\pi$; $L$ is not monotone.

    Args:
        v: the direction, shape ``(n,)``, nonzero; default $e_1$ in ℝ^dim.
        dim: dimension when ``v`` is not given.
    """
    vec = torch.eye(dim, dtype=_F64)[0] if v is None else torch.as_tensor(np.asarray(v, dtype=np.float64))
    if vec.ndim != 1 or not bool(torch.linalg.vector_norm(vec) > 0):
        raise ValueError(f"v must be a nonzero vector of shape (n,), got shape {tuple(vec.shape)}")

    def z(alpha: torch.Tensor) -> torch.Tensor:
        return ((1 - alpha) * (1 - 3 * alpha)) * vec

    return z
