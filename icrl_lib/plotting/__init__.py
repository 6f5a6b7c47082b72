"""Figures: the house style (:mod:`._style`) and the plot types the chapters share, one module per topic.

May import matplotlib, numpy, torch and the other icrl_lib subpackages; nothing in icrl_lib imports it except
:mod:`icrl_lib.notebook`. Each figure function draws on axes it is given (or makes its own figure and returns
it) and takes the data as arguments: the chapter keeps the call, the library keeps the boilerplate.
"""
from ._style import (COLUMN_PX, METHOD_COLORS, MIN_FONT_PX, PALETTE, block_heatmap, enforce_min_font, heatmap,
                     line_with_band, min_font_points, set_style, to_numpy)

__all__ = [
    "PALETTE", "METHOD_COLORS", "COLUMN_PX", "MIN_FONT_PX", "set_style", "enforce_min_font", "min_font_points",
    "heatmap", "block_heatmap", "line_with_band", "to_numpy",
]

# Topic modules append their re-exports below (one block each).
