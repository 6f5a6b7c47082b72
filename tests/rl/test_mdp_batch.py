"""Batched MDPs (icrl_lib.rl with leading batch dimensions) against independent per-MDP computations.

Independent checks: exact evaluation against numpy linear algebra written here and the Bellman equation;
value iteration against brute force over every deterministic policy; the sampler's trajectories for
consistency with the MDP and the policy, and its empirical transition law against P; the generator's
law (Dirichlet(1) rows, U[0, 1] rewards) by moments.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from icrl_lib import rl as M
from icrl_lib.rl import TabularMDP, stack_mdps

F64 = torch.float64


def random_mdps(n_mdps, n_states, n_actions, gamma=0.9, seed=0, generator=None):
    return M.random_mdp(n_states, n_actions, gamma, seed=seed, n_mdps=n_mdps, generator=generator)


def _random_policies(B, S, A, seed):
    rng = np.random.default_rng(seed)
    pi = rng.dirichlet(np.ones(A), size=(B, S))
    return torch.from_numpy(pi)


def _np_evaluate(P, r, gamma, pi):
    """V^pi by numpy's solver for one MDP (P (S, A, S), r (S, A), pi (S, A))."""
    S = P.shape[0]
    P_pi = np.einsum("sa,sat->st", pi, P)
    r_pi = (pi * r).sum(-1)
    return np.linalg.solve(np.eye(S) - gamma * P_pi, r_pi)


# ------------------------------------------------------------------------------------------- generator
def test_random_mdps_shapes_dtype_and_stochasticity():
    b = random_mdps(7, 4, 3, gamma=0.8, seed=0)
    assert isinstance(b, TabularMDP) and (len(b), b.n_states, b.n_actions, b.gamma) == (7, 4, 3, 0.8)
    assert b.batch_shape == (7,)
    assert b.P.shape == (7, 4, 3, 4) and b.r.shape == (7, 4, 3) and b.rho0.shape == (7, 4)
    assert b.P.dtype == b.r.dtype == b.rho0.dtype == F64
    assert (b.P >= 0).all() and torch.allclose(b.P.sum(-1), torch.ones(7, 4, 3, dtype=F64), atol=1e-12)
    assert ((b.r >= 0) & (b.r <= 1)).all()
    assert torch.allclose(b.rho0, torch.full((7, 4), 0.25, dtype=F64))


def test_random_mdps_seed_and_generator_are_deterministic():
    a, b = random_mdps(3, 4, 2, seed=5), random_mdps(3, 4, 2, seed=5)
    assert torch.equal(a.P, b.P) and torch.equal(a.r, b.r)
    c = random_mdps(3, 4, 2, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a.P, c.P)
    assert not torch.equal(a.P, random_mdps(3, 4, 2, seed=6).P)
    # different MDPs within a batch
    assert not torch.equal(a.P[0], a.P[1])


def test_random_mdps_law_by_moments():
    # Dirichlet(1) on S = 4 points: mean 1/4, variance (1/4)(3/4)/5 = 0.0375; U[0, 1]: mean 1/2, var 1/12.
    b = random_mdps(4000, 4, 2, seed=1)
    P = b.P.numpy()
    assert abs(P.mean() - 0.25) < 1e-12           # exact: rows sum to 1
    assert abs(P.var() - 0.0375) < 0.002
    assert abs(b.r.mean().item() - 0.5) < 0.01 and abs(b.r.var().item() - 1 / 12) < 0.003


def test_random_mdps_validation():
    with pytest.raises(ValueError, match="generator"):
        random_mdps(2, 3, 2, generator="seven")
    for bad in ({"n_mdps": 0}, {"n_states": 0}, {"n_actions": -1}, {"gamma": 1.0}, {"seed": -1}):
        kw = {"n_mdps": 2, "n_states": 3, "n_actions": 2, "gamma": 0.9, "seed": 0} | bad
        with pytest.raises(ValueError):
            random_mdps(**kw)


