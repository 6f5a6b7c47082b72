"""Figures of the foundations chapters: 1 (RL in one chapter) and 2 (in-context learning, linear attention).

Each function draws on the axes it is given and takes the data as arguments (tensors or arrays); the chapter
keeps the computation and the call.
"""
from __future__ import annotations

import numpy as np

from ._style import METHOD_COLORS, PALETTE, block_heatmap, line_with_band, to_numpy

__all__ = ["plot_value_iteration", "plot_td0_errors", "plot_batch_td", "plot_normalized_returns",
           "plot_regression_weights", "plot_lsa_training"]


def plot_value_iteration(axes, errors, bound):
    """Chapter 1, fig-ch1-vi: ``errors[k] = ||V_k - V*||_inf`` and the bound ``gamma^k ||V_0 - V*||_inf`` (left,
    log scale) and their ratio (right); ``axes = (ax, ax_ratio)``."""
    ax, ax_ratio = axes
    err, bnd = to_numpy(errors), to_numpy(bound)
    ks = np.arange(len(err))
    ax.semilogy(ks, err, lw=4, alpha=0.6, label=r"value iteration $\|V_k - V^*\|_\infty$",
                color=METHOD_COLORS["oracle"])
    ax.semilogy(ks, bnd, "--", lw=1.2, label=r"bound $\gamma^k \|V_0 - V^*\|_\infty$", color="black")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("sup-norm error")
    ax.set_title(r"Error and the $\gamma^k$ bound")
    ax.legend()
    ax_ratio.plot(ks, err / bnd, color=METHOD_COLORS["oracle"])
    ax_ratio.axhline(1.0, color="black", linestyle="--", lw=1.2, label="bound (ratio = 1)")
    ax_ratio.set_xlabel("iteration k")
    ax_ratio.set_ylabel(r"$\|V_k - V^*\|_\infty \,/\, \gamma^k \|V_0 - V^*\|_\infty$")
    ax_ratio.set_title("Error relative to the bound")
    ax_ratio.legend(loc="center right")


def plot_td0_errors(ax, curves: dict):
    """Chapter 1, fig-ch1-td0: ``{label: errors (runs, T + 1)}`` of online TD(0), mean with a min-max band
    against the step ``t = 1 .. T + 1``, both axes logarithmic."""
    for (name, e), color in zip(curves.items(), [PALETTE[3], PALETTE[5], PALETTE[7], PALETTE[1]]):
        t_axis = np.arange(1, e.shape[-1] + 1)
        line_with_band(ax, t_axis, e.mean(0), e.min(0).values, e.max(0).values, label=name, color=color)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("environment steps t (log scale)")
    ax.set_ylabel(r"$\|V_t - V^\pi\|_\infty$")
    ax.set_title("Online tabular TD(0) under the uniform policy")
    ax.legend(loc="lower left")


def plot_batch_td(ax, path, fixed_point, values, n_transitions: int):
    """Chapter 1, fig-ch1-batch-td: iterates ``path`` (K + 1, S) of repeated batch TD, their sup-norm distance
    to the data's fixed point ``w_TD`` (S,) and to the true values ``V^pi`` (S,), log scale."""
    it = np.arange(len(path))
    ax.semilogy(it, to_numpy((path - fixed_point).abs().max(-1).values.clamp_min(1e-16)),
                label=r"$\|w_k - w_{\mathrm{TD}}\|_\infty$ (to the fixed point of the data)",
                color=METHOD_COLORS["td"])
    ax.semilogy(it, to_numpy((path - values).abs().max(-1).values),
                label=r"$\|w_k - V^\pi\|_\infty$ (to the true values)", color=METHOD_COLORS["oracle"])
    ax.set_xlabel(f"batch TD step k (same {n_transitions} transitions every step)")
    ax.set_ylabel("sup-norm error")
    ax.set_title("Repeated batch TD(0) on a fixed data set")
    ax.legend()


def plot_normalized_returns(ax, curves: dict, title: str = "", n_transitions: int = 200, legend: bool = True):
    """Chapter 1: normalised return per round, ``curves = {label: (returns (runs, K + 1), color, linestyle)}``,
    mean with a min-max band, with the optimal policy (1) and the uniform policy (0) as reference lines."""
    for label, (v, color, style) in curves.items():
        rounds = np.arange(v.shape[-1])
        line_with_band(ax, rounds, v.mean(0), v.min(0).values, v.max(0).values, label=label, color=color,
                       linestyle=style)
    ax.axhline(1.0, color=METHOD_COLORS["oracle"], linestyle="--", label=r"optimal policy $\pi^*$ (= 1)")
    ax.axhline(0.0, color=METHOD_COLORS["random"], linestyle=":", label="uniform random policy (= 0)")
    ax.set_xlabel(f"round k (one update per round, N = {n_transitions} transitions)")
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(loc="lower right")


def plot_regression_weights(axes, matrices, d: int, vmax=None):
    """Chapter 2: heatmaps of ``(d+1, d+1)`` weight matrices with ``x`` / ``y`` blocks, one per axis;
    ``matrices = [(M, title), ...]`` in the order of ``axes`` (flattened)."""
    blocks = [("$x$", d), ("$y$", 1)]
    for ax, (M, title) in zip(np.ravel(axes), matrices):
        block_heatmap(ax, M, blocks, blocks, title=title, annotate=True, vmax=vmax)
        ax.set_xlabel("column block")
        ax.set_ylabel("row block")


def plot_lsa_training(axes, losses, smooth, steps, diag_mean, off_max, risk_opt: float, eta_opt: float,
                      d: int):
    """Chapter 2, fig-ch2-training. Left: minibatch ``losses`` (T,), their running mean ``smooth`` (T - w + 1,)
    and the risk of one GD step at ``eta_opt``; right: mean diagonal and largest off-diagonal entry of the
    effective preconditioner at the snapshot ``steps``, against ``eta_opt``."""
    ax, ax_g = axes
    losses, smooth = to_numpy(losses), to_numpy(smooth)
    window = len(losses) - len(smooth) + 1
    color = METHOD_COLORS["transformer"]
    ax.plot(losses, color=color, alpha=0.25, linewidth=0.8, label="minibatch loss")
    ax.plot(np.arange(window - 1, len(losses)), smooth, color=color, label=f"running mean ({window} steps)")
    ax.axhline(risk_opt, color=METHOD_COLORS["gd"], linestyle="--", label="one GD step at $\\eta_{opt}$ (theory)")
    ax.axhline(d, color=METHOD_COLORS["random"], linestyle=":", label="predict 0")
    ax.set_yscale("log")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("squared query error")
    ax.set_title("training loss")
    ax.legend(loc="center right")
    ax_g.plot(to_numpy(steps), to_numpy(diag_mean), color=color, label="mean diagonal of $\\hat\\Gamma$")
    ax_g.plot(to_numpy(steps), to_numpy(off_max), color=METHOD_COLORS["random"],
              label="largest off-diagonal $|\\hat\\Gamma_{kl}|$")
    ax_g.axhline(eta_opt, color=METHOD_COLORS["gd"], linestyle="--", label="$\\eta_{opt} = N/(N+d+1)$")
    ax_g.set_xlabel("Adam step")
    ax_g.set_ylabel("entry of $\\hat\\Gamma = V_{d+1,d+1} P_{1:d,1:d}^\\top$")
    ax_g.set_title("effective preconditioner")
    ax_g.legend()
