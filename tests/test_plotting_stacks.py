"""Smoke test of icrl_lib.plotting.stacks (chapter 11's figures), headless."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from icrl_lib.plotting import depth_control_figure, shift_figure, steps_figure


def test_figures_draw():
    x = torch.rand(5, 7, dtype=torch.float64)
    fig = depth_control_figure({"L = 1": x, "L = 2": x, "alpha = 2": x})
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 2
    plt.close(fig)
    fig = shift_figure({"a": (0.001, 0.9, (0.0, 0.01)), "b": (0.3, 0.8, (0.1, 0.02))})
    assert [t.get_text() for t in fig.axes[0].texts] == ["b"]
    plt.close(fig)
    fig = steps_figure({"online sarsa, alpha = 0.1": (np.arange(7), x), "in-context, N = 10, L = 1": (np.arange(7), x)})
    assert len(fig.axes[0].lines) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match="runs"):
        depth_control_figure({"L = 2": x})
