r"""Theorem 3 of Lucas et al. (2021): a Gauss length below :math:`\pi/2` makes the squared distance monotone.

**Theorem 3** (small Gauss length gives monotonicity). Let :math:`z:[0,1]\to\mathbb R^n` be a smooth curve with
:math:`z(1)=z^*`, :math:`z(0)\ne z^*`, and let :math:`L(\alpha)=\|z(\alpha)-z^*\|_2^2`. If the Gauss length

.. math::

    G = \int_0^1 \|T'(\alpha)\|\,d\alpha, \qquad T = z'/\|z'\|,

(the length of the tangent image on the sphere, i.e. the total curvature) is below :math:`\pi/2`, then
:math:`L` is strictly decreasing on :math:`[0,1]`.

**Quantitative form.** With :math:`G_\alpha` the Gauss length of :math:`z` on :math:`[\alpha,1]` and
:math:`\ell(\alpha)=\int_\alpha^1\|z'\|` the remaining arc length, for every :math:`\alpha<1`

.. math::

    \|z^*-z(\alpha)\| \;\ge\; \cos(G_\alpha)\,\ell(\alpha), \qquad
    L'(\alpha) = -2\langle z^*-z(\alpha), z'(\alpha)\rangle \;\le\; -2\cos(G_\alpha)\,\|z'(\alpha)\|\,\ell(\alpha).

*Proof.* For :math:`s\ge\alpha` the spherical distance from :math:`T(\alpha)` to :math:`T(s)` is at most
:math:`G_\alpha`, so :math:`\langle T(\alpha),T(s)\rangle\ge\cos G_\alpha` while :math:`G_\alpha\le\pi`. Integrating
:math:`z^*-z(\alpha)=\int_\alpha^1\|z'(s)\|T(s)\,ds` against :math:`T(\alpha)` gives
:math:`\langle T(\alpha),z^*-z(\alpha)\rangle\ge\cos(G_\alpha)\ell(\alpha)`, whence both inequalities (the first by
Cauchy–Schwarz). When :math:`G<\pi/2` the right-hand side of the second is negative wherever :math:`z'\ne0`. ∎
The bound needs only :math:`G_\alpha\le\pi` (beyond, :math:`\cos\pi=-1` makes it trivial), so it is checked on
every curve, not only those with :math:`G<\pi/2`.

**Sharpness.** :func:`smoothed_turn` turns by :math:`\pi/2+\delta` after a first leg of length
:math:`\varepsilon=\tfrac12\sin\delta` and has :math:`L'(0)>0`: no bound above :math:`\pi/2` works. The Gauss map
must go to the sphere: the reversal :func:`reversal_curve` has projective length 0, spherical length
:math:`\pi`, and is not monotone. The converse fails: a circular arc (:func:`circular_arc`) of angle up to
:math:`\pi` is monotone although :math:`G\ge\pi/2`.

Contents: the instances — the curve families of :mod:`mlitheory.curves` (random Bézier and polynomial curves ending
at :math:`z^*`, arcs, the reversal; plain callables :math:`\alpha\mapsto z(\alpha)` on 0-dim float64 tensors,
differentiable by :func:`torch.func.jvp`) and the tightness construction :func:`smoothed_turn`; the quantities of
the statement (:func:`loss_slope`, :func:`projective_gauss_length`); :func:`check_theorem3`; and
:func:`verify_family` for ``python -m mlitheory verify``.

Modules: :mod:`~mlitheory.theorem3.check` (the check and the tightness construction), ``_numerics`` (its adaptive
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
