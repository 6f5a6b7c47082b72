"""icrl_lib.plotting (run headless with the Agg backend) and icrl_lib.notebook (setup, exact printed strings)."""
from __future__ import annotations

import random
import re
import warnings

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import is_color_like, to_rgba

from icrl_lib import notebook, plotting
from icrl_lib.notebook import fmt, setup, show
from icrl_lib.plotting import (METHOD_COLORS, PALETTE, block_heatmap, heatmap, line_with_band, set_style,
                               to_numpy)


def test_backend_is_agg():
    assert mpl.get_backend().lower() == "agg"


def tick_labels(ticklabels):
    return [t.get_text() for t in ticklabels]


# ============================================================================ plotting
def test_palette_and_method_colors():
    assert len(PALETTE) == len(set(PALETTE)) == 8 and all(is_color_like(c) for c in PALETTE)
    for key in ("transformer", "teacher", "oracle", "random", "td", "sarsa", "actor-critic"):
        assert is_color_like(METHOD_COLORS[key])
    assert METHOD_COLORS["transformer"] != METHOD_COLORS["teacher"]


def test_set_style():
    with mpl.rc_context():
        set_style()
        assert mpl.rcParams["image.cmap"] == "RdBu_r"
        assert mpl.rcParams["axes.spines.top"] is False and mpl.rcParams["axes.spines.right"] is False
        assert [to_rgba(c) for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]] == [to_rgba(c) for c in PALETTE]
        assert mpl.rcParams["svg.hashsalt"] == "icrl-book"


def test_to_numpy():
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    a = to_numpy(t * 2)
    assert isinstance(a, np.ndarray) and a.tolist() == [2.0, 4.0]
    assert to_numpy([1, 2]).tolist() == [1, 2]


def test_heatmap_limits_ticks_and_annotations():
    M = np.array([[1.0, -3.0, 0.5], [2.0, 0.0, -0.25]])
    fig, ax = plt.subplots()
    n_axes = len(fig.axes)
    im = heatmap(ax, torch.from_numpy(M), title="M", row_labels=["a", "b"], col_labels=["x", "y", "z"],
                 annotate=True)
    assert im.get_clim() == (-3.0, 3.0)  # symmetric around zero, set by the largest |entry|
    np.testing.assert_array_equal(im.get_array(), M)
    assert ax.get_title() == "M"
    assert list(ax.get_yticks()) == [0, 1] and tick_labels(ax.get_yticklabels()) == ["a", "b"]
    assert list(ax.get_xticks()) == [0, 1, 2] and tick_labels(ax.get_xticklabels()) == ["x", "y", "z"]
    texts = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert len(ax.texts) == 6 and ((1, 0), "-3.00") in texts and ((2, 1), "-0.25") in texts
    white = [t.get_text() for t in ax.texts if t.get_color() == "white"]  # |value| > 0.6 * 3
    assert sorted(white) == ["-3.00", "2.00"]
    assert len(fig.axes) == n_axes + 1  # colorbar


def test_heatmap_options():
    fig, ax = plt.subplots()
    im = heatmap(ax, np.zeros((2, 2)), colorbar=False)
    assert im.get_clim() == (-1.0, 1.0)  # all-zero matrix: a unit range instead of a degenerate one
    assert len(fig.axes) == 1 and len(ax.texts) == 0
    im = heatmap(ax, [[0.1, -0.2]], vmax=5.0, colorbar=False, annotate=True, fmt="{:.1f}")
    assert im.get_clim() == (-5.0, 5.0)
    assert [t.get_text() for t in ax.texts] == ["0.1", "-0.2"]


@pytest.mark.parametrize("M", [np.zeros(3), np.zeros((2, 2, 2))])
def test_heatmap_rejects_non_matrices(M):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="M must be a matrix"):
        heatmap(ax, M)


def test_heatmap_rejects_wrong_label_counts():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="expected 2 labels; got 3"):
        heatmap(ax, np.zeros((2, 3)), row_labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="expected 3 labels; got 1"):
        heatmap(ax, np.zeros((2, 3)), col_labels=["a"])


