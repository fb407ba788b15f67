r"""Theorem 3 of Lucas et al. (2021): a Gauss length below $\pi/2$ makes the squared distance monotone.

**Theorem 3** (small Gauss length gives monotonicity). Let $z:[0,1]\to\mathbb R^n$ be a smooth curve with
$z(1)=z^*$, $z(0)\ne z^*$, and let $L(\alpha)=\|z(\alpha)-z^*\|_2^2$. If the Gauss length

$$
G = \int_0^1 \|T'(\alpha)\|\,d\alpha, \qquad T = z'/\|z'\|,
$$

(the length of the tangent image on the sphere, i.e. the total curvature) is below $\pi/2$, then
$L$ is strictly decreasing on $[0,1]$.

**Quantitative form.** With $G_\alpha$ the Gauss length of $z$ on $[\alpha,1]$ and
$\ell(\alpha)=\int_\alpha^1\|z'\|$ the remaining arc length, for every $\alpha<1$

$$
\|z^*-z(\alpha)\| \;\ge\; \cos(G_\alpha)\,\ell(\alpha), \qquad
L'(\alpha) = -2\langle z^*-z(\alpha), z'(\alpha)\rangle \;\le\; -2\cos(G_\alpha)\,\|z'(\alpha)\|\,\ell(\alpha).
$$

*Proof.* For $s\ge\alpha$ the spherical distance from $T(\alpha)$ to $T(s)$ is at most
$G_\alpha$, so $\langle T(\alpha),T(s)\rangle\ge\cos G_\alpha$ while $G_\alpha\le\pi$. Integrating
$z^*-z(\alpha)=\int_\alpha^1\|z'(s)\|T(s)\,ds$ against $T(\alpha)$ gives
$\langle T(\alpha),z^*-z(\alpha)\rangle\ge\cos(G_\alpha)\ell(\alpha)$, whence both inequalities (the first by
Cauchy–Schwarz). When $G<\pi/2$ the right-hand side of the second is negative wherever $z'\ne0$. ∎
The bound needs only $G_\alpha\le\pi$ (beyond, $\cos\pi=-1$ makes it trivial), so it is checked on
every curve, not only those with $G<\pi/2$.

**Sharpness.** [`smoothed_turn`][mlitheory.theorem3.check.smoothed_turn] turns by $\pi/2+\delta$ after a first leg of
length $\varepsilon=\tfrac12\sin\delta$ and has $L'(0)>0$: no bound above $\pi/2$ works. The Gauss map
must go to the sphere: the reversal [`reversal_curve`][mlitheory.theorem3.check.reversal_curve] has projective length 0,
spherical length $\pi$, and is not monotone. The converse fails: a circular arc
([`circular_arc`][mlitheory.theorem3.check.circular_arc]) of angle up to $\pi$ is monotone although $G\ge\pi/2$.

Contents: the instances — the curve families of [`mlitheory.curves`][mlitheory.curves] (random Bézier and polynomial
curves ending at $z^*$, arcs, the reversal; plain callables $\alpha\mapsto z(\alpha)$ on 0-dim float64 tensors,
differentiable by `torch.func.jvp`) and the tightness construction
[`smoothed_turn`][mlitheory.theorem3.check.smoothed_turn]; the quantities of the statement
([`loss_slope`][mlitheory.theorem3.check.loss_slope],
[`projective_gauss_length`][mlitheory.theorem3.check.projective_gauss_length]);
[`check_theorem3`][mlitheory.theorem3.check.check_theorem3]; and [`verify_family`][mlitheory.theorem3.verify_family] for
``python -m mlitheory verify``.

Modules: [`check`][mlitheory.theorem3.check] (the check and the tightness construction), ``_numerics`` (its adaptive
grid and slope refinement), ``_verify`` (the verify rows).

References:
    Lucas, Bae, Zhang, Fort, Zemel, Grosse. *Analyzing Monotonic Linear Interpolation in Neural Network Loss
    Landscapes*, ICML 2021 (arXiv:2104.11044), Definition 2 and Theorem 3.
"""

from __future__ import annotations

from mlitheory.theorem3._verify import (
    verify_family,
)
from mlitheory.theorem3.check import (
    Theorem3Result,
    bezier_curve,
    check_theorem3,
    circular_arc,
    loss_slope,
    projective_gauss_length,
    random_bezier_curve,
    random_polynomial_curve,
    reversal_curve,
    smoothed_turn,
)

__all__ = [
    "Theorem3Result",
    "bezier_curve",
    "check_theorem3",
    "circular_arc",
    "loss_slope",
    "projective_gauss_length",
    "random_bezier_curve",
    "random_polynomial_curve",
    "reversal_curve",
    "smoothed_turn",
    "verify_family",
]
