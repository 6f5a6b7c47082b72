"""icrl_lib.rl MDPs, MRPs and the sampler against independent computations (single MDPs, the batch-free case).

Exact evaluation (linear solves in the library) is checked against Monte-Carlo rollouts and against
iterating the Bellman expectation operator; value iteration against policy iteration written here and
against brute force over all deterministic policies; sampling against the model through chi-square
statistics on many samples (fixed seeds, thresholds far in the tail, so nothing can flake).
"""
from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from reference_impl import assert_chi_square_ok, chi_square
from icrl_lib.rl import (MarkovRewardProcess, TabularMDP, Transitions, boyan_chain, expected_return,
                          greedy_policy, mrp_values, policy_evaluation, policy_transition, random_mdp,
                          sample_mrp_trajectory, sample_transitions, stationary_distribution, value_iteration)

F64 = torch.float64
SEEDS = st.integers(0, 2**31 - 1)
GAMMAS = st.floats(0.0, 0.95)
INVALID_GAMMA = st.one_of(st.floats(min_value=1.0), st.floats(max_value=-1e-300),
                          st.sampled_from([1.0, -0.1, math.nan, math.inf, -math.inf]), st.booleans())
BAD_SIZES = st.one_of(st.integers(max_value=0), st.booleans(), st.just(2.0), st.just("3"))


def named(arg: str) -> str:
    """Regex for an error message that starts with the argument's name."""
    return rf"^{re.escape(arg)}\b"


def random_policy(S: int, A: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(A), size=S)


def np_model(mdp: TabularMDP):
    return mdp.P.numpy(), mdp.r.numpy(), mdp.gamma, mdp.rho0.numpy()


def sample_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (n, k), vectorised inverse CDF."""
    u = rng.random(len(probs))[:, None]
    return np.minimum((u > np.cumsum(probs, axis=1)).sum(axis=1), probs.shape[1] - 1)


def mc_returns(P, r, g, pi, s0, n_roll, horizon, seed, a0=None):
    """Truncated discounted returns of ``n_roll`` independent rollouts from state(s) ``s0``."""
    rng = np.random.default_rng(seed)
    s = np.broadcast_to(np.asarray(s0), (n_roll,)).copy()
    ret, disc = np.zeros(n_roll), 1.0
    for t in range(horizon):
        a = np.full(n_roll, a0) if (t == 0 and a0 is not None) else sample_rows(rng, pi[s])
        ret += disc * r[s, a]
        disc *= g
        s = sample_rows(rng, P[s, a])
    return ret


def bellman_expectation_fixed_point(P, r, g, pi, tol=1e-14):
    """Iterate V <- sum_a pi (r + g P V) to convergence (a contraction, so this converges)."""
    V = np.zeros(r.shape[0])
    for _ in range(100_000):
        V_new = np.einsum("sa,sa->s", pi, r + g * np.einsum("sat,t->sa", P, V))
        if np.max(np.abs(V_new - V)) < tol:
            return V_new
        V = V_new
    raise AssertionError("no convergence")


def deterministic_values(P, r, g, actions):
    S = r.shape[0]
    idx = np.arange(S)
    return np.linalg.solve(np.eye(S) - g * P[idx, actions], r[idx, actions])


def policy_iteration(P, r, g):
    """Howard's policy iteration; switches action only on strict improvement, so it terminates."""
    S = r.shape[0]
    idx = np.arange(S)
    pol = np.zeros(S, dtype=int)
    while True:
        V = deterministic_values(P, r, g, pol)
        Q = r + g * np.einsum("sat,t->sa", P, V)
        best = Q.argmax(1)
        better = Q[idx, best] > Q[idx, pol] + 1e-12
        if not better.any():
            return pol, V, Q
        pol[better] = best[better]




# ============================================================================ TabularMDP / MRP containers
def test_tabular_mdp_stores_float64_and_uniform_rho0():
    P = np.full((2, 3, 2), 0.5, dtype=np.float32)
    m = TabularMDP(P, [[1, 2, 3], [4, 5, 6]], 0.5)
    assert m.P.dtype == m.r.dtype == m.rho0.dtype == F64
    assert (m.n_states, m.n_actions, m.gamma) == (2, 3, 0.5)
    assert torch.equal(m.rho0, torch.tensor([0.5, 0.5], dtype=F64))
    assert torch.equal(m.r, torch.tensor([[1.0, 2, 3], [4, 5, 6]], dtype=F64))


