"""Smoke test of chapter 9's figures (Agg)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from icrl_lib.plotting import (darkroom_plot, framework_diagram, rate_plot, ratio_figure,  # noqa: E402
                               regret_curves, regret_panels)


def test_pretraining_figures():
    fig, ax = plt.subplots()
    framework_diagram(ax)
    rate_plot(ax, [100, 400], [0.1, 0.05])
    curves = {k: {"regret": np.cumsum(np.ones(12)), "suboptimality": np.linspace(1, 0.1, 12)} for k in ("a", "b")}
    regret_curves(ax, curves, {"a": "A", "b": "B"})
    res = {"test": {"mean": [1.0, 2.0], "se": [0.1, 0.1]}}
    darkroom_plot(ax, {"x": (res, "test", "-o")}, 3.0)
    plt.close(fig)
    fig = ratio_figure({0.0: list(2.0 ** np.arange(1, 6)), 1.0: [1.0] * 5}, {0.5: ([1, 2, 5], [1.0, 1.2, 1.5])},
                       {(0.0, 3): (8.0, 1.0)})
    assert len(fig.axes) == 2
    plt.close(fig)
    fig = regret_panels(curves, {"a": "A", "b": "B"})
    assert len(fig.axes) == 2
    plt.close(fig)