def test_stack_mdps_roundtrip_and_validation():
    mdps = [M.random_mdp(3, 2, 0.9, seed=s) for s in range(4)]
    b = stack_mdps(mdps)
    assert b.batch_shape == (4,) and b.gamma == 0.9
    for i, m in enumerate(mdps):
        assert torch.equal(b[i].P, m.P) and torch.equal(b[i].r, m.r) and torch.equal(b[i].rho0, m.rho0)
    with pytest.raises(ValueError):
        stack_mdps([])
    with pytest.raises(ValueError):
        stack_mdps([mdps[0], M.random_mdp(4, 2, 0.9, seed=0)])
    with pytest.raises(ValueError):
        stack_mdps([mdps[0], M.random_mdp(3, 2, 0.5, seed=0)])
    with pytest.raises(ValueError):
        stack_mdps([mdps[0], "not an mdp"])


# ---------------------------------------------------------------------------------------- evaluation
def test_batch_policy_evaluation_matches_numpy_and_bellman():
    b = random_mdps(6, 4, 3, gamma=0.85, seed=2)
    pi = _random_policies(6, 4, 3, seed=3)
    V, Q = M.policy_evaluation(b, pi)
    assert V.shape == (6, 4) and Q.shape == (6, 4, 3)
    P, r, pin = b.P.numpy(), b.r.numpy(), pi.numpy()
    for i in range(6):
        V_np = _np_evaluate(P[i], r[i], 0.85, pin[i])
        np.testing.assert_allclose(V[i].numpy(), V_np, rtol=0, atol=1e-12)
        # Q = r + gamma P V and V = sum_a pi Q (the Bellman expectation equations)
        np.testing.assert_allclose(Q[i].numpy(), r[i] + 0.85 * P[i] @ V_np, rtol=0, atol=1e-12)
        np.testing.assert_allclose((pin[i] * Q[i].numpy()).sum(-1), V_np, rtol=0, atol=1e-12)
    J = M.expected_return(b, pi)
    np.testing.assert_allclose(J.numpy(), (V.numpy() * 0.25).sum(-1), rtol=0, atol=1e-14)
    for i in range(6):
        assert abs(J[i].item() - M.expected_return(b[i], pi[i]).item()) < 1e-12


def test_batch_policy_evaluation_validation():
    b = random_mdps(2, 3, 2, seed=0)
    with pytest.raises(ValueError):
        M.policy_evaluation(b, torch.full((2, 3, 3), 1 / 3, dtype=F64))     # wrong A
    with pytest.raises(ValueError):
        M.policy_evaluation(b, torch.full((3, 3, 2), 0.5, dtype=F64))       # batch (3,) against (2,)
    with pytest.raises(ValueError):
        M.policy_evaluation(b, torch.full((2, 3, 2), 0.6, dtype=F64))       # rows do not sum to 1
    with pytest.raises(ValueError):
        M.policy_evaluation("not a batch", torch.full((2, 3, 2), 0.5, dtype=F64))


def test_batch_value_iteration_beats_every_deterministic_policy():
    S, A = 3, 3
    b = random_mdps(5, S, A, gamma=0.9, seed=4)
    pi_star, V_star, Q_star = M.value_iteration(b)
    assert torch.equal(pi_star.sum(-1), torch.ones(5, S, dtype=F64))
    P, r = b.P.numpy(), b.r.numpy()
    for i in range(5):
        best = np.full(S, -np.inf)
        for actions in itertools.product(range(A), repeat=S):    # all 27 deterministic policies
            pi = np.eye(A)[list(actions)]
            best = np.maximum(best, _np_evaluate(P[i], r[i], 0.9, pi))
        # the optimal value dominates statewise, and one deterministic policy attains it
        np.testing.assert_allclose(V_star[i].numpy(), best, rtol=0, atol=1e-9)
    # Bellman optimality of the returned Q
    np.testing.assert_allclose(Q_star.numpy(), r + 0.9 * np.einsum("bsat,bt->bsa", P, Q_star.max(-1).values.numpy()),
                               rtol=0, atol=1e-9)


