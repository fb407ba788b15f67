"""mlitheory: numerical checks of the theory of monotonic linear interpolation (MLI).

Along :math:`\\theta_\\alpha = (1-\\alpha)\\theta_0 + \\alpha\\theta_T` the training loss usually decreases
monotonically. This package checks the theorems about it with numbers and runs the matching experiments.

Curve geometry (:mod:`mlitheory.geometry`)
    gauss_length                   -- Gauss length (total curvature) on the sphere, adaptive quadrature, jvp derivatives
    gauss_length_from_derivatives  -- the same quadrature fed with z′, z″ at many α (vectorised / Taylor mode)
    gauss_length_from_samples      -- Gauss length of a curve known only at samples (:mod:`mlitheory.sampled`)
    tail_gauss_length              -- G_α, the Gauss length of the curve restricted to [α, b]
    arc_length                     -- arc length by adaptive quadrature
    gauss_integrand                -- ‖T′‖ from z′ and z″
    curve_derivatives              -- (z, z′, z″) at one α by nested jvp
    cone_condition                 -- ⟨z′(α), z′(s)⟩ ≥ 0 for all α < s, on a grid

Monotonicity (:mod:`mlitheory.monotonicity`)
    min_delta    -- smallest Δ for which a loss curve is Δ-monotone, max_{i<j} (L_j − L_i)₊
    bumps        -- every bump (start, peak, end, height, width) of a loss curve
    is_monotone  -- whether a loss curve is non-increasing up to a tolerance

Theorem 3: Gauss length < π/2 ⇒ monotone squared distance (:mod:`mlitheory.theorem3`)
    check_theorem3           -- G vs π/2, strict decrease from the exact L′ on an adaptive grid, the bound's margin
    Theorem3Result           -- its result (hypothesis, monotone, margins, the grid)
    loss_slope               -- L, L′ = −2⟨z* − z, z′⟩ and L″ at many α, exact (jvp)
    projective_gauss_length  -- length of the tangent line in projective space (blind to reversals)
    smoothed_turn            -- tightness: turn by π/2 + δ after a leg ½ sin δ, G = π/2 + δ, not monotone

Curve families (:mod:`mlitheory.curves`)
    bezier_curve             -- the Bézier curve of given control points (ends at the last one, z*)
    random_bezier_curve      -- random Bézier curve ending at z*, in ℝⁿ
    random_polynomial_curve  -- random polynomial curve ending at z*, in ℝⁿ
    circular_arc             -- arc of any angle φ (G = φ; monotone iff φ ≤ π)
    reversal_curve           -- (1 − α)(1 − 3α)v: projective length 0, spherical π, not monotone

Results (:mod:`mlitheory._results`)
    Result       -- base of every result dataclass: save/load (.npz + .json), summary

Theorem checks
    python -m mlitheory verify  -- every theorem family, one table (exit status 1 on a counterexample)
"""

from mlitheory._results import Result
from mlitheory.curves import (
    bezier_curve,
    circular_arc,
    random_bezier_curve,
    random_polynomial_curve,
    reversal_curve,
)
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
from mlitheory.theorem3 import (
    Theorem3Result,
    check_theorem3,
    loss_slope,
    projective_gauss_length,
    smoothed_turn,
)

__version__ = "0.1.0"

__all__ = [
    "Result",
    "Theorem3Result",
    "arc_length",
    "bezier_curve",
    "bumps",
    "check_theorem3",
    "circular_arc",
    "cone_condition",
    "curve_derivatives",
    "gauss_integrand",
    "gauss_length",
    "gauss_length_from_derivatives",
    "gauss_length_from_samples",
    "is_monotone",
    "loss_slope",
    "min_delta",
    "projective_gauss_length",
    "random_bezier_curve",
    "random_polynomial_curve",
    "reversal_curve",
    "smoothed_turn",
    "tail_gauss_length",
]
