"""Figures of chapter 10 (transformers as LinUCB, Thompson sampling and UCB-VI): each draws on the ``ax`` it is
given and takes the data as arguments."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ._style import PALETTE, to_numpy

__all__ = ["plot_depth_errors", "plot_layers_vs_condition", "plot_linucb_errors", "plot_regret_curves"]


def plot_depth_errors(ax, curves: dict, title: str = ""):
    """Relative error against depth on a log scale: ``curves`` maps a label to ``(err, bound)`` (L + 1,) each;
    the bound is dashed in the curve's colour. Chapter 10."""
    for i, (name, (err, bound)) in enumerate(curves.items()):
        color = PALETTE[i % len(PALETTE)]
        ax.semilogy(np.clip(to_numpy(err), 1e-17, None), label=name, color=color)
        ax.semilogy(to_numpy(bound), "--", color=color, lw=1)
    ax.set_ylim(1e-16, 2)
    ax.set_xlabel("layers $L$")
    ax.set_ylabel("$\\|w_L - w^\\star\\| / \\|w^\\star\\|$")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_layers_vs_condition(ax, kappas, counts: dict, slopes: dict, title: str = ""):
    """Layers to a tolerance against the condition number, log-log: ``counts`` and ``slopes`` keyed
    ``"plain"`` and ``"nesterov"``. Chapter 10."""
    for key, label, marker in (("plain", "gradient descent", "o-"), ("nesterov", "Nesterov", "s-")):
        ax.loglog(kappas, counts[key], marker, label=f"{label} (slope {slopes[key]:.2f})")
    ax.set_xlabel("condition number $\\kappa$")
    ax.set_ylabel("layers to relative error $10^{-6}$")
    ax.legend(fontsize=8)
    ax.xaxis.set_minor_formatter(plt.NullFormatter())  # no overlapping minor labels
    ax.set_title(title)
    return ax


def plot_linucb_errors(axes, depths, depth_err: dict, widths, width_err):
    """Two panels: max ``|log p - log p*|`` against depth (one curve per entry of ``depth_err``) and against the
    width of the square-root MLP. Chapter 10."""
    for name, errs in depth_err.items():
        axes[0].semilogy(depths, errs, "o-", label=name)
    axes[0].set_xlabel("ridge layers $L$")
    axes[0].set_ylabel("max $|\\log p - \\log p^\\star|$")
    axes[0].set_title("Depth (MLP width 32)")
    axes[0].legend(fontsize=8)
    axes[1].loglog(widths, width_err, "o-", color=PALETTE[2])
    axes[1].set_xlabel("ReLUs per arm in the square-root MLP")
    axes[1].set_title(f"Width ({max(depths)} Nesterov layers)")
    return axes


def plot_regret_curves(ax, curves: dict, title: str = ""):
    """Mean cumulative regret against the round: ``curves`` maps a label to a curve (T,). Chapter 10."""
    for name, curve in curves.items():
        curve = to_numpy(curve)
        ax.plot(np.arange(1, len(curve) + 1), curve, label=name)
    ax.set_xlabel("round $t$")
    ax.set_ylabel("mean cumulative regret")
    ax.legend(fontsize=8)
    ax.set_title(title)
    return ax
