"""Chapter 3's figures: the TD prompt and layer as block heatmaps, the construction against the context
length, the training curves of TD pretraining, [W25]'s metrics over seeds and the step-size scan.

Each function takes the data (tensors, lists, the history dict or the sweep's runs) and either an ``ax`` /
``axes`` to draw on or makes and returns its own figure; the chapter calls ``plt.show()``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ._style import METHOD_COLORS, PALETTE, block_heatmap, to_numpy

__all__ = ["td_prompt_heatmap", "td_layer_heatmaps", "context_length_figure", "td_pretraining_figure",
           "similarity_figure", "step_size_plot"]

_REF_STYLES = ["--", "-.", (0, (1, 3))]


def _blocks(d: int) -> list:
    return [("$x$", d), ("$\\gamma x'$", d), ("$r$", 1)]


def _label_blocks(ax) -> None:
    ax.set_xlabel("column block")
    ax.set_ylabel("row block")


def _references(ax, references: dict, linewidth: float = 1.0) -> None:
    for (name, val), style in zip(references.items(), _REF_STYLES):
        color = METHOD_COLORS["random"] if name == "v = 0" else "black"
        ax.axhline(val, color=color, linestyle=style, linewidth=linewidth, label=name)


def td_prompt_heatmap(ax, Z, title: str = "") -> None:
    """A TD prompt ``Z`` (2d+1, n+1) as a block heatmap with its numbers: row blocks ``x(s_j)``,
    ``gamma x(s_{j+1})``, ``r_{j+1}``; column blocks the ``n`` transitions and the query (chapter 3)."""
    D, m = to_numpy(Z).shape
    d, n = (D - 1) // 2, m - 1
    rows = [("$x(s_j)$", d), ("$\\gamma x(s_{j+1})$", d), ("$r_{j+1}$", 1)]
    cols = [(f"context: transitions $j = 0, \\dots, {n - 1}$", n), ("query", 1)]
    block_heatmap(ax, Z, row_blocks=rows, col_blocks=cols, title=title, annotate=True)
    ax.set_xlabel("token (column of $Z_0$)")
    ax.set_ylabel("row block")


def td_layer_heatmaps(axes, P, V, d: int, titles=("key-query $P$", "value $V$"), vmax=(None, None)) -> None:
    """Key-query ``P`` and value ``V`` ((2d+1, 2d+1) each) side by side on ``axes[0]``, ``axes[1]``, with the
    blocks ``x``, ``gamma x'``, ``r`` (chapter 3). ``vmax``: colour limits of the two heatmaps."""
    for ax, M, title, vm in zip(axes, (P, V), titles, vmax):
        block_heatmap(ax, M, _blocks(d), _blocks(d), title=title, vmax=vm)
        _label_blocks(ax)


