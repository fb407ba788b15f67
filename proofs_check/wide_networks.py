"""Proof steps of Lemma 7 (``mlitheory.wide.lemma7``), checked with SymPy.

7a: the convex quadratic q and its end slope; r0ᵀ(M − M²)r0 for symmetric M; the spectral cases (η ≤ 1/λ_max,
even T with η < 2/λ_max, gradient flow) and the odd-T counterexample. 7b: the algebra of the derivative bound
and the threshold √2 − 1.
"""

from __future__ import annotations

import sympy as sp

from proofs_check import Check

FAMILY = "Wide networks (Lemma 7)"


def _zero(expr, step: str, how: str) -> Check:
    res = sp.simplify(sp.expand(expr))
    return Check(FAMILY, step, bool(res == 0), how if res == 0 else f"residual {res}")


def _empty(conds, var, domain, step: str) -> Check:
    """The set of ``var`` in ``domain`` where any of ``conds`` (violations) holds is empty."""
    conds = conds if isinstance(conds, (list, tuple)) else [conds]
    bad = sp.Union(*[sp.solveset(c, var, domain) for c in conds])
    return Check(FAMILY, step, bad == sp.S.EmptySet, f"solveset of the violation on {domain}: {bad}")


def _lemma7a() -> list[Check]:
    al = sp.symbols("alpha", real=True)
    r0 = sp.Matrix(sp.symbols("p1:4", real=True))
    r1 = sp.Matrix(sp.symbols("q1:4", real=True))
    r = r0 + al * (r1 - r0)
    q = (r.T * r)[0] / 2
    out = [
        _zero(sp.diff(q, al).subs(al, 1) - ((r1.T * r1)[0] - (r0.T * r1)[0]), "q'(1) = ‖r₁‖² − ⟨r₀,r₁⟩", "expand"),
        _zero(
            sp.diff(q, al, 2) - ((r1 - r0).T * (r1 - r0))[0],
            "q'' = ‖r₁ − r₀‖² ≥ 0: q convex, so q non-increasing on [0,1] ⇔ q'(1) ≤ 0",
            "expand",
        ),
    ]
    a, b, c = sp.symbols("a b c", real=True)
    M = sp.Matrix([[a, b], [b, c]])
    x = sp.Matrix(sp.symbols("x1:3", real=True))
    Mx = M * x
    out.append(
        _zero(
            (x.T * Mx)[0] - (Mx.T * Mx)[0] - (x.T * (M - M * M) * x)[0],
            "⟨r₀, M r₀⟩ − ‖M r₀‖² = r₀ᵀ(M − M²)r₀ for symmetric M (≥ 0 when spec(M) ⊂ [0,1])",
            "expand",
        )
    )
    mu = sp.symbols("mu", real=True)
    out.append(_empty(mu - mu**2 < 0, mu, sp.Interval(0, 1), "μ − μ² ≥ 0 for every eigenvalue μ ∈ [0, 1]"))
    h = sp.symbols("h", real=True)  # h = ηλ
    out.append(_empty([1 - h < 0, 1 - h > 1], h, sp.Interval(0, 1), "η ≤ 1/λ_max: 1 − ηλ ∈ [0, 1] for ηλ ∈ [0, 1]"))
    out.append(
        _empty(
            (1 - h) ** 2 > 1,
            h,
            sp.Interval(0, 2),
            "even T, η ≤ 2/λ_max: (1 − ηλ)^T = ((1 − ηλ)²)^{T/2} with (1 − ηλ)² ∈ [0, 1]",
        )
    )
    y = sp.symbols("y", real=True)  # y = λt ≥ 0
    out.append(_empty([sp.exp(-y) > 1, sp.exp(-y) <= 0], y, sp.Interval(0, sp.oo), "gradient flow: e^{−λt} ∈ (0, 1]"))
    mu1 = 1 - sp.Rational(3, 2)  # T = 1, ηλ = 3/2, r₀ an eigenvector
    val = mu1 - mu1**2
    out.append(
        Check(
            FAMILY,
            "odd T counterexample: T = 1, ηλ = 3/2, r₀ on that eigenvector: ⟨r₀,r₁⟩ − ‖r₁‖² = −3/4 < 0",
            bool(val == sp.Rational(-3, 4)),
            f"μ − μ² = {val}",
        )
    )
    return out


def _lemma7b() -> list[Check]:
    al, V, eps = sp.symbols("alpha V epsilon", nonnegative=True)
    # worst case of −⟨(1−α)v + e₁, v + e₂⟩ with ‖e₁‖ ≤ (1−α)ε, ‖e₂‖ ≤ ε (Cauchy–Schwarz on each cross term)
    lower = (1 - al) * V**2 - (1 - al) * V * eps - (1 - al) * eps * V - (1 - al) * eps * eps
    out = [
        _zero(
            lower - (1 - al) * (V**2 - 2 * eps * V - eps**2),
            "⟨(1−α)v + e₁, v + e₂⟩ ≥ (1−α)(‖v‖² − 2ε‖v‖ − ε²), so L′ ≤ −2(1−α)(‖v‖² − 2ε‖v‖ − ε²)",
            "expand",
        )
    ]
    x = sp.symbols("x", real=True)  # x = ε/‖v‖
    pos = sp.solveset(1 - 2 * x - x**2 > 0, x, sp.Interval(0, sp.oo))
    out.append(
        Check(
            FAMILY,
            "‖v‖² − 2ε‖v‖ − ε² > 0 ⇔ ε/‖v‖ < √2 − 1",
            pos == sp.Interval.Ropen(0, sp.sqrt(2) - 1),
            f"solveset: {pos}",
        )
    )
    # sharpness: the two-leg curve (mlitheory.wide.lemma7.two_leg_curve), ‖v‖ = 1, p = v + ε(−c v̂ ± s n), c² + s² = 1
    c, r = sp.symbols("c r", positive=True)
    inner = 1 - 2 * r * c + r**2 * (2 * c**2 - 1)  # ⟨p_u, p_w⟩ for ‖v‖ = 1, ε = r
    (c_star,) = sp.solve(sp.diff(inner, c), c)
    out.append(
        _zero(
            inner.subs(c, c_star) - (sp.Rational(1, 2) - r**2),
            "two-leg curve: min over c of ⟨p_u, p_w⟩ is at c = 1/(2r) (r ≥ 1/2) and equals ‖v‖²/2 − ε²",
            f"d/dc = 0 at c = {c_star}; expand",
        )
    )
    neg = sp.solveset(sp.Rational(1, 2) - x**2 < 0, x, sp.Interval(sp.Rational(1, 2), sp.oo))
    out.append(
        Check(
            FAMILY,
            "two-leg curve rises before its corner ⇔ ε/‖v‖ > 1/√2: √2 − 1 is sufficient, not sharp",
            neg == sp.Interval.open(1 / sp.sqrt(2), sp.oo),
            f"solveset: {neg}",
        )
    )
    return out


def checks() -> list[Check]:
    """All proof steps of Lemma 7."""
    return _lemma7a() + _lemma7b()
