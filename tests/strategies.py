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
