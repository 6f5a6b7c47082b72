"""Figures of chapter 9 (supervised pretraining: Algorithm Distillation and DPT): the framework diagram, the
distribution ratio, the imitation-error rate, regret curves from the committed results and the Dark Room
returns."""
from __future__ import annotations

import numpy as np

from ._style import PALETTE, to_numpy

__all__ = ["framework_diagram", "ratio_figure", "rate_plot", "regret_panels", "regret_curves", "darkroom_plot"]


def framework_diagram(ax):
    """The pretraining framework of [LBM24] as five boxes and the three label choices (chapter 9, section 1)."""
    ax.set_axis_off()
    boxes = [
        (0.06, "prior $\\Lambda$\ntask $M$"),
        (0.25, "context algorithm\n$\\mathrm{Alg}_0$ plays $T$ rounds"),
        (0.46, "trajectory\n$D_T$"),
        (0.65, "expert labels\n$\\bar a_t \\sim \\mathrm{Alg}_E(\\cdot|D_T, M)$"),
        (0.88, "MLE $\\hat\\theta$:\n$\\sum_t \\log \\mathrm{Alg}_\\theta(\\bar a_t | D_{t-1}, s_t)$"),
    ]
    for x, text in boxes:
        ax.text(x, 0.6, text, ha="center", va="center", fontsize=10,
                bbox=dict(boxstyle="round,pad=0.5", fc="#eef3fb", ec="#3b6db3"))
    for (x0, _), (x1, _) in zip(boxes[:-1], boxes[1:]):
        ax.annotate("", xy=(x1 - 0.075, 0.6), xytext=(x0 + 0.075, 0.6), arrowprops=dict(arrowstyle="->", lw=1.5))
    cases = ("AD: $\\bar a_t = a_t$ (imitate $\\mathrm{Alg}_0$)   |   DPT: $\\bar a_t = a^\\star(M)$   |   "
             "approximate DPT: $\\bar a_t = \\hat a(D_T)$")
    ax.text(0.5, 0.08, cases, ha="center", va="center", fontsize=10)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    return ax


def ratio_figure(curves: dict, trajectory: dict, monte_carlo: dict):
    """Chapter 9, section 3, two panels. ``curves``: alpha -> per-round ratios ``R_1..R_T``; ``trajectory``:
    alpha -> (horizons, ratios) of the trajectory-level mixture (gray); ``monte_carlo``: (alpha, T) -> (mean, se)
    (dots with two standard errors). Right: ``T^2 sqrt(R_T)`` for alpha in {0, 0.1, 0.5, 1}. Returns the
    figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.4))
    Ts = np.arange(1, len(next(iter(curves.values()))) + 1)
    for k, (a, c) in enumerate(curves.items()):
        axes[0].semilogy(Ts, c, color=PALETTE[k % len(PALETTE)], label=f"$\\alpha$ = {a}")
    axes[0].semilogy(Ts, 2.0 ** Ts, "k:", lw=1, label="$2^T$")
    for (a, (xs, ys)), style in zip(trajectory.items(), ("--", "-.", ":")):
        axes[0].semilogy(xs, ys, style, color="gray", label=f"trajectory mix, $\\alpha$ = {a}")
    for (a, T), (m, se) in monte_carlo.items():
        axes[0].errorbar([T], [m], yerr=[[min(2 * se, 0.9 * m)], [2 * se]], fmt="o", color="k", ms=3)
    axes[0].set_xlabel("horizon $T$")
    axes[0].set_ylabel("$\\mathcal{R}_T(\\alpha)$")
    axes[0].set_title("Distribution ratio (per-round exact; dots: MC)")
    axes[0].legend(fontsize=8)
    for k, (a, c) in enumerate(curves.items()):
        if a in (0.0, 0.1, 0.5, 1.0):
            axes[1].loglog(Ts, Ts ** 2 * np.sqrt(np.array(c)), color=PALETTE[k % len(PALETTE)],
                           label=f"$\\alpha$ = {a}")
    axes[1].set_xlabel("horizon $T$")
    axes[1].set_ylabel("$T^2 \\sqrt{\\mathcal{R}_T}$")
    axes[1].set_title("The bound's factor (times $1/\\sqrt{n}$)")
    axes[1].legend(fontsize=8)
    return fig


def rate_plot(ax, sizes, errors):
    """Chapter 9, section 3.2: the Hellinger error against the number of training trajectories, log-log, with
    an ``n^{-1/2}`` line through the first point."""
    sizes, errors = np.asarray(sizes, dtype=float), to_numpy(errors)
    ax.loglog(sizes, errors, "o-", color=PALETTE[0], label="measured")
    ax.loglog(sizes, errors[0] * (sizes / sizes[0]) ** -0.5, "k:", label="$n^{-1/2}$")
    ax.set_xlabel("training trajectories $n$")
    ax.set_ylabel("Hellinger error")
    ax.legend(fontsize=8)
    return ax


def regret_curves(ax, curves: dict, labels: dict, xlabel: str = "round $t$"):
    """Cumulative regret per round for each method (``curves[k]["regret"]``, labelled ``labels[k]``; chapter 9)."""
    for j, (k, label) in enumerate(labels.items()):
        reg = to_numpy(curves[k]["regret"])
        ax.plot(np.arange(1, len(reg) + 1), reg, color=PALETTE[j % len(PALETTE)], label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cumulative regret")
    ax.legend(fontsize=8)
    return ax


def regret_panels(curves: dict, labels: dict):
    """Chapter 9, section 4, two panels: cumulative regret, and per-round suboptimality (5-round moving mean)
    on a log scale, for each method of ``labels`` (``curves[k]`` holds ``"regret"`` and ``"suboptimality"``).
    Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.4))
    regret_curves(axes[0], curves, labels)
    for j, (k, label) in enumerate(labels.items()):
        sub = np.convolve(to_numpy(curves[k]["suboptimality"]), np.ones(5) / 5, mode="valid")
        axes[1].semilogy(np.arange(3, len(sub) + 3), sub, color=PALETTE[j % len(PALETTE)], label=label)
    axes[1].set_xlabel("round $t$")
    axes[1].set_ylabel("suboptimality per round (5-round mean)")
    axes[1].set_title("log scale")
    return fig


def darkroom_plot(ax, returns: dict, optimal: float):
    """Chapter 9, section 4: return per online episode, mean and two standard errors. ``returns``: label ->
    (result, split, marker style), ``result[split]`` holding ``"mean"`` and ``"se"`` lists; a dotted line at
    ``optimal``."""
    for j, (label, (res, split, style)) in enumerate(returns.items()):
        m, se = np.array(res[split]["mean"]), np.array(res[split]["se"])
        ax.errorbar(np.arange(1, len(m) + 1), m, yerr=2 * se, fmt=style, ms=3, capsize=2, label=label,
                    color=PALETTE[j % len(PALETTE)])
    ax.axhline(optimal, color="k", ls=":", lw=1, label="optimal (held-out)")
    ax.set_xlabel("online episode (training seed 0)")
    ax.set_ylabel("return")
    ax.legend(fontsize=7)
    return ax
