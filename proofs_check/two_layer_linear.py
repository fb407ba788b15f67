"""Proof steps of the two-layer linear MLI statement (``mlitheory.two_layer_linear``), checked with SymPy.

Steps: the interpolated mode curve and its end velocities; the mode dynamics (conservation, the strength
equation, the Riccati closed form used by
[`mlitheory.two_layer_linear.dynamics.mode_closed_form`][mlitheory.two_layer_linear.dynamics.mode_closed_form], Saxe's
sigmoid); the hyperbolic parametrisation step of the proof of (C1) in every case; and (C2) from (C1).
"""

from __future__ import annotations

import sympy as sp

from proofs_check import Check

FAMILY = "Two-layer linear (A.1)"


def _zero(expr, step: str, how: str) -> Check:
    res = sp.simplify(expr)
    return Check(FAMILY, step, bool(res == 0), how if res == 0 else f"residual {res}")


def _curve_steps() -> list[Check]:
    al, a0, b0, aT, bT = sp.symbols("alpha a0 b0 a_T b_T", real=True)
    c = ((1 - al) * a0 + al * aT) * ((1 - al) * b0 + al * bT)
    B = a0 * bT + b0 * aT
    u0, uT = a0 * b0, aT * bT
    dc = sp.diff(c, al)
    out = [
        _zero(dc.subs(al, 0) - (B - 2 * u0), "c'(0) = B − 2u(0)", "expand"),
        _zero(dc.subs(al, 1) - (2 * uT - B), "c'(1) = 2u(T) − B", "expand"),
        _zero(sp.diff(c, al, 3), "c is quadratic in α (c''' = 0), so c' is affine", "differentiate"),
        _zero(
            dc - ((1 - al) * dc.subs(al, 0) + al * dc.subs(al, 1)),
            "c'(α) = (1−α)c'(0) + α c'(1): the velocity sweeps a segment, G = ∠(c'(0), c'(1))",
            "expand",
        ),
        _zero(
            (B - 2 * u0) * (2 * uT - B) - ((dc.subs(al, 0)) * (dc.subs(al, 1))),
            "(C2) ⟨c'(0),c'(1)⟩ = Σ (B−2u₀)(2u_T−B): each term ≥ 0 under (C1), so G ≤ π/2",
            "expand",
        ),
    ]
    # balanced case: c = [(1−α)√u0 + α√uT]², c'(0) = 2P, c'(1) = 2(P + Q)
    r0, rT = sp.symbols("r0 r_T", positive=True)  # r = √u
    cb = ((1 - al) * r0 + al * rT) ** 2
    P, Q = (rT - r0) * r0, (rT - r0) ** 2
    out.append(
        _zero(
            sp.diff(cb, al).subs(al, 0) - 2 * P + sp.diff(cb, al).subs(al, 1) - 2 * (P + Q),
            "balanced: c'(0) = 2P, c'(1) = 2(P+Q), P = (√u_T−√u₀)√u₀, Q = (√u_T−√u₀)²",
            "expand",
        )
    )
    return out


def _dynamics_steps() -> list[Check]:
    a, b, s, tau, t = sp.symbols("a b s tau t", real=True)
    adot = b * (s - a * b) / tau
    bdot = a * (s - a * b) / tau
    u = a * b
    cc = a**2 - b**2
    out = [
        _zero(2 * a * adot - 2 * b * bdot, "d/dt (a² − b²) = 0 along τȧ = b(s−ab), τḃ = a(s−ab)", "expand"),
        _zero(
            tau * (adot * b + a * bdot) - (a**2 + b**2) * (s - u),
            "τ u̇ = (a² + b²)(s − u)",
            "expand",
        ),
        _zero((a**2 + b**2) ** 2 - (cc**2 + 4 * u**2), "(a² + b²)² = c² + 4u²", "expand"),
    ]
    # Riccati equations for P = (a+b)², Q = (a−b)²
    p, q = a + b, a - b
    Pdot = 2 * p * (adot + bdot)
    Qdot = 2 * q * (adot - bdot)
    out.append(
        _zero(
            tau * Pdot + sp.Rational(1, 2) * (p**4 - 4 * s * p**2 - cc**2),
            "τ Ṗ = −½(P² − 4sP − c²), P = (a+b)²",
            "expand",
        )
    )
    out.append(
        _zero(
            tau * Qdot + sp.Rational(1, 2) * (q**4 + 4 * s * q**2 - cc**2),
            "τ Q̇ = −½(Q² + 4sQ − c²), Q = (a−b)²",
            "expand",
        )
    )
    # closed forms solve them
    sp_, c, X0, Y0 = sp.symbols("s c X0 Y0", positive=True)
    D = sp.sqrt(4 * sp_**2 + c**2)
    e = sp.exp(-D * t / tau)
    g = (1 - e) / (2 * D)
    Pm = -(c**2) / (2 * sp_ + D)
    Qp = c**2 / (2 * sp_ + D)
    Pt = Pm + X0 / (e + X0 * g)
    Qt = Qp + Y0 * e / (1 + Y0 * g)
    out.append(
        _zero(
            tau * sp.diff(Pt, t) + sp.Rational(1, 2) * (Pt**2 - 4 * sp_ * Pt - c**2),
            "P(t) = P₋ + X₀/(e + X₀g) solves the P-Riccati (P₋ = −c²/(2s+D), e = e^{−Dt/τ}, g = (1−e)/2D)",
            "differentiate, simplify",
        )
    )
    out.append(
        _zero(
            tau * sp.diff(Qt, t) + sp.Rational(1, 2) * (Qt**2 + 4 * sp_ * Qt - c**2),
            "Q(t) = Q₊ + Y₀e/(1 + Y₀g) solves the Q-Riccati (Q₊ = c²/(2s+D))",
            "differentiate, simplify",
        )
    )
    u0 = sp.symbols("u0", positive=True)
    E = sp.exp(2 * sp_ * t / tau)
    ub = sp_ * E / (E - 1 + sp_ / u0)
    out.append(
        _zero(
            tau * sp.diff(ub, t) - 2 * ub * (sp_ - ub),
            "balanced (a² + b² = 2u): Saxe's sigmoid u = s e^{2st/τ}/(e^{2st/τ} − 1 + s/u₀) solves τu̇ = 2u(s−u)",
            "differentiate, simplify",
        )
    )
    return out


