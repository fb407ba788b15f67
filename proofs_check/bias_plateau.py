"""SymPy checks of the proof steps behind the bias plateau (``mlitheory.bias_plateau``).

Each check states one step of the reference ``theory_bias_plateau.md`` (§3 and §4) and confirms it symbolically:
an expression that must vanish is simplified to 0, or an identity is expanded on both sides.
"""

from __future__ import annotations

import sympy as sp

from proofs_check import Check

FAMILY = "Bias plateau (Wang et al. 2023)"


def _zero(expr) -> tuple[bool, str]:
    res = sp.simplify(sp.expand(expr))
    return res == 0, "simplifies to 0" if res == 0 else f"residual {res}"


def _mat(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}{i}{j}", real=True))


def _vec(name: str, n: int) -> sp.Matrix:
    return sp.Matrix(n, 1, lambda i, _j: sp.Symbol(f"{name}{i}", real=True))


def _decomposition() -> Check:
    """(1) for a depth-3 linear network with an output bias only."""
    a = sp.Symbol("alpha", positive=True)
    W = [_mat(f"W{i}_", 2, 2) for i in range(3)]
    x, b = _vec("x", 2), _vec("b", 2)
    f_alpha = (a * W[2]) * (a * W[1]) * (a * W[0]) * x + a * b
    g_T = W[2] * W[1] * W[0] * x
    ok, how = _zero((f_alpha - (a**3 * g_T + a * b)).norm() ** 2)
    return Check(FAMILY, "(1) f(x; αθ_T) = α^r g_T(x) + α b_T (depth-3 linear, output bias)", ok, how)


def _deep_linear() -> Check:
    """(2) for L = 3 with a bias in every layer."""
    a = sp.Symbol("alpha", positive=True)
    W = [_mat(f"W{i}_", 2, 2) for i in range(3)]
    bs = [_vec(f"b{i}_", 2) for i in range(3)]
    x = _vec("x", 2)
    h = x
    for Wl, bl in zip(W, bs):
        h = (a * Wl) * h + a * bl
    rhs = a**3 * W[2] * W[1] * W[0] * x + a**3 * W[2] * W[1] * bs[0] + a**2 * W[2] * bs[1] + a * bs[2]
    ok, how = _zero(sum(e**2 for e in (h - rhs)))
    return Check(FAMILY, "(2) deep linear net: f(x; αθ_T) = α^L A x + Σ_ℓ α^{L−ℓ+1} W_L⋯W_{ℓ+1} b_ℓ (L = 3)", ok, how)


def _relu_homogeneity() -> Check:
    """σ(c u) = c σ(u) for c > 0 and either sign of u: the induction step of (3) for ReLU nets."""
    c, s = sp.symbols("c s", positive=True)
    relu = lambda t: sp.Max(0, t)
    pos = sp.simplify(relu(c * s) - c * relu(s))
    neg = sp.simplify(relu(-c * s) - c * relu(-s))
    ok = pos == 0 and neg == 0
    return Check(
        FAMILY, "ReLU is positively homogeneous: max(0, c u) = c max(0, u), c > 0", ok, f"u > 0: {pos}, u < 0: {neg}"
    )


def _homogeneous_scaling() -> Check:
    """(3): {c W_ℓ, c^ℓ b_ℓ} maps the output to c^L f, for a linear net with L = 3 (ReLU by the step above)."""
    c = sp.Symbol("c", positive=True)
    W = [_mat(f"W{i}_", 2, 2) for i in range(3)]
    bs = [_vec(f"b{i}_", 2) for i in range(3)]
    x = _vec("x", 2)
    h_c, h = x, x
    for ell, (Wl, bl) in enumerate(zip(W, bs), start=1):
        h_c = (c * Wl) * h_c + c**ell * bl
        h = Wl * h + bl
    ok, how = _zero(sum(e**2 for e in (h_c - c**3 * h)))
    return Check(FAMILY, "(3) f(x; {cW_ℓ, c^ℓ b_ℓ}) = c^L f(x; θ) (L = 3)", ok, how)


def _argmax_scaling() -> Check:
    """Proposition 1: the logits divided by α > 0 are α^{r−1} g + b."""
    a, r = sp.symbols("alpha r", positive=True)
    g, b = sp.symbols("g b", real=True)
    ok, how = _zero(sp.powsimp((a**r * g + a * b) / a - (a ** (r - 1) * g + b), force=True))
    return Check(FAMILY, "Prop. 1: (α^r g + α b)/α = α^{r−1} g + b, so the argmax is that of α^{r−1}g + b", ok, how)


def _cumulant_expansion(r: int) -> Check:
    """Loss of one point (label 0, k = 3) to order α³ against the closed-form coefficients."""
    a = sp.Symbol("alpha")
    k = 3
    b = sp.symbols("b0:3", real=True)
    g = sp.symbols("g0:3", real=True)
    z = [a * b[j] + a**r * g[j] for j in range(k)]
    loss = sp.log(sum(sp.exp(zj) for zj in z)) - z[0]
    series = sp.series(loss, a, 0, 4).removeO()
    bbar = sum(b) / k
    gbar = sum(g) / k
    var = sum((bj - bbar) ** 2 for bj in b) / k
    mu3 = sum((bj - bbar) ** 3 for bj in b) / k
    cov = sum((bj - bbar) * (gj - gbar) for bj, gj in zip(b, g)) / k
    M = g[0] - gbar
    c1 = bbar - b[0]
    c2 = var / 2 - (M if r == 2 else 0)
    c3 = mu3 / 6 - (M if r == 3 else 0) + (cov if r == 2 else 0)
    formula = sp.log(k) + c1 * a + c2 * a**2 + c3 * a**3
    ok, how = _zero(series - formula)
    return Check(
        FAMILY, f"Prop. 2 expansion, r = {r}: loss = log k + c1 α + c2 α² + c3 α³ + O(α⁴) (cumulants)", ok, how
    )


