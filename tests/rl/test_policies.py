"""icrl_lib.rl policies (softmax, epsilon-greedy, uniform) against explicit per-entry computations."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from icrl_lib.rl import epsilon_greedy_policy, softmax_policy, uniform_policy

F64 = torch.float64
FINITE = st.floats(allow_nan=False, allow_infinity=False)


def named(arg: str) -> str:
    return rf"^{re.escape(arg)}\b"


def q_tables(min_side=1, max_side=4, elements=FINITE):
    """Finite Q tables (..., S, A) with up to one batch dimension."""
    return st.lists(st.integers(1, max_side), min_size=2, max_size=3).flatmap(
        lambda shape: st.lists(elements, min_size=math.prod(shape), max_size=math.prod(shape)).map(
            lambda v: np.array(v, dtype=float).reshape(shape)))


def assert_stochastic(pi: torch.Tensor, atol=1e-12):
    assert bool(torch.isfinite(pi).all())
    assert bool(((pi >= 0) & (pi <= 1)).all())
    assert torch.allclose(pi.sum(-1), torch.ones((), dtype=pi.dtype), atol=atol, rtol=0)


# ============================================================================ softmax
@given(q=q_tables(elements=st.floats(-30, 30)), tau=st.floats(0.1, 10))
def test_softmax_against_explicit_exp_normalise(q, tau):
    pi = softmax_policy(q, tau)
    assert pi.shape == q.shape and pi.dtype == F64
    ref = np.empty_like(q)
    for idx in np.ndindex(*q.shape[:-1]):
        e = [math.exp(v / tau) for v in q[idx]]
        ref[idx] = [x / math.fsum(e) for x in e]
    np.testing.assert_allclose(pi.numpy(), ref, rtol=1e-12, atol=1e-300)


@given(q=q_tables(), tau=st.floats(min_value=1e-300, max_value=1e300))
def test_softmax_is_stochastic_for_any_finite_q(q, tau):
    pi = softmax_policy(q, tau)
    assert_stochastic(pi)
    # The argmax action always gets the largest probability.
    best = np.argmax(q, axis=-1)
    assert np.all(np.take_along_axis(pi.numpy(), best[..., None], -1)[..., 0] >= pi.numpy().max(-1) - 1e-12)


def test_softmax_extreme_values_do_not_produce_nan():
    pi = softmax_policy([[1e300, 0.0, -1e300]], 1e-10)
    assert torch.equal(pi, torch.tensor([[1.0, 0.0, 0.0]], dtype=F64))


@given(q=q_tables(elements=st.floats(-10, 10)), shift=st.floats(-100, 100))
def test_softmax_invariant_to_row_shifts(q, shift):
    assert torch.allclose(softmax_policy(q), softmax_policy(q + shift), atol=1e-12, rtol=0)


def test_softmax_temperature_limits():
    q = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 0.2]])
    cold = softmax_policy(q, 1e-3)  # gaps >= 0.1 -> non-greedy weights below exp(-100)
    assert torch.allclose(cold, torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=F64), atol=1e-40, rtol=0)
    hot = softmax_policy(q, 1e6)
    assert torch.allclose(hot, torch.full((2, 3), 1 / 3, dtype=F64), atol=1e-5, rtol=0)
    # Monotone in temperature: the greedy action's probability falls as tau grows.
    p = [float(softmax_policy(q, t)[0, 1]) for t in (0.1, 0.5, 1.0, 5.0, 50.0)]
    assert all(a > b for a, b in zip(p, p[1:]))


def test_softmax_dtype_and_input_types():
    q32 = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    assert softmax_policy(q32).dtype == torch.float32
    assert softmax_policy([[1, 2], [3, 4]]).dtype == F64
    assert torch.allclose(softmax_policy(q32.double()), softmax_policy(q32.numpy()).double(), atol=1e-7)


@pytest.mark.parametrize("tau", [0.0, -1.0, math.nan, math.inf, True, "1", None])
def test_softmax_rejects_bad_temperature(tau):
    with pytest.raises(ValueError, match=named("temperature")):
        softmax_policy([[0.0, 1.0]], tau)


@pytest.mark.parametrize("q", [[0.0, 1.0], 3.0, [[0.0, math.nan]], [[math.inf, 0.0]], np.zeros((2, 0))])
def test_policies_reject_bad_q(q):
    with pytest.raises(ValueError, match=named("q")):
        softmax_policy(q)
    with pytest.raises(ValueError, match=named("q")):
        epsilon_greedy_policy(q, 0.1)


# ============================================================================ epsilon-greedy
@given(q=q_tables(elements=st.integers(-2, 2).map(float)), eps=st.floats(0, 1))
def test_epsilon_greedy_against_loop(q, eps):
    # Small integer values make ties frequent.
    pi = epsilon_greedy_policy(q, eps)
    assert pi.shape == q.shape and pi.dtype == F64
    A = q.shape[-1]
    for idx in np.ndindex(*q.shape[:-1]):
        row = q[idx]
        maxima = [a for a in range(A) if row[a] == max(row)]
        for a in range(A):
            expected = eps / A + ((1 - eps) / len(maxima) if a in maxima else 0.0)
            assert abs(float(pi[idx + (a,)]) - expected) < 1e-12


@given(q=q_tables(), eps=st.floats(0, 1))
def test_epsilon_greedy_is_stochastic_for_any_finite_q(q, eps):
    assert_stochastic(epsilon_greedy_policy(q, eps))


def test_epsilon_greedy_special_cases():
    q = [[1.0, 1.0, 0.0], [0.0, 2.0, 1.0]]
    assert torch.allclose(epsilon_greedy_policy(q, 0.0),
                          torch.tensor([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]], dtype=F64), atol=1e-15)
    assert torch.allclose(epsilon_greedy_policy(q, 1.0), torch.full((2, 3), 1 / 3, dtype=F64), atol=1e-15)
    assert torch.allclose(epsilon_greedy_policy(q, 0.3)[1], torch.tensor([0.1, 0.8, 0.1], dtype=F64), atol=1e-15)
    assert epsilon_greedy_policy(torch.zeros(2, 2, dtype=torch.float32), 0.1).dtype == torch.float32


@pytest.mark.parametrize("eps", [-0.1, 1.1, math.nan, math.inf, True, None])
def test_epsilon_greedy_rejects_bad_epsilon(eps):
    with pytest.raises(ValueError, match=named("epsilon")):
        epsilon_greedy_policy([[0.0, 1.0]], eps)


# ============================================================================ uniform
@given(S=st.integers(1, 6), A=st.integers(1, 6))
def test_uniform_policy(S, A):
    pi = uniform_policy(S, A)
    assert pi.shape == (S, A) and pi.dtype == F64
    assert bool((pi == 1.0 / A).all())
    assert torch.allclose(pi, softmax_policy(np.zeros((S, A))), atol=1e-15)
    assert uniform_policy(S, A, dtype=torch.float32).dtype == torch.float32


@pytest.mark.parametrize("bad", [0, -1, True, 2.0, None])
def test_uniform_policy_rejects(bad):
    with pytest.raises(ValueError, match=named("n_states")):
        uniform_policy(bad, 2)
    with pytest.raises(ValueError, match=named("n_actions")):
        uniform_policy(2, bad)
