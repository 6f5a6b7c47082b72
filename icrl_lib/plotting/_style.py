"""One house style for every figure of the book, and the few plot types the chapters share.

Colours: a colour-blind-safe palette (Okabe-Ito), one fixed colour per agent/method so that a method
looks the same in every chapter; diverging heatmaps are centred at zero.

Type sizes: the book shows a figure at most as wide as its content column (``COLUMN_PX``, about 780 px in a
1400 px window), so a wide figure is scaled down. :func:`enforce_min_font` raises every text of a figure
(titles, labels, ticks, legends, heatmap numbers) to at least ``MIN_FONT_PX`` screen pixels *as shown*;
:func:`set_style` installs it in Jupyter so that every figure a chapter displays goes through it.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = [  # re-exported by icrl_lib.plotting
    "PALETTE", "METHOD_COLORS", "COLUMN_PX", "MIN_FONT_PX", "set_style", "enforce_min_font", "min_font_points",
    "heatmap", "block_heatmap", "line_with_band", "to_numpy",
]

PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
METHOD_COLORS = {
    "transformer": "#0072B2", "teacher": "#D55E00", "oracle": "#009E73", "random": "#7F7F7F",
    "td": "#CC79A7", "sarsa": "#D55E00", "actor-critic": "#E69F00", "gd": "#D55E00",
}


def to_numpy(x) -> np.ndarray:
    """A numpy view of a tensor (detached, on the CPU) or array-like, for plotting (chapters 1-7)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def set_style() -> None:
    """Apply the house style (called by :func:`icrl_lib.notebook.setup`; chapter 0 describes it)."""
    mpl.rcParams.update({
        "figure.figsize": (6.4, 3.8), "figure.dpi": 100, "savefig.dpi": 100,
        "font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 10,
        "xtick.labelsize": 10, "ytick.labelsize": 10, "figure.titlesize": 12,
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
        "axes.prop_cycle": mpl.cycler(color=PALETTE), "lines.linewidth": 1.8,
        "image.cmap": "RdBu_r", "figure.constrained_layout.use": True,
        # Reproducible image bytes: no timestamps or software versions in the files.
        "svg.hashsalt": "icrl-book", "path.simplify": True,
    })
    _install_display_hook()


#: Width in screen pixels of the book's content column in a 1400 px browser window (sphinx-book-theme).
COLUMN_PX = 780
#: The smallest text of a figure, in screen pixels as the book shows it (after scaling to the column).
MIN_FONT_PX = 11.0


def min_font_points(fig) -> float:
    """The smallest font size in points that ``fig`` may use so its text shows at ``MIN_FONT_PX`` (chapter 0)."""
    width_px = fig.get_figwidth() * fig.dpi
    scale = min(1.0, COLUMN_PX / width_px)
    return MIN_FONT_PX / (fig.dpi / 72.0 * scale)


def enforce_min_font(fig):
    """Raise every text of ``fig`` below :func:`min_font_points` to it; returns ``fig`` (chapter 0).

    Called on every figure a chapter displays (installed by :func:`set_style`), so a wide multi-panel
    figure or a small explicit ``fontsize=`` never shows unreadably small text in the book.
    """
    from matplotlib.text import Text

    floor = min_font_points(fig)
    for text in fig.findobj(Text):
        if text.get_text() and text.get_fontsize() < floor:
            text.set_fontsize(floor)
    return fig


def _install_display_hook() -> None:
    """In IPython, pass every displayed figure through :func:`enforce_min_font` before it is rendered."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - plain Python: nothing is displayed
        return
    ip = get_ipython()
    if ip is None:
        return
    from matplotlib.figure import Figure

    for mime in ("image/png", "image/svg+xml"):
        formatter = ip.display_formatter.formatters.get(mime)
        if formatter is None:
            continue
        try:
            current = formatter.lookup_by_type(Figure)
        except KeyError:
            continue
        if getattr(current, "_icrl_min_font", False):
            continue

        def render(fig, _render=current):
            return _render(enforce_min_font(fig))

        render._icrl_min_font = True
        formatter.for_type(Figure, render)


def heatmap(ax, M, title: str = "", row_labels: Sequence[str] | None = None,
            col_labels: Sequence[str] | None = None, annotate: bool = False, vmax: float | None = None,
            colorbar: bool = True, fmt: str = "{:.2f}"):
    """Diverging heatmap of a matrix centred at 0 (red positive, blue negative); chapters 2-6."""
    A = to_numpy(M).astype(float)
    if A.ndim != 2:
        raise ValueError(f"M must be a matrix; got shape {A.shape}")
    v = float(np.abs(A).max()) if vmax is None else float(vmax)
    v = v if v > 0 else 1.0
    im = ax.imshow(A, cmap="RdBu_r", vmin=-v, vmax=v, interpolation="nearest")
    ax.grid(False)
    ax.set_title(title)
    for labels, setter, n in ((row_labels, ax.set_yticks, A.shape[0]), (col_labels, ax.set_xticks, A.shape[1])):
        if labels is not None:
            if len(labels) != n:
                raise ValueError(f"expected {n} labels; got {len(labels)}")
            setter(range(n), labels)
    if annotate:
        for i in range(A.shape[0]):
            for j in range(A.shape[1]):
                ax.text(j, i, fmt.format(A[i, j]), ha="center", va="center", fontsize=9,
                        color="white" if abs(A[i, j]) > 0.6 * v else "black")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return im


def block_heatmap(ax, M, row_blocks: Sequence[tuple[str, int]], col_blocks: Sequence[tuple[str, int]],
                  title: str = "", **kwargs):
    """Heatmap with labelled blocks: ``row_blocks = [("phi", d), ("phi'", d), ...]``; lines separate blocks (chapters 4-6)."""
    A = to_numpy(M)
    if A.ndim != 2:
        raise ValueError(f"M must be a matrix; got shape {A.shape}")
    for arg, blocks in (("row_blocks", row_blocks), ("col_blocks", col_blocks)):
        if any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for _, n in blocks):
            raise ValueError(f"{arg} sizes must be positive integers; got {[n for _, n in blocks]}")
    if sum(n for _, n in row_blocks) != A.shape[0] or sum(n for _, n in col_blocks) != A.shape[1]:
        raise ValueError(f"block sizes must add up to the matrix shape {A.shape}")
    im = heatmap(ax, A, title=title, **kwargs)
    for blocks, line, set_ticks, n in ((row_blocks, ax.axhline, ax.set_yticks, A.shape[0]),
                                       (col_blocks, ax.axvline, ax.set_xticks, A.shape[1])):
        edges = np.cumsum([0] + [k for _, k in blocks])
        for e in edges[1:-1]:
            line(e - 0.5, color="black", linewidth=0.8)
        set_ticks((edges[:-1] + edges[1:]) / 2 - 0.5, [name for name, _ in blocks])
    return im


def line_with_band(ax, x, mean, low=None, high=None, label: str | None = None, color: str | None = None, **kw):
    """A mean curve with an optional shaded interval (for example a 95% confidence interval; chapters 6-7)."""
    x, mean = to_numpy(x), to_numpy(mean)
    (line,) = ax.plot(x, mean, label=label, color=color, **kw)
    if low is not None and high is not None:
        ax.fill_between(x, to_numpy(low), to_numpy(high), color=line.get_color(), alpha=0.2, linewidth=0)
    return line
