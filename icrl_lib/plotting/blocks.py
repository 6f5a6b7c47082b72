"""Figures of the constructions of chapters 4-5: prompts and (P, V) as block heatmaps, control curves per run,
Jacobian spectra and the polynomial fits of the actor update.

Each function draws on the ``ax`` it is given (or makes and returns a figure) from data passed in; the
chapters keep the call and the claim it illustrates.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ._style import METHOD_COLORS, PALETTE, block_heatmap, to_numpy

__all__ = ["prompt_heatmap", "construction_heatmaps", "run_curves", "reference_lines", "spectrum_plot",
           "polynomial_fit_plot"]


def _check_blocks(blocks, name):
    if not blocks or any(len(b) != 2 for b in blocks):
        raise ValueError(f"{name} must be a non-empty list of (label, size) pairs; got {blocks!r}")


def prompt_heatmap(ax, H, row_blocks: Sequence[tuple[str, int]], title: str = "", vmax: float | None = None):
    """A prompt ``H`` (D, N + 1) as a block heatmap: row blocks as given, columns "transitions" | "query"
    (chapters 4-5). Returns the image."""
    _check_blocks(row_blocks, "row_blocks")
    A = to_numpy(H)
    if A.ndim != 2 or A.shape[1] < 2:
        raise ValueError(f"H must be a (D, N + 1) prompt with N >= 1; got shape {A.shape}")
    n = A.shape[1] - 1
    im = block_heatmap(ax, A, row_blocks, [(f"transitions $t = 1..{n}$", n), ("query", 1)], title=title,
                       annotate=True, fmt="{:.2f}", vmax=vmax)
    ax.set_xlabel("token (column of $H$)")
    ax.set_ylabel("row block")
    return im


def construction_heatmaps(P, V, blocks: Sequence[tuple[str, int]], titles: tuple[str, str], vmax: float = 1.0,
                          figsize: tuple[float, float] = (8.4, 3.6)):
    """Side-by-side block heatmaps of a key-query matrix ``P`` and a value matrix ``V`` (D, D) with the same
    row and column blocks (chapters 4-5). Returns the figure."""
    _check_blocks(blocks, "blocks")
    if len(titles) != 2:
        raise ValueError(f"titles must be a pair (P title, V title); got {titles!r}")
    fig, axes = plt.subplots(1, 2, figsize=figsize)
    for ax, M, title in zip(axes, (P, V), titles):
        block_heatmap(ax, to_numpy(M) + 0.0, blocks, blocks, title=title, annotate=True, vmax=vmax, fmt="{:.1f}")
        ax.set_xlabel("column block")
        ax.set_ylabel("row block")
    return fig


def run_curves(ax, values, every: int = 1, label: str | None = None, **style):
    """One curve per run: ``values`` (runs, K + 1) against the round k = 0..K; only the first run is labelled.
    With ``every > 1`` only every ``every``-th round is drawn, as open circles (chapters 4-5)."""
    Y = to_numpy(values)
    if Y.ndim != 2 or Y.shape[1] < 1:
        raise ValueError(f"values must be (runs, rounds); got shape {Y.shape}")
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive integer; got {every!r}")
    rounds = np.arange(Y.shape[1])[::every]
    fmt = "o" if every > 1 else "-"
    if every > 1:
        style = {"markersize": 4, "fillstyle": "none", **style}
    for i, y in enumerate(Y):
        if every > 1:
            ax.plot(rounds, y[::every], fmt, label=label if i == 0 else None, **style)
        else:
            ax.plot(rounds, y, label=label if i == 0 else None, **style)
    return ax


def reference_lines(ax, top: float, bottom: float, top_label: str, bottom_label: str,
                    linewidth: float | None = None):
    """Horizontal lines for the optimal (``top``, dashed) and the uniform random (``bottom``, dotted) policy
    (chapters 4-5)."""
    kw = {} if linewidth is None else {"linewidth": linewidth}
    ax.axhline(float(top), color=METHOD_COLORS["oracle"], linestyle="--", label=top_label, **kw)
    ax.axhline(float(bottom), color=METHOD_COLORS["random"], linestyle=":", label=bottom_label, **kw)
    return ax


def spectrum_plot(ax, spectra: Mapping[str, tuple], floor: float = 1e-18):
    """Sorted singular values relative to the largest, on a log scale, one curve per entry
    ``label -> (singular values, predicted rank, rank label)``; a dashed line marks each predicted rank
    (chapter 4)."""
    if not spectra:
        raise ValueError("spectra must name at least one spectrum")
    for (label, (sv, rank, rank_label)), color in zip(spectra.items(), PALETTE):
        s = to_numpy(sv)
        ax.semilogy(np.arange(1, len(s) + 1), np.maximum(s / s[0], floor), color=color, label=label)
        ax.axvline(rank, color=color, linestyle="--", linewidth=1.0, label=rank_label)
    ax.set_xlabel("index of singular value (descending)")
    ax.set_ylabel("singular value / largest")
    return ax


def polynomial_fit_plot(ax, x, target, fits: Mapping[int, object], window: tuple[float, float],
                        target_label: str):
    """A target curve on ``x`` with polynomial fits ``degree -> numpy Polynomial`` and the fitting
    ``window`` shaded (chapter 5)."""
    if len(window) != 2 or window[0] >= window[1]:
        raise ValueError(f"window must be (low, high) with low < high; got {window!r}")
    x = to_numpy(x)
    ax.axvspan(*window, color="0.92", label="fitting window")
    ax.plot(x, to_numpy(target), color=METHOD_COLORS["actor-critic"], linewidth=2.4, label=target_label)
    for (deg, p), style, color in zip(fits.items(), ("--", ":", "-."), (PALETTE[0], PALETTE[3], PALETTE[2])):
        ax.plot(x, p(x), style, color=color, label=f"best polynomial, degree {deg}")
    return ax