def test_float32_inputs_are_accepted():
    # Rows of a float32 stochastic matrix sum to one only to float32 precision.
    m = random_mdp(6, 4, seed=3)
    P32 = torch.softmax(torch.randn(6, 4, 6, generator=torch.Generator().manual_seed(1)) * 4, -1).float()
    m32 = TabularMDP(P32, m.r.float(), 0.9, rho0=torch.softmax(torch.randn(6), 0).float())
    assert m32.P.dtype == F64
    pi32 = torch.softmax(torch.randn(6, 4, generator=torch.Generator().manual_seed(2)) * 4, -1).float()
    V, _ = policy_evaluation(m, pi32)
    V64, _ = policy_evaluation(m, pi32.double() / pi32.double().sum(-1, keepdim=True))
    assert torch.allclose(V, V64, atol=1e-5)
    MarkovRewardProcess(P32[:, 0], m.r[:, 0], 0.5)


@given(S=st.integers(1, 4), A=st.integers(1, 3), seed=SEEDS, factor=st.floats(1e-5, 0.5),
       sign=st.sampled_from([-1.0, 1.0]))
def test_tabular_mdp_rejects_rows_not_summing_to_one(S, A, seed, factor, sign):
    m = random_mdp(S, A, seed=seed)
    P = m.P.clone()
    rng = np.random.default_rng(seed)
    P[rng.integers(S), rng.integers(A)] *= 1 + sign * factor
    with pytest.raises(ValueError, match=named("P")):
        TabularMDP(P, m.r, 0.9)


@given(S=st.integers(2, 4), A=st.integers(1, 3), seed=SEEDS, neg=st.floats(1e-6, 3.0))
def test_tabular_mdp_rejects_negative_probabilities(S, A, seed, neg):
    P = random_mdp(S, A, seed=seed).P.clone()
    s, a = seed % S, seed % A
    P[s, a, 1] += P[s, a, 0] + neg
    P[s, a, 0] = -neg  # the row still sums to one
    with pytest.raises(ValueError, match="P has negative entries"):
        TabularMDP(P, torch.zeros(S, A), 0.5)


@given(g=INVALID_GAMMA)
def test_tabular_mdp_and_mrp_reject_bad_gamma(g):
    m = random_mdp(3, 2)
    with pytest.raises(ValueError, match=named("gamma")):
        TabularMDP(m.P, m.r, g)
    with pytest.raises(ValueError, match=named("gamma")):
        MarkovRewardProcess(m.P[:, 0], m.r[:, 0], g)
    with pytest.raises(ValueError, match=named("gamma")):
        random_mdp(3, 2, gamma=g)
    with pytest.raises(ValueError, match=named("gamma")):
        boyan_chain(4, gamma=g)