def context_length_figure(n_grid, msve: dict, limits: dict, gaps: dict, references: dict):
    """Two panels (chapter 3, section 5): mean MSVE against ``n`` for each depth with its dotted limit
    ``n -> infinity`` and the reference levels (left); the distance to the limit on log-log axes with a
    ``1/n`` guide (right). ``msve``, ``limits``, ``gaps`` are keyed by depth (``ContextLengthCurves``)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
    depths = list(msve)
    for k, L in enumerate(depths):
        axes[0].plot(n_grid, msve[L], marker="o", color=PALETTE[k], label=f"L = {L} layers")
        axes[0].axhline(limits[L], color=PALETTE[k], linestyle=":", linewidth=1.2)
        axes[1].plot(n_grid, gaps[L], marker="o", color=PALETTE[k], label=f"L = {L}")
    _references(axes[0], references)
    ns = np.array(n_grid, dtype=float)
    guide = gaps[depths[-1]][min(2, len(ns) - 1)] * ns[min(2, len(ns) - 1)] / ns
    axes[1].plot(ns, guide, color="black", linestyle="--", linewidth=1.0, label="slope $1/n$")
    axes[0].plot([], [], color="gray", linestyle=":", label="limit $n \\to \\infty$ (same colour)")
    axes[0].set_title("MSVE of the construction ($C = I$)")
    axes[0].set_ylabel("mean MSVE over the chains")
    axes[0].set_ylim(top=1.15 * max(msve[L][min(1, len(ns) - 1)] for L in depths))
    axes[1].set_title("distance to $L$ expected TD steps")
    axes[1].set_ylabel("mean $\\mathrm{MSVE}$ to $v_L^{\\infty}$ (log scale)")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("context length n (transitions)")
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=8, loc="upper right", ncol=2)
    axes[1].legend(fontsize=8)
    return fig


def td_pretraining_figure(history: dict, layer: int = 0):
    """Four panels of a ``td_pretrain`` history against the step (chapter 3): loss, held-out MSVE, ``v_mass``
    and ``p_rel_error``, and the sign-aligned key-query blocks ``p_xx``, ``p_xxn`` with ``+-p_scale``."""
    h = {k: np.asarray(v, dtype=float) for k, v in history.items()}
    m = f"layer{layer}_"
    steps, blue = h["step"], METHOD_COLORS["transformer"]
    fig, axes = plt.subplots(2, 2, figsize=(10.5, 6.8))
    axes[0, 0].plot(steps, h["loss"], color=blue)
    axes[0, 0].set(title="TD pretraining loss (mean over 25 steps)", ylabel="squared TD error")
    axes[0, 1].plot(steps, h["eval_msve"], color=blue, label="trained transformer")
    axes[0, 1].set(title="MSVE on 64 held-out chains (n = 30)", ylabel="mean MSVE")
    axes[1, 0].plot(steps, h[m + "v_mass"], color=PALETTE[0], label="v_mass (construction: 1)")
    axes[1, 0].plot(steps, h[m + "p_rel_error"], color=PALETTE[1], label="p_rel_error (construction: 0)")
    axes[1, 0].set(ylim=(0, 1.05), title="distance to the construction", ylabel="ratio")
    ax = axes[1, 1]
    ax.plot(steps, h[m + "p_xx"], color=PALETTE[2], label="p_xx: mean diag of $(x, x)$ block")
    ax.plot(steps, h[m + "p_xxn"], color=PALETTE[3], label="p_xxn: mean diag of $(x, \\gamma x')$ block")
    for sign, label in ((1, "$\\pm$ p_scale $c$"), (-1, None)):
        ax.plot(steps, sign * h[m + "p_scale"], color="black", linestyle="--", linewidth=1, label=label)
    ax.axhline(0, color=METHOD_COLORS["random"], linewidth=0.8)
    ax.set(title="key-query blocks (sign-aligned)", ylabel="entry")
    for ax in axes.flat:
        ax.set_xlabel("Adam step")
    for ax in (axes[0, 1], axes[1, 0], axes[1, 1]):
        ax.legend(fontsize=8)
    return fig


def similarity_figure(runs):
    """[W25]'s value difference (log scale) and implicit weight similarity of every run of a TD pretraining
    sweep, at the start and end of training, shared and sequential weights (chapter 3)."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.6))
    for k, shared in enumerate((True, False)):
        rs = [r for r in runs if bool(r["shared"]) == shared]
        for ax, key in zip(axes, ("value_difference", "implicit_weight_similarity")):
            for j, when in enumerate(("initial", "final")):
                x = np.full(len(rs), 2 * k + j) + np.linspace(-0.15, 0.15, len(rs))
                ax.scatter(x, [r[f"{when}_{key}"] for r in rs], color=PALETTE[2 * k + j], s=18)
    for ax, title in zip(axes, ("value difference to batch TD", "implicit weight similarity")):
        ax.set_xticks(range(4), ["shared\nstart", "shared\nend", "sequential\nstart", "sequential\nend"])
        ax.set_title(title)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("mean over held-out chains")
    axes[1].axhline(1.0, color="black", linewidth=0.8, linestyle=":")
    return fig


def step_size_plot(ax, step_grid, grid, trained: float, references: dict, effective_step: float,
                   title: str = "") -> None:
    """The construction's MSVE against the step ``alpha`` (``C = alpha I``), the trained model's MSVE, the
    reference levels and the learned effective step (chapter 3, section 6)."""
    ax.plot(step_grid, grid, color=PALETTE[1], label="construction, $C = \\alpha I$")
    ax.axhline(trained, color=METHOD_COLORS["transformer"], label="trained transformer")
    _references(ax, references)
    ax.axvline(effective_step, color=METHOD_COLORS["transformer"], linestyle=":",
               label="learned effective step $vc$")
    top = references.get("v = 0", max(references.values()))
    ax.set_ylim(0.9 * min(references.values()), 1.3 * top)
    ax.set(xlabel="step size $\\alpha$", ylabel="mean MSVE, 64 held-out chains", title=title)
    ax.legend(fontsize=8, ncol=2)