def test_batch_value_iteration_matches_single_mdp_version_and_validates():
    b = random_mdps(3, 5, 2, gamma=0.95, seed=8)
    _, V_star, _ = M.value_iteration(b)
    for i in range(3):
        _, V_single, _ = M.value_iteration(b[i])
        np.testing.assert_allclose(V_star[i].numpy(), V_single.numpy(), rtol=0, atol=1e-8)
    with pytest.raises(ValueError):
        M.value_iteration(b, tol=0)
    with pytest.raises(ValueError, match="did not reach"):
        M.value_iteration(b, tol=1e-12, max_iters=3)
    with pytest.raises(ValueError):
        M.value_iteration("nope")


# ------------------------------------------------------------------------------------------- sampling
def test_sample_batch_transitions_is_a_consistent_trajectory():
    B, S, A, n = 5, 4, 3, 30
    b = random_mdps(B, S, A, seed=9)
    # a policy that never takes action 0 in even states
    pi = _random_policies(B, S, A, seed=10)
    pi[:, ::2, 0] = 0
    pi = pi / pi.sum(-1, keepdim=True)
    T = M.sample_transitions(b, pi, n, torch.Generator().manual_seed(0))
    for f in T:
        assert f.shape == (B, n)
    assert T.s.dtype == T.a.dtype == torch.long and T.r.dtype == F64
    assert torch.equal(T.s[:, 1:], T.s_next[:, :-1]) and torch.equal(T.a[:, 1:], T.a_next[:, :-1])
    for i in range(B):
        for t in range(n):
            s, a = T.s[i, t].item(), T.a[i, t].item()
            assert T.r[i, t].item() == b.r[i, s, a].item()
            assert b.P[i, s, a, T.s_next[i, t]] > 0
            assert pi[i, s, a] > 0 and pi[i, T.s_next[i, t], T.a_next[i, t]] > 0
    # same generator state -> same sample; different seed -> different sample
    T2 = M.sample_transitions(b, pi, n, torch.Generator().manual_seed(0))
    assert all(torch.equal(x, y) for x, y in zip(T, T2))
    T3 = M.sample_transitions(b, pi, n, torch.Generator().manual_seed(1))
    assert not torch.equal(T.s, T3.s)


def test_sample_batch_transitions_empirical_law():
    # One MDP repeated many times: pooled (s, a) -> s' frequencies estimate P, the first state is uniform.
    one = M.random_mdp(3, 2, 0.9, seed=11)
    B, n = 3000, 10
    b = stack_mdps([one] * B)
    pi = torch.tensor([[0.3, 0.7], [0.5, 0.5], [0.9, 0.1]], dtype=F64).expand(B, -1, -1).contiguous()
    T = M.sample_transitions(b, pi, n, torch.Generator().manual_seed(12))
    counts = np.zeros((3, 2, 3))
    np.add.at(counts, (T.s.numpy().ravel(), T.a.numpy().ravel(), T.s_next.numpy().ravel()), 1)
    P_hat = counts / counts.sum(-1, keepdims=True)
    assert np.abs(P_hat - one.P.numpy()).max() < 0.04
    first = np.bincount(T.s[:, 0].numpy(), minlength=3) / B
    assert np.abs(first - 1 / 3).max() < 0.04
    # actions follow pi given the state
    act = np.zeros((3, 2))
    np.add.at(act, (T.s.numpy().ravel(), T.a.numpy().ravel()), 1)
    assert np.abs(act / act.sum(-1, keepdims=True) - pi[0].numpy()).max() < 0.03


def test_sample_batch_transitions_validation():
    b = random_mdps(2, 3, 2, seed=0)
    pi = torch.full((2, 3, 2), 0.5, dtype=F64)
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError):
        M.sample_transitions(b, pi, 0, g)
    with pytest.raises(ValueError, match="generator"):
        M.sample_transitions(b, pi, 5, -1)
    with pytest.raises(ValueError, match="generator"):
        M.sample_transitions(b, pi, 5, "zero")
    with pytest.raises(ValueError, match="pi"):
        M.sample_transitions(b, torch.full((3, 3, 2), 0.5, dtype=F64), 5, g)  # batch (3,) vs (2,)
    with pytest.raises(ValueError, match="seed"):
        M.sample_transitions(b, pi, 5, g, seed=1)               # not both
