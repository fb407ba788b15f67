"""Hypothesis strategies shared by the property tests (one place, as the conventions ask)."""

from __future__ import annotations

from hypothesis import strategies as st

seeds = st.integers(min_value=0, max_value=2**31 - 1)
dims = st.integers(min_value=2, max_value=50)
