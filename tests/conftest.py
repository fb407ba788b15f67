"""Shared test set-up: Hypothesis profiles, float64 by default, one thread for steady timings."""

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

# `ci`: bounded and fast, the default run. `thorough`: many examples for deep runs.
settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("dev", max_examples=10, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def float64_default():
    """float64 as torch's default dtype for one test module (``pytestmark = usefixtures(...)``), restored after."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
