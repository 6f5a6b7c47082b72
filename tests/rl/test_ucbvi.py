"""Tabular UCB-VI (chapter 10) against an explicit Python loop over episodes, steps, states and actions."""
import math

import numpy as np
import pytest
import torch

from icrl_lib.rl import (EpisodicMDP, greedy_action, random_episodic_mdp, run_ucbvi, ucbvi_bonus, ucbvi_counts,
                         ucbvi_plan)


def loop_ucbvi(P, r, rho0, K, delta, scale, seed_states):
    """Plain loops; the random states are taken from a reference run (same generator use)."""
    H, S, A = r.shape
    iota = math.log(S * A * K * H / delta)
    Nsas, Nsa, R = np.zeros((H, S, A, S)), np.zeros((H, S, A)), np.zeros((H, S, A))
    Qs, actions = [], []
    for k in range(K):
        V = np.zeros((H + 1, S))
        Q = np.zeros((H, S, A))
        for h in reversed(range(H)):
            for s in range(S):
                for a in range(A):
                    n = max(Nsa[h, s, a], 1)
                    b = scale * H * math.sqrt(iota / n)
                    pv = sum(Nsas[h, s, a, s2] / n * V[h + 1, s2] for s2 in range(S))
                    Q[h, s, a] = min(H, R[h, s, a] / n + b + pv)
                V[h, s] = max(Q[h, s])
        Qs.append(Q)
        acts = []
        for h in range(H):
            s = seed_states[k, h]
            best = max(Q[h, s])
            a = min(a for a in range(A) if Q[h, s, a] >= best - 1e-9)
            acts.append(a)
            s2 = seed_states[k, h + 1]
            Nsas[h, s, a, s2] += 1
            Nsa[h, s, a] += 1
            R[h, s, a] += r[h, s, a]
        actions.append(acts)
    return np.array(Qs), np.array(actions)


@pytest.mark.parametrize("scale", [2.0, 0.1])
def test_run_matches_loop(scale):
    mdp = random_episodic_mdp(3, 2, 3, seed=4)
    run = run_ucbvi(mdp, 6, 0.2, 5, bonus_scale=scale)
    Q, actions = loop_ucbvi(mdp.P.numpy(), mdp.r.numpy(), mdp.rho0.numpy(), 6, 0.2, scale, run.states.numpy())
    np.testing.assert_allclose(run.Q.numpy(), Q, atol=1e-12)
    np.testing.assert_array_equal(run.actions.numpy(), actions)
    # rewards are the MDP's
    H = 3
    for k in range(6):
        for h in range(H):
            assert run.rewards[k, h] == mdp.r[h, run.states[k, h], run.actions[k, h]]


def test_batched_equals_single():
    mdps = random_episodic_mdp(2, 3, 2, seed=0, n_mdps=3)
    run = run_ucbvi(mdps, 3, 0.1, 0, bonus_scale=0.3)
    assert run.Q.shape == (3, 3, 2, 2, 3) and run.states.shape == (3, 3, 3)


def test_counts_and_plan_on_known_data():
    h = torch.tensor([0, 1, 0]); s = torch.tensor([0, 1, 0]); a = torch.tensor([1, 0, 1]); sn = torch.tensor([1, 0, 0])
    r = torch.tensor([0.5, 1.0, 0.25], dtype=torch.float64)
    Nsas, Nsa, R = ucbvi_counts(h, s, a, r, sn, 2, 2, 2)
    assert Nsa[0, 0, 1] == 2 and Nsas[0, 0, 1, 1] == 1 and Nsas[0, 0, 1, 0] == 1 and R[0, 0, 1] == 0.75
    Q, V = ucbvi_plan(Nsas, Nsa, R, torch.zeros(2, 2, 2, dtype=torch.float64))
    assert float(Q[1, 1, 0]) == 1.0 and float(Q[0, 0, 1]) == pytest.approx(0.375 + 0.5 * V[1, 0] + 0.5 * V[1, 1])
    assert torch.all(ucbvi_bonus(torch.arange(4.0), 2, 2, 2, 3, 0.1) > 0)


def test_greedy_ties_lowest():
    assert greedy_action(torch.tensor([1.0, 1.0 + 1e-12, 0.5])).item() == 0
    assert greedy_action(torch.tensor([0.0, 1.0, 1.0])).item() == 1


def test_bad_inputs():
    with pytest.raises(ValueError, match="P"):
        EpisodicMDP(torch.ones(2, 2, 2, 2), torch.zeros(2, 2, 2), torch.ones(2) / 2)
    with pytest.raises(ValueError, match="r must"):
        EpisodicMDP(torch.ones(2, 2, 2, 2) / 2, 2 * torch.ones(2, 2, 2), torch.ones(2) / 2)
    mdp = random_episodic_mdp(2, 2, 2)
    with pytest.raises(ValueError, match="n_episodes"):
        run_ucbvi(mdp, 0)
    with pytest.raises(ValueError, match="delta"):
        run_ucbvi(mdp, 2, delta=0.0)
    with pytest.raises(ValueError, match="mdp"):
        run_ucbvi("mdp", 2)
    with pytest.raises(ValueError, match="s_next"):
        ucbvi_counts([0], [0], [0], [0.5], [5], 2, 2, 2)
