"""Leading batch dimensions in icrl_lib.rl: a batched call equals the loop over single MDPs, and a batch of one
equals the batch-free call.

Independent checks: per-MDP numpy linear algebra and loops written here; the sampler's law per MDP of a batch by
chi-square statistics on many samples (fixed seeds, thresholds far in the tail, so nothing can flake).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from reference_impl import assert_chi_square_ok, chi_square
from icrl_lib import rl

F64 = torch.float64




def random_policies(shape, S, A, seed):
    return torch.from_numpy(np.random.default_rng(seed).dirichlet(np.ones(A), size=(*shape, S)))


def np_evaluate(P, r, g, pi):
    S = P.shape[0]
    return np.linalg.solve(np.eye(S) - g * np.einsum("sa,sat->st", pi, P), (pi * r).sum(-1))


# ----------------------------------------------------------------------------------- containers
def test_batch_shape_indexing_iteration_and_stacking():
    b = rl.random_mdp(3, 2, 0.8, seed=0, n_mdps=(2, 4))
    assert b.batch_shape == (2, 4) and len(b) == 2 and b.P.shape == (2, 4, 3, 2, 3)
    assert b[1].batch_shape == (4,) and b[1, 3].batch_shape == () and b[:, 1:3].batch_shape == (2, 2)
    assert torch.equal(b[1, 3].P, b.P[1, 3]) and torch.equal(b[1, 3].r, b.r[1, 3])
    assert [m.batch_shape for m in b] == [(4,), (4,)]
    again = rl.stack_mdps(list(b))
    assert torch.equal(again.P, b.P) and again.gamma == 0.8
    assert torch.equal(rl.TabularMDP.stack([b[0, 0], b[1, 1]]).r, torch.stack([b.r[0, 0], b.r[1, 1]]))
    with pytest.raises(ValueError, match="index"):
        b[0, 0, 0]
    with pytest.raises(ValueError, match="index"):
        b[..., 0]
    with pytest.raises(ValueError, match="no batch"):
        b[0, 0][0]
    with pytest.raises(TypeError):
        len(b[0, 0])
    chains = rl.boyan_chain(4, n_chains=3, seed=1)
    assert chains.batch_shape == (3,) and torch.equal(rl.stack_mdps(list(chains)).P, chains.P)
    with pytest.raises(ValueError, match="same type"):
        rl.stack_mdps([b[0, 0], chains[0]])


def test_shared_dynamics_broadcast_against_batched_rewards():
    m = rl.random_mdp(3, 2, seed=1)
    r = torch.rand(5, 3, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    b = rl.TabularMDP(m.P, r, m.gamma)
    assert b.batch_shape == (5,) and b.P.shape == (5, 3, 2, 3) and b.rho0.shape == (5, 3)
    pi = rl.uniform_policy(3, 2)
    J = rl.expected_return(b, pi)
    for i in range(5):
        assert abs(J[i].item() - rl.expected_return(rl.TabularMDP(m.P, r[i], m.gamma), pi).item()) < 1e-12


def test_random_mdp_batch_is_one_draw_and_n_mdps_validation():
    b = rl.random_mdp(4, 3, seed=7, n_mdps=5)
    g = torch.Generator().manual_seed(7)
    assert torch.equal(rl.random_mdp(4, 3, n_mdps=5, generator=g).P, b.P)
    assert torch.equal(rl.random_mdp(4, 3, n_mdps=5, generator=7).P, b.P)
    # the batch-free draw is the first slot of the same stream when n_mdps = 1
    one = rl.random_mdp(4, 3, seed=7, n_mdps=1)
    assert torch.equal(one.P[0], rl.random_mdp(4, 3, seed=7).P) and torch.equal(one.r[0], rl.random_mdp(4, 3, seed=7).r)
    for bad in (0, -1, 2.0, True, "3", (2, 0)):
        with pytest.raises(ValueError, match="n_mdps"):
            rl.random_mdp(3, 2, n_mdps=bad)
    with pytest.raises(ValueError, match="n_chains"):
        rl.boyan_chain(4, n_chains=0)


def test_boyan_chain_batch_structure():
    c = rl.boyan_chain(6, 0.8, seed=3, n_chains=(2, 3))
    P = c.P.numpy()
    assert P.shape == (2, 3, 6, 6) and c.r.shape == (2, 3, 6) and c.rho0.shape == (2, 3, 6)
    for i in range(4):   # state i moves only to i+1 and i+2, with probabilities in (0.01, 0.99)
        row = P[..., i, :]
        assert np.all(np.delete(row, [i + 1, i + 2], axis=-1) == 0)
        assert np.all((row[..., i + 1] > 0.01) & (row[..., i + 1] < 0.99))
    assert np.all(P[..., 4, 5] == 1.0) and np.all(P[..., 5, :] > 0)
    assert np.all(np.abs(c.r.numpy()) <= 1) and np.allclose(c.rho0.sum(-1).numpy(), 1)
    one = rl.boyan_chain(6, 0.8, seed=3, n_chains=1)
    assert torch.equal(one.P[0], rl.boyan_chain(6, 0.8, seed=3).P)


# ----------------------------------------------------------------------------------- evaluation
def test_evaluation_batched_equals_loop_over_single_mdps():
    b = rl.random_mdp(4, 3, 0.85, seed=2, n_mdps=(2, 3))
    pi = random_policies((2, 3), 4, 3, seed=3)
    V, Q = rl.policy_evaluation(b, pi)
    J = rl.expected_return(b, pi)
    P_pi, r_pi = rl.policy_transition(b, pi)
    assert V.shape == (2, 3, 4) and Q.shape == (2, 3, 4, 3) and J.shape == (2, 3) and P_pi.shape == (2, 3, 4, 4)
    for i in range(2):
        for j in range(3):
            m = b[i, j]
            V1, Q1 = rl.policy_evaluation(m, pi[i, j])
            np.testing.assert_allclose(V[i, j].numpy(), np_evaluate(m.P.numpy(), m.r.numpy(), 0.85,
                                                                    pi[i, j].numpy()), rtol=0, atol=1e-12)
            torch.testing.assert_close(V[i, j], V1, rtol=0, atol=1e-13)
            torch.testing.assert_close(Q[i, j], Q1, rtol=0, atol=1e-13)
            assert abs(J[i, j].item() - rl.expected_return(m, pi[i, j]).item()) < 1e-13
            torch.testing.assert_close(P_pi[i, j], rl.policy_transition(m, pi[i, j])[0], rtol=0, atol=1e-15)
            torch.testing.assert_close(r_pi[i, j], rl.policy_transition(m, pi[i, j])[1], rtol=0, atol=1e-15)


def test_one_policy_broadcasts_over_mdps_and_policies_over_one_mdp():
    b = rl.random_mdp(3, 2, seed=4, n_mdps=4)
    pi = random_policies((), 3, 2, seed=5)
    J = rl.expected_return(b, pi)
    assert J.shape == (4,)
    for i in range(4):
        assert abs(J[i].item() - rl.expected_return(b[i], pi).item()) < 1e-13
    pis = random_policies((6,), 3, 2, seed=6)
    J2 = rl.expected_return(b[0], pis)
    assert J2.shape == (6,)
    for k in range(6):
        assert abs(J2[k].item() - rl.expected_return(b[0], pis[k]).item()) < 1e-13


def test_batch_of_one_equals_the_batch_free_call():
    m = rl.random_mdp(4, 2, 0.9, seed=8)
    one = rl.stack_mdps([m])
    pi = random_policies((), 4, 2, seed=9)
    for f in (rl.policy_evaluation, rl.policy_transition):
        for a, c in zip(f(one, pi[None]), f(m, pi)):
            torch.testing.assert_close(a[0], c, rtol=0, atol=1e-14)
    for a, c in zip(rl.value_iteration(one), rl.value_iteration(m)):
        torch.testing.assert_close(a[0], c, rtol=0, atol=1e-14)
    V = torch.rand(4, generator=torch.Generator().manual_seed(1), dtype=F64)
    torch.testing.assert_close(rl.bellman_backup(one, V[None])[0], rl.bellman_backup(m, V), rtol=0, atol=0)
    torch.testing.assert_close(rl.value_iteration_history(one, 5)[0], rl.value_iteration_history(m, 5),
                               rtol=0, atol=0)
    chain = rl.boyan_chain(5, seed=2)
    chains = rl.stack_mdps([chain])
    torch.testing.assert_close(rl.mrp_values(chains)[0], rl.mrp_values(chain), rtol=0, atol=1e-14)
    torch.testing.assert_close(rl.stationary_distribution(chains)[0], rl.stationary_distribution(chain),
                               rtol=0, atol=1e-14)


def test_bellman_backup_against_loops_and_broadcasting_values():
    b = rl.random_mdp(3, 2, 0.7, seed=10, n_mdps=2)
    V = torch.randn(5, 1, 3, generator=torch.Generator().manual_seed(0), dtype=F64)  # 5 value tables per MDP
    Q = rl.bellman_backup(b, V)
    assert Q.shape == (5, 2, 3, 2)
    P, r = b.P.numpy(), b.r.numpy()
    for k in range(5):
        for i in range(2):
            for s in range(3):
                for a in range(2):
                    want = r[i, s, a] + 0.7 * sum(P[i, s, a, t] * V[k, 0, t].item() for t in range(3))
                    assert abs(Q[k, i, s, a].item() - want) < 1e-14
    torch.testing.assert_close(rl.bellman_optimality_operator(b, V), Q.max(-1).values)
    pi = random_policies((2,), 3, 2, seed=1)
    torch.testing.assert_close(rl.bellman_expectation_operator(b, pi, V), (pi * Q).sum(-1))
    with pytest.raises(ValueError, match="V"):
        rl.bellman_backup(b, torch.zeros(3, 4))
    with pytest.raises(ValueError, match="V"):
        rl.bellman_backup(b, torch.zeros(3, 3))   # batch (3,) against (2,)


def test_value_iteration_batched_equals_loop_and_history():
    b = rl.random_mdp(4, 3, 0.9, seed=11, n_mdps=(3, 2))
    pi_star, V_star, Q_star = rl.value_iteration(b)
    hist = rl.value_iteration_history(b, 400)
    assert hist.shape == (3, 2, 401, 4)
    for i in range(3):
        for j in range(2):
            p1, V1, Q1 = rl.value_iteration(b[i, j])
            assert torch.equal(pi_star[i, j], p1)
            torch.testing.assert_close(V_star[i, j], V1, rtol=0, atol=1e-9)
            torch.testing.assert_close(Q_star[i, j], Q1, rtol=0, atol=1e-9)
            torch.testing.assert_close(hist[i, j], rl.value_iteration_history(b[i, j], 400), rtol=0, atol=1e-14)
    torch.testing.assert_close(hist[..., -1, :], V_star, rtol=0, atol=1e-9)


def test_stationary_distribution_batched_and_reducible_chains():
    c = rl.boyan_chain(5, seed=4, n_chains=6)
    d = rl.stationary_distribution(c)
    assert d.shape == (6, 5)
    for i in range(6):
        torch.testing.assert_close(d[i] @ c.P[i], d[i], rtol=0, atol=1e-13)
        torch.testing.assert_close(d[i], rl.stationary_distribution(c.P[i]), rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="unique stationary"):
        rl.stationary_distribution(torch.eye(2, dtype=F64))   # two recurrent classes


# ------------------------------------------------------------------------------------ sampling
def test_sampler_law_per_mdp_of_a_batch_by_chi_square():
    B, S, A, n = 4, 3, 2, 4000
    b = rl.random_mdp(S, A, seed=12, n_mdps=B)
    pi = random_policies((B,), S, A, seed=13)
    tr = rl.sample_transitions(b, pi, n, torch.Generator().manual_seed(14))
    assert tr.s.shape == (B, n)
    for i in range(B):
        s, a, sn, an = (f[i].numpy() for f in (tr.s, tr.a, tr.s_next, tr.a_next))
        counts_next = np.zeros((S * A, S))
        np.add.at(counts_next, (s * A + a, sn), 1)
        assert_chi_square_ok(counts_next, b.P[i].numpy().reshape(S * A, S))
        counts_a = np.zeros((S, A))
        np.add.at(counts_a, (s, a), 1)
        assert_chi_square_ok(counts_a, pi[i].numpy())
        counts_an = np.zeros((S, A))
        np.add.at(counts_an, (sn, an), 1)
        assert_chi_square_ok(counts_an, pi[i].numpy())
        # the same statistic detects a wrong model: MDP i's counts against MDP (i+1)'s P
        stat, dof = chi_square(counts_next, b.P[(i + 1) % B].numpy().reshape(S * A, S))
        assert stat > dof + 8 * math.sqrt(2 * dof) + 10


def test_sampler_loop_over_single_mdps_has_the_same_law_as_the_batch():
    # Start states: pooled over many trajectories of a batch and of a loop of single calls, both follow rho0.
    S, A, B = 3, 2, 3000
    m = rl.TabularMDP(rl.random_mdp(S, A, seed=15).P, rl.random_mdp(S, A, seed=15).r, 0.9, [0.2, 0.5, 0.3])
    pi = random_policies((), S, A, seed=16)
    batch = rl.sample_transitions(rl.stack_mdps([m] * B), pi, 2, 17)
    loop = [rl.sample_transitions(m, pi, 2, 1000 + k) for k in range(B)]
    for starts in (batch.s[:, 0].numpy(), np.array([t.s[0].item() for t in loop])):
        assert_chi_square_ok(np.bincount(starts, minlength=S)[None], m.rho0.numpy()[None])
    for s, a, sn in ((batch.s, batch.a, batch.s_next),
                     tuple(torch.stack([getattr(t, f) for t in loop]) for f in ("s", "a", "s_next"))):
        counts = np.zeros((S * A, S))
        np.add.at(counts, ((s * A + a).numpy().ravel(), sn.numpy().ravel()), 1)
        assert_chi_square_ok(counts, m.P.numpy().reshape(S * A, S))


def test_sampler_batch_of_one_equals_the_batch_free_call():
    m = rl.random_mdp(4, 3, seed=18)
    pi = random_policies((), 4, 3, seed=19)
    for kw in ({}, {"reset_prob": 0.3}, {"reward_noise": 0.5}):
        single = rl.sample_transitions(m, pi, 25, 20, **kw)
        one = rl.sample_transitions(rl.stack_mdps([m]), pi[None], 25, 20, **kw)
        assert single.s.shape == (25,) and one.s.shape == (1, 25)
        for x, y in zip(single, one):
            assert torch.equal(x, y[0])
    chain = rl.boyan_chain(5, seed=1)
    s1, r1 = rl.sample_mrp_trajectory(chain, 30, 2)
    s2, r2 = rl.sample_mrp_trajectory(rl.stack_mdps([chain]), 30, torch.Generator().manual_seed(2))
    assert torch.equal(s1, s2[0]) and torch.equal(r1, r2[0])


def test_sampler_policy_batch_over_one_mdp_and_seed_keyword():
    m = rl.random_mdp(3, 2, seed=21)
    pis = random_policies((2, 5), 3, 2, seed=22)
    tr = rl.sample_transitions(m, pis, 7, 3)
    assert all(f.shape == (2, 5, 7) for f in tr)
    assert torch.equal(rl.sample_transitions(m, pis, 7, seed=3).s, tr.s)
    assert torch.equal(rl.sample_transitions(m, pis, 7, torch.Generator().manual_seed(3)).s, tr.s)
    P = m.P.numpy()
    assert np.all(P[tr.s.numpy(), tr.a.numpy(), tr.s_next.numpy()] > 0)
    assert torch.equal(tr.r, m.r[tr.s, tr.a])


def test_sampler_reward_noise_law():
    m = rl.random_mdp(3, 2, seed=23)
    tr = rl.sample_transitions(m, rl.uniform_policy(3, 2), 20000, 24, reward_noise=0.3)
    e = (tr.r - m.r[tr.s, tr.a]).numpy()
    assert abs(e.mean()) < 6 * 0.3 / math.sqrt(20000) and abs(e.std() - 0.3) < 0.01
    with pytest.raises(ValueError, match="reward_noise"):
        rl.sample_transitions(m, rl.uniform_policy(3, 2), 5, 0, reward_noise=-0.1)


def test_mrp_trajectories_per_chain_of_a_batch_by_chi_square():
    c = rl.boyan_chain(5, seed=25, n_chains=3)
    states, rewards = rl.sample_mrp_trajectory(c, 5000, 26)
    assert states.shape == (3, 5001) and rewards.shape == (3, 5000)
    for i in range(3):
        s = states[i].numpy()
        counts = np.zeros((5, 5))
        np.add.at(counts, (s[:-1], s[1:]), 1)
        assert_chi_square_ok(counts, c.P[i].numpy())
        assert torch.equal(rewards[i], c.r[i][states[i, :-1]])


# -------------------------------------------------------------------------------- tabular learners
def test_td0_batched_equals_batch_of_one_and_loop_update():
    b = rl.random_mdp(3, 2, 0.8, seed=27, n_mdps=2)
    pi = rl.uniform_policy(3, 2)
    hist = rl.td0_evaluation(b, pi, 50, 0.2, 28)
    assert hist.w.shape == (2, 51, 3) and hist.values.shape == (2, 51, 3)
    tr = rl.sample_transitions(b, pi, 50, 28)
    for i in range(2):   # explicit loop over time on the same transitions
        w = np.zeros(3)
        for t in range(50):
            s, sn, r = tr.s[i, t].item(), tr.s_next[i, t].item(), tr.r[i, t].item()
            w[s] += 0.2 * (r + 0.8 * w[sn] - w[s])
        np.testing.assert_allclose(hist.w[i, -1].numpy(), w, rtol=0, atol=1e-13)
    single = rl.td0_evaluation(b[0], pi, 50, 0.2, 28)
    one = rl.td0_evaluation(rl.stack_mdps([b[0]]), pi, 50, 0.2, 28)
    assert torch.equal(single.w, one.w[0])


def test_certainty_equivalence_and_fixed_point_batched_equal_loop():
    b = rl.random_mdp(3, 2, 0.9, seed=29, n_mdps=3)
    tr = rl.sample_transitions(b, rl.uniform_policy(3, 2), 300, 30)
    ce = rl.certainty_equivalence_values(tr.s, tr.r, tr.s_next, 3, 0.9)
    x, xn = rl.one_hot_state(tr.s, 3), rl.one_hot_state(tr.s_next, 3)
    fp = rl.td_fixed_point(x, xn, tr.r, 0.9)
    assert ce.shape == fp.shape == (3, 3)
    for i in range(3):
        torch.testing.assert_close(ce[i], rl.certainty_equivalence_values(tr.s[i], tr.r[i], tr.s_next[i], 3, 0.9),
                                   rtol=0, atol=1e-13)
        torch.testing.assert_close(fp[i], rl.td_fixed_point(x[i], xn[i], tr.r[i], 0.9), rtol=0, atol=1e-12)
    torch.testing.assert_close(ce, fp, rtol=0, atol=1e-10)


def test_update_fns_batched_equal_loop_over_mdps():
    S, A, B = 3, 2, 4
    b = rl.random_mdp(S, A, seed=31, n_mdps=B)
    g = torch.Generator().manual_seed(0)
    w = torch.randn(B, S * A, generator=g, dtype=F64)
    params = torch.randn(B, S + S * A, generator=g, dtype=F64)
    tr = rl.sample_transitions(b, rl.uniform_policy(S, A), 12, 32)
    sarsa = rl.sarsa_update_fn(S, A, 0.7, 0.9)
    ac = rl.actor_critic_update_fn(S, A, 0.7, 2.0, 0.9, temperature=0.5)
    out_s, out_ac = sarsa(w, tr), ac(params, tr)
    assert out_s.shape == w.shape and out_ac.shape == params.shape
    for i in range(B):
        tr_i = rl.Transitions(*(f[i] for f in tr))
        torch.testing.assert_close(out_s[i], sarsa(w[i], tr_i), rtol=0, atol=1e-14)
        torch.testing.assert_close(out_ac[i], ac(params[i], tr_i), rtol=0, atol=1e-14)


def test_actor_policy_honours_its_temperature():
    S, A = 3, 2
    params = torch.randn(S + S * A, generator=torch.Generator().manual_seed(1), dtype=F64)
    theta = params[S:].reshape(S, A)
    for tau in (0.25, 1.0, 3.0):
        pi = rl.actor_policy(S, A, tau)(params)
        want = torch.exp(theta / tau) / torch.exp(theta / tau).sum(-1, keepdim=True)
        torch.testing.assert_close(pi, want, rtol=0, atol=1e-14)
    assert not torch.allclose(rl.actor_policy(S, A, 0.25)(params), rl.actor_policy(S, A, 1.0)(params))
    # and the update's scores use the same temperature: E_{a ~ pi_theta} psi = 0 at that temperature
    tau = 0.25
    pi = rl.actor_policy(S, A, tau)(params)
    table = rl.state_action_table(S, A)
    for s in range(S):
        psi = rl.softmax_actor_scores(params[S:], torch.full((A,), s), torch.arange(A), table, tau)
        torch.testing.assert_close((pi[s, :, None] * psi).sum(0), torch.zeros(S * A, dtype=F64), rtol=0,
                                   atol=1e-13)


def test_mrp_trajectory_scan_equals_the_time_loop(monkeypatch):
    from icrl_lib.rl import sampling
    c = rl.boyan_chain(7, seed=33, n_chains=(2, 3))
    for n in (1, 2, 5, 64, 100):
        scan = rl.sample_mrp_trajectory(c, n, 34)
        with monkeypatch.context() as mp:
            mp.setattr(sampling, "_SCAN_LIMIT", 0)
            loop = rl.sample_mrp_trajectory(c, n, 34)
        assert torch.equal(scan[0], loop[0]) and torch.equal(scan[1], loop[1])
    # the loop itself, written here: S_{j+1} is the inverse CDF of P[S_j] at the (j+1)-th uniform
    u = torch.rand(6, 11, generator=torch.Generator().manual_seed(34), dtype=F64)
    P, rho0 = c.P.reshape(6, 7, 7).numpy(), c.rho0.reshape(6, 7).numpy()
    states = rl.sample_mrp_trajectory(c, 10, 34)[0].reshape(6, 11).numpy()
    for m in range(6):
        s = int(np.searchsorted(np.cumsum(rho0[m]), u[m, 0].item(), side="right"))
        assert states[m, 0] == s
        for j in range(10):
            s = int(np.searchsorted(np.cumsum(P[m, s]), u[m, j + 1].item(), side="right"))
            assert states[m, j + 1] == s