@pytest.mark.parametrize("field", ["P", "r", "rho0"])
@given(pos=st.integers(0, 10**6), bad=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_tabular_mdp_rejects_non_finite(field, pos, bad):
    m = random_mdp(3, 2)
    arrays = {"P": m.P.clone(), "r": m.r.clone(), "rho0": m.rho0.clone()}
    arrays[field].view(-1)[pos % arrays[field].numel()] = bad
    with pytest.raises(ValueError, match=named(field)):
        TabularMDP(arrays["P"], arrays["r"], 0.9, arrays["rho0"])
    mrp = {"P": m.P[:, 0].clone(), "r": m.r[:, 0].clone(), "rho0": m.rho0.clone()}
    mrp[field].view(-1)[pos % mrp[field].numel()] = bad
    with pytest.raises(ValueError, match=named(field)):
        MarkovRewardProcess(mrp["P"], mrp["r"], 0.9, mrp["rho0"])


@pytest.mark.parametrize("P_shape, r_shape, rho_shape, name", [
    ((3, 2), (3, 2), (3,), "P"),            # P not 3-D
    ((3, 2, 4), (3, 2), (3,), "P"),         # S' != S
    ((3, 2, 3), (2, 3), (3,), "r"),
    ((3, 2, 3), (3,), (3,), "r"),
    ((3, 2, 3), (3, 2), (2,), "rho0"),
    ((3, 2, 3), (3, 2), (3, 1), "rho0"),
])
def test_tabular_mdp_rejects_wrong_shapes(P_shape, r_shape, rho_shape, name):
    P = np.full(P_shape, 1.0 / P_shape[-1])
    rho = np.full(rho_shape, 1.0 / rho_shape[-1])
    with pytest.raises(ValueError, match=named(name)):
        TabularMDP(P, np.zeros(r_shape), 0.9, rho)


@pytest.mark.parametrize("P_shape, r_shape, rho_shape, names", [
    ((2, 3, 2, 3), (3, 3, 2), (3,), "P.*r"),       # batches (2,) and (3,) do not broadcast
    ((2, 3, 2, 3), (3, 2), (4, 3), "P.*rho0"),
])
def test_tabular_mdp_rejects_batches_that_do_not_broadcast(P_shape, r_shape, rho_shape, names):
    P = np.full(P_shape, 1.0 / P_shape[-1])
    rho = np.full(rho_shape, 1.0 / rho_shape[-1])
    with pytest.raises(ValueError, match=f"batch dimensions do not broadcast.*{names}"):
        TabularMDP(P, np.zeros(r_shape), 0.9, rho)


@pytest.mark.parametrize("P_shape, r_shape, rho_shape, name", [
    ((3,), (3,), (3,), "P"), ((3, 4), (3,), (3,), "P"), ((3, 3), (4,), (3,), "r"),
    ((3, 3), (3, 1), (3,), "r"), ((3, 3), (3,), (4,), "rho0"),
])
def test_mrp_rejects_wrong_shapes(P_shape, r_shape, rho_shape, name):
    P = np.full(P_shape, 1.0 / P_shape[-1])
    with pytest.raises(ValueError, match=named(name)):
        MarkovRewardProcess(P, np.zeros(r_shape), 0.5, np.full(rho_shape, 1.0 / rho_shape[-1]))


def test_rho0_must_be_a_distribution():
    m = random_mdp(3, 2)
    with pytest.raises(ValueError, match=named("rho0")):
        TabularMDP(m.P, m.r, 0.9, [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="rho0 has negative"):
        TabularMDP(m.P, m.r, 0.9, [1.5, -0.5, 0.0])
    with pytest.raises(ValueError, match=named("rho0")):
        MarkovRewardProcess(m.P[:, 0], m.r[:, 0], 0.9, [0.2, 0.2, 0.2])


# ============================================================================ generators
@given(S=st.integers(1, 7), A=st.integers(1, 4), g=GAMMAS, seed=SEEDS)
def test_random_mdp_structure(S, A, g, seed):
    m = random_mdp(S, A, gamma=g, seed=seed)
    assert m.P.shape == (S, A, S) and m.r.shape == (S, A) and m.rho0.shape == (S,)
    assert m.P.dtype == m.r.dtype == F64 and m.gamma == g
    assert bool((m.P >= 0).all())
    assert torch.allclose(m.P.sum(-1), torch.ones(S, A, dtype=F64), atol=1e-12, rtol=0)
    assert bool(((m.r >= 0) & (m.r < 1)).all())
    assert torch.equal(m.rho0, torch.full((S,), 1.0 / S, dtype=F64))
    again = random_mdp(S, A, gamma=g, seed=seed)
    assert torch.equal(again.P, m.P) and torch.equal(again.r, m.r)
    other = random_mdp(S, A, gamma=g, seed=seed + 1)
    assert not torch.equal(other.r, m.r)


def ks_distance(samples: np.ndarray, cdf) -> float:
    x = np.sort(samples)
    n = len(x)
    F = cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - F), np.max(F - np.arange(n) / n)))


def test_random_mdp_distributions():
    # Dirichlet(1, 1, 1, 1) rows: every coordinate is Beta(1, 3), P(X <= x) = 1 - (1 - x)^3; rewards U[0, 1].
    m = random_mdp(4, 500, seed=11)
    P = m.P.numpy().reshape(-1, 4)
    assert (P > 0).all()
    for k in range(4):
        assert ks_distance(P[:, k], lambda x: 1 - (1 - x) ** 3) < 0.06  # n = 2000, KS 1e-4 level ~ 0.043
    assert ks_distance(m.r.numpy().ravel(), lambda x: x) < 0.06


@pytest.mark.parametrize("kw, name", [
    ({"n_states": 0}, "n_states"), ({"n_states": -2}, "n_states"), ({"n_states": True}, "n_states"),
    ({"n_states": 3.0}, "n_states"), ({"n_actions": 0}, "n_actions"), ({"n_actions": False}, "n_actions"),
    ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"), ({"seed": True}, "seed"),
])
def test_random_mdp_rejects(kw, name):
    args = {"n_states": 3, "n_actions": 2} | kw
    with pytest.raises(ValueError, match=named(name)):
        random_mdp(**args)


@given(S=st.integers(3, 12), g=GAMMAS, seed=SEEDS)
def test_boyan_chain_structure(S, g, seed):
    mrp = boyan_chain(S, gamma=g, seed=seed)
    P, r, mu = mrp.P.numpy(), mrp.r.numpy(), mrp.rho0.numpy()
    assert P.shape == (S, S) and r.shape == (S,) and mu.shape == (S,) and mrp.gamma == g
    np.testing.assert_allclose(P.sum(1), 1.0, atol=1e-12, rtol=0)
    for i in range(S - 2):
        allowed = np.zeros(S, dtype=bool)
        allowed[[i + 1, i + 2]] = True
        assert np.all(P[i, ~allowed] == 0)
        assert 0.01 <= P[i, i + 1] <= 0.99 and 0.01 <= P[i, i + 2] <= 0.99
    assert P[S - 2, S - 1] == 1.0 and np.all(np.delete(P[S - 2], S - 1) == 0)
    # last row: normalised U(0.01, 0.99) weights -> all positive, max/min ratio below 99
    assert np.all(P[S - 1] > 0) and P[S - 1].max() / P[S - 1].min() < 99
    assert np.all((r > -1) & (r < 1))
    assert np.all(mu > 0) and abs(mu.sum() - 1) < 1e-12 and mu.max() / mu.min() < 99
    again = boyan_chain(S, gamma=g, seed=seed)
    assert torch.equal(again.P, mrp.P) and torch.equal(again.r, mrp.r) and torch.equal(again.rho0, mrp.rho0)
    other = boyan_chain(S, gamma=g, seed=seed + 1)
    assert not torch.equal(other.P, mrp.P) and not torch.equal(other.r, mrp.r)


