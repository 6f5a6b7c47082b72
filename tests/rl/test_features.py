"""icrl_lib.rl features against manual indexing and explicit loops."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from icrl_lib.rl import one_hot_state, one_hot_state_action, q_values, random_features, state_action_table

F64 = torch.float64
SHAPES = st.lists(st.integers(0, 4), min_size=0, max_size=3)
BAD_SIZES = [0, -1, True, False, 2.0, "3", None]


def named(arg: str) -> str:
    return rf"^{re.escape(arg)}\b"


@given(shape=SHAPES, S=st.integers(1, 6), seed=st.integers(0, 10**6), as_torch=st.booleans())
def test_one_hot_state_against_manual_indexing(shape, S, seed, as_torch):
    s = np.random.default_rng(seed).integers(0, S, size=shape)
    out = one_hot_state(torch.from_numpy(s) if as_torch else s, S)
    assert out.shape == (*shape, S) and out.dtype == F64
    ref = np.zeros((*shape, S))
    for idx in np.ndindex(*shape):
        ref[idx + (s[idx],)] = 1.0
    np.testing.assert_array_equal(out.numpy(), ref)


def test_one_hot_state_scalar_list_and_dtype():
    assert torch.equal(one_hot_state(2, 4), torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=F64))
    assert torch.equal(one_hot_state([0, 3], 4), torch.eye(4, dtype=F64)[[0, 3]])
    assert one_hot_state([1], 3, dtype=torch.float32).dtype == torch.float32


@given(shape=SHAPES, S=st.integers(1, 5), A=st.integers(1, 4), seed=st.integers(0, 10**6))
def test_one_hot_state_action_against_manual_indexing(shape, S, A, seed):
    rng = np.random.default_rng(seed)
    s, a = rng.integers(0, S, size=shape), rng.integers(0, A, size=shape)
    out = one_hot_state_action(s, a, S, A)
    assert out.shape == (*shape, S * A) and out.dtype == F64
    ref = np.zeros((*shape, S, A))  # a 2-D one-hot in the (s, a) grid, flattened row-major
    for idx in np.ndindex(*shape):
        ref[idx + (s[idx], a[idx])] = 1.0
    np.testing.assert_array_equal(out.numpy(), ref.reshape(*shape, S * A))


@given(S=st.integers(1, 5), A=st.integers(1, 5))
def test_state_action_table(S, A):
    T = state_action_table(S, A)
    assert T.shape == (S, A, S * A) and T.dtype == F64
    for s in range(S):
        for a in range(A):
            assert torch.equal(T[s, a], one_hot_state_action(s, a, S, A))
            # phi(s, a) = e_s (x) e_a, the Kronecker product of the two one-hot vectors
            np.testing.assert_array_equal(T[s, a].numpy(), np.kron(np.eye(S)[s], np.eye(A)[a]))
    flat = T.reshape(S * A, S * A)
    assert torch.equal(flat @ flat.T, torch.eye(S * A, dtype=F64))  # orthonormal features
    assert state_action_table(S, A, dtype=torch.float32).dtype == torch.float32


@pytest.mark.parametrize("bad, err", [
    ([-1], "s must hold indices"), ([3], "s must hold indices"), ([0, 5], "s must hold indices"),
    ([0.0, 1.0], "s must hold integer"), (np.array([True]), "s must hold integer"),
    (torch.tensor([1.0]), "s must hold integer"), ("a", "s must hold integer"),
    ([[0, 1], [2]], "s must hold integer"),
])
def test_one_hot_state_rejects_bad_indices(bad, err):
    with pytest.raises(ValueError, match=err):
        one_hot_state(bad, 3)


@given(S=st.integers(1, 6), off=st.integers(0, 100), neg=st.booleans())
def test_out_of_range_indices_name_the_argument(S, off, neg):
    bad = -1 - off if neg else S + off
    with pytest.raises(ValueError, match=named("s")):
        one_hot_state([0, bad], S)
    with pytest.raises(ValueError, match=named("s")):
        one_hot_state_action([bad], [0], S, 2)
    with pytest.raises(ValueError, match=named("a")):
        one_hot_state_action([0], [bad if neg else 2 + off], S, 2)


@pytest.mark.parametrize("n", BAD_SIZES)
def test_sizes_must_be_positive_integers(n):
    with pytest.raises(ValueError, match=named("n_states")):
        one_hot_state([0], n)
    with pytest.raises(ValueError, match=named("n_states")):
        one_hot_state_action([0], [0], n, 2)
    with pytest.raises(ValueError, match=named("n_actions")):
        one_hot_state_action([0], [0], 2, n)
    with pytest.raises(ValueError, match=named("n_states")):
        state_action_table(n, 2)
    with pytest.raises(ValueError, match=named("n_actions")):
        state_action_table(2, n)
    with pytest.raises(ValueError, match=named("n_items")):
        random_features(n, 2)
    with pytest.raises(ValueError, match=named("d")):
        random_features(2, n)


def test_one_hot_state_action_shape_mismatch():
    with pytest.raises(ValueError, match="s and a must have the same shape"):
        one_hot_state_action([0, 1], [0], 2, 2)


@given(n=st.integers(1, 20), d=st.integers(1, 6), seed=st.integers(0, 10**6),
       lo=st.floats(-5, 5), width=st.floats(1e-3, 5))
def test_random_features_range_and_determinism(n, d, seed, lo, width):
    hi = lo + width
    X = random_features(n, d, seed=seed, low=lo, high=hi)
    assert X.shape == (n, d) and X.dtype == F64
    assert bool(((X >= lo) & (X <= hi)).all())
    assert torch.equal(X, random_features(n, d, seed=seed, low=lo, high=hi))
    assert not torch.equal(X, random_features(n, d, seed=seed + 1, low=lo, high=hi))


def test_random_features_are_uniform():
    X = random_features(4000, 5, seed=3).numpy().ravel()  # U[-1, 1]: mean 0, variance 1/3
    assert abs(X.mean()) < 6 * math.sqrt(1 / 3 / X.size)
    assert abs(X.var() - 1 / 3) < 0.01
    assert np.histogram(X, bins=10, range=(-1, 1))[0].min() > 0.09 * X.size
    assert random_features(3, 2, dtype=torch.float32).dtype == torch.float32


@pytest.mark.parametrize("low, high, name", [(1.0, 1.0, "low"), (2.0, 1.0, "low"), (math.nan, 1.0, "low"),
                                             (0.0, math.inf, "high"), (True, 2.0, "low")])
def test_random_features_rejects_bad_range(low, high, name):
    with pytest.raises(ValueError, match=named(name)):
        random_features(3, 2, low=low, high=high)


def test_random_features_rejects_bad_seed():
    with pytest.raises(ValueError, match=named("seed")):
        random_features(3, 2, seed=-1)


@given(S=st.integers(1, 4), A=st.integers(1, 3), d=st.integers(1, 5), batch=st.lists(st.integers(1, 3), max_size=2),
       seed=st.integers(0, 10**6))
def test_q_values_against_loop(S, A, d, batch, seed):
    rng = np.random.default_rng(seed)
    table, w = rng.normal(size=(S, A, d)), rng.normal(size=(*batch, d))
    q = q_values(w, table)
    assert q.shape == (*batch, S, A) and q.dtype == F64
    ref = np.zeros((*batch, S, A))
    for idx in np.ndindex(*batch):
        for s in range(S):
            for a in range(A):
                ref[idx + (s, a)] = sum(w[idx + (k,)] * table[s, a, k] for k in range(d))
    np.testing.assert_allclose(q.numpy(), ref, atol=1e-12, rtol=0)


def test_q_values_tabular_is_a_reshape():
    w = torch.arange(12, dtype=torch.float32)
    q = q_values(w, state_action_table(4, 3))
    assert q.dtype == torch.float32
    assert torch.equal(q, w.reshape(4, 3))


def test_q_values_rejects():
    table = state_action_table(2, 2)
    with pytest.raises(ValueError, match=named("w")):
        q_values(np.zeros(3), table)
    with pytest.raises(ValueError, match=named("w")):
        q_values([0.0, math.nan, 0.0, 0.0], table)
    with pytest.raises(ValueError, match=named("table")):
        q_values(np.zeros(4), np.zeros((4, 4)))
    with pytest.raises(ValueError, match=named("table")):
        q_values(np.zeros(4), np.full((2, 2, 4), math.inf))
