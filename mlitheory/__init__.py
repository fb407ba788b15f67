"""mlitheory: numerical checks of the theory of monotonic linear interpolation (MLI).

Along :math:`\\theta_\\alpha = (1-\\alpha)\\theta_0 + \\alpha\\theta_T` the training loss usually decreases
monotonically. This package checks the theorems about it with numbers and runs the matching experiments.

Curve geometry (:mod:`mlitheory.geometry`)
    gauss_length                   -- Gauss length (total curvature) on the sphere, adaptive quadrature, jvp derivatives
    gauss_length_from_derivatives  -- the same quadrature fed with z′, z″ at many α (vectorised / Taylor mode)
    gauss_length_from_samples      -- Gauss length of a curve known only at samples (turning angles)
    tail_gauss_length              -- G_α, the Gauss length of the curve restricted to [α, b]
    arc_length                     -- arc length by adaptive quadrature
    gauss_integrand                -- ‖T′‖ from z′ and z″
    curve_derivatives              -- (z, z′, z″) at one α by nested jvp
    cone_condition                 -- ⟨z′(α), z′(s)⟩ ≥ 0 for all α < s, on a grid

Monotonicity (:mod:`mlitheory.monotonicity`)
    min_delta    -- smallest Δ for which a loss curve is Δ-monotone, max_{i<j} (L_j − L_i)₊
    bumps        -- every bump (start, peak, end, height, width) of a loss curve
    is_monotone  -- whether a loss curve is non-increasing up to a tolerance

Results (:mod:`mlitheory._results`)
    Result       -- base of every result dataclass: save/load (.npz + .json), summary

Theorem checks
    python -m mlitheory verify  -- every theorem family, one table (exit status 1 on a counterexample)
"""

from mlitheory._results import Result
from mlitheory.geometry import (
    arc_length,
    cone_condition,
    curve_derivatives,
    gauss_integrand,
    gauss_length,
    gauss_length_from_derivatives,
    gauss_length_from_samples,
    tail_gauss_length,
)
from mlitheory.monotonicity import bumps, is_monotone, min_delta

__version__ = "0.1.0"

__all__ = [
    "Result",
    "arc_length",
    "bumps",
    "cone_condition",
    "curve_derivatives",
    "gauss_integrand",
    "gauss_length",
    "gauss_length_from_derivatives",
    "gauss_length_from_samples",
    "is_monotone",
    "min_delta",
    "tail_gauss_length",
]