@pytest.mark.parametrize("n", [2, 1, 0, -1, True, 4.0])
def test_boyan_chain_rejects_small_or_non_integer_sizes(n):
    with pytest.raises(ValueError, match=named("n_states")):
        boyan_chain(n)


def test_boyan_chain_rejects_bad_seed():
    with pytest.raises(ValueError, match=named("seed")):
        boyan_chain(5, seed=-3)


# ============================================================================ exact evaluation
@given(S=st.integers(1, 5), A=st.integers(1, 4), seed=SEEDS)
def test_policy_transition_against_loops(S, A, seed):
    m = random_mdp(S, A, seed=seed)
    pi = random_policy(S, A, seed + 7)
    P_pi, r_pi = policy_transition(m, pi)
    P, r = m.P.numpy(), m.r.numpy()
    P_ref = np.zeros((S, S))
    r_ref = np.zeros(S)
    for s in range(S):
        for a in range(A):
            r_ref[s] += pi[s, a] * r[s, a]
            for t in range(S):
                P_ref[s, t] += pi[s, a] * P[s, a, t]
    np.testing.assert_allclose(P_pi.numpy(), P_ref, atol=1e-14, rtol=0)
    np.testing.assert_allclose(r_pi.numpy(), r_ref, atol=1e-14, rtol=0)


@given(S=st.integers(1, 6), A=st.integers(1, 4), g=GAMMAS, seed=SEEDS)
def test_policy_evaluation_is_the_bellman_fixed_point(S, A, g, seed):
    m = random_mdp(S, A, gamma=g, seed=seed)
    pi = random_policy(S, A, seed + 1)
    V, Q = policy_evaluation(m, pi)
    assert V.shape == (S,) and Q.shape == (S, A) and V.dtype == Q.dtype == F64
    P, r, _, _ = np_model(m)
    np.testing.assert_allclose(V.numpy(), bellman_expectation_fixed_point(P, r, g, pi), atol=1e-10, rtol=0)
    # Q consistency: V = E_pi Q and Q solves its own Bellman equation Q = r + g P (pi . Q).
    np.testing.assert_allclose((pi * Q.numpy()).sum(1), V.numpy(), atol=1e-10, rtol=0)
    Qn = Q.numpy()
    np.testing.assert_allclose(Qn, r + g * np.einsum("sat,tb,tb->sa", P, pi, Qn), atol=1e-10, rtol=0)


def test_policy_evaluation_against_monte_carlo():
    S, A, g, horizon, n_roll = 3, 2, 0.6, 45, 4000
    m = random_mdp(S, A, gamma=g, seed=5)
    pi = random_policy(S, A, 6)
    V, Q = policy_evaluation(m, pi)
    P, r, _, _ = np_model(m)
    bias = g**horizon / (1 - g)  # rewards are in [0, 1]: the truncated tail is at most this
    for s in range(S):
        ret = mc_returns(P, r, g, pi, s, n_roll, horizon, seed=100 + s)
        se = ret.std(ddof=1) / math.sqrt(n_roll)
        assert abs(ret.mean() - float(V[s])) < 5 * se + bias, (s, ret.mean(), float(V[s]), se)
        for a in range(A):
            ret = mc_returns(P, r, g, pi, s, n_roll, horizon, seed=200 + 10 * s + a, a0=a)
            se = ret.std(ddof=1) / math.sqrt(n_roll)
            assert abs(ret.mean() - float(Q[s, a])) < 5 * se + bias, (s, a)
    # The test has power: a policy that differs visibly gives values outside the band.
    V_other, _ = policy_evaluation(m, np.eye(A)[np.zeros(S, dtype=int)])
    assert float((V_other - V).abs().max()) > 0.05


