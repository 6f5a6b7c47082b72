"""Bandits batched over tasks, run_bandit and the regret (chapters 9-10)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from icrl_lib.rl import (BanditHistory, BanditTrajectory, BernoulliBandit, GaussianBandit, LinearBandit,
                         arm_statistics, check_bandit_history, regret, run_bandit, suboptimality)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def always(arm):
    def expert(bandit, actions, rewards, generator=None):
        p = torch.zeros(bandit.n_tasks, bandit.n_arms, dtype=bandit.dtype)
        p[:, arm] = 1
        return p
    return expert


def test_gaussian_bandit_attributes():
    means = torch.tensor([[0.1, 0.5, 0.5], [0.9, 0.2, 0.3]], dtype=torch.float64)
    b = GaussianBandit(means, 0.3)
    assert (b.n_tasks, b.n_arms, b.dtype, len(b)) == (2, 3, torch.float64, 2)
    assert b.optimal_action.tolist() == [1, 0]          # tie -> lowest index
    assert torch.equal(b.best_mean, torch.tensor([0.5, 0.9], dtype=torch.float64))
    assert torch.equal(b.features[1], torch.eye(3, dtype=torch.float64))
    assert b.features.shape == (2, 3, 3)
    sub = b.select(1)
    assert isinstance(sub, GaussianBandit) and sub.means.shape == (1, 3) and sub.sigma == 0.3
    assert torch.equal(b.select(torch.tensor([True, False])).means, means[:1])
    assert torch.equal(b.select(slice(0, 2)).means, means)


def test_samplers_ranges_and_reproducibility():
    g = GaussianBandit.sample(50, 4, 0.3, gen(1))
    assert g.means.shape == (50, 4) and g.dtype == torch.float64
    assert bool(((g.means >= 0) & (g.means <= 1)).all())
    assert torch.equal(g.means, GaussianBandit.sample(50, 4, 0.3, 1).means)
    b = BernoulliBandit.sample(30, 2, gen(2), dtype=torch.float32)
    assert b.dtype == torch.float32 and b.means.shape == (30, 2)
    lin = LinearBandit.sample(20, 5, 10, 1.5, gen(3))
    assert lin.w.shape == (20, 5) and lin.arms.shape == (20, 10, 5) and lin.dim == 5
    assert bool(((lin.w >= 0) & (lin.w <= 1)).all()) and bool((lin.arms.abs() <= 1).all())
    assert torch.allclose(lin.means, torch.einsum("bkd,bd->bk", lin.arms, lin.w), atol=1e-14)
    assert lin.features is lin.arms
    assert lin.select([0, 3]).arms.shape == (2, 10, 5)


def test_pull_statistics():
    B = 20000
    means = torch.tensor([[0.2, 0.7]], dtype=torch.float64).expand(B, 2)
    gb = GaussianBandit(means, 0.5)
    r = gb.pull(torch.ones(B, dtype=torch.long), gen(4))
    assert abs(float(r.mean()) - 0.7) < 4 * 0.5 / B ** 0.5
    assert abs(float(r.std()) - 0.5) < 0.02
    bb = BernoulliBandit(means)
    r = bb.pull(torch.zeros(B, dtype=torch.long), gen(5))
    assert set(r.unique().tolist()) <= {0.0, 1.0}
    assert abs(float(r.mean()) - 0.2) < 4 * (0.2 * 0.8 / B) ** 0.5
    lin = LinearBandit(torch.tensor([[1.0, 2.0]]).double().expand(B, 2),
                       torch.tensor([[[1.0, 0.0], [0.5, 0.5]]]).double().expand(B, 2, 2), 1.0)
    r = lin.pull(torch.ones(B, dtype=torch.long), gen(6))
    assert abs(float(r.mean()) - 1.5) < 4 / B ** 0.5


def test_regret_of_always_arm_zero():
    b = GaussianBandit.sample(7, 3, 0.3, gen(7))
    traj = run_bandit(b, always(0), 12, gen(8))
    assert isinstance(traj, BanditTrajectory)
    assert traj.actions.shape == (7, 12) and traj.rewards.shape == (7, 12) and traj.probs.shape == (7, 12, 3)
    assert bool((traj.actions == 0).all())
    gap = b.best_mean - b.means[:, 0]
    t = torch.arange(1, 13, dtype=torch.float64)
    assert torch.allclose(regret(b, traj.actions), gap[:, None] * t, atol=1e-12)
    assert torch.allclose(suboptimality(b, traj.actions), gap[:, None].expand(7, 12), atol=0)


def test_run_bandit_reproducible_and_float32():
    b = BernoulliBandit.sample(5, 3, gen(9), dtype=torch.float32)

    def uniform_expert(bandit, actions, rewards, generator=None):
        assert actions.shape == rewards.shape == (5, actions.shape[1])
        return torch.full((5, 3), 1 / 3, dtype=bandit.dtype)

    t1 = run_bandit(b, uniform_expert, 20, 11)
    t2 = run_bandit(b, uniform_expert, 20, gen(11))
    assert torch.equal(t1.actions, t2.actions) and torch.equal(t1.rewards, t2.rewards)
    assert t1.rewards.dtype == torch.float32 and t1.probs.dtype == torch.float32
    assert len(set(t1.actions.flatten().tolist())) > 1


def test_arm_statistics_matches_a_loop():
    g = gen(12)
    actions = torch.randint(0, 4, (6, 15), generator=g)
    rewards = torch.randn(6, 15, generator=g, dtype=torch.float64)
    counts, sums = arm_statistics(actions, rewards, 4)
    for b in range(6):
        for k in range(4):
            mask = actions[b] == k
            assert counts[b, k] == int(mask.sum())
            assert abs(float(sums[b, k]) - float(rewards[b][mask].sum())) < 1e-12
    c0, s0 = arm_statistics(actions[:, :0], rewards[:, :0], 4)
    assert c0.shape == (6, 4) and float(c0.abs().sum() + s0.abs().sum()) == 0


def test_check_bandit_history():
    b = GaussianBandit.sample(2, 3, 0.3, gen(0))
    h = check_bandit_history(b, np.array([[0, 2], [1, 1]]), [[0.5, 1.0], [0.0, 0.1]])
    assert isinstance(h, BanditHistory) and h.actions.dtype == torch.long and h.rewards.dtype == torch.float64
    with pytest.raises(ValueError, match="actions must hold arm indices"):
        check_bandit_history(b, torch.tensor([[0, 3], [0, 0]]), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="actions must hold integer"):
        check_bandit_history(b, torch.zeros(2, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"actions must have shape \(B, t\)"):
        check_bandit_history(b, torch.zeros(3, 2, dtype=torch.long), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="rewards must have the shape"):
        check_bandit_history(b, torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="rewards contains NaN"):
        check_bandit_history(b, torch.zeros(2, 1, dtype=torch.long), torch.tensor([[0.0], [float("nan")]]))


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"means must have shape \(B, A\)"):
        GaussianBandit(torch.rand(3), 0.3)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        GaussianBandit(torch.rand(2, 3), 0.0)
    with pytest.raises(ValueError, match=r"means must lie in \[0, 1\]"):
        BernoulliBandit(torch.tensor([[0.5, 1.5]]))
    with pytest.raises(ValueError, match=r"arms must have shape \(B, A, d\)"):
        LinearBandit(torch.rand(2, 3), torch.rand(2, 4, 2), 1.0)
    with pytest.raises(ValueError, match=r"w must have shape \(B, d\)"):
        LinearBandit(torch.rand(3), torch.rand(2, 4, 3), 1.0)
    with pytest.raises(ValueError, match="n_tasks"):
        GaussianBandit.sample(0, 3, 0.3, 0)
    with pytest.raises(ValueError, match="dtype"):
        BernoulliBandit.sample(2, 3, 0, dtype=torch.int64)
    b = GaussianBandit.sample(4, 3, 0.3, gen(0))
    with pytest.raises(ValueError, match=r"actions must have shape \(B,\)"):
        b.pull(torch.zeros(3, dtype=torch.long), 0)
    with pytest.raises(ValueError, match="actions must hold arm indices"):
        b.pull(torch.full((4,), 3), 0)
    with pytest.raises(ValueError, match="generator"):
        b.pull(torch.zeros(4, dtype=torch.long), None)
    with pytest.raises(ValueError, match="expert must be callable"):
        run_bandit(b, "ucb", 5, 0)
    with pytest.raises(ValueError, match="horizon"):
        run_bandit(b, always(0), 0, 0)
    with pytest.raises(ValueError, match=r"expert must return probs of shape \(B, A\)"):
        run_bandit(b, lambda *args: torch.ones(4, 2) / 2, 3, 0)
    with pytest.raises(ValueError, match="not probability vectors"):
        run_bandit(b, lambda *args: torch.ones(4, 3, dtype=torch.float64), 3, 0)
    with pytest.raises(ValueError, match=r"actions must have shape \(B, T\)"):
        regret(b, torch.zeros(4, dtype=torch.long))
