"""Input checks of icrl_lib._validation: what they accept, what they reject, and that errors name the argument."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from icrl_lib._validation import (as_tensor, broadcast_batch, check_gamma, check_int, check_positive,
                                  check_probability, check_real, check_shape, check_stochastic)

NON_FINITE = [math.nan, math.inf, -math.inf]


# --------------------------------------------------------------------------------------------- as_tensor
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_as_tensor_keeps_floating_dtype(dtype):
    x = torch.tensor([[1.5, -2.0]], dtype=dtype)
    t = as_tensor(x, "x")
    assert t.dtype == dtype
    assert torch.equal(t, x)
    a = np.array([1.5, -2.0], dtype=np.float32 if dtype == torch.float32 else np.float64)
    assert as_tensor(a, "x").dtype == dtype


@pytest.mark.parametrize("x", [[1, 2, 3], np.array([1, 2, 3], dtype=np.int32), torch.tensor([1, 2, 3]),
                               [True, False, True], 7, 2.5])
def test_as_tensor_non_floating_becomes_float64(x):
    t = as_tensor(x, "x")
    assert t.dtype == torch.float64
    np.testing.assert_array_equal(t.numpy(), np.asarray(x, dtype=float))


def test_as_tensor_numpy_input_is_copied():
    a = np.array([1.0, 2.0])
    t = as_tensor(a, "x")
    a[0] = 99.0
    assert t[0] == 1.0


def test_as_tensor_explicit_dtype():
    assert as_tensor(np.array([1.0], dtype=np.float32), "x", dtype=torch.float64).dtype == torch.float64


@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3), pos=st.integers(0, 10_000),
       bad=st.sampled_from(NON_FINITE), torch_input=st.booleans(), name=st.sampled_from(["H", "rewards", "pi"]))
def test_as_tensor_rejects_non_finite(shape, pos, bad, torch_input, name):
    a = np.zeros(shape)
    a.flat[pos % a.size] = bad
    x = torch.from_numpy(a) if torch_input else a
    with pytest.raises(ValueError, match=name):
        as_tensor(x, name)


@pytest.mark.parametrize("x", ["abc", [[1.0, 2.0], [3.0]], [object()], {"a": 1}, None])
def test_as_tensor_rejects_non_numbers(x):
    with pytest.raises(ValueError, match="myarg"):
        as_tensor(x, "myarg")


@pytest.mark.parametrize("x", [np.array([1 + 2j]), torch.tensor([1 + 0j])])
def test_as_tensor_rejects_complex(x):
    # Casting to float would silently drop the imaginary part.
    with pytest.raises(ValueError, match="z"):
        as_tensor(x, "z")


# --------------------------------------------------------------------------------------------- check_shape
def test_check_shape_accepts_batch_and_exact():
    check_shape(torch.zeros(2, 3, 4, 5), "x", (4, 5))
    check_shape(torch.zeros(4, 5), "x", (4, None))
    check_shape(torch.zeros(4, 5), "x", (4, 5), batch=False)


@pytest.mark.parametrize("shape, trailing, batch", [
    ((4,), (4, 5), True),            # too few dimensions
    ((4, 6), (4, 5), True),          # wrong size
    ((2, 4, 5), (4, 5), False),      # batch dimension not allowed
    ((4, 0), (4, None), True),       # empty dimension
    ((0,), (None,), True),
])
def test_check_shape_rejects(shape, trailing, batch):
    with pytest.raises(ValueError, match=r"x_next must have shape"):
        check_shape(torch.zeros(shape), "x_next", trailing, batch=batch)


def test_check_shape_message_shows_expected_shape():
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, \*\)"):
        check_shape(torch.zeros(2, 2), "P", (3, None))


# --------------------------------------------------------------------------------------------- scalars
@given(g=st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
def test_check_gamma_accepts_unit_interval(g):
    assert check_gamma(g) == g


def test_check_gamma_accepts_numpy_and_torch_scalars():
    assert check_gamma(np.float64(0.5)) == 0.5
    assert check_gamma(torch.tensor(0.25)) == 0.25
    assert check_gamma(0) == 0.0


INVALID_GAMMA = st.one_of(
    st.floats(min_value=1.0),                              # includes 1.0 and +inf
    st.floats(max_value=-1e-300),                          # negative, includes -inf
    st.sampled_from([1.0, -0.1, math.nan, math.inf, -math.inf]),
    st.booleans(), st.text(max_size=3), st.none(),
)


@given(g=INVALID_GAMMA, name=st.sampled_from(["gamma", "discount"]))
def test_check_gamma_rejects(g, name):
    with pytest.raises(ValueError, match=name):
        check_gamma(g, name)


def test_check_real_rejects_non_scalar_tensor():
    with pytest.raises(ValueError, match="alpha"):
        check_real(torch.zeros(2), "alpha")


@given(x=st.floats(min_value=1e-300, allow_infinity=False))
def test_check_positive_accepts(x):
    assert check_positive(x, "alpha") == x


@given(x=st.one_of(st.floats(max_value=0.0), st.just(math.nan), st.just(math.inf), st.booleans()))
def test_check_positive_rejects(x):
    with pytest.raises(ValueError, match="alpha"):
        check_positive(x, "alpha")


@given(x=st.floats(0.0, 1.0))
def test_check_probability_accepts(x):
    assert check_probability(x, "epsilon") == x


@given(x=st.one_of(st.floats(min_value=1.0, exclude_min=True), st.floats(max_value=0.0, exclude_max=True),
                   st.just(math.nan), st.booleans()))
def test_check_probability_rejects(x):
    with pytest.raises(ValueError, match="epsilon"):
        check_probability(x, "epsilon")


@given(n=st.integers(1, 10**9))
def test_check_int_accepts(n):
    assert check_int(n, "n") == n
    assert check_int(np.int64(n), "n") == n


@given(n=st.one_of(st.integers(max_value=0), st.booleans(), st.floats(allow_nan=True), st.just(3.0),
                   st.text(max_size=2), st.none()))
def test_check_int_rejects(n):
    with pytest.raises(ValueError, match="n_states"):
        check_int(n, "n_states")


def test_check_int_minimum():
    assert check_int(0, "seed", minimum=0) == 0
    with pytest.raises(ValueError, match="seed"):
        check_int(-1, "seed", minimum=0)


# --------------------------------------------------------------------------------------------- stochastic
@given(S=st.integers(1, 6), A=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_check_stochastic_accepts_dirichlet_rows(S, A, seed):
    P = np.random.default_rng(seed).dirichlet(np.ones(A), size=S)
    check_stochastic(torch.from_numpy(P), "pi")


@given(S=st.integers(1, 5), A=st.integers(2, 5), seed=st.integers(0, 10**6),
       delta=st.floats(1e-6, 10.0), sign=st.sampled_from([-1.0, 1.0]))
def test_check_stochastic_rejects_wrong_sums(S, A, seed, delta, sign):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(A), size=S)
    P[rng.integers(S)] *= 1.0 + sign * min(delta, 0.5)
    with pytest.raises(ValueError, match="pi"):
        check_stochastic(torch.from_numpy(P), "pi")


@given(A=st.integers(2, 5), neg=st.floats(1e-6, 5.0))
def test_check_stochastic_rejects_negative_entries(A, neg):
    row = np.full(A, 1.0 / A)
    row[1] += row[0] + neg
    row[0] = -neg  # the row still sums to one
    with pytest.raises(ValueError, match="P has negative entries"):
        check_stochastic(torch.from_numpy(row[None]), "P")


def test_check_stochastic_tolerance_depends_on_dtype():
    # A float32 softmax sums to one only to float32 precision; float64 keeps the strict 1e-8 tolerance.
    q = torch.randn(200, 7, generator=torch.Generator().manual_seed(0)) * 5
    check_stochastic(torch.softmax(q.float(), -1), "pi")
    row = torch.tensor([[0.5, 0.5 + 1e-6]], dtype=torch.float64)
    with pytest.raises(ValueError, match="pi"):
        check_stochastic(row, "pi")
    check_stochastic(torch.tensor([[0.5, 0.5 + 1e-9]], dtype=torch.float64), "pi")


# --------------------------------------------------------------------------------------------- broadcast
def test_broadcast_batch():
    out = broadcast_batch({"H": torch.Size([2, 1, 3, 4]), "P": torch.Size([5, 3, 3])}, {"H": 2, "P": 2})
    assert out == torch.Size([2, 5])
    with pytest.raises(ValueError, match=r"H: \(2,\).*P: \(3,\)"):
        broadcast_batch({"H": torch.Size([2, 3, 4]), "P": torch.Size([3, 3, 3])}, {"H": 2, "P": 2})
