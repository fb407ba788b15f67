"""mlitheory: numerical checks of the theory of monotonic linear interpolation (MLI).

Along :math:`\\theta_\\alpha = (1-\\alpha)\\theta_0 + \\alpha\\theta_T` the training loss usually decreases
monotonically. This package checks the theorems about it with numbers and runs the matching experiments.

Curve geometry (:mod:`mlitheory.geometry`)
    gauss_length               -- Gauss length (total curvature) of a curve, adaptive quadrature, exact jvp derivatives
    gauss_length_from_samples  -- Gauss length of a curve known only at sample points (turning angles)

Monotonicity (:mod:`mlitheory.monotonicity`)
    min_delta    -- smallest Δ for which a loss curve is Δ-monotone
    bumps        -- every bump (start, peak, height, width) of a loss curve
    is_monotone  -- whether a loss curve is non-increasing up to a tolerance

Theorem checks
    python -m mlitheory verify  -- every theorem family, one table
"""

__version__ = "0.1.0"
