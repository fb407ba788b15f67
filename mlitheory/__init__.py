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

Theorem 3: Gauss length < π/2 ⇒ monotone squared distance (sub-package :mod:`mlitheory.theorem3`)
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
Two-layer linear networks (sub-package :mod:`mlitheory.two_layer_linear`: ``dynamics``, ``check``)
    TwoLayerLinearProblem   -- a task reduced to Σyx = USVᵀ (whitened inputs)
    problem_from_data       -- problem from (X, Y); rejects non-whitened inputs unless whiten=True
    problem_from_sigma      -- problem from Σyx
    random_problem          -- random Σyx with given rank and singular-value range
    whiten_inputs           -- ZCA whitening X ↦ X Σxx^(−1/2)
    mode_closed_form        -- exact (a(t), b(t)) of one mode, balanced or not (conserved a² − b²)
    balanced_mode_strength  -- Saxe's sigmoid u(t) for a balanced mode
    decoupled_init          -- W1 = R diag(a) Vᵀ, W2 = U diag(b) Rᵀ
    gaussian_init           -- generic i.i.d. Gaussian weights (any hidden width, bottlenecks included)
    gradient_flow           -- solve_ivp (DOP853, rtol 1e-12) integration of the gradient flow
    check_two_layer_linear  -- (C1), no overshoot, (C2) G = ∠(c′(0), c′(1)) ≤ π/2 and MLI for a decoupled run
    check_interpolation     -- exact MLI (quartic loss) and G = ∠(W′(0), W′(1)) for any two weight pairs
    mode_path               -- c_i(α), quadratic in α
    condition_c1            -- margin of (C1): B_i between 2u_i(0) and 2u_i(T)
    velocity_angle          -- ∠(v0, v1), the Gauss length of a curve with affine velocity

Wide networks (sub-package :mod:`mlitheory.wide`: ``ntk``, ``lemma7``, ``networks``)
    NTKMLP             -- fully connected network in NTK parameterisation, any depth and widths
    empirical_ntk      -- Θ̂ = J Jᵀ on a batch
    linearized_outputs -- f(θ₀) + J₀(θ − θ₀) by one jvp
    gd_residuals       -- r_T = (I − ηΘ)^T r₀ in closed form (gradient_flow_residuals: e^{−Θt} r₀)
    train_gd           -- full-batch GD on ½‖f − y‖², η = 1/λ_max(Θ̂₀), stops and reports divergence
    check_lemma7a      -- Lemma 7a: monotone ⇔ ‖r_T‖² ≤ ⟨r₀, r_T⟩; the regimes where it must hold
    check_lemma7b      -- Lemma 7b: sup‖z′ − v‖ < (√2 − 1)‖v‖ ⇒ strictly decreasing
    width_scan         -- Theorem 8: Gauss length of the output path, MLI rate, weight distance per width; slope fit
    fit_power_law      -- slope of log G against log width with a confidence interval
    python -m mlitheory.wide  -- the full width scan, table and figure (alias: python -m mlitheory.ntk_width)

Interpolating models (:mod:`mlitheory.interpolation`, :mod:`mlitheory.paths`, :mod:`mlitheory.batchnorm`)
    interpolate              -- loss/accuracy/metrics of any nn.Module along θ_α, functional, exact endpoints
    evaluate_path            -- the same along any ParameterPath (layer-wise, homogeneous bias)
    InterpolationCurve       -- result: values, finite mask, min_delta, endpoint shift of the BN policy, plot
    linear_path              -- θ_α = (1 − α)θ_start + αθ_end
    layerwise_path           -- one layer/block moves, the rest fixed (Vlaar & Frankle 2022)
    homogeneous_bias_path    -- biases of layer ℓ scaled like α^ℓ (bias-plateau theory §3.4)
    layer_groups             -- group state keys by module or block
    validate_states          -- check two states (keys, shapes, dtypes, devices) with named errors
    recompute_statistics     -- batch-norm running statistics at a state, exactly as update_bn, functionally
    loss_plane               -- 2-D grid of losses on the plane through three states (Gram–Schmidt basis)
    plane_basis              -- orthonormal basis of that plane; project states onto it

Logit geometry and distances (:mod:`mlitheory.logit_geometry`, :mod:`mlitheory.taylor`, :mod:`mlitheory.distance`)
    logit_gauss_length       -- Gauss length of the logit path: mean per-example and concatenated
    TaylorForward            -- (z, z′, z″) of a network along a path by second-order forward mode
    weight_distance          -- ℓ2 distance over parameters, normalised by start or end, per-layer table

