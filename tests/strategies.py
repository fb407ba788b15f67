"""Hypothesis strategies shared by the property tests (one place, as the conventions ask)."""

from __future__ import annotations

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
#: step sizes as a fraction of 1/λ_max: the safe side of Lemma 7a, and the odd-T danger zone (1, 2)
safe_step_fractions = st.floats(min_value=1e-3, max_value=1.0, allow_nan=False)
unsafe_step_fractions = st.floats(min_value=1.0, max_value=2.0, exclude_min=True, exclude_max=True, allow_nan=False)
gd_steps = st.integers(min_value=1, max_value=60)
