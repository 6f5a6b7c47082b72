"""Figures of chapter 6 (teacher mimicking and gradient flow): the roles of the entries, the balance under
gradient descent, training curves, learned blocks against the construction, the saddle at the origin, the
success sweeps, local convergence and the richness of the task distribution.

Each function takes the data the chapter computed (tensors or arrays; ``(P, V)`` are (D, D)) and returns the
figure it drew; the chapter keeps the computation, the claims and ``plt.show()``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from ._style import PALETTE, block_heatmap, to_numpy

__all__ = ["roles_figure", "balance_drift_figure", "training_curves_figure", "active_blocks_figure",
           "full_blocks_figure", "saddle_escape_figure", "success_figure", "local_rate_figure",
           "update_scatter_figure"]

_GREY = "#E8E8E8"


def _labels(axes, xlabel="column block", ylabel="row block"):
    for ax in np.atleast_1d(axes).flat:
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)


def roles_figure(roles: dict, blocks, names: dict, title: str = "SARSA"):
    """The active / query / inert entries of ``P`` and ``V`` (``roles``: role -> (mask_P, mask_V), D x D each,
    from :func:`icrl_lib.incontext.parameter_roles`), with lines between the ``blocks`` ((name, size) pairs
    of the layout) labelled by ``names`` (block name -> tick label) (chapter 6)."""
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 4.0))
    edges = np.cumsum([0] + [n for _, n in blocks])
    ticks, labels = (edges[:-1] + edges[1:]) / 2 - 0.5, [names[b] for b, _ in blocks]
    for ax, which, name in zip(axes, (0, 1), ("key-query $P$", "value $V$")):
        M = sum(k * to_numpy(roles[r][which]).astype(int) for k, r in enumerate(("inert", "query", "active")))
        ax.imshow(M, cmap=ListedColormap([_GREY, PALETTE[4], PALETTE[0]]), vmin=0, vmax=2,
                  interpolation="nearest")
        ax.grid(False)
        for e in edges[1:-1]:
            ax.axhline(e - 0.5, color="black", lw=0.6)
            ax.axvline(e - 0.5, color="black", lw=0.6)
        ax.set_xticks(ticks, labels)
        ax.set_yticks(ticks, labels)
        ax.set_title(f"{title}: roles of the entries of {name}")
    _labels(axes)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in (PALETTE[0], PALETTE[4], _GREY)]
    fig.legend(handles, ["active", "query pair", "inert"], loc="lower center", ncol=3,
               bbox_to_anchor=(0.5, -0.06))
    return fig


def balance_drift_figure(runs: dict, drifts, drifts_active, slope_text: str, horizon: float):
    """Balance and loss along gradient descent for each step size (``runs``: eta -> GDResult), and the drift of
    the balance at the ``horizon`` against eta on log-log axes (``drifts`` and ``drifts_active``, one per eta) (chapter 6)."""
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 3.7))
    etas = np.array(list(runs))
    for k, (eta, r) in enumerate(runs.items()):
        t = eta * to_numpy(r.steps)
        axes[0].plot(t, to_numpy(r.balance - r.balance[0]), color=PALETTE[k], label=f"$\\eta$ = {eta}")
        axes[1].semilogy(t, to_numpy(r.loss), color=PALETTE[k], label=f"$\\eta$ = {eta}")
    for ax in axes[:2]:
        ax.set_xlabel(r"time $t = \eta \times$ step")
    axes[0].set_ylabel(r"$\|V\|^2 - \|P\|^2$ minus its initial value")
    axes[0].set_title("Balance along gradient descent")
    axes[0].legend()
    axes[1].set_ylabel("loss on the fixed prompts")
    axes[1].set_title("The loss (the same flow for every $\\eta$)")
    drifts = np.asarray(drifts)
    axes[2].loglog(etas, drifts, "o-", color=PALETTE[0], label="whole matrices")
    axes[2].loglog(etas, np.asarray(drifts_active), "s--", color=PALETTE[2], label="active pair only")
    axes[2].loglog(etas, drifts[-1] * etas / etas[-1], color="black", lw=0.8, label="slope 1")
    axes[2].set_xticks(etas, [f"{e:g}" for e in etas])
    axes[2].xaxis.set_minor_locator(plt.NullLocator())
    axes[2].set_xlabel(r"step size $\eta$")
    axes[2].set_ylabel(f"|drift of the balance| at T = {horizon:g}")
    axes[2].set_title(f"Drift is first order in $\\eta$ (slope {slope_text})")
    axes[2].legend()
    return fig


def training_curves_figure(histories: dict, threshold: float):
    """Training curves of committed runs (``histories``: name -> the run's ``history`` dict): top, the
    held-out loss and both relative errors (log scale) with the success ``threshold``; bottom, the norm
    outside the active blocks, the balance and the scale (chapter 6)."""
    fig, axes = plt.subplots(2, len(histories), figsize=(10.0, 6.4), sharex=True, squeeze=False)
    top = (("eval_loss", "loss (held-out prompts)"), ("relative_error_P", "relative error $P$"),
           ("relative_error_V", "relative error $V$"))
    bottom = (("inert_norm", "norm outside the active blocks"), ("balance", r"$\|V\|^2 - \|P\|^2$"),
              ("scale", "scale $c$"))
    for j, (name, h) in enumerate(histories.items()):
        ax = axes[0, j]
        for k, (key, label) in enumerate(top):
            ax.semilogy(h["step"], h[key], color=PALETTE[k], label=label)
        ax.axhline(threshold, color="black", lw=0.8, ls="--", label=f"{threshold:.0%} threshold")
        ax.set_title(f"{name}: loss and recovery")
        ax.set_ylabel("value (log scale)")
        ax.legend(fontsize=8)
        ax = axes[1, j]
        for k, (key, label) in enumerate(bottom):
            ax.plot(h["step"], h[key], color=PALETTE[k + 3], label=label)
        ax.set_xlabel("Adam step")
        ax.set_ylabel("value")
        ax.set_title(f"{name}: outside the active blocks, balance, scale")
        ax.legend(fontsize=8)
    return fig


def active_blocks_figure(aligned: dict, rows, cols_P, rows_V):
    """Construction, learned (scale undone) and their difference (null directions removed) for the active
    blocks; ``aligned`` from :func:`icrl_lib.incontext.aligned_active_blocks`; ``rows`` the (name, size) blocks
    of the data rows, ``cols_P`` of ``P``'s parameter columns, ``rows_V`` of ``V``'s output rows (chapter 6)."""
    fig, axes = plt.subplots(2, 3, figsize=(12.0, 7.4))
    for row, (k, star, learned, grid) in enumerate((("P", "$P^\\star$", "$cP$", (rows, cols_P)),
                                                    ("V", "$V^\\star$", "$V/c$", (rows_V, rows)))):
        vmax = float(aligned[f"{k}_star"].abs().max())
        block_heatmap(axes[row, 0], aligned[f"{k}_star"], *grid, title=f"construction {star}", vmax=vmax)
        block_heatmap(axes[row, 1], aligned[f"{k}_act"], *grid, title=f"learned {learned} (raw)", vmax=vmax)
        block_heatmap(axes[row, 2], aligned[f"{k}_id"] - aligned[f"{k}_star_id"], *grid,
                      title="learned $-$ construction\n(null directions removed)")
    _labels(axes)
    return fig


def full_blocks_figure(P, V, blocks, title: str):
    """Heatmaps of the whole ``P`` and ``V`` with the layout's ``blocks`` ((name, size) pairs) marked (chapter 6)."""
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.8))
    block_heatmap(axes[0], P, blocks, blocks, title=f"learned $P$ ({title})")
    block_heatmap(axes[1], V, blocks, blocks, title=f"learned $V$ ({title})")
    _labels(axes)
    return fig


