r"""Wide networks: MLI in the NTK regime (Lucas et al. 2021, §3.2 and App. D; Lee et al. 2019, Thm 2.1).

**Lemma 7** ([`mlitheory.wide.lemma7`][mlitheory.wide.lemma7]). (a) Along a straight output segment the squared error
$q(\alpha) = \tfrac12\|r_0 + \alpha(r_1 - r_0)\|^2$ is non-increasing iff
$\|r_1\|^2 \le \langle r_0, r_1\rangle$, which gradient descent on the linearised model guarantees whenever
$\mathrm{spec}((I - \eta\Theta)^T) \subset [0, 1]$.
(b) A curve whose velocity stays within $\varepsilon < (\sqrt2 - 1)\|v\|$ of a fixed $v$ has a strictly
decreasing squared distance to its end.

**Theorem 8** ([`mlitheory.wide.networks`][mlitheory.wide.networks]). For an NTK-parameterised MLP of width $n$ trained
by full-batch GD on the MSE to convergence, with high probability the output path has Gauss length
$G = O(n^{-1/2})$, below $\pi/2$ for large $n$, so Theorem 3 gives MLI.

Modules: [`ntk`][mlitheory.wide.ntk] (NTK-parameterised MLPs, empirical NTK, linearisation, GD),
[`lemma7`][mlitheory.wide.lemma7], [`networks`][mlitheory.wide.networks] (Theorem 8 and the width scan), ``_verify``
(the verify rows of both). Command line: ``python -m mlitheory.wide`` (alias ``python -m mlitheory.ntk_width``), the
width scan.
"""

from __future__ import annotations

from mlitheory.wide._verify import (
    lemma7_family,
    networks_family,
    theorem8_rows,
)
from mlitheory.wide.lemma7 import (
    LEMMA7B_RATIO,
    LEMMA7B_SHARP_RATIO,
    Lemma7aCheck,
    Lemma7bCheck,
    SmoothPerturbation,
    check_lemma7a,
    check_lemma7b,
    lambda_max_rtol,
    lemma7a_margin,
    lemma7a_regime,
    lemma7b_bound_factor,
    lemma7b_curve,
    quadratic_path_loss,
    random_smooth_perturbation,
    two_leg_curve,
)
from mlitheory.wide.networks import (
    PowerLawFit,
    WideRun,
    WidthScanResult,
    check_wide_network,
    fit_power_law,
    make_data,
    mli_verdict,
    output_path_derivatives,
    plot_width_scan,
    width_scan,
)
from mlitheory.wide.ntk import (
    NTKMLP,
    GDResult,
    empirical_ntk,
    gd_residuals,
    gradient_flow_residuals,
    jacobian,
    linearized_outputs,
    model_outputs,
    param_dict,
    stack_params,
    train_gd,
    train_gd_many,
)

__all__ = [
    "LEMMA7B_RATIO",
    "LEMMA7B_SHARP_RATIO",
    "NTKMLP",
    "GDResult",
    "Lemma7aCheck",
    "Lemma7bCheck",
    "PowerLawFit",
    "SmoothPerturbation",
    "WideRun",
    "WidthScanResult",
    "check_lemma7a",
    "check_lemma7b",
    "check_wide_network",
    "empirical_ntk",
    "fit_power_law",
    "gd_residuals",
    "gradient_flow_residuals",
    "jacobian",
    "lambda_max_rtol",
    "lemma7_family",
    "lemma7a_margin",
    "lemma7a_regime",
    "lemma7b_bound_factor",
    "lemma7b_curve",
    "linearized_outputs",
    "make_data",
    "mli_verdict",
    "model_outputs",
    "networks_family",
    "output_path_derivatives",
    "param_dict",
    "plot_width_scan",
    "quadratic_path_loss",
    "random_smooth_perturbation",
    "stack_params",
    "theorem8_rows",
    "train_gd",
    "train_gd_many",
    "two_leg_curve",
    "width_scan",
]
