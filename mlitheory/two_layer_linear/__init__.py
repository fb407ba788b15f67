r"""MLI for two-layer linear networks trained from a decoupled ("tabula rasa") initialisation.

**Statement** (Lucas et al. 2021, §3.3 and Appendix A.1; project reconstruction with proof in
``theory_two_layer_linear.md`` §3–5). Let $f(x) = W_2W_1x$ be trained by gradient flow on the squared
error with whitened inputs ($\Sigma_{xx} = I$, $\Sigma_{yx} = USV^\top$) from a decoupled
initialisation $W_1(0) = R\,\mathrm{diag}(a(0))V^\top$, $W_2(0) = U\,\mathrm{diag}(b(0))R^\top$
(dynamics in [`mlitheory.two_layer_linear.dynamics`][mlitheory.two_layer_linear.dynamics]). Along
$W_j(\alpha) = (1-\alpha)W_j(0) + \alpha W_j(T)$,

$$
W_2(\alpha)W_1(\alpha) = U\,\mathrm{diag}(c(\alpha))V^\top,\qquad
c_i(\alpha) = \big[(1-\alpha)a_i(0) + \alpha a_i(T)\big]\big[(1-\alpha)b_i(0) + \alpha b_i(T)\big],
$$

so each $c_i$ is quadratic and $c_i'(0) = B_i - 2u_i(0)$, $c_i'(1) = 2u_i(T) - B_i$ with
$u_i = a_ib_i$ and $B_i = a_i(0)b_i(T) + b_i(0)a_i(T)$.

* **(C1)** $B_i$ lies between $2u_i(0)$ and $2u_i(T)$ for every mode, at **every** training
  time $T$ (proof: with $a^2 - b^2 = c$ conserved and $a = \sqrt c\cosh\varphi$,
  $b = \sqrt c\sinh\varphi$, $B = c\sinh(\varphi_0 + \varphi_T)$ lies between
  $c\sinh 2\varphi_0 = 2u_0$ and $c\sinh 2\varphi_T = 2u_T$). Then every $c_i$ moves
  monotonically from $u_i(0)$ to $u_i(T)$, which lies between $u_i(0)$ and $s_i$
  (no overshoot), so the interpolated loss $\ell(\alpha) = \tfrac12\sum_i(s_i - c_i(\alpha))^2 + \text{const}$
  is non-increasing: **MLI holds**.
* **(C2)** $c'(\alpha)$ moves along a straight segment, so the Gauss length of the mode curve is

    $$
    G = \angle\big(c'(0), c'(1)\big) \le \pi/2,
    $$

  since under (C1) every component of $c'(0)$ and $c'(1)$ has the sign of $s_i - u_i(0)$.
  Strictly $G < \pi/2$ almost surely for initial factors drawn from a continuous distribution.

The product path $W(\alpha)$ of *any* two-layer linear interpolation is quadratic in $\alpha$, so
$G = \angle(W'(0), W'(1))$ for generic (non-decoupled) initialisations too, and the loss along it is a
quartic whose monotonicity on $[0, 1]$ is decided exactly
([`loss_polynomial`][mlitheory.two_layer_linear.check.loss_polynomial]). For generic small Gaussian initialisations MLI
and $G < \pi/2$ are observed but not proved; with a bottleneck ($h < \operatorname{rank}\Sigma_{yx}$) MLI is observed
and $G \ge \pi/2$ occurs.

References:
    Lucas, Bae, Zhang, Fort, Zemel, Grosse, *Analyzing Monotonic Linear Interpolation in Neural Network Loss
    Landscapes*, ICML 2021, §3.3, App. A.1. Saxe, McClelland, Ganguli (2019), PNAS.

Modules: [`dynamics`][mlitheory.two_layer_linear.dynamics] (the gradient flow in closed form and by integration),
[`check`][mlitheory.two_layer_linear.check] (the checks), ``_verify`` (the verify rows).
"""

from __future__ import annotations

from mlitheory.two_layer_linear._verify import (
    verify_family,
)
from mlitheory.two_layer_linear.check import (
    InterpolationCheck,
    TwoLayerLinearCheck,
    check_interpolation,
    check_two_layer_linear,
    condition_c1,
    cross_term,
    interpolated_product,
    loss_polynomial,
    mode_path,
    mode_velocities,
    path_loss,
    polynomial_max_on_unit_interval,
    velocity_angle,
)
from mlitheory.two_layer_linear.dynamics import (
    GradientFlowResult,
    TwoLayerLinearProblem,
    balanced_mode_strength,
    decoupled_init,
    decoupled_modes,
    gaussian_init,
    gradient_flow,
    linear_loss,
    mode_closed_form,
    problem_from_data,
    problem_from_sigma,
    random_problem,
    whiten_inputs,
)

__all__ = [
    "GradientFlowResult",
    "InterpolationCheck",
    "TwoLayerLinearCheck",
    "TwoLayerLinearProblem",
    "balanced_mode_strength",
    "check_interpolation",
    "check_two_layer_linear",
    "condition_c1",
    "cross_term",
    "decoupled_init",
    "decoupled_modes",
    "gaussian_init",
    "gradient_flow",
    "interpolated_product",
    "linear_loss",
    "loss_polynomial",
    "mode_closed_form",
    "mode_path",
    "mode_velocities",
    "path_loss",
    "polynomial_max_on_unit_interval",
    "problem_from_data",
    "problem_from_sigma",
    "random_problem",
    "velocity_angle",
    "verify_family",
    "whiten_inputs",
]