def saddle_escape_figure(runs: dict, escape_steps, per_decade: float, eta: float):
    """Loss curves from initialisations of decreasing scale (``runs``: scale -> GDResult) and the escape step
    against ``log10(1/scale)`` with the predicted slope ``per_decade`` (chapter 6)."""
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 3.8))
    for k, (s, r) in enumerate(runs.items()):
        axes[0].semilogy(to_numpy(r.steps), to_numpy(r.loss), color=PALETTE[k], label=f"init scale {s:g}")
    axes[0].set_xlabel("gradient-descent step")
    axes[0].set_ylabel("loss on the fixed prompts")
    axes[0].set_title(f"Leaving the saddle at the origin ($\\eta$ = {eta:g})")
    axes[0].legend(fontsize=8)
    x = np.log10(1 / np.array(list(runs)))
    axes[1].plot(x, escape_steps, "o", color=PALETTE[0], label="measured")
    axes[1].plot(x, escape_steps[0] + per_decade * (x - x[0]), color="black", lw=0.9,
                 label=f"predicted slope {per_decade:.1f} steps per decade")
    axes[1].set_xlabel("$\\log_{10}(1/\\mathrm{init\\ scale})$")
    axes[1].set_ylabel("escape step (loss 1% below start)")
    axes[1].set_title("Escape time grows like log(1/scale)")
    axes[1].legend()
    return fig