def test_block_heatmap_ticks_at_block_centres_and_separators():
    M = np.arange(35, dtype=float).reshape(5, 7) - 17
    fig, ax = plt.subplots()
    im = block_heatmap(ax, M, [("phi", 2), ("r", 3)], [("a", 1), ("b", 4), ("c", 2)], title="blocks",
                       colorbar=False)
    assert im.get_clim() == (-17.0, 17.0)
    # Rows 0-1 and 2-4: centres 0.5 and 3; columns 0, 1-4, 5-6: centres 0, 2.5, 5.5.
    np.testing.assert_allclose(ax.get_yticks(), [0.5, 3.0])
    np.testing.assert_allclose(ax.get_xticks(), [0.0, 2.5, 5.5])
    assert tick_labels(ax.get_yticklabels()) == ["phi", "r"]
    assert tick_labels(ax.get_xticklabels()) == ["a", "b", "c"]
    # Separator lines sit between blocks: one horizontal at 1.5, two vertical at 0.5 and 4.5.
    horiz = sorted(line.get_ydata()[0] for line in ax.lines if line.get_ydata()[0] == line.get_ydata()[1]
                   and list(line.get_xdata()) == [0, 1])
    vert = sorted(line.get_xdata()[0] for line in ax.lines if list(line.get_ydata()) == [0, 1])
    assert horiz == [1.5] and vert == [0.5, 4.5]
    assert ax.get_title() == "blocks"


@pytest.mark.parametrize("rows, cols", [
    ([("a", 2), ("b", 2)], [("c", 3)]),          # rows add up to 4, not 3
    ([("a", 3)], [("c", 2)]),                    # columns add up to 2, not 3
    ([("a", 4), ("b", -1)], [("c", 3)]),         # negative size (sums match)
    ([("a", 3), ("b", 0)], [("c", 3)]),          # empty block
    ([("a", 3)], [("c", 1.5), ("d", 1.5)]),      # non-integer sizes
    ([("a", 3)], [("c", True), ("d", 2)]),       # boolean size
])
def test_block_heatmap_rejects_bad_block_sizes(rows, cols):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="block"):
        block_heatmap(ax, np.zeros((3, 3)), rows, cols)


def test_block_heatmap_rejects_non_matrices():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="M must be a matrix"):
        block_heatmap(ax, np.zeros(3), [("a", 3)], [("b", 3)])


def test_line_with_band():
    fig, ax = plt.subplots()
    x = torch.arange(5, dtype=torch.float64)
    mean = x**2
    line = line_with_band(ax, x, mean, mean - 1, mean + 1, label="sarsa", color=METHOD_COLORS["sarsa"])
    np.testing.assert_array_equal(line.get_xdata(), x.numpy())
    np.testing.assert_array_equal(line.get_ydata(), mean.numpy())
    assert line.get_label() == "sarsa" and to_rgba(line.get_color()) == to_rgba(METHOD_COLORS["sarsa"])
    assert len(ax.collections) == 1
    band = ax.collections[0]
    verts = band.get_paths()[0].vertices
    assert verts[:, 1].min() == pytest.approx(-1.0) and verts[:, 1].max() == pytest.approx(17.0)
    fc = band.get_facecolor()[0]
    assert tuple(fc[:3]) == pytest.approx(to_rgba(METHOD_COLORS["sarsa"])[:3]) and fc[3] == pytest.approx(0.2)
    # Without a band only the line is drawn; without a colour the property cycle provides one.
    line2 = line_with_band(ax, [0, 1], [1, 2])
    assert len(ax.collections) == 1 and len(ax.lines) == 2 and is_color_like(line2.get_color())
    line_with_band(ax, [0, 1], [1, 2], low=[0, 1])  # half a band is ignored
    assert len(ax.collections) == 1


# ============================================================================ notebook
@pytest.fixture
def restore_globals():
    """setup() changes process-wide state; put it back after each test."""
    sig, threads = notebook._SIG, torch.get_num_threads()
    np_opts = np.get_printoptions()
    with mpl.rc_context(), warnings.catch_warnings():
        yield
    notebook._SIG = sig
    torch.set_num_threads(threads)
    np.set_printoptions(**np_opts)
    torch.set_printoptions(profile="default")


@pytest.mark.parametrize("x, expected", [
    (1 / 3, "0.3333"), (1.23e-7, "1.230e-07"), (-2 / 3, "-0.6667"), (0, "0"), (0.0, "0"), (-0.0, "0"),
    (1.0, "1"), (42, "42"), (123.456, "123.5"), (0.001, "0.001"), (9.99e-4, "9.990e-04"),
    (2.5e-4, "2.500e-04"), (-1e-8, "-1.000e-08"), (1e6, "1.000e+06"), (3.14159e9, "3.142e+09"),
    (12345.678, "1.235e+04"), (np.float32(0.5), "0.5"), (np.float64(2.0), "2"), (np.int64(7), "7"),
    (torch.tensor(1 / 3), "0.3333"), (torch.tensor([[1 / 3]]), "0.3333"), (np.array(2 / 3), "0.6667"),
    (torch.tensor(0.25, dtype=torch.float32), "0.25"), (torch.tensor([0.5]), "0.5"),
    (np.array([[0.5]]), "0.5"), (np.array([3]), "3"),
])
def test_fmt_exact_strings(x, expected):
    assert fmt(x) == expected


