"""The one training loop (icrl_lib.training.fit) against hand-written updates."""
from __future__ import annotations

import math

import pytest
import torch

from icrl_lib.training import OptimiserConfig, fit


def test_gradient_descent_on_a_quadratic_matches_the_closed_form():
    # L(w) = 0.5 * a * w^2: each step multiplies w by (1 - lr * a)
    w = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    h = fit([w], lambda step: 0.5 * 3.0 * (w ** 2).sum(), OptimiserConfig("gd", 0.1), 5, log_every=1)
    assert h["step"] == [1, 2, 3, 4, 5]
    assert abs(float(w.detach()) - 2.0 * 0.7 ** 5) < 1e-15
    # the logged loss is the loss of that step's update, before it
    assert all(abs(l - 1.5 * (2.0 * 0.7 ** k) ** 2) < 1e-12 for k, l in enumerate(h["loss"]))


def test_average_loss_log_and_metrics():
    w = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    h = fit([w], lambda step: (w ** 2).sum() * 0 + step, OptimiserConfig("gd", 0.1), 5, log_every=2,
            average_loss=True, log=lambda step: {"w": float(w)})
    assert h["step"] == [2, 4, 5] and h["loss"] == [1.5, 3.5, 5.0] and len(h["w"]) == 3


def test_linear_and_cosine_schedules_and_clipping():
    w = torch.tensor([10.0], dtype=torch.float64, requires_grad=True)
    lrs = []
    opt_cfg = OptimiserConfig("gd", 1.0, grad_clip=0.5, schedule="linear")
    fit([w], lambda step: w.sum(), opt_cfg, 4, progress=lambda step, loss: lrs.append(float(w)))
    # gradient 1 clipped to 0.5, step sizes 1, 0.75, 0.5, 0.25
    assert lrs == pytest.approx([9.5, 9.125, 8.875, 8.75])
    opt, sched = OptimiserConfig("adam", 2.0, schedule="cosine", final_lr_fraction=0.1).build([w], 10)
    for _ in range(5):
        opt.step()
        sched.step()
    assert sched.get_last_lr()[0] == pytest.approx(2.0 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 2))))


def test_divergence_stops_the_run_with_the_setting_to_change():
    w = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="diverged.*lower lr"):
        fit([w], lambda step: (w ** 2).sum() * 1e300 * 10.0 ** (10 * step), OptimiserConfig("gd", 1.0), 3)