def _jensen_two_classes() -> Check:
    """LSE(z) ≥ log k + mean(z) for k = 2: the gap is log cosh((z1 − z2)/2) ≥ 0."""
    u, v = sp.symbols("u v", real=True)
    gap = sp.log(sp.exp(u) + sp.exp(v)) - sp.log(2) - (u + v) / 2
    target = sp.log(sp.cosh((u - v) / 2))
    diff = sp.simplify(sp.expand_log(sp.exp(gap - target).rewrite(sp.exp), force=True))
    ok = sp.simplify(diff - 1) == 0
    return Check(
        FAMILY, "Prop. 2 (Jensen), k = 2: LSE(z) − log 2 − mean z = log cosh((z₁−z₂)/2) ≥ 0", ok, f"ratio {diff}"
    )


def _toy_gradients() -> list[Check]:
    """∂L/∂w_c and ∂L/∂b_j of the toy model (k = 3, symbolic r), and Σ_j ∂L/∂b_j = 0."""
    k = 3
    r = sp.Symbol("r", positive=True)
    w = sp.symbols("w0:3", positive=True)
    b = sp.symbols("b0:3", real=True)
    logits = [[b[j] + (w[c] ** r if j == c else 0) for j in range(k)] for c in range(k)]
    L = sum(sp.log(sum(sp.exp(z) for z in row)) - row[c] for c, row in enumerate(logits)) / k
    p = [[sp.exp(z) / sum(sp.exp(zz) for zz in row) for z in row] for row in logits]
    out = []
    gw = sp.diff(L, w[0]) - (r / k) * w[0] ** (r - 1) * (p[0][0] - 1)
    ok, how = _zero(gw)
    out.append(Check(FAMILY, "toy model: ∂L/∂w_c = (r/k) w_c^{r−1} (p_c(e_c) − 1)", ok, how))
    gb = sp.diff(L, b[1]) - (sum(p[c][1] for c in range(k)) - 1) / k
    ok, how = _zero(gb)
    out.append(Check(FAMILY, "toy model: ∂L/∂b_j = (Σ_c p_j(e_c) − 1)/k", ok, how))
    ok, how = _zero(sum(sp.diff(L, bj) for bj in b))
    out.append(Check(FAMILY, "toy model: Σ_j ∂L/∂b_j = 0 (mean bias conserved by GD and momentum)", ok, how))
    return out


def _escape_time() -> Check:
    """w(t) = B(t)^{−1/(r−2)} with B = w0^{−(r−2)} − (r−2) a t solves w' = a w^{r−1} (r > 2) and blows up where
    B = 0, at t* = w0^{−(r−2)}/(a(r−2)), which is the reference's formula for a = (r/k)(1 − 1/k)."""
    t, a, w0, q, k, B = sp.symbols("t a w0 q k B", positive=True)
    r = 2 + q  # r > 2
    w = B ** (-1 / q)
    dB_dt = -q * a  # B is affine in t while it is positive
    ode = sp.simplify(sp.powsimp(sp.diff(w, B) * dB_dt / w ** (r - 1), force=True) - a)
    base = w0 ** (-q) - q * a * t
    t_star = sp.solve(sp.Eq(base, 0), t)[0]
    ref = k * w0 ** (-q) / (r * q * (1 - 1 / k))
    same = sp.simplify(t_star.subs(a, (r / k) * (1 - 1 / k)) - ref)
    start = sp.simplify(w.subs(B, base.subs(t, 0)) - w0)
    ok = ode == 0 and same == 0 and start == 0
    return Check(
        FAMILY,
        "toy model: ẇ = (r/k)(1−1/k) w^{r−1} blows up at t* = k (εu)^{−(r−2)} / (r(r−2)(1−1/k))",
        ok,
        f"ODE residual {ode}, w(0) − w0 {start}, t* − reference {same}",
    )


def _toy_closed_form_loss() -> Check:
    """Σ_j e^{z_j} on input e_0 equals Σ_j e^{B_j} + e^{B_0}(e^{s} − 1) (the closed-form loss curve)."""
    B = sp.symbols("B0:3", real=True)
    s = sp.Symbol("s", nonnegative=True)
    z = [B[0] + s, B[1], B[2]]
    ok, how = _zero(sum(sp.exp(zj) for zj in z) - (sum(sp.exp(Bj) for Bj in B) + sp.exp(B[0]) * (sp.exp(s) - 1)))
    return Check(
        FAMILY, "toy model: closed-form loss curve, Σ_j e^{B_j} + e^{B_c}(e^{s_c} − 1) inside the log", ok, how
    )


def checks() -> list[Check]:
    """Every proof step of the family."""
    out = [
        _decomposition(),
        _deep_linear(),
        _relu_homogeneity(),
        _homogeneous_scaling(),
        _argmax_scaling(),
        *(_cumulant_expansion(r) for r in (2, 3, 4)),
        _jensen_two_classes(),
        *_toy_gradients(),
        _escape_time(),
        _toy_closed_form_loss(),
    ]
    return out