def test_expected_return_against_occupancy_and_monte_carlo():
    S, A, g = 4, 3, 0.7
    rho0 = np.array([0.1, 0.2, 0.3, 0.4])
    base = random_mdp(S, A, gamma=g, seed=21)
    m = TabularMDP(base.P, base.r, g, rho0)
    pi = random_policy(S, A, 22)
    J = expected_return(m, pi)
    assert J.dim() == 0 and J.dtype == F64
    P, r, _, _ = np_model(m)
    # Discounted occupancy d^T = (1 - g) rho0^T (I - g P_pi)^{-1}, solved on the transposed system.
    P_pi = np.einsum("sa,sat->st", pi, P)
    d = (1 - g) * np.linalg.solve((np.eye(S) - g * P_pi).T, rho0)
    assert abs(float(J) - float(d @ (pi * r).sum(1)) / (1 - g)) < 1e-12
    rng = np.random.default_rng(0)
    s0 = rng.choice(S, size=5000, p=rho0)
    ret = mc_returns(P, r, g, pi, s0, 5000, 60, seed=1)
    se = ret.std(ddof=1) / math.sqrt(5000)
    assert abs(ret.mean() - float(J)) < 5 * se + g**60 / (1 - g)


@given(seed=SEEDS)
def test_expected_return_is_linear_in_rho0(seed):
    m = random_mdp(3, 2, seed=seed)
    pi = random_policy(3, 2, seed)
    V, _ = policy_evaluation(m, pi)
    for s in range(3):
        e = np.eye(3)[s]
        assert abs(float(expected_return(TabularMDP(m.P, m.r, m.gamma, e), pi)) - float(V[s])) < 1e-12


def test_policy_evaluation_rejects_bad_policies():
    m = random_mdp(3, 2)
    good = random_policy(3, 2, 0)
    with pytest.raises(ValueError, match=named("pi")):
        policy_evaluation(m, good[:2])
    with pytest.raises(ValueError, match=named("pi")):
        policy_evaluation(m, good.T)
    with pytest.raises(ValueError, match="batch dimensions do not broadcast.*pi"):
        policy_evaluation(random_mdp(3, 2, n_mdps=3), np.stack([good, good]))  # batch (2,) against (3,)
    with pytest.raises(ValueError, match=named("pi")):
        expected_return(m, good * 1.01)
    bad = good.copy()
    bad[1] = [1.5, -0.5]
    with pytest.raises(ValueError, match="pi has negative"):
        policy_transition(m, bad)
    with pytest.raises(ValueError, match=named("mdp")):
        policy_evaluation(boyan_chain(3), good)


