"""The actor-critic pieces of chapter 1: ``algorithms.batch_actor_critic_update`` and the softmax actor
(``policies.softmax_actor_policy``, ``policies.softmax_actor_scores``).

Independent checks: the batch update against a plain per-transition Python loop in numpy, the scores
against ``torch.autograd`` of ``log_softmax``, and the zero-mean property of scores.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from icrl_lib.rl import batch_actor_critic_update, batch_td_update
from icrl_lib.rl import state_action_table
from icrl_lib.rl import softmax_actor_policy, softmax_actor_scores, softmax_policy


def _random_ac_inputs(rng, N, d, d_actor, batch=()):
    return dict(
        w=rng.normal(size=batch + (d,)), theta=rng.normal(size=batch + (d_actor,)),
        x=rng.normal(size=batch + (N, d)), x_next=rng.normal(size=batch + (N, d)),
        rewards=rng.normal(size=batch + (N,)), psi=rng.normal(size=batch + (N, d_actor)))


def _loop_update(w, theta, x, x_next, rewards, psi, alpha, beta, gamma):
    """Per-transition accumulation with the old parameters, in plain Python floats."""
    N = len(rewards)
    dw, dtheta = [0.0] * len(w), [0.0] * len(theta)
    for t in range(N):
        v = sum(w[i] * x[t][i] for i in range(len(w)))
        v_next = sum(w[i] * x_next[t][i] for i in range(len(w)))
        delta = rewards[t] + gamma * v_next - v
        for i in range(len(w)):
            dw[i] += delta * x[t][i]
        for j in range(len(theta)):
            dtheta[j] += delta * psi[t][j]
    return (np.array([w[i] + alpha / N * dw[i] for i in range(len(w))]),
            np.array([theta[j] + beta / N * dtheta[j] for j in range(len(theta))]))


# ------------------------------------------------------------------------------ batch_actor_critic_update
@given(N=st.integers(1, 6), d=st.integers(1, 4), d_actor=st.integers(1, 5), seed=st.integers(0, 10_000),
       alpha=st.floats(0.01, 2.0), beta=st.floats(0.01, 2.0), gamma=st.floats(0.0, 0.99))
def test_update_matches_per_transition_loop(N, d, d_actor, seed, alpha, beta, gamma):
    inp = _random_ac_inputs(np.random.default_rng(seed), N, d, d_actor)
    w_new, theta_new = batch_actor_critic_update(**inp, alpha=alpha, beta=beta, gamma=gamma)
    w_ref, theta_ref = _loop_update(*(inp[k].tolist() for k in ("w", "theta", "x", "x_next", "rewards", "psi")),
                                    alpha, beta, gamma)
    np.testing.assert_allclose(w_new.numpy(), w_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(theta_new.numpy(), theta_ref, rtol=1e-12, atol=1e-12)


def test_update_batches_and_broadcasts():
    rng = np.random.default_rng(0)
    inp = _random_ac_inputs(rng, 7, 3, 4, batch=(5,))
    inp["theta"] = inp["theta"][0]  # one shared actor, broadcast over the batch
    w_new, theta_new = batch_actor_critic_update(**inp, alpha=0.5, beta=0.3, gamma=0.9)
    assert w_new.shape == (5, 3) and theta_new.shape == (5, 4)
    for b in range(5):
        one = {k: (v[b] if k != "theta" else v) for k, v in inp.items()}
        w_b, th_b = batch_actor_critic_update(**one, alpha=0.5, beta=0.3, gamma=0.9)
        torch.testing.assert_close(w_new[b], w_b, rtol=0, atol=1e-14)
        torch.testing.assert_close(theta_new[b], th_b, rtol=0, atol=1e-14)


def test_critic_half_is_batch_td_with_step_alpha():
    inp = _random_ac_inputs(np.random.default_rng(1), 9, 4, 6)
    w_new, _ = batch_actor_critic_update(**inp, alpha=0.7, beta=1.0, gamma=0.8)
    w_td = batch_td_update(inp["w"], inp["x"], inp["x_next"], inp["rewards"], 0.8, C=0.7 * np.eye(4))
    torch.testing.assert_close(w_new, w_td, rtol=0, atol=1e-13)


def test_update_keeps_float32():
    inp = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in _random_ac_inputs(np.random.default_rng(2), 4, 2, 3).items()}
    w_new, theta_new = batch_actor_critic_update(**inp, alpha=0.1, beta=0.1, gamma=0.9)
    assert w_new.dtype == torch.float32 and theta_new.dtype == torch.float32


@pytest.mark.parametrize("change, name", [
    (dict(psi=np.zeros((5, 3))), "psi"),            # N mismatch (data has N = 4)
    (dict(psi=np.zeros((4, 2))), "psi"),            # d_actor mismatch with theta (3)
    (dict(theta=np.zeros((3, 3, 0))), "theta"),
    (dict(theta=[np.nan, 0.0, 0.0]), "theta"),
    (dict(x=np.zeros((4, 5))), "x"),
    (dict(rewards=np.zeros(3)), "rewards"),
    (dict(alpha=0.0), "alpha"),
    (dict(beta=-1.0), "beta"),
    (dict(gamma=1.0), "gamma"),
])
def test_update_rejects_bad_input(change, name):
    args = dict(_random_ac_inputs(np.random.default_rng(3), 4, 2, 3), alpha=0.1, beta=0.1, gamma=0.9)
    args.update(change)
    with pytest.raises(ValueError, match=name):
        batch_actor_critic_update(**args)


def test_update_rejects_incompatible_batches():
    inp = _random_ac_inputs(np.random.default_rng(4), 4, 2, 3)
    inp["psi"] = np.zeros((2, 4, 3))
    inp["theta"] = np.zeros((3, 3))
    with pytest.raises(ValueError, match="batch"):
        batch_actor_critic_update(**inp, alpha=0.1, beta=0.1, gamma=0.9)


# ----------------------------------------------------------------------------- softmax actor and scores
def _autograd_scores(theta, s, a, table, tau):
    rows = []
    for st_, at_ in zip(s.tolist(), a.tolist()):
        th = theta.clone().requires_grad_(True)
        logp = torch.log_softmax(table[st_] @ th / tau, dim=-1)[at_]
        (g,) = torch.autograd.grad(logp, th)
        rows.append(g)
    return torch.stack(rows)


@given(S=st.integers(1, 4), A=st.integers(1, 4), d=st.integers(1, 5), N=st.integers(1, 6),
       tau=st.floats(0.2, 3.0), seed=st.integers(0, 10_000))
def test_scores_equal_autograd_of_log_softmax(S, A, d, N, tau, seed):
    g = torch.Generator().manual_seed(seed)
    table = torch.randn(S, A, d, generator=g, dtype=torch.float64)
    theta = torch.randn(d, generator=g, dtype=torch.float64)
    s = torch.randint(0, S, (N,), generator=g)
    a = torch.randint(0, A, (N,), generator=g)
    psi = softmax_actor_scores(theta, s, a, table, temperature=tau)
    assert psi.shape == (N, d)
    torch.testing.assert_close(psi, _autograd_scores(theta, s, a, table, tau), rtol=1e-10, atol=1e-12)


def test_scores_batch_over_theta_and_indices():
    g = torch.Generator().manual_seed(5)
    table = torch.randn(3, 2, 4, generator=g, dtype=torch.float64)
    theta = torch.randn(6, 4, generator=g, dtype=torch.float64)
    s = torch.randint(0, 3, (6, 5), generator=g)
    a = torch.randint(0, 2, (6, 5), generator=g)
    psi = softmax_actor_scores(theta, s, a, table)
    assert psi.shape == (6, 5, 4)
    for b in range(6):
        torch.testing.assert_close(psi[b], _autograd_scores(theta[b], s[b], a[b], table, 1.0))
    # Shared indices broadcast against a batch of actors.
    psi_shared = softmax_actor_scores(theta, s[0], a[0], table)
    assert psi_shared.shape == (6, 5, 4)
    torch.testing.assert_close(psi_shared[2], _autograd_scores(theta[2], s[0], a[0], table, 1.0))


def test_scores_have_zero_mean_under_the_policy():
    g = torch.Generator().manual_seed(6)
    S, A, d = 4, 3, 5
    table = torch.randn(S, A, d, generator=g, dtype=torch.float64)
    theta = torch.randn(d, generator=g, dtype=torch.float64)
    s, a = torch.meshgrid(torch.arange(S), torch.arange(A), indexing="ij")
    psi = softmax_actor_scores(theta, s.flatten(), a.flatten(), table).reshape(S, A, d)
    pi = softmax_actor_policy(theta, table)
    torch.testing.assert_close(torch.einsum("sa,sad->sd", pi, psi), torch.zeros(S, d, dtype=torch.float64),
                               rtol=0, atol=1e-13)


def test_tabular_scores_rows_sum_to_zero_and_live_in_their_state_block():
    S, A = 4, 3
    table = state_action_table(S, A)
    theta = torch.linspace(-1, 2, S * A, dtype=torch.float64)
    s, a = torch.tensor([0, 2, 3, 2]), torch.tensor([1, 0, 2, 2])
    psi = softmax_actor_scores(theta, s, a, table)
    torch.testing.assert_close(psi.sum(-1), torch.zeros(4, dtype=torch.float64), rtol=0, atol=1e-14)
    pi = softmax_actor_policy(theta, table)
    for t in range(4):
        block = psi[t].reshape(S, A)
        expected = torch.zeros(S, A, dtype=torch.float64)
        expected[s[t]] = -pi[s[t]]
        expected[s[t], a[t]] += 1.0
        torch.testing.assert_close(block, expected, rtol=0, atol=1e-14)


def test_actor_policy_is_softmax_of_linear_preferences():
    g = torch.Generator().manual_seed(7)
    table = torch.randn(3, 4, 2, generator=g, dtype=torch.float64)
    theta = torch.randn(5, 2, generator=g, dtype=torch.float64)
    pi = softmax_actor_policy(theta, table, temperature=0.5)
    assert pi.shape == (5, 3, 4)
    prefs = torch.stack([table @ th for th in theta])
    torch.testing.assert_close(pi, softmax_policy(prefs, 0.5))
    torch.testing.assert_close(pi.sum(-1), torch.ones(5, 3, dtype=torch.float64))
    # Temperature only rescales the preferences.
    torch.testing.assert_close(pi, softmax_actor_policy(theta / 0.5, table))


def test_actor_keeps_float32():
    theta = torch.zeros(6, dtype=torch.float32)
    table = state_action_table(2, 3)
    assert softmax_actor_policy(theta, table).dtype == torch.float32
    assert softmax_actor_scores(theta, [0, 1], [2, 0], table).dtype == torch.float32


@pytest.mark.parametrize("kwargs, name", [
    (dict(table=np.zeros((2, 3, 5))), "table"),          # d_actor mismatch with theta (6)
    (dict(table=np.zeros((6, 6))), "table"),
    (dict(s=[0, 2]), "s"),                               # state index out of range
    (dict(a=[0, 3]), "a"),
    (dict(s=[0.0, 1.0]), "s"),                           # float indices
    (dict(a=[0, 1, 2]), "s and a"),
    (dict(theta=np.full(6, np.nan)), "theta"),
    (dict(temperature=0.0), "temperature"),
])
def test_scores_reject_bad_input(kwargs, name):
    args = dict(theta=np.zeros(6), s=[0, 1], a=[2, 0], table=state_action_table(2, 3), temperature=1.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        softmax_actor_scores(**args)


def test_actor_policy_rejects_bad_temperature_and_table():
    with pytest.raises(ValueError, match="temperature"):
        softmax_actor_policy(np.zeros(6), state_action_table(2, 3), temperature=-1.0)
    with pytest.raises(ValueError, match="table"):
        softmax_actor_policy(np.zeros(4), state_action_table(2, 3))