def success_figure(runs: list, title: str, summaries: dict, threshold: float):
    """Left: the held-out loss of each run of one setting (``runs`` of a sweep file), coloured by success.
    Right: the fraction of seeds within ``threshold`` against the step, per setting (``summaries``: name ->
    :class:`icrl_lib.training.SweepSummary`) (chapter 6)."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.0))
    for r in runs:
        axes[0].semilogy(r["history"]["step"], r["history"]["eval_loss"], lw=1.2,
                         color=PALETTE[0] if r["success"] else PALETTE[1])
    final = runs[0]["history"]["step"][-1]
    axes[0].plot([], [], color=PALETTE[0], label=f"within {threshold:.0%} at {final} steps")
    axes[0].plot([], [], color=PALETTE[1], label="not (yet)")
    axes[0].set_xlabel("Adam step")
    axes[0].set_ylabel("held-out loss")
    axes[0].set_title(f"{title}: {len(runs)} seeds")
    axes[0].legend(fontsize=8)
    for k, (name, s) in enumerate(summaries.items()):
        axes[1].plot(s.steps, s.fraction, color=PALETTE[k % len(PALETTE)], label=name)
    axes[1].set_xlabel("Adam step")
    axes[1].set_ylabel(f"fraction of seeds within {threshold:.0%}")
    axes[1].set_title("Success rate against the training budget")
    axes[1].legend(fontsize=7)
    return fig


def local_rate_figure(steps, loss, model, predicted: float, eigenvalues, energy, lambda_max: float):
    """Left: the loss of gradient descent near the construction, the linear model's ``model`` curve and a line
    of slope ``predicted`` through the last point. Right: the initial loss per mode (``energy``) against the
    non-zero Hessian ``eigenvalues`` / ``lambda_max`` (chapter 6)."""
    steps, loss = to_numpy(steps), to_numpy(loss)
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9))
    ax = axes[0]
    ax.semilogy(steps, loss, color=PALETTE[0], lw=2.2, label="gradient descent (active pair)")
    ax.semilogy(steps, to_numpy(model), color="black", ls="--", lw=1.0, label="quadratic model, all modes")
    ax.semilogy(steps, loss[-1] * np.exp(predicted * (steps - steps[-1])), color=PALETTE[1], lw=1.0,
                label="slope $2\\log(1-\\eta\\lambda_{\\min})$")
    ax.set_ylim(loss.min() / 3, loss.max() * 3)
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("loss on the fixed prompts")
    ax.set_title("Local convergence near the construction")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.loglog(to_numpy(eigenvalues) / lambda_max, to_numpy(energy), ".", color=PALETTE[0], ms=4)
    ax.set_xlabel(r"Hessian eigenvalue $\lambda_i / \lambda_{\max}$ (non-zero)")
    ax.set_ylabel(r"initial loss in mode $i$: $\frac{1}{2}\lambda_i c_i^2$")
    ax.set_title(f"Which modes are excited ({len(to_numpy(eigenvalues))} non-zero eigenvalues)")
    return fig


def update_scatter_figure(teacher, updates: dict):
    """Each block's update against the teacher's (``teacher`` and each value of ``updates``, name -> array,
    flattened to the same length), with the diagonal (chapter 6)."""
    teacher = to_numpy(teacher).reshape(-1)
    fig, axes = plt.subplots(1, len(updates), figsize=(13.0, 3.4), sharex=True, sharey=True, squeeze=False)
    lim = np.abs(teacher).max()
    for ax, (name, pred) in zip(axes[0], updates.items()):
        ax.plot(teacher, to_numpy(pred).reshape(-1), ".", ms=1.5, alpha=0.4, color=PALETTE[0])
        ax.plot([-lim, lim], [-lim, lim], color="black", lw=0.8)
        ax.set_title(f"trained on: {name}", fontsize=8)
        ax.set_xlabel("teacher update $w^+ - w$")
    axes[0, 0].set_ylabel("block's update")
    return fig
