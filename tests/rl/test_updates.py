"""td_errors, batch_td_update and batch_sarsa_update against per-transition Python loops and fixed points."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from icrl_lib.rl import batch_sarsa_update, batch_td_update, td_errors
from icrl_lib.rl import one_hot_state_action, state_action_table
from icrl_lib.rl import random_mdp, sample_transitions

F64 = torch.float64
SEEDS = st.integers(0, 2**31 - 1)
GAMMAS = st.floats(0.0, 0.99)
INVALID_GAMMA = st.one_of(st.floats(min_value=1.0), st.floats(max_value=-1e-300),
                          st.sampled_from([1.0, -0.1, math.nan, math.inf, -math.inf]), st.booleans())


def named(arg: str) -> str:
    return rf"^{re.escape(arg)}\b"


def batch_data(rng, N, d, batch=()):
    return (rng.normal(size=(*batch, d)), rng.normal(size=(*batch, N, d)), rng.normal(size=(*batch, N, d)),
            rng.normal(size=(*batch, N)))


def td_loop(w, x, x_next, rewards, gamma, C=None, alpha=1.0):
    """w + (alpha/N) C sum_t delta_t x_t, one transition at a time."""
    N, d = x.shape
    total = np.zeros(d)
    deltas = []
    for t in range(N):
        delta = rewards[t] + gamma * sum(w[k] * x_next[t, k] for k in range(d)) - sum(w[k] * x[t, k] for k in range(d))
        deltas.append(delta)
        total += delta * x[t]
    step = alpha * total / N
    if C is not None:
        step = np.array([sum(C[i, k] * step[k] for k in range(d)) for i in range(d)])
    return w + step, np.array(deltas)


@given(N=st.integers(1, 6), d=st.integers(1, 4), g=GAMMAS, seed=SEEDS)
def test_td_errors_and_update_against_loop(N, d, g, seed):
    rng = np.random.default_rng(seed)
    w, x, xn, r = batch_data(rng, N, d)
    C = rng.normal(size=(d, d))
    ref_w, ref_delta = td_loop(w, x, xn, r, g)
    delta = td_errors(w, x, xn, r, g)
    assert delta.shape == (N,) and delta.dtype == F64
    np.testing.assert_allclose(delta.numpy(), ref_delta, atol=1e-12, rtol=1e-12)
    new = batch_td_update(w, x, xn, r, g)
    assert new.shape == (d,) and new.dtype == F64
    np.testing.assert_allclose(new.numpy(), ref_w, atol=1e-12, rtol=1e-12)
    np.testing.assert_allclose(batch_td_update(w, x, xn, r, g, C=C).numpy(), td_loop(w, x, xn, r, g, C=C)[0],
                               atol=1e-12, rtol=1e-12)


@given(N=st.integers(1, 5), d=st.integers(1, 3), g=GAMMAS, seed=SEEDS)
def test_batched_inputs_match_per_prompt_loops(N, d, g, seed):
    rng = np.random.default_rng(seed)
    B = 3
    w, x, xn, r = batch_data(rng, N, d, batch=(B,))
    C = rng.normal(size=(B, d, d))
    alpha = float(rng.uniform(0.1, 2.0))
    delta = td_errors(w, x, xn, r, g)
    td = batch_td_update(w, x, xn, r, g, C=C)
    sarsa = batch_sarsa_update(w, x, xn, r, alpha, g)
    assert delta.shape == (B, N) and td.shape == sarsa.shape == (B, d)
    for b in range(B):
        ref_w, ref_delta = td_loop(w[b], x[b], xn[b], r[b], g, C=C[b])
        np.testing.assert_allclose(delta[b].numpy(), ref_delta, atol=1e-12, rtol=1e-12)
        np.testing.assert_allclose(td[b].numpy(), ref_w, atol=1e-12, rtol=1e-12)
        np.testing.assert_allclose(sarsa[b].numpy(), td_loop(w[b], x[b], xn[b], r[b], g, alpha=alpha)[0],
                                   atol=1e-12, rtol=1e-12)


def test_broadcasting_shared_w_and_shared_data():
    rng = np.random.default_rng(0)
    N, d, g = 4, 3, 0.8
    w, x, xn, r = batch_data(rng, N, d, batch=(2,))
    # One w for a batch of contexts.
    out = batch_td_update(w[0], x, xn, r, g)
    for b in range(2):
        np.testing.assert_allclose(out[b].numpy(), td_loop(w[0], x[b], xn[b], r[b], g)[0], atol=1e-12)
    # A batch of w (e.g. several iterates) on one shared context, with a shared C.
    C = np.diag([0.5, 1.0, 2.0])
    out = batch_td_update(w, x[0], xn[0], r[0], g, C=C)
    for b in range(2):
        np.testing.assert_allclose(out[b].numpy(), td_loop(w[b], x[0], xn[0], r[0], g, C=C)[0], atol=1e-12)
    # A batch of preconditioners with an unbatched context.
    Cs = rng.normal(size=(5, d, d))
    out = batch_td_update(w[0], x[0], xn[0], r[0], g, C=Cs)
    assert out.shape == (5, d)
    np.testing.assert_allclose(out[4].numpy(), td_loop(w[0], x[0], xn[0], r[0], g, C=Cs[4])[0], atol=1e-12)


@given(N=st.integers(1, 6), d=st.integers(1, 4), g=GAMMAS, seed=SEEDS, alpha=st.floats(0.01, 3.0))
def test_sarsa_equals_td_with_scaled_identity_preconditioner(N, d, g, seed, alpha):
    rng = np.random.default_rng(seed)
    w, phi, phin, r = batch_data(rng, N, d)
    assert torch.allclose(batch_sarsa_update(w, phi, phin, r, alpha, g),
                          batch_td_update(w, phi, phin, r, g, C=alpha * np.eye(d)), atol=1e-12, rtol=1e-12)


@given(N=st.integers(3, 12), d=st.integers(1, 3), g=GAMMAS, seed=SEEDS)
def test_td_fixed_point_is_left_unchanged(N, d, g, seed):
    # The batch TD fixed point solves X^T (X - g X') w = X^T R (computed here by a linear solve).
    rng = np.random.default_rng(seed)
    _, x, xn, r = batch_data(rng, N, d)
    A = x.T @ (x - g * xn)
    assume(np.linalg.cond(A) < 1e6)
    w_star = np.linalg.solve(A, x.T @ r)
    np.testing.assert_allclose(batch_td_update(w_star, x, xn, r, g).numpy(), w_star, atol=1e-9, rtol=0)
    np.testing.assert_allclose(td_errors(w_star, x, xn, r, g).numpy() @ x, np.zeros(d), atol=1e-9)


def test_sarsa_with_one_hot_features_is_a_sum_per_visited_pair():
    # [LL26] eq. 2 with tabular features: w+[(s,a)] = w[(s,a)] + alpha/N * sum of TD errors at visits of (s,a).
    S, A, n, alpha, g = 4, 3, 200, 0.7, 0.9
    m = random_mdp(S, A, gamma=g, seed=3)
    pi = np.full((S, A), 1 / A)
    tr = sample_transitions(m, pi, n, seed=5)
    w = np.random.default_rng(1).normal(size=S * A)
    phi = one_hot_state_action(tr.s, tr.a, S, A)
    phin = one_hot_state_action(tr.s_next, tr.a_next, S, A)
    new = batch_sarsa_update(w, phi, phin, tr.r, alpha, g).numpy()
    ref = w.copy()
    for s, a, rew, sn, an in zip(*(t.tolist() for t in tr)):
        delta = rew + g * w[sn * A + an] - w[s * A + a]
        ref[s * A + a] += alpha / n * delta
    np.testing.assert_allclose(new, ref, atol=1e-12, rtol=0)
    # Pairs never visited keep their weight exactly.
    visited = set((tr.s * A + tr.a).tolist())
    for k in set(range(S * A)) - visited:
        assert new[k] == w[k]
    # The table gives the same features.
    T = state_action_table(S, A)
    assert torch.equal(T[tr.s, tr.a], phi)


def test_dtype_follows_w():
    rng = np.random.default_rng(0)
    w, x, xn, r = (torch.from_numpy(a).float() for a in batch_data(rng, 5, 3))
    assert td_errors(w, x, xn, r, 0.5).dtype == torch.float32
    assert batch_td_update(w, x, xn, r, 0.5, C=np.eye(3)).dtype == torch.float32
    assert batch_sarsa_update(w, x.double(), xn, r, 0.1, 0.5).dtype == torch.float32
    ref = batch_td_update(w.double(), x.double(), xn.double(), r.double(), 0.5)
    assert torch.allclose(batch_td_update(w, x, xn, r, 0.5).double(), ref, atol=1e-5)


# ============================================================================ invalid input
@given(g=INVALID_GAMMA)
def test_reject_bad_gamma(g):
    w, x, xn, r = batch_data(np.random.default_rng(0), 3, 2)
    for call in (lambda: td_errors(w, x, xn, r, g), lambda: batch_td_update(w, x, xn, r, g),
                 lambda: batch_sarsa_update(w, x, xn, r, 0.1, g)):
        with pytest.raises(ValueError, match=named("gamma")):
            call()


@pytest.mark.parametrize("alpha", [0.0, -0.5, math.nan, math.inf, True, None])
def test_sarsa_rejects_bad_alpha(alpha):
    w, x, xn, r = batch_data(np.random.default_rng(0), 3, 2)
    with pytest.raises(ValueError, match=named("alpha")):
        batch_sarsa_update(w, x, xn, r, alpha, 0.9)


@given(which=st.sampled_from(["w", "x", "x_next", "rewards", "C"]), pos=st.integers(0, 10**6),
       bad=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_reject_non_finite(which, pos, bad):
    w, x, xn, r = batch_data(np.random.default_rng(0), 3, 2)
    arrays = {"w": w, "x": x, "x_next": xn, "rewards": r, "C": np.eye(2)}
    arrays[which].flat[pos % arrays[which].size] = bad
    with pytest.raises(ValueError, match=named(which)):
        batch_td_update(arrays["w"], arrays["x"], arrays["x_next"], arrays["rewards"], 0.9, C=arrays["C"])
    if which != "C":
        sarsa_name = {"x": "phi", "x_next": "phi_next"}.get(which, which)
        with pytest.raises(ValueError, match=named(sarsa_name)):
            batch_sarsa_update(arrays["w"], arrays["x"], arrays["x_next"], arrays["rewards"], 0.1, 0.9)


@pytest.mark.parametrize("shapes, name", [
    (((), (3, 2), (3, 2), (3,)), "w"),            # w must be at least a vector
    (((2,), (3, 3), (3, 2), (3,)), "x"),          # d mismatch
    (((2,), (2,), (3, 2), (3,)), "x"),            # x needs (N, d)
    (((2,), (3, 2), (4, 2), (3,)), "x_next"),     # N mismatch
    (((2,), (3, 2), (3, 3), (3,)), "x_next"),     # d mismatch
    (((2,), (3, 2), (3, 2), (4,)), "rewards"),
    (((2,), (3, 2), (3, 2), ()), "rewards"),
    (((0,), (3, 0), (3, 0), (3,)), "w"),          # empty feature dimension
    (((2,), (0, 2), (0, 2), (0,)), "x"),          # empty context
])
def test_reject_wrong_shapes(shapes, name):
    w, x, xn, r = (np.ones(s) for s in shapes)
    with pytest.raises(ValueError, match=named(name)):
        batch_td_update(w, x, xn, r, 0.5)
    with pytest.raises(ValueError, match=named(name)):
        td_errors(w, x, xn, r, 0.5)
    sarsa_name = {"x": "phi", "x_next": "phi_next"}.get(name, name)
    with pytest.raises(ValueError, match=named(sarsa_name)):
        batch_sarsa_update(w, x, xn, r, 0.1, 0.5)


@pytest.mark.parametrize("C", [np.eye(3), np.ones(2), np.ones((2, 3))])
def test_reject_wrong_preconditioner_shape(C):
    w, x, xn, r = batch_data(np.random.default_rng(0), 3, 2)
    with pytest.raises(ValueError, match=named("C")):
        batch_td_update(w, x, xn, r, 0.5, C=C)


def test_reject_non_broadcasting_batches():
    rng = np.random.default_rng(0)
    w, x, xn, r = batch_data(rng, 3, 2, batch=(2,))
    with pytest.raises(ValueError, match=r"batch dimensions do not broadcast.*C: \(3,\)"):
        batch_td_update(w, x, xn, r, 0.5, C=np.ones((3, 2, 2)))
    with pytest.raises(ValueError, match=r"batch dimensions do not broadcast.*x: \(4,\)"):
        batch_td_update(w, np.ones((4, 3, 2)), xn, r, 0.5)
    with pytest.raises(ValueError, match=r"batch dimensions do not broadcast.*rewards: \(5,\)"):
        batch_sarsa_update(w, x, xn, np.ones((5, 3)), 0.1, 0.5)
