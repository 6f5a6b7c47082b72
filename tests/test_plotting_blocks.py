"""Smoke tests of icrl_lib.plotting.blocks (chapters 4-5) with the Agg backend."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from icrl_lib import plotting  # noqa: E402
from icrl_lib.incontext import sarsa_construction  # noqa: E402


def test_block_figures():
    P, V = sarsa_construction(2, 0.5, 0.9)
    blocks = [("phi", 2), ("phi'", 2), ("r", 1), ("1", 1), ("w", 2)]
    fig = plotting.construction_heatmaps(P, V, blocks, ("P", "V"))
    assert len(fig.axes) == 4
    fig2, ax = plt.subplots()
    plotting.prompt_heatmap(ax, torch.rand(8, 4), blocks, "prompt")
    assert ax.get_xlabel().startswith("token")
    with pytest.raises(ValueError, match="H"):
        plotting.prompt_heatmap(ax, torch.rand(8), blocks)
    plt.close("all")


def test_curves_spectrum_and_fits():
    fig, ax = plt.subplots()
    plotting.run_curves(ax, np.random.rand(3, 11), label="a")
    plotting.run_curves(ax, np.random.rand(3, 11), every=5, label="b")
    plotting.reference_lines(ax, 1.0, 0.0, "top", "bottom")
    labels = [line.get_label() for line in ax.lines]
    assert labels.count("a") == 1 and labels.count("b") == 1 and "top" in labels
    with pytest.raises(ValueError, match="every"):
        plotting.run_curves(ax, np.random.rand(3, 11), every=0)
    fig, ax = plt.subplots()
    plotting.spectrum_plot(ax, {"d": (torch.tensor([3.0, 1.0, 1e-20]), 2, "rank 2")})
    assert len(ax.lines) == 2
    fig, ax = plt.subplots()
    x = np.linspace(-1, 1, 21)
    fits = {3: np.polynomial.Polynomial.fit(x, np.tanh(x), 3)}
    plotting.polynomial_fit_plot(ax, x, np.tanh(x), fits, (-1, 1), "tanh")
    with pytest.raises(ValueError, match="window"):
        plotting.polynomial_fit_plot(ax, x, np.tanh(x), fits, (1, -1), "tanh")
    plt.close("all")