def test_fmt_significant_digits_and_arrays():
    assert fmt(1 / 3, sig=2) == "0.33"
    assert fmt(1.23e-7, sig=2) == "1.2e-07"
    assert fmt(2 / 3, sig=6) == "0.666667"
    assert fmt(np.array([1 / 3, 2 / 3])) == "[0.3333 0.6667]"
    assert fmt(torch.tensor([1e-5, 1.0])) == "[1.000e-05 1]"
    assert fmt(np.array([[1, 2], [3, 4]])) == "[[1 2]\n [3 4]]"
    assert fmt(torch.tensor([1 / 3, 0.5]), sig=2) == "[0.33 0.5]"


def test_show_exact_output(capsys):
    show(alpha=1 / 3, n=5, label="abc", err=1.23e-7, t=torch.tensor(0.25))
    assert capsys.readouterr().out == ("alpha = 0.3333\nn     = 5\nlabel = abc\nerr   = 1.230e-07\n"
                                       "t     = 0.25\n")
    show()
    assert capsys.readouterr().out == ""
    show(v=np.array([0.5, 1e-4]))
    assert capsys.readouterr().out == "v = [0.5 1.000e-04]\n"


def test_setup_sets_threads_precision_style_and_seeds(restore_globals):
    setup(seed=3, threads=2, precision=3)
    assert torch.get_num_threads() == 2
    assert fmt(1 / 3) == "0.333"  # the default precision of fmt follows setup
    assert np.get_printoptions()["precision"] == 3
    assert mpl.rcParams["image.cmap"] == "RdBu_r"
    draws = (random.random(), np.random.rand(), float(torch.rand(())))
    setup(seed=3, threads=1)
    assert torch.get_num_threads() == 1 and fmt(1 / 3) == "0.3333"
    assert (random.random(), np.random.rand(), float(torch.rand(()))) == draws
    setup(seed=4)
    assert (random.random(), np.random.rand(), float(torch.rand(()))) != draws


@pytest.mark.parametrize("kw, name", [
    ({"seed": -1}, "seed"), ({"seed": 1.0}, "seed"), ({"threads": 0}, "threads"), ({"threads": True}, "threads"),
    ({"precision": 0}, "precision"), ({"precision": "4"}, "precision"),
])
def test_setup_rejects(kw, name, restore_globals):
    with pytest.raises(ValueError, match=rf"^{re.escape(name)}\b"):
        setup(**kw)


def test_approx_bucket_below_interval_exact_strings():
    from icrl_lib.notebook import approx, below, bucket, interval
    assert approx(0.046527884900569916) == "0.047"
    assert approx(3.683e-08) == "3.7e-08"
    assert approx(0.9437, sig=3) == "0.944"
    assert approx(torch.tensor([0.123, 4.56])) == "[0.12 4.6]"
    assert bucket(3.683e-08) == bucket(2.272e-08) == "~1e-8" and bucket(0.9) == "~1e-1"
    assert below(3e-12, 1e-10) == "< 1e-10"
    with pytest.raises(AssertionError):
        below(2e-10, 1e-10)
    assert interval(0.9263, 0.0171) == "0.926 ± 0.017"
    assert interval(12.34, 1.5) == "12.3 ± 1.5"
    assert interval(0.5, 0.0) == "0.5 ± 0"


@pytest.mark.parametrize("call, name", [
    (lambda: __import__("icrl_lib.notebook").notebook.bucket(0.0), "x"),
    (lambda: __import__("icrl_lib.notebook").notebook.bucket(float("nan")), "x"),
    (lambda: __import__("icrl_lib.notebook").notebook.below(1.0, 0.0), "tol"),
    (lambda: __import__("icrl_lib.notebook").notebook.approx(torch.ones(2, 2), sig=0), "sig"),
    (lambda: __import__("icrl_lib.notebook").notebook.interval(1.0, -0.1), "mean and half_width"),
    (lambda: __import__("icrl_lib.notebook").notebook.fmt("abc"), "x"),
])
def test_printing_helpers_reject(call, name):
    with pytest.raises(ValueError, match=rf"^{re.escape(name)}\b"):
        call()


def test_setup_threads_from_environment(restore_globals, monkeypatch):
    monkeypatch.setenv(notebook.THREADS_ENV, "2")
    setup()
    assert torch.get_num_threads() == 2
    monkeypatch.delenv(notebook.THREADS_ENV)
    setup()
    assert torch.get_num_threads() == 1
