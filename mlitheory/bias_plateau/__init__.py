r"""The last-layer-bias plateau of monotonic linear interpolation (Wang, Wang, Zhou, Ge, ICLR 2023).

**Model.** An $r$-homogeneous-weight network with output bias,

$$
f(x; W, b) = g(x; W) + b,\qquad g(x; cW) = c^r g(x; W)\quad (c > 0),
$$

e.g. a depth-$r$ linear net, a depth-$r$ ReLU net without hidden biases, or the diagonal toy model.
Along $\theta_\alpha = (1-\alpha)\theta_0 + \alpha\theta_T$ from $\theta_0 = 0$,

$$
f(x; \theta_\alpha) = \alpha^r g_T(x) + \alpha\, b_T ,\tag{1}
$$

so for small $\alpha$ the input-independent bias term dominates and every input is assigned
$j^\star = \arg\max_j b_{T,j}$. A deep *linear* net with biases $b_\ell$ in every layer gives exactly

$$
f(x; \alpha\theta_T) = \alpha^L W_L\cdots W_1 x + \sum_{\ell=1}^L \alpha^{L-\ell+1} W_L\cdots W_{\ell+1} b_\ell ,
\tag{2}
$$

where only the $\alpha^L$ term depends on the input and the output bias is the lowest-order term.

**Proposition 1** (error plateau). With $\delta$ the gap from the largest final bias to the next, $G$ the
largest signal advantage over $j^\star$, $\Delta_{\max}$ the largest bias gap and $m > 0$ the final
signal margin: $\gamma_{err}(\alpha) = 1 - \pi_{j^\star}$ for $0 < \alpha < \alpha_{lo} =
(\delta/G)^{1/(r-1)}$ and $\gamma_{err}(\alpha) = 0$ for
$\alpha > \alpha_{hi} = (\Delta_{\max}/m)^{1/(r-1)}$; with equal biases there is no plateau.

**Proposition 2** (loss plateau). $\gamma_{loss}(\alpha) \ge \log k - \alpha^r \bar M - \alpha(\frac1n\sum_i
b_{T,y_i} - \bar b_T)$, and for balanced data $\gamma_{loss}(\alpha) = \log k + \frac{\alpha^2}{2}\mathrm{Var}_j
b_T - \alpha^r\bar M + O(\alpha^3)$.

**Homogeneous bias interpolation.** Since $f(x; \{cW_\ell, c^\ell b_\ell\}) = c^L f(x;\theta)$ for ReLU or
linear nets, interpolating biases as $b_\ell^{[\alpha]} = (1-\alpha^\ell)b_\ell^{(0)} + \alpha^\ell b_\ell^{(T)}$
gives $f(x;\theta^{[\alpha]}) = \alpha^L f(x;\theta_T)$ from $\theta_0 = 0$: the error plateau disappears
(and is only shortened from a random $\theta_0$).

Modules: [`theory`][mlitheory.bias_plateau.theory] (Propositions 1–2, exact plateau lengths),
[`measures`][mlitheory.bias_plateau.measures] (loss, error and plateau length of a curve on a grid),
[`toy`][mlitheory.bias_plateau.toy] (the diagonal toy model: why biases differ on balanced data),
[`schemes`][mlitheory.bias_plateau.schemes] (bias schemes and identities (1)–(3) for MLPs),
[`mlp`][mlitheory.bias_plateau.mlp] (deep ReLU MLPs with small initialisation),
[`demo`][mlitheory.bias_plateau.demo] (``python -m mlitheory.bias_plateau``).

References:
    X. Wang, A. N. Wang, M. Zhou, R. Ge, *Plateau in Monotonic Linear Interpolation — A "Biased" View of Loss
    Landscape for Deep Networks*, ICLR 2023, arXiv 2210.01019. The statements here are the project's
    reconstruction from the paper's abstract and summary (``theory_bias_plateau.md``), not the paper's theorems.
    J. Frankle, *Revisiting "Qualitatively Characterizing Neural Network Optimization Problems"*, arXiv
    2012.06898 (the long plateau on modern networks).
"""

from mlitheory.bias_plateau._verify import verify_family
from mlitheory.bias_plateau.measures import cross_entropy, error_rate, plateau_end, plateau_length
from mlitheory.bias_plateau.mlp import (
    MLPCase,
    MLPTraining,
    balanced_gaussian_data,
    bias_gap,
    last_bias_name,
    make_mlp,
    run_mlp_case,
    train_mlp,
)
from mlitheory.bias_plateau.schemes import (
    SCHEMES,
    IdentityCheck,
    check_deep_linear_identity,
    check_homogeneous_scaling,
    check_output_bias_decomposition,
    deep_linear_bias_expansion,
    interpolate_params,
    layer_depths,
    path_loss_error,
)
from mlitheory.bias_plateau.theory import (
    PlateauConstants,
    Proposition1Check,
    Proposition2Check,
    check_proposition1,
    check_proposition2,
    correct_intervals,
    exact_error_curve,
    exact_error_plateau_length,
    loss_expansion,
    loss_lower_bound,
    path_logits,
    plateau_constants,
)
from mlitheory.bias_plateau.toy import (
    TOY_METHODS,
    ToyCurves,
    ToyLearningCheck,
    ToyModel,
    ToyTrajectory,
    check_toy_learning,
    escape_times,
    toy_class_thresholds,
    toy_gradients,
    toy_interpolation,
    toy_logits,
    toy_loss,
    toy_misclassified_intervals,
    toy_model,
    train_toy,
    train_toy_many,
)

__all__ = [
    "SCHEMES",
    "TOY_METHODS",
    "IdentityCheck",
    "MLPCase",
    "MLPTraining",
    "PlateauConstants",
    "Proposition1Check",
    "Proposition2Check",
    "ToyCurves",
    "ToyLearningCheck",
    "ToyModel",
    "ToyTrajectory",
    "balanced_gaussian_data",
    "bias_gap",
    "check_deep_linear_identity",
    "check_homogeneous_scaling",
    "check_output_bias_decomposition",
    "check_proposition1",
    "check_proposition2",
    "check_toy_learning",
    "correct_intervals",
    "cross_entropy",
    "deep_linear_bias_expansion",
    "error_rate",
    "escape_times",
    "exact_error_curve",
    "exact_error_plateau_length",
    "interpolate_params",
    "last_bias_name",
    "layer_depths",
    "loss_expansion",
    "loss_lower_bound",
    "make_mlp",
    "path_logits",
    "path_loss_error",
    "plateau_constants",
    "plateau_end",
    "plateau_length",
    "run_mlp_case",
    "toy_class_thresholds",
    "toy_gradients",
    "toy_interpolation",
    "toy_logits",
    "toy_loss",
    "toy_misclassified_intervals",
    "toy_model",
    "train_mlp",
    "train_toy",
    "train_toy_many",
    "verify_family",
]
