"""Smoke test of icrl_lib.plotting.foundations (chapters 1-2), headless (Agg)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from icrl_lib.plotting import (plot_batch_td, plot_lsa_training, plot_normalized_returns,  # noqa: E402
                               plot_regression_weights, plot_td0_errors, plot_value_iteration)

F64 = torch.float64


def test_chapter_1_figures():
    err = 0.9 ** torch.arange(20, dtype=F64)
    fig, axes = plt.subplots(1, 2)
    plot_value_iteration(axes, 0.99 * err, err)
    assert len(axes[0].lines) == 2 and axes[1].get_legend() is not None
    fig, ax = plt.subplots()
    plot_td0_errors(ax, {"a": torch.rand(3, 11, dtype=F64) + 0.1, "b": torch.rand(3, 11, dtype=F64) + 0.1})
    assert ax.get_xscale() == "log" and len(ax.get_legend().get_texts()) == 2
    fig, ax = plt.subplots()
    plot_batch_td(ax, torch.rand(6, 4, dtype=F64), torch.zeros(4, dtype=F64), torch.ones(4, dtype=F64), 500)
    assert "500" in ax.get_xlabel()
    fig, ax = plt.subplots()
    plot_normalized_returns(ax, {"x": (torch.rand(5, 8, dtype=F64), "C0", "-")}, "title", 200)
    assert ax.get_title() == "title" and len(ax.get_legend().get_texts()) == 3
    plt.close("all")


def test_chapter_2_figures():
    fig, axes = plt.subplots(2, 2)
    mats = [(torch.eye(4, dtype=F64), f"M{i}") for i in range(4)]
    plot_regression_weights(axes, mats, 3, vmax=1.0)
    assert [ax.get_title() for ax in axes.ravel()] == ["M0", "M1", "M2", "M3"]
    fig, axes = plt.subplots(1, 2)
    losses = torch.rand(200, dtype=F64) + 1
    smooth = torch.ones(101, dtype=F64)
    plot_lsa_training(axes, losses, smooth, torch.arange(0, 200, 25), torch.ones(8, dtype=F64),
                      torch.zeros(8, dtype=F64), 1.5, 0.8, 4)
    assert "100 steps" in axes[0].get_legend().get_texts()[1].get_text()
    plt.close("all")
