"""Proof steps of the exact tools for ReLU networks and of Theorem 3 with corners, checked with SymPy.

The exact tools (``mlitheory.piecewise``) rest on four algebraic facts, and Theorem 3 for piecewise-smooth curves on
one step at a corner (``theory_piecewise_paths.md`` §1–4):

1. at a corner $c$ of a continuous piecewise-polynomial curve, the one-sided derivatives of
   $L=\\|z-z^*\\|^2$ are $L'(c^\\pm)=-2\\langle z^*-z(c),z'(c^\\pm)\\rangle$, the derivatives of the pieces
   (the limits of the difference quotients from each side);
2. on a quadratic piece $z'=b+2c\\alpha$ turns monotonically (the planar cross product $z'\\times z''$ is
   constant), so its smooth Gauss length is the angle between $z'$ at its ends;
3. one hidden layer: when neuron $j$ flips, the output polynomial changes by the rank-one term
   $\\pm(W_2+\\alpha\\Delta W_2)_{:,j}(p_j+\\alpha q_j)$;
4. the kink-blind counterexample $z=(1,2\\alpha)$ then straight to 0: both legs straight (smooth part 0), the
   corner's exterior angle is $3\\pi/4$, and $\\|z\\|^2=1+4\\alpha^2$ rises on the first leg;
5. the tightness polygon (a leg $\\varepsilon e_1$, then a leg at angle $\\pi/2+\\delta$): the exterior
   angle is $\\pi/2+\\delta$ and $L'(0^+)>0$ exactly when $\\varepsilon<\\sin\\delta$.
"""

from __future__ import annotations

import sympy as sp

from proofs_check import Check

__all__ = ["checks"]

FAMILY = "Exact ReLU paths / Theorem 3 with corners"


def _dot(u, v) -> sp.Expr:
    return sum((a * b for a, b in zip(u, v)), sp.Integer(0))


def check_one_sided_derivatives(n: int = 2) -> Check:
    """L′(c±) from the limits of the difference quotients of L = ‖z − z*‖² on the two pieces meeting at c."""
    al, c, h = sp.symbols("alpha c h", real=True)
    p = sp.symbols(f"p0:{n}", real=True)  # z(c), shared by both pieces (continuity)
    u = sp.symbols(f"u0:{n}", real=True)  # left piece: z = p + u(α−c) + v(α−c)²
    v = sp.symbols(f"v0:{n}", real=True)
    w = sp.symbols(f"w0:{n}", real=True)  # right piece: z = p + w(α−c) + s(α−c)²
    s = sp.symbols(f"s0:{n}", real=True)
    zs = sp.symbols(f"y0:{n}", real=True)  # z*
    left = [pi + ui * (al - c) + vi * (al - c) ** 2 for pi, ui, vi in zip(p, u, v)]
    right = [pi + wi * (al - c) + si * (al - c) ** 2 for pi, wi, si in zip(p, w, s)]

    def loss(z):
        return _dot([zi - yi for zi, yi in zip(z, zs)], [zi - yi for zi, yi in zip(z, zs)])

    l_c = loss(p)
    q_right = (loss([e.subs(al, c + h) for e in right]) - l_c) / h
    q_left = (loss([e.subs(al, c - h) for e in left]) - l_c) / (-h)
    d_right = sp.limit(sp.expand(q_right), h, 0, "+")
    d_left = sp.limit(sp.expand(q_left), h, 0, "+")
    want_r = -2 * _dot([y - q for y, q in zip(zs, p)], w)
    want_l = -2 * _dot([y - q for y, q in zip(zs, p)], u)
    ok = sp.expand(d_right - want_r) == 0 and sp.expand(d_left - want_l) == 0
    return Check(
        FAMILY,
        "L′(c±) = −2⟨z* − z(c), z′(c±)⟩ at a corner (limits of the one-sided difference quotients)",
        ok,
        "both one-sided limits equal the pieces' derivatives"
        if ok
        else f"residuals {d_right - want_r}, {d_left - want_l}",
    )


def check_quadratic_turning() -> Check:
    """z′ = b + 2cα (planar): z′ × z″ = 2(b × c) does not depend on α, so the tangent turns one way."""
    al = sp.Symbol("alpha", real=True)
    b1, b2, c1, c2 = sp.symbols("b1 b2 c1 c2", real=True)
    d1 = [b1 + 2 * c1 * al, b2 + 2 * c2 * al]
    d2 = [sp.diff(e, al) for e in d1]
    cross = sp.expand(d1[0] * d2[1] - d1[1] * d2[0])
    ok = sp.diff(cross, al) == 0 and sp.expand(cross - 2 * (b1 * c2 - b2 * c1)) == 0
    return Check(
        FAMILY,
        "quadratic piece: z′ × z″ = 2(b × c) is constant (monotone turning: smooth part = ∠(z′(lo), z′(hi)))",
        ok,
        "the cross product is independent of α" if ok else "the cross product depends on α",
    )


