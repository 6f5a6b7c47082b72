"""icrl_lib.incontext.policy_errors and regret_chain (chapter 10) against the code the chapter had."""
import math

import torch

from icrl_lib.incontext import (chain_term, construction_weights, history_tokens, linucb_construction,
                                linucb_policy_errors, mean_tv, prefix_posterior_moments, prefix_ridge_steps,
                                ucbvi_construction, ucbvi_replay_errors)
from icrl_lib.rl import LinearBandit, random_episodic_mdp, run_bandit, run_ucbvi, soft_linucb

F = torch.float64


def _history():
    band = LinearBandit.sample(3, 2, 4, 1.0, 5)
    return band, run_bandit(band, soft_linucb(1.0, 1.0, 0.1), 6, 6)


def test_posterior_and_steps_reach_the_linucb_estimate():
    band, traj = _history()
    X, r = history_tokens(band.arms, traj.actions, traj.rewards)
    w = prefix_ridge_steps(X, r, 1.0, 3000)
    # column i's scaled-penalty minimiser: (I + sum_j a_j a_j^T)^{-1} sum_j a_j r_j (the zero token adds nothing)
    A = torch.eye(2, dtype=F) + X[0].T @ X[0]
    assert torch.allclose(w[0, -1], torch.linalg.solve(A, X[0].T @ r[0]), atol=1e-9)
    m, C = prefix_posterior_moments(band.arms, X, r, 1.0)
    assert torch.allclose(m[0, -1], band.arms[0] @ torch.linalg.solve(A, X[0].T @ r[0]), atol=1e-12)
    assert torch.allclose(C[0, -1], band.arms[0] @ torch.linalg.solve(A, band.arms[0].T), atol=1e-12)


def test_linucb_errors_fall_with_depth():
    band, traj = _history()
    con = linucb_construction(2, 4, 40, width=32)
    out = linucb_policy_errors(band.features, traj.actions, traj.rewards, traj.probs, con, [2, 40])
    assert out["depth"][1] < out["depth"][0] and out["forward_gap"] < 1e-12


def test_mean_tv_and_ucbvi_replay():
    p = torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=F)
    assert abs(mean_tv(p, p.flip(-1)) - 0.5) < 1e-15
    mdp = random_episodic_mdp(2, 2, 2, seed=1, n_mdps=3)
    out = ucbvi_replay_errors(run_ucbvi(mdp, 3, 0.1, 2), ucbvi_construction(2, 2, 2, 3))
    assert out["readout"] < 1e-10 and out["soft"] < 1e-8 and out["same_actions"]


def test_chain_term_formula():
    ws = construction_weights([(torch.ones(2, 2), None), torch.full((3,), -2.0)])
    out = chain_term(ws, 0.04, 5, n_train=100, delta=0.1)
    log_n = 7 * math.log(1 + 2 * 2.0 * 100)
    assert out["P"] == 7 and out["B"] == 2.0 and abs(out["log_N"] - log_n) < 1e-12
    assert abs(out["term"] - 25 * (math.sqrt((log_n + math.log(50)) / 100) + 0.2)) < 1e-12
