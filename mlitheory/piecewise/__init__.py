r"""Exact tools for ReLU networks: piecewise-polynomial logit paths, total curvature with corners, decided MLI.

Along a parameter path polynomial in α (linear, layer-wise, homogeneous-bias), a network of Linear / Conv / ReLU /
LeakyReLU / pooling / residual additions is a polynomial in α wherever no activation changes
(``theory_piecewise_paths.md``). This sub-package computes those pieces exactly and builds on them:

    piecewise_logit_path  -- every example's logit path as a piecewise polynomial (breakpoints, coefficients):


    exact_gauss_length    -- Gauss length on the sphere, smooth part + reversals + corners, per example and
    concatenated:


    decide_mli            -- MLI decided on the continuum: exact min Δ, a witness, or a certificate of L′ ≤ 0:


    sign_changes          -- real roots where a polynomial changes sign, with certified brackets (Bernstein):


    check_theorem3_piecewise -- Theorem 3 for piecewise-smooth curves (corners counted), in `.theorem`

Unsupported modules (smooth activations, batch statistics, layer norm, …) raise
[`Unsupported`][mlitheory.piecewise.path.Unsupported], which names the module and points to the sampled tools.
"""

from mlitheory.piecewise._graph import Unsupported
from mlitheory.piecewise.decide import MLICertificate, MLIDecision, decide_mli
from mlitheory.piecewise.gauss import ExactGaussLength, exact_gauss_length
from mlitheory.piecewise.path import PiecewisePath, piecewise_logit_path
from mlitheory.piecewise.roots import Roots, sign_changes

__all__ = [
    "ExactGaussLength",
    "MLICertificate",
    "MLIDecision",
    "PiecewisePath",
    "Roots",
    "Unsupported",
    "decide_mli",
    "exact_gauss_length",
    "piecewise_logit_path",
    "sign_changes",
]
