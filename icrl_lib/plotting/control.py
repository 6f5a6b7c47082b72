"""Figures of chapter 7 (in-context control on held-out MDPs): each function draws on the axes it is given.

Curves are normalised returns ``(B, K+1)`` per agent (``B`` MDPs, rounds ``0..K``), drawn as the mean over
MDPs with a 95% band (:func:`icrl_lib.rl.mean_and_ci95`). Algorithms are keyed ``"sarsa"`` and
``"actor-critic"`` and coloured with :data:`METHOD_COLORS`; ``names`` maps them to display names.
"""
from __future__ import annotations

import numpy as np

from ..rl import mean_and_ci95
from ._style import METHOD_COLORS, line_with_band, to_numpy

__all__ = ["AGENT_LABELS", "plot_control_curves", "plot_context_length", "plot_long_run",
           "plot_distribution_shift", "plot_error_bound"]

#: Display names of the four agents of chapter 7.
AGENT_LABELS = {"transformer": "trained block", "teacher": "teacher (explicit update)",
                "oracle": r"oracle $\pi^*$", "random": "uniform random"}
_STYLE = {"transformer": dict(lw=1.6), "teacher": dict(lw=4, alpha=0.45), "oracle": dict(ls="--"),
          "random": dict(ls=":")}
_TEACHER, _BLOCK = dict(lw=4, alpha=0.4), dict(lw=1.4)


def plot_control_curves(ax, normalized: dict, title: str = "", legend: bool = True):
    """Mean normalised return per round with its 95% band for the agents of ``normalized`` ({name: (B, K+1)};
    teacher thick under the trained block, oracle dashed, random dotted; chapter 7)."""
    for name in ("teacher", "transformer", "oracle", "random"):
        if name not in normalized:
            continue
        m, h = mean_and_ci95(normalized[name])
        line_with_band(ax, np.arange(m.shape[-1]), m, m - h, m + h, label=AGENT_LABELS[name],
                       color=METHOD_COLORS[name], **_STYLE[name])
    ax.set_title(title)
    ax.set_xlabel("round k")
    if legend:
        ax.legend(loc="lower right")
    return ax


def plot_context_length(axes, n_grid, by_n: dict, names: dict, train_length: int = 40):
    """Two panels against the context length ``N`` (log axis): the mean final normalised return of teacher and
    block, and the median one-step error. ``by_n[alg]`` has ``"teacher"`` and ``"transformer"`` (lists over
    ``n_grid`` of (B,) final returns) and ``"one_step"`` (list of floats) (chapter 7)."""
    ax0, ax1 = axes
    for alg, marker in zip(by_n, "os^v"):
        c = METHOD_COLORS.get(alg)
        for name, style in (("teacher", _TEACHER), ("transformer", dict(_BLOCK, ms=4))):
            ax0.plot(n_grid, [float(x.mean()) for x in by_n[alg][name]], marker=marker, color=c,
                     label=f"{names[alg]}: {'teacher' if name == 'teacher' else 'trained block'}", **style)
        ax1.plot(n_grid, by_n[alg]["one_step"], marker=marker, color=c, label=names[alg])
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xticks(list(n_grid), [str(n) for n in n_grid])
        ax.axvline(train_length, color="black", lw=0.8, ls=":")
        ax.set_xlabel(f"context length N (training length {train_length} dotted)")
    ax0.set_ylabel("final normalised return (mean)")
    ax0.set_title("control after the last round")
    ax0.legend(fontsize=8)
    ax1.set_yscale("log")
    ax1.set_ylabel("median one-step error")
    ax1.set_title("block vs teacher on fresh prompts")
    ax1.legend()
    return axes


