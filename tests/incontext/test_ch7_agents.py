"""Chapter 7 additions to icrl_lib.incontext: agent_jacobian (agents.py) and behaviour_blocks /
behaviour_parameters (tasks.py).

Independent checks: the SARSA teacher's Jacobian against I - alpha A_hat written out from the one-hot
features here, the actor-critic teacher's against central finite differences, a block agent's against its
closed form (the query column is linear in P for fixed V, so the Jacobian is read off the layer formula), and
the behaviour parameters against rl.split_actor_critic.
"""
from __future__ import annotations

import pytest
import torch

from icrl_lib.incontext import (PromptDistribution, agent_jacobian, behaviour_blocks, behaviour_parameters,
                                behaviour_policy, block_agent, held_out_mdps, sample_parameters, teacher_agent)
from icrl_lib.rl import one_hot_state_action, sample_transitions, split_actor_critic

F64 = torch.float64
SARSA = PromptDistribution(algorithm="sarsa", n_states=4, n_actions=2, n_transitions=12, alpha=0.7)
AC = PromptDistribution(algorithm="actor-critic", n_states=4, n_actions=2, n_transitions=12, alpha=0.5, beta=2.0)


def _context(dist, n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    mdps = held_out_mdps(dist, n, seed=seed)
    params = sample_parameters(dist, n, g)
    T = sample_transitions(mdps, behaviour_policy(dist, params), dist.n_transitions, g)
    return params, T


def test_sarsa_teacher_jacobian_is_identity_minus_alpha_A_hat():
    params, T = _context(SARSA)
    S, A, N = SARSA.n_states, SARSA.n_actions, SARSA.n_transitions
    phi = one_hot_state_action(T.s, T.a, S, A, dtype=F64)            # (B, N, SA)
    phi_next = one_hot_state_action(T.s_next, T.a_next, S, A, dtype=F64)
    A_hat = torch.einsum("bti,btj->bij", phi, phi - SARSA.gamma * phi_next) / N
    expected = torch.eye(S * A, dtype=F64) - SARSA.alpha * A_hat
    J = agent_jacobian(teacher_agent(SARSA), params, T)
    assert J.shape == (6, S * A, S * A)
    assert torch.allclose(J, expected, atol=1e-12)
    # affine map: the Jacobian does not depend on where it is taken
    assert torch.allclose(agent_jacobian(teacher_agent(SARSA), 3 * params + 1, T), expected, atol=1e-12)


def test_actor_critic_teacher_jacobian_matches_finite_differences():
    params, T = _context(AC, n=3, seed=1)
    update = teacher_agent(AC)
    J = agent_jacobian(update, params, T)
    n, h = params.shape[-1], 1e-6
    fd = torch.stack([(update(params + h * e, T) - update(params - h * e, T)) / (2 * h)
                      for e in torch.eye(n, dtype=F64)], dim=-1)
    assert torch.allclose(J, fd, atol=1e-6)


def test_block_jacobian_matches_layer_formula():
    params, T = _context(SARSA, n=4, seed=2)
    D = SARSA.layout.dim
    g = torch.Generator().manual_seed(3)
    P, V = torch.randn(D, D, generator=g, dtype=F64), torch.randn(D, D, generator=g, dtype=F64)
    J = agent_jacobian(block_agent(P, V, SARSA), params, T)
    # query output: h_q + (1/N) V (sum_t h_t h_t^T + h_q h_q^T) P h_q, with h_q = (0; 1; w); derivative in w
    spec, S, A, N = SARSA.spec, SARSA.n_states, SARSA.n_actions, SARSA.n_transitions
    data = spec.transition_data(T, params, S, A, SARSA)
    H = spec.prompt(data, T.r, params, S, A)
    rows = SARSA.output_rows
    for b in range(4):
        Z, hq = H[b, :, :-1], H[b, :, -1]
        G = Z @ Z.T
        dh = torch.zeros(D, len(rows), dtype=F64)
        dh[rows, torch.arange(len(rows))] = 1.0
        full = dh + (V @ G @ P @ dh + V @ (dh * (hq @ P @ hq)) + V @ torch.outer(hq, (P + P.T) @ hq) @ dh) / N
        assert torch.allclose(J[b], full[rows], atol=1e-10)


def test_behaviour_blocks_and_parameters():
    assert behaviour_blocks(SARSA) == ("w",)
    assert behaviour_blocks(AC) == ("theta",)
    p = torch.randn(5, AC.n_params, dtype=F64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(behaviour_parameters(AC, p), split_actor_critic(p, AC.n_states, AC.n_actions)[1])
    q = torch.randn(2, 3, SARSA.n_params, dtype=F64)
    assert torch.equal(behaviour_parameters(SARSA, q), q)


def test_bad_inputs_raise():
    params, T = _context(SARSA, n=2)
    with pytest.raises(ValueError, match="update"):
        agent_jacobian(None, params, T)
    with pytest.raises(ValueError, match="update"):
        agent_jacobian(lambda p, tr: p[..., :1], params, T)
    with pytest.raises(ValueError, match="params"):
        agent_jacobian(teacher_agent(SARSA), torch.tensor(1.0, dtype=F64), T)
    with pytest.raises(ValueError, match="params"):
        behaviour_parameters(SARSA, torch.zeros(3, SARSA.n_params + 1))
    with pytest.raises(ValueError, match="dist"):
        behaviour_blocks("sarsa")
    with pytest.raises(ValueError, match="dist"):
        behaviour_parameters(None, params)
