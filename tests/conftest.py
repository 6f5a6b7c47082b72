"""Shared test configuration: deterministic hypothesis runs, one torch thread, headless matplotlib.

The hypothesis profile is derandomized (examples derive from each test's source, not from the clock) and
keeps no example database, so two runs of the suite execute exactly the same examples.
"""
from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "icrl",
    derandomize=True,
    deadline=None,
    max_examples=50,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# A heavier profile for occasional local runs: HYPOTHESIS_PROFILE=icrl-thorough pytest tests
settings.register_profile("icrl-thorough", parent=settings.get_profile("icrl"), max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "icrl"))

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test opened so that memory and pyplot state do not leak between tests."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
