"""Hypothesis strategies shared by the property tests (one place, as the conventions ask)."""

from __future__ import annotations

import math

from hypothesis import strategies as st

seeds = st.integers(min_value=0, max_value=2**31 - 1)
dims = st.integers(min_value=2, max_value=50)


@st.composite
def polynomial_curves(draw, min_dim=2, max_dim=6, max_degree=5, min_speed_term=1.0):
    """Coefficients ``(degree + 1, n)`` of a polynomial curve z(α) = Σ_k c_k α^k whose velocity is kept away from
    zero by a dominant linear term (so quadrature references are well conditioned)."""
    import numpy as np

    n = draw(st.integers(min_value=min_dim, max_value=max_dim))
    deg = draw(st.integers(min_value=2, max_value=max_degree))
    seed = draw(seeds)
    rng = np.random.default_rng(seed)
    coef = rng.normal(size=(deg + 1, n))
    coef[1] *= 0.0
    coef[1, 0] = min_speed_term + np.abs(coef[2:, 0]).sum() * np.arange(2, deg + 1).max()
    return coef


loss_curves = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=60
)


@st.composite
def batch_splits(draw, n: int = 12):
    """Sizes of consecutive batches that partition ``n`` examples (each at least 1)."""
    sizes = []
    left = n
    while left:
        s = draw(st.integers(min_value=1, max_value=left))
        sizes.append(s)
        left -= s
    return sizes


# ---- Theorem 3 (mlitheory.theorem3) -------------------------------------------------------------------------


@st.composite
def theorem3_random_curves(draw, min_dim=2, max_dim=50):
    """Keyword arguments of a random curve ending at z*: ``{"kind": "bezier" | "polynomial", "dim", "degree",
    "size", "seed"}``; ``size`` (the bend of a Bézier, the scale of a polynomial's higher terms) is drawn mostly
    small so that most curves have Gauss length below π/2."""
    kind = draw(st.sampled_from(["bezier", "polynomial"]))
    dim = draw(st.integers(min_value=min_dim, max_value=max_dim))
    degree = draw(st.integers(min_value=2, max_value=6))
    top = 0.5 / degree if kind == "bezier" else 0.6
    size = draw(st.floats(min_value=0.0, max_value=top, allow_nan=False))
    seed = draw(seeds)
    return {"kind": kind, "dim": dim, "degree": degree, "size": size, "seed": seed}


#: excess turn δ of the tightness construction: uniform on [1e-12, 0.3] and log-uniform down to 1e-12 (below
#: about 1e-13 the rise L′(0) = 2 sin²δ is under the float64 rounding of L′, see the xfail in test_theorem3).
turn_deltas = st.one_of(
    st.floats(min_value=1e-12, max_value=0.3, allow_nan=False),
    st.floats(min_value=-12.0, max_value=math.log10(0.3), allow_nan=False).map(lambda e: 10.0**e),
)

#: angles of circular arcs whose Gauss length is at least π/2 and that are still monotone
arc_angles = st.floats(min_value=math.pi / 2, max_value=math.pi, allow_nan=False)
# --- bias plateau (mlitheory.bias_plateau) ------------------------------------------------------------------------


@st.composite
def bias_plateau_problems(draw, *, balanced: bool = False, integer_r: bool = False, margin: bool = False):
    """An instance ``(g_T, b_T, y, r)`` of decomposition (1): signal (n, k), output bias (k,), labels (n,), degree.

    ``balanced``: every class has the same number of points. ``integer_r``: r in {2, 3, 4, 5, 8}. ``margin``: the
    label's signal is raised above every other class by at least 0.5, so the final margin m > 0.

    Entries are multiples of 1/8 in [-5, 5]: differences are exact, gaps are 0 or >= 1/8, so hypotheses such as
    "unique largest bias" are decided exactly and no instance sits below floating-point resolution.
    """
    import numpy as np

    k = draw(st.integers(2, 5))
    if balanced:
        y = np.repeat(np.arange(k), draw(st.integers(1, 4)))
    else:
        y = np.asarray(draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=12)), dtype=np.int64)
    n = y.size
    vals = st.integers(-40, 40)
    g = np.asarray(draw(st.lists(vals, min_size=n * k, max_size=n * k)), dtype=np.float64).reshape(n, k) / 8
    b = np.asarray(draw(st.lists(vals, min_size=k, max_size=k)), dtype=np.float64) / 8
    if margin:
        others = np.where(np.arange(k)[None, :] == y[:, None], -np.inf, g).max(axis=1)
        g[np.arange(n), y] = np.maximum(g[np.arange(n), y], others + 0.5)
    if integer_r:
        r = draw(st.sampled_from([2, 3, 4, 5, 8]))
    else:
        r = draw(st.one_of(st.sampled_from([2, 3, 4, 5, 8]), st.floats(1.25, 10.0)))
    return g, b, y, r


# --- two-layer linear networks (issue 5) -------------------------------------------------------------------------
#: initialisation scales across the range of the reference checks (1e-3 … 2), drawn log-uniformly
init_scales = st.floats(min_value=-3.0, max_value=0.30103, allow_nan=False).map(lambda e: 10.0**e)
#: how the second-layer factors relate to the first: independent, balanced (b = a), or near the a = −b saddle
decoupled_kinds = st.sampled_from(["independent", "balanced", "near_saddle"])
training_times = st.floats(min_value=0.0, max_value=50.0, allow_nan=False)
small_dims = st.integers(min_value=2, max_value=6)


@st.composite
def decoupled_runs(draw):
    """``(d, m, k, scale, kind, T, seed)`` for a decoupled two-layer linear run."""
    d, m = draw(small_dims), draw(small_dims)
    k = draw(st.integers(min_value=1, max_value=min(d, m)))
    return d, m, k, draw(init_scales), draw(decoupled_kinds), draw(training_times), draw(seeds)


# --- wide networks / NTK (issue 5) -------------------------------------------------------------------------------
#: step sizes as a fraction ηλ_max (passed as ``eta_lambda_max``, so one λ_max decides the regime): the safe side
#: of Lemma 7a up to and including the boundary 1 (inside the rounding allowance it is the safe side by the rule of
#: ``lemma7a_regime``), and the odd-T danger zone (1, 2) kept 1e-9 away from both boundaries, far beyond the
#: allowance ``lambda_max_rtol`` (≤ 1e-13 here), so that the regime is the drawn one whatever the eigensolver.
#: The boundaries themselves are tested on purpose in test_lemma7 (test_7a_regime_at_the_boundary_…).
REGIME_MARGIN = 1e-9
safe_step_fractions = st.floats(min_value=1e-3, max_value=1.0, allow_nan=False)
unsafe_step_fractions = st.floats(min_value=1.0 + REGIME_MARGIN, max_value=2.0 - REGIME_MARGIN, allow_nan=False)
gd_steps = st.integers(min_value=1, max_value=60)


def decoupled_factors(kind, k, scale, rng):
    """Initial mode strengths (a₀, b₀) of a decoupled two-layer linear init: balanced, near the a = −b saddle,
    or independent, at the given scale (``rng`` a NumPy Generator)."""
    a0 = scale * rng.standard_normal(k)
    if kind == "balanced":
        return a0, a0.copy()
    if kind == "near_saddle":
        return a0, -a0 * (1 - 10 ** rng.uniform(-4, -1))
    return a0, scale * rng.standard_normal(k)
