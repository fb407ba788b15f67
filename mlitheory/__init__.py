"""mlitheory: numerical checks of the theory of monotonic linear interpolation (MLI).

Along $\theta_\alpha = (1-\alpha)\theta_0 + \alpha\theta_T$ the training loss usually decreases
monotonically. This package checks the theorems about it with numbers and runs the matching experiments.

Curve geometry ([`mlitheory.geometry`][mlitheory.geometry],
[`mlitheory.sampled_gauss_length`][mlitheory.sampled_gauss_length]):

- `gauss_length` — Gauss length (total curvature) on the sphere, adaptive quadrature, jvp derivatives
- `gauss_length_from_derivatives` — the same quadrature fed with z′, z″ at many α (vectorised / Taylor mode)
- `gauss_length_from_samples` — Gauss length of a curve known only at samples: turning of the polygon
- `tail_gauss_length` — G_α, the Gauss length of the curve restricted to [α, b]
- `arc_length` — arc length by adaptive quadrature
- `gauss_integrand` — ‖T′‖ from z′ and z″
- `curve_derivatives` — (z, z′, z″) at one α by nested jvp
- `cone_condition` — ⟨z′(α), z′(s)⟩ ≥ 0 for all α < s, on a grid

Monotonicity ([`mlitheory.monotonicity`][mlitheory.monotonicity]):

- `min_delta` — smallest Δ for which a loss curve is Δ-monotone, max_{i<j} (L_j − L_i)₊
- `bumps` — every bump (start, peak, end, height, width) of a loss curve
- `is_monotone` — whether a loss curve is non-increasing up to a tolerance

Theorem 3: Gauss length < π/2 ⇒ monotone squared distance (sub-package [`mlitheory.theorem3`][mlitheory.theorem3]):

- `check_theorem3` — G vs π/2, strict decrease from the exact L′ on an adaptive grid, the bound's margin
- `Theorem3Result` — its result (hypothesis, monotone, margins, the grid)
- `loss_slope` — L, L′ = −2⟨z* − z, z′⟩ and L″ at many α, exact (jvp)
- `projective_gauss_length` — length of the tangent line in projective space (blind to reversals)
- `smoothed_turn` — tightness: turn by π/2 + δ after a leg ½ sin δ, G = π/2 + δ, not monotone

Exact tools for ReLU networks ([`mlitheory.piecewise`][mlitheory.piecewise]):

- `piecewise_logit_path` — every example's logit path as an exact piecewise polynomial in α (breakpoints, pieces)
- `PiecewisePath` — its result: breakpoints, coefficients per piece, evaluate(α, order)
- `exact_gauss_length` — Gauss length with corners: smooth part + reversals + exterior angles, per example
- `ExactGaussLength` — its result (total, smooth_part, corner_part, corners, mean, error, concatenated)
- `decide_mli` — MLI decided on the continuum: exact min Δ, a witness through the model, or a certificate
- `MLIDecision` — its result (monotone, min_delta ± error, witness, certificate, loss(α))
- `check_theorem3_piecewise` — Theorem 3 with corners: G (smooth + corners) < π/2 ⇒ L strictly decreasing

Curve families ([`mlitheory.curves`][mlitheory.curves]):

- `bezier_curve` — the Bézier curve of given control points (ends at the last one, z*)
- `random_bezier_curve` — random Bézier curve ending at z*, in ℝⁿ
- `random_polynomial_curve` — random polynomial curve ending at z*, in ℝⁿ
- `circular_arc` — arc of any angle φ (G = φ; monotone iff φ ≤ π)
- `reversal_curve` — (1 − α)(1 − 3α)v: projective length 0, spherical π, not monotone

Last-layer-bias plateau ([`mlitheory.bias_plateau`][mlitheory.bias_plateau]; demo: ``python -m
mlitheory.bias_plateau``):

- `plateau_constants` — δ, G, Δ_max, m, α_lo = (δ/G)^{1/(r−1)}, α_hi of Proposition 1 from g_T, b_T, y, r
- `check_proposition1` — error plateau below α_lo, zero error above α_hi, no plateau with equal biases
- `check_proposition2` — loss ≥ log k − α^r M̄ − α(mean b_y − mean b), and the loss-plateau length
- `loss_lower_bound` — Proposition 2's bound on a grid
- `loss_expansion` — Taylor coefficients of the loss curve at α = 0 (cumulants of the logits)
- `exact_error_plateau_length` — exact ℓ_err(η) of f = α^r g_T + α b_T from per-point correct intervals
- `plateau_end` — largest α with the curve ≥ threshold on every grid point of (0, α]
- `plateau_length` — grid ℓ(η): the curve stays within η of γ(0⁺)
- `toy_model` — diagonal toy model (logits w_c^r x_c + b), init ε u
- `train_toy` — GD / momentum / Adam / gradient flow with learning times and bias drift
- `toy_interpolation` — closed-form loss and error curves, linear or homogeneous bias scheme
- `check_toy_learning` — learning order, bias order, first time vs t*, mean-bias conservation
- `escape_times` — t*_c = k (ε u_c)^{−(r−2)} / (r (r−2)(1−1/k))
- `check_output_bias_decomposition` — identity (1): f(x; αθ_T) = α^L g_T + α b_T (zero hidden biases)
- `check_deep_linear_identity` — identity (2) for deep linear nets with biases in every layer
- `check_homogeneous_scaling` — identity (3): f(x; {cW_ℓ, c^ℓ b_ℓ}) = c^L f(x; θ)
- `run_mlp_case` — train a deep ReLU MLP (small init) and its curves under the bias schemes

Two-layer linear networks (sub-package [`mlitheory.two_layer_linear`][mlitheory.two_layer_linear]: ``dynamics``,
``check``):

- `TwoLayerLinearProblem` — a task reduced to Σyx = USVᵀ (whitened inputs)
- `problem_from_data` — problem from (X, Y); rejects non-whitened inputs unless whiten=True
- `problem_from_sigma` — problem from Σyx
- `random_problem` — random Σyx with given rank and singular-value range
- `whiten_inputs` — ZCA whitening X ↦ X Σxx^(−1/2)
- `mode_closed_form` — exact (a(t), b(t)) of one mode, balanced or not (conserved a² − b²)
- `balanced_mode_strength` — Saxe's sigmoid u(t) for a balanced mode
- `decoupled_init` — W1 = R diag(a) Vᵀ, W2 = U diag(b) Rᵀ
- `gaussian_init` — generic i.i.d. Gaussian weights (any hidden width, bottlenecks included)
- `gradient_flow` — solve_ivp (DOP853, rtol 1e-12) integration of the gradient flow
- `check_two_layer_linear` — (C1), no overshoot, (C2) G = ∠(c′(0), c′(1)) ≤ π/2 and MLI for a decoupled run
- `check_interpolation` — exact MLI (quartic loss) and G = ∠(W′(0), W′(1)) for any two weight pairs
- `mode_path` — c_i(α), quadratic in α
- `condition_c1` — margin of (C1): B_i between 2u_i(0) and 2u_i(T)
- `velocity_angle` — ∠(v0, v1), the Gauss length of a curve with affine velocity

Wide networks (sub-package [`mlitheory.wide`][mlitheory.wide]: ``ntk``, ``lemma7``, ``networks``):

- `NTKMLP` — fully connected network in NTK parameterisation, any depth and widths
- `empirical_ntk` — Θ̂ = J Jᵀ on a batch
- `linearized_outputs` — f(θ₀) + J₀(θ − θ₀) by one jvp
- `gd_residuals` — r_T = (I − ηΘ)^T r₀ in closed form
- `gradient_flow_residuals` — r(t) = e^{−Θt} r₀ in closed form
- `train_gd` — full-batch GD on ½‖f − y‖², η = 1/λ_max(Θ̂₀), stops and reports divergence
- `check_lemma7a` — Lemma 7a: monotone ⇔ ‖r_T‖² ≤ ⟨r₀, r_T⟩; the regimes where it must hold
- `check_lemma7b` — Lemma 7b: sup‖z′ − v‖ < (√2 − 1)‖v‖ ⇒ strictly decreasing
- `width_scan` — Theorem 8: Gauss length of the output path, MLI rate, weight distance per width; slope fit
- `fit_power_law` — slope of log G against log width with a confidence interval
- `python -m mlitheory.wide` — the full width scan, table and figure (alias: python -m mlitheory.ntk_width)

Interpolating models ([`mlitheory.interpolation`][mlitheory.interpolation], [`mlitheory.paths`][mlitheory.paths],
[`mlitheory.batchnorm`][mlitheory.batchnorm]):

- `interpolate` — loss/accuracy/metrics of any nn.Module along θ_α, functional, exact endpoints
- `evaluate_path` — the same along any ParameterPath (layer-wise, homogeneous bias)
- `ParameterPath` — a path θ(α) between two states: per-entry coefficients c(α) = s α^p
- `InterpolationCurve` — result: values, finite mask, min_delta, endpoint shift of the BN policy, plot
- `linear_path` — θ_α = (1 − α)θ_start + αθ_end
- `layerwise_path` — one layer/block moves, the rest fixed (Vlaar & Frankle 2022)
- `homogeneous_bias_path` — biases of layer ℓ scaled like α^ℓ (bias-plateau theory §3.4)
- `layer_numbers` — the layer index ℓ of every Linear/Conv layer of a state, in order
- `layer_groups` — group state keys by module or block
- `validate_states` — check two states (keys, shapes, dtypes, devices) with named errors
- `recompute_statistics` — batch-norm running statistics at a state, exactly as update_bn, functionally
- `loss_plane` — 2-D grid of losses: plane through three states, or a centre + two directions
- `plane_basis` — orthonormal basis of the plane through three states; project states onto it
- `PlaneSurface` — result: values on the grid, named and projected states, BN shift, plot
- `PlaneBasis` — that basis: the three states, the keys spanning the plane, its Gram–Schmidt lengths

Loss-landscape directions and figures ([`mlitheory.directions`][mlitheory.directions],
[`mlitheory.plotting`][mlitheory.plotting]):

- `random_direction` — Gaussian direction, filter-normalised to a state (Li et al. 2018 §4), seeded
- `trajectory_directions` — PCA by SVD of {θ_t − θ_final}: directions, explained variance, coordinates (§7)
- `TrajectoryDirections` — its result: directions as state dicts, ratios, coordinates, residuals, grid box
- `plot_contour` — contour map of a plane with the trajectory and the straight init → final path
- `plot_surface` — the same plane as a 3-D surface
- `save_landscape` — both figures as PNG and PDF

Logit geometry and distances ([`mlitheory.logit_geometry`][mlitheory.logit_geometry],
[`mlitheory.distance`][mlitheory.distance]):

- `logit_gauss_length` — Gauss length of the logit path: mean per-example and concatenated
- `LogitGaussLength` — its result: per-example lengths and errors, convergence, statistics policy
- `weight_distance` — ℓ2 distance over parameters, normalised by start or end, per-layer table
- `WeightDistance` — its result: raw distance, both norms, relative_to_start/end, per-layer table

Taylor mode ([`mlitheory.taylor`][mlitheory.taylor], with the jet arithmetic and the nested-jvp reference in ``_jets``):

- `TaylorForward` — (z, z′, z″) of a network along a path by second-order forward mode

Interpolation studies ([`mlitheory.studies`][mlitheory.studies]):

- `chord_barrier` — height of a curve above the chord between its ends (linear mode connectivity)
- `end_barrier` — height above the higher end, (max L − max(L(0), L(1)))₊ (Lucas et al. Fig. 8)
- `max_increase` — rise above the start, (max L − L(0))₊ (Frankle 2020, Fig. 3)
- `checkpoint_barriers` — those heights and min Δ from each checkpoint to the final state (Frankle 2020)
- `unrelated_initializations` — random inits → one optimum (Lucas et al. Fig. 6)
- `pairwise_interpolations` — init↔init, init→optimum, optimum↔optimum (Lucas et al. Fig. 8)
- `layerwise_interpolation` — one curve per layer or block (Vlaar & Frankle 2022)
- `fresh_initializations` — new random initial states of an architecture, seeded

Results ([`mlitheory.results`][mlitheory.results]):

- `Result` — base of every result dataclass: save/load (.npz + .json), summary

Theorem checks:

- `python -m mlitheory verify` — every theorem family, one table (exit status 1 on a counterexample)
"""

