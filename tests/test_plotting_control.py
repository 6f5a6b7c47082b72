"""Smoke tests of icrl_lib.plotting.control (chapter 7's figures), headless (Agg)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from icrl_lib import plotting

F64 = torch.float64
NAMES = {"sarsa": "SARSA", "actor-critic": "actor-critic"}


def _curves(B=5, K=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {name: torch.rand(B, K + 1, generator=g, dtype=F64) for name in ("transformer", "teacher")}


def test_plot_control_curves_draws_each_agent_with_band():
    fig, ax = plt.subplots()
    curves = {**_curves(), "oracle": torch.ones(5, 7, dtype=F64), "random": torch.zeros(5, 7, dtype=F64)}
    plotting.plot_control_curves(ax, curves, "title")
    labels = [line.get_label() for line in ax.get_lines()]
    assert set(plotting.AGENT_LABELS.values()) <= set(labels) and ax.get_title() == "title"
    assert len(ax.collections) == 4  # one band per agent
    plt.close(fig)


def test_context_length_long_run_shift_and_bound_figures():
    grid = (10, 20, 40)
    by_n = {alg: {"transformer": [torch.rand(5, dtype=F64)] * 3, "teacher": [torch.rand(5, dtype=F64)] * 3,
                  "one_step": [0.02, 0.01, 0.03]} for alg in NAMES}
    fig, axes = plt.subplots(1, 2)
    plotting.plot_context_length(axes, grid, by_n, NAMES)
    assert axes[1].get_yscale() == "log" and len(axes[0].get_lines()) == 4 + 1  # 4 curves + training line
    plt.close(fig)

    fig, axes = plt.subplots(1, 2)
    plotting.plot_long_run(axes, {alg: _curves(seed=i) for i, alg in enumerate(NAMES)}, NAMES)
    assert len(axes[0].get_lines()) == 4 and len(axes[1].collections) == 2
    plt.close(fig)

    entry = {"norm": torch.rand(5, dtype=F64), "rel": torch.rand(5, dtype=F64) + 0.1}
    logs = {alg: [entry] * 4 for alg in NAMES}
    by_scale = {alg: {"block": [0.1, 0.2], "masked": [0.1, 0.1], "step": [1.0, 2.0]} for alg in NAMES}
    fig, axes = plt.subplots(1, 3)
    plotting.plot_distribution_shift(axes, logs, {a: 3.8 for a in NAMES}, (1, 2), by_scale, NAMES)
    assert axes[2].get_xscale() == "log" and len(axes[2].get_lines()) == 4
    plt.close(fig)

    fig, axes = plt.subplots(1, 2)
    plotting.plot_error_bound(axes, [0.1, 0.2], [0.3, 0.5], [5, 4])
    assert len(axes[0].get_lines()) == 2 and axes[0].get_yscale() == "log"
    plt.close(fig)
