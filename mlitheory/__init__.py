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

__version__ = "0.1.0"

__all__ = [
    "InterpolationCurve",
    "LogitGaussLength",
    "ParameterPath",
    "PlaneBasis",
    "PlaneSurface",
    "Result",
    "TaylorForward",
    "WeightDistance",
    "arc_length",
    "bumps",
    "checkpoint_barriers",
    "cone_condition",
    "curve_derivatives",
    "evaluate_path",
    "fresh_initializations",
    "gauss_integrand",
    "gauss_length",
    "gauss_length_from_derivatives",
    "gauss_length_from_samples",
    "homogeneous_bias_path",
    "interpolate",
    "is_monotone",
    "layer_groups",
    "layerwise_interpolation",
    "layerwise_path",
    "linear_path",
    "logit_gauss_length",
    "loss_plane",
    "min_delta",
    "pairwise_interpolations",
    "plane_basis",
    "recompute_statistics",
    "tail_gauss_length",
    "unrelated_initializations",
    "validate_states",
    "weight_distance",
]