def check_rank_one_update(h: int = 3, k: int = 2) -> Check:
    """Flipping neuron j of one hidden layer changes the output by ±(W₂ + αΔW₂)[:, j] (p_j + α q_j)."""
    al = sp.Symbol("alpha", real=True)
    w = sp.Matrix(k, h, lambda i, j: sp.Symbol(f"w{i}{j}", real=True))
    dw = sp.Matrix(k, h, lambda i, j: sp.Symbol(f"d{i}{j}", real=True))
    p = sp.Matrix(h, 1, lambda i, _: sp.Symbol(f"p{i}", real=True))
    q = sp.Matrix(h, 1, lambda i, _: sp.Symbol(f"q{i}", real=True))
    d_before = sp.diag(1, 0, 1)
    d_after = sp.diag(1, 1, 1)  # neuron 1 turns on
    a1 = p + al * q
    out = (w + al * dw) * d_after * a1 - (w + al * dw) * d_before * a1
    want = (w + al * dw)[:, 1] * (p[1] + al * q[1])
    ok = (out - want).expand() == sp.zeros(k, 1)
    return Check(
        FAMILY,
        "one hidden layer: a neuron flip changes the output by the rank-one term (W₂ + αΔW₂)_{:,j}(p_j + αq_j)",
        ok,
        "difference of the two pattern polynomials expands to the rank-one term" if ok else "residual is not zero",
    )


def check_kink_blind_counterexample() -> Check:
    """z = (1, 2α) on [0, ½], then (2 − 2α)(1, 1): smooth part 0, corner 3π/4, ‖z‖² rises from 1 to 2."""
    al = sp.Symbol("alpha", real=True)
    leg1 = [sp.Integer(1), 2 * al]
    leg2 = [2 - 2 * al, 2 - 2 * al]
    half = sp.Rational(1, 2)
    joins = all(sp.simplify(a.subs(al, half) - b.subs(al, half)) == 0 for a, b in zip(leg1, leg2))
    ends = [e.subs(al, 1) for e in leg2] == [0, 0]
    straight = all(sp.diff(e, al, 2) == 0 for e in leg1 + leg2)
    t1 = [sp.diff(e, al) for e in leg1]
    t2 = [sp.diff(e, al) for e in leg2]
    cos = sp.simplify(_dot(t1, t2) / sp.sqrt(_dot(t1, t1) * _dot(t2, t2)))
    angle = sp.simplify(sp.acos(cos))
    l1 = sp.expand(_dot(leg1, leg1))
    rising = sp.expand(sp.diff(l1, al)) == 8 * al and l1.subs(al, half) == 2 and l1.subs(al, 0) == 1
    ok = joins and ends and straight and angle == 3 * sp.pi / 4 and rising
    return Check(
        FAMILY,
        "kink-blind counterexample: both legs straight (G_smooth = 0), corner 3π/4, ‖z‖² = 1 + 4α² rises to 2",
        ok,
        f"corner angle {angle}, ‖z‖² = {l1} on the first leg" if ok else f"angle {angle}, loss {l1}",
    )


def check_tightness_polygon() -> Check:
    """Leg ε e₁ on [0, c], then v = (−sin δ, cos δ): exterior angle π/2 + δ; L′(0⁺) = 2ε(sin δ − ε)/c."""
    eps, delta, c = sp.symbols("epsilon delta c", positive=True)
    v = [-sp.sin(delta), sp.cos(delta)]
    z_star = [eps + v[0], v[1]]
    z0 = [sp.Integer(0), sp.Integer(0)]
    dz0 = [eps / c, sp.Integer(0)]  # velocity of the first leg
    slope = -2 * _dot([a - b for a, b in zip(z_star, z0)], dz0)
    want = 2 * eps * (sp.sin(delta) - eps) / c
    cos = _dot([1, 0], v)  # unit vectors
    ok_slope = sp.simplify(slope - want) == 0
    ok_angle = sp.simplify(cos + sp.sin(delta)) == 0  # cos θ = −sin δ = cos(π/2 + δ)
    ok = ok_slope and ok_angle
    return Check(
        FAMILY,
        "tightness polygon: exterior angle π/2 + δ, L′(0⁺) = 2ε(sin δ − ε)/c > 0 iff ε < sin δ",
        ok,
        "slope and angle simplify to the closed forms" if ok else "residual does not simplify to 0",
    )


def checks() -> list[Check]:
    return [
        check_one_sided_derivatives(),
        check_quadratic_turning(),
        check_rank_one_update(),
        check_kink_blind_counterexample(),
        check_tightness_polygon(),
    ]
