"""Figures of chapter 8 (softmax attention implements weighted softmax TD): error curves over iterations or
layers, the tabular limit against the inverse temperature, and the depth floor against the context length."""
from __future__ import annotations

import numpy as np

from ._style import PALETTE, to_numpy

__all__ = ["error_curves", "tabular_gap_plot", "floor_plot", "depth_figure", "linear_vs_softmax_figure"]


def error_curves(ax, curves: dict, xlabel: str, ylabel: str | None = None, title: str | None = None,
                 hlines: dict | None = None, dashed: dict | None = None, fontsize: int = 8):
    """One log-scale curve per entry of ``curves`` (label -> 1-D errors over iterations/layers), optional
    black dashed reference curves ``dashed`` (label -> 1-D), dashed horizontal lines ``hlines`` (label ->
    level, coloured like the curves in order), a legend (chapter 8)."""
    for k, (label, err) in enumerate(curves.items()):
        ax.semilogy(np.maximum(to_numpy(err), 1e-16), label=label, color=PALETTE[k % len(PALETTE)])
    for label, ref in (dashed or {}).items():
        ax.semilogy(to_numpy(ref), "k--", lw=1, label=label)
    for k, (label, level) in enumerate((hlines or {}).items()):
        ax.axhline(float(level), color=PALETTE[k % len(PALETTE)], ls="--", lw=1, label=label)
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=fontsize)
    return ax


def tabular_gap_plot(ax, betas, gaps):
    """Chapter 8, section 4: the distance to batch tabular TD against ``beta`` on log-log axes."""
    ax.loglog(to_numpy(betas), np.maximum(to_numpy(gaps), 1e-17), marker="o", ms=3, color=PALETTE[0])
    ax.set_xlabel("$\\beta$ (one-hot features scaled by $\\sqrt{\\beta}$)")
    ax.set_ylabel("$\\max_j |v_{10}(S_j) - v^{\\mathrm{tab}}_{10}(S_j)|$")
    ax.set_title("Softmax TD tends to per-state batch TD")
    return ax


def floor_plot(ax, ns, floors, slope: float):
    """Chapter 8, section 5: the error floor against the context length ``n`` with the ``n^{-1/2}`` line."""
    ns, floors = np.asarray(ns, dtype=float), to_numpy(floors)
    ax.loglog(ns, floors, "o-", color=PALETTE[0], label=f"floor, slope {slope:.2f}")
    ax.loglog(ns, floors[0] * (ns / ns[0]) ** -0.5, "k--", lw=1, label="$n^{-1/2}$")
    ax.set_xlabel("context length $n$")
    ax.set_title("The floor shrinks like $n^{-1/2}$")
    ax.legend(fontsize=8)
    return ax


def depth_figure(mean_errors: dict, reference, floors, slope: float):
    """Chapter 8, section 5, two panels: the mean sup-norm error against depth for each context length
    (``mean_errors``: n -> (L+1,) errors) with the dashed reference rate ``reference`` (L+1,), and the floor
    (error after the last layer) against ``n`` (:func:`floor_plot`). Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.4))
    error_curves(axes[0], {f"n = {n}": err for n, err in mean_errors.items()}, "layers $L$",
                 "mean $\\|v_L - v_\\pi\\|_\\infty$ (visited states)", "Geometric decay, then a floor",
                 dashed={"$(1 - C)^L$, median C": reference})
    floor_plot(axes[1], list(mean_errors), floors, slope)
    return fig


def linear_vs_softmax_figure(curves: dict, fixed_points: dict | None = None, fixed_panel: str | None = None):
    """Chapter 8, section 7: one panel per feature setting, the mean error of linear ([W25]) and softmax ([X26])
    attention against the number of layers. ``curves``: (method, setting) -> (L+1,) errors; ``fixed_points``
    (label -> level) are drawn as dashed lines on the panel of setting ``fixed_panel``. Returns the figure."""
    import matplotlib.pyplot as plt

    settings = list(dict.fromkeys(s for _, s in curves))
    methods = list(dict.fromkeys(m for m, _ in curves))
    fig, axes = plt.subplots(1, len(settings), figsize=(10.5, 3.4), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], settings):
        error_curves(ax, {m: curves[(m, name)] for m in methods if (m, name) in curves}, "layers $L$",
                     title=f"{name} features", hlines=fixed_points if name == fixed_panel else None)
    axes[0, 0].set_ylabel("mean $|\\hat v(S_n) - v_\\pi(S_n)|$")
    return fig
