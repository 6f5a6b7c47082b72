"""Smoke test of chapter 8's figures (Agg)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from icrl_lib.plotting import depth_figure, error_curves, floor_plot, linear_vs_softmax_figure, tabular_gap_plot  # noqa: E402,E501


def test_softmax_figures():
    fig, ax = plt.subplots()
    error_curves(ax, {"a": torch.rand(5), "b": np.ones(5)}, "layer", "error", "t", hlines={"h": 0.5},
                 dashed={"ref": np.linspace(1, 0.1, 5)})
    tabular_gap_plot(ax, np.logspace(-1, 2, 4), np.array([1, 0.1, 1e-5, 0.0]))
    floor_plot(ax, [10, 100], np.array([0.3, 0.1]), -0.5)
    plt.close(fig)
    fig = depth_figure({100: torch.rand(6), 400: torch.rand(6)}, np.ones(6), np.array([0.2, 0.1]), -0.5)
    assert len(fig.axes) == 2
    plt.close(fig)
    curves = {(m, s): torch.rand(4) for m in ("lin", "soft") for s in ("one-hot", "random")}
    fig = linear_vs_softmax_figure(curves, {"fix": 0.3}, "random")
    assert len(fig.axes) == 2 and len(fig.axes[1].get_lines()) == 3
    plt.close(fig)
