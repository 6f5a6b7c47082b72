"""Smoke tests of chapter 6's figures (icrl_lib.plotting.mimicking), headless (Agg)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from icrl_lib import plotting as pl  # noqa: E402
from icrl_lib.incontext import PromptDistribution, aligned_active_blocks, parameter_roles  # noqa: E402
from icrl_lib.training import GDResult, SweepSummary  # noqa: E402

F64 = torch.float64
DIST = PromptDistribution(n_states=2, n_actions=2, n_transitions=4)


def _gd(n=5, scale=1.0):
    steps = torch.arange(n, dtype=F64)
    loss = scale * torch.exp(-steps)
    return GDResult(torch.zeros(2, 2), torch.zeros(2, 2), steps, loss, 0.1 * steps, 0.05 * steps)


def _check(fig, n_axes):
    assert len([ax for ax in fig.axes if ax.get_visible()]) >= n_axes
    fig.canvas.draw()
    plt.close(fig)


def test_every_figure_draws():
    blocks = DIST.layout.blocks
    names = {b: b for b, _ in blocks}
    _check(pl.roles_figure(parameter_roles(DIST), blocks, names), 2)
    runs = {0.4: _gd(), 0.2: _gd(9)}
    _check(pl.balance_drift_figure(runs, [0.2, 0.1], [0.1, 0.05], "1.0", 10.0), 3)
    h = {k: [1.0, 0.1, 0.01] for k in ("eval_loss", "relative_error_P", "relative_error_V", "inert_norm",
                                       "balance", "scale")} | {"step": [0, 50, 100]}
    _check(pl.training_curves_figure({"sarsa": h, "actor-critic": h}, 0.05), 4)
    P, V = DIST.construction()
    a = aligned_active_blocks(P, V, DIST)
    d = DIST.d
    _check(pl.active_blocks_figure(a, [("phi", d), ("phi'", d), ("r", 1)], [("1", 1), ("w", d)], [("w", d)]), 6)
    D = DIST.layout.dim
    _check(pl.full_blocks_figure(P, V, [("all", D)], "test"), 2)
    _check(pl.saddle_escape_figure({0.1: _gd(), 0.01: _gd()}, [3, 6], 3.0, 2.0), 2)
    run = {"success": True, "history": {"step": [0, 10], "eval_loss": [1.0, 0.1]}}
    summ = SweepSummary(1, 1, (0.1, 1.0), 10, 0.01, [], np.array([0, 10]), np.array([0.0, 1.0]))
    _check(pl.success_figure([run, run | {"success": False}], "setting", {"a": summ}, 0.05), 2)
    g = _gd(20)
    _check(pl.local_rate_figure(g.steps, g.loss, g.loss, -1.0, torch.tensor([0.1, 1.0]), torch.tensor([1.0, 2.0]),
                                1.0), 2)
    t = torch.randn(10, 3, dtype=F64)
    _check(pl.update_scatter_figure(t, {"a": t, "b": 2 * t}), 2)
