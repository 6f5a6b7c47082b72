"""Smoke test of chapter 3's figures (icrl_lib.plotting.td) on small data, with the Agg backend."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from icrl_lib.incontext import td_construction, td_prompt  # noqa: E402
from icrl_lib.plotting import (context_length_figure, similarity_figure, step_size_plot,  # noqa: E402
                               td_layer_heatmaps, td_pretraining_figure, td_prompt_heatmap)

REFS = {"v = 0": 1.0, "TD fixed point": 0.6, "best linear fit": 0.5}


def test_td_figures_draw():
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots()
    td_prompt_heatmap(ax, td_prompt(rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), rng.normal(size=3),
                                    rng.normal(size=2), 0.9), "prompt")
    assert ax.get_ylabel() == "row block"
    fig, axes = plt.subplots(1, 2)
    P, V = td_construction(2, 1)[0]
    td_layer_heatmaps(axes, P, V, 2, vmax=(1, 1))
    assert axes[1].get_title() == "value $V$"
    n_grid = [4, 8, 16]
    curves = {1: [0.9, 0.8, 0.75], 3: [1.2, 0.7, 0.65]}
    fig = context_length_figure(n_grid, curves, {1: 0.74, 3: 0.64}, {1: [0.1, 0.05, 0.02], 3: [0.2, 0.1, 0.05]},
                                REFS)
    assert len(fig.axes) == 2 and fig.axes[1].get_yscale() == "log"
    steps = list(range(0, 100, 25))
    hist = {"step": steps, "loss": [1, 0.9, 0.8, 0.8], "eval_msve": [1, 0.9, 0.8, 0.7]}
    hist.update({f"layer0_{k}": [0.1, 0.3, 0.6, 0.9] for k in ("v_mass", "p_rel_error", "p_xx", "p_xxn",
                                                                  "p_scale")})
    fig = td_pretraining_figure(hist)
    assert len(fig.axes) == 4
    runs = [{"shared": s, **{f"{w}_{m}": 0.5 for w in ("initial", "final")
                              for m in ("value_difference", "implicit_weight_similarity")}}
            for s in (True, True, False, False)]
    fig = similarity_figure(runs)
    assert fig.axes[0].get_yscale() == "log"
    fig, ax = plt.subplots()
    step_size_plot(ax, [0.5, 1.0, 1.5], [0.8, 0.6, 0.9], 0.62, REFS, 1.2, title="n = 30, L = 3")
    assert ax.get_title() == "n = 30, L = 3" and ax.get_legend() is not None
    plt.close("all")