Interpolation studies (:mod:`mlitheory.studies`)
    checkpoint_barriers        -- max increase of loss/error from each checkpoint to the final state (Frankle 2020)
    unrelated_initializations  -- random inits → one optimum (Lucas et al. Fig. 6)
    pairwise_interpolations    -- init↔init, init→optimum, optimum↔optimum (Lucas et al. Fig. 8)
    layerwise_interpolation    -- one curve per layer or block (Vlaar & Frankle 2022)
    fresh_initializations      -- new random initial states of an architecture, seeded

Results (:mod:`mlitheory._results`)
    Result       -- base of every result dataclass: save/load (.npz + .json), summary

Theorem checks
    python -m mlitheory verify  -- every theorem family, one table (exit status 1 on a counterexample)
"""

from mlitheory._results import Result
from mlitheory.batchnorm import recompute_statistics
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
from mlitheory.distance import WeightDistance, weight_distance
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
from mlitheory.interpolation import InterpolationCurve, evaluate_path, interpolate
from mlitheory.logit_geometry import LogitGaussLength, logit_gauss_length
from mlitheory.monotonicity import bumps, is_monotone, min_delta
from mlitheory.paths import (
    ParameterPath,
    homogeneous_bias_path,
    layer_groups,
    layerwise_path,
    linear_path,
    validate_states,
)
from mlitheory.plane import PlaneBasis, PlaneSurface, loss_plane, plane_basis
from mlitheory.studies import (
    checkpoint_barriers,
    fresh_initializations,
    layerwise_interpolation,
    pairwise_interpolations,
    unrelated_initializations,
)
from mlitheory.taylor import TaylorForward
from mlitheory.theorem3 import (
    Theorem3Result,
    check_theorem3,
    loss_slope,
    projective_gauss_length,
    smoothed_turn,
)
from mlitheory.two_layer_linear import (
    check_interpolation,
    check_two_layer_linear,
    condition_c1,
    mode_path,
    velocity_angle,
)
from mlitheory.two_layer_linear.dynamics import (
    TwoLayerLinearProblem,
    balanced_mode_strength,
    decoupled_init,
    gaussian_init,
    gradient_flow,
    mode_closed_form,
    problem_from_data,
    problem_from_sigma,
    random_problem,
    whiten_inputs,
)
from mlitheory.wide.lemma7 import check_lemma7a, check_lemma7b
from mlitheory.wide.networks import fit_power_law, width_scan
from mlitheory.wide.ntk import (
    NTKMLP,
    empirical_ntk,
    gd_residuals,
    gradient_flow_residuals,
    linearized_outputs,
    train_gd,
)

__version__ = "0.1.0"

__all__ = [
    "NTKMLP",
    "InterpolationCurve",
    "LogitGaussLength",
    "ParameterPath",
    "PlaneBasis",
    "PlaneSurface",
    "Result",
    "TaylorForward",
    "Theorem3Result",
    "TwoLayerLinearProblem",
    "WeightDistance",
    "arc_length",
    "balanced_mode_strength",
    "bezier_curve",
    "bumps",
    "check_deep_linear_identity",
    "check_homogeneous_scaling",
    "check_interpolation",
    "check_lemma7a",
    "check_lemma7b",
    "check_output_bias_decomposition",
    "check_proposition1",
    "check_proposition2",
    "check_theorem3",
    "check_toy_learning",
    "check_two_layer_linear",
    "checkpoint_barriers",
    "circular_arc",
    "condition_c1",
    "cone_condition",
    "curve_derivatives",
    "decoupled_init",
    "empirical_ntk",
    "escape_times",
    "evaluate_path",
    "exact_error_plateau_length",
    "fit_power_law",
    "fresh_initializations",
    "gauss_integrand",
    "gauss_length",
    "gauss_length_from_derivatives",
    "gauss_length_from_samples",
    "gaussian_init",
    "gd_residuals",
    "gradient_flow",
    "gradient_flow_residuals",
    "homogeneous_bias_path",
    "interpolate",
    "is_monotone",
    "layer_groups",
    "layerwise_interpolation",
    "layerwise_path",
    "linear_path",
    "linearized_outputs",
    "logit_gauss_length",
    "loss_expansion",
    "loss_lower_bound",
    "loss_plane",
    "loss_slope",
    "min_delta",
    "mode_closed_form",
    "mode_path",
    "pairwise_interpolations",
    "plane_basis",
    "plateau_constants",
    "plateau_end",
    "plateau_length",
    "problem_from_data",
    "problem_from_sigma",
    "projective_gauss_length",
    "random_bezier_curve",
    "random_polynomial_curve",
    "random_problem",
    "recompute_statistics",
    "reversal_curve",
    "run_mlp_case",
    "smoothed_turn",
    "tail_gauss_length",
    "toy_interpolation",
    "toy_model",
    "train_gd",
    "train_toy",
    "unrelated_initializations",
    "validate_states",
    "velocity_angle",
    "weight_distance",
    "whiten_inputs",
    "width_scan",
]
