"""In-context control on held-out MDPs (icrl_lib.control_eval).

Independent checks: the recorded returns against single-MDP exact evaluation (icrl_lib.mdp) of the
parameters the agent actually produced, with policies built by icrl_lib.control; the normalisation against
per-MDP value iteration; the exact construction as an agent against the teacher (identical returns); the
95% interval against numpy; the held-out seed range against the training generators.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from icrl_lib import control as C
from icrl_lib.control_eval import (HELD_OUT_SEED_OFFSET, ControlResult, block_update, held_out_mdps,
                                   mean_and_ci95, run_control, teacher_update)
from icrl_lib.mdp import expected_return, value_iteration
from icrl_lib.mdp_batch import random_mdps
from icrl_lib.teacher_mimicking import (PromptDistribution, build_prompt_batch, construction,
                                        sample_parameters)

F64 = torch.float64
SARSA = PromptDistribution(algorithm="sarsa", n_states=4, n_actions=2, n_transitions=20)
AC = PromptDistribution(algorithm="actor-critic", n_states=4, n_actions=2, n_transitions=20, alpha=0.5, beta=2.0)


def test_held_out_mdps_are_deterministic_and_disjoint_from_training_seeds():
    a, b = held_out_mdps(SARSA, 5, seed=2), held_out_mdps(SARSA, 5, seed=2)
    assert torch.equal(a.P, b.P)
    assert (a.n_mdps, a.n_states, a.n_actions, a.gamma) == (5, 4, 2, SARSA.gamma)
    assert torch.equal(a.P, random_mdps(5, 4, 2, SARSA.gamma, seed=HELD_OUT_SEED_OFFSET + 2).P)
    assert not torch.equal(a.P, held_out_mdps(SARSA, 5, seed=3).P)
    # training generators use small seeds (cfg.seed and 1_000_003 + cfg.seed): none of those MDPs reappear
    train = [random_mdps(5, 4, 2, SARSA.gamma, seed=s).P for s in (0, 1, 2, 1_000_003, 1_000_005)]
    assert all(not torch.isclose(a.P[:, None], t[None]).all(dim=(-1, -2, -3)).any() for t in train)
    with pytest.raises(ValueError):
        held_out_mdps(SARSA, 0)
    with pytest.raises(ValueError):
        held_out_mdps(SARSA, 3, seed=-1)


@pytest.mark.parametrize("dist", [SARSA, AC], ids=["sarsa", "actor-critic"])
def test_block_update_with_the_construction_is_the_teacher(dist):
    g = torch.Generator().manual_seed(0)
    mdps = random_mdps(16, dist.n_states, dist.n_actions, dist.gamma, generator=g)
    batch = build_prompt_batch(dist, mdps, sample_parameters(dist, 16, g), g, temperature=0.5)
    assert torch.equal(teacher_update(batch), batch.target)
    P, V = construction(dist)
    out = block_update(P, V, dist)(batch)
    assert out.shape == batch.target.shape
    assert (out - batch.target).abs().max() < 1e-12
    # the scale symmetry (cV, P/c) gives the same agent
    out2 = block_update(P / 3.0, 3.0 * V, dist)(batch)
    assert (out2 - batch.target).abs().max() < 1e-12


def _recording(update, store):
    def wrapped(batch):
        out = update(batch)
        store.append(out.clone())
        return out
    return wrapped


@pytest.mark.parametrize("dist,tau", [(SARSA, 0.5), (AC, 0.5)], ids=["sarsa", "actor-critic"])
def test_run_control_returns_are_exact_returns_of_the_produced_parameters(dist, tau):
    B, K = 4, 5
    mdps = held_out_mdps(dist, B, seed=1)
    produced = []
    res = run_control(mdps, dist, {"teacher": _recording(teacher_update, produced)}, K, tau, seed=3)
    assert isinstance(res, ControlResult)
    assert set(res.returns) == set(res.normalized) == {"teacher", "oracle", "random"}
    assert res.returns["teacher"].shape == (B, K + 1) and len(produced) == K
    S, A = dist.n_states, dist.n_actions
    policy = (C.softmax_q_policy(S, A, tau) if dist.algorithm == "sarsa" else C.actor_policy(S, A))
    n_out = S * A if dist.algorithm == "sarsa" else S + S * A
    params = [torch.zeros(B, n_out, dtype=F64)] + produced
    for i in range(B):
        m = mdps.mdp(i)
        _, V_star, _ = value_iteration(m)
        J_star = float(m.rho0 @ V_star)
        J_rand = float(expected_return(m, torch.full((S, A), 1 / A, dtype=F64)))
        assert abs(res.J_star[i].item() - J_star) < 1e-9 and abs(res.J_random[i].item() - J_rand) < 1e-12
        for k in range(K + 1):
            J = float(expected_return(m, policy(params[k][i])))
            assert abs(res.returns["teacher"][i, k].item() - J) < 1e-12
            assert abs(res.normalized["teacher"][i, k].item() - (J - J_rand) / (J_star - J_rand)) < 1e-9
    # parameters start at zero: the behaviour policy is uniform, so round 0 is exactly the random agent
    assert res.normalized["teacher"][:, 0].abs().max() < 1e-12
    assert torch.equal(res.normalized["oracle"], torch.ones(B, K + 1, dtype=F64))
    assert torch.equal(res.normalized["random"], torch.zeros(B, K + 1, dtype=F64))
    assert torch.allclose(res.returns["oracle"], res.J_star[:, None].expand(B, K + 1))


@pytest.mark.parametrize("dist,tau", [(SARSA, 0.5), (AC, 1.0)], ids=["sarsa", "actor-critic"])
def test_construction_agent_equals_teacher_under_common_random_numbers(dist, tau):
    mdps = held_out_mdps(dist, 6, seed=0)
    P, V = construction(dist)
    res = run_control(mdps, dist, {"transformer": block_update(P, V, dist), "teacher": teacher_update},
                      n_rounds=6, temperature=tau, seed=4)
    assert (res.returns["transformer"] - res.returns["teacher"]).abs().max() < 1e-10
    # a different seed gives different contexts, hence different returns
    res2 = run_control(mdps, dist, {"teacher": teacher_update}, n_rounds=6, temperature=tau, seed=5)
    assert not torch.allclose(res2.returns["teacher"], res.returns["teacher"])


def test_sarsa_teacher_improves_toward_the_oracle():
    dist = PromptDistribution(algorithm="sarsa", n_transitions=40)
    res = run_control(held_out_mdps(dist, 16, seed=0), dist, {"teacher": teacher_update}, 20, 0.3, seed=0)
    final = res.normalized["teacher"][:, -1]
    assert final.mean() > 0.7 and (final <= 1 + 1e-12).all()


def test_run_control_validation_and_non_finite_parameters():
    mdps = held_out_mdps(SARSA, 3)
    with pytest.raises(ValueError):
        run_control("not mdps", SARSA, {"teacher": teacher_update}, 2, 0.5)
    with pytest.raises(ValueError):
        run_control(mdps, SARSA, {"teacher": teacher_update}, 0, 0.5)
    with pytest.raises(ValueError):
        run_control(mdps, SARSA, {"teacher": teacher_update}, 2, 0.0)
    with pytest.raises(ValueError, match="non-finite"):
        run_control(mdps, SARSA, {"bad": lambda b: b.target * float("nan")}, 2, 0.5)


def test_mean_and_ci95_against_numpy():
    x = np.random.default_rng(0).normal(size=(30, 4))
    m, h = mean_and_ci95(x)
    np.testing.assert_allclose(m.numpy(), x.mean(0), rtol=0, atol=1e-14)
    np.testing.assert_allclose(h.numpy(), 1.96 * x.std(0, ddof=1) / np.sqrt(30), rtol=0, atol=1e-14)
    with pytest.raises(ValueError):
        mean_and_ci95(torch.zeros(1, 3))