def _hyperbolic_steps() -> list[Check]:
    f0, fT = sp.symbols("phi0 phi_T", real=True)
    k = sp.symbols("k", positive=True)  # k = √|c|
    out = []
    for case, (A, Bf) in {
        "c > 0: a = √c cosh φ, b = √c sinh φ": (sp.cosh, sp.sinh),
        "c < 0: a = √−c sinh φ, b = √−c cosh φ": (sp.sinh, sp.cosh),
    }.items():
        a0, b0, aT, bT = k * A(f0), k * Bf(f0), k * A(fT), k * Bf(fT)
        sign = 1 if A is sp.cosh else -1
        B = a0 * bT + b0 * aT
        u0, uT = a0 * b0, aT * bT
        out.append(_zero(a0**2 - b0**2 - sign * k**2, f"{case}: a² − b² = c", "rewrite exp, simplify"))
        out.append(
            _zero(
                (2 * u0 - k**2 * sp.sinh(2 * f0)).rewrite(sp.exp),
                f"{case}: 2u = |c| sinh 2φ",
                "rewrite exp, simplify",
            )
        )
        out.append(
            _zero(
                (B - k**2 * sp.sinh(f0 + fT)).rewrite(sp.exp),
                f"{case}: B = |c| sinh(φ₀ + φ_T)",
                "rewrite exp, simplify",
            )
        )
        # (B − 2u0)(2uT − B) = 4c² cosh((3φ0+φT)/2) cosh((φ0+3φT)/2) sinh²((φT−φ0)/2) ≥ 0
        prod = (B - 2 * u0) * (2 * uT - B)
        closed = 4 * k**4 * sp.cosh((3 * f0 + fT) / 2) * sp.cosh((f0 + 3 * fT) / 2) * sp.sinh((fT - f0) / 2) ** 2
        res = sp.simplify((prod - closed).rewrite(sp.exp))
        nonneg = closed.is_nonnegative
        out.append(
            Check(
                FAMILY,
                f"{case}: (B−2u₀)(2u_T−B) = 4c² cosh·cosh·sinh² ≥ 0, i.e. B lies between 2u₀ and 2u_T",
                bool(res == 0 and nonneg),
                "sinh-difference identity, then SymPy sign assumptions" if res == 0 and nonneg else f"residual {res}",
            )
        )
    a0, aT = sp.symbols("a0 a_T", real=True)
    # c = 0 and a = b: B = 2 a0 aT; c = 0 and a = −b: B = −2 a0 aT
    for case, sgn in (("c = 0, a = b", 1), ("c = 0, a = −b (saddle)", -1)):
        b0, bT = sgn * a0, sgn * aT
        B = a0 * bT + b0 * aT
        prod = (B - 2 * a0 * b0) * (2 * aT * bT - B)
        target = 4 * a0 * aT * (aT - a0) ** 2
        out.append(
            _zero(
                prod - target,
                f"{case}: (B−2u₀)(2u_T−B) = 4a₀a_T(a_T−a₀)² ≥ 0 iff a₀, a_T share their sign",
                "expand",
            )
        )
    return out


def checks() -> list[Check]:
    """All proof steps of the two-layer linear family."""
    return _curve_steps() + _dynamics_steps() + _hyperbolic_steps()
