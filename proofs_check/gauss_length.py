"""Proof steps of Theorem 3 (small Gauss length gives monotone squared distance), checked with SymPy.

Theorem 3 of Lucas et al. (2021): if $z:[0,1]\\to\\mathbb R^n$ is smooth, $z(1)=z^*$ and the Gauss
length $G=\\int_0^1\\|T'\\|\\,d\\alpha$ of $T=z'/\\|z'\\|$ is below $\\pi/2$, then
$L(\\alpha)=\\|z(\\alpha)-z^*\\|^2$ is strictly decreasing (proof and sharpness in
``docs/theorem3.md`` and [`mlitheory.theorem3`][mlitheory.theorem3]). The steps below are the algebra the proof and the
numerical checks rest on:

1. the integrand identity $\\|T'\\|=\\sqrt{\\|z'\\|^2\\|z''\\|^2-\\langle z',z''\\rangle^2}/\\|z'\\|^2$, and its
   equality with $\\|z''-\\langle z'',T\\rangle T\\|/\\|z'\\|$, the form the estimator evaluates;
2. $L'(\\alpha)=-2\\langle z^*-z(\\alpha),z'(\\alpha)\\rangle$;
3. the chord of a circular arc, $2R\\sin(\\rho/2)$, is increasing in the remaining angle
   $\\rho\\in[0,\\pi]$, so an arc of any angle up to $\\pi$ is monotone although its Gauss length is
   $\\ge\\pi/2$ (the converse of the theorem fails);
4. the tightness construction: a first leg $\\varepsilon e_1$ then a leg $v$ at angle
   $\\varphi=\\pi/2+\\delta$ has $L'(0)>0$ exactly when $\\varepsilon<\\sin\\delta$; the smoothed
   version of [`mlitheory.theorem3.smoothed_turn`][mlitheory.theorem3.check.smoothed_turn] keeps the endpoints, the sign
   of $L'(0)$, and turns monotonically, so its Gauss length is exactly $\\varphi$.

References:
    Lucas, Bae, Zhang, Fort, Zemel, Grosse. Analyzing Monotonic Linear Interpolation in Neural Network Loss
    Landscapes. ICML 2021 (arXiv:2104.11044), Theorem 3.
"""

from __future__ import annotations

import sympy as sp

from proofs_check import Check

__all__ = ["checks"]

FAMILY = "Theorem 3 (Gauss length)"


def _is_zero(expr: sp.Expr) -> bool:
    return sp.simplify(sp.expand(expr)) == 0


def _curve(n: int, alpha: sp.Symbol) -> list[sp.Expr]:
    return [sp.Function(f"z{i}")(alpha) for i in range(1, n + 1)]


def _dot(u, v) -> sp.Expr:
    return sum((a * b for a, b in zip(u, v)), sp.Integer(0))


def check_integrand_identity(n: int = 3) -> Check:
    """‖T′‖² from differentiating T = z′/‖z′‖ equals (‖z′‖²‖z″‖² − ⟨z′,z″⟩²)/‖z′‖⁴, for a curve in ℝⁿ.

    Both sides are non-negative, so equal squares give equal values.
    """
    a = sp.Symbol("alpha", real=True)
    z = _curve(n, a)
    d1 = [sp.diff(c, a) for c in z]
    d2 = [sp.diff(c, a) for c in d1]
    speed = sp.sqrt(_dot(d1, d1))
    t_prime = [sp.diff(c / speed, a) for c in d1]
    lhs = _dot(t_prime, t_prime)
    rhs = (_dot(d1, d1) * _dot(d2, d2) - _dot(d1, d2) ** 2) / _dot(d1, d1) ** 2
    ok = _is_zero(sp.together(lhs - rhs))
    return Check(
        FAMILY,
        f"‖T′‖ = √(‖z′‖²‖z″‖² − ⟨z′,z″⟩²)/‖z′‖² (components, n = {n})",
        ok,
        "‖d/dα (z′/‖z′‖)‖² − RHS² simplifies to 0" if ok else "residual does not simplify to 0",
    )


def check_projected_form(n: int = 3) -> Check:
    """‖z″ − ⟨z″,T⟩T‖²/‖z′‖² (the estimator's form) equals the same ratio."""
    a = sp.Symbol("alpha", real=True)
    z = _curve(n, a)
    d1 = [sp.diff(c, a) for c in z]
    d2 = [sp.diff(c, a) for c in d1]
    s2 = _dot(d1, d1)
    proj = [q - _dot(d2, d1) / s2 * p for p, q in zip(d1, d2)]
    lhs = _dot(proj, proj) / s2
    rhs = (s2 * _dot(d2, d2) - _dot(d1, d2) ** 2) / s2**2
    ok = _is_zero(sp.together(lhs - rhs))
    return Check(
        FAMILY,
        f"‖z″ − ⟨z″,T⟩T‖/‖z′‖ equals the same integrand (n = {n})",
        ok,
        "difference of squares simplifies to 0" if ok else "residual does not simplify to 0",
    )


def check_loss_derivative(n: int = 4) -> Check:
    """d/dα ‖z(α) − z*‖² = −2⟨z* − z(α), z′(α)⟩."""
    a = sp.Symbol("alpha", real=True)
    z = _curve(n, a)
    zs = sp.symbols(f"zs1:{n + 1}", real=True)
    loss = sum(((c - s) ** 2 for c, s in zip(z, zs)), sp.Integer(0))
    claim = -2 * _dot([s - c for c, s in zip(z, zs)], [sp.diff(c, a) for c in z])
    ok = _is_zero(sp.diff(loss, a) - claim)
    return Check(
        FAMILY,
        f"L′(α) = −2⟨z* − z, z′⟩ (components, n = {n})",
        ok,
        "difference expands to 0" if ok else "residual does not expand to 0",
    )