def plot_long_run(axes, long: dict, names: dict, ylim=(0.5, 1.0)):
    """Many rounds: mean normalised return of teacher (thick) and block (thin) per algorithm, and the paired
    difference block - teacher with its 95% band. ``long[alg]`` = {"transformer", "teacher": (B, K+1)} (chapter 7)."""
    ax0, ax1 = axes
    for alg, curves in long.items():
        c = METHOD_COLORS.get(alg)
        k = np.arange(curves["teacher"].shape[-1])
        for name, style in (("teacher", _TEACHER), ("transformer", _BLOCK)):
            ax0.plot(k, to_numpy(curves[name].mean(0)), color=c, label=f"{names[alg]}: {AGENT_LABELS[name]}",
                     **style)
        m, h = mean_and_ci95(curves["transformer"] - curves["teacher"])
        line_with_band(ax1, k, m, m - h, m + h, label=names[alg], color=c)
    ax0.set_ylim(*ylim)
    ax0.set_ylabel("normalised return (mean)")
    ax0.set_title("many rounds")
    ax0.legend(fontsize=8, loc="lower right")
    ax1.axhline(0, color="black", lw=0.8)
    ax1.set_ylabel("block − teacher (paired, 95% band)")
    ax1.set_title("difference of normalised returns")
    ax1.legend()
    for ax in axes:
        ax.set_xlabel("round k")
    return axes


def plot_distribution_shift(axes, logs: dict, train_norm: dict, scales, by_scale: dict, names: dict):
    """Three panels: the median norm of the behaviour parameters over the rounds against its training median
    (dashed), the block's median one-step error on its own prompts, and the median one-step error against the
    parameter scale ``c`` (solid; dashed with the query masked). ``logs[alg]``: the round entries of
    :func:`icrl_lib.training.recording_agent`; ``by_scale[alg]``: :func:`icrl_lib.training.scale_sweep` (chapter 7)."""
    ax0, ax1, ax2 = axes
    for alg, log in logs.items():
        c = METHOD_COLORS.get(alg)
        kk = np.arange(len(log))
        ax0.plot(kk, [float(e["norm"].median()) for e in log], color=c, label=f"{names[alg]}: control")
        ax0.axhline(train_norm[alg], color=c, ls="--", lw=1, label=f"{names[alg]}: training median")
        ax1.plot(kk, [float(e["rel"].median()) for e in log], color=c, label=names[alg])
        ax2.plot(scales, by_scale[alg]["block"], marker="o", color=c, label=f"{names[alg]}: block")
        ax2.plot(scales, by_scale[alg]["masked"], marker="o", color=c, ls="--", label=f"{names[alg]}: query masked")
    ax0.set_ylabel(r"median $\|w\|$ (SARSA), $\|\theta\|$ (actor-critic)")
    ax0.set_title("parameters leave the training range")
    ax1.set_ylabel("median one-step error")
    ax1.set_title("block error on its own prompts")
    ax2.set_ylabel("median one-step error")
    ax2.set_title("training prompts, parameters scaled by c")
    ax2.set_xlabel("parameter scale c (training: c = 1)")
    ax2.set_xscale("log", base=2)
    for ax in (ax0, ax1):
        ax.set_xlabel("round k")
    for ax in (ax1, ax2):
        ax.set_yscale("log")
    for ax in axes:
        ax.legend(fontsize=7)
    return axes


def plot_error_bound(axes, measured, bound, n_same):
    """The error-propagation check: median measured distance and median bound per round (log scale, rounds
    1..K) over the MDPs whose contexts still coincide, and how many MDPs that is (chapter 7)."""
    ax0, ax1 = axes
    kk = np.arange(1, len(measured) + 1)
    ax0.plot(kk, measured, color=METHOD_COLORS["transformer"], label=r"measured $\|u_k - w_k\|$")
    ax0.plot(kk, bound, color="black", ls="--", label="bound of the proposition")
    ax0.set_yscale("log")
    ax0.set_ylabel("distance to the teacher's parameters (median)")
    ax0.set_title("SARSA: MDPs whose contexts still coincide")
    ax0.legend()
    ax1.plot(kk, n_same, color=METHOD_COLORS["sarsa"])
    ax1.set_ylabel("MDPs with identical contexts so far")
    ax1.set_title("common random numbers: when paths split")
    for ax in axes:
        ax.set_xlabel("round k")
    return axes
