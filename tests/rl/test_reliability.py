"""Regression tests of the rl reliability fixes: silent NaN / wrong results that now raise or are right."""
from __future__ import annotations

import pytest
import torch

from icrl_lib import rl


def test_run_bandit_rejects_nan_probs_instead_of_playing_the_last_arm():
    b = rl.GaussianBandit(torch.rand(2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64), 1.0)

    def nan_expert(bandit, actions, rewards, generator):
        return torch.full((2, 3), float("nan"), dtype=torch.float64)

    with pytest.raises(ValueError, match="expert returned NaN"):
        rl.run_bandit(b, nan_expert, 3, 0)
    with pytest.raises(ValueError, match="bandit must be"):
        rl.run_bandit(None, rl.uniform(), 3, 0)


def test_darkroom_refuses_wrapping_truncating_and_bool_inputs():
    room = rl.DarkRoom([3, 7], size=3, horizon=4)
    for states, actions, name in (([-1, 0], [0, 0], "states"), ([100, 0], [0, 0], "states"),
                                  ([0, 0], torch.tensor([1.7, 0.0]), "actions")):
        with pytest.raises(ValueError, match=name):
            room.step(torch.as_tensor(states), torch.as_tensor(actions))
    with pytest.raises(ValueError, match="goals"):
        rl.DarkRoom([True, False])
    for bad in (torch.zeros(2, 9, 5), torch.full((2, 9, 5), float("nan"))):
        with pytest.raises(ValueError, match="policy"):
            room.rollout(bad, 0)
    # legitimate inputs keep their results
    nxt, r = room.step(torch.tensor([0, 2]), torch.tensor([1, 4]))
    assert nxt.tolist() == [1, 5] and r.tolist() == [0.0, 0.0]


def test_greedy_action_tol_and_ucbvi_counts():
    with pytest.raises(ValueError, match="tol"):
        rl.greedy_action(torch.zeros(2, 3), tol=-1.0)
    assert rl.greedy_action(torch.tensor([[0.0, 1.0, 1.0]])).tolist() == [1]
    with pytest.raises(ValueError, match="counts"):
        rl.ucbvi_bonus(torch.tensor([-1.0]), 2, 2, 2, 3)
    with pytest.raises(ValueError, match="h"):
        rl.ucbvi_counts(torch.tensor([True]), [0], [0], [0.5], [0], 2, 2, 2)


def test_weighted_softmax_td_refuses_quadratic_memory_at_once_and_divergence():
    # the ValueError (not torch's allocation RuntimeError) shows nothing quadratic was allocated
    with pytest.raises(ValueError, match=r"features is too large: .* would need 74\.5 GiB"):
        rl.weighted_softmax_td(torch.zeros(100_001, 1, dtype=torch.float64), torch.zeros(100_000), 0.9, 0.1, 1)
    with pytest.raises(ValueError, match="alpha"):
        rl.weighted_softmax_td(torch.zeros(3, 2, dtype=torch.float64), torch.ones(2, dtype=torch.float64), 0.9, 1e10,
                               100)


def test_gamma_variates_shapes():
    assert rl.gamma_variates(5, 1.0, 0).shape == (5,)
    assert rl.gamma_variates((0, 3), 1.0, 0).shape == (0, 3)
    assert torch.equal(rl.gamma_variates((4,), 0.5, torch.Generator().manual_seed(1)), rl.gamma_variates((4,), 0.5, 1))
    with pytest.raises(ValueError, match="shape"):
        rl.gamma_variates((-1, 3), 1.0, 0)


def test_seed_accepts_a_generator():
    assert torch.equal(rl.random_mdp(2, 2, seed=torch.Generator().manual_seed(3)).P, rl.random_mdp(2, 2, seed=3).P)
    assert torch.equal(rl.random_features(2, 2, seed=torch.Generator().manual_seed(3)), rl.random_features(2, 2, seed=3))