def check_arc_chord() -> Check:
    """On a circle of radius R, ‖z(a) − z(b)‖ = 2R sin(ρ/2) with ρ = b − a, and it increases on ρ ∈ [0, π]."""
    r = sp.Symbol("R", positive=True)
    a, b = sp.symbols("a b", real=True)
    rho = sp.Symbol("rho", nonnegative=True)
    chord2 = (r * sp.cos(b) - r * sp.cos(a)) ** 2 + (r * sp.sin(b) - r * sp.sin(a)) ** 2
    identity = _is_zero(sp.expand_trig(chord2 - 4 * r**2 * sp.sin((b - a) / 2) ** 2))
    slope = sp.diff(2 * r * sp.sin(rho / 2), rho)  # R cos(ρ/2)
    lowest = sp.minimum(slope / r, rho, sp.Interval(0, sp.pi))
    # cos(ρ/2) ≥ 0 on [0, π] with its only zero at ρ = π: the chord is strictly increasing there.
    strict = sp.solveset(sp.cos(rho / 2), rho, sp.Interval.Ropen(0, sp.pi)) == sp.EmptySet
    ok = bool(identity and lowest == 0 and strict)
    return Check(
        FAMILY,
        "arc chord 2R sin(ρ/2) is strictly increasing in the remaining angle ρ ∈ [0, π]",
        ok,
        f"chord² identity {identity}; d/dρ = {slope}, min over [0, π] of cos(ρ/2) = {lowest}, no zero in [0, π)",
    )


def check_tightness_sign() -> Check:
    """Piecewise-linear limit: z(0) = 0, first leg εe₁, then v = (cos φ, sin φ), φ = π/2 + δ, z* = εe₁ + v.

    Then L′(0) = −2⟨z* − z(0), e₁⟩ = 2(sin δ − ε), positive exactly when ε < sin δ; with ε = ½ sin δ it is sin δ.
    """
    delta, eps = sp.symbols("delta epsilon", positive=True)
    phi = sp.pi / 2 + delta
    z_star = sp.Matrix([eps + sp.cos(phi), sp.sin(phi)])
    e1 = sp.Matrix([1, 0])
    dl0 = -2 * (z_star.T * e1)[0]
    form = _is_zero(dl0 - 2 * (sp.sin(delta) - eps))
    half = sp.simplify(dl0.subs(eps, sp.sin(delta) / 2))
    positive_on = sp.solveset(half > 0, delta, sp.Interval.Lopen(0, sp.Rational(3, 10)))
    ok = bool(form and positive_on == sp.Interval.Lopen(0, sp.Rational(3, 10)))
    return Check(
        FAMILY,
        "tightness: L′(0) = 2(sin δ − ε) > 0 iff ε < sin δ; ε = ½ sin δ gives L′(0) = sin δ > 0 on δ ∈ (0, 0.3]",
        ok,
        f"L′(0) = {sp.simplify(dl0)}; with ε = ½ sin δ: {half}",
    )


def check_smoothed_turn() -> Check:
    """The smoothed turn z(α) = εk₁A(α)e₁ + k₂B(α)v, A′ = 1 − h, B′ = h, h a step from 0 to 1.

    Its velocity εk₁(1−h)e₁ + k₂hv and acceleration h′(k₂v − εk₁e₁) have cross product εk₁k₂h′ cos δ ≥ 0: the
    direction angle never decreases, so it turns by exactly φ and G = φ = π/2 + δ. At α = 0 (h = 0), with
    z(1) − z(0) = εe₁ + v, L′(0) = −2εk₁⟨εe₁ + v, e₁⟩ = 2εk₁(sin δ − ε), the limit's sign.
    """
    delta, eps, k1, k2, h, dh = sp.symbols("delta epsilon k1 k2 h hprime", positive=True)
    phi = sp.pi / 2 + delta
    e1 = sp.Matrix([1, 0])
    v = sp.Matrix([sp.cos(phi), sp.sin(phi)])
    vel = eps * k1 * (1 - h) * e1 + k2 * h * v
    acc = dh * (k2 * v - eps * k1 * e1)
    cross = sp.simplify(vel[0] * acc[1] - vel[1] * acc[0])
    turning = _is_zero(cross - eps * k1 * k2 * dh * sp.cos(delta))
    dl0 = -2 * ((eps * e1 + v).T * vel.subs(h, 0))[0]
    sign = _is_zero(dl0 - 2 * eps * k1 * (sp.sin(delta) - eps))
    ok = bool(turning and sign)
    return Check(
        FAMILY,
        "smoothed turn: z′ × z″ = εk₁k₂h′cos δ ≥ 0 (monotone turning, G = π/2 + δ); L′(0) = 2εk₁(sin δ − ε)",
        ok,
        f"z′ × z″ = {cross}; L′(0) = {sp.factor(dl0)}",
    )


def checks() -> list[Check]:
    """Every proof step of Theorem 3 checked symbolically."""
    return [
        check_integrand_identity(3),
        check_projected_form(3),
        check_loss_derivative(4),
        check_arc_chord(),
        check_tightness_sign(),
        check_smoothed_turn(),
    ]
