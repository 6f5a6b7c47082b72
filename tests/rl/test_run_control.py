"""run_control, the one outer control loop, over batches of MDPs (the generic parts of the old control_eval tests).

Independent checks: the recorded returns against single-MDP exact evaluation of the parameters each agent
actually produced; the normalisation against value iteration of each MDP; the batched loop against a batch of
one and against the single-MDP wrapper; common random numbers across agents; mean_and_ci95 against numpy.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from icrl_lib import rl

F64 = torch.float64
S, A = 4, 2


def _recording(update, store):
    def wrapped(params, tr):
        out = update(params, tr)
        store.append(out.clone())
        return out
    return wrapped


@pytest.mark.parametrize("algorithm", ["sarsa", "actor-critic"])
def test_returns_are_exact_returns_of_the_produced_parameters(algorithm):
    B, K, tau = 4, 5, 0.5
    mdps = rl.random_mdp(S, A, 0.9, seed=1, n_mdps=B)
    if algorithm == "sarsa":
        update, policy, d = rl.sarsa_update_fn(S, A, 1.0, 0.9), rl.softmax_q_policy(S, A, tau), S * A
    else:
        update, policy, d = rl.actor_critic_update_fn(S, A, 1.0, 5.0, 0.9, tau), rl.actor_policy(S, A, tau), S + S * A
    produced = []
    res = rl.run_control(mdps, {"teacher": _recording(update, produced)}, policy, torch.zeros(d), K, 30, seed=3)
    assert isinstance(res, rl.ControlResult) and set(res.returns) == set(res.params) == {"teacher"}
    assert res.returns["teacher"].shape == (B, K + 1) and res.params["teacher"].shape == (B, K + 1, d)
    assert len(produced) == K
    J_random, J_star = rl.reference_returns(mdps)
    normalized = res.normalized(J_random, J_star)["teacher"]
    params = [torch.zeros(B, d, dtype=F64)] + produced
    for i in range(B):
        m = mdps[i]
        _, V_star, _ = rl.value_iteration(m)
        J_s = float(m.rho0 @ V_star)
        J_r = float(rl.expected_return(m, torch.full((S, A), 1 / A, dtype=F64)))
        assert abs(J_star[i].item() - J_s) < 1e-9 and abs(J_random[i].item() - J_r) < 1e-12
        for k in range(K + 1):
            assert torch.equal(res.params["teacher"][i, k], params[k][i])
            J = float(rl.expected_return(m, policy(params[k][i])))
            assert abs(res.returns["teacher"][i, k].item() - J) < 1e-12
            assert abs(normalized[i, k].item() - (J - J_r) / (J_s - J_r)) < 1e-9
    # parameters start at zero: the behaviour policy is uniform, so round 0 is exactly the random agent
    assert normalized[:, 0].abs().max() < 1e-12


def test_common_random_numbers_across_agents_and_seeds():
    mdps = rl.random_mdp(S, A, seed=2, n_mdps=6)
    sarsa = rl.sarsa_update_fn(S, A, 1.0, 0.9)
    policy = rl.softmax_q_policy(S, A, 0.5)
    res = rl.run_control(mdps, {"a": sarsa, "b": lambda w, tr: sarsa(w, tr) + 0.0}, policy, torch.zeros(S * A),
                         6, 20, 4)
    assert torch.equal(res.returns["a"], res.returns["b"]) and torch.equal(res.params["a"], res.params["b"])
    again = rl.run_control(mdps, {"a": sarsa}, policy, torch.zeros(S * A), 6, 20, seed=4)
    assert torch.equal(again.returns["a"], res.returns["a"])
    other = rl.run_control(mdps, {"a": sarsa}, policy, torch.zeros(S * A), 6, 20, 5)
    assert not torch.allclose(other.returns["a"], res.returns["a"])
    # a torch.Generator: one seed is drawn from it (so it advances) and shared by the agents
    g = torch.Generator().manual_seed(0)
    r1 = rl.run_control(mdps, {"a": sarsa, "b": sarsa}, policy, torch.zeros(S * A), 3, 20, g)
    r2 = rl.run_control(mdps, {"a": sarsa}, policy, torch.zeros(S * A), 3, 20, g)
    assert torch.equal(r1.returns["a"], r1.returns["b"]) and not torch.equal(r1.returns["a"], r2.returns["a"])


def test_batch_of_one_and_single_mdp_wrapper_equal_the_batch_free_loop():
    m = rl.random_mdp(S, A, seed=5)
    sarsa, policy = rl.sarsa_update_fn(S, A, 1.0, 0.9), rl.softmax_q_policy(S, A, 0.3)
    single = rl.run_control(m, sarsa, policy, torch.zeros(S * A), 4, 15, 6, reset_prob=0.1, reward_noise=0.2)
    one = rl.run_control(rl.stack_mdps([m]), sarsa, policy, torch.zeros(S * A), 4, 15, 6, reset_prob=0.1,
                         reward_noise=0.2)
    assert single.params["agent"].shape == (5, S * A) and single.returns["agent"].shape == (5,)
    assert torch.equal(single.params["agent"], one.params["agent"][0])
    assert torch.equal(single.returns["agent"], one.returns["agent"][0])
    hist = rl.in_context_control(m, sarsa, torch.zeros(S * A), 4, 15, policy, 6, reset_prob=0.1)
    ref = rl.run_control(m, sarsa, policy, torch.zeros(S * A), 4, 15, 6, reset_prob=0.1)
    assert torch.equal(hist.params, ref.params["agent"]) and torch.equal(hist.returns, ref.returns["agent"])


def test_per_agent_policies_and_initial_parameters():
    mdps = rl.random_mdp(S, A, seed=7, n_mdps=3)
    agents = {"sarsa": rl.sarsa_update_fn(S, A, 1.0, 0.9), "ac": rl.actor_critic_update_fn(S, A, 1.0, 5.0, 0.9)}
    policies = {"sarsa": rl.softmax_q_policy(S, A, 0.3), "ac": rl.actor_policy(S, A, 1.0)}
    p0 = {"sarsa": torch.zeros(S * A), "ac": torch.zeros(3, S + S * A)}
    res = rl.run_control(mdps, agents, policies, p0, 2, 10, 0)
    assert res.params["sarsa"].shape == (3, 3, S * A) and res.params["ac"].shape == (3, 3, S + S * A)
    with pytest.raises(ValueError, match="policy"):
        rl.run_control(mdps, agents, {"sarsa": policies["sarsa"]}, p0, 2, 10, 0)
    with pytest.raises(ValueError, match="params0"):
        rl.run_control(mdps, agents, policies, {"ac": p0["ac"]}, 2, 10, 0)


def test_batched_sarsa_improves_toward_the_optimal_return():
    mdps = rl.random_mdp(S, A, 0.9, seed=8, n_mdps=16)
    res = rl.run_control(mdps, rl.sarsa_update_fn(S, A, 1.0, 0.9), rl.softmax_q_policy(S, A, 0.3),
                         torch.zeros(S * A), 20, 40, 0)
    final = res.normalized(*rl.reference_returns(mdps))["agent"][:, -1]
    # Measured: mean 0.90; the threshold leaves a margin.
    assert final.mean() > 0.7 and (final <= 1 + 1e-12).all()


def test_run_control_validation_and_non_finite_parameters():
    mdps = rl.random_mdp(S, A, seed=9, n_mdps=3)
    sarsa, policy, w0 = rl.sarsa_update_fn(S, A, 1.0, 0.9), rl.softmax_q_policy(S, A, 0.5), torch.zeros(S * A)
    with pytest.raises(ValueError, match="mdps"):
        rl.run_control("not mdps", sarsa, policy, w0, 2, 5)
    with pytest.raises(ValueError, match="agents"):
        rl.run_control(mdps, {"x": "not callable"}, policy, w0, 2, 5)
    with pytest.raises(ValueError, match="n_rounds"):
        rl.run_control(mdps, sarsa, policy, w0, -1, 5)
    with pytest.raises(ValueError, match="n_transitions"):
        rl.run_control(mdps, sarsa, policy, w0, 2, 0)
    with pytest.raises(ValueError, match="params0"):
        rl.run_control(mdps, sarsa, policy, torch.zeros(2, S * A), 2, 5)   # batch (2,) against (3,)
    with pytest.raises(ValueError, match="reward_noise"):
        rl.run_control(mdps, sarsa, policy, w0, 2, 5, reward_noise=-1.0)
    with pytest.raises(ValueError, match="reset_prob"):
        rl.run_control(mdps, sarsa, policy, w0, 2, 5, reset_prob=1.5)
    with pytest.raises(ValueError, match="seed"):
        rl.run_control(mdps, sarsa, policy, w0, 2, 5, 1, seed=2)
    with pytest.raises(ValueError, match="generator"):
        rl.run_control(mdps, sarsa, policy, w0, 2, 5, "zero")
    with pytest.raises(ValueError, match="non-finite"):
        rl.run_control(mdps, {"bad": lambda w, tr: w * float("nan")}, policy, w0, 2, 5)
    with pytest.raises(ValueError, match="shape"):
        rl.run_control(mdps, {"bad": lambda w, tr: w[..., :-1]}, policy, w0, 2, 5)
    with pytest.raises(ValueError, match="policy"):
        rl.run_control(mdps, sarsa, lambda w: torch.ones(S, A + 1), w0, 2, 5)


def test_normalized_raises_when_the_gap_is_not_positive():
    res = rl.ControlResult({}, {"a": torch.zeros(2, 3, dtype=F64)})
    with pytest.raises(ValueError, match="J_star"):
        res.normalized(torch.ones(2, dtype=F64), torch.ones(2, dtype=F64))


def test_mean_and_ci95_against_numpy():
    x = np.random.default_rng(0).normal(size=(30, 4))
    m, h = rl.mean_and_ci95(x)
    np.testing.assert_allclose(m.numpy(), x.mean(0), rtol=0, atol=1e-14)
    np.testing.assert_allclose(h.numpy(), 1.96 * x.std(0, ddof=1) / np.sqrt(30), rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="x"):
        rl.mean_and_ci95(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="x"):
        rl.mean_and_ci95(torch.tensor(1.0))
    with pytest.raises(ValueError, match="x"):
        rl.mean_and_ci95([1.0, float("nan")])
