"""One house style for every figure of the book, and the few plot types the chapters share.

Colours: a colour-blind-safe palette (Okabe-Ito's blue, vermillion and bluish green, Tol's wine and
indigo, a violet, a brown and black), one fixed colour per agent/method so that a method looks the same in
every chapter; diverging heatmaps are centred at zero. Every data colour has at least 3:1 contrast on white
and on the dark-mode plate, and every pair stays apart under simulated protanopia, deuteranopia and
tritanopia (``tests/test_palette.py``; ``scripts/check_figures.py`` measures it in the built book).

Type sizes: the book shows a figure at most as wide as its content column (``COLUMN_PX``, 768 px in a
1400 px window), so a wide figure is scaled down. :func:`enforce_min_font` raises every text of a figure
(titles, labels, ticks, legends, heatmap numbers) to at least ``MIN_FONT_PX`` screen pixels *as shown*,
re-formats heatmap numbers that would run into each other and thins tick labels that overlap.

Crisp figures: :func:`set_style` installs a Jupyter display hook through which every figure a chapter
displays goes: it applies :func:`enforce_min_font`, renders the PNG at ``_RETINA`` times the figure's dpi and
tells the page to show it at the 1x size (sharp on 2x screens and in print), and records in the PNG's text
chunks the smallest font in CSS pixels at that size (``icrl:min-font-px``) and the data colours
(``icrl:colors``), which ``scripts/check_figures.py`` reads back.
"""
from __future__ import annotations

from typing import Sequence

import base64
import io
import struct

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = [  # re-exported by icrl_lib.plotting
    "PALETTE", "METHOD_COLORS", "COLUMN_PX", "MIN_FONT_PX", "set_style", "enforce_min_font", "min_font_points",
    "heatmap", "block_heatmap", "line_with_band", "to_numpy",
]

