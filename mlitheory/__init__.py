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

Last-layer-bias plateau (:mod:`mlitheory.bias_plateau`; demo: ``python -m mlitheory.bias_plateau``)
    plateau_constants           -- δ, G, Δ_max, m, α_lo = (δ/G)^{1/(r−1)}, α_hi of Proposition 1 from g_T, b_T, y, r
    check_proposition1          -- error plateau below α_lo, zero error above α_hi, no plateau with equal biases
    check_proposition2          -- loss ≥ log k − α^r M̄ − α(mean b_y − mean b), and the loss-plateau length
    loss_lower_bound            -- Proposition 2's bound on a grid
    loss_expansion              -- Taylor coefficients of the loss curve at α = 0 (cumulants of the logits)
    exact_error_plateau_length  -- exact ℓ_err(η) of f = α^r g_T + α b_T from per-point correct intervals
    plateau_end                 -- largest α with the curve ≥ threshold on every grid point of (0, α]
    plateau_length              -- grid ℓ(η): the curve stays within η of γ(0⁺)
    toy_model                   -- diagonal toy model (logits w_c^r x_c + b), init ε u
    train_toy                   -- GD / momentum / Adam / gradient flow with learning times and bias drift
    toy_interpolation           -- closed-form loss and error curves, linear or homogeneous bias scheme
    check_toy_learning          -- learning order, bias order, first time vs t*, mean-bias conservation
    escape_times                -- t*_c = k (ε u_c)^{−(r−2)} / (r (r−2)(1−1/k))
    check_output_bias_decomposition -- identity (1): f(x; αθ_T) = α^L g_T + α b_T (zero hidden biases)
    check_deep_linear_identity  -- identity (2) for deep linear nets with biases in every layer
    check_homogeneous_scaling   -- identity (3): f(x; {cW_ℓ, c^ℓ b_ℓ}) = c^L f(x; θ)
    run_mlp_case                -- train a deep ReLU MLP (small init) and its curves under the bias schemes

Results (:mod:`mlitheory._results`)
    Result       -- base of every result dataclass: save/load (.npz + .json), summary

Theorem checks
    python -m mlitheory verify  -- every theorem family, one table (exit status 1 on a counterexample)
"""

from mlitheory._results import Result
from mlitheory.bias_plateau import (
    check_deep_linear_identity,
    check_homogeneous_scaling,
    check_output_bias_decomposition,
    check_proposition1,
    check_proposition2,
    check_toy_learning,
    escape_times,
    exact_error_plateau_length,
    loss_expansion,
    loss_lower_bound,
    plateau_constants,
    plateau_end,
    plateau_length,
    run_mlp_case,
    toy_interpolation,
    toy_model,
    train_toy,
)
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
    "check_deep_linear_identity",
    "check_homogeneous_scaling",
    "check_output_bias_decomposition",
    "check_proposition1",
    "check_proposition2",
    "check_theorem3",
    "check_toy_learning",
    "circular_arc",
    "cone_condition",
    "curve_derivatives",
    "escape_times",
    "exact_error_plateau_length",
    "gauss_integrand",
    "gauss_length",
    "gauss_length_from_derivatives",
    "gauss_length_from_samples",
    "is_monotone",
    "loss_expansion",
    "loss_lower_bound",
    "loss_slope",
    "min_delta",
    "plateau_constants",
    "plateau_end",
    "plateau_length",
    "projective_gauss_length",
    "random_bezier_curve",
    "random_polynomial_curve",
    "reversal_curve",
    "run_mlp_case",
    "smoothed_turn",
    "tail_gauss_length",
    "toy_interpolation",
    "toy_model",
    "train_toy",
]