@given(pos=st.integers(0, 5), bad=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_policy_evaluation_rejects_non_finite_pi(pos, bad):
    pi = random_policy(3, 2, 0)
    pi.flat[pos] = bad
    with pytest.raises(ValueError, match=named("pi")):
        policy_evaluation(random_mdp(3, 2), pi)


# ============================================================================ planning
@given(S=st.integers(1, 5), A=st.integers(1, 4), seed=SEEDS, ties=st.booleans())
def test_greedy_policy_against_loop(S, A, seed, ties):
    rng = np.random.default_rng(seed)
    q = rng.integers(0, 3, size=(2, S, A)).astype(float) if ties else rng.normal(size=(2, S, A))
    pi = greedy_policy(q)
    assert pi.shape == (2, S, A) and pi.dtype == F64
    for b in range(2):
        for s in range(S):
            best = max(range(A), key=lambda a: (q[b, s, a], -a))  # largest value, then lowest index
            expected = np.zeros(A)
            expected[best] = 1.0
            np.testing.assert_array_equal(pi[b, s].numpy(), expected)


def test_greedy_policy_dtype_and_errors():
    assert greedy_policy(torch.zeros(2, 3, dtype=torch.float32)).dtype == torch.float32
    assert torch.equal(greedy_policy([[1.0, 1.0, 0.0]]), torch.tensor([[1.0, 0.0, 0.0]], dtype=F64))
    with pytest.raises(ValueError, match=named("q")):
        greedy_policy([1.0, 2.0])
    with pytest.raises(ValueError, match=named("q")):
        greedy_policy([[1.0, math.nan]])


def brute_force_optimum(P, r, g):
    S, A = r.shape
    values = np.array([deterministic_values(P, r, g, np.array(acts))
                       for acts in itertools.product(range(A), repeat=S)])
    return values, values.max(axis=0)


@pytest.mark.parametrize("S, A", [(3, 2), (4, 3)])
@given(seed=SEEDS, g=GAMMAS)
def test_value_iteration_against_brute_force_and_policy_iteration(S, A, seed, g):
    m = random_mdp(S, A, gamma=g, seed=seed)
    pi_star, V_star, Q_star = value_iteration(m)
    P, r, _, _ = np_model(m)
    values, V_max = brute_force_optimum(P, r, g)
    assert len(values) == A**S
    # An optimal deterministic policy dominates every other one state by state.
    np.testing.assert_allclose(V_star.numpy(), V_max, atol=1e-8, rtol=0)
    assert np.all(values <= V_star.numpy() + 1e-8)
    pol, V_pi, Q_pi = policy_iteration(P, r, g)
    np.testing.assert_allclose(V_star.numpy(), V_pi, atol=1e-8, rtol=0)
    np.testing.assert_allclose(Q_star.numpy(), Q_pi, atol=1e-8, rtol=0)
    # pi_star is a deterministic policy, greedy with respect to Q_star.
    pis = pi_star.numpy()
    assert set(np.unique(pis)) <= {0.0, 1.0} and np.all(pis.sum(1) == 1)
    chosen = Q_star.numpy()[np.arange(S), pis.argmax(1)]
    assert np.all(chosen >= Q_star.numpy().max(1) - 1e-8)
    # Bellman optimality equation.
    Qn = Q_star.numpy()
    np.testing.assert_allclose(Qn, r + g * np.einsum("sat,t->sa", P, Qn.max(1)), atol=1e-8, rtol=0)
    assert abs(float(expected_return(m, pi_star)) - V_max.mean()) < 1e-8


def test_value_iteration_delayed_reward_needs_full_convergence():
    # State 0 chooses between a corridor 1..L of zero rewards ending in an absorbing state paying R, and an
    # absorbing state paying c at once. The corridor is better, but a value iteration stopped after fewer
    # than L sweeps has not seen R yet and picks the wrong action.
    L, g, R, c = 30, 0.9, 1.0, 0.03
    S = L + 3
    far, near = L + 1, L + 2
    P = np.zeros((S, 2, S))
    r = np.zeros((S, 2))
    P[0, 0, 1] = P[0, 1, near] = 1.0
    for i in range(1, L + 1):
        P[i, :, i + 1] = 1.0
    P[far, :, far] = P[near, :, near] = 1.0
    r[far], r[near] = R, c
    m = TabularMDP(P, r, g)
    pi_star, V_star, _ = value_iteration(m)
    v_corridor, v_near = g ** (L + 1) * R / (1 - g), g * c / (1 - g)  # closed forms of the two choices
    assert v_corridor - v_near > 0.1
    assert int(pi_star[0].argmax()) == 0
    assert abs(float(V_star[0]) - v_corridor) < 1e-10
    np.testing.assert_allclose(V_star.numpy(), policy_iteration(P, r, g)[1], atol=1e-10, rtol=0)
    with pytest.raises(ValueError, match="max_iters"):
        value_iteration(m, max_iters=L)


def test_value_iteration_gamma_zero_is_myopic():
    m = random_mdp(5, 3, gamma=0.0, seed=4)
    pi_star, V_star, Q_star = value_iteration(m)
    assert torch.equal(pi_star.argmax(1), m.r.argmax(1))
    assert torch.allclose(V_star, m.r.max(1).values, atol=1e-15)
    assert torch.allclose(Q_star, m.r, atol=1e-15)


def test_value_iteration_rejects():
    m = random_mdp(3, 2, gamma=0.99)
    for tol in [0.0, -1e-3, math.nan, math.inf, True]:
        with pytest.raises(ValueError, match=named("tol")):
            value_iteration(m, tol=tol)
    for it in [0, -1, True, 2.0]:
        with pytest.raises(ValueError, match=named("max_iters")):
            value_iteration(m, max_iters=it)
    with pytest.raises(ValueError, match="max_iters"):
        value_iteration(m, tol=1e-12, max_iters=3)
    with pytest.raises(ValueError, match=named("mdp")):
        value_iteration("not an mdp")


# ============================================================================ Markov chains and MRPs
def lazy_power_iteration(P: np.ndarray) -> np.ndarray:
    """Stationary distribution by powers of the lazy chain (I + P) / 2 (same fixed points, aperiodic).

    Sixty squarings give the 2^60-th power, whose rows all equal the stationary distribution of an
    irreducible chain.
    """
    S = P.shape[0]
    M = 0.5 * (np.eye(S) + P)
    for _ in range(60):
        M = M @ M
        M /= M.sum(1, keepdims=True)  # keep rows stochastic against rounding drift
    d = np.full(S, 1.0 / S) @ M
    return d / d.sum()


@given(S=st.integers(1, 8), seed=SEEDS, boyan=st.booleans())
def test_stationary_distribution_against_power_iteration(S, seed, boyan):
    if boyan:
        P = boyan_chain(max(S, 3), seed=seed).P.numpy()
    else:
        P = np.random.default_rng(seed).dirichlet(np.ones(S), size=S)
    d = stationary_distribution(P)
    assert d.dtype == F64 and d.shape == (P.shape[0],)
    np.testing.assert_allclose(d.numpy(), lazy_power_iteration(P), atol=1e-10, rtol=0)
    np.testing.assert_allclose(d.numpy() @ P, d.numpy(), atol=1e-12, rtol=0)


def test_stationary_distribution_periodic_and_errors():
    assert torch.allclose(stationary_distribution([[0.0, 1.0], [1.0, 0.0]]),
                          torch.tensor([0.5, 0.5], dtype=F64), atol=1e-14)
    # 3-cycle with a biased two-state core: known closed form.
    P = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert torch.allclose(stationary_distribution(P), torch.full((3,), 1 / 3, dtype=F64), atol=1e-14)
    for bad in [np.ones((2, 3)) / 3, np.ones(3) / 3, np.ones((1, 2, 3)) / 3]:
        with pytest.raises(ValueError, match=named("P")):
            stationary_distribution(bad)
    with pytest.raises(ValueError, match=named("P")):
        stationary_distribution([[0.5, 0.6], [0.5, 0.5]])
    with pytest.raises(ValueError, match="P has negative"):
        stationary_distribution([[1.5, -0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match=named("P")):
        stationary_distribution([[math.nan, 1.0], [0.5, 0.5]])


@given(S=st.integers(3, 10), g=GAMMAS, seed=SEEDS)
def test_mrp_values_against_truncated_discounted_sum(S, g, seed):
    mrp = boyan_chain(S, gamma=g, seed=seed)
    P, r = mrp.P.numpy(), mrp.r.numpy()
    # v = sum_k g^k P^k r; rewards in (-1, 1), so the tail after K terms is below g^K / (1 - g).
    K = int(math.ceil(math.log(1e-14 * (1 - g)) / math.log(g))) if g > 0 else 1
    v, term = np.zeros(S), r.copy()
    for _ in range(K + 1):
        v += term
        term = g * (P @ term)
    got = mrp_values(mrp)
    assert got.dtype == F64 and got.shape == (S,)
    np.testing.assert_allclose(got.numpy(), v, atol=1e-10, rtol=0)
    # Same numbers through the MDP code path: an MRP is an MDP with one action.
    V, _ = policy_evaluation(TabularMDP(mrp.P[:, None, :], mrp.r[:, None], g), np.ones((S, 1)))
    np.testing.assert_allclose(got.numpy(), V.numpy(), atol=1e-10, rtol=0)


def test_mrp_values_rejects_non_mrp():
    with pytest.raises(ValueError, match=named("mrp")):
        mrp_values(random_mdp(3, 2))


# ============================================================================ sampling
@pytest.fixture(scope="module")
def sampled():
    m = random_mdp(3, 2, gamma=0.9, seed=7)
    pi = random_policy(3, 2, 8)
    return m, pi, sample_transitions(m, pi, 30_000, seed=9)


def test_sample_transitions_types_and_rewards(sampled):
    m, pi, tr = sampled
    assert isinstance(tr, Transitions)
    for f in (tr.s, tr.a, tr.s_next, tr.a_next):
        assert f.dtype == torch.int64 and f.shape == (30_000,)
    assert tr.r.dtype == F64 and tr.r.shape == (30_000,)
    r = m.r.numpy()
    np.testing.assert_array_equal(tr.r.numpy(), r[tr.s.numpy(), tr.a.numpy()])


def test_sample_transitions_chain(sampled):
    _, _, tr = sampled
    assert torch.equal(tr.s_next[:-1], tr.s[1:])
    assert torch.equal(tr.a_next[:-1], tr.a[1:])


def test_sample_transitions_frequencies(sampled):
    m, pi, tr = sampled
    S, A = 3, 2
    s, a, sn, an = (x.numpy() for x in (tr.s, tr.a, tr.s_next, tr.a_next))
    counts_next = np.zeros((S * A, S))
    np.add.at(counts_next, (s * A + a, sn), 1)
    assert_chi_square_ok(counts_next, m.P.numpy().reshape(S * A, S))
    counts_a = np.zeros((S, A))
    np.add.at(counts_a, (s, a), 1)
    assert_chi_square_ok(counts_a, pi)
    counts_an = np.zeros((S, A))
    np.add.at(counts_an, (sn, an), 1)
    assert_chi_square_ok(counts_an, pi)
    # Visitation frequencies approach the stationary distribution of P_pi (computed independently).
    P_pi = np.einsum("sa,sat->st", pi, m.P.numpy())
    freq = np.bincount(s, minlength=S) / len(s)
    assert np.abs(freq - lazy_power_iteration(P_pi)).max() < 0.02
    # The statistic has power: the same counts are far off against a wrong model.
    stat, dof = chi_square(counts_next, np.roll(m.P.numpy().reshape(S * A, S), 1, axis=1))
    assert stat > dof + 8 * math.sqrt(2 * dof) + 10


def test_sample_transitions_start_state_follows_rho0():
    base = random_mdp(3, 2, seed=1)
    rho0 = np.array([0.2, 0.5, 0.3])
    m = TabularMDP(base.P, base.r, 0.9, rho0)
    pi = random_policy(3, 2, 2)
    firsts = [sample_transitions(m, pi, 1, seed=k) for k in range(1500)]
    starts = np.array([int(t.s[0]) for t in firsts])
    assert_chi_square_ok(np.bincount(starts, minlength=3)[None], rho0[None])
    # The first action is drawn from pi(.|S_1) too.
    counts = np.zeros((3, 2))
    np.add.at(counts, (starts, np.array([int(t.a[0]) for t in firsts])), 1)
    assert_chi_square_ok(counts, pi)
    # A point-mass start is always respected.
    m2 = TabularMDP(base.P, base.r, 0.9, [0.0, 0.0, 1.0])
    assert int(sample_transitions(m2, pi, 5, seed=3).s[0]) == 2


def test_sample_transitions_resets():
    # Nothing ever moves into state 0 and rho0 is a point mass on it: S_{t+1} = 0 exactly at resets.
    S, A, n, p = 3, 2, 20_000, 0.3
    P = np.zeros((S, A, S))
    P[:, :, 1:] = 0.5
    m = TabularMDP(P, np.arange(S * A, dtype=float).reshape(S, A), 0.9, [1.0, 0.0, 0.0])
    pi = random_policy(S, A, 0)
    tr = sample_transitions(m, pi, n, seed=4, reset_prob=p)
    resets = (tr.s[1:] == 0).numpy()
    assert np.all(tr.s_next.numpy() != 0)
    assert abs(resets.mean() - p) < 6 * math.sqrt(p * (1 - p) / (n - 1))
    chained = ~resets
    assert np.array_equal(tr.s_next[:-1].numpy()[chained], tr.s[1:].numpy()[chained])
    assert np.array_equal(tr.a_next[:-1].numpy()[chained], tr.a[1:].numpy()[chained])
    always = sample_transitions(m, pi, 500, seed=4, reset_prob=1.0)
    assert bool((always.s == 0).all())


def test_sample_transitions_determinism():
    m = random_mdp(4, 3, seed=2)
    pi = random_policy(4, 3, 3)
    a, b = sample_transitions(m, pi, 200, seed=5), sample_transitions(m, pi, 200, seed=5)
    c = sample_transitions(m, pi, 200, seed=6)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a.s, c.s)


@pytest.mark.parametrize("kw, name", [
    ({"n": 0}, "n"), ({"n": True}, "n"), ({"n": 2.0}, "n"), ({"seed": -1}, "seed"),
    ({"reset_prob": 1.5}, "reset_prob"), ({"reset_prob": -0.1}, "reset_prob"),
    ({"reset_prob": math.nan}, "reset_prob"), ({"reset_prob": True}, "reset_prob"),
    ({"pi": np.full((3, 2), 0.6)}, "pi"), ({"pi": np.full((2, 3), 1 / 3)}, "pi"),
])
def test_sample_transitions_rejects(kw, name):
    m = random_mdp(3, 2)
    args = {"mdp": m, "pi": np.full((3, 2), 0.5), "n": 10} | kw
    with pytest.raises(ValueError, match=named(name)):
        sample_transitions(**args)


def test_sample_mrp_trajectory():
    mrp = boyan_chain(6, seed=3)
    n = 30_000
    states, rewards = sample_mrp_trajectory(mrp, n, seed=1)
    assert states.shape == (n + 1,) and rewards.shape == (n,)
    assert states.dtype == torch.int64 and rewards.dtype == F64
    np.testing.assert_array_equal(rewards.numpy(), mrp.r.numpy()[states[:-1].numpy()])
    st_np = states.numpy()
    counts = np.zeros((6, 6))
    np.add.at(counts, (st_np[:-1], st_np[1:]), 1)
    assert_chi_square_ok(counts, mrp.P.numpy())
    starts = np.array([int(sample_mrp_trajectory(mrp, 1, seed=k)[0][0]) for k in range(1500)])
    assert_chi_square_ok(np.bincount(starts, minlength=6)[None], mrp.rho0.numpy()[None])
    again = sample_mrp_trajectory(mrp, 50, seed=1)[0]
    assert torch.equal(again, states[:51])  # same stream: the first 50 steps coincide
    with pytest.raises(ValueError, match=named("n")):
        sample_mrp_trajectory(mrp, 0)
    with pytest.raises(ValueError, match=named("seed")):
        sample_mrp_trajectory(mrp, 5, seed=-1)
    with pytest.raises(ValueError, match=named("mrp")):
        sample_mrp_trajectory(random_mdp(3, 2), 5)
