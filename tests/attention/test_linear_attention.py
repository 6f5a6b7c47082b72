"""icrl_lib.attention against an explicit per-column loop, plus algebraic properties of the layer."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from icrl_lib.attention import apply_layers, linear_self_attention, lsa_unchecked

F64 = torch.float64
SEEDS = st.integers(0, 2**31 - 1)


def named(arg: str) -> str:
    return rf"^{re.escape(arg)}\b"


def lsa_loop(H: np.ndarray, P: np.ndarray, V: np.ndarray, mask: bool = False) -> np.ndarray:
    """Token by token: h_i + (1/N) sum_{j in sources} (h_j^T P h_i) V h_j, sources = all columns or the first N."""
    D, cols = H.shape
    N = cols - 1
    sources = range(N) if mask else range(cols)
    out = H.copy()
    for i in range(cols):
        acc = np.zeros(D)
        for j in sources:
            acc += float(H[:, j] @ P @ H[:, i]) * (V @ H[:, j])
        out[:, i] = H[:, i] + acc / N
    return out


def draw(rng, *shape):
    return rng.normal(size=shape)


@given(D=st.integers(1, 5), N=st.integers(1, 6), mask=st.booleans(), seed=SEEDS)
def test_lsa_against_per_column_loop(D, N, mask, seed):
    rng = np.random.default_rng(seed)
    H, P, V = draw(rng, D, N + 1), draw(rng, D, D), draw(rng, D, D)
    out = linear_self_attention(H, P, V, mask=mask)
    assert out.shape == H.shape and out.dtype == F64
    np.testing.assert_allclose(out.numpy(), lsa_loop(H, P, V, mask), atol=1e-10, rtol=1e-10)
    assert torch.allclose(lsa_unchecked(torch.from_numpy(H), torch.from_numpy(P), torch.from_numpy(V), mask),
                          out, atol=0, rtol=0)


@given(D=st.integers(1, 4), N=st.integers(1, 5), seed=SEEDS)
def test_mask_removes_the_query_as_a_source(D, N, seed):
    rng = np.random.default_rng(seed)
    H, P, V = draw(rng, D, N + 1), draw(rng, D, D), draw(rng, D, D)
    H2 = H.copy()
    H2[:, -1] = draw(rng, D)  # change only the query token
    masked, masked2 = linear_self_attention(H, P, V, mask=True), linear_self_attention(H2, P, V, mask=True)
    # Context columns do not see the query at all...
    assert torch.equal(masked[:, :N], masked2[:, :N])
    # ...while without the mask they do (generic random inputs), and the query itself is always updated.
    plain, plain2 = linear_self_attention(H, P, V), linear_self_attention(H2, P, V)
    assert float((plain[:, :N] - plain2[:, :N]).abs().max()) > 1e-8
    assert float((masked[:, -1] - torch.from_numpy(H[:, -1])).abs().max()) > 1e-8


@given(D=st.integers(1, 4), N=st.integers(2, 6), seed=SEEDS)
def test_masked_context_equals_rescaled_unmasked_layer_on_the_context(D, N, seed):
    # Masked layer on N+1 columns restricted to the context = the unmasked layer on the N context columns
    # (which averages over N-1 "context" tokens, i.e. divides by N-1 instead of N).
    rng = np.random.default_rng(seed)
    H, P, V = draw(rng, D, N + 1), draw(rng, D, D), draw(rng, D, D)
    ctx = torch.from_numpy(H[:, :N])
    masked = linear_self_attention(H, P, V, mask=True)[:, :N]
    unmasked = linear_self_attention(ctx, P, V)
    assert torch.allclose(masked - ctx, (unmasked - ctx) * (N - 1) / N, atol=1e-10, rtol=1e-10)


def lsa_matrix_mask_loop(H, P, V, M):
    """h_i + (1/N) sum_j (h_j^T P h_i) V g_j with source values g_j = sum_k M[k, j] h_k (the columns of H M)."""
    D, cols = H.shape
    out = H.copy()
    for i in range(cols):
        acc = np.zeros(D)
        for j in range(cols):
            g_j = sum(M[k, j] * H[:, k] for k in range(cols))
            acc += float(H[:, j] @ P @ H[:, i]) * (V @ g_j)
        out[:, i] = H[:, i] + acc / (cols - 1)
    return out


@given(D=st.integers(1, 4), N=st.integers(1, 5), seed=SEEDS)
def test_general_mask_matrix(D, N, seed):
    rng = np.random.default_rng(seed)
    H, P, V, M = draw(rng, D, N + 1), draw(rng, D, D), draw(rng, D, D), draw(rng, N + 1, N + 1)
    out = linear_self_attention(H, P, V, mask=M)
    np.testing.assert_allclose(out.numpy(), lsa_matrix_mask_loop(H, P, V, M), atol=1e-10, rtol=1e-10)
    # The two boolean masks are the special cases M = I and M = diag(1, ..., 1, 0).
    diag = np.diag([1.0] * N + [0.0])
    assert torch.allclose(linear_self_attention(H, P, V, mask=diag), linear_self_attention(H, P, V, mask=True),
                          atol=1e-12, rtol=0)
    assert torch.allclose(linear_self_attention(H, P, V, mask=np.eye(N + 1)), linear_self_attention(H, P, V),
                          atol=1e-12, rtol=0)


@pytest.mark.parametrize("M", [np.eye(3), np.eye(4)[:3], np.ones(4), np.full((4, 4), np.nan)])
def test_rejects_bad_mask_matrices(M):
    with pytest.raises(ValueError, match=named("mask")):
        linear_self_attention(np.ones((2, 4)), np.eye(2), np.eye(2), mask=M)


def test_zero_query_column_makes_mask_irrelevant_for_context():
    rng = np.random.default_rng(0)
    H, P, V = draw(rng, 3, 5), draw(rng, 3, 3), draw(rng, 3, 3)
    H[:, -1] = 0
    assert torch.allclose(linear_self_attention(H, P, V, mask=True), linear_self_attention(H, P, V),
                          atol=1e-14, rtol=0)


@given(seed=SEEDS, mask=st.booleans())
def test_batching_and_broadcasting(seed, mask):
    rng = np.random.default_rng(seed)
    D, N = 3, 4
    H = draw(rng, 2, 3, D, N + 1)
    P = draw(rng, D, D)          # shared by the whole batch
    V = draw(rng, 3, D, D)       # one per second batch index
    out = linear_self_attention(H, P, V, mask=mask)
    assert out.shape == (2, 3, D, N + 1)
    for b in range(2):
        for c in range(3):
            np.testing.assert_allclose(out[b, c].numpy(), lsa_loop(H[b, c], P, V[c], mask), atol=1e-10, rtol=1e-10)
    # Batched parameters with a single prompt broadcast the other way.
    Pb = draw(rng, 4, D, D)
    out2 = linear_self_attention(H[0, 0], Pb, V[0], mask=mask)
    assert out2.shape == (4, D, N + 1)
    for k in range(4):
        np.testing.assert_allclose(out2[k].numpy(), lsa_loop(H[0, 0], Pb[k], V[0], mask), atol=1e-10, rtol=1e-10)


@given(batch=st.lists(st.integers(1, 3), max_size=3), D=st.integers(1, 4), N=st.integers(1, 4),
       seed=SEEDS, mask=st.booleans())
def test_output_shape_equals_input_shape(batch, D, N, seed, mask):
    rng = np.random.default_rng(seed)
    H = torch.from_numpy(draw(rng, *batch, D, N + 1))
    out = linear_self_attention(H, draw(rng, D, D), draw(rng, D, D), mask=mask)
    assert out.shape == H.shape


@given(D=st.integers(1, 4), N=st.integers(1, 5), seed=SEEDS, a=st.floats(-3, 3), b=st.floats(-3, 3),
       mask=st.booleans())
def test_residual_update_is_linear_in_V_and_in_P(D, N, seed, a, b, mask):
    rng = np.random.default_rng(seed)
    H = torch.from_numpy(draw(rng, D, N + 1))
    P1, P2, V1, V2 = (torch.from_numpy(draw(rng, D, D)) for _ in range(4))

    def upd(P, V):
        return linear_self_attention(H, P, V, mask=mask) - H

    assert torch.allclose(upd(P1, a * V1 + b * V2), a * upd(P1, V1) + b * upd(P1, V2), atol=1e-9, rtol=1e-9)
    assert torch.allclose(upd(a * P1 + b * P2, V1), a * upd(P1, V1) + b * upd(P2, V1), atol=1e-9, rtol=1e-9)


@given(D=st.integers(1, 4), N=st.integers(1, 5), seed=SEEDS, c=st.floats(-2, 2), mask=st.booleans())
def test_residual_update_is_cubic_in_H(D, N, seed, c, mask):
    rng = np.random.default_rng(seed)
    H, P, V = (torch.from_numpy(draw(rng, *s)) for s in ((D, N + 1), (D, D), (D, D)))
    upd = linear_self_attention(H, P, V, mask=mask) - H
    upd_c = linear_self_attention(c * H, P, V, mask=mask) - c * H
    assert torch.allclose(upd_c, c**3 * upd, atol=1e-9, rtol=1e-9)


def test_zero_parameters_give_identity():
    rng = np.random.default_rng(1)
    H = torch.from_numpy(draw(rng, 3, 4))
    Z = torch.zeros(3, 3, dtype=F64)
    assert torch.equal(linear_self_attention(H, Z, torch.eye(3, dtype=F64)), H)
    assert torch.equal(linear_self_attention(H, torch.eye(3, dtype=F64), Z), H)


def test_dtypes():
    rng = np.random.default_rng(2)
    H, P, V = draw(rng, 4, 6), draw(rng, 4, 4), draw(rng, 4, 4)
    out64 = linear_self_attention(H, P, V)
    assert out64.dtype == F64
    H32 = torch.from_numpy(H).float()
    out32 = linear_self_attention(H32, torch.from_numpy(P).float(), torch.from_numpy(V).float())
    assert out32.dtype == torch.float32
    assert torch.allclose(out32.double(), out64, atol=1e-4, rtol=1e-4)
    # Parameters follow the prompt's dtype.
    assert linear_self_attention(H32, P, V).dtype == torch.float32
    # Python lists are accepted and become float64.
    assert linear_self_attention(H.tolist(), P.tolist(), V.tolist()).dtype == F64


def test_inputs_are_not_modified():
    rng = np.random.default_rng(3)
    H = torch.from_numpy(draw(rng, 2, 3, 4))
    H0 = H.clone()
    linear_self_attention(H, torch.eye(3, dtype=F64), torch.eye(3, dtype=F64), mask=True)
    lsa_unchecked(H, torch.eye(3, dtype=F64), torch.eye(3, dtype=F64), mask=True)
    assert torch.equal(H, H0)


@given(n_layers=st.integers(1, 4), D=st.integers(1, 4), N=st.integers(1, 4), seed=SEEDS, mask=st.booleans())
def test_apply_layers_equals_repeated_application(n_layers, D, N, seed, mask):
    rng = np.random.default_rng(seed)
    H = draw(rng, D, N + 1)
    # Scale the parameters down so that four cubic layers stay well conditioned.
    layers = [(0.3 * draw(rng, D, D), 0.3 * draw(rng, D, D)) for _ in range(n_layers)]
    ref = H
    for P, V in layers:
        ref = lsa_loop(ref, P, V, mask)
    out = apply_layers(H, layers, mask=mask)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-9, rtol=1e-9)
    out_gen = apply_layers(H, iter([[P, V] for P, V in layers]), mask=mask)  # any iterable of pairs
    assert torch.equal(out, out_gen)


def test_apply_layers_rejects():
    H = np.zeros((2, 3))
    I = np.eye(2)
    with pytest.raises(ValueError, match=named("layers")):
        apply_layers(H, [])
    with pytest.raises(ValueError, match=re.escape("layers[1]")):
        apply_layers(H, [(I, I), (I,)])
    with pytest.raises(ValueError, match=re.escape("layers[0]")):
        apply_layers(H, [I])
    with pytest.raises(ValueError, match=named("P")):
        apply_layers(H, [(np.eye(3), I)])


# ============================================================================ invalid input
@given(D=st.integers(1, 4), N=st.integers(1, 4), which=st.sampled_from(["H", "P", "V"]),
       pos=st.integers(0, 10**6), bad=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_rejects_non_finite(D, N, which, pos, bad):
    arrays = {"H": np.ones((D, N + 1)), "P": np.eye(D), "V": np.eye(D)}
    arrays[which].flat[pos % arrays[which].size] = bad
    with pytest.raises(ValueError, match=named(which)):
        linear_self_attention(arrays["H"], arrays["P"], arrays["V"])


@given(D=st.integers(1, 4), N=st.integers(1, 4), dD=st.integers(1, 2), which=st.sampled_from(["P", "V"]),
       axis=st.sampled_from([0, 1, 2]))
def test_rejects_wrong_parameter_shapes(D, N, dD, which, axis):
    shape = [D, D]
    if axis < 2:
        shape[axis] += dD
    else:
        shape = [D]  # a vector, not a matrix
    arrays = {"P": np.eye(D), "V": np.eye(D)}
    arrays[which] = np.ones(shape)
    with pytest.raises(ValueError, match=named(which)):
        linear_self_attention(np.ones((D, N + 1)), arrays["P"], arrays["V"])


@pytest.mark.parametrize("H", [np.ones(3), np.ones((3, 1)), np.ones((3, 0)), np.ones((0, 3)), 1.0, "H"])
def test_rejects_bad_prompts(H):
    with pytest.raises(ValueError, match=named("H")):
        linear_self_attention(H, np.eye(3), np.eye(3))


def test_rejects_non_broadcasting_batches():
    with pytest.raises(ValueError, match=r"batch dimensions do not broadcast \(H: \(2,\), P: \(3,\)"):
        linear_self_attention(np.ones((2, 2, 3)), np.ones((3, 2, 2)), np.eye(2))
    with pytest.raises(ValueError, match=r"V: \(4,\)"):
        linear_self_attention(np.ones((2, 2, 3)), np.eye(2), np.ones((4, 2, 2)))
