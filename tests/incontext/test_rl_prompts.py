"""icrl_lib.incontext prompts for chapters 4-5: the SARSA and actor-critic layouts, prompts and readouts.

Independent checks: every prompt is compared with a matrix assembled here by hand in numpy, row by row,
following the layout written out in the chapter text (not through ``PromptLayout``).
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from icrl_lib.incontext import (actor_critic_layout, actor_critic_prompt, actor_critic_readout, sarsa_layout,
                              sarsa_prompt, sarsa_readout)

F64 = torch.float64
SEEDS = st.integers(0, 2**31 - 1)


def named(arg: str) -> str:
    return rf"^{re.escape(arg)}\b"


def sarsa_by_hand(phi, phi_next, r, w):
    """Columns (phi_t; phi'_t; R_t; 0; 0_d), then (0_d; 0_d; 0; 1; w), one column at a time."""
    N, d = phi.shape
    cols = [np.concatenate([phi[t], phi_next[t], [r[t]], [0.0], np.zeros(d)]) for t in range(N)]
    cols.append(np.concatenate([np.zeros(2 * d + 1), [1.0], w]))
    return np.stack(cols, axis=1)


def ac_by_hand(x, x_next, r, psi, w, theta):
    N, dc = x.shape
    da = psi.shape[1]
    cols = [np.concatenate([x[t], x_next[t], [r[t]], psi[t], [0.0], np.zeros(dc), np.zeros(da)]) for t in range(N)]
    cols.append(np.concatenate([np.zeros(2 * dc + 1 + da), [1.0], w, theta]))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("d", [1, 2, 5])
def test_sarsa_layout_blocks(d):
    L = sarsa_layout(d)
    assert L.dim == 3 * d + 2
    assert [(n, s) for n, s in L.blocks] == [("phi", d), ("phi_next", d), ("r", 1), ("one", 1), ("w", d)]
    assert L.data == slice(0, 2 * d + 1) and L.param == slice(2 * d + 1, 3 * d + 2)
    assert L.rows("w") == slice(2 * d + 2, 3 * d + 2) and L.rows("one") == slice(2 * d + 1, 2 * d + 2)


def test_actor_critic_layout_blocks():
    L = actor_critic_layout(3, 4)
    assert [s for _, s in L.blocks] == [3, 3, 1, 4, 1, 3, 4] and L.dim == 19
    assert L.data == slice(0, 11) and L.param == slice(11, 19)
    with pytest.raises(ValueError, match=named("name")):
        L.rows("phi")


@given(d=st.integers(1, 5), N=st.integers(1, 7), seed=SEEDS)
def test_sarsa_prompt_matches_hand_layout_and_round_trips(d, N, seed):
    rng = np.random.default_rng(seed)
    phi, phi_next, r, w = rng.normal(size=(N, d)), rng.normal(size=(N, d)), rng.normal(size=N), rng.normal(size=d)
    H = sarsa_prompt(phi, phi_next, r, w)
    assert H.dtype == F64 and H.shape == (3 * d + 2, N + 1)
    np.testing.assert_array_equal(H.numpy(), sarsa_by_hand(phi, phi_next, r, w))
    np.testing.assert_array_equal(sarsa_readout(H).numpy(), w)


@given(dc=st.integers(1, 4), da=st.integers(1, 4), N=st.integers(1, 6), seed=SEEDS)
def test_actor_critic_prompt_matches_hand_layout_and_round_trips(dc, da, N, seed):
    rng = np.random.default_rng(seed)
    x, x_next, r = rng.normal(size=(N, dc)), rng.normal(size=(N, dc)), rng.normal(size=N)
    psi, w, theta = rng.normal(size=(N, da)), rng.normal(size=dc), rng.normal(size=da)
    H = actor_critic_prompt(x, x_next, r, psi, w, theta)
    np.testing.assert_array_equal(H.numpy(), ac_by_hand(x, x_next, r, psi, w, theta))
    w_out, theta_out = actor_critic_readout(H, dc, da)
    np.testing.assert_array_equal(w_out.numpy(), w)
    np.testing.assert_array_equal(theta_out.numpy(), theta)


def test_batched_prompts_broadcast_and_keep_dtype():
    rng = np.random.default_rng(0)
    B, N, d = 4, 5, 3
    phi = torch.from_numpy(rng.normal(size=(B, N, d))).float()
    phi_next = torch.from_numpy(rng.normal(size=(B, N, d))).float()
    r = torch.from_numpy(rng.normal(size=(B, N))).float()
    w = torch.from_numpy(rng.normal(size=d)).float()            # shared across the batch
    H = sarsa_prompt(phi, phi_next, r, w)
    assert H.shape == (B, 3 * d + 2, N + 1) and H.dtype == torch.float32
    for b in range(B):
        np.testing.assert_array_equal(H[b].numpy(), sarsa_by_hand(phi[b].numpy(), phi_next[b].numpy(),
                                                                   r[b].numpy(), w.numpy()).astype(np.float32))
    assert torch.equal(sarsa_readout(H), w.expand(B, d))
    # one context, a batch of weights
    W = torch.from_numpy(rng.normal(size=(6, d)))
    H2 = sarsa_prompt(phi[0].double(), phi_next[0].double(), r[0].double(), W)
    assert H2.shape == (6, 3 * d + 2, N + 1) and torch.equal(sarsa_readout(H2), W)
    x, psi = torch.from_numpy(rng.normal(size=(B, N, 2))), torch.from_numpy(rng.normal(size=(B, N, 3)))
    Hac = actor_critic_prompt(x, x, r.double(), psi, torch.zeros(2, dtype=F64), torch.ones(B, 3, dtype=F64))
    w_out, th_out = actor_critic_readout(Hac, 2, 3)
    assert w_out.shape == (B, 2) and torch.equal(th_out, torch.ones(B, 3, dtype=F64))


def test_context_and_query_are_separated():
    """Transition columns are zero on the parameter rows and the query is zero on the data rows."""
    rng = np.random.default_rng(1)
    d, N = 4, 6
    H = sarsa_prompt(rng.normal(size=(N, d)), rng.normal(size=(N, d)), rng.normal(size=N), rng.normal(size=d))
    L = sarsa_layout(d)
    assert torch.all(H[L.param, :N] == 0) and torch.all(H[L.data, N] == 0) and H[L.rows("one"), N].item() == 1


@pytest.mark.parametrize("kwargs, arg", [
    (dict(phi=np.zeros((3, 2)), phi_next=np.zeros((3, 3)), rewards=np.zeros(3), w=np.zeros(2)), "phi_next"),
    (dict(phi=np.zeros((3, 2)), phi_next=np.zeros((3, 2)), rewards=np.zeros(4), w=np.zeros(2)), "rewards"),
    (dict(phi=np.zeros((3, 2)), phi_next=np.zeros((3, 2)), rewards=np.zeros(3), w=np.zeros(3)), "w"),
    (dict(phi=np.zeros(3), phi_next=np.zeros((3, 2)), rewards=np.zeros(3), w=np.zeros(2)), "phi"),
    (dict(phi=np.full((3, 2), np.nan), phi_next=np.zeros((3, 2)), rewards=np.zeros(3), w=np.zeros(2)), "phi"),
])
def test_sarsa_prompt_rejects_bad_input(kwargs, arg):
    with pytest.raises(ValueError, match=named(arg)):
        sarsa_prompt(**kwargs)


def test_sarsa_prompt_rejects_non_broadcasting_batches():
    with pytest.raises(ValueError, match="batch"):
        sarsa_prompt(np.zeros((2, 3, 2)), np.zeros((3, 3, 2)), np.zeros(3), np.zeros(2))


@pytest.mark.parametrize("kwargs, arg", [
    (dict(psi=np.zeros((4, 2))), "psi"),
    (dict(theta=np.zeros(3)), "theta"),
    (dict(w=np.zeros(1)), "w"),
    (dict(x_next=np.zeros((3, 1))), "x_next"),
])
def test_actor_critic_prompt_rejects_bad_input(kwargs, arg):
    good = dict(x=np.zeros((3, 2)), x_next=np.zeros((3, 2)), rewards=np.zeros(3), psi=np.zeros((3, 2)),
                w=np.zeros(2), theta=np.zeros(2))
    with pytest.raises(ValueError, match=named(arg)):
        actor_critic_prompt(**{**good, **kwargs})


@pytest.mark.parametrize("shape", [(4, 3), (7, 1), (8,)])
def test_sarsa_readout_rejects_bad_prompts(shape):
    with pytest.raises(ValueError, match=named("H")):
        sarsa_readout(np.zeros(shape))


def test_actor_critic_readout_and_layouts_reject_bad_input():
    with pytest.raises(ValueError, match=named("H")):
        actor_critic_readout(np.zeros((10, 3)), 2, 2)
    with pytest.raises(ValueError, match=named("d_actor")):
        actor_critic_readout(np.zeros((10, 3)), 2, 0)
    with pytest.raises(ValueError, match=named("d")):
        sarsa_layout(0)
    with pytest.raises(ValueError, match=named("d_critic")):
        actor_critic_layout(1.5, 2)
