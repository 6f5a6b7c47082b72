"""Smoke test of icrl_lib.plotting.bandits (chapter 10's figures), Agg backend."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from icrl_lib.plotting import (plot_depth_errors, plot_layers_vs_condition, plot_linucb_errors,  # noqa: E402
                               plot_regret_curves)


def test_bandit_figures_draw():
    fig, axes = plt.subplots(1, 5)
    err = 0.5 ** torch.arange(10.0)
    plot_depth_errors(axes[0], {"a": (err, err * 2)}, "t")
    assert len(axes[0].lines) == 2
    plot_layers_vs_condition(axes[1], [10, 100], {"plain": [20, 200], "nesterov": [10, 30]},
                             {"plain": 1.0, "nesterov": 0.5})
    assert len(axes[1].lines) == 2
    plot_linucb_errors(axes[2:4], [5, 10], {"x": [1.0, 0.1]}, [2, 4], [0.5, 0.2])
    assert axes[3].get_title() == "Width (10 Nesterov layers)"
    plot_regret_curves(axes[4], {"m": torch.arange(5.0), "n": [0.0, 1.0]}, "r")
    assert len(axes[4].lines) == 2
    plt.close(fig)