# blue, vermillion, bluish green, wine, violet, brown, indigo, black: >= 3:1 on white (the lightest, bluish
# green, 3.4:1) and on the dark-mode plate; pairwise CIELAB distance >= 15 under every simulated colour-vision
# deficiency (tests/test_palette.py). Okabe-Ito's orange, sky blue and yellow (2.3, 2.3 and 1.3:1) are gone.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#AA3377", "#8855DD", "#775533", "#332288", "#000000"]
METHOD_COLORS = {
    "transformer": "#0072B2", "teacher": "#D55E00", "oracle": "#009E73", "random": "#595959",
    "td": "#8855DD", "sarsa": "#D55E00", "actor-critic": "#775533", "gd": "#D55E00",
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


#: Width in screen pixels of the book's content column in a 1400 px browser window (sphinx-book-theme
#: 1.3, measured in Chromium by scripts/check_figures.py).
COLUMN_PX = 768
#: Device pixels per CSS pixel of every figure PNG the book shows (sharp on 2x screens and in the PDF).
_RETINA = 2
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

    def raise_all():
        for ax in fig.axes:  # tick labels get their text only when drawn: size them on the axis
            for axis in (ax.xaxis, ax.yaxis):
                ticks = axis.get_major_ticks() + axis.get_minor_ticks()
                if any(t.label1.get_fontsize() < floor for t in ticks):
                    axis.set_tick_params(which="both", labelsize=floor)
        for text in fig.findobj(Text):
            if text.get_text() and text.get_fontsize() < floor:
                text.set_fontsize(floor)

    raise_all()
    _fit_cell_numbers(fig)
    _thin_overlapping_ticks(fig)
    raise_all()
    return fig


def _renderer(fig):
    fig.draw_without_rendering()  # runs the layout engine, so extents are final
    return fig.canvas.get_renderer()


def _fit_cell_numbers(fig) -> None:
    """Heatmap numbers (:func:`heatmap` with ``annotate=True``) that are wider than their cell: first let the
    cells take the axes' width (``aspect="auto"``), then drop decimals; never shrink the font."""
    cells = [t for t in fig.findobj(lambda a: getattr(a, "_icrl_cell", None) is not None)]
    if not cells:
        return
    by_axes: dict = {}
    for t in cells:
        by_axes.setdefault(t.axes, []).append(t)
    for ax, texts in by_axes.items():
        for step in ("aspect", 1, 0):
            renderer = _renderer(fig)
            x0, x1 = ax.transData.transform([(0, 0), (1, 0)])[:, 0]
            cell = abs(x1 - x0)
            if max(t.get_window_extent(renderer).width for t in texts) <= 0.9 * cell:
                break
            if step == "aspect":
                ax.set_aspect("auto")
                continue
            for t in texts:
                value = t._icrl_cell
                t.set_text(_cell_text(value, "{:.%df}" % step))


def _thin_overlapping_ticks(fig) -> None:
    """Tick labels that overlap (a log axis over many decades, long labels) get fewer ticks: every other
    decade on a log axis, fewer bins on a linear one. Fixed (named) ticks are left as they are."""
    from matplotlib.ticker import FixedLocator, LogLocator, MaxNLocator, NullFormatter

    for _ in range(4):
        renderer = _renderer(fig)
        changed = False
        for ax in fig.axes:
            for axis, horizontal in ((ax.xaxis, True), (ax.yaxis, False)):
                labels = [t for t in axis.get_ticklabels(which="both") if t.get_visible() and t.get_text()]
                lo, hi = (ax.get_xlim() if horizontal else ax.get_ylim())
                lo, hi = min(lo, hi), max(lo, hi)
                boxes = []
                for t in labels:
                    pos = t.get_position()[0 if horizontal else 1]
                    if lo - 1e-12 * abs(lo) <= pos <= hi + 1e-12 * abs(hi):
                        bb = t.get_window_extent(renderer)
                        boxes.append((bb.x0, bb.x1) if horizontal else (bb.y0, bb.y1))
                boxes.sort()
                if not any(b[0] < a[1] + 2 for a, b in zip(boxes, boxes[1:])):
                    continue
                n = len(axis.get_majorticklocs())
                if axis.get_scale() == "log":
                    axis.set_minor_formatter(NullFormatter())
                    axis.set_major_locator(LogLocator(base=axis.get_transform().base, numticks=max(2, n // 2)))
                elif not isinstance(axis.get_major_locator(), FixedLocator):
                    axis.set_major_locator(MaxNLocator(nbins=max(2, n // 2 - 1)))
                else:
                    continue
                changed = True
        if not changed:
            return


def _figure_record(fig) -> dict[str, str]:
    """What the book records in each figure's PNG (chapter 0): the smallest text in CSS pixels at the size the
    page shows the PNG before any scaling to the column (``icrl:min-font-px``), that text, and the data colours
    (lines, markers, scatter points and bars drawn with alpha >= 0.5, blended over white) as hex."""
    from matplotlib.collections import PathCollection
    from matplotlib.colors import to_hex, to_rgba
    from matplotlib.patches import Rectangle
    from matplotlib.text import Text

    texts = [t for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
    smallest = min(texts, key=lambda t: t.get_fontsize(), default=None)
    colors: list[str] = []

    def add(c, alpha=None):
        r, g, b, a = to_rgba(c)
        a = a if alpha is None else alpha
        if a < 0.5:
            return
        hexed = to_hex((r * a + 1 - a, g * a + 1 - a, b * a + 1 - a))
        if hexed not in colors and hexed != "#ffffff":
            colors.append(hexed)

    for ax in fig.axes:
        if hasattr(ax, "_colorbar"):
            continue
        for line in ax.lines:
            if line.get_visible():
                if line.get_linestyle() not in ("None", "none", ""):
                    add(line.get_color(), line.get_alpha())
                if line.get_marker() not in (None, "None", "none", ""):
                    add(line.get_markerfacecolor(), line.get_alpha())
        for coll in ax.collections:
            if isinstance(coll, PathCollection) and coll.get_visible():
                for c in coll.get_facecolors()[:16]:
                    add(c)
        for patch in ax.patches:  # bars; a pale shaded span (axvspan, luminance > 0.7) is background
            if isinstance(patch, Rectangle) and patch.get_visible():
                r, g, b, _ = to_rgba(patch.get_facecolor())
                if 0.2126 * r + 0.7152 * g + 0.0722 * b <= 0.7:
                    add(patch.get_facecolor())
    record = {"icrl:colors": ",".join(colors)}
    if smallest is not None:
        record["icrl:min-font-px"] = f"{smallest.get_fontsize() * fig.dpi / 72:.2f}"
        record["icrl:min-font-text"] = smallest.get_text()[:60].encode("latin-1", "replace").decode("latin-1")
    return record


def _render_png(fig):
    """The figure as the book shows it (chapter 0): :func:`enforce_min_font`, then a PNG at ``_RETINA`` x its
    dpi with :func:`_figure_record` in its text chunks. Returns ``(base64 PNG, {"width", "height"})``, the
    display size in CSS pixels (what IPython's PNG formatter passes on to the notebook and the book)."""
    enforce_min_font(fig)
    buf = io.BytesIO()
    metadata = {"Software": None, "icrl:retina": str(_RETINA), **_figure_record(fig)}
    fig.savefig(buf, format="png", dpi=fig.dpi * _RETINA, bbox_inches="tight", metadata=metadata,
                facecolor="white")
    data = buf.getvalue()
    w, h = struct.unpack(">II", data[16:24])
    return base64.b64encode(data).decode("ascii"), {"width": round(w / _RETINA), "height": round(h / _RETINA)}


def _install_display_hook() -> None:
    """In IPython, show every displayed figure through :func:`_render_png`.

    matplotlib's inline backend registers its own PNG printer when the backend is first resolved (often at
    the first figure, after :func:`set_style`), so the backend is resolved here first, and a pre-cell hook
    puts :func:`_render_png` back should anything replace it later (``%matplotlib inline``, ``%config``).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - plain Python: nothing is displayed
        return
    ip = get_ipython()
    if ip is None:
        return
    try:  # resolve the backend now, so that its own hook is installed before ours
        plt.switch_backend(mpl.get_backend())  # imports the backend, which installs its own printer
    except Exception:  # pragma: no cover - a headless or odd backend: keep whatever is there
        pass
    _register_png(ip)
    if not getattr(ip, "_icrl_png_hook", False):
        ip.events.register("pre_run_cell", lambda *_: _register_png(ip))
        ip._icrl_png_hook = True


def _register_png(ip) -> None:
    from matplotlib.figure import Figure

    png = ip.display_formatter.formatters.get("image/png")
    if png is None:
        return
    try:
        if png.lookup_by_type(Figure) is _render_png:
            return
    except KeyError:
        pass
    png.for_type(Figure, _render_png)
    svg = ip.display_formatter.formatters.get("image/svg+xml")
    if svg is not None:  # one image per figure: the PNG
        svg.pop(Figure, None)


def _cell_text(value: float, fmt: str) -> str:
    """A heatmap number: exact zeros as "0" (a matrix of zeros reads as blanks, not "0.000.00")."""
    return "0" if value == 0 else fmt.format(value)


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
                t = ax.text(j, i, _cell_text(A[i, j], fmt), ha="center", va="center", fontsize=9,
                            color="white" if abs(A[i, j]) > 0.6 * v else "black")
                t._icrl_cell = float(A[i, j])  # enforce_min_font re-formats it if it outgrows its cell
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
