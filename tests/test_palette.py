"""The house palette's contrast rule (issue 25): every data colour reaches 3:1 (WCAG 2.1 non-text contrast)
on white and on the dark-mode plate, and the colours stay apart under simulated colour-vision deficiency.

``scripts/check_figures.py`` measures the same rule on the built pages in Chromium; this is the rule itself.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from icrl_lib.plotting import METHOD_COLORS, PALETTE

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("check_figures", ROOT / "scripts" / "check_figures.py")
cf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cf)

WHITE = "#ffffff"
# sphinx-book-theme 1.3 / pydata-sphinx-theme 0.17 in dark mode: a figure is painted with
# `filter: brightness(.8) contrast(1.2)` on a plate of --pst-color-text-base (#ced6dd), as
# scripts/check_figures.py measures in Chromium.
DARK_PLATE = "#ced6dd"
MIN_CONTRAST = 3.0
MIN_CVD_DISTANCE = 15.0  # CIELAB distance; the palette's closest pair is about 17 under tritanopia


def dark_mode(color: str) -> str:
    """``color`` as the dark theme paints it (CSS brightness(0.8) then contrast(1.2), in sRGB)."""
    s = cf.srgb(color)
    s = ((s * 0.8 - 0.5) * 1.2 + 0.5).clip(0, 1)
    return "#" + "".join(f"{round(v * 255):02x}" for v in s)


DATA_COLORS = sorted(set(PALETTE) | set(METHOD_COLORS.values()))


def test_contrast_ratio_matches_wcag():
    assert cf.contrast_ratio("#000000", WHITE) == pytest.approx(21.0)
    assert cf.contrast_ratio(WHITE, WHITE) == pytest.approx(1.0)
    assert cf.contrast_ratio("#767676", WHITE) == pytest.approx(4.54, abs=0.01)  # WCAG's AA grey
    assert cf.contrast_ratio("#F0E442", WHITE) < 1.4  # the old palette's yellow (Fig. 11.1's alpha = 8)


@pytest.mark.parametrize("color", DATA_COLORS)
def test_every_data_colour_reaches_3_to_1_on_white(color):
    assert cf.contrast_ratio(color, WHITE) >= MIN_CONTRAST, color


@pytest.mark.parametrize("color", DATA_COLORS)
def test_every_data_colour_reaches_3_to_1_on_the_dark_mode_plate(color):
    # on the dimmed white of the figure itself, and on the plate around it
    assert cf.contrast_ratio(dark_mode(color), dark_mode(WHITE)) >= MIN_CONTRAST, color
    assert cf.contrast_ratio(dark_mode(color), DARK_PLATE) >= MIN_CONTRAST, color


@pytest.mark.parametrize("kind", [None, *cf.CVD])
def test_palette_colours_stay_apart_under_colour_vision_deficiency(kind):
    d, a, b = cf.closest_pair(PALETTE, kind)
    assert d >= MIN_CVD_DISTANCE, f"{a} and {b} are {d:.1f} apart under {kind or 'normal vision'}"


@pytest.mark.parametrize("kind", [None, *cf.CVD])
def test_method_colours_stay_apart_under_colour_vision_deficiency(kind):
    distinct = sorted(set(METHOD_COLORS.values()))
    d, a, b = cf.closest_pair(distinct, kind)
    assert d >= MIN_CVD_DISTANCE, f"{a} and {b} are {d:.1f} apart under {kind or 'normal vision'}"


def test_the_rule_rejects_the_old_palette():
    old = cf.OKABE_ITO
    assert [c for c in old if cf.contrast_ratio(c, WHITE) < MIN_CONTRAST] == ["#e69f00", "#56b4e9", "#f0e442"]


def test_simulation_keeps_greys_grey():
    for kind, m in cf.CVD.items():  # each row sums to 1: white stays white, greys stay grey
        assert all(abs(s - 1) < 1e-3 for s in m.sum(axis=1)), kind
    assert all(abs(x) < 0.05 for x in cf.simulate("#808080", "deuteranopia")[1:])
