"""Reliability of the attention layers: quadratic memory refused up front, overflow raised, strict booleans."""
import numpy as np
import pytest
import torch

from icrl_lib.attention import (SoftmaxTransformer, causal_average_weights, multihead_lsa, relu_attention,
                                softmax_attention)

F64 = torch.float64


@pytest.mark.parametrize("fn", [
    lambda n: softmax_attention(torch.zeros(1, n + 1), torch.zeros(1, 1), torch.zeros(1, 1)),
    lambda n: relu_attention(torch.zeros(1, n), torch.zeros(1, 1), torch.zeros(1, 1), torch.zeros(1, 1)),
    lambda n: causal_average_weights(n),
    lambda n: SoftmaxTransformer(1, 1)(torch.zeros(1, n + 1)),
])
def test_quadratic_memory_is_refused_at_once_with_the_size(fn):
    with pytest.raises(ValueError, match=r"would need \d+\.\d GiB"):   # before allocating tens of GiB
        fn(100_000)


def test_overflowing_logits_raise_instead_of_nan():
    Z = torch.full((2, 4), 1e200, dtype=F64)
    with pytest.raises(ValueError, match="not finite"):
        softmax_attention(Z, torch.eye(2, dtype=F64), torch.eye(2, dtype=F64))
    # large but finite logits stay legitimate (max-shifted softmax)
    out = softmax_attention(torch.randn(2, 4, dtype=F64), 1e3 * torch.eye(2, dtype=F64), torch.eye(2, dtype=F64))
    assert bool(torch.isfinite(out).all())


def test_causal_must_be_a_real_bool():
    H, M = torch.randn(2, 3, dtype=F64), torch.eye(2, dtype=F64)
    with pytest.raises(ValueError, match="causal"):
        relu_attention(H, M, M, M, causal="no")
    assert torch.equal(relu_attention(H, M, M, M, causal=np.bool_(False)), relu_attention(H, M, M, M, causal=False))


def test_every_head_is_checked():
    P = torch.zeros(2, 3, 3, dtype=F64)
    P[1, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="P"):
        multihead_lsa(torch.randn(3, 4, dtype=F64), P, torch.zeros(2, 3, 3, dtype=F64))
