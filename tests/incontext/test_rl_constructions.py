"""icrl_lib.incontext constructions for chapters 4-5: one linear-attention block = one batch SARSA / actor-critic step.

Independent checks: the readouts of the constructed blocks against per-transition loops in plain Python
(not the library's vectorised updates), the invariances the chapters claim (rescaling, inert sub-blocks,
one-hot null directions) and the rank of the readout map's Jacobian, computed here by exact finite
differences (the readout is linear in P for fixed V and linear in V for fixed P), not by autograd.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from icrl_lib.rl import batch_actor_critic_update, batch_sarsa_update
from icrl_lib.attention import linear_self_attention
from icrl_lib.incontext import actor_critic_construction, sarsa_construction
from icrl_lib.incontext import (actor_critic_layout, actor_critic_prompt, actor_critic_readout, sarsa_layout,
                              sarsa_prompt, sarsa_readout)

F64 = torch.float64
SEEDS = st.integers(0, 2**31 - 1)


def named(arg: str) -> str:
    return rf"^{re.escape(arg)}\b"


def sarsa_loop(w, phi, phi_next, r, alpha, gamma):
    N, d = len(r), len(w)
    acc = [0.0] * d
    for t in range(N):
        delta = r[t] + gamma * sum(w[i] * phi_next[t][i] for i in range(d)) - sum(w[i] * phi[t][i] for i in range(d))
        for i in range(d):
            acc[i] += delta * phi[t][i]
    return np.array([w[i] + alpha / N * acc[i] for i in range(d)])


def random_sarsa(rng, N, d, batch=()):
    return (rng.normal(size=batch + (N, d)), rng.normal(size=batch + (N, d)), rng.normal(size=batch + (N,)),
            rng.normal(size=batch + (d,)))


def one_hot_sarsa(rng, N, d, batch=()):
    eye = np.eye(d)
    return (eye[rng.integers(0, d, size=batch + (N,))], eye[rng.integers(0, d, size=batch + (N,))],
            rng.uniform(size=batch + (N,)), rng.normal(size=batch + (d,)))


# ------------------------------------------------------------------------------- SARSA: the theorem
@given(d=st.integers(1, 6), N=st.integers(1, 12), alpha=st.floats(0.01, 5.0), gamma=st.floats(0.0, 0.99),
       mask=st.booleans(), seed=SEEDS)
def test_sarsa_block_equals_per_transition_loop(d, N, alpha, gamma, mask, seed):
    rng = np.random.default_rng(seed)
    phi, phi_next, r, w = random_sarsa(rng, N, d)
    P, V = sarsa_construction(d, alpha, gamma)
    out = linear_self_attention(sarsa_prompt(phi, phi_next, r, w), P, V, mask=mask)
    np.testing.assert_allclose(sarsa_readout(out).numpy(), sarsa_loop(w, phi, phi_next, r, alpha, gamma),
                               rtol=0, atol=1e-10)


@pytest.mark.parametrize("mask", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_sarsa_block_batched_writes_only_the_w_rows(mask, seed):
    rng = np.random.default_rng(seed)
    d, N, B, alpha, gamma = 5, 30, 64, 0.7, 0.9
    phi, phi_next, r, w = random_sarsa(rng, N, d, (B,))
    H = sarsa_prompt(phi, phi_next, r, w)
    P, V = sarsa_construction(d, alpha, gamma)
    out = linear_self_attention(H, P, V, mask=mask)
    expected = batch_sarsa_update(w, phi, phi_next, r, alpha, gamma)
    assert float((sarsa_readout(out) - expected).abs().max()) < 1e-10
    # everything except the query's w rows is left exactly as it was (context columns: P h_t = 0)
    changed = (out - H).abs() > 0
    L = sarsa_layout(d)
    assert not changed[:, :, :N].any() and not changed[:, :L.rows("w").start, N].any()


# ------------------------------------------------------------------------------- SARSA: invariances
def _readout(H, P, V, mask):
    return sarsa_readout(linear_self_attention(H, P, V, mask=mask))


@pytest.mark.parametrize("c", [-3.0, 0.25, 7.0])
def test_sarsa_scaling_invariance(c):
    rng = np.random.default_rng(2)
    H = sarsa_prompt(*random_sarsa(rng, 20, 4, (8,)))
    P, V = sarsa_construction(4, 0.5, 0.8)
    P2, V2 = torch.from_numpy(rng.normal(size=P.shape)), torch.from_numpy(rng.normal(size=V.shape))
    for mask in (False, True):
        assert torch.allclose(linear_self_attention(H, P2 / c, c * V2, mask=mask),
                              linear_self_attention(H, P2, V2, mask=mask), rtol=1e-12, atol=1e-12)
        assert float((_readout(H, P / c, c * V, mask) - _readout(H, P, V, mask)).abs().max()) < 1e-12


def _sub_blocks(d):
    """(matrix, rows, cols) of every sub-block in the (data | one | w) partition, for P and V."""
    L = sarsa_layout(d)
    parts = {"data": L.data, "one": L.rows("one"), "w": L.rows("w")}
    return [(m, a, b) for m in "PV" for a in parts for b in parts], parts


ACTIVE = {("P", "data", "one"), ("P", "data", "w"), ("V", "w", "data")}


@pytest.mark.parametrize("mask", [False, True])
def test_sarsa_inert_sub_blocks(mask):
    d, alpha, gamma = 3, 0.6, 0.9
    rng = np.random.default_rng(3)
    H = sarsa_prompt(*random_sarsa(rng, 25, d, (16,)))
    P, V = sarsa_construction(d, alpha, gamma)
    base = _readout(H, P, V, mask)
    blocks, parts = _sub_blocks(d)
    for m, a, b in blocks:
        P2, V2 = P.clone(), V.clone()
        M = P2 if m == "P" else V2
        M[parts[a], parts[b]] += torch.from_numpy(rng.normal(size=M[parts[a], parts[b]].shape))
        err = float((_readout(H, P2, V2, mask) - base).abs().max())
        if (m, a, b) in ACTIVE:
            assert err > 1e-3, (m, a, b)
        else:
            assert err < 1e-12, (m, a, b)


def test_unmasked_self_term_couples_two_inert_blocks():
    """V[w, param] and P[param, param] are inert one at a time, but not together without the mask."""
    d = 3
    rng = np.random.default_rng(4)
    H = sarsa_prompt(*random_sarsa(rng, 25, d, (16,)))
    P, V = sarsa_construction(d, 0.6, 0.9)
    L = sarsa_layout(d)
    P2, V2 = P.clone(), V.clone()
    V2[L.rows("w"), L.param] += torch.from_numpy(rng.normal(size=(d, d + 1)))
    P2[L.param, L.param] += torch.from_numpy(rng.normal(size=(d + 1, d + 1)))
    assert float((_readout(H, P2, V2, True) - _readout(H, P, V, True)).abs().max()) < 1e-12
    assert float((_readout(H, P2, V2, False) - _readout(H, P, V, False)).abs().max()) > 1e-3


def _null_directions(d, a, c):
    L = sarsa_layout(d)
    dP, dV = torch.zeros(L.dim, L.dim, dtype=F64), torch.zeros(L.dim, L.dim, dtype=F64)
    ones = torch.ones(d, 1, dtype=F64)
    dP[L.rows("phi"), L.param] = ones @ a[None, :]
    dP[L.rows("phi_next"), L.param] = -ones @ a[None, :]
    dV[L.rows("w"), L.rows("phi")] = c[:, None] @ ones.T
    dV[L.rows("w"), L.rows("phi_next")] = -c[:, None] @ ones.T
    return dP, dV


@pytest.mark.parametrize("mask", [False, True])
def test_one_hot_null_directions(mask):
    d = 4
    rng = np.random.default_rng(5)
    P, V = sarsa_construction(d, 0.8, 0.9)
    dP, dV = _null_directions(d, torch.from_numpy(rng.normal(size=d + 1)), torch.from_numpy(rng.normal(size=d)))
    H_hot = sarsa_prompt(*one_hot_sarsa(rng, 30, d, (16,)))
    H_gauss = sarsa_prompt(*random_sarsa(rng, 30, d, (16,)))
    for dP_, dV_ in ((dP, 0 * dV), (0 * dP, dV), (dP, dV)):
        assert float((_readout(H_hot, P + dP_, V + dV_, mask) - _readout(H_hot, P, V, mask)).abs().max()) < 1e-12
        assert float((_readout(H_gauss, P + dP_, V + dV_, mask) - _readout(H_gauss, P, V, mask)).abs().max()) > 1e-3


def _jacobian_by_differences(H, P, V, mask):
    """Columns d readout / d P_ij and d readout / d V_ij as exact differences (the map is bilinear)."""
    D = P.shape[0]
    E = torch.eye(D * D, dtype=F64).reshape(D * D, 1, D, D)
    base = _readout(H, P, V, mask)
    JP = _readout(H, P + E, V, mask) - base          # (D^2, B, d)
    JV = _readout(H, P, V + E, mask) - base
    return torch.cat([JP.reshape(D * D, -1), JV.reshape(D * D, -1)], 0).T


@pytest.mark.parametrize("one_hot", [True, False])
def test_sarsa_jacobian_rank_matches_the_chapter_count(one_hot):
    """Chapter 4: rank = (2d+1)^2 - (2d+2) for one-hot features, (2d+1)^2 - 1 for generic ones."""
    d, N, B = 3, 12, 120
    rng = np.random.default_rng(6)
    H = sarsa_prompt(*(one_hot_sarsa if one_hot else random_sarsa)(rng, N, d, (B,)))
    P, V = sarsa_construction(d, 1.0, 0.9)
    J = _jacobian_by_differences(H, P, V, mask=True)
    rank = int(torch.linalg.matrix_rank(J, rtol=1e-9))
    assert rank == ((2 * d + 1) ** 2 - (2 * d + 2) if one_hot else (2 * d + 1) ** 2 - 1)


# ------------------------------------------------------------------------------- actor-critic
def ac_loop(w, theta, x, x_next, r, psi, alpha, beta, gamma):
    N = len(r)
    dw, dth = np.zeros(len(w)), np.zeros(len(theta))
    for t in range(N):
        delta = r[t] + gamma * float(np.dot(w, x_next[t])) - float(np.dot(w, x[t]))
        dw += delta * np.asarray(x[t])
        dth += delta * np.asarray(psi[t])
    return w + alpha / N * dw, theta + beta / N * dth


@given(dc=st.integers(1, 5), da=st.integers(1, 5), N=st.integers(1, 10), alpha=st.floats(0.01, 3.0),
       beta=st.floats(0.01, 30.0), gamma=st.floats(0.0, 0.99), mask=st.booleans(), seed=SEEDS)
def test_actor_critic_block_equals_loop(dc, da, N, alpha, beta, gamma, mask, seed):
    rng = np.random.default_rng(seed)
    x, x_next, r = rng.normal(size=(N, dc)), rng.normal(size=(N, dc)), rng.normal(size=N)
    psi, w, theta = rng.normal(size=(N, da)), rng.normal(size=dc), rng.normal(size=da)
    P, V = actor_critic_construction(dc, da, alpha, beta, gamma)
    out = linear_self_attention(actor_critic_prompt(x, x_next, r, psi, w, theta), P, V, mask=mask)
    w_out, th_out = actor_critic_readout(out, dc, da)
    w_ref, th_ref = ac_loop(w, theta, x, x_next, r, psi, alpha, beta, gamma)
    np.testing.assert_allclose(w_out.numpy(), w_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(th_out.numpy(), th_ref, rtol=0, atol=1e-9 * max(1.0, beta))


@pytest.mark.parametrize("mask", [False, True])
def test_actor_critic_block_batched_and_scaled(mask):
    rng = np.random.default_rng(7)
    B, N, dc, da, alpha, beta, gamma = 32, 40, 4, 6, 0.9, 20.0, 0.9
    x, x_next, r = rng.normal(size=(B, N, dc)), rng.normal(size=(B, N, dc)), rng.normal(size=(B, N))
    psi, w, theta = rng.normal(size=(B, N, da)), rng.normal(size=(B, dc)), rng.normal(size=(B, da))
    H = actor_critic_prompt(x, x_next, r, psi, w, theta)
    P, V = actor_critic_construction(dc, da, alpha, beta, gamma)
    w_ref, th_ref = batch_actor_critic_update(w, theta, x, x_next, r, psi, alpha, beta, gamma)
    for c in (1.0, -2.5):
        w_out, th_out = actor_critic_readout(linear_self_attention(H, P / c, c * V, mask=mask), dc, da)
        assert float((w_out - w_ref).abs().max()) < 1e-10 and float((th_out - th_ref).abs().max()) < 1e-10
    L = actor_critic_layout(dc, da)
    out = linear_self_attention(H, P, V, mask=mask)
    assert torch.equal(out[..., :N], H[..., :N]) and torch.equal(out[..., :L.rows("w").start, N], H[..., :L.rows("w").start, N])


# ------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("args, arg", [((0, 1.0, 0.9), "d"), ((2, 0.0, 0.9), "alpha"), ((2, -1.0, 0.9), "alpha"),
                                       ((2, 1.0, 1.0), "gamma"), ((2, 1.0, float("nan")), "gamma")])
def test_sarsa_construction_rejects_bad_input(args, arg):
    with pytest.raises(ValueError, match=named(arg)):
        sarsa_construction(*args)


@pytest.mark.parametrize("args, arg", [((0, 2, 1.0, 1.0, 0.9), "d_critic"), ((2, 0, 1.0, 1.0, 0.9), "d_actor"),
                                       ((2, 2, 0.0, 1.0, 0.9), "alpha"), ((2, 2, 1.0, -2.0, 0.9), "beta"),
                                       ((2, 2, 1.0, 1.0, -0.1), "gamma")])
def test_actor_critic_construction_rejects_bad_input(args, arg):
    with pytest.raises(ValueError, match=named(arg)):
        actor_critic_construction(*args)


def test_constructions_keep_requested_dtype():
    P, V = sarsa_construction(3, 0.5, 0.9, dtype=torch.float32)
    assert P.dtype == V.dtype == torch.float32 and P.shape == (11, 11)
    P, V = actor_critic_construction(2, 3, 0.5, 1.0, 0.9)
    assert P.dtype == F64 and P.shape == (14, 14)
