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
from .blocks import (construction_heatmaps, polynomial_fit_plot, prompt_heatmap, reference_lines,  # noqa: E402
                     run_curves, spectrum_plot)
__all__ += ["prompt_heatmap", "construction_heatmaps", "run_curves", "reference_lines", "spectrum_plot",
            "polynomial_fit_plot"]

# Chapters 1-2 (foundations).
from .foundations import (plot_batch_td, plot_lsa_training, plot_normalized_returns,  # noqa: E402
                          plot_regression_weights, plot_td0_errors, plot_value_iteration)

__all__ += ["plot_value_iteration", "plot_td0_errors", "plot_batch_td", "plot_normalized_returns",
            "plot_regression_weights", "plot_lsa_training"]

# chapter 7: in-context control
from .control import (AGENT_LABELS, plot_context_length, plot_control_curves, plot_distribution_shift,  # noqa: E402
                      plot_error_bound, plot_long_run)

__all__ += ["AGENT_LABELS", "plot_control_curves", "plot_context_length", "plot_long_run",
            "plot_distribution_shift", "plot_error_bound"]

# Chapter 6 (teacher mimicking and gradient flow).
from .mimicking import (active_blocks_figure, balance_drift_figure, full_blocks_figure, local_rate_figure,  # noqa: E402
                        roles_figure, saddle_escape_figure, success_figure, training_curves_figure,
                        update_scatter_figure)

__all__ += ["roles_figure", "balance_drift_figure", "training_curves_figure", "active_blocks_figure",
            "full_blocks_figure", "saddle_escape_figure", "success_figure", "local_rate_figure",
            "update_scatter_figure"]

# Chapter 3 (in-context TD).
from .td import (context_length_figure, similarity_figure, step_size_plot, td_layer_heatmaps,  # noqa: E402
                 td_pretraining_figure, td_prompt_heatmap)

__all__ += ["td_prompt_heatmap", "td_layer_heatmaps", "context_length_figure", "td_pretraining_figure",
            "similarity_figure", "step_size_plot"]

# Chapter 10 (bandits and UCB-VI).
from .bandits import plot_depth_errors, plot_layers_vs_condition, plot_linucb_errors, plot_regret_curves  # noqa: E402

__all__ += ["plot_depth_errors", "plot_layers_vs_condition", "plot_linucb_errors", "plot_regret_curves"]

# Chapter 11: stacked layers, distribution shift, return against environment steps.
from .stacks import depth_control_figure, shift_figure, steps_figure  # noqa: E402

__all__ += ["depth_control_figure", "shift_figure", "steps_figure"]

# Chapter 8: softmax TD.
from .softmax import depth_figure, error_curves, floor_plot, linear_vs_softmax_figure, tabular_gap_plot  # noqa: E402

__all__ += ["depth_figure", "error_curves", "floor_plot", "linear_vs_softmax_figure", "tabular_gap_plot"]

# Chapter 9: supervised pretraining.
from .pretraining import (darkroom_plot, framework_diagram, rate_plot, ratio_figure,  # noqa: E402
                          regret_curves, regret_panels)

__all__ += ["darkroom_plot", "framework_diagram", "rate_plot", "ratio_figure", "regret_curves", "regret_panels"]
