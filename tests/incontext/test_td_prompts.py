"""td_prompt, td_readout and td_sliding_prompts against column-by-column assembly in numpy."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from icrl_lib.incontext import td_layout, td_prompt, td_readout, td_sliding_prompts

F64 = torch.float64
SEEDS = st.integers(0, 2**31 - 1)


def named(arg: str) -> str:
    return rf"^{re.escape(arg)}\b"


def manual_prompt(x, x_next, r, x_q, gamma):
    """Column j = (x_j; gamma x'_j; r_j), last column (x_q; 0; 0), written one column at a time."""
    n, d = x.shape
    Z = np.zeros((2 * d + 1, n + 1))
    for j in range(n):
        Z[:d, j] = x[j]
        Z[d:2 * d, j] = gamma * x_next[j]
        Z[2 * d, j] = r[j]
    Z[:d, n] = x_q
    return Z


@given(n=st.integers(1, 7), d=st.integers(1, 4), gamma=st.floats(0.0, 0.99), seed=SEEDS)
def test_td_prompt_against_manual_columns(n, d, gamma, seed):
    rng = np.random.default_rng(seed)
    x, xn, r, q = rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=d)
    Z = td_prompt(x, xn, r, q, gamma)
    assert Z.shape == (2 * d + 1, n + 1) and Z.dtype == F64
    np.testing.assert_allclose(Z.numpy(), manual_prompt(x, xn, r, q, gamma), rtol=0, atol=1e-15)
    assert torch.equal(td_readout(Z), torch.tensor(0.0, dtype=F64))


def test_td_prompt_batches_and_broadcasts():
    rng = np.random.default_rng(0)
    B, n, d, g = 3, 5, 2, 0.8
    x, xn, r, q = rng.normal(size=(B, n, d)), rng.normal(size=(n, d)), rng.normal(size=(B, n)), rng.normal(size=d)
    Z = td_prompt(x, xn, r, q, g)                  # x_next and x_query shared by the whole batch
    assert Z.shape == (B, 2 * d + 1, n + 1)
    for b in range(B):
        np.testing.assert_allclose(Z[b].numpy(), manual_prompt(x[b], xn, r[b], q, g), atol=1e-15)
    Z32 = td_prompt(torch.tensor(x, dtype=torch.float32), xn, r, q, g)
    assert Z32.dtype == torch.float32
    with pytest.raises(ValueError, match="batch dimensions"):
        td_prompt(x, rng.normal(size=(B + 1, n, d)), r, q, g)


def test_td_readout_reads_minus_bottom_right():
    Z = torch.arange(2 * 7 * 4, dtype=F64).reshape(2, 7, 4)
    assert torch.equal(td_readout(Z), -Z[:, -1, -1])


@given(n=st.integers(1, 5), d=st.integers(1, 3), extra=st.integers(0, 4), seed=SEEDS)
def test_sliding_windows_equal_td_prompt_on_slices(n, d, extra, seed):
    rng = np.random.default_rng(seed)
    T = n + 2 + extra
    B, g = 2, 0.7
    feats, rew = rng.normal(size=(B, T, d)), rng.normal(size=(B, T))
    Z, qr = td_sliding_prompts(feats, rew, n, g)
    W = T - n - 1
    assert Z.shape == (B, W, 2 * d + 1, n + 1) and qr.shape == (B, W)
    for b in range(B):
        for t in range(W):
            ref = td_prompt(feats[b, t:t + n], feats[b, t + 1:t + n + 1], rew[b, t:t + n], feats[b, t + n + 1], g)
            assert torch.equal(Z[b, t], ref)
            assert qr[b, t] == rew[b, t + n + 1]


def test_sliding_prompts_unbatched():
    rng = np.random.default_rng(1)
    feats, rew = rng.normal(size=(9, 2)), rng.normal(size=9)
    Z, qr = td_sliding_prompts(feats, rew, 3, 0.5)
    assert Z.shape == (5, 5, 4) and qr.shape == (5,)
    np.testing.assert_allclose(Z[2].numpy(), manual_prompt(feats[2:5], feats[3:6], rew[2:5], feats[6], 0.5))


@pytest.mark.parametrize("kwargs,name", [
    ({"x_next": np.zeros((4, 3))}, "x_next"),
    ({"rewards": np.zeros(4)}, "rewards"),
    ({"x_query": np.zeros(3)}, "x_query"),
    ({"gamma": 1.0}, "gamma"),
    ({"x": np.zeros(3)}, "x"),
    ({"x": np.full((3, 2), np.nan)}, "x"),
])
def test_td_prompt_rejects_bad_input(kwargs, name):
    args = {"x": np.zeros((3, 2)), "x_next": np.zeros((3, 2)), "rewards": np.zeros(3), "x_query": np.zeros(2),
            "gamma": 0.9, **kwargs}
    with pytest.raises(ValueError, match=named(name)):
        td_prompt(**args)


def test_td_readout_and_sliding_reject_bad_input():
    with pytest.raises(ValueError, match=named("Z")):
        td_readout(np.zeros((4, 3)))                 # an even number of rows is not 2d+1
    with pytest.raises(ValueError, match=named("Z")):
        td_readout(np.zeros(5))
    with pytest.raises(ValueError, match=named("features")):
        td_sliding_prompts(np.zeros((4, 2)), np.zeros(4), 3, 0.9)   # needs n + 2 = 5 states
    with pytest.raises(ValueError, match=named("n")):
        td_sliding_prompts(np.zeros((6, 2)), np.zeros(6), 0, 0.9)
    with pytest.raises(ValueError, match=named("rewards")):
        td_sliding_prompts(np.zeros((6, 2)), np.zeros(5), 2, 0.9)
    with pytest.raises(ValueError, match=named("gamma")):
        td_sliding_prompts(np.zeros((6, 2)), np.zeros(6), 2, -0.1)


def test_sliding_prompt_rows_follow_the_td_layout():
    rng = np.random.default_rng(2)
    feats, rew = rng.normal(size=(8, 3)), rng.normal(size=8)
    Z, _ = td_sliding_prompts(feats, rew, 2, 0.5)
    L = td_layout(3)
    assert Z.shape[-2] == L.dim
    np.testing.assert_allclose(Z[1, L.rows("x_next"), 0].numpy(), 0.5 * feats[2])
    np.testing.assert_allclose(Z[1, L.rows("r"), :2].numpy(), rew[None, 1:3])
    assert torch.all(Z[:, L.rows("x_next"), -1] == 0) and torch.all(Z[:, L.rows("r"), -1] == 0)