import importlib

__version__ = "0.1.0"

# Every public name is imported on first use (PEP 562), so that ``import mlitheory`` costs no more than Python
# itself: torch, scipy and matplotlib load only with the module that needs them. The map is name -> module.
_EXPORTS = {
    "recompute_statistics": "mlitheory.batchnorm",
    "check_deep_linear_identity": "mlitheory.bias_plateau",
    "check_homogeneous_scaling": "mlitheory.bias_plateau",
    "check_output_bias_decomposition": "mlitheory.bias_plateau",
    "check_proposition1": "mlitheory.bias_plateau",
    "check_proposition2": "mlitheory.bias_plateau",
    "check_toy_learning": "mlitheory.bias_plateau",
    "escape_times": "mlitheory.bias_plateau",
    "exact_error_plateau_length": "mlitheory.bias_plateau",
    "loss_expansion": "mlitheory.bias_plateau",
    "loss_lower_bound": "mlitheory.bias_plateau",
    "plateau_constants": "mlitheory.bias_plateau",
    "plateau_end": "mlitheory.bias_plateau",
    "plateau_length": "mlitheory.bias_plateau",
    "run_mlp_case": "mlitheory.bias_plateau",
    "toy_interpolation": "mlitheory.bias_plateau",
    "toy_model": "mlitheory.bias_plateau",
    "train_toy": "mlitheory.bias_plateau",
    "bezier_curve": "mlitheory.curves",
    "circular_arc": "mlitheory.curves",
    "random_bezier_curve": "mlitheory.curves",
    "random_polynomial_curve": "mlitheory.curves",
    "reversal_curve": "mlitheory.curves",
    "WeightDistance": "mlitheory.distance",
    "weight_distance": "mlitheory.distance",
    "arc_length": "mlitheory.geometry",
    "cone_condition": "mlitheory.geometry",
    "curve_derivatives": "mlitheory.geometry",
    "gauss_integrand": "mlitheory.geometry",
    "gauss_length": "mlitheory.geometry",
    "gauss_length_from_derivatives": "mlitheory.geometry",
    "gauss_length_from_samples": "mlitheory.geometry",
    "tail_gauss_length": "mlitheory.geometry",
    "InterpolationCurve": "mlitheory.interpolation",
    "evaluate_path": "mlitheory.interpolation",
    "interpolate": "mlitheory.interpolation",
    "check_lemma7a": "mlitheory.wide.lemma7",
    "check_lemma7b": "mlitheory.wide.lemma7",
    "TwoLayerLinearProblem": "mlitheory.two_layer_linear.dynamics",
    "balanced_mode_strength": "mlitheory.two_layer_linear.dynamics",
    "decoupled_init": "mlitheory.two_layer_linear.dynamics",
    "gaussian_init": "mlitheory.two_layer_linear.dynamics",
    "gradient_flow": "mlitheory.two_layer_linear.dynamics",
    "mode_closed_form": "mlitheory.two_layer_linear.dynamics",
    "problem_from_data": "mlitheory.two_layer_linear.dynamics",
    "problem_from_sigma": "mlitheory.two_layer_linear.dynamics",
    "random_problem": "mlitheory.two_layer_linear.dynamics",
    "whiten_inputs": "mlitheory.two_layer_linear.dynamics",
    "LogitGaussLength": "mlitheory.logit_geometry",
    "logit_gauss_length": "mlitheory.logit_geometry",
    "bumps": "mlitheory.monotonicity",
    "is_monotone": "mlitheory.monotonicity",
    "min_delta": "mlitheory.monotonicity",
    "NTKMLP": "mlitheory.wide.ntk",
    "empirical_ntk": "mlitheory.wide.ntk",
    "gd_residuals": "mlitheory.wide.ntk",
    "gradient_flow_residuals": "mlitheory.wide.ntk",
    "linearized_outputs": "mlitheory.wide.ntk",
    "train_gd": "mlitheory.wide.ntk",
    "ParameterPath": "mlitheory.paths",
    "homogeneous_bias_path": "mlitheory.paths",
    "layer_groups": "mlitheory.paths",
    "layer_numbers": "mlitheory.paths",
    "layerwise_path": "mlitheory.paths",
    "linear_path": "mlitheory.paths",
    "validate_states": "mlitheory.paths",
    "PlaneBasis": "mlitheory.plane",
    "PlaneSurface": "mlitheory.plane",
    "ExactGaussLength": "mlitheory.piecewise",
    "MLIDecision": "mlitheory.piecewise",
    "PiecewisePath": "mlitheory.piecewise",
    "decide_mli": "mlitheory.piecewise",
    "exact_gauss_length": "mlitheory.piecewise",
    "piecewise_logit_path": "mlitheory.piecewise",
    "check_theorem3_piecewise": "mlitheory.piecewise.theorem",
    "TrajectoryDirections": "mlitheory.directions",
    "random_direction": "mlitheory.directions",
    "trajectory_directions": "mlitheory.directions",
    "plot_contour": "mlitheory.plotting",
    "plot_surface": "mlitheory.plotting",
    "save_landscape": "mlitheory.plotting",
    "loss_plane": "mlitheory.plane",
    "plane_basis": "mlitheory.plane",
    "Result": "mlitheory.results",
    "checkpoint_barriers": "mlitheory.studies",
    "chord_barrier": "mlitheory.studies",
    "end_barrier": "mlitheory.studies",
    "max_increase": "mlitheory.studies",
    "fresh_initializations": "mlitheory.studies",
    "layerwise_interpolation": "mlitheory.studies",
    "pairwise_interpolations": "mlitheory.studies",
    "unrelated_initializations": "mlitheory.studies",
    "TaylorForward": "mlitheory.taylor",
    "Theorem3Result": "mlitheory.theorem3",
    "check_theorem3": "mlitheory.theorem3",
    "loss_slope": "mlitheory.theorem3",
    "projective_gauss_length": "mlitheory.theorem3",
    "smoothed_turn": "mlitheory.theorem3",
    "check_interpolation": "mlitheory.two_layer_linear",
    "check_two_layer_linear": "mlitheory.two_layer_linear",
    "condition_c1": "mlitheory.two_layer_linear",
    "mode_path": "mlitheory.two_layer_linear",
    "velocity_angle": "mlitheory.two_layer_linear",
    "fit_power_law": "mlitheory.wide.networks",
    "width_scan": "mlitheory.wide.networks",
}
#: the sub-packages and public modules, importable as attributes (``mlitheory.bias_plateau``)
_MODULES = (
    "batchnorm",
    "bias_plateau",
    "curves",
    "directions",
    "distance",
    "geometry",
    "interpolation",
    "logit_geometry",
    "monotonicity",
    "ntk_width",
    "paths",
    "piecewise",
    "plane",
    "plotting",
    "results",
    "sampled_gauss_length",
    "studies",
    "taylor",
    "theorem3",
    "two_layer_linear",
    "verify",
    "wide",
)

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'mlitheory' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, *_MODULES})
