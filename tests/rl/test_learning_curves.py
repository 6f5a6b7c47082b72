"""rl.learning_curves (chapter 11) against the chapter's former inline code."""
from __future__ import annotations

import math

import numpy as np
import torch

from icrl_lib import rl

F = torch.float64


def test_normalized_control_is_run_control_normalised():
    mdps = rl.dirichlet_mdp(3, 2, 1.0, 0.9, 5, 1)
    agents = {"sarsa": rl.sarsa_update_fn(3, 2, 0.5, 0.9)}
    policy = rl.softmax_q_policy(3, 2, 0.5)
    w0 = torch.zeros(6, dtype=F)
    got = rl.normalized_control(mdps, agents, policy, w0, 4, 10, seed=3, reward_noise=0.1)["sarsa"]
    res = rl.run_control(mdps, agents, policy, w0, 4, 10, seed=3, reward_noise=0.1)
    J_random, J_star = rl.reference_returns(mdps)
    want = (res.returns["sarsa"] - J_random[:, None]) / (J_star - J_random)[:, None]
    assert torch.allclose(got, want, atol=1e-12, rtol=0)


def test_first_round_value_at_step_and_entropy():
    x = torch.tensor([[0.0, 0.7, 0.95, 0.9], [0.0, 0.8, 0.85, 0.9]], dtype=F)
    assert rl.first_round_reaching(x, 0.8) == 2  # the mean reaches 0.8 at round 2 (0.75 at round 1)
    assert rl.first_round_reaching(x, 0.95) is None
    steps = np.array([0, 40, 80, 120])
    assert torch.equal(rl.value_at_step(steps, x, 41), x[:, 2])
    assert torch.equal(rl.value_at_step(steps, x, 40), x[:, 1])
    pi = torch.tensor([[[1.0, 0.0], [0.5, 0.5]]], dtype=F)
    assert abs(rl.policy_entropy(pi) - math.log(2) / 2) < 1e-12
