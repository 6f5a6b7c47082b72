"""Chapter 11's figures: control curves of stacked layers against larger steps, the distribution-shift
scatter, and return against environment steps. Each takes the data and returns the figure it draws."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from ._style import METHOD_COLORS, PALETTE, line_with_band, to_numpy

__all__ = ["depth_control_figure", "shift_figure", "steps_figure"]


def _band(x):
    x = torch.as_tensor(x, dtype=torch.float64)
    m, h = x.mean(0), 1.96 * x.std(0, unbiased=True) / x.shape[0] ** 0.5
    return m, m - h, m + h


def depth_control_figure(runs: dict, baseline: str = "L = 1"):
    """Two panels of normalised return (mean and 95% band over MDPs) against the round (chapter 11): the runs
    named ``"L = ..."`` left, the others (one layer with a larger step) right, with ``runs[baseline]`` repeated
    there as ``alpha = 1``. ``runs``: ``{name: x (n_mdps, K+1)}``."""
    if not isinstance(runs, dict) or baseline not in runs:
        raise ValueError(f"runs must be a dict of (n_mdps, K+1) curves that contains {baseline!r}")
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8), sharey=True)
    for j, (name, x) in enumerate(runs.items()):
        ax = axes[0] if name.startswith("L") else axes[1]
        line_with_band(ax, np.arange(x.shape[-1]), *_band(x), label=name, color=PALETTE[j % len(PALETTE)])
    x = runs[baseline]
    line_with_band(axes[1], np.arange(x.shape[-1]), *_band(x), label=f"alpha = 1 ({baseline})", color=PALETTE[0])
    axes[0].set_title(r"$L$ stacked layers, $\alpha = 1$")
    axes[1].set_title(r"one layer, larger step $\alpha$")
    for ax in axes:
        ax.set_xlabel("round k")
        ax.legend(fontsize=8, loc="lower right")
    axes[0].set_ylabel("normalised return (mean, 95% band)")
    return fig


def shift_figure(shift: dict, label_above: float = 0.02):
    """The paired final return gap block - teacher (95% bars) against the median one-step error, one point per
    shift (chapter 11); points with an error or a gap above ``label_above`` are named. ``shift``: ``{name:
    (error, teacher return, (gap mean, half-width))}`` as from ``incontext.block_shift_study``."""
    if not isinstance(shift, dict) or not shift:
        raise ValueError("shift must be a non-empty dict name -> (error, teacher return, (gap, half-width))")
    names = list(shift)
    errs = np.array([float(shift[n][0]) for n in names])
    gaps = np.array([float(shift[n][2][0]) for n in names])
    halfs = np.array([float(shift[n][2][1]) for n in names])
    fig, ax = plt.subplots(figsize=(6.6, 3.9))
    ax.errorbar(errs, gaps, yerr=halfs, fmt="o", color=METHOD_COLORS["transformer"], ms=4, capsize=2)
    for n, e, g in zip(names, errs, gaps):
        if e > label_above or abs(g) > label_above:
            ax.annotate(n, (e, g), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("median one-step error on the shifted prompts (block vs shifted teacher)")
    ax.set_ylabel("final normalised return, block − teacher")
    ax.set_title(f"Distribution shift: {len(names)} conditions, 100 MDPs each")
    return fig


def steps_figure(curves: dict):
    """Mean normalised return against environment steps per MDP (chapter 11): ``curves`` ``{name: (steps,
    x (n_mdps, K+1))}``; names starting with ``online`` thick, in-context ``L = 1`` solid, deeper dashed."""
    if not isinstance(curves, dict) or not curves:
        raise ValueError("curves must be a non-empty dict name -> (steps, x)")
    fig, ax = plt.subplots(figsize=(7.4, 4.0))
    for j, (n, (s, x)) in enumerate(curves.items()):
        style = dict(lw=2.2) if n.startswith("online") else dict(lw=1.2, ls="-" if "L = 1" in n else "--")
        ax.plot(to_numpy(s), to_numpy(x).mean(0), color=PALETTE[j % len(PALETTE)], label=n, **style)
    ax.set_xlabel("environment steps per MDP")
    ax.set_ylabel("normalised return (mean over 100 MDPs)")
    ax.set_title("Return against environment steps")
    ax.legend(fontsize=7, loc="lower right", ncol=2)
    return fig
